/* fake_powercap.c - a synthetic RAPL powercap tree for machines without
 * RAPL (VMs), read through the real libpowercap by the real shim.
 *
 * Builds under ROOT (in the tests: a tmpfs mounted over /sys/class inside a
 * private mount namespace, so ROOT is /sys/class/powercap) what the
 * intel_rapl driver exposes and libpowercap 0.6 opens:
 *   intel-rapl/enabled
 *   intel-rapl/intel-rapl:0/{name=package-0, energy_uj, max_energy_range_uj,
 *       enabled, constraint_{0,1}_{name,power_limit_uw,time_window_us,max_power_uw}}
 *   intel-rapl/intel-rapl:0/intel-rapl:0:0/  the same, name=core
 *   intel-rapl:0, intel-rapl:0:0  symlinks, as in /sys/class/powercap
 * then, every --period-us (100 us), writes into energy_uj the exact integral
 * of a scripted power profile (modulo max_energy_range_uj, so a profile can
 * wrap the counter); the core zone gets 60% of the package.  The integral is
 * taken up to the middle of the interval the value will be held for (now +
 * period/2): a reader at a random moment then sees no lag on average, where
 * "up to now" would read period/2 late, a bias of dP x 50 us at every power
 * step that is the fake's, not the recorder's.
 *
 * --unreadable makes every energy_uj mode 0000: "exists but not readable".
 * root reads it anyway (CAP_DAC_OVERRIDE), so the test runs the traced
 * program as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (setpriv
 * --bounding-set), which gets EACCES from the kernel's own permission check,
 * as an unprivileged user does on kernels that make energy_uj root-only.
 *
 * Values are written space-padded to a fixed width so a shorter number never
 * leaves stale digits behind (strtoull, which libpowercap uses, skips
 * leading blanks).  Usage:
 *   fake_powercap ROOT --profile "30:5,10:40:r,..." [--idle W] [--delay-ms 300]
 *       [--max-range UJ] [--initial UJ] [--unreadable] [--ready FILE]
 *       [--period-us 100] [--max-s 120]
 * FILE gets the profile's CLOCK_MONOTONIC start in ns once the tree exists.
 * Runs until SIGTERM/SIGINT or --max-s. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "power_profile.h"

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static int put(const char *dir, const char *file, const char *text, mode_t mode)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        fprintf(stderr, "fake_powercap: cannot write %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return chmod(path, mode);
}

static int make_zone(const char *dir, const char *name, unsigned long long range, int unreadable)
{
    char buf[64];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "fake_powercap: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    snprintf(buf, sizeof buf, "%s\n", name);
    int r = put(dir, "name", buf, 0444);
    snprintf(buf, sizeof buf, "%llu\n", range);
    r |= put(dir, "max_energy_range_uj", buf, 0444);
    r |= put(dir, "energy_uj", "0\n", unreadable ? 0000 : 0444);
    r |= put(dir, "enabled", "1\n", 0644);
    r |= put(dir, "constraint_0_name", "long_term\n", 0444);
    r |= put(dir, "constraint_0_power_limit_uw", "65000000\n", 0644);
    r |= put(dir, "constraint_0_time_window_us", "27983872\n", 0644);
    r |= put(dir, "constraint_0_max_power_uw", "65000000\n", 0444);
    r |= put(dir, "constraint_1_name", "short_term\n", 0444);
    r |= put(dir, "constraint_1_power_limit_uw", "90000000\n", 0644);
    r |= put(dir, "constraint_1_time_window_us", "2440\n", 0644);
    r |= put(dir, "constraint_1_max_power_uw", "0\n", 0444);
    return r ? -1 : 0;
}

static void write_value(int fd, unsigned long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%20llu\n", v);
    if (pwrite(fd, buf, (size_t)n, 0) != n)
        stop = 1;
}

int main(int argc, char **argv)
{
    const char *root = NULL, *prof = NULL, *ready = NULL;
    double idle = 5.0, delay_ms = 300, max_s = 120;
    unsigned long long range = 262143328850ull, initial = 123456789ull;
    long period_us = 100;
    int unreadable = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--unreadable")) { unreadable = 1; continue; }
        if (a[0] != '-') { root = a; continue; }
        if (!v) { fprintf(stderr, "fake_powercap: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--profile")) prof = v;
        else if (!strcmp(a, "--idle")) idle = atof(v);
        else if (!strcmp(a, "--delay-ms")) delay_ms = atof(v);
        else if (!strcmp(a, "--max-range")) range = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--initial")) initial = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--ready")) ready = v;
        else if (!strcmp(a, "--period-us")) period_us = atol(v);
        else if (!strcmp(a, "--max-s")) max_s = atof(v);
        else { fprintf(stderr, "fake_powercap: unknown option %s\n", a); return 2; }
    }
    struct pp_profile p;
    if (!root || !prof || pp_parse(&p, prof, idle) != 0 || range == 0 || period_us <= 0) {
        fprintf(stderr, "usage: fake_powercap ROOT --profile 'ms:W[:r],...' [--idle W] [--delay-ms MS]\n"
                        "       [--max-range UJ] [--initial UJ] [--unreadable] [--ready FILE] [--period-us US]\n");
        return 2;
    }
    char top[1024], pkg[1024], core[1024], link[1024];
    snprintf(top, sizeof top, "%s/intel-rapl", root);
    snprintf(pkg, sizeof pkg, "%s/intel-rapl:0", top);
    snprintf(core, sizeof core, "%s/intel-rapl:0:0", pkg);
    mkdir(root, 0755);
    if ((mkdir(top, 0755) != 0 && errno != EEXIST) || put(top, "enabled", "1\n", 0644) != 0 ||
        make_zone(pkg, "package-0", range, unreadable) != 0 ||
        make_zone(core, "core", range, unreadable) != 0)
        return 1;
    snprintf(link, sizeof link, "%s/intel-rapl:0", root);
    if (symlink("intel-rapl/intel-rapl:0", link) != 0 && errno != EEXIST)
        fprintf(stderr, "fake_powercap: symlink %s: %s (ignored)\n", link, strerror(errno));
    snprintf(link, sizeof link, "%s/intel-rapl:0:0", root);
    if (symlink("intel-rapl/intel-rapl:0/intel-rapl:0:0", link) != 0 && errno != EEXIST)
        fprintf(stderr, "fake_powercap: symlink %s: %s (ignored)\n", link, strerror(errno));

    char path[1100];
    snprintf(path, sizeof path, "%s/energy_uj", pkg);
    int fd_pkg = open(path, O_WRONLY);
    snprintf(path, sizeof path, "%s/energy_uj", core);
    int fd_core = open(path, O_WRONLY);
    if (fd_pkg < 0 || fd_core < 0) {
        fprintf(stderr, "fake_powercap: cannot open energy_uj for writing: %s\n", strerror(errno));
        return 1;
    }
    /* a late writer is a wrong counter: run ahead of the traced program */
    struct sched_param sp = { .sched_priority = 10 };
    sched_setscheduler(0, SCHED_FIFO, &sp);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    int64_t t0 = pp_mono_ns();
    p.start_ns = t0 + (int64_t)(delay_ms * 1e6);
    double e0 = pp_energy_j(&p, t0);
    /* energy in uJ since t0, plus the initial counter value */
    #define COUNTER(t, share) ((unsigned long long)((double)initial * (share) + \
            (pp_energy_j(&p, (t)) - e0) * 1e6 * (share)) % range)
    write_value(fd_pkg, COUNTER(t0, 1.0));
    write_value(fd_core, COUNTER(t0, 0.6));
    if (ready) {
        char tmp[1100], buf[32];
        snprintf(tmp, sizeof tmp, "%s.tmp", ready);
        FILE *f = fopen(tmp, "w");
        if (!f) { fprintf(stderr, "fake_powercap: %s: %s\n", tmp, strerror(errno)); return 1; }
        snprintf(buf, sizeof buf, "%lld\n", (long long)p.start_ns);
        fputs(buf, f);
        fclose(f);
        rename(tmp, ready);
    }
    int64_t next = t0, end = t0 + (int64_t)(max_s * 1e9);
    while (!stop && next < end) {
        next += period_us * 1000;
        pp_sleep_until(next);
        int64_t now = pp_mono_ns(), mid = now + period_us * 500;
        write_value(fd_pkg, COUNTER(mid, 1.0));
        write_value(fd_core, COUNTER(mid, 0.6));
        if (now > next + 50 * period_us * 1000)
            next = now;                 /* fell far behind: do not burst */
    }
    return 0;
}
