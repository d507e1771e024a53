/* phase_trainer.c - a trainer whose work follows a scripted power profile
 * (power_profile.h) that it plays on its own clock ("follow" mode): it
 * sets the power it draws in the shared file fake_powercap integrates into
 * a fake RAPL counter, entering each phase as the one before it ends.  Each
 * ":r" phase runs cblas_sgemm in a loop inside
 * greenshim_region_push("phase<k>") / pop, the power set right after the
 * push and set back right after the pop; other phases are gaps (sleep).
 * Every phase lasts at least its length from when it really began, so a
 * loaded machine that starves the trainer stretches phases but never
 * shrinks or skips one.  It writes, per region, the times around its push
 * (t0_ns before, t0b_ns after) and pop (t1a_ns before, t1_ns after): the
 * recorder stamps the boundary somewhere inside each call, which a busy
 * machine can make long; the test takes the energy between them from the
 * writer's log of what the counter said.
 *
 * OpenBLAS is dlopen'ed with RTLD_GLOBAL and cblas_sgemm looked up through
 * RTLD_DEFAULT, so the generic fakes build rule (no -lopenblas) suffices and
 * under LD_PRELOAD the shim's interposed cblas_sgemm is the one reached.
 *   phase_trainer --ready FILE --follow FILE --profile P [--idle W] --truth OUT.json [--n 64]
 * The ready file appears once fake_powercap has made the follow file. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>
#include "greenshim.h"
#include "power_profile.h"

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
enum { RowMajor = 101, NoTrans = 111 };

int main(int argc, char **argv)
{
    const char *ready = NULL, *prof = NULL, *truth = NULL, *follow = NULL;
    double idle = 5.0;
    int n = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--ready")) ready = argv[i + 1];
        else if (!strcmp(argv[i], "--profile")) prof = argv[i + 1];
        else if (!strcmp(argv[i], "--truth")) truth = argv[i + 1];
        else if (!strcmp(argv[i], "--follow")) follow = argv[i + 1];
        else if (!strcmp(argv[i], "--idle")) idle = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--n")) n = atoi(argv[i + 1]);
    }
    struct pp_profile p;
    if (!ready || !follow || !prof || !truth || n <= 0 || pp_parse(&p, prof, idle) != 0) {
        fprintf(stderr, "usage: phase_trainer --ready FILE --follow FILE --profile 'ms:W[:r],...' --truth OUT.json"
                        " [--idle W] [--n N]\n");
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
        fprintf(stderr, "phase_trainer: cannot read %s\n", ready);
        return 1;
    }
    fclose(f);
    int fd = open(follow, O_RDWR);
    struct pp_follow *fw = fd < 0 ? MAP_FAILED
                         : mmap(NULL, sizeof *fw, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fw == MAP_FAILED || fw->magic != PP_FOLLOW_MAGIC) {
        fprintf(stderr, "phase_trainer: %s is no follow file of fake_powercap\n", follow);
        return 1;
    }
    close(fd);

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
    fprintf(out, "{\"regions\": [");
    long calls = 0;
    int k = 0;
    int64_t at = pp_mono_ns();          /* when the current phase began */
    for (int i = 0; i < p.n; i++) {
        const struct pp_phase *ph = &p.ph[i];
        int64_t len = ph->end_ns - ph->begin_ns;
        if (!ph->region) {
            pp_follow_set(fw, ph->watts);
            pp_sleep_until(at + len);
            at = pp_mono_ns();
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "phase%d", k);
        int64_t t0 = pp_mono_ns();
        GREENSHIM_REGION_PUSH(name);
        int64_t t0b = pp_mono_ns();     /* the region starts inside the push call */
        pp_follow_set(fw, ph->watts);
        int64_t now, t1a;
        do {
            sgemm(RowMajor, NoTrans, NoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            calls++;
            now = pp_mono_ns();
        } while (now < t0b + len);
        t1a = pp_mono_ns();
        GREENSHIM_REGION_POP();
        int64_t t1 = pp_mono_ns();
        /* the next phase's power (a gap's, or idle at the end) */
        pp_follow_set(fw, i + 1 < p.n ? p.ph[i + 1].watts : idle);
        at = t1;
        fprintf(out, "%s\n  {\"name\": \"%s\", \"t0_ns\": %lld, \"t0b_ns\": %lld, \"t1a_ns\": %lld, "
                "\"t1_ns\": %lld, \"time_s\": %.9f, \"phase_s\": %.6f, \"watts\": %g}",
                k ? "," : "", name, (long long)t0, (long long)t0b, (long long)t1a, (long long)t1,
                (t1 - t0) * 1e-9, len * 1e-9, ph->watts);
        k++;
    }
    pp_follow_set(fw, idle);
    fprintf(out, "\n], \"sgemm_calls\": %ld, \"checksum\": %g}\n", calls, (double)c[n + 1]);
    fclose(out);
    return 0;
}
