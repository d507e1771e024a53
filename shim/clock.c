/* clock.c - the recorder's clock: the invariant TSC where the CPU has one
 * (10 ns a read here), else CLOCK_MONOTONIC (25 ns).  The analyzer maps TSC
 * to nanoseconds from the CLOCK records; the start-up estimate here is only
 * a fallback for traces cut off before the first of them. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gs.h"

int gs_clock_is_tsc;

uint64_t gs_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t gs_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t gs_clock_slow(void)
{
    return gs_mono_ns();
}

/* The TSC is usable when it runs at a constant rate through idle states. */
static int gs_tsc_invariant(const char *mode)
{
#if defined(__x86_64__) || defined(__i386__)
    if (strcmp(mode, "mono") == 0)
        return 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return 0;
    char line[4096];
    int ok = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) == 0) {
            ok = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
            break;
        }
    }
    fclose(f);
    return ok;
#else
    return 0;
#endif
}

/* Decide the clock (MODE: GREENSHIM_CLOCK, "mono" forbids the TSC) and estimate its rate over 200 us: only a fallback for
 * traces cut off before the sampler's first CLOCK record (the analyzer fits
 * the rate over all of them), so start-up stays short. */
GS_HIDDEN uint64_t gs_clock_init(const char *mode)
{
    gs_clock_is_tsc = gs_tsc_invariant(mode);
    if (!gs_clock_is_tsc)
        return 1000000000ull;
    uint64_t m0 = gs_mono_ns(), c0 = gs_now(), m1, c1;
    do {
        m1 = gs_mono_ns();
        c1 = gs_now();
    } while (m1 - m0 < 200000);
    return (uint64_t)((double)(c1 - c0) * 1e9 / (double)(m1 - m0));
}
