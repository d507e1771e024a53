/* nccl_plugin.c - the shim as NCCL's profiler plugin (NCCL >= 2.23 loads
 * the library NCCL_PROFILER_PLUGIN names and looks up ncclProfiler_v<N>,
 * newest first).  At start-up the shim sets NCCL_PROFILER_PLUGIN to its own
 * path unless the user set it (then it is left alone, and the first NCCL
 * communicator says so in one line) or GREENSHIM_NCCL_PLUGIN=0, as cupti.c
 * does for CUDA and NVTX injection.
 *
 * Exported: ncclProfiler_v7, _v6, _v5 (one table: the API events, a
 * collective or point-to-point call from the program's ncclAllReduce entry
 * to its return) and ncclProfiler_v4 (older NCCL: collective and p2p tasks,
 * stamped around their plan's kernel launch; the tasks of one plan split
 * that time in the order they stop).  Each event becomes the same COMM
 * record nccl.c's interposers write - name, bytes (count x the type's size),
 * communicator size, a key from NCCL's commHash, the n-th collective of that
 * communicator - with GS_COMM_F_ASYNC (NCCL only enqueues) and
 * GS_COMM_F_PLUGIN.  While the plugin is live the interposers forward
 * without recording, so a call is counted once.  The descriptors' layouts:
 * nccl_profiler.h.  Needs no NCCL header and links nothing of NCCL. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../gs.h"
#include "comm.h"
#include "nccl_profiler.h"

GS_HIDDEN int gs_nccl_plugin_on;
GS_HIDDEN __thread int gs_nccl_in_call __attribute__((tls_model("initial-exec")));
GS_HIDDEN __thread int32_t gs_nccl_call_peer __attribute__((tls_model("initial-exec")));

static char gs_np_self[PATH_MAX];
static char gs_np_user[PATH_MAX];       /* the user's NCCL_PROFILER_PLUGIN, "" when ours or unset */

__attribute__((constructor(102)))
static void gs_np_env(void)
{
    if (!gs_armed && !gs_enabled)
        return;
    const char *u = getenv("NCCL_PROFILER_PLUGIN");
    Dl_info di;
    if (!dladdr((void *)gs_np_env, &di) || !di.dli_fname || !realpath(di.dli_fname, gs_np_self))
        gs_np_self[0] = 0;
    if (u && *u) {
        char r[PATH_MAX];
        if (!gs_np_self[0] || !realpath(u, r) || strcmp(r, gs_np_self) != 0)
            snprintf(gs_np_user, sizeof gs_np_user, "%s", u);
        return;
    }
    if (gs_np_self[0] && gs_setting_bool("GREENSHIM_NCCL_PLUGIN"))
        setenv("NCCL_PROFILER_PLUGIN", gs_np_self, 1);
}

const char *gs_nccl_plugin_user(void)
{
    return gs_np_user[0] ? gs_np_user : NULL;
}

/* ---- names and sizes as NCCL spells them (ncclFuncToString, ncclDatatypeToString) ---- */
static uint8_t gs_np_fn(const char *f)
{
    static const struct { const char *name; uint8_t fn; } t[] = {
        { "AllReduce", GS_CF_ALLREDUCE }, { "Reduce", GS_CF_REDUCE }, { "Broadcast", GS_CF_BCAST },
        { "AllGather", GS_CF_ALLGATHER }, { "ReduceScatter", GS_CF_REDUCE_SCATTER },
        { "AlltoAll", GS_CF_ALLTOALL }, { "Gather", GS_CF_GATHER }, { "Scatter", GS_CF_SCATTER },
        { "Send", GS_CF_SEND }, { "Recv", GS_CF_RECV }, { "SendRecv", GS_CF_SENDRECV },
    };
    for (size_t i = 0; f && i < sizeof t / sizeof *t; i++)
        if (strcmp(f, t[i].name) == 0)
            return t[i].fn;
    return GS_CF_NONE;                  /* recorded as "comm?": counted, not lost */
}

static unsigned gs_np_tsize(const char *d)
{
    static const struct { const char *name; uint8_t size; } t[] = {
        { "ncclFloat32", 4 }, { "ncclFloat16", 2 }, { "ncclBfloat16", 2 }, { "ncclFloat64", 8 },
        { "ncclInt32", 4 }, { "ncclUint32", 4 }, { "ncclInt64", 8 }, { "ncclUint64", 8 },
        { "ncclInt8", 1 }, { "ncclUint8", 1 }, { "ncclFloat8e4m3", 1 }, { "ncclFloat8e5m2", 1 },
    };
    for (size_t i = 0; d && i < sizeof t / sizeof *t; i++)
        if (strcmp(d, t[i].name) == 0)
            return t[i].size;
    return 0;                           /* "Unknown" (NCCL names ncclUint8 so): bytes 0 */
}

/* bytes of the call as nccl.c counts them: the per-rank count times the
 * communicator size where the operation's buffer is the whole of them */
static uint64_t gs_np_bytes(uint8_t fn, size_t count, const char *dt, uint32_t nranks)
{
    uint64_t b = (uint64_t)count * gs_np_tsize(dt);
    switch (fn) {
    case GS_CF_ALLGATHER: case GS_CF_REDUCE_SCATTER: case GS_CF_ALLTOALL: case GS_CF_GATHER: case GS_CF_SCATTER:
        return b * nranks;
    default:
        return b;
    }
}

/* ---- communicators: one context each ---- */
struct gs_np_ctx {
    uint32_t key, nranks, seq;
    int      version;
};

static uint32_t gs_np_key(uint64_t commHash)
{
    uint32_t h = gs_comm_hash(gs_comm_hash(GS_COMM_HASH0, (uint32_t)commHash), (uint32_t)(commHash >> 32));
    return h >= UINT32_MAX - 1 ? 1 : h;
}

static gs_ncclResult gs_np_init(void **context, int *mask, uint64_t commHash, int nranks, int version)
{
    *context = NULL;
    *mask = 0;
    /* recorder off in this process: no events (NCCL's own line about a failed init spared) */
    if ((!gs_armed && !gs_enabled) || !gs_setting_bool("GREENSHIM_NCCL_PLUGIN"))
        return 0;
    struct gs_np_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return 0;
    c->key = gs_np_key(commHash);
    c->nranks = nranks > 0 ? (uint32_t)nranks : 0;
    c->version = version;
    *context = c;
    *mask = version >= 5 ? GS_NCCLP_COLL_API | GS_NCCLP_P2P_API : GS_NCCLP_COLL | GS_NCCLP_P2P;
    if (!__atomic_exchange_n(&gs_nccl_plugin_on, 1, __ATOMIC_ACQ_REL))
        gs_dbg("NCCL loaded the shim as its profiler plugin (ncclProfiler_v%d): NCCL calls recorded through it", version);
    return 0;
}

static gs_ncclResult gs_np_fini(void *context)
{
    free(context);
    return 0;
}

/* ---- events: a slot per open event (per thread; the heap past that) ---- */
struct gs_np_ev {
    struct gs_comm_call cc;
    uint64_t t0;
    int      used, heap, tile;
};
#define GS_NP_SLOTS 16
static __thread struct gs_np_ev gs_np_evs[GS_NP_SLOTS] __attribute__((tls_model("initial-exec")));
static __thread uint64_t gs_np_last_t1 __attribute__((tls_model("initial-exec")));

static struct gs_np_ev *gs_np_ev_new(void)
{
    for (int i = 0; i < GS_NP_SLOTS; i++)
        if (!gs_np_evs[i].used) {
            memset(&gs_np_evs[i], 0, sizeof gs_np_evs[i]);
            gs_np_evs[i].used = 1;
            return &gs_np_evs[i];
        }
    struct gs_np_ev *e = calloc(1, sizeof *e);
    if (e)
        e->used = e->heap = 1;
    return e;
}

/* Whether this event is recorded: inside an interposer that is recording
 * (it holds the thread busy), else as any intercepted call. */
static int gs_np_recording(struct gs_thread *t)
{
    return gs_nccl_in_call || gs_recording(t);
}

static int gs_np_rooted(uint8_t fn)
{
    return fn == GS_CF_REDUCE || fn == GS_CF_BCAST || fn == GS_CF_GATHER || fn == GS_CF_SCATTER;
}

static void gs_np_open(void **eHandle, struct gs_np_ctx *c, const char *func, size_t count, const char *dt,
                       int32_t peer)
{
    struct gs_thread *t = &gs_tls;
    if (!c || !gs_np_recording(t))
        return;
    struct gs_np_ev *e = gs_np_ev_new();
    if (!e)
        return;
    uint8_t fn = gs_np_fn(func);
    e->cc.fn = fn;
    e->cc.lib = GS_COMM_NCCL;
    e->cc.flags = GS_COMM_F_ASYNC | GS_COMM_F_PLUGIN;
    e->cc.comm_size = c->nranks;
    e->cc.comm_key = c->key;
    e->cc.peer = fn >= GS_CF_P2P || gs_np_rooted(fn) ? peer : -1;
    e->cc.bytes = gs_np_bytes(fn, count, dt, c->nranks);
    if (fn != GS_CF_NONE && fn < GS_CF_P2P)
        e->cc.seq = __atomic_add_fetch(&c->seq, 1, __ATOMIC_RELAXED);
    e->tile = c->version == 4;
    e->t0 = gs_now();
    *eHandle = e;
}

static gs_ncclResult gs_np_stop(void *eHandle)
{
    struct gs_np_ev *e = eHandle;
    if (!e)
        return 0;
    uint64_t t1 = gs_now();
    uint64_t t0 = e->t0;
    if (e->tile && t0 < gs_np_last_t1 && gs_np_last_t1 <= t1)
        t0 = gs_np_last_t1;             /* v4: the tasks of one launch tile its time */
    gs_np_last_t1 = t1;
    gs_comm_record(&gs_tls, &e->cc, t0, t1);
    if (e->heap)
        free(e);
    else
        e->used = 0;
    return 0;
}

static gs_ncclResult gs_np_state(void *eHandle, int eState, void *eStateArgs)
{
    return 0;
}

/* ---- v5, v6, v7 ---- */
static gs_ncclResult gs_np_init_v5(void **context, uint64_t commId, int *mask, const char *commName, int nNodes,
                                   int nranks, int rank, gs_ncclDebugLogger logfn)
{
    return gs_np_init(context, mask, commId, nranks, 5);
}

static gs_ncclResult gs_np_start_v5(void *context, void **eHandle, struct gs_ncclp_descr_v5 *d)
{
    *eHandle = NULL;
    if (!d)
        return 0;
    if (d->type == GS_NCCLP_COLL_API)
        gs_np_open(eHandle, context, d->collApi.func, d->collApi.count, d->collApi.datatype, d->collApi.root);
    else if (d->type == GS_NCCLP_P2P_API)  /* the descriptor has no peer: the interposer's, if it saw the call */
        gs_np_open(eHandle, context, d->p2pApi.func, d->p2pApi.count, d->p2pApi.datatype,
                   gs_nccl_in_call ? gs_nccl_call_peer : -1);
    return 0;                           /* group and other events: no handle */
}

GS_API const struct gs_ncclp_v5 ncclProfiler_v5 = {
    "greenshim", gs_np_init_v5, gs_np_start_v5, gs_np_stop, gs_np_state, gs_np_fini,
};
GS_API const struct gs_ncclp_v5 ncclProfiler_v6 = {
    "greenshim", gs_np_init_v5, gs_np_start_v5, gs_np_stop, gs_np_state, gs_np_fini,
};
GS_API const struct gs_ncclp_v5 ncclProfiler_v7 = {
    "greenshim", gs_np_init_v5, gs_np_start_v5, gs_np_stop, gs_np_state, gs_np_fini,
};

/* ---- v4 ---- */
static gs_ncclResult gs_np_init_v4(void **context, int *mask, const char *commName, uint64_t commHash, int nNodes,
                                   int nranks, int rank, gs_ncclDebugLogger logfn)
{
    return gs_np_init(context, mask, commHash, nranks, 4);
}

static gs_ncclResult gs_np_start_v4(void *context, void **eHandle, struct gs_ncclp_descr_v4 *d)
{
    *eHandle = NULL;
    if (!d)
        return 0;
    if (d->type == GS_NCCLP_COLL)
        gs_np_open(eHandle, context, d->coll.func, d->coll.count, d->coll.datatype, d->coll.root);
    else if (d->type == GS_NCCLP_P2P)
        gs_np_open(eHandle, context, d->p2p.func, d->p2p.count, d->p2p.datatype, d->p2p.peer);
    return 0;
}

GS_API const struct gs_ncclp_v4 ncclProfiler_v4 = {
    "greenshim", gs_np_init_v4, gs_np_start_v4, gs_np_stop, gs_np_state, gs_np_fini,
};
