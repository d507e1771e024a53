/* sources/model.c - the modelled fallback when nothing is measurable: the
 * process's CPU time (CLOCK_PROCESS_CPUTIME_ID: all threads, BLAS workers
 * included) as a time series; the analyzer turns it into joules with the
 * per-core power written in the header.  Everything from here is labelled
 * "modelled".  docs/energy.md explains the table's numbers. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../gs.h"
#include "source.h"

/* Watts per busy core: TDP / cores of representative parts, rounded up.
 * First match wins, so the more specific names come first. */
static const struct { const char *match; double watts; } gs_model_table[] = {
    { "Threadripper",     5.5 },   /* 3990X 280 W/64, 7980X 350 W/64 */
    { "EPYC",             5.0 },   /* 7763 280 W/64, 9654 360 W/96, 7543 225 W/32 */
    { "Ryzen",           10.0 },   /* 5950X 105 W/16, 7950X 170 W/16, 5800X 105 W/8 */
    { "Xeon(R) Platinum", 6.5 },   /* 8380 270 W/40, 8480+ 350 W/56 */
    { "Xeon(R) Gold",     7.5 },   /* 6338 205 W/32, 6248 150 W/20, 6430 270 W/32 */
    { "Xeon(R) Silver",   8.5 },   /* 4314 135 W/16, 4210 85 W/10 */
    { "Xeon",             8.0 },   /* older E5/E3 and VMs that hide the SKU */
    { "Core(TM) Ultra",   3.0 },   /* 155H 28 W/16 */
    { "Core(TM) i9",      6.0 },   /* 13900K 125 W/24 */
    { "Core(TM) i7",      8.0 },   /* 12700 65 W/12, 11700K 125 W/8 */
    { "Core(TM) i5",     10.0 },   /* 12400 65 W/6 */
};
#define GS_MODEL_DEFAULT_WATTS 10.0   /* unknown CPU: the upper end of the table */


static int gs_model_cpu_name(char *out, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return -1;
    char line[512];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *c = strchr(line, ':');
        if (!c)
            continue;
        c += 1 + (c[1] == ' ');
        c[strcspn(c, "\n")] = '\0';
        snprintf(out, size, "%s", c);
        found = 0;
        break;
    }
    fclose(f);
    return found;
}

static int gs_model_probe(struct gs_domain *d, int max)
{
    double w = GS_MODEL_DEFAULT_WATTS;
    const char *how = "default";
    char cpu[256];
    if (gs_model_cpu_name(cpu, sizeof cpu) == 0) {
        for (size_t i = 0; i < sizeof gs_model_table / sizeof gs_model_table[0]; i++)
            if (strstr(cpu, gs_model_table[i].match)) {
                w = gs_model_table[i].watts;
                how = "table";
                break;
            }
    }
    if (gs_setting_is_set("GREENSHIM_CPU_WATTS_PER_CORE")) {
        w = gs_setting_double("GREENSHIM_CPU_WATTS_PER_CORE");
        how = "env";
    }
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
        gs_log("process CPU clock not available: no energy estimate for this run; "
               "nothing to do on Linux >= 2.6.12, report this");
        return 0;
    }
    if (max < 1)
        return 0;
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "cpu-model");
    snprintf(d->key, sizeof d->key, "model:%d", (int)getpid());
    d->kind = GS_SAMPLE_CPU_NS;
    d->component = GS_COMP_CPU;
    d->scope = GS_SCOPE_PROCESS;
    d->sum = 1;
    d->joules_per_unit = w * 1e-9;
    snprintf(d->extra, sizeof d->extra, "watts_per_core=%.6g watts_source=%s", w, how);
    return 1;
}

static int gs_model_read(int i, uint64_t *val)
{
    (void)i;
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return -1;
    *val = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    return 0;
}

/* the fallback for the CPU: only when nothing measures it */
static const struct gs_esource gs_src_model = {
    .name = "model", .component = "cpu", .provenance = "modelled", .period_ms = 0,
    .fallback = GS_COMP_CPU, .probe = gs_model_probe, .sample = gs_model_read, .fini = NULL,
};
GS_SOURCE(gs_src_model);
