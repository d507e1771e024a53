/* shim/gs.h - internals shared by the recorder's modules (never installed). */
#ifndef GS_SHIM_H
#define GS_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "greenshim/trace.h"

#define GS_API    __attribute__((visibility("default")))
#define GS_HIDDEN __attribute__((visibility("hidden")))
#define GS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define GS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* log.c: one "greenshim: " line on stderr; never stdout */
GS_HIDDEN void gs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
GS_HIDDEN void gs_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Lines logged on a thread whose descriptor table is the recorder's own
 * (gs_log_defer set) have no stderr there: they wait in a buffer until
 * gs_log_flush, called on a program thread, writes them. */
extern __thread int gs_log_defer __attribute__((tls_model("initial-exec")));
GS_HIDDEN void gs_log_flush(void);
GS_HIDDEN void gs_log_configure(int quiet, int debug);   /* settings.c, once read */
/* A warning about the machine ("no RAPL", "no hardware counters"): printed by
 * the first process of the run that has it, silent in the others (run.c). */
GS_HIDDEN void gs_warn_once(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* settings.c: the one table of GREENSHIM_* variables, read once at load.
 * An invalid value was already reported; the getters then give the default. */
GS_HIDDEN void gs_settings_load(void);
/* the lines about invalid values, each handed to SAY once (lifecycle.c: once per run) */
GS_HIDDEN void gs_settings_report(void (*say)(const char *name, const char *line));
GS_HIDDEN int gs_setting_is_set(const char *name);   /* a valid value was given */
GS_HIDDEN uint64_t gs_setting_uint(const char *name);
GS_HIDDEN double gs_setting_double(const char *name);
GS_HIDDEN int gs_setting_bool(const char *name);
GS_HIDDEN const char *gs_setting_str(const char *name); /* the text, else the default ("" if none) */

/* clock.c: the hot-path clock (rdtsc where invariant, else CLOCK_MONOTONIC) */
GS_HIDDEN uint64_t gs_clock_slow(void);
GS_HIDDEN uint64_t gs_mono_ns(void);
GS_HIDDEN uint64_t gs_real_ns(void);
extern int gs_clock_is_tsc;
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t gs_now(void)
{
    return GS_LIKELY(gs_clock_is_tsc) ? __rdtsc() : gs_clock_slow();
}
#else
static inline uint64_t gs_now(void) { return gs_clock_slow(); }
#endif

/* One entry of a thread's call-shape dictionary (writer.c, trace.h SHAPE) */
#define GS_SHP_N 128
struct gs_shape_ent {
    uint32_t epoch;
    uint16_t id, flags;
    uint32_t region, m, n, k, lda, ldb, ldc;
    uint8_t  op;
};

/* Per-thread state, initial-exec TLS (see core.c). */
struct gs_thread {
    uint8_t *cur, *end;           /* free space in the current chunk */
    int      busy;                /* re-entrancy guard */
    int      gen;                 /* process generation the chunk belongs to */
    int      attached;            /* lifecycle: generation the thread was registered in */
    uint64_t ncalls;              /* intercepted calls recorded by this thread */
    uint32_t tid;
    uint32_t seq;
    uint32_t stream;              /* enum gs_stream */
    uint32_t region_depth;
    uint32_t region_stack[64];
    /* counters (counters.c) */
    int      ctr_state;           /* 0 unopened, 1 open, -1 unavailable */
    int      ctr_fd;               /* group leader */
    int      ctr_fds[GS_MAX_EVENTS];
    void    *ctr_page[GS_MAX_EVENTS]; /* perf mmap pages for rdpmc, or NULL: read() */
    uint32_t ctr_countdown;
    uint8_t  ctr_always[256];     /* per op: last call was long: read every time */
    int      ctr_gated;           /* enabled only around sampled calls */
    uint64_t ctr_base[GS_MAX_EVENTS]; /* gated: the values at the last disable */
    uint64_t ctr_id;              /* perf id of the group leader: is the fd still ours? */
    /* writer (writer.c) */
    uint8_t *chunk;               /* base of the current ring segment, or NULL */
    void    *lost;                /* this thread's count of unrecorded calls */
    uint32_t seg;                 /* index of that segment in the ring */
    uint32_t sno;                 /* this thread's stream number in the process (chunk header) */
    struct gs_shape_ent *shp;     /* the call-shape dictionary (GS_SHP_N entries), or NULL */
    uint32_t shp_epoch;           /* bumped at every new segment: older entries are void */
    uint32_t shp_next;            /* next shape id in the segment */
};
extern __thread struct gs_thread gs_tls __attribute__((tls_model("initial-exec")));
extern int gs_enabled;            /* 1: recording (started); 0: wrappers forward only */
extern int gs_armed;              /* 1: not started yet, starts at the first intercepted call */
extern int gs_gen;                /* bumped in a fork child */

/* lifecycle.c: start-up is lazy.  The constructor only reads the settings;
 * the first intercepted call of a process (gs_recording) starts the writer
 * and every module.  Modules join with GS_MODULE in their own file:
 *   init         at that start (also in a fork child, at its first call)
 *   thread_exit  when a thread that recorded ends (counters: close its fds)
 *   fork_child   in a fork child, at once: drop what belongs to the parent
 *   fini         at exit or before exec, in reverse order
 *   idle_exit    at the exit of a process that never started (no intercepted
 *                call: blas_lib.c says when it loaded a math library all the same)
 * The core calls a module only through this table. */
struct gs_module {
    const char *name;
    void (*init)(void);
    void (*thread_exit)(struct gs_thread *t);
    void (*fork_child)(void);
    void (*fini)(void);
    void (*idle_exit)(void);
};
#define GS_MODULE_IDLE(nm, in, te, fc, fi, ie)                                          \
    static const struct gs_module gs_module_##nm                                      \
        __attribute__((used, section("gs_modules"), aligned(sizeof(void *)))) =        \
        { #nm, in, te, fc, fi, ie }
#define GS_MODULE(nm, in, te, fc, fi) GS_MODULE_IDLE(nm, in, te, fc, fi, NULL)
GS_HIDDEN int gs_start_slow(struct gs_thread *t);
/* Whether an intercepted call on this thread is recorded; starts the
 * recorder at the process's first one. */
static inline int gs_recording(struct gs_thread *t)
{
    if (GS_LIKELY(gs_enabled && !t->busy && t->attached == gs_gen))
        return 1;
    return !t->busy && (gs_enabled || gs_armed) && gs_start_slow(t);
}

/* writer.c: record output.  gs_rec_slot returns the next 48-byte slot(s) of
 * the calling thread's stream (NULL when off or out of space: the slow path
 * counts what was dropped); the caller fills the payload and commits with
 * gs_rec_commit, which stores the type byte.  An intercepted call takes its
 * slots with gs_call_slot, so that a dropped call is counted as a call.
 * The stream is a segment of a reused ring (writer.c): no page fault, no
 * system call, no descriptor on this path. */
#define GS_SLOT_CALL (1u << 24)       /* with a byte count: the request is a call's */
GS_HIDDEN uint8_t *gs_rec_slot_slow(struct gs_thread *t, unsigned req);
static inline uint8_t *gs_rec_bytes(struct gs_thread *t, unsigned bytes, unsigned call)
{
    if (GS_LIKELY(t->gen == gs_gen && t->cur + bytes <= t->end)) {
        uint8_t *p = t->cur;
        t->cur += bytes;
        return p;
    }
    return gs_rec_slot_slow(t, bytes | call);
}
static inline uint8_t *gs_rec_slot(struct gs_thread *t, unsigned nslots)
{
    return gs_rec_bytes(t, nslots * GS_REC_SIZE, 0);
}
static inline uint8_t *gs_call_slot(struct gs_thread *t, unsigned nslots)
{
    return gs_rec_bytes(t, nslots * GS_REC_SIZE, GS_SLOT_CALL);
}
static inline void gs_rec_commit(uint8_t *slot, uint8_t type)
{
    __atomic_store_n(slot, type, __ATOMIC_RELEASE);
}
/* Room for a short call (SHAPE + SCALL) in the thread's segment: 1, or 0
 * when the call could not be recorded (counted lost). */
GS_HIDDEN int gs_call_room_slow(struct gs_thread *t);
/* A call without counters in its short form (trace.h SCALL, 16 bytes; its
 * SHAPE first when the segment's dictionary lacks it).  Returns 0 when the
 * short form cannot say it (a call of 2^32 ticks or more, a full
 * dictionary): the caller writes a CALL record. */
static inline int gs_call_short(struct gs_thread *t, uint8_t op, uint16_t flags, uint32_t region,
                                uint32_t m, uint32_t n, uint32_t k, uint32_t lda, uint32_t ldb,
                                uint32_t ldc, uint64_t t0, uint64_t t1)
{
    uint64_t dt = t1 - t0;
    if (GS_UNLIKELY(dt >> 32))
        return 0;
    if (GS_UNLIKELY(t->gen != gs_gen || t->cur + GS_REC_SIZE + GS_SCALL_SIZE > t->end || !t->shp) &&
        !gs_call_room_slow(t))
        return 1;
    if (GS_UNLIKELY(!t->shp))           /* no dictionary (no memory): a CALL */
        return 0;
    uint32_t h = (m * 0x9e3779b1u) ^ (n * 0x85ebca77u) ^ (k * 0xc2b2ae3du) ^ (lda * 0x27d4eb2fu) ^
                 (region * 0x165667b1u) ^ ((uint32_t)op << 16 | flags) ^ ldb ^ (ldc << 7);
    struct gs_shape_ent *e = &t->shp[(h ^ (h >> 15)) & (GS_SHP_N - 1)];
    uint8_t *p = t->cur;
    if (GS_UNLIKELY(e->epoch != t->shp_epoch || e->m != m || e->n != n || e->k != k || e->op != op ||
                    e->flags != flags || e->region != region || e->lda != lda || e->ldb != ldb ||
                    e->ldc != ldc)) {
        if (GS_UNLIKELY(t->shp_next > 0xffff))
            return 0;
        e->epoch = t->shp_epoch;
        e->id = (uint16_t)t->shp_next++;
        e->op = op; e->flags = flags; e->region = region;
        e->m = m; e->n = n; e->k = k; e->lda = lda; e->ldb = ldb; e->ldc = ldc;
        struct gs_rec_shape *d = (struct gs_rec_shape *)p;
        d->op = op; d->flags = flags; d->region = region; d->id = e->id; d->reserved0 = 0;
        d->m = m; d->n = n; d->k = k; d->lda = lda; d->ldb = ldb; d->ldc = ldc;
        memset(d->reserved, 0, sizeof d->reserved);
        gs_rec_commit(p, GS_REC_SHAPE);
        p += GS_REC_SIZE;
    }
    struct gs_rec_scall *c = (struct gs_rec_scall *)p;
    c->reserved0 = 0;
    c->shape = e->id;
    c->dt = (uint32_t)dt;
    c->t0 = t0;
    gs_rec_commit(p, GS_REC_SCALL);
    t->cur = p + GS_SCALL_SIZE;
    return 1;
}
/* The trace file (writer.c).  Every descriptor of the recorder lives in
 * the table of its helper thread (unshare(CLONE_FILES)), never in the
 * program's: gs_writer_call runs a function on that thread (starting it at
 * the first call; -1 when it cannot run) and returns when it is done, with
 * the lines it logged printed by the caller; threads the helper starts (the
 * sampler) share its table.  create: make the run's directory (run.c names
 * it), this process's file and its ring; put_header: write the 16 KiB
 * header; begin: accept records; end: every thread's LOST counts, then END,
 * then nothing more is recorded; close: the helper gives back the ring's
 * unused space and ends.  fork_prepare/parent/child around fork();
 * fork_child forgets the parent's file (create makes the child's).  All
 * driven by lifecycle.c. */
GS_HIDDEN int  gs_writer_call(void (*fn)(void));
GS_HIDDEN int  gs_writer_on_helper(void);      /* 1 on the helper thread (or one it started) */
GS_HIDDEN int  gs_writer_create(void);
GS_HIDDEN const char *gs_writer_path(void);
GS_HIDDEN uint32_t gs_writer_chunk_size(void);
GS_HIDDEN int  gs_writer_put_header(const void *buf, size_t len);
GS_HIDDEN void gs_writer_begin(void);
GS_HIDDEN void gs_writer_end(void);
GS_HIDDEN void gs_writer_close(void);
GS_HIDDEN void gs_writer_fork_prepare(void);
GS_HIDDEN void gs_writer_fork_parent(void);
GS_HIDDEN void gs_writer_fork_child(void);
/* Convenience for non-hot paths: copy a whole 48-byte record (type in byte 0). */
GS_HIDDEN void gs_emit(const void *rec);
/* Header text: add "key: value" lines during start-up (module init); the
 * header is written again once every module has started (lifecycle.c). */
GS_HIDDEN void gs_header_add(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern uint32_t gs_sources;       /* GS_SRC_* bits for the header */
GS_HIDDEN void gs_emit_string(int kind, uint32_t id, const char *s);
GS_HIDDEN void gs_emit_clock_point(void);
GS_HIDDEN uint64_t gs_writer_lost_calls(void);  /* calls not recorded, this process */
/* core.c: this process's header (fixed fields + text); lifecycle.c writes
 * its image through the writer */
GS_HIDDEN void gs_header_begin(uint64_t tsc_hz, uint32_t chunk_size, const char *path);
GS_HIDDEN void gs_header_set_nevents(uint32_t n);
GS_HIDDEN void gs_header_image(uint8_t *buf);  /* GS_HEADER_SIZE bytes */

/* counters.c */
GS_HIDDEN void gs_counters_init(void);        /* encode events, probe, header lines */
GS_HIDDEN int  gs_counters_open_thread(struct gs_thread *t);
/* Around a sampled call: begin gives the values before it, end after it.
 * Groups read with read() are enabled only between the two, so a thread
 * pays nothing for counting (context-switch bookkeeping) between sampled
 * calls; rdpmc groups count all the time, reading them costs nanoseconds. */
GS_HIDDEN void gs_counters_begin(struct gs_thread *t, uint64_t *vals);
GS_HIDDEN void gs_counters_end(struct gs_thread *t, uint64_t *vals);
GS_HIDDEN void gs_counters_close_thread(struct gs_thread *t);
GS_HIDDEN void gs_counters_atfork_child(void);
extern int gs_nevents;
extern uint64_t gs_ctr_long_ticks;            /* calls at least this long: always read */
extern uint32_t gs_ctr_sample_every;          /* tiny calls: 1 in N */

/* blas.c: GREENSHIM_NATIVE (0: BLAS and oneDNN wrappers only forward), and
 * a call recorded from above BLAS (aten.c) */
extern int gs_native;
extern __thread int gs_probe_on __attribute__((tls_model("initial-exec")));
extern __thread unsigned gs_probe_hits __attribute__((tls_model("initial-exec")));
GS_HIDDEN void gs_blas_record_call(struct gs_thread *t, uint8_t op, uint16_t flags, int64_t m, int64_t n,
                                   int64_t k, int64_t lda, int64_t ldb, int64_t ldc, uint64_t t0, uint64_t t1);
/* dnnl.c: a oneDNN-like primitive execution recorded from above oneDNN (aten.c) */
extern __thread uint64_t gs_dnnl_execs __attribute__((tls_model("initial-exec")));
GS_HIDDEN void gs_dnnl_record(struct gs_thread *t, struct gs_rec_dnnl_prim *d, uint64_t t0, uint64_t t1,
                              uint8_t flags);


/* sampler.c drives the energy sources (sources/source.h: GS_SOURCE); it
 * is a module (GS_MODULE) like counters.c and regions.c.  At a region
 * boundary, a rate-limited read of the measured domains on the calling
 * thread (regions.c). */
GS_HIDDEN void gs_sampler_boundary(void);

#endif
