/* sources/source.h - the interface every energy or frequency source
 * implements (RAPL, the CPU-time model, cpufreq; NVML joins with a new file):
 * probe declares the source's domains, sample reads one cumulative value,
 * fini closes.  A source registers with GS_SOURCE(ops) in its own file (a
 * linker-section table); sampler.c drives the registry, numbers the
 * domains into the header's "domain.N" lines and never names a source. */
#ifndef GS_SOURCE_H
#define GS_SOURCE_H

#include <stdint.h>
#include "../gs.h"

enum gs_component { GS_COMP_OTHER = 0, GS_COMP_CPU, GS_COMP_DRAM, GS_COMP_GPU };
enum gs_scope {
    GS_SCOPE_PROCESS = 0,         /* this process's own (the CPU-time model): adds up across processes */
    GS_SCOPE_MACHINE = 1,         /* the machine's (RAPL, NVML, cpufreq): one series per run, by key */
};

struct gs_domain {
    char     name[32];            /* "package-0", "cpu-model", "cpu3-freq" */
    uint8_t  kind;                /* enum gs_sample_kind: the unit (uJ, ns, kHz) */
    uint8_t  component;           /* enum gs_component */
    uint8_t  scope;               /* enum gs_scope */
    uint8_t  sum;                 /* 1: adds into the total; 0: overlaps another domain */
    char     key[64];             /* machine-wide id of the counter ("rapl:intel-rapl:0") */
    uint64_t max_range;           /* wrap range of a cumulative counter, 0: none */
    double   joules_per_unit;     /* value delta -> joules (exit summary); 0: not energy */
    char     extra[96];           /* more "key=value" words for the header line */
    const char *provenance;       /* NULL: the source's; else this domain's own */
};

struct gs_esource {
    const char *name;             /* header "source=" */
    const char *component;        /* what it covers, for the docs: "cpu dram", "gpu" */
    const char *provenance;       /* "measured" or "modelled" */
    uint32_t    period_ms;        /* read at most this often (0: every sampler tick) */
    int         fallback;         /* a GS_COMP_*: probed last, and only when no other
                                   * source gave a summing domain of that component */
    int  (*probe)(struct gs_domain *doms, int max); /* domains filled; 0: none (reason said) */
    int  (*sample)(int i, uint64_t *val);           /* 0 on success */
    void (*fini)(void);
};

#define GS_SOURCE(ops)                                                                  \
    static const struct gs_esource *const gs_source_ref_##ops                           \
        __attribute__((used, section("gs_sources"), aligned(sizeof(void *)))) = &ops

#endif
