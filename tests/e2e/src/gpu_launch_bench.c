/* gpu_launch_bench.c - cost of one cudaLaunchKernel call through the real
 * libcudart, for the recorder's per-launch overhead (run it with and
 * without the shim, same binary).  Without a driver every launch fails
 * fast after the first: what is measured is the call path itself.
 *   gpu_launch_bench [N]    prints "ns_per_launch X" (median of 7 rounds) */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void not_a_kernel(void) {}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    void *args[1] = { 0 };
    dim3 g = { 1, 1, 1 }, b = { 32, 1, 1 };
    cudaLaunchKernel((const void *)not_a_kernel, g, b, args, 0, 0);   /* runtime start-up */
    double r[7];
    for (int k = 0; k < 7; k++) {
        double t0 = now();
        for (long i = 0; i < n; i++)
            cudaLaunchKernel((const void *)not_a_kernel, g, b, args, 0, 0);
        r[k] = (now() - t0) / n;
    }
    qsort(r, 7, sizeof *r, cmp);
    printf("ns_per_launch %.1f\n", r[3]);
    return 0;
}
