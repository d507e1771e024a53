/* energy/energy.c - drives the energy sources for the sampler thread:
 * picks what is live at start-up (measured RAPL, else the CPU-time model,
 * plus cpufreq), numbers their domains into the header's "domain.N" lines,
 * and on every tick brackets each read with the clock into a SAMPLE record. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../gs.h"
#include "energy.h"

/* The sampler's rate is chosen in sampler.c from its measured tick cost. */
#define GS_ENERGY_MAX_DOMAINS 512

struct gs_elive {
    const struct gs_esource *src;
    int      i;                   /* the source's own domain index */
    uint16_t id;                  /* header domain.N */
    uint8_t  kind;
    uint8_t  slot;                /* index into gs_esrc_next */
};

static const struct gs_esource *gs_esrc_open[3];
static uint64_t gs_esrc_next[3];  /* next mono ns a period-limited source reads */
static int gs_nsrc;
static struct gs_elive gs_live[GS_ENERGY_MAX_DOMAINS];
static int gs_nlive;

static const char *gs_kind_name(int kind)
{
    switch (kind) {
    case GS_SAMPLE_ENERGY_UJ: return "energy";
    case GS_SAMPLE_CPU_NS:    return "cpu";
    case GS_SAMPLE_FREQ_KHZ:  return "freq";
    default:                  return "other";
    }
}

static const char *gs_kind_unit(int kind)
{
    switch (kind) {
    case GS_SAMPLE_ENERGY_UJ: return "uJ";
    case GS_SAMPLE_CPU_NS:    return "ns";
    case GS_SAMPLE_FREQ_KHZ:  return "kHz";
    default:                  return "-";
    }
}

/* Open one source and give each of its domains a header line. */
static int gs_energy_add(const struct gs_esource *src)
{
    int n = src->open();
    if (n <= 0)
        return 0;
    int slot = gs_nsrc++;
    gs_esrc_open[slot] = src;
    gs_esrc_next[slot] = 0;
    int added = 0;
    for (int i = 0; i < n && gs_nlive < GS_ENERGY_MAX_DOMAINS; i++) {
        const struct gs_edomain *d = src->domain(i);
        struct gs_elive *l = &gs_live[gs_nlive];
        l->src = src;
        l->i = i;
        l->id = (uint16_t)gs_nlive;
        l->kind = d->kind;
        l->slot = (uint8_t)slot;
        char key[24], range[40] = "";
        snprintf(key, sizeof key, "domain.%d", gs_nlive);
        if (d->max_range)
            snprintf(range, sizeof range, " max_range=%llu", (unsigned long long)d->max_range);
        gs_header_add(key, "name=%s kind=%s unit=%s source=%s provenance=%s sum=%d%s%s%s",
                      d->name, gs_kind_name(d->kind), gs_kind_unit(d->kind), src->name,
                      src->provenance, d->sum, range, d->extra[0] ? " " : "", d->extra);
        gs_nlive++;
        added++;
    }
    return added;
}

void gs_energy_init(void)
{
    gs_nsrc = 0;
    gs_nlive = 0;
    /* measured first; the model only when nothing is measured, so the
     * analyzer never mixes the two in one total */
    if (gs_energy_add(&gs_esrc_rapl) > 0) {
        gs_sources |= GS_SRC_ENERGY_MEAS;
        gs_header_add("energy.sources", "rapl");
    } else if (gs_energy_add(&gs_esrc_model) > 0) {
        gs_sources |= GS_SRC_ENERGY_MODEL;
        gs_header_add("energy.sources", "model");
    }
    gs_energy_add(&gs_esrc_cpufreq);

    const char *iw = gs_getenv("GREENSHIM_IDLE_WATTS");
    if (iw && *iw) {
        char *end;
        double w = strtod(iw, &end);
        if (end != iw && *end == '\0' && w >= 0 && w < 1e6)
            gs_header_add("idle_watts", "%.6g", w);
        else
            gs_log("GREENSHIM_IDLE_WATTS=%s is not a number of watts: ignored, the analyzer "
                   "estimates idle power itself; set e.g. GREENSHIM_IDLE_WATTS=12.5", iw);
    }
}

void gs_energy_sample(void)
{
    uint64_t now = 0;
    uint8_t skip[3] = { 0, 0, 0 };
    for (int s = 0; s < gs_nsrc; s++) {
        uint64_t p = gs_esrc_open[s]->period_ns;
        if (!p)
            continue;
        if (!now)
            now = gs_mono_ns();
        if (now < gs_esrc_next[s])
            skip[s] = 1;
        else
            gs_esrc_next[s] = now + p;
    }
    for (int k = 0; k < gs_nlive; k++) {
        const struct gs_elive *l = &gs_live[k];
        if (skip[l->slot])
            continue;
        struct gs_rec_sample s = { .type = GS_REC_SAMPLE, .kind = l->kind, .domain = l->id };
        s.t = gs_now();
        if (l->src->read(l->i, &s.value) != 0)
            continue;                   /* a failed read is a missing point, not a zero */
        s.t_read = gs_now();
        gs_emit(&s);
    }
}

void gs_energy_fini(void)
{
    for (int s = 0; s < gs_nsrc; s++)
        gs_esrc_open[s]->close();
    gs_nsrc = 0;
    gs_nlive = 0;
}
