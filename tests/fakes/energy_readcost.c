/* energy_readcost.c - what one energy read costs, the numbers behind the
 * sampler's default rate (docs/energy.md).  Run it where RAPL is (or inside
 * the fake tree's mount namespace, see tests/e2e/test_energy_rapl.sh):
 *   energy_readcost [iterations]
 * prints ns per read of: package energy through libpowercap (dlopen'd, as
 * the shim does), CLOCK_PROCESS_CPUTIME_ID (the model's input), and the CPU
 * time of one 1 ms clock_nanosleep wake-up (the sampler's fixed cost).
 * With no readable RAPL it says why libpowercap's init failed, errno and all. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <powercap/powercap-rapl.h>

static double now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    if (n <= 0)
        n = 200000;
    void *h = dlopen("libpowercap.so.0", RTLD_NOW);
    if (!h) {
        printf("libpowercap.so.0: %s\n", dlerror());
    } else {
        __typeof__(powercap_rapl_init) *init = (__typeof__(init))dlsym(h, "powercap_rapl_init");
        __typeof__(powercap_rapl_get_energy_uj) *get = (__typeof__(get))dlsym(h, "powercap_rapl_get_energy_uj");
        powercap_rapl_pkg pkg;
        memset(&pkg, 0, sizeof pkg);
        errno = 0;
        int r = init(0, &pkg, 1);
        if (r != 0) {
            printf("powercap_rapl_init(0, read_only=1) = %d, errno %d (%s)\n", r, errno, strerror(errno));
        } else {
            uint64_t v = 0, sum = 0;
            double t0 = now_ns(CLOCK_MONOTONIC);
            for (int i = 0; i < n; i++) {
                get(&pkg, POWERCAP_RAPL_ZONE_PACKAGE, &v);
                sum += v;
            }
            double t1 = now_ns(CLOCK_MONOTONIC);
            printf("powercap_rapl_get_energy_uj(package): %.0f ns/read (%d reads, last %llu)\n",
                   (t1 - t0) / n, n, (unsigned long long)v);
            (void)sum;
        }
    }
    double t0 = now_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++)
        (void)now_ns(CLOCK_PROCESS_CPUTIME_ID);
    double t1 = now_ns(CLOCK_MONOTONIC);
    printf("clock_gettime(CLOCK_PROCESS_CPUTIME_ID): %.0f ns/read\n", (t1 - t0) / n);

    int wakes = 2000;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    double c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < wakes; i++) {
        next.tv_nsec += 1000000;
        if (next.tv_nsec >= 1000000000) { next.tv_nsec -= 1000000000; next.tv_sec++; }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    double c1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    printf("1 ms clock_nanosleep wake-up: %.0f ns CPU each (%d wakes)\n", (c1 - c0) / wakes, wakes);
    return 0;
}
