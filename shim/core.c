/* core.c - recorder start-up, the header text, fork and exit handling.
 * The trace file itself (directory, chunks, LOST, END) is writer.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "gs.h"

__thread struct gs_thread gs_tls __attribute__((tls_model("initial-exec")));
int gs_enabled;
int gs_gen = 1;
uint32_t gs_sources;

GS_HIDDEN uint64_t gs_clock_init(void);
GS_HIDDEN void gs_regions_reemit(void);
GS_HIDDEN void gs_counters_describe(void);

static struct gs_file_header gs_hdr;
static char gs_text[GS_HEADER_SIZE - GS_HEADER_TEXT_OFF];
static size_t gs_text_len;
static int gs_ready;                    /* file open and header written */

const char *gs_getenv(const char *name)
{
    return getenv(name);
}

void gs_header_add(const char *key, const char *fmt, ...)
{
    char val[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    for (char *p = val; *p; p++)        /* one line per key */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    int n = snprintf(gs_text + gs_text_len, sizeof gs_text - gs_text_len - 1,
                     "%s: %s\n", key, val);
    if (n > 0 && gs_text_len + n < sizeof gs_text - 1)
        gs_text_len += n;
}

/* ---- the file ---- */

static void gs_read_small(const char *path, char *buf, size_t n)
{
    buf[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    buf[r > 0 ? r : 0] = 0;
}

static const char *gs_rank(void)
{
    static const char *vars[] = { "RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID" };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = gs_getenv(vars[i]);
        if (v && *v)
            return v;
    }
    return NULL;
}

static void gs_write_header(void)
{
    gs_hdr.pid = (uint32_t)getpid();
    gs_hdr.ppid = (uint32_t)getppid();
    gs_hdr.sources = gs_sources;
    gs_hdr.nevents = (uint32_t)gs_nevents;
    gs_hdr.text_len = (uint32_t)gs_text_len;
    uint8_t buf[GS_HEADER_SIZE];
    memset(buf, 0, sizeof buf);
    memcpy(buf, &gs_hdr, sizeof gs_hdr);
    memcpy(buf + GS_HEADER_TEXT_OFF, gs_text, gs_text_len);
    if (gs_writer_put_header(buf, sizeof buf) != 0)
        gs_log("cannot write the header of %s: the trace will be unreadable", gs_writer_path());
}

static void gs_describe_process(void)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    gs_header_add("host", "%s", host);

    char cmd[2048];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0)
        n = 0;
    cmd[n] = 0;
    for (ssize_t i = 0; i + 1 < n; i++)
        if (cmd[i] == 0)
            cmd[i] = ' ';
    gs_header_add("cmdline", "%s", cmd);

    char cpuinfo[8192], model[256] = "unknown";
    gs_read_small("/proc/cpuinfo", cpuinfo, sizeof cpuinfo);
    char *m = strstr(cpuinfo, "model name");
    if (m && (m = strchr(m, ':'))) {
        m++;
        while (*m == ' ')
            m++;
        size_t l = strcspn(m, "\n");
        if (l >= sizeof model)
            l = sizeof model - 1;
        memcpy(model, m, l);
        model[l] = 0;
    }
    gs_header_add("cpu_model", "%s", model);
    gs_header_add("ncpu", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    const char *rank = gs_rank();
    gs_header_add("rank", "%s", rank ? rank : "");
    gs_header_add("clock", "%s", gs_clock_is_tsc ? "tsc" : "mono");
    gs_header_add("interposers", "cblas fortran");
    gs_header_add("output", "%s", gs_writer_path());
}

/* Start-up work shared by the first process and a fork child. */
static int gs_start_file(void)
{
    if (gs_writer_create() != 0)
        return -1;
    gs_text_len = 0;
    memset(&gs_hdr, 0, sizeof gs_hdr);
    memcpy(gs_hdr.magic, GS_TRACE_MAGIC, 8);
    gs_hdr.version = GS_TRACE_VERSION;
    gs_hdr.header_size = GS_HEADER_SIZE;
    gs_hdr.chunk_size = gs_writer_chunk_size();
    gs_hdr.rec_size = GS_REC_SIZE;
    return 0;
}

static void gs_stamp_start(uint64_t tsc_hz)
{
    gs_hdr.clock = gs_clock_is_tsc ? GS_CLOCK_TSC : GS_CLOCK_MONO;
    gs_hdr.tsc_hz = tsc_hz;
    gs_hdr.start_real_ns = gs_real_ns();
    gs_hdr.start_mono_ns = gs_mono_ns();
    gs_hdr.start_tsc = gs_now();
}

static uint64_t gs_tsc_hz;
static char gs_saved_text[sizeof gs_text];
static size_t gs_saved_text_len;
static uint32_t gs_saved_sources;

static void gs_atfork_prepare(void)
{
    gs_writer_fork_prepare();
}

static void gs_atfork_parent(void)
{
    gs_writer_fork_parent();
}

/* The child gets a file of its own.  Its thread's chunk belongs to the
 * parent: bumping gs_gen makes the next record take a new chunk here. */
static void gs_atfork_child(void)
{
    gs_writer_fork_child();
    if (!gs_ready)
        return;
    gs_ready = 0;
    gs_gen++;
    if (gs_start_file() != 0) {
        gs_enabled = 0;
        return;
    }
    /* same description as the parent, but this file's own name and times */
    memcpy(gs_text, gs_saved_text, gs_saved_text_len);
    gs_text_len = gs_saved_text_len;
    gs_header_add("output", "%s", gs_writer_path());
    gs_header_add("forked_from", "%d", (int)getppid());
    gs_sources = gs_saved_sources;
    gs_stamp_start(gs_tsc_hz);
    gs_write_header();
    gs_ready = 1;
    gs_writer_begin();
    gs_counters_close_thread(&gs_tls); /* those fds count the parent thread */
    gs_counters_atfork_child();
    gs_regions_reemit();
    gs_sampler_start();
}

__attribute__((constructor(101)))
static void gs_init(void)
{
    const char *e = gs_getenv("GREENSHIM");
    if (e && strcmp(e, "0") == 0)
        return;
    if (getauxval(AT_SECURE)) /* setuid/setgid/capabilities: stay out */
        return;
    gs_tsc_hz = gs_clock_init();
    if (gs_start_file() != 0)
        return;
    gs_describe_process();
    gs_sources |= GS_SRC_CBLAS | GS_SRC_FORTRAN | GS_SRC_REGIONS;
    gs_counters_init();
    gs_energy_init();
    const char *hz = gs_getenv("GREENSHIM_SAMPLE_HZ");
    if (hz && *hz) {
        unsigned shz = (unsigned)strtoul(hz, NULL, 10);
        gs_header_add("sampler.hz", "%u", shz);
        if (shz)
            gs_sources |= GS_SRC_SAMPLER;
    } else {
        /* chosen by the sampler thread from its measured tick cost; the
         * sample times in the trace give the rate */
        gs_header_add("sampler.hz", "auto");
        gs_sources |= GS_SRC_SAMPLER;
    }
    memcpy(gs_saved_text, gs_text, gs_text_len);
    gs_saved_text_len = gs_text_len;
    /* the fork child re-adds "output" with its own file name */
    char *o = strstr(gs_saved_text, "output: ");
    if (o)
        gs_saved_text_len = (size_t)(o - gs_saved_text);
    gs_saved_sources = gs_sources;
    gs_stamp_start(gs_tsc_hz);
    gs_write_header();
    pthread_atfork(gs_atfork_prepare, gs_atfork_parent, gs_atfork_child);
    gs_ready = 1;
    gs_writer_begin();
    gs_enabled = 1;
    gs_sampler_start();
}

__attribute__((destructor(101)))
static void gs_fini(void)
{
    if (!gs_ready)
        return;
    gs_sampler_stop();
    gs_energy_fini();
    gs_tls.busy = 1;                    /* nothing more from this thread */
    gs_writer_end();
    gs_enabled = 0;
    gs_log("trace written to %s", gs_writer_path());
}
