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
 * --follow FILE (with --log LOG): instead of a fixed timeline the power is
 * whatever the phase trainer sets in FILE (struct pp_follow, power_profile.h;
 * created here, --idle W until the trainer sets one), integrated over the
 * writer's own clock; at exit LOG gets every value written to the package
 * zone (struct pp_logent records: what the counter said, and when), the
 * truth the test compares with.
 *
 * Values are written space-padded to a fixed width so a shorter number never
 * leaves stale digits behind (strtoull, which libpowercap uses, skips
 * leading blanks).  Usage:
 *   fake_powercap ROOT --profile "30:5,10:40:r,..." [--idle W] [--delay-ms 300]
 *       [--max-range UJ] [--initial UJ] [--unreadable] [--ready FILE]
 *       [--period-us 100] [--max-s 120] [--follow FILE --log LOG]
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
#include <sys/mman.h>
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
    const char *root = NULL, *prof = NULL, *ready = NULL, *follow_path = NULL, *log_path = NULL;
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
        else if (!strcmp(a, "--follow")) follow_path = v;
        else if (!strcmp(a, "--log")) log_path = v;
        else { fprintf(stderr, "fake_powercap: unknown option %s\n", a); return 2; }
    }
    struct pp_profile p;
    if (!root || (!prof && !follow_path) || (prof && pp_parse(&p, prof, idle) != 0) || range == 0 ||
        period_us <= 0 || (follow_path && !log_path)) {
        fprintf(stderr, "usage: fake_powercap ROOT --profile 'ms:W[:r],...' [--idle W] [--delay-ms MS]\n"
                        "       [--max-range UJ] [--initial UJ] [--unreadable] [--ready FILE] [--period-us US]\n"
                        "       or ROOT --follow FILE --log LOG [--idle W] [the same options]\n");
        return 2;
    }
    if (!prof)
        pp_parse(&p, "1:0", idle);      /* (follow mode: no fixed timeline) */
    struct pp_follow *fw = NULL;
    if (follow_path) {
        int fd = open(follow_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ftruncate(fd, sizeof *fw) != 0 ||
            (fw = mmap(NULL, sizeof *fw, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
            fprintf(stderr, "fake_powercap: %s: %s\n", follow_path, strerror(errno));
            return 1;
        }
        close(fd);
        pp_follow_set(fw, idle);
        fw->magic = PP_FOLLOW_MAGIC;
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
    /* follow mode: the energy in uJ since t0 of the power followed */
    double fuj = 0;
    int64_t ft = t0;
    #define COUNTER(uj, share) ((unsigned long long)((double)initial * (share) + (uj) * (share)) % range)
    write_value(fd_pkg, COUNTER(0.0, 1.0));
    write_value(fd_core, COUNTER(0.0, 0.6));
    struct pp_logent *log = NULL;
    size_t nlog = 0, caplog = 0;
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
        double uj;
        if (fw) {
            /* the power set now, over the time since the last write (a
             * change lands at most one period late, and the log says when),
             * and on to mid as the fixed profile does (no mean lag) */
            double w = pp_follow_get(fw);
            fuj += w * (double)(now - ft) * 1e-3;
            ft = now;
            uj = fuj + w * (double)(mid - now) * 1e-3;
        } else {
            uj = (pp_energy_j(&p, mid) - e0) * 1e6;
        }
        int64_t tb = pp_mono_ns();
        write_value(fd_pkg, COUNTER(uj, 1.0));
        int64_t ta = pp_mono_ns();
        write_value(fd_core, COUNTER(uj, 0.6));
        if (log_path) {
            if (nlog == caplog) {
                caplog = caplog ? caplog * 2 : 65536;
                struct pp_logent *nl = realloc(log, caplog * sizeof *log);
                if (!nl) { fprintf(stderr, "fake_powercap: out of memory for the log\n"); return 1; }
                log = nl;
            }
            log[nlog++] = (struct pp_logent){ tb, ta, uj };
        }
        if (now > next + 50 * period_us * 1000)
            next = now;                 /* fell far behind: do not burst */
    }
    if (log_path) {
        FILE *f = fopen(log_path, "wb");
        if (!f || fwrite(log, sizeof *log, nlog, f) != nlog || fclose(f) != 0) {
            fprintf(stderr, "fake_powercap: cannot write %s: %s\n", log_path, strerror(errno));
            return 1;
        }
    }
    free(log);
    return 0;
}
