/* core.c - recorder start-up, the trace file, per-thread chunk streams,
 * fork and exit handling.
 *
 * One file per process.  Each thread owns a 64 KiB chunk of it at a time,
 * mapped MAP_SHARED: a record is in the page cache as soon as it is stored,
 * so a crash or SIGKILL loses nothing already recorded.  Chunks are
 * fallocate()d before use so that a full disk becomes counted lost records,
 * never a SIGBUS in the host. */
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

static pthread_mutex_t gs_file_lock = PTHREAD_MUTEX_INITIALIZER;
static int gs_fd = -1;
static uint32_t gs_nchunks;             /* chunks handed out */
static uint64_t gs_lost;                /* records dropped (no space) */
static char gs_path[PATH_MAX];
static char gs_dir[PATH_MAX];
static struct gs_file_header gs_hdr;
static char gs_text[GS_HEADER_SIZE - GS_HEADER_TEXT_OFF];
static size_t gs_text_len;
static int gs_ready;                    /* file open and header written */
static pthread_key_t gs_thread_key;

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

static uint32_t gs_gettid(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

/* ---- chunks ---- */

static void gs_thread_exit(void *arg)
{
    struct gs_thread *t = &gs_tls;
    (void)arg;
    if (t->cur && t->gen == gs_gen) {
        uint8_t *base = (uint8_t *)(((uintptr_t)t->end) - GS_CHUNK_SIZE);
        munmap(base, GS_CHUNK_SIZE);
    }
    t->cur = t->end = NULL;
    gs_counters_close_thread(t);
}

uint8_t *gs_rec_slot_slow(struct gs_thread *t, unsigned nslots)
{
    if (!gs_ready || nslots * GS_REC_SIZE > GS_CHUNK_SIZE - GS_REC_SIZE)
        return NULL;
    if (t->gen != gs_gen) {             /* first use, or inherited over fork */
        t->gen = gs_gen;
        t->tid = gs_gettid();
        t->seq = 0;
        t->cur = t->end = NULL;
        if (!t->stream)
            t->stream = GS_STREAM_THREAD;
        pthread_setspecific(gs_thread_key, (void *)1);
    } else if (t->cur) {
        /* close the chunk: zero the tail type byte so readers stop there */
        uint8_t *base = (uint8_t *)(((uintptr_t)t->end) - GS_CHUNK_SIZE);
        munmap(base, GS_CHUNK_SIZE);
        t->cur = t->end = NULL;
    }

    pthread_mutex_lock(&gs_file_lock);
    uint32_t idx = gs_nchunks;
    off_t off = (off_t)GS_HEADER_SIZE + (off_t)idx * GS_CHUNK_SIZE;
    int err = posix_fallocate(gs_fd, off, GS_CHUNK_SIZE);
    if (err == 0)
        gs_nchunks++;
    pthread_mutex_unlock(&gs_file_lock);
    if (err != 0) {
        if (__atomic_fetch_add(&gs_lost, nslots, __ATOMIC_RELAXED) == 0)
            gs_log("cannot extend trace %s (%s): further records are counted as lost",
                   gs_path, strerror(err));
        return NULL;
    }
    uint8_t *base = mmap(NULL, GS_CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, gs_fd, off);
    if (base == MAP_FAILED) {
        __atomic_fetch_add(&gs_lost, nslots, __ATOMIC_RELAXED);
        return NULL;
    }
    struct gs_chunk_header *ch = (struct gs_chunk_header *)base;
    ch->tid = t->tid;
    ch->seq = t->seq++;
    ch->stream = t->stream;
    ch->first_tsc = gs_now();
    __atomic_store_n(&ch->magic, GS_CHUNK_MAGIC, __ATOMIC_RELEASE);
    t->cur = base + GS_REC_SIZE;
    t->end = base + GS_CHUNK_SIZE;
    uint8_t *p = t->cur;
    t->cur += nslots * GS_REC_SIZE;
    return p;
}

void gs_emit(const void *rec)
{
    struct gs_thread *t = &gs_tls;
    uint8_t *s = gs_rec_slot(t, 1);
    if (!s) {
        if (gs_ready)
            __atomic_fetch_add(&gs_lost, 1, __ATOMIC_RELAXED);
        return;
    }
    memcpy(s + 1, (const uint8_t *)rec + 1, GS_REC_SIZE - 1);
    gs_rec_commit(s, *(const uint8_t *)rec);
}

/* Emit a string record with its continuation slots in one reservation. */
GS_HIDDEN void gs_emit_string(int kind, uint32_t id, const char *s)
{
    size_t len = strlen(s);
    if (len > 60000)
        len = 60000;
    unsigned ncont = len > GS_STRING_HEAD_TEXT
                         ? (unsigned)((len - GS_STRING_HEAD_TEXT + GS_REC_SIZE - 1) / GS_REC_SIZE) : 0;
    if (ncont + 1 > GS_CHUNK_SIZE / GS_REC_SIZE - 2) {
        ncont = GS_CHUNK_SIZE / GS_REC_SIZE - 3;
        len = GS_STRING_HEAD_TEXT + ncont * GS_REC_SIZE;
    }
    uint8_t *slot = gs_rec_slot(&gs_tls, 1 + ncont);
    if (!slot)
        return;
    struct gs_rec_string *r = (struct gs_rec_string *)slot;
    memset(slot + 1, 0, (1 + ncont) * GS_REC_SIZE - 1);
    r->kind = (uint8_t)kind;
    r->len = (uint16_t)len;
    r->id = id;
    memcpy(r->text, s, len < GS_STRING_HEAD_TEXT ? len : GS_STRING_HEAD_TEXT);
    if (len > GS_STRING_HEAD_TEXT)
        memcpy(slot + GS_REC_SIZE, s + GS_STRING_HEAD_TEXT, len - GS_STRING_HEAD_TEXT);
    gs_rec_commit(slot, GS_REC_STRING);
}

static void gs_emit_clock(uint8_t type)
{
    struct gs_rec_clock c = { .type = type };
    c.tsc = gs_now();
    c.mono_ns = gs_mono_ns();
    c.real_ns = gs_real_ns();
    gs_emit(&c);
}

GS_HIDDEN void gs_emit_clock_point(void)
{
    gs_emit_clock(GS_REC_CLOCK);
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

static int gs_mkdirs(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Choose the output directory once per process tree: the first process
 * picks it and exports GREENSHIM_OUT so children (fork, exec) share it. */
static int gs_pick_dir(void)
{
    const char *out = gs_getenv("GREENSHIM_OUT");
    if (out && *out) {
        snprintf(gs_dir, sizeof gs_dir, "%s", out);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char name[64];
        strftime(name, sizeof name, "greenshim-%Y%m%d-%H%M%S", &tm);
        snprintf(gs_dir, sizeof gs_dir, "%s-%d", name, (int)getpid());
        setenv("GREENSHIM_OUT", gs_dir, 1);
    }
    if (gs_mkdirs(gs_dir) != 0) {
        gs_log("cannot create trace directory %s (%s): recording is off; set GREENSHIM_OUT to a writable directory",
               gs_dir, strerror(errno));
        return -1;
    }
    /* absolute, so that children that chdir before exec still share it */
    char abs[PATH_MAX];
    if (gs_dir[0] != '/' && realpath(gs_dir, abs)) {
        snprintf(gs_dir, sizeof gs_dir, "%s", abs);
        setenv("GREENSHIM_OUT", gs_dir, 1);
    }
    return 0;
}

static int gs_open_file(void)
{
    char host[256] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    const char *rank = gs_rank();
    char base[PATH_MAX];
    if (rank)
        snprintf(base, sizeof base, "%s/%s-%d-r%s", gs_dir, host, (int)getpid(), rank);
    else
        snprintf(base, sizeof base, "%s/%s-%d", gs_dir, host, (int)getpid());
    /* exec keeps the pid: the new image gets its own file (.1, .2, ...) */
    for (int i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(gs_path, sizeof gs_path, "%s.gstrace", base);
        else
            snprintf(gs_path, sizeof gs_path, "%s.%d.gstrace", base, i);
        gs_fd = open(gs_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (gs_fd >= 0 || errno != EEXIST)
            break;
    }
    if (gs_fd < 0) {
        gs_log("cannot create trace file %s (%s): recording is off", gs_path, strerror(errno));
        return -1;
    }
    /* keep the descriptor away from the low numbers programs assume free */
    int hi = fcntl(gs_fd, F_DUPFD_CLOEXEC, 200);
    if (hi >= 0) {
        close(gs_fd);
        gs_fd = hi;
    }
    if (posix_fallocate(gs_fd, 0, GS_HEADER_SIZE) != 0) {
        gs_log("cannot write trace file %s (disk full?): recording is off", gs_path);
        close(gs_fd);
        gs_fd = -1;
        unlink(gs_path);
        return -1;
    }
    return 0;
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
    if (pwrite(gs_fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf)
        gs_log("cannot write the header of %s: the trace will be unreadable", gs_path);
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
    gs_header_add("output", "%s", gs_path);
}

/* Start-up work shared by the first process and a fork child. */
static int gs_start_file(void)
{
    if (gs_open_file() != 0)
        return -1;
    gs_nchunks = 0;
    gs_lost = 0;
    gs_text_len = 0;
    memset(&gs_hdr, 0, sizeof gs_hdr);
    memcpy(gs_hdr.magic, GS_TRACE_MAGIC, 8);
    gs_hdr.version = GS_TRACE_VERSION;
    gs_hdr.header_size = GS_HEADER_SIZE;
    gs_hdr.chunk_size = GS_CHUNK_SIZE;
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
    pthread_mutex_lock(&gs_file_lock);
}

static void gs_atfork_parent(void)
{
    pthread_mutex_unlock(&gs_file_lock);
}

/* The child gets a file of its own.  Its thread's chunk belongs to the
 * parent: bumping gs_gen makes the next record take a new chunk here. */
static void gs_atfork_child(void)
{
    pthread_mutex_unlock(&gs_file_lock);
    if (!gs_ready)
        return;
    gs_ready = 0;
    gs_gen++;
    if (gs_fd >= 0)
        close(gs_fd);
    gs_fd = -1;
    if (gs_start_file() != 0) {
        gs_enabled = 0;
        return;
    }
    /* same description as the parent, but this file's own name and times */
    memcpy(gs_text, gs_saved_text, gs_saved_text_len);
    gs_text_len = gs_saved_text_len;
    gs_header_add("output", "%s", gs_path);
    gs_header_add("forked_from", "%d", (int)getppid());
    gs_sources = gs_saved_sources;
    gs_stamp_start(gs_tsc_hz);
    gs_write_header();
    gs_ready = 1;
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
    if (gs_pick_dir() != 0 || gs_start_file() != 0)
        return;
    pthread_key_create(&gs_thread_key, gs_thread_exit);
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
    struct gs_thread *t = &gs_tls;
    t->busy = 1;                        /* nothing more from this thread */
    gs_emit_clock(GS_REC_END);
    uint64_t lost = __atomic_load_n(&gs_lost, __ATOMIC_RELAXED);
    if (lost) {
        struct gs_rec_lost l = { .type = GS_REC_LOST, .t = gs_now(), .count = lost };
        gs_emit(&l);
        gs_log("%llu records could not be written to %s (disk full?)",
               (unsigned long long)lost, gs_path);
    }
    gs_enabled = 0;
    gs_log("trace written to %s", gs_path);
}
