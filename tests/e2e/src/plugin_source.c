/* plugin_source.c - a test energy source and module that join the recorder
 * as one extra object file, the way sources/nvml.c or a cuda module would:
 * GS_SOURCE and GS_MODULE only, no edit of the sampler or lifecycle.  The
 * source declares one machine-scope GPU domain whose counter advances 1 J
 * per read; the module adds a header line at start-up and counts its fini. */
#include <stdio.h>
#include <string.h>
#include "gs.h"
#include "sources/source.h"

static uint64_t plug_uj;

static int plug_probe(struct gs_domain *d, int max)
{
    if (max < 1)
        return 0;
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "gpu-0");
    snprintf(d->key, sizeof d->key, "plug:0");
    d->kind = GS_SAMPLE_ENERGY_UJ;
    d->component = GS_COMP_GPU;
    d->scope = GS_SCOPE_MACHINE;
    d->sum = 1;
    d->joules_per_unit = 1e-6;
    return 1;
}

static int plug_sample(int i, uint64_t *v)
{
    (void)i;
    plug_uj += 1000000;
    *v = plug_uj;
    return 0;
}

static const struct gs_esource plug_src = {
    .name = "plug", .component = "gpu", .provenance = "measured", .period_ms = 20,
    .probe = plug_probe, .sample = plug_sample, .fini = NULL,
};
GS_SOURCE(plug_src);

static void plug_init(void) { gs_header_add("plugin.module", "started"); }
static void plug_fini(void) { gs_log("plugin module fini"); }
GS_MODULE(plugin, plug_init, NULL, NULL, plug_fini);
