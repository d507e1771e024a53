/* writer.c - the trace file: its directory and name, the ring the
 * threads write their records into, the helper thread that moves them to
 * the file, the records the recorder could not write (LOST) and the END.
 * It calls nothing back into other modules.
 *
 * One file per process: the header, then chunks.  Program threads store
 * records into segments of a ring that is part of the file itself, mapped
 * MAP_SHARED and reused: a record is in the page cache as soon as it is
 * stored (a SIGKILL loses nothing), and after the ring's first round no
 * store touches a fresh page (docs/recorder.md: on some hosts a fresh page
 * costs the writer ~55 ns per record whatever a helper does beforehand).  A
 * thread whose segment is full hands it to the helper thread and takes a
 * free one (a mutex once per segment, a futex wake only when the helper
 * sleeps); the helper copies the full segment to a new chunk at the end of
 * the file (fallocate, pwrite of the body, then of the chunk header, so a
 * copy cut short by a kill has no magic), then clears the segment and puts
 * it back.  A kill between the copy and the clearing leaves the same chunk
 * twice: readers keep one (trace.h).
 *
 * Guest manners: a program thread never opens, holds or closes a
 * descriptor.  The helper calls unshare(CLONE_FILES), empties its private
 * table and keeps the trace descriptor there; it creates the file, writes
 * the header, grows the ring and drains it, and runs the recorder's whole
 * start and end (gs_writer_call: lifecycle.c), so the threads it starts
 * (the sampler) share its table too.  Files are 0600 and directories 0700
 * whatever the umask.
 *
 * When the ring is full: the thread waits for the helper (up to 1 s, then
 * its calls count as lost, reason 5); when the file cannot grow (no space,
 * the cap GREENSHIM_MAX_MB, an I/O error) full segments stay in the ring -
 * they are in the file already - and a thread that finds no free segment
 * runs on at full speed, counting each dropped call and record.  Every
 * segment keeps two slots and the ring one reserve segment for the records
 * that must reach the file: LOST counts and the END. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "gs.h"
#include "run.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define W_EXT_SEGS    16            /* segments per ring extent (1 MiB of 64 KiB) */
#define W_MAX_SEGS    4096          /* the ring's largest size, in segments */
#define W_ACCTS       512           /* threads with their own lost counts */
#define W_FINAL_SLOTS 2             /* kept free at the end of every segment */
#define W_RSV_SEQ     0x7fffffffu   /* reserve chunk sorts after the owner's */
#define W_WAIT_NS     1000000000ull /* a thread waits this long for a free segment */
#define W_EXT_AHEAD   8             /* extents the ring may grow to when threads had to wait */

/* A thread's unrecorded calls.  The counts only grow, written by their
 * thread alone (no locked instruction on the lost path); a LOST record
 * carries what grew since the last one (the 'flushed' marks, under
 * w_acct_mu), so a flush racing the thread never counts twice. */
struct w_acct {
    uint32_t tid;
    int      used;
    uint64_t calls, records, t_first;
    uint64_t flushed_calls, flushed_records;
    uint8_t  reason;
};

enum { W_SEG_FREE = 0, W_SEG_OWNED, W_SEG_FULL, W_SEG_RSV };
struct w_seg {
    uint8_t *base;
    uint32_t idx;                       /* chunk index in the file */
    uint8_t  state;
};

static char w_path[PATH_MAX];
static char w_dir[PATH_MAX];
static int w_ready;                     /* file made and header written */
static uint32_t w_csize = GS_CHUNK_SIZE;
static uint32_t w_ext_segs = W_EXT_SEGS;
static uint64_t w_cap;                  /* file size cap in bytes, 0 none */

/* the ring: every field under w_mu; the helper alone touches the file */
static pthread_mutex_t w_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t w_cv = PTHREAD_COND_INITIALIZER;      /* the helper's work */
static pthread_cond_t w_free_cv = PTHREAD_COND_INITIALIZER; /* a segment freed, a call done */
static struct w_seg w_segs[W_MAX_SEGS];
static uint32_t w_nsegs, w_next;        /* segments; the file's next chunk index */
static uint16_t w_free[W_MAX_SEGS];
static uint32_t w_nfree;
static uint16_t w_full[W_MAX_SEGS];     /* FIFO of full segments */
static uint32_t w_full_head, w_nfull;
static uint8_t *w_ext_base[W_MAX_SEGS];
static uint32_t w_next_ext;             /* extents mapped */
static int w_waiters, w_waited;         /* threads waiting for a segment; had to */
static uint8_t *w_rsv;                  /* the reserve segment */
static uint32_t w_rsv_used;             /* its slots used (0: untouched) */
static uint64_t w_n_drained, w_n_waits;

/* failure state: why the file cannot grow, and when to try again */
static int w_fail;                      /* enum gs_lost_reason, 0 none */
static uint64_t w_retry_ns;
static unsigned w_backoff_ms;

static struct w_acct w_accts[W_ACCTS + 1]; /* the last one is shared */
static pthread_mutex_t w_acct_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t w_gone_calls, w_gone_recs;  /* of accounts given back at thread exit */
static uint32_t w_sno;                  /* stream numbers handed out */

/* the helper thread */
static pthread_t w_helper;
static int w_helper_state;              /* 0 none, 1 running, -1 cannot run */
static int w_stop;
static void (*w_call_fn)(void);
static unsigned w_call_seq, w_done_seq;
static uint32_t w_caller_tid;           /* the program thread whose call the helper runs */
static __thread int w_is_helper __attribute__((tls_model("initial-exec")));
static int w_fd = -1;                   /* in the helper's own descriptor table */
static pthread_key_t w_key;
static int w_key_made;

static const char *w_reason_text(int r)
{
    switch (r) {
    case GS_LOST_SPACE:  return "no space left on the file system";
    case GS_LOST_CAP:    return "the size cap GREENSHIM_MAX_MB";
    case GS_LOST_IO:     return "I/O error or the trace file is gone";
    case GS_LOST_MEM:    return "out of memory";
    case GS_LOST_BEHIND: return "the recorder's helper thread got no CPU for a second";
    default:             return "unknown";
    }
}

static uint64_t w_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t w_gettid(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

static off_t w_off(uint32_t idx)
{
    return (off_t)GS_HEADER_SIZE + (off_t)idx * w_csize;
}

static int w_errno_reason(int e)
{
    if (e == ENOSPC || e == EDQUOT)
        return GS_LOST_SPACE;
    if (e == ENOMEM)
        return GS_LOST_MEM;
    return GS_LOST_IO;
}

/* (w_mu held) */
static void w_note_fail(int reason)
{
    if (reason == GS_LOST_CAP) {
        __atomic_store_n(&w_fail, reason, __ATOMIC_RELEASE);   /* for good */
        return;
    }
    w_backoff_ms = w_backoff_ms ? (w_backoff_ms * 2 > 1000 ? 1000 : w_backoff_ms * 2) : 10;
    w_retry_ns = w_coarse_ns() + (uint64_t)w_backoff_ms * 1000000ull;
    __atomic_store_n(&w_fail, reason, __ATOMIC_RELEASE);
}

static int w_failing(void)
{
    int f = __atomic_load_n(&w_fail, __ATOMIC_ACQUIRE);
    return f && (f == GS_LOST_CAP || w_coarse_ns() < w_retry_ns);
}

static void w_deadline(struct timespec *ts, uint64_t ns)
{
    clock_gettime(CLOCK_REALTIME, ts);  /* the condition variables' clock */
    ts->tv_sec += (time_t)(ns / 1000000000ull);
    ts->tv_nsec += (long)(ns % 1000000000ull);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ---- the file: the helper's alone ---- */

/* zeros written through the page cache: space reserved, pages present */
static int w_zero(off_t off, size_t len)
{
    static const uint8_t zeros[65536];
    while (len) {
        size_t n = len < sizeof zeros ? len : sizeof zeros;
        ssize_t w = pwrite(w_fd, zeros, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : ENOSPC;
        off += w;
        len -= (size_t)w;
    }
    return 0;
}

static int w_write_all(const uint8_t *p, size_t len, off_t off)
{
    while (len) {
        ssize_t w = pwrite(w_fd, p, len, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : ENOSPC;
        p += w;
        off += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Room for n chunks at index i: the file grows by whole chunks at once, so
 * that a kill in the middle of the writes never leaves a file that ends
 * inside a chunk (readers would call it truncated).  fallocate reserves the
 * space: a full disk is an error here, never later. */
static int w_grow(uint32_t i, uint32_t n)
{
    if (w_cap && (uint64_t)w_off(i + n) > w_cap)
        return EFBIG;
    if (fallocate(w_fd, 0, w_off(i), (off_t)n * w_csize) == 0)
        return 0;
    int e = errno;
    if (e == EOPNOTSUPP && ftruncate(w_fd, w_off(i + n)) == 0)
        return 0;
    if (ftruncate(w_fd, w_off(i)) != 0) { /* what was reserved stays: zeros, skipped by readers */ }
    return e;
}

static int w_reason_of(int e)
{
    return e == EFBIG ? GS_LOST_CAP : w_errno_reason(e);
}

/* A new extent of the ring at the end of the file: zeros written (the
 * pages exist and the space is reserved), mapped, and every page touched
 * once by a store here, so that no program thread ever takes the first
 * fault of a ring page.  Returns 0 or a lost reason. */
static int w_add_extent(void)
{
    uint32_t n = w_ext_segs;
    if (w_nsegs + n > W_MAX_SEGS)
        return GS_LOST_MEM;
    uint32_t i = w_next;
    int e = w_grow(i, n);
    if (e)
        return w_reason_of(e);
    size_t len = (size_t)n * w_csize;
    e = w_zero(w_off(i), len);
    if (e) {
        if (ftruncate(w_fd, w_off(i)) != 0) { /* zeros: skipped by readers */ }
        return w_errno_reason(e);
    }
    uint8_t *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, w_fd, w_off(i));
    if (b == MAP_FAILED) {
        if (ftruncate(w_fd, w_off(i)) != 0) { }
        return GS_LOST_MEM;
    }
    madvise(b, len, MADV_POPULATE_WRITE); /* best effort: the touches below fault otherwise */
    for (size_t o = 0; o < len; o += 4096)
        __atomic_store_n(b + o, 0, __ATOMIC_RELAXED);
    w_next = i + n;
    pthread_mutex_lock(&w_mu);
    w_ext_base[w_next_ext++] = b;
    for (uint32_t k = 0; k < n; k++) {
        struct w_seg *s = &w_segs[w_nsegs];
        s->base = b + (size_t)k * w_csize;
        s->idx = i + k;
        if (!w_rsv) {
            s->state = W_SEG_RSV;
            w_rsv = s->base;
        } else {
            s->state = W_SEG_FREE;
            w_free[w_nfree++] = (uint16_t)w_nsegs;
        }
        w_nsegs++;
    }
    pthread_cond_broadcast(&w_free_cv);
    pthread_mutex_unlock(&w_mu);
    return 0;
}

/* Copy a full segment to a new chunk at the end of the file: the body,
 * then the chunk header (a copy a kill cuts short has no magic), then
 * clear the segment, magic first (a kill while clearing leaves no half
 * chunk).  Returns 0 or a lost reason; on failure the segment is intact. */
static int w_drain(struct w_seg *s)
{
    uint32_t i = w_next;
    int e = w_grow(i, 1);
    if (e)
        return w_reason_of(e);
    e = w_write_all(s->base + GS_REC_SIZE, w_csize - GS_REC_SIZE, w_off(i) + GS_REC_SIZE);
    if (!e) {
        struct gs_chunk_header ch;
        memcpy(&ch, s->base, sizeof ch);
        ch.flags |= GS_CHUNK_F_COPIED;
        e = w_write_all((const uint8_t *)&ch, sizeof ch, w_off(i));
    }
    w_next = i + 1;
    if (e)
        return w_errno_reason(e);       /* a chunk without magic: skipped by readers */
    __atomic_store_n((uint32_t *)s->base, 0, __ATOMIC_RELEASE);
    memset(s->base + 4, 0, w_csize - 4);
    return 0;
}

/* The ring's free segments give back their space (holes read as zeros). */
static void w_punch_free(void)
{
    pthread_mutex_lock(&w_mu);
    for (uint32_t k = 0; k < w_nfree; k++)
        if (fallocate(w_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, w_off(w_segs[w_free[k]].idx),
                      w_csize) != 0) { /* zeros stay: skipped by readers */ }
    if (w_rsv && !w_rsv_used)
        for (uint32_t k = 0; k < w_nsegs; k++)
            if (w_segs[k].state == W_SEG_RSV &&
                fallocate(w_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, w_off(w_segs[k].idx), w_csize) != 0) { }
    pthread_mutex_unlock(&w_mu);
}

/* (w_mu held) whether the ring should grow: few free segments and none
 * coming back soon, or threads had to wait */
static int w_want_extent(void)
{
    if (w_failing() || w_nsegs + w_ext_segs > W_MAX_SEGS)
        return 0;
    if (w_nfree < 2 && w_nfull == 0)
        return 1;
    return w_waited && w_next_ext < W_EXT_AHEAD && !w_cap;
}

static void *w_helper_main(void *arg)
{
    (void)arg;
    gs_tls.busy = 1;                    /* BLAS called from here is not the program's */
    w_is_helper = 1;
    gs_log_defer = 1;                   /* no stderr in this table */
    /* a descriptor table of its own, emptied of the program's descriptors
     * (an extra reference to a pipe would keep its reader from EOF) */
    int ok = unshare(CLONE_FILES) == 0;
    if (ok && syscall(SYS_close_range, 0u, ~0u, 0u) != 0)
        for (int fd = 0; fd < 65536; fd++)
            close(fd);
    /* 0, 1 and 2 of this table are /dev/null: a library that prints from
     * here (libpowercap does) writes nowhere, never into one of our files */
    for (int i = 0; ok && i < 3; i++)
        if (open("/dev/null", O_RDWR | O_CLOEXEC) < 0)
            break;
    pthread_mutex_lock(&w_mu);
    w_helper_state = ok ? 1 : -1;
    pthread_cond_broadcast(&w_free_cv);
    if (!ok) {
        pthread_mutex_unlock(&w_mu);
        return NULL;
    }
    for (;;) {
        while (!w_stop && !w_call_fn && (w_nfull == 0 || w_failing()) && !(w_fd >= 0 && w_want_extent())) {
            if (w_fail && w_fail != GS_LOST_CAP && w_nfull) {
                struct timespec ts;
                w_deadline(&ts, 100000000ull);
                pthread_cond_timedwait(&w_cv, &w_mu, &ts);
            } else {
                pthread_cond_wait(&w_cv, &w_mu);
            }
        }
        if (w_call_fn) {
            void (*fn)(void) = w_call_fn;
            pthread_mutex_unlock(&w_mu);
            fn();
            pthread_mutex_lock(&w_mu);
            w_call_fn = NULL;
            w_done_seq++;
            pthread_cond_broadcast(&w_free_cv);
            continue;
        }
        if (w_stop)
            break;                      /* what is in the ring is in the file */
        if (w_nfull && !w_failing() && w_fd >= 0) {
            uint16_t k = w_full[w_full_head];
            pthread_mutex_unlock(&w_mu);
            int r = w_drain(&w_segs[k]);
            pthread_mutex_lock(&w_mu);
            if (r == 0) {
                w_full_head = (w_full_head + 1) % W_MAX_SEGS;
                w_nfull--;
                w_segs[k].state = W_SEG_FREE;
                w_free[w_nfree++] = k;
                w_n_drained++;
                w_fail = 0;
                w_backoff_ms = 0;
            } else {
                w_note_fail(r);         /* it stays in the ring, which is in the file */
            }
            pthread_cond_broadcast(&w_free_cv);
            continue;
        }
        if (w_fd >= 0 && w_want_extent()) {
            w_waited = 0;
            pthread_mutex_unlock(&w_mu);
            int r = w_add_extent();
            pthread_mutex_lock(&w_mu);
            if (r)
                w_note_fail(r);
            pthread_cond_broadcast(&w_free_cv);   /* failed: waiters count their calls lost */
            continue;
        }
    }
    pthread_mutex_unlock(&w_mu);
    if (w_fd >= 0) {
        w_punch_free();
        close(w_fd);
    }
    w_fd = -1;
    return NULL;
}

/* (w_mu held) */
static int w_helper_start(void)
{
    if (w_helper_state != 0)
        return w_helper_state;
    w_stop = 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* no signals for it (nor the threads it starts) */
    int r = pthread_create(&w_helper, NULL, w_helper_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        w_helper_state = -1;
        return -1;
    }
    while (w_helper_state == 0)
        pthread_cond_wait(&w_free_cv, &w_mu);
    if (w_helper_state < 0) {
        pthread_mutex_unlock(&w_mu);
        pthread_join(w_helper, NULL);
        pthread_mutex_lock(&w_mu);
    }
    return w_helper_state;
}

int gs_writer_on_helper(void)
{
    return w_is_helper;
}

int gs_writer_call(void (*fn)(void))
{
    if (w_is_helper) {
        fn();
        return 0;
    }
    pthread_mutex_lock(&w_mu);
    if (w_helper_start() != 1) {
        pthread_mutex_unlock(&w_mu);
        gs_log("cannot start the recorder's helper thread with a descriptor table of its own "
               "(unshare(CLONE_FILES) refused, or no thread): recording is off");
        return -1;
    }
    while (w_call_fn)
        pthread_cond_wait(&w_free_cv, &w_mu);
    w_call_fn = fn;
    w_caller_tid = w_gettid();
    unsigned mine = ++w_call_seq;
    pthread_cond_signal(&w_cv);
    while ((int)(w_done_seq - mine) < 0)
        pthread_cond_wait(&w_free_cv, &w_mu);
    pthread_mutex_unlock(&w_mu);
    gs_log_flush();
    return 0;
}

void gs_writer_close(void)
{
    pthread_mutex_lock(&w_mu);
    if (w_helper_state != 1 || w_is_helper) {
        pthread_mutex_unlock(&w_mu);
        return;
    }
    w_stop = 1;
    pthread_cond_signal(&w_cv);
    pthread_mutex_unlock(&w_mu);
    pthread_join(w_helper, NULL);
    pthread_mutex_lock(&w_mu);
    w_helper_state = 0;
    pthread_mutex_unlock(&w_mu);
    gs_log_flush();
}

/* ---- per-thread streams ---- */

static struct w_acct *w_acct_of(struct gs_thread *t)
{
    if (t->lost)
        return t->lost;
    struct w_acct *a = &w_accts[W_ACCTS];
    pthread_mutex_lock(&w_acct_mu);
    for (int i = 0; i < W_ACCTS; i++)
        if (!w_accts[i].used) {
            a = &w_accts[i];
            memset(a, 0, sizeof *a);
            a->used = 1;
            a->tid = t->tid;
            break;
        }
    pthread_mutex_unlock(&w_acct_mu);
    t->lost = a;
    return a;
}

static inline void w_bump(uint64_t *v, uint64_t by, int shared)
{
    if (shared)
        __atomic_fetch_add(v, by, __ATOMIC_RELAXED);
    else
        __atomic_store_n(v, __atomic_load_n(v, __ATOMIC_RELAXED) + by, __ATOMIC_RELAXED);
}

static void w_count_lost(struct gs_thread *t, unsigned nrecs, int call, int reason)
{
    struct w_acct *a = w_acct_of(t);
    int shared = a == &w_accts[W_ACCTS];
    if (!__atomic_load_n(&a->t_first, __ATOMIC_RELAXED))
        __atomic_store_n(&a->t_first, gs_now(), __ATOMIC_RELAXED);
    if (!a->reason)
        a->reason = (uint8_t)reason;
    if (call)
        w_bump(&a->calls, 1, shared);
    w_bump(&a->records, nrecs, shared);
    /* said once, with the exact counts, when the trace ends (gs_writer_end) */
}

static void w_thread_exit(void *arg);

/* (w_mu held) the thread's segment goes to the helper to be copied */
static void w_hand_back(struct gs_thread *t)
{
    if (!t->chunk)
        return;
    struct w_seg *s = &w_segs[t->seg];
    if (t->seg < w_nsegs && s->base == t->chunk && s->state == W_SEG_OWNED) {
        s->state = W_SEG_FULL;
        w_full[(w_full_head + w_nfull) % W_MAX_SEGS] = (uint16_t)t->seg;
        w_nfull++;
        pthread_cond_signal(&w_cv);     /* a futex wake only when the helper sleeps */
    }
    t->chunk = t->cur = t->end = NULL;
}

static void w_take(struct gs_thread *t, uint32_t k)
{
    struct w_seg *s = &w_segs[k];
    s->state = W_SEG_OWNED;
    uint8_t *base = s->base;
    struct gs_chunk_header *ch = (struct gs_chunk_header *)base;
    ch->tid = t->tid;
    ch->seq = t->seq++;
    ch->stream = t->stream;
    ch->first_tsc = gs_now();
    ch->sno = t->sno;
    ch->flags = 0;
    __atomic_store_n(&ch->magic, GS_CHUNK_MAGIC, __ATOMIC_RELEASE);
    t->chunk = base;
    t->seg = k;
    t->shp_epoch++;                     /* a new dictionary per segment (trace.h) */
    t->shp_next = 0;
    t->cur = base + GS_REC_SIZE;
    t->end = base + w_csize - W_FINAL_SLOTS * GS_REC_SIZE;
}

uint8_t *gs_rec_slot_slow(struct gs_thread *t, unsigned req)
{
    unsigned bytes = req & (GS_SLOT_CALL - 1);
    int call = (req & GS_SLOT_CALL) != 0;
    /* records not written: a short call is one (its SHAPE aside) */
    unsigned nrecs = bytes == GS_REC_SIZE + GS_SCALL_SIZE ? 1 : (bytes + GS_REC_SIZE - 1) / GS_REC_SIZE;
    if (!__atomic_load_n(&w_ready, __ATOMIC_ACQUIRE))
        return NULL;
    if (t->gen != gs_gen) {             /* first use, or inherited over fork */
        t->gen = gs_gen;
        t->tid = w_gettid();
        t->sno = __atomic_add_fetch(&w_sno, 1, __ATOMIC_RELAXED);
        t->seq = 0;
        t->cur = t->end = t->chunk = NULL;
        t->lost = NULL;
        if (!t->stream)             /* the helper's records are the recorder's, not a program thread's */
            t->stream = w_is_helper ? GS_STREAM_RECORDER : GS_STREAM_THREAD;
        if (w_key_made)
            pthread_setspecific(w_key, (void *)1);
    }
    if (!t->shp) {                      /* the thread's shape dictionary (kept over fork) */
        void *m = mmap(NULL, GS_SHP_N * sizeof *t->shp, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED)
            t->shp = m;                 /* zeros: epoch 0 is never a segment's */
    }
    if (bytes + (1 + W_FINAL_SLOTS) * GS_REC_SIZE > w_csize) {
        w_count_lost(t, nrecs, call, GS_LOST_MEM);
        return NULL;
    }
    if (t->chunk && t->cur + bytes <= t->end) {     /* (room after all) */
        uint8_t *p = t->cur;
        t->cur += bytes;
        return p;
    }
    pthread_mutex_lock(&w_mu);
    w_hand_back(t);
    int reason = 0;
    uint64_t waited_since = 0;
    while (w_nfree == 0) {
        if (w_helper_state != 1 || w_stop) {
            reason = GS_LOST_IO;
            break;
        }
        if (w_failing() || w_is_helper) {  /* no space, the cap: at full speed */
            reason = w_fail ? w_fail : GS_LOST_MEM;
            break;
        }
        /* the helper is behind (starved of CPU), or the ring is too small
         * for the threads: wait for it - it is never the program's stores
         * that outrun it for long (docs/recorder.md) */
        uint64_t now = w_coarse_ns();
        if (!waited_since) {
            waited_since = now;
            w_n_waits++;
        } else if (now - waited_since >= W_WAIT_NS) {
            reason = GS_LOST_BEHIND;
            break;
        }
        w_waited = 1;
        w_waiters++;
        pthread_cond_signal(&w_cv);
        struct timespec ts;
        w_deadline(&ts, 50000000ull);
        pthread_cond_timedwait(&w_free_cv, &w_mu, &ts);
        w_waiters--;
    }
    if (!reason) {
        uint32_t k = w_free[--w_nfree];
        w_take(t, k);
        if (w_nfree < 2)
            pthread_cond_signal(&w_cv);  /* time to grow */
    }
    pthread_mutex_unlock(&w_mu);
    if (reason) {
        w_count_lost(t, nrecs, call, reason);
        return NULL;
    }
    uint8_t *p = t->cur;
    t->cur += bytes;
    return p;
}

int gs_call_room_slow(struct gs_thread *t)
{
    uint8_t *p = gs_rec_slot_slow(t, (GS_REC_SIZE + GS_SCALL_SIZE) | GS_SLOT_CALL);
    if (!p)
        return 0;
    t->cur = p;                         /* room only: gs_call_short writes */
    return 1;
}

/* Write one record that must reach the file (LOST, END): into the calling
 * thread's segment, its two kept slots included, else the reserve one. */
static void w_put_final(const void *rec)
{
    struct gs_thread *t = &gs_tls;
    uint8_t *s = NULL;
    if (t->gen == gs_gen && t->chunk && t->cur + GS_REC_SIZE <= t->chunk + w_csize) {
        s = t->cur;
        t->cur += GS_REC_SIZE;
    } else {
        pthread_mutex_lock(&w_mu);
        if (w_rsv && !w_rsv_used) {
            struct gs_chunk_header *ch = (struct gs_chunk_header *)w_rsv;
            /* on the helper (the end): the thread that ends the trace */
            ch->tid = w_is_helper && w_caller_tid ? w_caller_tid : t->gen == gs_gen && t->tid ? t->tid : w_gettid();
            ch->seq = W_RSV_SEQ;
            ch->stream = GS_STREAM_THREAD;
            ch->first_tsc = gs_now();
            ch->sno = UINT32_MAX;       /* after the thread's own chunks */
            ch->flags = 0;
            __atomic_store_n(&ch->magic, GS_CHUNK_MAGIC, __ATOMIC_RELEASE);
            w_rsv_used = 1;
        }
        if (w_rsv && (w_rsv_used + 1) * GS_REC_SIZE <= w_csize)
            s = w_rsv + GS_REC_SIZE * w_rsv_used++;
        pthread_mutex_unlock(&w_mu);
    }
    if (!s)
        return;
    memcpy(s + 1, (const uint8_t *)rec + 1, GS_REC_SIZE - 1);
    gs_rec_commit(s, *(const uint8_t *)rec);
}

/* One LOST record for an account, if it has anything since the last. */
static void w_flush_acct(struct w_acct *a)
{
    pthread_mutex_lock(&w_acct_mu);
    uint64_t ac = __atomic_load_n(&a->calls, __ATOMIC_RELAXED);
    uint64_t ar = __atomic_load_n(&a->records, __ATOMIC_RELAXED);
    uint64_t calls = ac - a->flushed_calls, recs = ar - a->flushed_records;
    uint64_t first = __atomic_load_n(&a->t_first, __ATOMIC_RELAXED);
    a->flushed_calls = ac;
    a->flushed_records = ar;
    pthread_mutex_unlock(&w_acct_mu);
    if (!calls && !recs)
        return;
    struct gs_rec_lost l = { .type = GS_REC_LOST, .reason = a->reason, .tid = a->tid };
    l.t = gs_now();
    l.calls = calls;
    l.records = recs;
    l.t_first = first;
    w_put_final(&l);
}

static void w_thread_exit(void *arg)
{
    struct gs_thread *t = &gs_tls;
    (void)arg;
    if (t->gen != gs_gen || !w_ready)
        return;
    if (t->lost) {
        struct w_acct *a = t->lost;
        w_flush_acct(a);
        if (a != &w_accts[W_ACCTS]) {
            pthread_mutex_lock(&w_acct_mu);
            w_gone_calls += a->calls;
            w_gone_recs += a->records;
            a->used = 0;
            pthread_mutex_unlock(&w_acct_mu);
        }
        t->lost = NULL;
    }
    pthread_mutex_lock(&w_mu);
    w_hand_back(t);
    pthread_mutex_unlock(&w_mu);
}

void gs_emit(const void *rec)
{
    struct gs_thread *t = &gs_tls;
    uint8_t *s = gs_rec_slot(t, 1);
    if (!s)
        return;
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
    unsigned most = w_csize / GS_REC_SIZE - 2 - W_FINAL_SLOTS;
    if (ncont + 1 > most) {
        ncont = most - 1;
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

static void w_clock_rec(struct gs_rec_clock *c, uint8_t type)
{
    memset(c, 0, sizeof *c);
    c->type = type;
    c->tsc = gs_now();
    c->mono_ns = gs_mono_ns();
    c->real_ns = gs_real_ns();
}

GS_HIDDEN void gs_emit_clock_point(void)
{
    struct gs_rec_clock c;
    w_clock_rec(&c, GS_REC_CLOCK);
    gs_emit(&c);
}

/* ---- directory and file ---- */

static const char *w_rank(void)
{
    const char *r = gs_run_rank();
    return *r ? r : NULL;
}

/* A value from the environment or the host made safe for a file name:
 * letters, digits, '.', '_', '-' kept (no leading '.'), others '_', at most
 * 32 bytes. */
static void w_name_part(char *out, size_t len, const char *in)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < len && j < 32; i++) {
        char c = in[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || (c == '.' && j > 0);
        out[j++] = ok ? c : '_';
    }
    out[j] = 0;
}

/* mkdir 0700 whatever the umask; an existing directory is left as it is */
static int w_mkdir(const char *path)
{
    if (mkdir(path, 0700) == 0) {
        if (chmod(path, 0700) != 0) { /* still 0700 minus the umask */ }
        return 0;
    }
    return errno == EEXIST ? 0 : -1;
}

/* Create the missing directories of a user-given path, 0700. */
static int w_mkdirs(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (w_mkdir(tmp) != 0)
                return -1;
            *p = '/';
        }
    }
    return w_mkdir(tmp);
}

/* The directory is ours: not a symlink, a directory, owned by us. */
static int w_own_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    int ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid();
    if (fd >= 0)
        close(fd);
    if (!ok && !errno)
        errno = EPERM;
    return ok ? 0 : -1;
}

/* The run's directory (run.c names it: absolute, shared by every process
 * of the run, made by whichever starts recording first). */
static int w_pick_dir(void)
{
    snprintf(w_dir, sizeof w_dir, "%s", gs_run_dir());
    errno = 0;
    if (w_mkdirs(w_dir) != 0 || w_own_dir(w_dir) != 0) {
        gs_log("cannot create trace directory %s (%s): recording is off; set GREENSHIM_OUT to a "
               "writable directory", w_dir, strerror(errno));
        return -1;
    }
    return 0;
}

static void w_read_cap(void)
{
    w_cap = 0;
    w_csize = GS_CHUNK_SIZE;
    w_ext_segs = W_EXT_SEGS;
    uint64_t mb = gs_setting_uint("GREENSHIM_MAX_MB");   /* checked in settings.c */
    if (!mb)
        return;
    w_cap = mb << 20;
    /* under the cap, the ring (one extent) takes at most a quarter of it */
    while (w_csize > 4096 && (uint64_t)w_csize * w_ext_segs * 4 > w_cap)
        w_csize /= 2;
}

/* (on the helper) the file and its header's room (the ring comes after
 * the header: a kill never leaves a file without one for long) */
static int w_open_file(void)
{
    char host[256] = "host", h[40], r[40];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    w_name_part(h, sizeof h, host);
    const char *rank = w_rank();
    char base[PATH_MAX];
    if (rank) {
        w_name_part(r, sizeof r, rank);
        snprintf(base, sizeof base, "%s/%s-%d-r%s", w_dir, h, (int)getpid(), r);
    } else {
        snprintf(base, sizeof base, "%s/%s-%d", w_dir, h, (int)getpid());
    }
    /* exec keeps the pid: the new image gets its own file (.1, .2, ...) */
    int fd = -1;
    for (int i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(w_path, sizeof w_path, "%s.gstrace", base);
        else
            snprintf(w_path, sizeof w_path, "%s.%d.gstrace", base, i);
        fd = open(w_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        gs_log("cannot create trace file %s (%s): recording is off", w_path, strerror(errno));
        return -1;
    }
    if (fchmod(fd, 0600) != 0) {
        gs_log("cannot set up trace file %s (%s): recording is off", w_path, strerror(errno));
        close(fd);
        unlink(w_path);
        return -1;
    }
    w_fd = fd;
    int err = ftruncate(fd, GS_HEADER_SIZE) != 0 ? errno : w_zero(0, GS_HEADER_SIZE);
    if (err) {
        gs_log("cannot write trace file %s (%s): recording is off", w_path, strerror(err));
        close(fd);
        w_fd = -1;
        unlink(w_path);
        return -1;
    }
    return 0;
}

/* a ring of a process that ended (an exec that failed): unmapped */
static void w_ring_reset(void)
{
    for (uint32_t e = 0; e < w_next_ext; e++)
        munmap(w_ext_base[e], (size_t)w_ext_segs * w_csize);
    w_next_ext = w_nsegs = w_next = w_nfree = w_nfull = w_full_head = 0;
    w_waiters = w_waited = 0;
    w_rsv = NULL;
    w_rsv_used = 0;
    w_n_drained = w_n_waits = 0;
}

int gs_writer_create(void)
{
    if (!w_is_helper)
        return -1;                      /* descriptors only in the helper's table */
    if (!w_dir[0] && w_pick_dir() != 0)
        return -1;
    if (!w_key_made && pthread_key_create(&w_key, w_thread_exit) == 0)
        w_key_made = 1;
    pthread_mutex_lock(&w_mu);
    w_ring_reset();
    pthread_mutex_unlock(&w_mu);
    w_read_cap();
    w_fail = 0;
    w_backoff_ms = 0;
    w_gone_calls = w_gone_recs = 0;
    return w_open_file();
}

const char *gs_writer_path(void)
{
    return w_path;
}

/* the process's unrecorded calls and records so far */
static void w_lost_totals(uint64_t *calls, uint64_t *recs)
{
    pthread_mutex_lock(&w_acct_mu);
    *calls = w_gone_calls;
    *recs = w_gone_recs;
    for (int i = 0; i <= W_ACCTS; i++)
        if (w_accts[i].used || i == W_ACCTS) {
            *calls += __atomic_load_n(&w_accts[i].calls, __ATOMIC_RELAXED);
            *recs += __atomic_load_n(&w_accts[i].records, __ATOMIC_RELAXED);
        }
    pthread_mutex_unlock(&w_acct_mu);
}

uint64_t gs_writer_lost_calls(void)
{
    uint64_t c, r;
    w_lost_totals(&c, &r);
    return c;
}

uint32_t gs_writer_chunk_size(void)
{
    return w_csize;
}

int gs_writer_put_header(const void *buf, size_t len)
{
    if (!w_is_helper || w_fd < 0)
        return -1;
    return w_write_all(buf, len, 0) == 0 ? 0 : -1;
}

/* (on the helper) the ring's first extent, then records are accepted; a
 * ring that cannot be made (no space, the cap) leaves every call counted
 * as lost */
void gs_writer_begin(void)
{
    if (w_is_helper && w_fd >= 0 && !w_nsegs) {
        int r = w_add_extent();
        if (r) {
            pthread_mutex_lock(&w_mu);
            w_note_fail(r);
            pthread_mutex_unlock(&w_mu);
            gs_log("cannot make the trace ring in %s (%s): calls are counted, not recorded", w_path,
                   w_reason_text(r));
        }
    }
    __atomic_store_n(&w_ready, 1, __ATOMIC_RELEASE);
}

/* Every thread's LOST counts and the END (run on the helper by
 * lifecycle.c: the records go to the reserve segment); what the threads
 * wrote stays where it is: the ring is part of the file. */
void gs_writer_end(void)
{
    if (!__atomic_load_n(&w_ready, __ATOMIC_ACQUIRE))
        return;
    struct gs_thread *t = &gs_tls;
    if (t->gen == gs_gen && t->lost)
        w_flush_acct(t->lost);
    for (int i = 0; i <= W_ACCTS; i++)
        if (w_accts[i].used || i == W_ACCTS)
            w_flush_acct(&w_accts[i]);
    struct gs_rec_clock c;
    w_clock_rec(&c, GS_REC_END);
    w_put_final(&c);
    __atomic_store_n(&w_ready, 0, __ATOMIC_RELEASE);
    gs_dbg("ring: %u segments of %u bytes, %llu copied to the file, %llu waits for a free segment",
           w_nsegs, w_csize, (unsigned long long)w_n_drained, (unsigned long long)w_n_waits);
    uint64_t calls, recs;
    w_lost_totals(&calls, &recs);
    if (recs)
        gs_log("%llu calls (%llu records) could not be recorded in %s (%s); the trace says so",
               (unsigned long long)calls, (unsigned long long)recs, w_path,
               w_reason_text(w_fail ? w_fail : GS_LOST_SPACE));
}

void gs_writer_fork_prepare(void)
{
    pthread_mutex_lock(&w_mu);
}

void gs_writer_fork_parent(void)
{
    pthread_mutex_unlock(&w_mu);
}

/* The child has the parent's mappings but none of its threads: forget the
 * parent's file and ring (its segments stay the parent's) before create
 * makes ours. */
void gs_writer_fork_child(void)
{
    pthread_mutex_unlock(&w_mu);
    pthread_mutex_init(&w_mu, NULL);
    pthread_cond_init(&w_cv, NULL);
    pthread_cond_init(&w_free_cv, NULL);
    w_ready = 0;
    w_helper_state = 0;
    w_stop = 0;
    w_call_fn = NULL;
    w_call_seq = w_done_seq = 0;
    w_fd = -1;                          /* a number in the parent helper's table, not ours */
    w_ring_reset();
    memset(w_accts, 0, sizeof w_accts);
    pthread_mutex_init(&w_acct_mu, NULL);
    w_gone_calls = w_gone_recs = 0;
    w_sno = 0;
    struct gs_thread *t = &gs_tls;
    t->chunk = t->cur = t->end = NULL;
    t->lost = NULL;
}
