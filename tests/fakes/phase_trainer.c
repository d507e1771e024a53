/* phase_trainer.c - a trainer whose work follows a scripted power profile
 * (power_profile.h), in time with fake_powercap writing the same profile
 * into a fake RAPL counter.  Each ":r" phase runs cblas_sgemm in a loop
 * inside greenshim_region_push("phase<k>") / pop; other phases are gaps
 * (sleep).  It writes the ground truth as JSON: per region the exact
 * integral of the profile over the region's actual time interval, from
 * before its push to after its pop (energy_j) and from after the push to
 * before the pop (energy_inner_j): the recorder stamps the boundary
 * somewhere inside each call, which a busy machine can make long.
 *
 * OpenBLAS is dlopen'ed with RTLD_GLOBAL and cblas_sgemm looked up through
 * RTLD_DEFAULT, so the generic fakes build rule (no -lopenblas) suffices and
 * under LD_PRELOAD the shim's interposed cblas_sgemm is the one reached.
 *   phase_trainer --ready FILE --profile P [--idle W] --truth OUT.json [--n 64]
 * FILE holds the profile's CLOCK_MONOTONIC start in ns (from fake_powercap). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "greenshim.h"
#include "power_profile.h"

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
enum { RowMajor = 101, NoTrans = 111 };

int main(int argc, char **argv)
{
    const char *ready = NULL, *prof = NULL, *truth = NULL;
    double idle = 5.0;
    int n = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--ready")) ready = argv[i + 1];
        else if (!strcmp(argv[i], "--profile")) prof = argv[i + 1];
        else if (!strcmp(argv[i], "--truth")) truth = argv[i + 1];
        else if (!strcmp(argv[i], "--idle")) idle = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--n")) n = atoi(argv[i + 1]);
    }
    struct pp_profile p;
    if (!ready || !prof || !truth || n <= 0 || pp_parse(&p, prof, idle) != 0) {
        fprintf(stderr, "usage: phase_trainer --ready FILE --profile 'ms:W[:r],...' --truth OUT.json [--idle W] [--n N]\n");
        return 2;
    }
    if (!dlopen("libopenblas.so.0", RTLD_NOW | RTLD_GLOBAL)) {
        fprintf(stderr, "phase_trainer: %s\n", dlerror());
        return 1;
    }
    sgemm_fn sgemm = (sgemm_fn)dlsym(RTLD_DEFAULT, "cblas_sgemm");
    if (!sgemm) {
        fprintf(stderr, "phase_trainer: no cblas_sgemm\n");
        return 1;
    }
    FILE *f = fopen(ready, "r");
    long long start = 0;
    if (!f || fscanf(f, "%lld", &start) != 1) {
        fprintf(stderr, "phase_trainer: cannot read the start time from %s\n", ready);
        return 1;
    }
    fclose(f);
    p.start_ns = start;

    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.25f;
        b[i] = (float)(i % 5) * 0.5f;
        c[i] = 0;
    }
    FILE *out = fopen(truth, "w");
    if (!out) {
        perror(truth);
        return 1;
    }
    /* the recorder's first region and first sgemm set things up (string
     * table, thread buffer); keep that cost out of the measured phases */
    GREENSHIM_REGION_PUSH("warmup");
    sgemm(RowMajor, NoTrans, NoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    GREENSHIM_REGION_POP();
    fprintf(out, "{\"start_ns\": %lld, \"regions\": [", start);
    long calls = 0;
    int k = 0;
    for (int i = 0; i < p.n; i++) {
        const struct pp_phase *ph = &p.ph[i];
        if (!ph->region)
            continue;
        pp_sleep_until(start + ph->begin_ns);
        char name[32];
        snprintf(name, sizeof name, "phase%d", k);
        int64_t t0 = pp_mono_ns();
        GREENSHIM_REGION_PUSH(name);
        int64_t t0b = pp_mono_ns();     /* the region starts inside the push call */
        int64_t now, t1a;
        do {
            sgemm(RowMajor, NoTrans, NoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            calls++;
            now = pp_mono_ns();
        } while (now < start + ph->end_ns);
        t1a = pp_mono_ns();
        GREENSHIM_REGION_POP();
        int64_t t1 = pp_mono_ns();
        fprintf(out, "%s\n  {\"name\": \"%s\", \"t0_ns\": %lld, \"t1_ns\": %lld, \"time_s\": %.9f, "
                "\"phase_s\": %.6f, \"energy_j\": %.9f, \"energy_inner_j\": %.9f, \"watts\": %g}",
                k ? "," : "", name,
                (long long)t0, (long long)t1, (t1 - t0) * 1e-9, (ph->end_ns - ph->begin_ns) * 1e-9,
                pp_energy_j(&p, t1) - pp_energy_j(&p, t0), pp_energy_j(&p, t1a) - pp_energy_j(&p, t0b),
                ph->watts);
        k++;
    }
    pp_sleep_until(start + pp_length_ns(&p));
    fprintf(out, "\n], \"sgemm_calls\": %ld, \"checksum\": %g}\n", calls, (double)c[n + 1]);
    fclose(out);
    return 0;
}
