/* fdstorm.c - descriptor games while another thread records: the main
 * thread dup2s its files onto every descriptor number 0..1023, over and
 * over, and writes 8 bytes through each number right after its dup2, while
 * a second thread makes N tiny cblas_dgemm calls (its first call starts the
 * recorder in the middle of the storm).  Any write that fails (EBADF: a
 * number the program had just dup2ed onto was closed behind its back) or
 * lands elsewhere is a failure; at the end every file must hold exactly the
 * bytes written through it.  The sources of the dup2s and the saved stdout
 * live above 1023, out of the storm.  Prints "writes=W failures=F" (exit 0
 * when F is 0, else 1; 2 on a setup error).
 *   fdstorm DIR N */
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define NF 8
#define TOP 1024                        /* the storm covers 0..TOP-1 */

static long ncalls;
static volatile int done;

static void *caller(void *arg)
{
    (void)arg;
    double a[4] = { 1, 2, 3, 4 }, b[4] = { 5, 6, 7, 8 }, c[4];
    for (long i = 0; i < ncalls; i++)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0, a, 2, b, 2, 0.0, c, 2);
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    ncalls = atol(argv[2]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < TOP + NF + 8)
        return 2;
    if (rl.rlim_cur < TOP + NF + 8) {
        rl.rlim_cur = TOP + NF + 8;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return 2;
    }
    int src[NF];
    long wrote[NF] = { 0 };
    char path[4096];
    for (int i = 0; i < NF; i++) {
        snprintf(path, sizeof path, "%s/f%d", argv[1], i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        if (fd < 0 || (src[i] = fcntl(fd, F_DUPFD, TOP + i)) < 0)
            return 2;
        close(fd);
    }
    int out = fcntl(1, F_DUPFD, TOP + NF);
    if (out < 0)
        return 2;
    pthread_t th;
    if (pthread_create(&th, NULL, caller, NULL) != 0)
        return 2;
    long writes = 0, failures = 0;
    int firsterr = 0, firstfd = -1;
    while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        for (int fd = 0; fd < TOP; fd++) {
            int f = fd % NF;
            if (dup2(src[f], fd) < 0) {
                failures++;
                continue;
            }
            ssize_t w = write(fd, "fdstorm\n", 8);
            writes++;
            if (w == 8) {
                wrote[f]++;
            } else if (failures++ == 0) {
                firsterr = w < 0 ? errno : 0;
                firstfd = fd;
            }
        }
    }
    pthread_join(th, NULL);
    for (int i = 0; i < NF; i++) {
        struct stat st;
        if (fstat(src[i], &st) != 0 || st.st_size != wrote[i] * 8) {
            if (failures++ == 0)
                firstfd = -2 - i;
        }
    }
    dup2(out, 1);
    printf("writes=%ld failures=%ld", writes, failures);
    if (failures)
        printf(" first: fd %d errno %d (%s)", firstfd, firsterr, strerror(firsterr));
    printf("\n");
    fflush(stdout);
    return failures ? 1 : 0;
}
