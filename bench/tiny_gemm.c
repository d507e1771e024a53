/* tiny_gemm.c - the recorder's per-call cost: a loop of 2x2 cblas_dgemm (and
 * optionally Fortran dgemm_) calls, the smallest real work a wrapper can
 * surround.  Prints the best of R repetitions in ns per call; run it with
 * and without LD_PRELOAD in one session (bench/run.sh) and subtract.  With
 * a 4th argument "cpu" it also prints the CPU time of the whole process
 * (every thread: the recorder's helpers too) per call over all repetitions,
 * and the calling thread's own CPU time per call in its best repetition
 * (what a busy shared machine cannot inflate by preempting the loop). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

void dgemm_(const char *, const char *, const int *, const int *, const int *, const double *,
            const double *, const int *, const double *, const int *, const double *, double *,
            const int *, size_t, size_t);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    int fortran = argc > 3 && strcmp(argv[3], "fortran") == 0;
    double a[4] = { 1, 2, 3, 4 }, b[4] = { 5, 6, 7, 8 }, c[4] = { 0 };
    const int two = 2;
    const double one = 1, zero = 0;
    double best = 1e30, best_cpu = 1e30;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    for (int r = 0; r < reps; r++) {
        double t0 = now(), c0 = thread_cpu();
        for (long i = 0; i < n; i++) {
            if (fortran)
                dgemm_("N", "N", &two, &two, &two, &one, a, &two, b, &two, &zero, c, &two, 1, 1);
            else
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0, a, 2, b, 2, 0.0, c, 2);
        }
        double dt = (now() - t0) / n * 1e9;
        double dc = (thread_cpu() - c0) / n * 1e9;
        if (dc < best_cpu)
            best_cpu = dc;
        if (dt < best)
            best = dt;
    }
    getrusage(RUSAGE_SELF, &ru1);
    if (argc > 4 && strcmp(argv[4], "cpu") == 0) {
        double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                     ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) * 1e-6;
        printf("%.2f %.2f %.2f\n", best, cpu / ((double)n * reps) * 1e9, best_cpu);
    } else {
        printf("%.2f\n", best);
    }
    return c[0] == 23 ? 0 : 1;
}
