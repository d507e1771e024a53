/* nccl.c - the NCCL interposers (NCCL 2.x: ncclAllReduce, ncclReduce,
 * ncclBroadcast, ncclBcast, ncclReduceScatter, ncclAllGather, ncclAlltoAll,
 * ncclGather, ncclScatter, ncclSend, ncclRecv), recorded like the MPI ones
 * but flagged GS_COMM_F_ASYNC: an NCCL call only enqueues its kernel on a
 * CUDA stream, so its time is the host's enqueue time; the transfer itself
 * is a GPU kernel (ncclKernel_* / ncclDevKernel_*), timed by CUPTI like any
 * other (docs/gpu.md).  Compiled against the real nccl.h (CUDA's), resolved
 * at run time: libgreenshim.so does not link libnccl.
 *
 * Communicators get their key from the unique id they were made from
 * (ncclCommInitRank / ncclCommInitRankConfig: every member passes the same
 * id), so the analyzer can match a collective across ranks; communicators
 * made another way (split, InitAll) are counted but not matched. */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <nccl.h>
#include "../gs.h"
#include "comm.h"

GS_HIDDEN void *gs_resolve(void **slot, const char *name);
GS_HIDDEN void *gs_resolve_quiet(void **slot, const char *name);

static const uint8_t gs_nccl_tsize[] = {
    [ncclInt8] = 1, [ncclUint8] = 1, [ncclInt32] = 4, [ncclUint32] = 4, [ncclInt64] = 8, [ncclUint64] = 8,
    [ncclFloat16] = 2, [ncclFloat32] = 4, [ncclFloat64] = 8, [ncclBfloat16] = 2,
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 24, 0)
    [ncclFloat8e4m3] = 1, [ncclFloat8e5m2] = 1,
#endif
};

static uint64_t gs_nccl_bytes(size_t count, ncclDataType_t dt)
{
    unsigned t = (unsigned)dt;
    return t < sizeof gs_nccl_tsize ? (uint64_t)count * gs_nccl_tsize[t] : 0;
}

/* ---- communicators: handle -> key (from the unique id), sequence ---- */
#define GS_NCCL_NCOMM 64
static struct { ncclComm_t h; uint32_t key, seq; int used; } gs_ncomms[GS_NCCL_NCOMM];
static pthread_mutex_t gs_nccl_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned gs_ncomm_next;

static void gs_nccl_remember(ncclComm_t c, const ncclUniqueId *id)
{
    uint32_t h = GS_COMM_HASH0;
    for (size_t i = 0; i + 4 <= sizeof id->internal; i += 4) {
        uint32_t w;
        memcpy(&w, id->internal + i, 4);
        h = gs_comm_hash(h, w);
    }
    if (h >= UINT32_MAX - 1)
        h = 1;
    pthread_mutex_lock(&gs_nccl_mu);
    unsigned i = gs_ncomm_next++ % GS_NCCL_NCOMM;
    gs_ncomms[i].h = c;
    gs_ncomms[i].key = h;
    gs_ncomms[i].seq = 0;
    gs_ncomms[i].used = 1;
    pthread_mutex_unlock(&gs_nccl_mu);
}

static void gs_nccl_comm(struct gs_comm_call *cc, unsigned fn, ncclComm_t c, int coll)
{
    static void *cnt_p;
    __typeof__(&ncclCommCount) cnt = (__typeof__(&ncclCommCount))__atomic_load_n(&cnt_p, __ATOMIC_ACQUIRE);
    if (!cnt)
        cnt = (__typeof__(&ncclCommCount))gs_resolve_quiet(&cnt_p, "ncclCommCount");
    int n = 0;
    if (!cnt || cnt(c, &n) != ncclSuccess || n < 0)
        n = 0;
    cc->fn = (uint8_t)fn;
    cc->flags = GS_COMM_F_ASYNC;
    cc->comm_size = (uint32_t)n;
    cc->comm_key = UINT32_MAX - 1;      /* not made from a unique id we saw: not matched */
    pthread_mutex_lock(&gs_nccl_mu);
    for (unsigned i = 0; i < GS_NCCL_NCOMM; i++)
        if (gs_ncomms[i].used && gs_ncomms[i].h == c) {
            cc->comm_key = gs_ncomms[i].key;
            if (coll)
                cc->seq = ++gs_ncomms[i].seq;
            break;
        }
    pthread_mutex_unlock(&gs_nccl_mu);
}

/* With NCCL's profiler plugin live (nccl_plugin.c) the plugin records the
 * call: forwarded here with the thread held busy as when recording, and the
 * call's peer handed over (NCCL's p2p API event has none). */
#define GS_NCCL_BODY(name, ARGS, PEER, SETUP)                                           \
    static void *real_;                                                                \
    __typeof__(&name) fn_ = (__typeof__(&name))__atomic_load_n(&real_, __ATOMIC_ACQUIRE); \
    if (GS_UNLIKELY(!fn_) && !(fn_ = (__typeof__(&name))gs_resolve(&real_, #name)))   \
        return ncclInternalError;                                                      \
    struct gs_thread *t_ = &gs_tls;                                                    \
    if (GS_UNLIKELY(!gs_recording(t_)))                                                \
        return fn_ ARGS;                                                               \
    t_->busy = 1;                                                                      \
    if (__atomic_load_n(&gs_nccl_plugin_on, __ATOMIC_RELAXED)) {                       \
        gs_nccl_in_call = 1;                                                           \
        gs_nccl_call_peer = (PEER);                                                    \
        ncclResult_t r_ = fn_ ARGS;                                                    \
        gs_nccl_in_call = 0;                                                           \
        t_->busy = 0;                                                                  \
        return r_;                                                                     \
    }                                                                                  \
    struct gs_comm_call c_ = { .lib = GS_COMM_NCCL, .peer = -1 };                     \
    uint64_t t0_ = gs_now();                                                           \
    ncclResult_t rc_ = fn_ ARGS;                                                       \
    uint64_t t1_ = gs_now();                                                           \
    SETUP;                                                                             \
    if (rc_ != ncclSuccess && rc_ != ncclInProgress)                                   \
        c_.flags |= GS_COMM_F_ERROR;                                                   \
    gs_comm_record(t_, &c_, t0_, t1_);                                                 \
    t_->busy = 0;                                                                      \
    return rc_;

/* The user's own profiler plugin stays: said once per run, at the first
 * communicator (a process without NCCL says nothing). */
static void gs_nccl_say_path(void)
{
    const char *u = gs_nccl_plugin_user();
    if (u && (gs_enabled || gs_armed) && !__atomic_load_n(&gs_nccl_plugin_on, __ATOMIC_RELAXED))
        gs_warn_once("nccl-plugin-user",
                     "NCCL_PROFILER_PLUGIN is %s (set before the shim started): left as it is; NCCL calls are "
                     "recorded by the ncclAllReduce & co. interposers (docs/distributed.md)", u);
}

/* ---- communicator creation: not recorded as calls, remembered ---- */
GS_API ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank)
{
    static void *real_;
    __typeof__(&ncclCommInitRank) fn = (__typeof__(&ncclCommInitRank))__atomic_load_n(&real_, __ATOMIC_ACQUIRE);
    if (!fn && !(fn = (__typeof__(&ncclCommInitRank))gs_resolve(&real_, "ncclCommInitRank")))
        return ncclInternalError;
    ncclResult_t rc = fn(comm, nranks, id, rank);
    if ((rc == ncclSuccess || rc == ncclInProgress) && comm)
        gs_nccl_remember(*comm, &id);
    gs_nccl_say_path();
    return rc;
}

GS_API ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank,
                                           ncclConfig_t *config)
{
    static void *real_;
    __typeof__(&ncclCommInitRankConfig) fn =
        (__typeof__(&ncclCommInitRankConfig))__atomic_load_n(&real_, __ATOMIC_ACQUIRE);
    if (!fn && !(fn = (__typeof__(&ncclCommInitRankConfig))gs_resolve(&real_, "ncclCommInitRankConfig")))
        return ncclInternalError;
    ncclResult_t rc = fn(comm, nranks, id, rank, config);
    if ((rc == ncclSuccess || rc == ncclInProgress) && comm)
        gs_nccl_remember(*comm, &id);
    gs_nccl_say_path();
    return rc;
}

/* ---- collectives ---- */
GS_API ncclResult_t ncclAllReduce(const void *sb, void *rb, size_t count, ncclDataType_t dt, ncclRedOp_t op,
                                  ncclComm_t comm, cudaStream_t st)
{
    GS_NCCL_BODY(ncclAllReduce, (sb, rb, count, dt, op, comm, st), -1,
                 (gs_nccl_comm(&c_, GS_CF_ALLREDUCE, comm, 1), c_.bytes = gs_nccl_bytes(count, dt)))
}

GS_API ncclResult_t ncclReduce(const void *sb, void *rb, size_t count, ncclDataType_t dt, ncclRedOp_t op, int root,
                               ncclComm_t comm, cudaStream_t st)
{
    GS_NCCL_BODY(ncclReduce, (sb, rb, count, dt, op, root, comm, st), root,
                 (gs_nccl_comm(&c_, GS_CF_REDUCE, comm, 1), c_.bytes = gs_nccl_bytes(count, dt), c_.peer = root))
}

GS_API ncclResult_t ncclBroadcast(const void *sb, void *rb, size_t count, ncclDataType_t dt, int root,
                                  ncclComm_t comm, cudaStream_t st)
{
    GS_NCCL_BODY(ncclBroadcast, (sb, rb, count, dt, root, comm, st), root,
                 (gs_nccl_comm(&c_, GS_CF_BCAST, comm, 1), c_.bytes = gs_nccl_bytes(count, dt), c_.peer = root))
}

GS_API ncclResult_t ncclBcast(void *buf, size_t count, ncclDataType_t dt, int root, ncclComm_t comm,
                              cudaStream_t st)
{
    GS_NCCL_BODY(ncclBcast, (buf, count, dt, root, comm, st), root,
                 (gs_nccl_comm(&c_, GS_CF_BCAST, comm, 1), c_.bytes = gs_nccl_bytes(count, dt), c_.peer = root))
}

GS_API ncclResult_t ncclReduceScatter(const void *sb, void *rb, size_t rcount, ncclDataType_t dt, ncclRedOp_t op,
                                      ncclComm_t comm, cudaStream_t st)
{
    GS_NCCL_BODY(ncclReduceScatter, (sb, rb, rcount, dt, op, comm, st), -1,
                 (gs_nccl_comm(&c_, GS_CF_REDUCE_SCATTER, comm, 1),
                  c_.bytes = gs_nccl_bytes(rcount, dt) * c_.comm_size))
}

GS_API ncclResult_t ncclAllGather(const void *sb, void *rb, size_t scount, ncclDataType_t dt, ncclComm_t comm,
                                  cudaStream_t st)
{
    GS_NCCL_BODY(ncclAllGather, (sb, rb, scount, dt, comm, st), -1,
                 (gs_nccl_comm(&c_, GS_CF_ALLGATHER, comm, 1), c_.bytes = gs_nccl_bytes(scount, dt) * c_.comm_size))
}

#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 28, 0)
GS_API ncclResult_t ncclAlltoAll(const void *sb, void *rb, size_t count, ncclDataType_t dt, ncclComm_t comm,
                                 cudaStream_t st)
{
    GS_NCCL_BODY(ncclAlltoAll, (sb, rb, count, dt, comm, st), -1,
                 (gs_nccl_comm(&c_, GS_CF_ALLTOALL, comm, 1), c_.bytes = gs_nccl_bytes(count, dt) * c_.comm_size))
}

GS_API ncclResult_t ncclGather(const void *sb, void *rb, size_t count, ncclDataType_t dt, int root, ncclComm_t comm,
                               cudaStream_t st)
{
    GS_NCCL_BODY(ncclGather, (sb, rb, count, dt, root, comm, st), root,
                 (gs_nccl_comm(&c_, GS_CF_GATHER, comm, 1), c_.peer = root,
                  c_.bytes = gs_nccl_bytes(count, dt) * c_.comm_size))
}

GS_API ncclResult_t ncclScatter(const void *sb, void *rb, size_t count, ncclDataType_t dt, int root,
                                ncclComm_t comm, cudaStream_t st)
{
    GS_NCCL_BODY(ncclScatter, (sb, rb, count, dt, root, comm, st), root,
                 (gs_nccl_comm(&c_, GS_CF_SCATTER, comm, 1), c_.peer = root,
                  c_.bytes = gs_nccl_bytes(count, dt) * c_.comm_size))
}
#endif

/* ---- point to point ---- */
GS_API ncclResult_t ncclSend(const void *sb, size_t count, ncclDataType_t dt, int peer, ncclComm_t comm,
                             cudaStream_t st)
{
    GS_NCCL_BODY(ncclSend, (sb, count, dt, peer, comm, st), peer,
                 (gs_nccl_comm(&c_, GS_CF_SEND, comm, 0), c_.peer = peer, c_.bytes = gs_nccl_bytes(count, dt)))
}

GS_API ncclResult_t ncclRecv(void *rb, size_t count, ncclDataType_t dt, int peer, ncclComm_t comm, cudaStream_t st)
{
    GS_NCCL_BODY(ncclRecv, (rb, count, dt, peer, comm, st), peer,
                 (gs_nccl_comm(&c_, GS_CF_RECV, comm, 0), c_.peer = peer, c_.bytes = gs_nccl_bytes(count, dt)))
}
