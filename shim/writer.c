/* writer.c - the trace file: its directory and name, per-thread chunk
 * streams, the records the recorder could not write (LOST) and the END.
 * It calls nothing back into other modules.
 *
 * One file per process.  Each thread owns a chunk of it at a time, mapped
 * MAP_SHARED: a record is in the page cache as soon as it is stored, so a
 * crash or SIGKILL loses nothing already recorded.
 *
 * The hot path never faults and never makes a system call in steady state
 * (measured, docs/recorder.md): a preparer thread extends the file by
 * writing zeros for the next chunks (pwrite puts the pages in the page cache
 * and reserves their space, so a full disk is an error here, never a SIGBUS
 * in the host), maps them and pre-faults them (MADV_POPULATE_WRITE); a
 * thread whose chunk is full takes a prepared one from a small pool under a
 * mutex and hands the full one back to be unmapped.  Only when the pool is
 * empty does the thread prepare a chunk itself (by path, the file's
 * identity checked before each use).
 *
 * Guest manners: no descriptor in the program's table.  The preparer keeps
 * its descriptor in a table of its own (unshare(CLONE_FILES)); program
 * threads open the file by path (O_NOFOLLOW) and check its identity (device,
 * inode) before each use, so a program that closes every descriptor or
 * reuses numbers never gets our writes.  Files are 0600 and directories 0700
 * whatever the umask.
 *
 * Out of space or over the cap (GREENSHIM_MAX_MB): the thread keeps
 * running at full speed; the slow path backs off (the cap: for good; no
 * space: retried after 10 ms doubling to 1 s) and counts each dropped call
 * and record per thread.  Every chunk keeps two slots and the process one
 * reserve chunk, taken with the first chunk, so that the LOST counts and
 * the END always reach the file. */
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

#define W_POOL_MAX   8              /* prepared chunks at most */
#define W_RETIRED    64             /* full chunks waiting to be unmapped */
#define W_ACCTS      512            /* threads with their own lost counts */
#define W_FINAL_SLOTS 2             /* kept free at the end of every chunk */
#define W_RSV_SEQ    0x7fffffffu    /* reserve chunk sorts after the owner's */

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

static char w_path[PATH_MAX];
static char w_dir[PATH_MAX];
static dev_t w_dev;
static ino_t w_ino;
static int w_ready;                     /* file made and header written */
static uint32_t w_csize = GS_CHUNK_SIZE;
static uint64_t w_cap;                  /* file size cap in bytes, 0 none */

/* file extent: chunk indices handed out; held while extending the file */
static pthread_mutex_t w_file_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t w_nchunks;
static uint32_t w_rsv_idx = UINT32_MAX; /* the reserve chunk */

/* pool of prepared chunks and full ones to unmap; short critical sections */
static pthread_mutex_t w_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t w_pool_cv = PTHREAD_COND_INITIALIZER;
static uint8_t *w_pool[W_POOL_MAX];
static uint32_t w_pool_idx[W_POOL_MAX];
static int w_npool, w_pool_target = 2;
static uint8_t *w_retired[W_RETIRED];
static int w_nretired;
static uint8_t *w_rsv;                  /* the reserve chunk, mapped when used */
static uint32_t w_rsv_used;             /* slots used in it */

/* failure state: why the trace cannot grow, and when to try again */
static int w_fail;                      /* enum gs_lost_reason, 0 none */
static uint64_t w_retry_ns;
static unsigned w_backoff_ms;

static struct w_acct w_accts[W_ACCTS + 1]; /* the last one is shared */
static pthread_mutex_t w_acct_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t w_gone_calls, w_gone_recs;  /* of accounts given back at thread exit */

static uint64_t w_n_pool, w_n_self;      /* chunks taken prepared / made by the thread */
static pthread_t w_prep;
static int w_prep_running, w_prep_stop;
/* The preparer's own descriptor table (unshare(CLONE_FILES)): the program
 * can neither close nor see the trace descriptor it keeps there. */
static __thread int w_is_prep __attribute__((tls_model("initial-exec")));
static int w_prep_fd = -1;
static uint8_t *w_rsv_map;              /* the reserve chunk, mapped when reserved */
static pthread_cond_t w_got_cv = PTHREAD_COND_INITIALIZER; /* the preparer added a chunk */
static pthread_key_t w_key;
static int w_key_made;

static const char *w_reason_text(int r)
{
    switch (r) {
    case GS_LOST_SPACE: return "no space left on the file system";
    case GS_LOST_CAP:   return "the size cap GREENSHIM_MAX_MB";
    case GS_LOST_IO:    return "I/O error or the trace file is gone";
    case GS_LOST_MEM:   return "out of memory";
    default:            return "unknown";
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

/* ---- the file, by path ---- */

/* Open the trace file again, checking it is still ours. */
static int w_open(void)
{
    int fd = open(w_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_dev != w_dev || st.st_ino != w_ino) {
        close(fd);
        errno = ESTALE;
        return -1;
    }
    return fd;
}

/* Is fd still the trace file?  Program threads share their descriptor table
 * with the program, which may close and reuse any number at any time: check
 * just before each use (the preparer's private descriptor needs no check). */
static int w_still(int fd)
{
    if (w_is_prep && fd == w_prep_fd)
        return 1;
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == w_dev && st.st_ino == w_ino;
}

static int w_fd_get(void)
{
    return w_is_prep && w_prep_fd >= 0 ? w_prep_fd : w_open();
}

/* Close our descriptor - unless the program closed it meanwhile and the
 * number is now one of its own files. */
static void w_fd_put(int fd)
{
    if (!(w_is_prep && fd == w_prep_fd) && w_still(fd))
        close(fd);
}

static int w_errno_reason(int e)
{
    if (e == ENOSPC || e == EDQUOT)
        return GS_LOST_SPACE;
    if (e == ENOMEM)
        return GS_LOST_MEM;
    return GS_LOST_IO;
}

/* zeros written through the page cache: space reserved, pages present */
static int w_zero(int fd, off_t off, size_t len)
{
    static const uint8_t zeros[65536];
    while (len) {
        size_t n = len < sizeof zeros ? len : sizeof zeros;
        if (!w_still(fd))
            return ESTALE;
        ssize_t w = pwrite(fd, zeros, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : ENOSPC;
        off += w;
        len -= (size_t)w;
    }
    return 0;
}

static void w_note_fail(int reason)
{
    uint64_t now = w_coarse_ns();
    if (reason == GS_LOST_CAP) {
        w_fail = reason;                /* for good */
        return;
    }
    w_backoff_ms = w_backoff_ms ? (w_backoff_ms * 2 > 1000 ? 1000 : w_backoff_ms * 2) : 10;
    w_retry_ns = now + (uint64_t)w_backoff_ms * 1000000ull;
    __atomic_store_n(&w_fail, reason, __ATOMIC_RELEASE);
}

static int w_failing(void)
{
    int f = __atomic_load_n(&w_fail, __ATOMIC_ACQUIRE);
    return f && (f == GS_LOST_CAP || w_coarse_ns() < w_retry_ns);
}

static off_t w_off(uint32_t idx)
{
    return (off_t)GS_HEADER_SIZE + (off_t)idx * w_csize;
}

/* Take the next chunk index (w_file_mu held only for that, so that a
 * preparer descheduled in the middle of its writes never blocks a program
 * thread) and give it space in the file.  Returns its mapping, or NULL
 * with *reason set. */
static uint8_t *w_extend(uint32_t *idx, int *reason)
{
    int fd = w_fd_get();
    if (fd < 0) {
        *reason = GS_LOST_IO;
        return NULL;
    }
    pthread_mutex_lock(&w_file_mu);
    if (w_cap && (uint64_t)w_off(w_nchunks + 1) > w_cap) {
        pthread_mutex_unlock(&w_file_mu);
        w_fd_put(fd);
        *reason = GS_LOST_CAP;
        return NULL;
    }
    /* the file's size grows by whole chunks at once, so that a SIGKILL in
     * the middle of the writes below never leaves a file that ends inside
     * a chunk (readers would call it truncated) */
    uint32_t i = w_nchunks;
    int err = 0;
    if (!w_still(fd))
        err = ESTALE;
    else if (ftruncate(fd, w_off(i + 1)) != 0)
        err = errno;
    if (!err)
        w_nchunks++;
    pthread_mutex_unlock(&w_file_mu);
    off_t off = w_off(i);
    if (err) {
        w_fd_put(fd);
        *reason = w_errno_reason(err);
        return NULL;
    }
    err = w_zero(fd, off, w_csize);
    if (err) {
        /* the file's last chunk gives back what was written; one in the
         * middle stays zeros, which readers skip */
        pthread_mutex_lock(&w_file_mu);
        if (w_nchunks == i + 1) {
            if (w_still(fd) && ftruncate(fd, off) != 0) { /* zeros are skipped */ }
            w_nchunks = i;
        }
        pthread_mutex_unlock(&w_file_mu);
        w_fd_put(fd);
        *reason = w_errno_reason(err);
        return NULL;
    }
    uint8_t *base = w_still(fd) ? mmap(NULL, w_csize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off) : MAP_FAILED;
    if (base != MAP_FAILED && !w_still(fd)) {   /* the number changed hands meanwhile */
        munmap(base, w_csize);
        base = MAP_FAILED;
    }
    w_fd_put(fd);
    if (base == MAP_FAILED) {
        *reason = GS_LOST_MEM;          /* zeros on disk: skipped by readers */
        return NULL;
    }
    *idx = i;
    return base;
}

/* The process's reserve chunk comes with its first chunk: it holds the
 * LOST and END records of threads that have no room of their own. */
static void w_reserve_locked(void)
{
    if (w_rsv_idx != UINT32_MAX)
        return;
    int fd = w_fd_get();
    if (fd < 0)
        return;
    if (!w_still(fd) || ftruncate(fd, w_off(w_nchunks + 1)) != 0) {   /* whole chunks only */
        w_fd_put(fd);
        return;
    }
    if (w_zero(fd, w_off(w_nchunks), w_csize) == 0) {
        uint8_t *b = w_still(fd) ? mmap(NULL, w_csize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, w_off(w_nchunks))
                                 : MAP_FAILED;
        if (b != MAP_FAILED && !w_still(fd)) {
            munmap(b, w_csize);
            b = MAP_FAILED;
        }
        w_rsv_map = b == MAP_FAILED ? NULL : b;
        w_rsv_idx = w_nchunks++;
    } else if (w_still(fd) && ftruncate(fd, w_off(w_nchunks)) != 0) { /* zeros are skipped */ }
    w_fd_put(fd);
}

/* A prepared chunk, or NULL; counts failures into the backoff. */
static uint8_t *w_new_chunk(uint32_t *idx, int populate, int *reason)
{
    if (__atomic_load_n(&w_rsv_idx, __ATOMIC_ACQUIRE) == UINT32_MAX) {
        pthread_mutex_lock(&w_file_mu);
        w_reserve_locked();             /* once: the first chunk of the process */
        pthread_mutex_unlock(&w_file_mu);
    }
    uint8_t *base = w_extend(idx, reason);
    if (!base) {
        pthread_mutex_lock(&w_pool_mu);
        w_note_fail(*reason);
        pthread_mutex_unlock(&w_pool_mu);
        return NULL;
    }
    if (populate)
        madvise(base, w_csize, MADV_POPULATE_WRITE); /* best effort: a fault later otherwise */
    return base;
}

/* ---- the preparer thread ---- */

static void w_release_unused(void);

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static void *w_prep_main(void *arg)
{
    (void)arg;
    gs_tls.busy = 1;                    /* BLAS called from here is not the program's */
    w_is_prep = 1;
    /* a descriptor table of its own, emptied of the program's descriptors
     * (an extra reference to a pipe would keep its reader from EOF) */
    if (unshare(CLONE_FILES) == 0) {
        if (syscall(SYS_close_range, 0u, ~0u, 0u) != 0)
            for (int fd = 0; fd < 65536; fd++)
                close(fd);
        w_prep_fd = w_open();
    }
    pthread_mutex_lock(&w_pool_mu);
    for (;;) {
        while (!w_prep_stop && w_nretired == 0 && (w_npool >= w_pool_target || w_failing())) {
            if (w_fail && w_fail != GS_LOST_CAP) {
                struct timespec ts;     /* the condition variable's clock */
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 100000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&w_pool_cv, &w_pool_mu, &ts);
            } else {
                pthread_cond_wait(&w_pool_cv, &w_pool_mu);
            }
        }
        if (w_prep_stop)
            break;
        uint8_t *old[W_RETIRED];
        int nold = w_nretired;
        memcpy(old, w_retired, sizeof(*old) * (size_t)nold);
        w_nretired = 0;
        int want = w_npool < w_pool_target && !w_failing();
        pthread_mutex_unlock(&w_pool_mu);
        for (int i = 0; i < nold; i++)
            munmap(old[i], w_csize);
        uint8_t *base = NULL;
        uint32_t idx = 0;
        int reason = 0;
        if (want)
            base = w_new_chunk(&idx, 1, &reason);
        pthread_mutex_lock(&w_pool_mu);
        if (base) {
            w_fail = 0;
            w_backoff_ms = 0;
            if (w_npool < W_POOL_MAX) {
                w_pool[w_npool] = base;
                w_pool_idx[w_npool++] = idx;
                pthread_cond_broadcast(&w_got_cv);
            } else {
                munmap(base, w_csize);  /* zeros: skipped by readers */
            }
        }
        if (want && !base)
            pthread_cond_broadcast(&w_got_cv);  /* failed: waiters count their records lost */
    }
    pthread_cond_broadcast(&w_got_cv);
    pthread_mutex_unlock(&w_pool_mu);
    w_release_unused();
    if (w_prep_fd >= 0)
        close(w_prep_fd);
    w_prep_fd = -1;
    return NULL;
}

static void w_prep_start(void)
{
    if (w_prep_running)
        return;
    w_prep_stop = 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* no signals for it */
    int r = pthread_create(&w_prep, NULL, w_prep_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r == 0)
        w_prep_running = 1;
    else
        w_prep_running = -1;            /* threads prepare their own chunks */
}

static void w_prep_halt(void)
{
    if (w_prep_running != 1)
        return;
    pthread_mutex_lock(&w_pool_mu);
    w_prep_stop = 1;
    pthread_cond_signal(&w_pool_cv);
    pthread_mutex_unlock(&w_pool_mu);
    pthread_join(w_prep, NULL);
    w_prep_running = 0;
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

static void w_count_lost(struct gs_thread *t, unsigned nslots, int call, int reason)
{
    struct w_acct *a = w_acct_of(t);
    int shared = a == &w_accts[W_ACCTS];
    if (!__atomic_load_n(&a->t_first, __ATOMIC_RELAXED))
        __atomic_store_n(&a->t_first, gs_now(), __ATOMIC_RELAXED);
    if (!a->reason)
        a->reason = (uint8_t)reason;
    if (call)
        w_bump(&a->calls, 1, shared);
    w_bump(&a->records, nslots, shared);
    /* said once, with the exact counts, when the trace ends (gs_writer_end) */
}

static void w_thread_exit(void *arg);

static void w_retire(uint8_t *base)
{
    pthread_mutex_lock(&w_pool_mu);
    if (w_nretired < W_RETIRED && w_prep_running == 1) {
        w_retired[w_nretired++] = base;
        base = NULL;
    }
    pthread_mutex_unlock(&w_pool_mu);
    if (base)
        munmap(base, w_csize);
}

static void w_take(struct gs_thread *t, uint8_t *base)
{
    struct gs_chunk_header *ch = (struct gs_chunk_header *)base;
    ch->tid = t->tid;
    ch->seq = t->seq++;
    ch->stream = t->stream;
    ch->first_tsc = gs_now();
    __atomic_store_n(&ch->magic, GS_CHUNK_MAGIC, __ATOMIC_RELEASE);
    t->chunk = base;
    t->cur = base + GS_REC_SIZE;
    t->end = base + w_csize - W_FINAL_SLOTS * GS_REC_SIZE;
}

uint8_t *gs_rec_slot_slow(struct gs_thread *t, unsigned req)
{
    unsigned nslots = req & 0xffffu;
    int call = (req & GS_SLOT_CALL) != 0;
    if (!__atomic_load_n(&w_ready, __ATOMIC_ACQUIRE))
        return NULL;
    if (t->gen != gs_gen) {             /* first use, or inherited over fork */
        t->gen = gs_gen;
        t->tid = w_gettid();
        t->seq = 0;
        t->cur = t->end = t->chunk = NULL;
        t->lost = NULL;
        if (!t->stream)
            t->stream = GS_STREAM_THREAD;
        if (w_key_made)
            pthread_setspecific(w_key, (void *)1);
    }
    if ((nslots + 1 + W_FINAL_SLOTS) * GS_REC_SIZE > w_csize) {
        w_count_lost(t, nslots, call, GS_LOST_MEM);
        return NULL;
    }
    if (w_failing()) {
        w_count_lost(t, nslots, call, __atomic_load_n(&w_fail, __ATOMIC_RELAXED));
        return NULL;
    }
    /* a prepared chunk; when there is none (the preparer fell behind, or
     * this is the process's first), prepare one here: waiting for a
     * preparer starved of CPU costs milliseconds on a busy machine */
    uint8_t *base = NULL;
    int from_pool = 0;
    pthread_mutex_lock(&w_pool_mu);
    if (w_prep_running == 0)
        w_prep_start();
    if (w_npool > 0) {
        base = w_pool[--w_npool];
        from_pool = 1;
    } else if (w_prep_running == 1 && w_pool_target < W_POOL_MAX && w_n_pool + w_n_self > 0 && !w_cap) {
        w_pool_target++;                /* the preparer fell behind: look further ahead (not
                                         * under a cap: chunks prepared ahead take its room) */
    }
    /* the recorder's own threads (the sampler) are not in a hurry: they
     * wait for the preparer (up to 200 ms), so that no descriptor of ours
     * ever appears in the program's table while the program runs */
    if (!base && t->stream != GS_STREAM_THREAD && w_prep_running == 1) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_signal(&w_pool_cv);
        while (w_npool == 0 && w_prep_running == 1 && !w_prep_stop && !w_failing() &&
               pthread_cond_timedwait(&w_got_cv, &w_pool_mu, &until) == 0)
            ;
        if (w_npool > 0) {
            base = w_pool[--w_npool];
            from_pool = 1;
        }
    }
    int wake = w_prep_running == 1 && w_npool < w_pool_target;
    pthread_mutex_unlock(&w_pool_mu);
    if (wake)
        pthread_cond_signal(&w_pool_cv);
    __atomic_fetch_add(from_pool ? &w_n_pool : &w_n_self, 1, __ATOMIC_RELAXED);
    if (!base) {
        uint32_t idx;
        int reason = 0;
        base = w_new_chunk(&idx, 0, &reason);
        if (!base) {
            w_count_lost(t, nslots, call, reason);
            return NULL;
        }
        __atomic_store_n(&w_fail, 0, __ATOMIC_RELEASE);
    }
    if (t->chunk)
        w_retire(t->chunk);
    w_take(t, base);
    uint8_t *p = t->cur;
    t->cur += nslots * GS_REC_SIZE;
    return p;
}

/* Write one record that must reach the file (LOST, END): into the calling
 * thread's chunk, its two kept slots included, else the reserve chunk. */
static void w_put_final(const void *rec)
{
    struct gs_thread *t = &gs_tls;
    uint8_t *s = NULL;
    if (t->gen == gs_gen && t->chunk && t->cur + GS_REC_SIZE <= t->chunk + w_csize) {
        s = t->cur;
        t->cur += GS_REC_SIZE;
    } else {
        /* mapped when it was reserved: no descriptor needed here */
        pthread_mutex_lock(&w_pool_mu);
        if (!w_rsv && w_rsv_map) {
            uint8_t *b = w_rsv_map;
            struct gs_chunk_header *ch = (struct gs_chunk_header *)b;
            ch->tid = t->gen == gs_gen && t->tid ? t->tid : w_gettid();
            ch->seq = W_RSV_SEQ;
            ch->stream = GS_STREAM_THREAD;
            ch->first_tsc = gs_now();
            __atomic_store_n(&ch->magic, GS_CHUNK_MAGIC, __ATOMIC_RELEASE);
            w_rsv = b;
            w_rsv_used = 1;
        }
        if (w_rsv && (w_rsv_used + 1) * GS_REC_SIZE <= w_csize)
            s = w_rsv + GS_REC_SIZE * w_rsv_used++;
        pthread_mutex_unlock(&w_pool_mu);
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
    if (t->chunk)
        w_retire(t->chunk);
    t->chunk = t->cur = t->end = NULL;
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
    w_pool_target = 2;
    w_csize = GS_CHUNK_SIZE;
    uint64_t mb = gs_setting_uint("GREENSHIM_MAX_MB");   /* checked in settings.c */
    if (!mb)
        return;
    w_cap = mb << 20;
    w_pool_target = 1;
    /* room for at least 14 chunks under the cap: header, reserve, data */
    while (w_csize > 16384 && (uint64_t)w_csize * 16 > w_cap)
        w_csize /= 2;
}

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
    struct stat st;
    if (fchmod(fd, 0600) != 0 || fstat(fd, &st) != 0) {
        gs_log("cannot set up trace file %s (%s): recording is off", w_path, strerror(errno));
        close(fd);
        unlink(w_path);
        return -1;
    }
    w_dev = st.st_dev;
    w_ino = st.st_ino;
    int err = !w_still(fd) ? ESTALE : ftruncate(fd, GS_HEADER_SIZE) != 0 ? errno : w_zero(fd, 0, GS_HEADER_SIZE);
    w_fd_put(fd);
    if (err) {
        gs_log("cannot write trace file %s (%s): recording is off", w_path, strerror(err));
        unlink(w_path);
        return -1;
    }
    return 0;
}

int gs_writer_create(void)
{
    if (!w_dir[0] && w_pick_dir() != 0)
        return -1;
    w_read_cap();
    if (!w_key_made && pthread_key_create(&w_key, w_thread_exit) == 0)
        w_key_made = 1;
    w_nchunks = 0;
    w_rsv_idx = UINT32_MAX;
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
    int fd = w_open();
    if (fd < 0)
        return -1;
    ssize_t w = w_still(fd) ? pwrite(fd, buf, len, 0) : -1;
    w_fd_put(fd);
    return w == (ssize_t)len ? 0 : -1;
}

void gs_writer_begin(void)
{
    __atomic_store_n(&w_ready, 1, __ATOMIC_RELEASE);
}

/* Give back the space of prepared chunks nobody used. */
static void w_release_unused(void)
{
    int fd = w_fd_get();
    pthread_mutex_lock(&w_file_mu);
    pthread_mutex_lock(&w_pool_mu);
    uint32_t top = w_nchunks;
    for (int i = 0; i < w_npool; i++) {
        munmap(w_pool[i], w_csize);
        if (fd >= 0 && w_still(fd) && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, w_off(w_pool_idx[i]),
                                 w_csize) != 0) { /* zeros stay: skipped by readers */ }
    }
    for (int i = 0; i < w_nretired; i++)
        munmap(w_retired[i], w_csize);
    w_nretired = 0;
    /* the file ends at the last chunk that holds data */
    while (top > 0) {
        uint32_t idx = top - 1;
        int unused = idx == w_rsv_idx && !w_rsv;
        for (int i = 0; i < w_npool && !unused; i++)
            unused = w_pool_idx[i] == idx;
        if (!unused)
            break;
        top--;
    }
    w_npool = 0;
    if (fd >= 0 && top < w_nchunks && w_still(fd) && ftruncate(fd, w_off(top)) == 0)
        w_nchunks = top;
    if (fd >= 0 && !w_rsv && w_rsv_idx < w_nchunks && w_still(fd) &&
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, w_off(w_rsv_idx), w_csize) != 0) { }
    if (w_rsv_map)
        munmap(w_rsv_map, w_csize);
    w_rsv_map = w_rsv = NULL;
    pthread_mutex_unlock(&w_pool_mu);
    pthread_mutex_unlock(&w_file_mu);
    if (fd >= 0)
        w_fd_put(fd);
}

void gs_writer_end(void)
{
    if (!__atomic_load_n(&w_ready, __ATOMIC_ACQUIRE))
        return;
    /* every thread's counts: this one's first, then those that did not
     * exit through pthread (still running, or never seen to end) */
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
    if (w_prep_running == 1)
        w_prep_halt();                  /* it gives back the unused space */
    else
        w_release_unused();
    gs_dbg("chunks: %llu prepared ahead, %llu made by the writing thread",
           (unsigned long long)w_n_pool, (unsigned long long)w_n_self);
    uint64_t calls, recs;
    w_lost_totals(&calls, &recs);
    if (recs)
        gs_log("%llu calls (%llu records) could not be recorded in %s (%s); the trace says so",
               (unsigned long long)calls, (unsigned long long)recs, w_path,
               w_reason_text(w_fail ? w_fail : GS_LOST_SPACE));
}

void gs_writer_fork_prepare(void)
{
    pthread_mutex_lock(&w_file_mu);
    pthread_mutex_lock(&w_pool_mu);
}

void gs_writer_fork_parent(void)
{
    pthread_mutex_unlock(&w_pool_mu);
    pthread_mutex_unlock(&w_file_mu);
}

/* The child has the parent's mappings but none of its threads: forget the
 * parent's file (its chunks stay the parent's) before create makes ours. */
void gs_writer_fork_child(void)
{
    pthread_mutex_unlock(&w_pool_mu);
    pthread_mutex_unlock(&w_file_mu);
    pthread_mutex_init(&w_pool_mu, NULL);
    pthread_mutex_init(&w_file_mu, NULL);
    pthread_cond_init(&w_pool_cv, NULL);
    w_ready = 0;
    w_prep_running = 0;
    w_prep_stop = 0;
    for (int i = 0; i < w_npool; i++)
        munmap(w_pool[i], w_csize);
    for (int i = 0; i < w_nretired; i++)
        munmap(w_retired[i], w_csize);
    if (w_rsv_map)
        munmap(w_rsv_map, w_csize);
    w_npool = w_nretired = 0;
    w_rsv = w_rsv_map = NULL;
    w_prep_fd = -1;                     /* a number in the preparer's table, not ours */
    pthread_cond_init(&w_got_cv, NULL);
    w_rsv_used = 0;
    memset(w_accts, 0, sizeof w_accts);
    pthread_mutex_init(&w_acct_mu, NULL);
    w_gone_calls = w_gone_recs = 0;
    struct gs_thread *t = &gs_tls;
    if (t->chunk)
        munmap(t->chunk, w_csize);
    t->chunk = t->cur = t->end = NULL;
    t->lost = NULL;
}
