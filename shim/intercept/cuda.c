/* cuda.c - the CUDA runtime and driver interposers: kernel launches (every
 * form, including CUDA 13's <<<>>> path __cudaLaunchKernel), graph launches,
 * memcpy/memset and synchronisation.  Same machinery as the BLAS wrappers:
 * guard, clock, forward, clock, one record; the real return code goes back
 * to the caller unchanged and into the record.
 *
 * Nothing here needs a CUDA header or library at build time: the few ABI
 * types are declared locally (they are frozen C ABI), the real functions are
 * found at run time through gs_resolve.  Kernel names come from
 * __cudaRegisterFunction (host stub -> device name, no driver needed),
 * __cudaGetKernel (cudaKernel_t -> host stub), else cudaFuncGetName /
 * cuFuncGetName, cached per pointer. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "../gs.h"
#include "gpu.h"


/* ---- the CUDA ABI, declared locally ---- */
typedef struct { unsigned x, y, z; } gs_dim3;
typedef int gs_cudaerr;                 /* cudaError_t */
typedef int gs_curesult;                /* CUresult */
typedef void *gs_stream;                /* cudaStream_t, CUstream */
/* cudaLaunchConfig_t: gridDim, blockDim, dynamicSmemBytes, stream, attrs, numAttrs */
typedef struct { gs_dim3 grid, block; size_t shmem; gs_stream stream; void *attrs; unsigned nattrs; } gs_launch_config;
/* CUlaunchConfig: gridDimX..Z, blockDimX..Z, sharedMemBytes, hStream, attrs, numAttrs */
typedef struct { unsigned gx, gy, gz, bx, by, bz, shmem; gs_stream stream; void *attrs; unsigned nattrs; } gs_cu_launch_config;
#define GS_CUDA_ERR_UNKNOWN 999         /* cudaErrorUnknown == CUDA_ERROR_UNKNOWN */

__thread uint32_t gs_gpu_corr __attribute__((tls_model("initial-exec")));
int gs_gpu_started;

/* ---- strings: kernel and GPU names, interned by text ---- */

struct gs_gstr { uint64_t hash; char *text; uint32_t id; int gen; };
static pthread_mutex_t gs_gstr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gs_gstr *gs_gstrs;        /* open addressing by hash */
static uint32_t gs_gstr_cap, gs_gstr_n;

static uint64_t gs_fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h | 1;
}

/* The id of 'text' (kind GS_STR_KERNEL or GS_STR_GPU); the STRING record goes
 * out (again in a fork child) before the id is returned.  0 when out of memory. */
uint32_t gs_gpu_string(int kind, const char *text)
{
    if (!text)
        return 0;
    uint64_t h = gs_fnv(text);
    uint32_t id = 0;
    pthread_mutex_lock(&gs_gstr_lock);
    if ((gs_gstr_n + 1) * 2 > gs_gstr_cap) {
        uint32_t cap = gs_gstr_cap ? gs_gstr_cap * 2 : 1024;
        struct gs_gstr *n = calloc(cap, sizeof *n);
        if (!n)
            goto out;
        for (uint32_t i = 0; i < gs_gstr_cap; i++) {
            if (!gs_gstrs[i].hash)
                continue;
            uint32_t j = (uint32_t)gs_gstrs[i].hash & (cap - 1);
            while (n[j].hash)
                j = (j + 1) & (cap - 1);
            n[j] = gs_gstrs[i];
        }
        free(gs_gstrs);
        gs_gstrs = n;
        gs_gstr_cap = cap;
    }
    uint32_t i = (uint32_t)h & (gs_gstr_cap - 1);
    for (; gs_gstrs[i].hash; i = (i + 1) & (gs_gstr_cap - 1))
        if (gs_gstrs[i].hash == h && strcmp(gs_gstrs[i].text, text) == 0)
            break;
    struct gs_gstr *e = &gs_gstrs[i];
    if (!e->hash) {
        if (!(e->text = strdup(text)))
            goto out;
        e->hash = h;
        e->id = GS_STR_ID_GPU + ++gs_gstr_n;
        e->gen = 0;
    }
    if (e->gen != gs_gen) {
        e->gen = gs_gen;
        gs_emit_string(kind, e->id, e->text);
    }
    id = e->id;
out:
    pthread_mutex_unlock(&gs_gstr_lock);
    return id;
}

/* ---- pointer -> kernel name (host stub, cudaKernel_t, CUfunction) ---- */

#define GS_KMAP_CAP 16384u              /* power of two; a program has a few thousand kernels */
struct gs_kmap { const void *key; const char *name; uint32_t id; int gen; };
static struct gs_kmap gs_kmap[GS_KMAP_CAP];
static pthread_mutex_t gs_kmap_lock = PTHREAD_MUTEX_INITIALIZER;

static inline uint32_t gs_kmap_slot(const void *key)
{
    uint64_t k = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(k >> 40) & (GS_KMAP_CAP - 1);
}

static struct gs_kmap *gs_kmap_find(const void *key)
{
    for (uint32_t i = gs_kmap_slot(key), n = 0; n < 64; i = (i + 1) & (GS_KMAP_CAP - 1), n++) {
        const void *k = __atomic_load_n(&gs_kmap[i].key, __ATOMIC_ACQUIRE);
        if (k == key)
            return &gs_kmap[i];
        if (!k)
            return NULL;
    }
    return NULL;
}

/* name is copied; a later name for the same key wins */
static void gs_kmap_put(const void *key, const char *name)
{
    if (!key || !name)
        return;
    pthread_mutex_lock(&gs_kmap_lock);
    for (uint32_t i = gs_kmap_slot(key), n = 0; n < 64; i = (i + 1) & (GS_KMAP_CAP - 1), n++) {
        struct gs_kmap *e = &gs_kmap[i];
        if (e->key && e->key != key)
            continue;
        if (e->key == key && e->name && strcmp(e->name, name) == 0)
            break;
        char *copy = strdup(name);
        if (!copy)
            break;
        e->name = copy;                 /* an older copy leaks: keys are rarely renamed */
        e->id = 0;
        __atomic_store_n(&e->key, key, __ATOMIC_RELEASE);
        break;
    }
    pthread_mutex_unlock(&gs_kmap_lock);
}

typedef gs_cudaerr (*gs_fn_cudaFuncGetName)(const char **, const void *);
typedef gs_curesult (*gs_fn_cuFuncGetName)(const char **, const void *);
static void *gs_real_cudaFuncGetName, *gs_real_cuFuncGetName;

/* The name id of a launched kernel, asking CUDA only the first time. */
static uint32_t gs_kernel_id(const void *key, int driver)
{
    if (!key)
        return 0;
    struct gs_kmap *e = gs_kmap_find(key);
    if (GS_LIKELY(e && e->id && e->gen == gs_gen))
        return e->id;
    if (!e) {
        const char *name = NULL;
        if (driver) {
            gs_fn_cuFuncGetName f = __atomic_load_n(&gs_real_cuFuncGetName, __ATOMIC_ACQUIRE);
            if (f || (f = (gs_fn_cuFuncGetName)gs_resolve_quiet(&gs_real_cuFuncGetName, "cuFuncGetName")))
                if (f(&name, key) != 0)
                    name = NULL;
        } else {
            gs_fn_cudaFuncGetName f = __atomic_load_n(&gs_real_cudaFuncGetName, __ATOMIC_ACQUIRE);
            if (f || (f = (gs_fn_cudaFuncGetName)gs_resolve_quiet(&gs_real_cudaFuncGetName, "cudaFuncGetName")))
                if (f(&name, key) != 0)
                    name = NULL;
        }
        gs_kmap_put(key, name ? name : "(unknown kernel)");
        if (!(e = gs_kmap_find(key)))
            return 0;
    }
    uint32_t id = gs_gpu_string(GS_STR_KERNEL, e->name);
    e->id = id;
    e->gen = gs_gen;
    return id;
}

/* ---- records ---- */

static inline void gs_api_emit(struct gs_thread *t, struct gs_rec_api *a, uint64_t t1)
{
    uint64_t dt = t1 - a->t0;
    a->nslots = 1;
    if (GS_UNLIKELY(dt >> 32)) {
        a->flags |= GS_API_F_DT_SHIFT;
        dt >>= 16;
    }
    a->dt = (uint32_t)dt;
    a->region = t->region_depth ? t->region_stack[t->region_depth - 1] : 0;
    a->corr = gs_gpu_corr;
    t->ncalls++;
    uint8_t *s = gs_call_slot(t, 1);
    if (GS_UNLIKELY(!s))
        return;
    memcpy(s + 1, (const uint8_t *)a + 1, sizeof *a - 1);
    gs_rec_commit(s, GS_REC_API);
}

void gs_gpu_api_record(struct gs_thread *t, struct gs_rec_api *a, uint64_t t1)
{
    gs_api_emit(t, a, t1);
}

/* The first intercepted CUDA call of the process starts NVML (under nsys or
 * ncu our injection entry point is never called). */
void gs_gpu_first_call(void)
{
    if (__atomic_exchange_n(&gs_gpu_started, 1, __ATOMIC_ACQ_REL))
        return;
    gs_sources |= GS_SRC_CUDA;
    gs_nvml_start();
}

/* The body every CUDA wrapper shares.  FILL sets fields of 'a_' (a struct
 * gs_rec_api) from the arguments after the real call. */
#define GS_CUDA_WRAP(RT, name, FN, PARAMS, ARGS, FILL)                                  \
    typedef RT (*gs_fn_##name) PARAMS;                                                 \
    GS_API RT name PARAMS                                                              \
    {                                                                                  \
        static void *real_;                                                            \
        gs_fn_##name fn_ = (gs_fn_##name)__atomic_load_n(&real_, __ATOMIC_ACQUIRE);     \
        if (GS_UNLIKELY(!fn_) && !(fn_ = (gs_fn_##name)gs_resolve(&real_, #name)))      \
            return (RT)GS_CUDA_ERR_UNKNOWN;                                            \
        struct gs_thread *t_ = &gs_tls;                                                \
        if (GS_UNLIKELY(!gs_recording(t_)))                                            \
            return fn_ ARGS;                                                           \
        if (GS_UNLIKELY(!gs_gpu_started))                                              \
            gs_gpu_first_call();                                                       \
        t_->busy = 1;                                                                  \
        gs_gpu_corr = 0;                                                               \
        uint64_t t0_ = gs_now();                                                       \
        RT ret_ = fn_ ARGS;                                                            \
        uint64_t t1_ = gs_now();                                                       \
        struct gs_rec_api a_ = { .type = GS_REC_API, .fn = (FN), .t0 = t0_,            \
                                 .ret = (int16_t)ret_ };                               \
        FILL;                                                                          \
        gs_api_emit(t_, &a_, t1_);                                                     \
        t_->busy = 0;                                                                  \
        return ret_;                                                                   \
    }

#define GS_GRID3(gx, gy, gz, bx, by, bz)                                               \
    a_.u.g.grid_x = (gx), a_.u.g.grid_y = (uint16_t)(gy), a_.grid_z = (uint16_t)(gz),   \
    a_.block = GS_API_BLOCK(bx, by, bz)
#define GS_GRID(g, b) GS_GRID3((g).x, (g).y, (g).z, (b).x, (b).y, (b).z)
#define GS_STREAM(s) (uint32_t)(uintptr_t)(s)

/* runtime launches: host stub */
#define GS_LAUNCH_RT(name)                                                             \
    GS_CUDA_WRAP(gs_cudaerr, name, GS_API_##name,                                      \
        (const void *func, gs_dim3 grid, gs_dim3 block, void **args, size_t shmem, gs_stream stream), \
        (func, grid, block, args, shmem, stream),                                      \
        (GS_GRID(grid, block), a_.stream = GS_STREAM(stream),         \
         a_.kernel = gs_kernel_id(func, 0)))
GS_LAUNCH_RT(cudaLaunchKernel)
GS_LAUNCH_RT(cudaLaunchKernel_ptsz)
GS_LAUNCH_RT(cudaLaunchCooperativeKernel)
GS_LAUNCH_RT(cudaLaunchCooperativeKernel_ptsz)

/* CUDA 13 <<<>>>: a cudaKernel_t from __cudaGetKernel */
#define GS_LAUNCH_K(name)                                                              \
    GS_CUDA_WRAP(gs_cudaerr, name, GS_API_##name,                                      \
        (const void *kernel, gs_dim3 grid, gs_dim3 block, void **args, size_t shmem, gs_stream stream), \
        (kernel, grid, block, args, shmem, stream),                                    \
        (GS_GRID(grid, block), a_.stream = GS_STREAM(stream),         \
         a_.kernel = gs_kernel_id(kernel, 0)))
GS_LAUNCH_K(__cudaLaunchKernel)
GS_LAUNCH_K(__cudaLaunchKernel_ptsz)

#define GS_LAUNCH_EXC(name)                                                            \
    GS_CUDA_WRAP(gs_cudaerr, name, GS_API_##name,                                      \
        (const gs_launch_config *cfg, const void *func, void **args), (cfg, func, args), \
        (cfg ? (GS_GRID(cfg->grid, cfg->block), a_.stream = GS_STREAM(cfg->stream)) : 0, \
         a_.kernel = gs_kernel_id(func, 0)))
GS_LAUNCH_EXC(cudaLaunchKernelExC)
GS_LAUNCH_EXC(cudaLaunchKernelExC_ptsz)

/* __cudaGetKernel maps the handle to the host stub's name; recorded too,
 * as it is the <<<>>> path's first CUDA call */
GS_CUDA_WRAP(gs_cudaerr, __cudaGetKernel, GS_API___cudaGetKernel,
    (void **kernel, const void *func), (kernel, func),
    (a_.kernel = gs_kernel_id(func, 0),
     (ret_ == 0 && kernel && *kernel && gs_kmap_find(func)) ?
         gs_kmap_put(*kernel, gs_kmap_find(func)->name) : (void)0))

/* driver launches: CUfunction.  Also what a lookup through dlsym on a
 * handle of libcuda or through cuGetProcAddress returns (driver_entry.c). */
#define GS_CU_LAUNCH(name)                                                             \
    GS_CUDA_WRAP(gs_curesult, name, GS_API_##name,                                     \
        (const void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, \
         unsigned shmem, gs_stream stream, void **params, void **extra),               \
        (f, gx, gy, gz, bx, by, bz, shmem, stream, params, extra),                     \
        (GS_GRID3(gx, gy, gz, bx, by, bz), a_.stream = GS_STREAM(stream), a_.kernel = gs_kernel_id(f, 1)))
#define GS_CU_LAUNCH_EX(name)                                                          \
    GS_CUDA_WRAP(gs_curesult, name, GS_API_##name,                                     \
        (const gs_cu_launch_config *cfg, const void *f, void **params, void **extra),  \
        (cfg, f, params, extra),                                                       \
        (cfg ? (GS_GRID3(cfg->gx, cfg->gy, cfg->gz, cfg->bx, cfg->by, cfg->bz),        \
                a_.stream = GS_STREAM(cfg->stream)) : 0,                               \
         a_.kernel = gs_kernel_id(f, 1)))
GS_CU_LAUNCH(cuLaunchKernel)
GS_CU_LAUNCH(cuLaunchKernel_ptsz)
GS_CU_LAUNCH_EX(cuLaunchKernelEx)
GS_CU_LAUNCH_EX(cuLaunchKernelEx_ptsz)

/* graphs */
#define GS_GRAPH(name)                                                                 \
    GS_CUDA_WRAP(gs_cudaerr, name, GS_API_##name, (void *exec, gs_stream stream), (exec, stream), \
                 (a_.stream = GS_STREAM(stream)))
GS_GRAPH(cudaGraphLaunch)
GS_GRAPH(cudaGraphLaunch_ptsz)

/* memcpy / memset */
#define GS_MEMCPY(name)                                                                \
    GS_CUDA_WRAP(gs_cudaerr, name, GS_API_##name,                                      \
                 (void *dst, const void *src, size_t n, int kind), (dst, src, n, kind), \
                 (a_.u.bytes = n, a_.kernel = (uint32_t)kind))
#define GS_MEMCPY_A(name)                                                              \
    GS_CUDA_WRAP(gs_cudaerr, name, GS_API_##name,                                      \
                 (void *dst, const void *src, size_t n, int kind, gs_stream s), (dst, src, n, kind, s), \
                 (a_.u.bytes = n, a_.kernel = (uint32_t)kind, a_.stream = GS_STREAM(s)))
#define GS_MEMSET(name)                                                                \
    GS_CUDA_WRAP(gs_cudaerr, name, GS_API_##name, (void *dst, int v, size_t n), (dst, v, n), \
                 (a_.u.bytes = n))
#define GS_MEMSET_A(name)                                                              \
    GS_CUDA_WRAP(gs_cudaerr, name, GS_API_##name, (void *dst, int v, size_t n, gs_stream s), \
                 (dst, v, n, s), (a_.u.bytes = n, a_.stream = GS_STREAM(s)))
GS_MEMCPY(cudaMemcpy)
GS_MEMCPY(cudaMemcpy_ptds)
GS_MEMCPY_A(cudaMemcpyAsync)
GS_MEMCPY_A(cudaMemcpyAsync_ptsz)
GS_MEMSET(cudaMemset)
GS_MEMSET(cudaMemset_ptds)
GS_MEMSET_A(cudaMemsetAsync)
GS_MEMSET_A(cudaMemsetAsync_ptsz)

/* synchronisation */
GS_CUDA_WRAP(gs_cudaerr, cudaDeviceSynchronize, GS_API_cudaDeviceSynchronize, (void), (), (void)0)
#define GS_SYNC1(RT, name)                                                             \
    GS_CUDA_WRAP(RT, name, GS_API_##name, (gs_stream s), (s), (a_.stream = GS_STREAM(s)))
GS_SYNC1(gs_cudaerr, cudaStreamSynchronize)
GS_SYNC1(gs_cudaerr, cudaStreamSynchronize_ptsz)
GS_SYNC1(gs_curesult, cuStreamSynchronize)
GS_SYNC1(gs_curesult, cuStreamSynchronize_ptsz)
GS_CUDA_WRAP(gs_cudaerr, cudaEventSynchronize, GS_API_cudaEventSynchronize, (void *ev), (ev), (void)0)
GS_CUDA_WRAP(gs_curesult, cuCtxSynchronize, GS_API_cuCtxSynchronize, (void), (), (void)0)

/* ---- registration: host stub -> device function name, from the program's
 * module constructors; forwarded untouched and never recorded ---- */
typedef void (*gs_fn_regfn)(void **, const char *, char *, const char *, int, void *, void *,
                            void *, void *, int *);
GS_API void __cudaRegisterFunction(void **fatbin, const char *host_fun, char *device_fun,
                                   const char *device_name, int thread_limit, void *tid,
                                   void *bid, void *bdim, void *gdim, int *wsize)
{
    static void *real_;
    gs_fn_regfn fn = (gs_fn_regfn)__atomic_load_n(&real_, __ATOMIC_ACQUIRE);
    if (!fn && !(fn = (gs_fn_regfn)gs_resolve(&real_, "__cudaRegisterFunction")))
        return;
    gs_kmap_put(host_fun, device_name ? device_name : device_fun);
    fn(fatbin, host_fun, device_fun, device_name, thread_limit, tid, bid, bdim, gdim, wsize);
}
