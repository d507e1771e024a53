/* sources/cpufreq.c - each CPU's current frequency where the kernel exposes
 * cpufreq (scaling_cur_freq, kHz), the input the DVFS model checks its
 * assumptions against.  Files are opened once and re-read with pread; read
 * every 10 ms at most, since a record per CPU per 1 ms tick would swamp the
 * trace on a large machine. */
#define _GNU_SOURCE
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

static int gs_freq_probe(struct gs_domain *doms, int max)
{
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
