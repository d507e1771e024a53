/* sources/cpufreq.c - each CPU's current frequency where the kernel exposes
 * cpufreq (scaling_cur_freq, kHz), the input the DVFS model checks its
 * assumptions against.  Files are opened once and re-read with pread; read
 * every 10 ms at most, since a record per CPU per 1 ms tick would swamp the
 * trace on a large machine.  The probe also writes the hardware's range
 * into the header once (cpufreq.min_khz, cpufreq.max_khz and, where the
 * driver lists them, cpufreq.available_khz: every policy's together), the
 * candidate settings `greenshim-analyze dvfs` chooses from. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../gs.h"
#include "source.h"

#define GS_FREQ_MAX_CPU 256

static int gs_freq_fd[GS_FREQ_MAX_CPU];
static int gs_nfreq;

static int gs_freq_read(int i, uint64_t *val)
{
    char buf[32];
    ssize_t n = pread(gs_freq_fd[i], buf, sizeof buf - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *end;
    unsigned long long v = strtoull(buf, &end, 10);
    if (end == buf)
        return -1;
    *val = v;
    return 0;
}

/* one number or a list of numbers from a small sysfs file; count read */
static int gs_freq_file(const char *dir, const char *name, uint64_t *vals, int max)
{
    char path[512], buf[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    int k = 0;
    for (char *p = buf, *end; k < max; p = end) {
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p)
            break;
        if (v > 0)
            vals[k++] = v;
    }
    return k;
}

#define GS_FREQ_MAX_AVAIL 128

/* the hardware's frequency range, from every cpufreq policy, as header keys */
static void gs_freq_range(void)
{
    const char *root = "/sys/devices/system/cpu/cpufreq";
    DIR *d = opendir(root);
    if (!d)
        return;                         /* no cpufreq (VMs): nothing to say */
    uint64_t lo = 0, hi = 0, avail[GS_FREQ_MAX_AVAIL];
    int navail = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "policy", 6) != 0)
            continue;
        char dir[300];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        uint64_t v, list[GS_FREQ_MAX_AVAIL];
        if (gs_freq_file(dir, "cpuinfo_min_freq", &v, 1) && (!lo || v < lo))
            lo = v;
        if (gs_freq_file(dir, "cpuinfo_max_freq", &v, 1) && v > hi)
            hi = v;
        int n = gs_freq_file(dir, "scaling_available_frequencies", list, GS_FREQ_MAX_AVAIL);
        for (int i = 0; i < n; i++) {
            int j = 0;
            while (j < navail && avail[j] > list[i])     /* kept highest first, no repeats */
                j++;
            if ((j < navail && avail[j] == list[i]) || navail == GS_FREQ_MAX_AVAIL)
                continue;
            memmove(avail + j + 1, avail + j, (size_t)(navail - j) * sizeof *avail);
            avail[j] = list[i];
            navail++;
        }
    }
    closedir(d);
    if (lo)
        gs_header_add("cpufreq.min_khz", "%llu", (unsigned long long)lo);
    if (hi)
        gs_header_add("cpufreq.max_khz", "%llu", (unsigned long long)hi);
    if (navail) {
        char buf[GS_FREQ_MAX_AVAIL * 12] = "";
        size_t len = 0;
        for (int i = 0; i < navail && len < sizeof buf; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%llu", i ? " " : "",
                                    (unsigned long long)avail[i]);
        gs_header_add("cpufreq.available_khz", "%s", buf);
    }
}

static int gs_freq_probe(struct gs_domain *doms, int max)
{
    gs_freq_range();
    gs_nfreq = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    if (ncpu > GS_FREQ_MAX_CPU)
        ncpu = GS_FREQ_MAX_CPU;
    if (ncpu > max)
        ncpu = max;
    for (long c = 0; c < ncpu; c++) {
        char path[96];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/cpufreq/scaling_cur_freq", c);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;                   /* offline CPU, or no cpufreq (VMs): nothing to say */
        gs_freq_fd[gs_nfreq] = fd;
        uint64_t v;
        if (gs_freq_read(gs_nfreq, &v) != 0) {
            close(fd);
            continue;
        }
        struct gs_domain *d = &doms[gs_nfreq];
        memset(d, 0, sizeof *d);
        snprintf(d->name, sizeof d->name, "cpu%ld-freq", c);
        snprintf(d->key, sizeof d->key, "cpufreq:%ld", c);
        d->kind = GS_SAMPLE_FREQ_KHZ;
        d->component = GS_COMP_CPU;
        d->scope = GS_SCOPE_MACHINE;
        d->sum = 0;
        gs_nfreq++;
    }
    if (gs_nfreq == 0)
        gs_dbg("no cpufreq scaling_cur_freq: CPU frequency not recorded");
    return gs_nfreq;
}

static void gs_freq_close(void)
{
    for (int i = 0; i < gs_nfreq; i++)
        close(gs_freq_fd[i]);
    gs_nfreq = 0;
}

static const struct gs_esource gs_src_cpufreq = {
    .name = "cpufreq", .component = "cpu", .provenance = "measured", .period_ms = 10,
    .probe = gs_freq_probe, .sample = gs_freq_read, .fini = gs_freq_close,
};
GS_SOURCE(gs_src_cpufreq);
