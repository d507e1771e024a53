/* threads_gemm.c - T threads, each a loop of N tiny 2x2 cblas_dgemm calls:
 * a many-thread trace for the analyzer's benchmark (bench/analyzer.sh
 * merges the threads' calls by time).
 *   threads_gemm T N */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long ncalls;

static void *loop(void *arg)
{
    double a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 0, 0, 1 }, c[4];
    for (long i = 0; i < ncalls; i++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2);
    return arg;
}

int main(int argc, char **argv)
{
    int nt = argc > 1 ? atoi(argv[1]) : 4;
    ncalls = argc > 2 ? atol(argv[2]) : 1000000;
    if (nt < 1 || nt > 256 || ncalls < 0) {
        fprintf(stderr, "usage: threads_gemm THREADS(1-256) CALLS_PER_THREAD\n");
        return 2;
    }
    pthread_t t[256];
    for (int i = 0; i < nt; i++)
        if (pthread_create(&t[i], NULL, loop, NULL) != 0) {
            perror("pthread_create");
            return 1;
        }
    for (int i = 0; i < nt; i++)
        pthread_join(t[i], NULL);
    return 0;
}
