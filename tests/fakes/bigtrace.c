/* bigtrace.c - write one synthetic trace of N intercepted calls (for the
 * export's time and memory figures at millions of calls, and the streaming
 * test): T threads of sgemm calls in a 3-layer loop (each call inside a
 * region of its layer with REGIONS=1), a measured RAPL package domain
 * sampled every 10 ms (100 samples at least), a frequency domain.
 * CALL_NS: each call's duration (default 2000, at most 2700: calls start
 * every 3 us).
 *   bigtrace FILE NCALLS [THREADS [REGIONS [CALL_NS]]]                     */
#include <stdlib.h>
#include "../unit/tracegen.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bigtrace FILE NCALLS [THREADS [REGIONS [CALL_NS]]]\n");
        return 2;
    }
    unsigned long long n = strtoull(argv[2], NULL, 10);
    unsigned nt = argc > 3 ? (unsigned)atoi(argv[3]) : 4;
    int regions = argc > 4 && atoi(argv[4]) != 0;
    unsigned long long dur = argc > 5 ? strtoull(argv[5], NULL, 10) : 2000;
    if (dur < 1 || dur > 2700)
        dur = 2000;
    if (!nt || nt > 64)
        nt = 4;
    static struct tg g;
    tg_open(&g, argv[1],
            "host: bigtrace\ncmdline: bigtrace\n"
            "domain.0: name=package-0 kind=energy unit=uJ source=rapl provenance=measured sum=1 max_range=262143328850\n"
            "domain.1: name=cpu0 kind=freq unit=kHz source=cpufreq provenance=measured sum=0\n");
    /* every call 2 us (CALL_NS) with a 1 us gap: threads run in parallel */
    unsigned long long per = n / nt, span = (per + 1) * 3000ull + 1000000;
    tg_thread(&g, 1, GS_STREAM_SAMPLER);
    unsigned long long period = span / 100 < 10000000ull ? span / 100 : 10000000ull;
    if (period < 10000)
        period = 10000;
    for (unsigned long long t = 0; t <= span + period; t += period)   /* 30 W: 30 uJ per us */
        tg_sample(&g, 0, GS_SAMPLE_ENERGY_UJ, t, t / 1000 * 30);
    for (unsigned long long t = 0, i = 0; t <= span + period; t += period, i++)
        tg_sample(&g, 1, GS_SAMPLE_FREQ_KHZ, t, 2000000 + (i % 5) * 100000);
    static const char *names[3] = { "model/fc1", "model/fc2", "model/fc3" };
    static const uint32_t dims[3][3] = { { 64, 128, 784 }, { 64, 64, 128 }, { 64, 10, 64 } };
    for (unsigned th = 0; th < nt; th++) {
        tg_thread(&g, 100 + th, GS_STREAM_THREAD);
        for (int l = 0; l < 3; l++)
            tg_string(&g, (uint32_t)(l + 1), names[l]);
        unsigned long long cnt = per + (th < n % nt);
        for (unsigned long long i = 0; i < cnt; i++) {
            int l = (int)(i % 3);
            uint64_t t0 = 1000000 + i * 3000;
            if (regions)
                tg_region(&g, 1, (uint32_t)(l + 1), t0 - 100);
            tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_S), 0, t0, t0 + dur, dims[l][0], dims[l][1], dims[l][2],
                    regions ? (uint32_t)(l + 1) : 0);
            if (regions)
                tg_region(&g, 0, (uint32_t)(l + 1), t0 + dur + 100);
        }
        tg_end(&g, span);
    }
    tg_close(&g);
    return 0;
}
