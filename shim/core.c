/* core.c - the writer: the trace file, its header, per-thread chunk
 * streams, END and LOST.  It calls nothing back in other modules; start-up,
 * fork and exit are lifecycle.c's, which calls gs_writer_*.
 *
 * One file per process.  Each thread owns a GS_CHUNK_SIZE (1 MiB) chunk of it at a time,
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
int gs_gen = 1;
uint32_t gs_sources;

static pthread_mutex_t gs_file_lock = PTHREAD_MUTEX_INITIALIZER;
static int gs_fd = -1;
static uint32_t gs_nchunks;             /* chunks handed out */
static uint64_t gs_lost;                /* records dropped (no space) */
static char gs_path[PATH_MAX];
static struct gs_file_header gs_hdr;
static char gs_text[GS_HEADER_SIZE - GS_HEADER_TEXT_OFF];
static size_t gs_text_len;
static int gs_ready;                    /* file open: records can be written */
static pthread_key_t gs_thread_key;
static pthread_once_t gs_key_once = PTHREAD_ONCE_INIT;

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
}

static void gs_key_make(void)
{
    pthread_key_create(&gs_thread_key, gs_thread_exit);
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
        pthread_setspecific(gs_thread_key, (void *)1); /* munmap at thread exit */
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

GS_HIDDEN void gs_emit_clock(uint8_t type)
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

static int gs_open_file(const char *base)
{
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

void gs_writer_header(void)
{
    if (!gs_ready)
        return;
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

/* Open this process's file DIR/NAME.gstrace (DIR made if needed) and start
 * its header; records can be written from here on. */
int gs_writer_open(const char *dir, const char *name, uint64_t tsc_hz)
{
    pthread_once(&gs_key_once, gs_key_make);
    if (gs_mkdirs(dir) != 0) {
        gs_log("cannot create trace directory %s (%s): recording is off; set GREENSHIM_OUT to a writable directory",
               dir, strerror(errno));
        return -1;
    }
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s/%s", dir, name);
    if (gs_open_file(base) != 0)
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
    gs_hdr.pid = (uint32_t)getpid();
    gs_hdr.ppid = (uint32_t)getppid();
    gs_hdr.clock = gs_clock_is_tsc ? GS_CLOCK_TSC : GS_CLOCK_MONO;
    gs_hdr.tsc_hz = tsc_hz;
    gs_hdr.start_real_ns = gs_real_ns();
    gs_hdr.start_mono_ns = gs_mono_ns();
    gs_hdr.start_tsc = gs_now();
    gs_header_add("output", "%s", gs_path);
    gs_ready = 1;
    return 0;
}

const char *gs_writer_path(void)
{
    return gs_path;
}

uint64_t gs_writer_lost(void)
{
    return __atomic_load_n(&gs_lost, __ATOMIC_RELAXED);
}

/* The closing records (END, LOST) from the calling thread; nothing is
 * written after them. */
void gs_writer_close(void)
{
    if (!gs_ready)
        return;
    gs_emit_clock(GS_REC_END);
    uint64_t lost = gs_writer_lost();
    if (lost) {
        struct gs_rec_lost l = { .type = GS_REC_LOST, .t = gs_now(), .count = lost };
        gs_emit(&l);
        gs_log("%llu records could not be written to %s (disk full?)",
               (unsigned long long)lost, gs_path);
    }
    gs_ready = 0;
    /* a new generation: threads that write again (after a failed exec)
     * take chunks of the next file; the old ones stay mapped until exit */
    gs_gen++;
}

void gs_writer_atfork_prepare(void)
{
    pthread_mutex_lock(&gs_file_lock);
}

void gs_writer_atfork_parent(void)
{
    pthread_mutex_unlock(&gs_file_lock);
}

/* The child's chunks and file are the parent's: bumping gs_gen makes the
 * next record take a new chunk, of a new file opened by gs_writer_open. */
void gs_writer_atfork_child(void)
{
    pthread_mutex_unlock(&gs_file_lock);
    gs_gen++;
    gs_ready = 0;
    if (gs_fd >= 0)
        close(gs_fd);
    gs_fd = -1;
}
