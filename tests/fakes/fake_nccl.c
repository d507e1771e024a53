/* fake_nccl.c - a stand-in libnccl.so.2 for machines without a GPU (the
 * shim's NCCL interposers are tested through it: tests/e2e/test_nccl.sh).
 * It has NCCL 2's entry points with NCCL's types (own declarations: no
 * CUDA header needed) and does what a one-GPU-per-rank NCCL would do to
 * host-visible state: nothing to the buffers (they would be device
 * memory), success, and a communicator that knows its size and rank.
 * ncclGetUniqueId returns the same id in every process (the test's ranks
 * do not exchange it).  Nothing here measures anything.
 *
 * Like NCCL >= 2.23 it loads a profiler plugin at the first communicator:
 * NCCL_PROFILER_PLUGIN (a path, or NAME for libnccl-profiler-NAME.so; unset:
 * libnccl-profiler.so; "none": no plugin), then ncclProfiler_v<N> newest
 * first - v7 down to v4, or from FAKE_NCCL_PROFILER_MAX down (0: an NCCL
 * before 2.23, no plugin at all).  init per communicator, and as NCCL does:
 * v5 and later, a group API event (outermost group) and an API event per
 * call from entry to return; v4, a task event per call around the launch of
 * its plan (at the call, or at ncclGroupEnd for calls in a group); finalize
 * at ncclCommDestroy.  One stderr line says what was loaded.  The
 * descriptor layouts are declared here on their own, from NCCL's
 * profiler_v4.h and profiler_v7.h (v5's and v6's are prefixes of v7's in
 * the members filled), so the shim's declarations are checked against them. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { ncclSuccess = 0, ncclInvalidArgument = 4 } ncclResult_t;
typedef struct { char internal[128]; } ncclUniqueId;
struct fake_comm { int nranks, rank; uint64_t hash; void *pctx; };
typedef struct fake_comm *ncclComm_t;
typedef void *cudaStream_t;

/* ---- the profiler plugin ABI (NCCL's, declared on its own) ---- */
enum { P_GROUP = 1, P_COLL = 2, P_P2P = 4, P_GROUP_API = 1 << 8, P_COLL_API = 1 << 9, P_P2P_API = 1 << 10 };
typedef void (*logfn_t)(int, unsigned long, const char *, int, const char *, ...);
typedef struct {
    uint8_t type; void *parentObj; int rank;
    union {
        struct { uint64_t seqNumber; const char *func; const void *sendBuff; void *recvBuff; size_t count; int root;
                 const char *datatype; uint8_t nChannels, nWarps; const char *algo, *proto; } coll;
        struct { const char *func; void *buff; const char *datatype; size_t count; int peer; uint8_t nChannels; } p2p;
    };
} descr_v4;
typedef struct {
    uint64_t type; void *parentObj; int rank;
    union {
        struct { bool graphCaptured; int groupDepth; } groupApi;
        struct { const char *func; size_t count; const char *datatype; int root; void *stream; bool graphCaptured;
                 uint64_t userTag; } collApi;
        struct { const char *func; size_t count; const char *datatype; void *stream; bool graphCaptured;
                 uint64_t userTag; } p2pApi;
    };
} descr_v7;
typedef struct {
    const char *name;
    ncclResult_t (*init)(void **, int *, const char *, uint64_t, int, int, int, logfn_t);
    ncclResult_t (*startEvent)(void *, void **, descr_v4 *);
    ncclResult_t (*stopEvent)(void *);
    ncclResult_t (*recordEventState)(void *, int, void *);
    ncclResult_t (*finalize)(void *);
} prof_v4;
typedef struct {
    const char *name;
    ncclResult_t (*init)(void **, uint64_t, int *, const char *, int, int, int, logfn_t);
    ncclResult_t (*startEvent)(void *, void **, descr_v7 *);
    ncclResult_t (*stopEvent)(void *);
    ncclResult_t (*recordEventState)(void *, int, void *);
    ncclResult_t (*finalize)(void *);
} prof_v5;

static int prof_state;                  /* 0 not tried, 1 loaded, -1 none */
static int prof_ver;
static const void *prof;
static int prof_mask;
static int group_depth;
static void *group_api_handle;
/* v4: tasks of the open group, launched at ncclGroupEnd */
static struct task { struct fake_comm *c; int p2p; const char *func, *dt; size_t count; int root; } tasks[64];
static int ntasks;
static uint64_t seqs[16];

static void prof_log(int l, unsigned long f, const char *file, int line, const char *fmt, ...) { }

static void prof_load(void)
{
    if (prof_state)
        return;
    prof_state = -1;
    const char *m = getenv("FAKE_NCCL_PROFILER_MAX");
    int max = m ? atoi(m) : 7;
    if (max < 4)
        return;
    const char *n = getenv("NCCL_PROFILER_PLUGIN");
    char name[4096];
    if (n && strcmp(n, "none") == 0)
        return;
    if (!n)
        snprintf(name, sizeof name, "libnccl-profiler.so");
    else if (strchr(n, '/'))
        snprintf(name, sizeof name, "%s", n);
    else
        snprintf(name, sizeof name, "libnccl-profiler-%s.so", n);
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "fake-nccl: no profiler plugin %s\n", name);
        return;
    }
    for (int v = max > 7 ? 7 : max; v >= 4; v--) {
        char sym[32];
        snprintf(sym, sizeof sym, "ncclProfiler_v%d", v);
        if ((prof = dlsym(h, sym))) {
            prof_ver = v;
            prof_state = 1;
            fprintf(stderr, "fake-nccl: profiler plugin %s: %s, %s\n", name, *(const char *const *)prof, sym);
            return;
        }
    }
    fprintf(stderr, "fake-nccl: profiler plugin %s has no ncclProfiler_v4..v%d\n", name, max);
}

static void prof_init(struct fake_comm *c)
{
    prof_load();
    if (prof_state != 1)
        return;
    int mask = 0;
    ncclResult_t r = prof_ver >= 5
        ? ((const prof_v5 *)prof)->init(&c->pctx, c->hash, &mask, "", 1, c->nranks, c->rank, prof_log)
        : ((const prof_v4 *)prof)->init(&c->pctx, &mask, "", c->hash, 1, c->nranks, c->rank, prof_log);
    if (r != ncclSuccess)
        c->pctx = NULL;
    else
        prof_mask = mask;
}

static int fn_index(const char *f)
{
    static const char *const fns[] = { "AllReduce", "Broadcast", "Reduce", "AllGather", "ReduceScatter" };
    for (int i = 0; i < 5; i++)
        if (strcmp(f, fns[i]) == 0)
            return i;
    return 15;
}

/* v4: the task events of one plan around its "kernel launch" */
static void prof_launch(struct task *t, int n)
{
    void *h[64] = { 0 };
    for (int i = 0; i < n; i++) {
        if (!t[i].c->pctx || !(prof_mask & (t[i].p2p ? P_P2P : P_COLL)))
            continue;
        descr_v4 d;
        memset(&d, 0, sizeof d);
        d.rank = t[i].c->rank;
        if (t[i].p2p) {
            d.type = P_P2P;
            d.p2p.func = t[i].func; d.p2p.datatype = t[i].dt; d.p2p.count = t[i].count; d.p2p.peer = t[i].root;
            d.p2p.nChannels = 2;
        } else {
            d.type = P_COLL;
            d.coll.seqNumber = seqs[fn_index(t[i].func)]++;
            d.coll.func = t[i].func; d.coll.count = t[i].count; d.coll.root = t[i].root; d.coll.datatype = t[i].dt;
            d.coll.algo = "RING"; d.coll.proto = "SIMPLE";
        }
        ((const prof_v4 *)prof)->startEvent(t[i].c->pctx, &h[i], &d);
    }
    for (int i = 0; i < n; i++)
        if (h[i])
            ((const prof_v4 *)prof)->stopEvent(h[i]);
}

/* an API call: its events around the body */
static void *prof_api_start(struct fake_comm *c, int p2p, const char *func, size_t n, const char *dt, int root)
{
    if (prof_state != 1 || !c || !c->pctx)
        return NULL;
    if (prof_ver == 4) {
        struct task t = { c, p2p, func, dt, n, root };
        if (group_depth > 0) {
            if (ntasks < 64)
                tasks[ntasks++] = t;
        } else {
            prof_launch(&t, 1);
        }
        return NULL;
    }
    const prof_v5 *p = prof;
    if (group_depth == 0 && (prof_mask & (P_GROUP_API | P_COLL_API | P_P2P_API)) && !group_api_handle) {
        descr_v7 g;
        memset(&g, 0, sizeof g);
        g.type = P_GROUP_API;
        g.rank = c->rank;
        p->startEvent(c->pctx, &group_api_handle, &g);
    }
    if (!(prof_mask & (p2p ? P_P2P_API : P_COLL_API)))
        return NULL;
    descr_v7 d;
    memset(&d, 0, sizeof d);
    d.rank = c->rank;
    d.parentObj = group_api_handle;
    if (p2p) {
        d.type = P_P2P_API;
        d.p2pApi.func = func; d.p2pApi.count = n; d.p2pApi.datatype = dt;
    } else {
        d.type = P_COLL_API;
        d.collApi.func = func; d.collApi.count = n; d.collApi.datatype = dt; d.collApi.root = root;
    }
    void *h = NULL;
    p->startEvent(c->pctx, &h, &d);
    return h;
}

static void prof_api_stop(void *h)
{
    if (h)
        ((const prof_v5 *)prof)->stopEvent(h);
    if (group_depth == 0 && group_api_handle) {
        ((const prof_v5 *)prof)->stopEvent(group_api_handle);
        group_api_handle = NULL;
    }
}

static const char *dt_name(int t)
{
    static const char *const n[] = { "ncclInt8", "Unknown", "ncclInt32", "ncclUint32", "ncclInt64", "ncclUint64",
                                     "ncclFloat16", "ncclFloat32", "ncclFloat64", "ncclBfloat16" };
    return t >= 0 && t < 10 ? n[t] : "Unknown";
}

ncclResult_t ncclGetVersion(int *v) { *v = 22800; return ncclSuccess; }
ncclResult_t ncclGetUniqueId(ncclUniqueId *id)
{
    memset(id, 0, sizeof *id);
    memcpy(id->internal, "fake-nccl-unique-id", 19);
    return ncclSuccess;
}
ncclResult_t ncclCommInitRank(ncclComm_t *c, int nranks, ncclUniqueId id, int rank)
{
    (void)id;
    if (!c || nranks < 1 || rank < 0 || rank >= nranks)
        return ncclInvalidArgument;
    *c = calloc(1, sizeof **c);
    (*c)->nranks = nranks;
    (*c)->rank = rank;
    uint64_t h = 1469598103934665603ull;      /* the same on every rank: from the id */
    for (size_t i = 0; i < sizeof id.internal; i++)
        h = (h ^ (unsigned char)id.internal[i]) * 1099511628211ull;
    (*c)->hash = h;
    prof_init(*c);
    return ncclSuccess;
}
ncclResult_t ncclCommDestroy(ncclComm_t c)
{
    if (c && c->pctx)
        (prof_ver >= 5 ? ((const prof_v5 *)prof)->finalize : ((const prof_v4 *)prof)->finalize)(c->pctx);
    free(c);
    return ncclSuccess;
}
ncclResult_t ncclCommCount(const ncclComm_t c, int *n) { *n = c->nranks; return ncclSuccess; }
ncclResult_t ncclCommUserRank(const ncclComm_t c, int *r) { *r = c->rank; return ncclSuccess; }
ncclResult_t ncclGroupStart(void) { group_depth++; return ncclSuccess; }
ncclResult_t ncclGroupEnd(void)
{
    if (group_depth > 0 && --group_depth == 0) {
        if (prof_state == 1 && prof_ver == 4 && ntasks)
            prof_launch(tasks, ntasks);
        ntasks = 0;
        if (prof_state == 1 && prof_ver >= 5 && group_api_handle) {
            ((const prof_v5 *)prof)->stopEvent(group_api_handle);
            group_api_handle = NULL;
        }
    }
    return ncclSuccess;
}
#define CALL(p2p, func, n, t, root)                                                   \
    void *h_ = prof_api_start(c, p2p, func, n, dt_name(t), root);                     \
    prof_api_stop(h_);                                                                \
    return c ? ncclSuccess : ncclInvalidArgument
ncclResult_t ncclAllReduce(const void *s, void *r, size_t n, int t, int op, ncclComm_t c, cudaStream_t st) { CALL(0, "AllReduce", n, t, 0); }
ncclResult_t ncclBroadcast(const void *s, void *r, size_t n, int t, int root, ncclComm_t c, cudaStream_t st) { CALL(0, "Broadcast", n, t, root); }
ncclResult_t ncclReduce(const void *s, void *r, size_t n, int t, int op, int root, ncclComm_t c, cudaStream_t st) { CALL(0, "Reduce", n, t, root); }
ncclResult_t ncclAllGather(const void *s, void *r, size_t n, int t, ncclComm_t c, cudaStream_t st) { CALL(0, "AllGather", n, t, 0); }
ncclResult_t ncclReduceScatter(const void *s, void *r, size_t n, int t, int op, ncclComm_t c, cudaStream_t st) { CALL(0, "ReduceScatter", n, t, 0); }
ncclResult_t ncclSend(const void *s, size_t n, int t, int peer, ncclComm_t c, cudaStream_t st) { CALL(1, "Send", n, t, peer); }
ncclResult_t ncclRecv(void *r, size_t n, int t, int peer, ncclComm_t c, cudaStream_t st) { CALL(1, "Recv", n, t, peer); }
