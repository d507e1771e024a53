/* cupti.c - GPU kernel timing through CUPTI, with the shim as the CUDA
 * injection library.
 *
 * At start-up the shim sets CUDA_INJECTION64_PATH (and NVTX_INJECTION64_PATH)
 * to its own path unless a tool (nsys, ncu) set them first, so the CUDA
 * driver calls InitializeInjection below at cuInit: only CUDA processes pay
 * for CUPTI.  There we subscribe first (error 39: another tool holds CUPTI,
 * one line and no kernel timing), put CUPTI's timestamps on our clock
 * (CLOCK_MONOTONIC ns, the analyzer's time base), enable kernel, memcpy,
 * memset and external-correlation activity, and take the correlation id of
 * each launch from a callback so launch records join their kernels.
 * Activity buffers become trace records in gs_cupti_parse, which the test
 * suite also calls (greenshim_cupti_buffer) with synthetic records.
 * CUPTI is dlopen()ed; nothing from CUDA is linked.  Flushed at context
 * destroy and at exit; a fork child never touches it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../gs.h"
#include "gpu.h"

static char gs_self_path[PATH_MAX];

/* Make the shim the CUDA and NVTX injection library unless a tool is. */
__attribute__((constructor(102)))
static void gs_gpu_inject_env(void)
{
    if (!gs_armed && !gs_enabled)
        return;
    Dl_info di;
    if (!dladdr((void *)gs_gpu_inject_env, &di) || !di.dli_fname ||
        !realpath(di.dli_fname, gs_self_path))
        return;
    const char *c = getenv("CUDA_INJECTION64_PATH");
    if (!c || !*c)
        setenv("CUDA_INJECTION64_PATH", gs_self_path, 1);
    else if (strcmp(c, gs_self_path) != 0)
        gs_dbg("CUDA_INJECTION64_PATH is %s (another tool): kernel timing only if it leaves CUPTI free", c);
    const char *n = getenv("NVTX_INJECTION64_PATH");
    if (!n || !*n)
        setenv("NVTX_INJECTION64_PATH", gs_self_path, 1);
}

#if __has_include(<cupti.h>)
#include <cupti.h>

/* ---- CUPTI, found at run time ---- */
#define GS_CUPTI_FNS(X)                                                                 \
    X(CUptiResult, cuptiSubscribe, (CUpti_SubscriberHandle *, CUpti_CallbackFunc, void *)) \
    X(CUptiResult, cuptiEnableCallback, (uint32_t, CUpti_SubscriberHandle, CUpti_CallbackDomain, CUpti_CallbackId)) \
    X(CUptiResult, cuptiActivityEnable, (CUpti_ActivityKind))                           \
    X(CUptiResult, cuptiActivityRegisterCallbacks, (CUpti_BuffersCallbackRequestFunc, CUpti_BuffersCallbackCompleteFunc)) \
    X(CUptiResult, cuptiActivityFlushAll, (uint32_t))                                  \
    X(CUptiResult, cuptiActivityGetNextRecord, (uint8_t *, size_t, CUpti_Activity **))  \
    X(CUptiResult, cuptiActivityGetNumDroppedRecords, (CUcontext, uint32_t, size_t *))  \
    X(CUptiResult, cuptiActivityPushExternalCorrelationId, (CUpti_ExternalCorrelationKind, uint64_t)) \
    X(CUptiResult, cuptiActivityPopExternalCorrelationId, (CUpti_ExternalCorrelationKind, uint64_t *)) \
    X(CUptiResult, cuptiGetResultString, (CUptiResult, const char **))                  \
    X(CUptiResult, cuptiGetTimestamp, (uint64_t *))
#define GS_DECL(RT, name, P) static RT (*p_##name) P;
GS_CUPTI_FNS(GS_DECL)
/* optional (CUPTI 12.x without it: an offset from CUPTI's clock instead) */
static CUptiResult (*p_cuptiActivityRegisterTimestampCallback)(CUpti_TimestampCallbackFunc);
/* for giving CUPTI up to another client (gs_cupti_yield) */
static CUptiResult (*p_cuptiUnsubscribe)(CUpti_SubscriberHandle);
static CUptiResult (*p_cuptiActivityDisable)(CUpti_ActivityKind);
static CUpti_SubscriberHandle gs_cupti_sub;
static int gs_cupti_held;               /* subscribed by us, not yet given up */
static int64_t gs_cupti_ts_offset;      /* added to CUPTI timestamps: 0 when they are ours */

static void *gs_cupti_lib;
static int gs_cupti_loaded;             /* 1 loaded, -1 not found */
static int gs_cupti_live;               /* activity enabled: ext correlation worth pushing */
static int gs_cupti_forked;             /* in a fork child: never touch CUPTI */
static uint32_t gs_ext_next;
static pthread_mutex_t gs_cupti_lock = PTHREAD_MUTEX_INITIALIZER;

static int gs_find_cudart(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    const char *n = info->dlpi_name;
    if (n && strstr(n, "/libcudart.so")) {
        snprintf(data, PATH_MAX, "%s", n);
        return 1;
    }
    return 0;
}

/* libcupti already loaded, in the loader path, in the toolkit, or next to
 * the libcudart the program loaded */
static int gs_cupti_load(void)
{
    pthread_mutex_lock(&gs_cupti_lock);
    if (gs_cupti_loaded) {
        pthread_mutex_unlock(&gs_cupti_lock);
        return gs_cupti_loaded > 0;
    }
    /* the CUPTI that goes with the program's CUDA runtime first */
    static const char *names[] = {
        "libcupti.so.13", "libcupti.so.12", "libcupti.so",
        "/usr/local/cuda/extras/CUPTI/lib64/libcupti.so", "/usr/local/cuda/lib64/libcupti.so",
    };
    char path[PATH_MAX];
    const char *home = getenv("CUDA_HOME");
    void *h = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !h; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!h) {
        /* next to the CUDA runtime the program loaded: the toolkit's lib64,
         * or pip wheels' .../nvidia/cuda_cupti/lib beside .../nvidia/cuda_runtime/lib */
        char rt[PATH_MAX] = "";
        dl_iterate_phdr(gs_find_cudart, rt);
        char *slash = rt[0] ? strrchr(rt, '/') : NULL;
        if (slash) {
            *slash = 0;
            static const char *rel[] = {
                "libcupti.so.13", "libcupti.so.12", "libcupti.so", "../extras/CUPTI/lib64/libcupti.so",
                "../../cuda_cupti/lib/libcupti.so.13", "../../cuda_cupti/lib/libcupti.so.12",
            };
            for (size_t i = 0; i < sizeof rel / sizeof *rel && !h; i++) {
                snprintf(path, sizeof path, "%s/%s", rt, rel[i]);
                h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            }
        }
    }
    for (size_t i = 0; i < sizeof names / sizeof *names && !h; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h && home) {
        snprintf(path, sizeof path, "%s/extras/CUPTI/lib64/libcupti.so", home);
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
    int ok = h != NULL;
#define GS_LOAD(RT, name, P) if (ok && !(p_##name = (RT(*) P)dlsym(h, #name))) ok = 0;
    GS_CUPTI_FNS(GS_LOAD)
    if (ok) {
        p_cuptiActivityRegisterTimestampCallback =
            (CUptiResult(*)(CUpti_TimestampCallbackFunc))dlsym(h, "cuptiActivityRegisterTimestampCallback");
        p_cuptiUnsubscribe = (CUptiResult(*)(CUpti_SubscriberHandle))dlsym(h, "cuptiUnsubscribe");
        p_cuptiActivityDisable = (CUptiResult(*)(CUpti_ActivityKind))dlsym(h, "cuptiActivityDisable");
    }
    if (!ok) {
        gs_log("libcupti not found (set CUDA_HOME or add the CUDA toolkit's CUPTI directory to "
               "LD_LIBRARY_PATH): GPU kernels will not be timed; CUDA calls and NVML energy still are");
        gs_cupti_loaded = -1;
    } else {
        gs_cupti_lib = h;
        gs_cupti_loaded = 1;
    }
    pthread_mutex_unlock(&gs_cupti_lock);
    return ok;
}

static const char *gs_cupti_err(CUptiResult r)
{
    const char *s = NULL;
    if (p_cuptiGetResultString && p_cuptiGetResultString(r, &s) == CUPTI_SUCCESS && s)
        return s;
    return "unknown CUPTI error";
}

/* ---- activity records -> trace records ---- */

static void gs_put(const void *rec, unsigned nslots)
{
    struct gs_thread *t = &gs_tls;
    uint8_t *s = gs_rec_slot(t, nslots);
    if (!s)
        return;
    memcpy(s + 1, (const uint8_t *)rec + 1, nslots * GS_REC_SIZE - 1);
    gs_rec_commit(s, *(const uint8_t *)rec);
}

/* The prefixes every version of the kernel (4..10), memcpy (3..6) and
 * memset (2..4) records share: CUPTI delivers the version of the library
 * in the process, not of the headers we were built with.  Checked against
 * the newest versions where the headers have them. */
struct gs_kprefix {
    uint32_t kind;
    uint8_t  cache_config, shmem_config;
    uint16_t registersPerThread;
    uint32_t pgc_requested, pgc_executed;
    uint64_t start, end, completed;
    uint32_t deviceId, contextId, streamId;
    int32_t  gridX, gridY, gridZ, blockX, blockY, blockZ;
    int32_t  staticSharedMemory, dynamicSharedMemory;
    uint32_t localMemoryPerThread, localMemoryTotal;
    uint32_t correlationId;
    int64_t  gridId;
    const char *name;
};
struct gs_mprefix {               /* memcpy */
    uint32_t kind;
    uint8_t  copyKind, srcKind, dstKind, flags;
    uint64_t bytes, start, end;
    uint32_t deviceId, contextId, streamId, correlationId;
};
struct gs_sprefix {               /* memset */
    uint32_t kind, value;
    uint64_t bytes, start, end;
    uint32_t deviceId, contextId, streamId, correlationId;
};
#if CUPTI_API_VERSION >= 130000
#include <stddef.h>
#define GS_SAME(A, B, f) _Static_assert(offsetof(A, f) == offsetof(B, f), #f)
GS_SAME(struct gs_kprefix, CUpti_ActivityKernel10, start);
GS_SAME(struct gs_kprefix, CUpti_ActivityKernel10, deviceId);
GS_SAME(struct gs_kprefix, CUpti_ActivityKernel10, gridX);
GS_SAME(struct gs_kprefix, CUpti_ActivityKernel10, correlationId);
GS_SAME(struct gs_kprefix, CUpti_ActivityKernel10, name);
GS_SAME(struct gs_mprefix, CUpti_ActivityMemcpy6, bytes);
GS_SAME(struct gs_mprefix, CUpti_ActivityMemcpy6, correlationId);
GS_SAME(struct gs_sprefix, CUpti_ActivityMemset4, bytes);
GS_SAME(struct gs_sprefix, CUpti_ActivityMemset4, correlationId);
#endif

static void gs_kernel_rec(const struct gs_kprefix *k)
{
    struct gs_rec_kernel r = { .type = GS_REC_KERNEL, .nslots = 2 };
    r.device = (uint16_t)k->deviceId;
    r.name = gs_gpu_string(GS_STR_KERNEL, k->name ? k->name : "(unnamed kernel)");
    r.start = k->start + (uint64_t)gs_cupti_ts_offset;
    r.end = k->end + (uint64_t)gs_cupti_ts_offset;
    r.corr = k->correlationId;
    r.stream = k->streamId;
    r.context = k->contextId;
    r.grid_x = (uint32_t)k->gridX; r.grid_y = (uint32_t)k->gridY; r.grid_z = (uint32_t)k->gridZ;
    r.block_x = (uint32_t)k->blockX; r.block_y = (uint32_t)k->blockY; r.block_z = (uint32_t)k->blockZ;
    r.regs = k->registersPerThread;
    r.shmem_static = (uint32_t)k->staticSharedMemory;
    r.shmem_dynamic = (uint32_t)k->dynamicSharedMemory;
    gs_put(&r, 2);
}

/* Every record in one completed buffer.  Returns the number turned into
 * trace records. */
GS_HIDDEN size_t gs_cupti_parse(uint8_t *buf, size_t valid)
{
    struct gs_thread *t = &gs_tls;
    int was = t->busy;
    t->busy = 1;
    size_t n = 0;
    CUpti_Activity *a = NULL;
    while (valid && p_cuptiActivityGetNextRecord(buf, valid, &a) == CUPTI_SUCCESS) {
        switch (a->kind) {
        case CUPTI_ACTIVITY_KIND_KERNEL:
        case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
            gs_kernel_rec((const struct gs_kprefix *)a);
            n++;
            break;
        case CUPTI_ACTIVITY_KIND_MEMCPY: {
            const struct gs_mprefix *m = (const void *)a;
            struct gs_rec_memcpy r = { .type = GS_REC_MEMCPY, .nslots = 1, .device = (uint16_t)m->deviceId,
                                       .kind = m->copyKind, .start = m->start + (uint64_t)gs_cupti_ts_offset,
                                       .end = m->end + (uint64_t)gs_cupti_ts_offset,
                                       .bytes = m->bytes, .corr = m->correlationId, .stream = m->streamId };
            gs_put(&r, 1);
            n++;
            break;
        }
        case CUPTI_ACTIVITY_KIND_MEMSET: {
            const struct gs_sprefix *m = (const void *)a;
            struct gs_rec_memcpy r = { .type = GS_REC_MEMCPY, .nslots = 1, .device = (uint16_t)m->deviceId,
                                       .kind = 255, .start = m->start + (uint64_t)gs_cupti_ts_offset,
                                       .end = m->end + (uint64_t)gs_cupti_ts_offset,
                                       .bytes = m->bytes, .corr = m->correlationId, .stream = m->streamId };
            gs_put(&r, 1);
            n++;
            break;
        }
        case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
            const CUpti_ActivityExternalCorrelation *e = (const void *)a;
            struct gs_rec_extcorr r = { .type = GS_REC_EXTCORR, .nslots = 1,
                                        .ext_kind = (uint16_t)e->externalKind,
                                        .corr = e->correlationId, .ext = e->externalId };
            gs_put(&r, 1);
            n++;
            break;
        }
        default:
            break;
        }
    }
    t->busy = was;
    return n;
}

static void CUPTIAPI gs_cupti_cb(void *ud, CUpti_CallbackDomain dom, CUpti_CallbackId cbid,
                                 const void *data);

/* Test entry: CUPTI's API callback for one launch, as CUPTI would call it on
 * this thread (site 0: enter, 1: exit; params: the API's parameter struct
 * from CUPTI's generated_*_meta.h, or NULL).  -1 without CUPTI. */
GS_API int greenshim_cupti_callback(int domain, unsigned cbid, int site, uint32_t corr, const void *params,
                                    int ret)
{
    if (gs_cupti_forked || !gs_cupti_load())
        return -1;
    CUpti_CallbackData d;
    memset(&d, 0, sizeof d);
    d.callbackSite = site ? CUPTI_API_EXIT : CUPTI_API_ENTER;
    d.correlationId = corr;
    d.functionParams = params;
    d.functionReturnValue = &ret;
    gs_cupti_cb(NULL, (CUpti_CallbackDomain)domain, (CUpti_CallbackId)cbid, &d);
    return 0;
}

/* Test entry: the buffer-complete path on a buffer of real CUPTI record
 * structs, without a GPU.  Returns the records written, -1 without CUPTI. */
GS_API long greenshim_cupti_buffer(uint8_t *buf, size_t valid)
{
    if (!gs_recording(&gs_tls) || gs_cupti_forked || !gs_cupti_load())
        return -1;
    gs_gpu_first_call();                /* as InitializeInjection does */
    return (long)gs_cupti_parse(buf, valid);
}

#define GS_CUPTI_BUF (8u << 20)

static void CUPTIAPI gs_buf_requested(uint8_t **buf, size_t *size, size_t *maxrec)
{
    *buf = aligned_alloc(8, GS_CUPTI_BUF);
    *size = *buf ? GS_CUPTI_BUF : 0;
    *maxrec = 0;
}

/* buffers parsed under this lock; after the module's fini (the writer
 * ends next) a late buffer from CUPTI's thread is dropped, never written */
static pthread_mutex_t gs_parse_mu = PTHREAD_MUTEX_INITIALIZER;
static int gs_cupti_closed;

static void CUPTIAPI gs_buf_completed(CUcontext ctx, uint32_t stream, uint8_t *buf, size_t size,
                                      size_t valid)
{
    (void)size;
    pthread_mutex_lock(&gs_parse_mu);
    /* also at exit, after gs_enabled went 0: the writer still takes them until fini is done */
    if (!gs_cupti_forked && !gs_cupti_closed) {
        gs_cupti_parse(buf, valid);
        size_t dropped = 0;
        if (p_cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped) == CUPTI_SUCCESS && dropped) {
            struct gs_rec_gpu_lost l = { .type = GS_REC_GPU_LOST, .nslots = 1, .t = gs_now(),
                                         .dropped = dropped };
            gs_put(&l, 1);
        }
    }
    pthread_mutex_unlock(&gs_parse_mu);
    free(buf);
}

static uint64_t CUPTIAPI gs_cupti_ts(void)
{
    return gs_mono_ns();
}

/* ---- launches no wrapper saw ----
 * A kernel launched through a path with no interposed wrapper (a static
 * cudart, cuDNN's or NCCL's own pointers into the driver) still passes
 * CUPTI's API callback on the launching thread.  The outermost launch
 * callback outside our wrappers (t->busy is set inside them) becomes an
 * API record with GS_API_F_CUPTI, its correlation id, the region open at
 * the launch and, for the four common forms, the grid: the analyzer joins
 * the kernel to it like any launch, so it lands in a layer row. */
static __thread int gs_cb_depth __attribute__((tls_model("initial-exec")));
static __thread struct { struct gs_rec_api a; uint32_t corr; int on; } gs_orphan
    __attribute__((tls_model("initial-exec")));

static uint8_t gs_orphan_fn(CUpti_CallbackDomain dom, CUpti_CallbackId cbid)
{
    if (dom == CUPTI_CB_DOMAIN_RUNTIME_API)
        switch (cbid) {
        case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000: return GS_API_cudaLaunchKernel;
        case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000: return GS_API_cudaLaunchKernel_ptsz;
        case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_v9000: return GS_API_cudaLaunchCooperativeKernel;
        case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_ptsz_v9000:
            return GS_API_cudaLaunchCooperativeKernel_ptsz;
        case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_v11060: return GS_API_cudaLaunchKernelExC;
        case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_ptsz_v11060: return GS_API_cudaLaunchKernelExC_ptsz;
        case 505: return GS_API___cudaLaunchKernel;
        case 506: return GS_API___cudaLaunchKernel_ptsz;
        case CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_v10000: return GS_API_cudaGraphLaunch;
        case CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_ptsz_v10000: return GS_API_cudaGraphLaunch_ptsz;
        default: return GS_API_NONE;
        }
    switch (cbid) {
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel: return GS_API_cuLaunchKernel;
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz: return GS_API_cuLaunchKernel_ptsz;
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx: return GS_API_cuLaunchKernelEx;
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz: return GS_API_cuLaunchKernelEx_ptsz;
    default: return GS_API_NONE;
    }
}

#define GS_ORPHAN_GRID(a, gx, gy, gz, bx, by, bz)                                       \
    ((a)->u.g.grid_x = (gx), (a)->u.g.grid_y = (uint16_t)(gy), (a)->grid_z = (uint16_t)(gz), \
     (a)->block = GS_API_BLOCK(bx, by, bz))

static void gs_orphan_begin(CUpti_CallbackDomain dom, CUpti_CallbackId cbid, const CUpti_CallbackData *d)
{
    struct gs_thread *t = &gs_tls;
    uint8_t fn = gs_orphan_fn(dom, cbid);
    if (fn == GS_API_NONE || !gs_recording(t))
        return;
    struct gs_rec_api *a = &gs_orphan.a;
    memset(a, 0, sizeof *a);
    a->type = GS_REC_API;
    a->fn = fn;
    a->flags = GS_API_F_CUPTI;
    const void *p = d->functionParams;
    if (p && dom == CUPTI_CB_DOMAIN_RUNTIME_API &&
        (fn == GS_API_cudaLaunchKernel || fn == GS_API_cudaLaunchKernel_ptsz)) {
        const cudaLaunchKernel_v7000_params *k = p;
        GS_ORPHAN_GRID(a, k->gridDim.x, k->gridDim.y, k->gridDim.z, k->blockDim.x, k->blockDim.y, k->blockDim.z);
        a->stream = (uint32_t)(uintptr_t)k->stream;
    } else if (p && (fn == GS_API_cuLaunchKernel || fn == GS_API_cuLaunchKernel_ptsz)) {
        const cuLaunchKernel_params *k = p;
        GS_ORPHAN_GRID(a, k->gridDimX, k->gridDimY, k->gridDimZ, k->blockDimX, k->blockDimY, k->blockDimZ);
        a->stream = (uint32_t)(uintptr_t)k->hStream;
    } else if (p && (fn == GS_API_cuLaunchKernelEx || fn == GS_API_cuLaunchKernelEx_ptsz)) {
        const CUlaunchConfig *c = ((const cuLaunchKernelEx_params *)p)->config;
        if (c) {
            GS_ORPHAN_GRID(a, c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX, c->blockDimY, c->blockDimZ);
            a->stream = (uint32_t)(uintptr_t)c->hStream;
        }
    }
    gs_orphan.corr = d->correlationId;
    gs_orphan.on = 1;
    a->t0 = gs_now();
}

static void gs_orphan_end(const CUpti_CallbackData *d)
{
    uint64_t t1 = gs_now();
    struct gs_thread *t = &gs_tls;
    gs_orphan.on = 0;
    if (d->functionReturnValue)
        gs_orphan.a.ret = (int16_t)*(const int *)d->functionReturnValue;
    gs_gpu_corr = gs_orphan.corr;
    int was = t->busy;
    t->busy = 1;
    gs_gpu_api_record(t, &gs_orphan.a, t1);
    t->busy = was;
    gs_gpu_corr = 0;
}

/* launch correlation ids and context teardown */
static void CUPTIAPI gs_cupti_cb(void *ud, CUpti_CallbackDomain dom, CUpti_CallbackId cbid,
                                 const void *data)
{
    (void)ud;
    if (dom == CUPTI_CB_DOMAIN_RUNTIME_API || dom == CUPTI_CB_DOMAIN_DRIVER_API) {
        const CUpti_CallbackData *d = data;
        if (d->callbackSite == CUPTI_API_ENTER) {
            /* inside one of our wrappers: the wrapper's record takes the id */
            if (gs_tls.busy) {
                if (!gs_gpu_corr)
                    gs_gpu_corr = d->correlationId;
            } else if (gs_cb_depth == 0) {
                gs_orphan_begin(dom, cbid, d);
            }
            gs_cb_depth++;
        } else if (gs_cb_depth > 0 && --gs_cb_depth == 0 && gs_orphan.on) {
            gs_orphan_end(d);
        }
    } else if (dom == CUPTI_CB_DOMAIN_RESOURCE && cbid == CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING) {
        if (!gs_cupti_forked)
            p_cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    }
}

static const CUpti_CallbackId gs_rt_cbids[] = {
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_v9000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_ptsz_v9000,
    CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_v10000, CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_ptsz_v10000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_v11060, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_ptsz_v11060,
    505, 506,                   /* __cudaLaunchKernel(_ptsz)_v13000: by number, CUDA 12 headers lack them */
    CUPTI_RUNTIME_TRACE_CBID_cudaMemcpy_v3020, CUPTI_RUNTIME_TRACE_CBID_cudaMemcpyAsync_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaMemset_v3020, CUPTI_RUNTIME_TRACE_CBID_cudaMemsetAsync_v3020,
};
static const CUpti_CallbackId gs_drv_cbids[] = {
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz,
};

static void gs_cupti_start(void)
{
    static int once;
    if (__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL))
        return;
    if (!gs_setting_bool("GREENSHIM_CUPTI")) {
        gs_dbg("GREENSHIM_CUPTI=0: no kernel timing");
        return;
    }
    if (!gs_cupti_load())
        return;
    CUpti_SubscriberHandle sub;
    CUptiResult r = p_cuptiSubscribe(&sub, (CUpti_CallbackFunc)gs_cupti_cb, NULL);
    if (r == CUPTI_SUCCESS) {
        gs_cupti_sub = sub;
        __atomic_store_n(&gs_cupti_held, 1, __ATOMIC_RELEASE);
    }
    if (r != CUPTI_SUCCESS) {
        if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED)
            gs_log("another tool holds CUPTI (nsys, Kineto, compute-sanitizer?): GPU kernels will not "
                   "be timed; CUDA calls and NVML energy are still recorded");
        else
            gs_log("cuptiSubscribe failed (%s): GPU kernels will not be timed", gs_cupti_err(r));
        return;
    }
    if (!p_cuptiActivityRegisterTimestampCallback ||
        p_cuptiActivityRegisterTimestampCallback(gs_cupti_ts) != CUPTI_SUCCESS) {
        /* CUPTI's own clock: the offset to ours, read back to back */
        uint64_t c = 0, m0 = gs_mono_ns();
        p_cuptiGetTimestamp(&c);
        uint64_t m1 = gs_mono_ns();
        gs_cupti_ts_offset = (int64_t)(m0 + (m1 - m0) / 2) - (int64_t)c;
        gs_dbg("CUPTI timestamps offset by %lld ns to CLOCK_MONOTONIC", (long long)gs_cupti_ts_offset);
    }
    if ((r = p_cuptiActivityRegisterCallbacks(gs_buf_requested, gs_buf_completed)) != CUPTI_SUCCESS) {
        gs_log("CUPTI activity buffers refused (%s): GPU kernels will not be timed", gs_cupti_err(r));
        return;
    }
    if ((r = p_cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL)) != CUPTI_SUCCESS) {
        gs_log("CUPTI kernel activity refused (%s): GPU kernels will not be timed", gs_cupti_err(r));
        return;
    }
    p_cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY);
    p_cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMSET);
    p_cuptiActivityEnable(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION);
    for (size_t i = 0; i < sizeof gs_rt_cbids / sizeof *gs_rt_cbids; i++)
        p_cuptiEnableCallback(1, sub, CUPTI_CB_DOMAIN_RUNTIME_API, gs_rt_cbids[i]);
    for (size_t i = 0; i < sizeof gs_drv_cbids / sizeof *gs_drv_cbids; i++)
        p_cuptiEnableCallback(1, sub, CUPTI_CB_DOMAIN_DRIVER_API, gs_drv_cbids[i]);
    p_cuptiEnableCallback(1, sub, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING);
    __atomic_store_n(&gs_cupti_live, 1, __ATOMIC_RELEASE);
    gs_sources |= GS_SRC_CUPTI;
    gs_dbg("CUPTI kernel timing on");
}

/* ---- sharing CUPTI with the user's profiler ----
 * CUPTI has one subscriber, one set of activity buffers, one timestamp
 * callback and per-kind external-correlation stacks per process.  The
 * shim takes them first (injection at cuInit); when another client of the
 * process (torch.profiler / Kineto, Nsight, any CUPTI tool) asks for them,
 * the shim gives them up at once, so the user's profiler works as it would
 * alone: our buffers are flushed, our activity kinds disabled, CUPTI's own
 * clock restored, our subscription dropped, and no more external ids are
 * pushed.  One line says so; kernels after that are not timed by us (the
 * launch records stay).  GREENSHIM_CUPTI=0 never takes CUPTI at all. */
static void gs_cupti_yield(const char *what)
{
    if (!__atomic_exchange_n(&gs_cupti_held, 0, __ATOMIC_ACQ_REL) || gs_cupti_forked)
        return;
    __atomic_store_n(&gs_cupti_live, 0, __ATOMIC_RELEASE);
    p_cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    if (p_cuptiActivityDisable) {
        p_cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
        p_cuptiActivityDisable(CUPTI_ACTIVITY_KIND_MEMCPY);
        p_cuptiActivityDisable(CUPTI_ACTIVITY_KIND_MEMSET);
        p_cuptiActivityDisable(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION);
    }
    if (p_cuptiActivityRegisterTimestampCallback)
        p_cuptiActivityRegisterTimestampCallback(NULL);
    if (p_cuptiUnsubscribe)
        p_cuptiUnsubscribe(gs_cupti_sub);
    gs_log("another CUPTI client in this process (%s: torch.profiler/Kineto, Nsight or a CUPTI tool) "
           "asked for CUPTI: greenshim gave it up, so that tool works as it would alone; GPU kernels from "
           "now on are not timed by greenshim (their launches still are); GREENSHIM_CUPTI=0 leaves CUPTI "
           "to the other tool from the start", what);
}

#define GS_CUPTI_FWD(name, PARAMS, ARGS)                                               \
    GS_API CUptiResult CUPTIAPI name PARAMS                                            \
    {                                                                                  \
        static void *real_;                                                            \
        CUptiResult (*fn_) PARAMS = (CUptiResult (*) PARAMS)__atomic_load_n(&real_, __ATOMIC_ACQUIRE); \
        if (!fn_ && !(fn_ = (CUptiResult (*) PARAMS)gs_resolve(&real_, #name)))          \
            return CUPTI_ERROR_NOT_INITIALIZED;                                        \
        gs_cupti_yield(#name);                                                         \
        return fn_ ARGS;                                                               \
    }
/* what another client calls first; the shim calls CUPTI through its own
 * handle (p_*), never through these */
GS_CUPTI_FWD(cuptiSubscribe, (CUpti_SubscriberHandle *s, CUpti_CallbackFunc cb, void *ud), (s, cb, ud))
GS_CUPTI_FWD(cuptiSubscribe_v2, (CUpti_SubscriberHandle *s, CUpti_CallbackFunc cb, void *ud,
                                 CUpti_SubscriberParams *p), (s, cb, ud, p))
GS_CUPTI_FWD(cuptiActivityRegisterCallbacks, (CUpti_BuffersCallbackRequestFunc rq,
                                              CUpti_BuffersCallbackCompleteFunc cp), (rq, cp))
GS_CUPTI_FWD(cuptiActivityRegisterTimestampCallback, (CUpti_TimestampCallbackFunc f), (f))

uint32_t gs_cupti_ext_push(void)
{
    if (!__atomic_load_n(&gs_cupti_live, __ATOMIC_ACQUIRE) || gs_cupti_forked)
        return 0;
    uint32_t id = __atomic_add_fetch(&gs_ext_next, 1, __ATOMIC_RELAXED);
    if (p_cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, id) != CUPTI_SUCCESS)
        return 0;
    return id;
}

void gs_cupti_ext_pop(uint32_t id)
{
    uint64_t got;
    if (id)
        p_cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &got);
}

/* the GPU module: a fork child never touches CUPTI or NVML (CUDA itself
 * cannot be used there); at exit CUPTI's last buffers, then NVML's last
 * point, before the writer ends */
static void gs_gpu_fork_child(void)
{
    gs_cupti_forked = 1;
    gs_cupti_live = 0;
    pthread_mutex_init(&gs_parse_mu, NULL);
    gs_nvml_fork_child();
}

static void gs_gpu_fini(void)
{
    if (__atomic_load_n(&gs_cupti_live, __ATOMIC_ACQUIRE) && !gs_cupti_forked)
        p_cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    pthread_mutex_lock(&gs_parse_mu);
    gs_cupti_closed = 1;
    pthread_mutex_unlock(&gs_parse_mu);
    gs_nvml_stop();
}

#else /* no CUPTI headers at build time */

static void gs_cupti_start(void)
{
    gs_log("this libgreenshim was built without CUPTI headers: GPU kernels will not be timed");
}
uint32_t gs_cupti_ext_push(void) { return 0; }
void gs_cupti_ext_pop(uint32_t id) { (void)id; }
static void gs_gpu_fork_child(void)
{
    gs_nvml_fork_child();
}
static void gs_gpu_fini(void)
{
    gs_nvml_stop();
}

#endif

GS_MODULE(gpu, NULL, NULL, gs_gpu_fork_child, gs_gpu_fini);

/* The CUDA driver calls this at cuInit when CUDA_INJECTION64_PATH names us:
 * it counts as an intercepted call (the recorder starts here if nothing
 * started it before). */
GS_API int InitializeInjection(void)
{
    struct gs_thread *t = &gs_tls;
    /* inside one of our wrappers (cuInit from the program's first CUDA
     * call) the recorder is already started and the thread busy */
    if (!gs_enabled && !gs_recording(t))
        return 1;
    int was = t->busy;
    t->busy = 1;
    gs_gpu_first_call();
    gs_cupti_start();
    t->busy = was;
    return 1;
}
