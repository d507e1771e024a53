/* killcount.c - threads that count their calls where a SIGKILL cannot
 * take the count back: T threads each make tiny cblas_dgemm calls for
 * ever, and after each call store how many it has made into a MAP_SHARED
 * file (slot j: the thread's tid and its count).  Killed at any moment, the
 * file says how many calls each thread had finished: the trace must hold
 * that many of its calls, or one more (the call in flight), in order.
 *   killcount COUNTFILE T */
#define _GNU_SOURCE
#include <cblas.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile uint64_t *slots;       /* [2 * j] tid, [2 * j + 1] calls done */

static void *run(void *arg)
{
    long j = (long)arg;
    static double a[64], b[64], c[64];  /* 8x8: a few hundred ns a call */
    slots[2 * j] = (uint64_t)syscall(SYS_gettid);
    for (uint64_t i = 1;; i++) {
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, 8, 8, 8, 1.0, a, 8, b, 8, 0.0, c, 8);
        __atomic_store_n(&slots[2 * j + 1], i, __ATOMIC_RELEASE);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int t = atoi(argv[2]);
    if (t < 1 || t > 64)
        return 2;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        return 2;
    slots = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (slots == MAP_FAILED)
        return 2;
    pthread_t th[64];
    for (long j = 1; j < t; j++)
        pthread_create(&th[j], NULL, run, (void *)j);
    printf("running\n");
    fflush(stdout);
    run((void *)0);
    return 0;
}
