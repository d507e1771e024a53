/* energy/energy.h - the one small interface every energy or frequency source
 * implements (RAPL, the CPU-time model, cpufreq): open, list domains, read a
 * cumulative value, the counter's wrap range, close.  energy.c drives them
 * and owns the header's "domain.N" numbering. */
#ifndef GS_ENERGY_H
#define GS_ENERGY_H

#include <stdint.h>
#include "../gs.h"

#define GS_EDOM_NAME  32
#define GS_EDOM_EXTRA 96

struct gs_edomain {
    char     name[GS_EDOM_NAME];  /* "package-0", "cpu-model", "cpu3-freq" */
    uint8_t  kind;                /* enum gs_sample_kind */
    uint8_t  sum;                 /* 1: adds into the total; 0: overlaps another */
    uint64_t max_range;           /* wrap range of a cumulative counter, 0: none */
    char     extra[GS_EDOM_EXTRA];/* more "key=value" words for the header line */
};

struct gs_esource {
    const char *name;             /* header "source=" */
    const char *provenance;       /* "measured" or "modelled" */
    uint64_t    period_ns;        /* read at most this often (0: every tick) */
    int  (*open)(void);           /* live domains, 0 when none (reason logged) */
    const struct gs_edomain *(*domain)(int i);
    int  (*read)(int i, uint64_t *val);   /* 0 on success */
    void (*close)(void);
};

GS_HIDDEN extern const struct gs_esource gs_esrc_rapl;
GS_HIDDEN extern const struct gs_esource gs_esrc_model;
GS_HIDDEN extern const struct gs_esource gs_esrc_cpufreq;

#endif
