/* dnnl.c - the oneDNN interposer: dnnl_primitive_execute (convolutions,
 * pooling, normalisation, inner products in PyTorch's CPU path).
 *
 * A call only stamps: guard, clock, forward, clock, one 48-byte EXEC record
 * naming the primitive by a per-process id.  What the primitive is (kind,
 * propagation, src/weights/dst dims) is asked of oneDNN once per primitive,
 * the first time this process executes it, and written as one PRIM record;
 * a table keyed by the primitive pointer remembers the id, and primitives
 * with equal descriptions share one (one PRIM record per description).
 * dnnl_primitive_destroy forgets the pointer, so a new primitive at a reused
 * address gets a new id.  The real functions are found like the BLAS ones
 * (resolve.c): libdnnl is usually loaded RTLD_LOCAL under Python.
 *
 * Built against oneDNN 2.x's C API (Debian 12: libdnnl-dev 2.6.3,
 * <oneapi/dnnl/dnnl.h>), where a memory descriptor is a plain struct.
 * oneDNN 3.x (PyTorch 2.x, the wheels) is found at run time by
 * dnnl_version(): its memory descriptors are opaque (dims through
 * dnnl_memory_desc_query) and its primitive kinds are renumbered (3.x
 * dropped pooling_v2, softmax_v2, logsoftmax ...: 3.x's 16 is pooling,
 * 2.x's binary); the query numbers used here are the same in both. */
#include <pthread.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>
#include "../gs.h"

GS_HIDDEN void *gs_resolve(void **slot, const char *name);
GS_HIDDEN void *gs_resolve_quiet(void **slot, const char *name);

typedef dnnl_status_t (*gs_fn_exec)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t *);
typedef dnnl_status_t (*gs_fn_destroy)(dnnl_primitive_t);
typedef dnnl_status_t (*gs_fn_get_pd)(const_dnnl_primitive_t, const_dnnl_primitive_desc_t *);
typedef dnnl_status_t (*gs_fn_query)(const_dnnl_primitive_desc_t, dnnl_query_t, int, void *);
typedef const dnnl_memory_desc_t *(*gs_fn_query_md)(const_dnnl_primitive_desc_t, dnnl_query_t, int);

static void *real_exec, *real_destroy, *real_get_pd, *real_query, *real_query_md;
static void *real_md_query, *real_version;
static int gs_dnnl_v3;                  /* the library is oneDNN >= 3 */
typedef dnnl_status_t (*gs_fn_md_query3)(const void *md, int what, void *result);
enum { GS_DNNL3_QUERY_NDIMS = 256, GS_DNNL3_QUERY_DIMS = 257 };   /* dnnl_query_ndims_s32, dnnl_query_dims */

/* oneDNN 3.x's dnnl_primitive_kind_t */
static uint8_t gs_dnnl3_kind(int k)
{
    static const uint8_t map[] = {
        [1] = GS_DNNL_K_REORDER, [2] = GS_DNNL_K_SHUFFLE, [3] = GS_DNNL_K_CONCAT, [4] = GS_DNNL_K_SUM,
        [5] = GS_DNNL_K_CONV, [6] = GS_DNNL_K_DECONV, [7] = GS_DNNL_K_ELTWISE, [8] = GS_DNNL_K_LRN,
        [9] = GS_DNNL_K_BNORM, [10] = GS_DNNL_K_IP, [11] = GS_DNNL_K_RNN, [12] = GS_DNNL_K_MATMUL,
        [13] = GS_DNNL_K_BINARY, [14] = GS_DNNL_K_MATMUL, [15] = GS_DNNL_K_RESAMPLING, [16] = GS_DNNL_K_POOL,
        [17] = GS_DNNL_K_REDUCTION, [18] = GS_DNNL_K_PRELU, [19] = GS_DNNL_K_SOFTMAX, [20] = GS_DNNL_K_LNORM,
        [21] = GS_DNNL_K_LNORM,       /* group normalization */
    };
    return k > 0 && (size_t)k < sizeof map ? map[k] : GS_DNNL_K_OTHER;
}
__thread uint64_t gs_dnnl_execs __attribute__((tls_model("initial-exec")));   /* this thread's, recorded */

/* primitive pointer -> id; open addressing, linear probing, under a lock
 * (executions are microseconds to milliseconds each: a lock is cheap). */
#define GS_DNNL_SLOTS 4096
struct gs_dnnl_slot { const void *prim; uint32_t id; int gen; };
static struct gs_dnnl_slot gs_dnnl_tab[GS_DNNL_SLOTS];
static pthread_mutex_t gs_dnnl_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t gs_dnnl_next = 1;
static const void *const gs_dnnl_tomb = (const void *)1;

static size_t gs_dnnl_hash(const void *p)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 32) & (GS_DNNL_SLOTS - 1);
}

static uint8_t gs_dnnl_kind(int k)
{
    switch (k) {
    case dnnl_convolution:          return GS_DNNL_K_CONV;
    case dnnl_deconvolution:        return GS_DNNL_K_DECONV;
    case dnnl_inner_product:        return GS_DNNL_K_IP;
    case dnnl_matmul:               return GS_DNNL_K_MATMUL;
    case dnnl_pooling:
    case dnnl_pooling_v2:           return GS_DNNL_K_POOL;
    case dnnl_batch_normalization:  return GS_DNNL_K_BNORM;
    case dnnl_layer_normalization:  return GS_DNNL_K_LNORM;
    case dnnl_eltwise:              return GS_DNNL_K_ELTWISE;
    case dnnl_softmax:
    case dnnl_softmax_v2:
    case dnnl_logsoftmax:           return GS_DNNL_K_SOFTMAX;
    case dnnl_reorder:              return GS_DNNL_K_REORDER;
    case dnnl_binary:               return GS_DNNL_K_BINARY;
    case dnnl_sum:                  return GS_DNNL_K_SUM;
    case dnnl_concat:               return GS_DNNL_K_CONCAT;
    case dnnl_lrn:                  return GS_DNNL_K_LRN;
    case dnnl_rnn:                  return GS_DNNL_K_RNN;
    case dnnl_reduction:            return GS_DNNL_K_REDUCTION;
    case dnnl_resampling:           return GS_DNNL_K_RESAMPLING;
    case dnnl_prelu:                return GS_DNNL_K_PRELU;
    case dnnl_shuffle:              return GS_DNNL_K_SHUFFLE;
    default:                        return GS_DNNL_K_OTHER;
    }
}

static uint8_t gs_dnnl_prop(int p)
{
    switch (p) {
    case dnnl_forward_training:  return GS_DNNL_P_FWD_TRAIN;
    case dnnl_forward_inference: return GS_DNNL_P_FWD_INFER;
    case dnnl_backward:          return GS_DNNL_P_BWD;
    case dnnl_backward_data:     return GS_DNNL_P_BWD_DATA;
    case dnnl_backward_weights:  return GS_DNNL_P_BWD_WEIGHTS;
    default:                     return GS_DNNL_P_NONE;
    }
}

/* oneDNN 3.x: the opaque descriptor's dims */
static uint8_t gs_dnnl3_dims(const void *md, uint32_t *out)
{
    gs_fn_md_query3 mq = (gs_fn_md_query3)__atomic_load_n(&real_md_query, __ATOMIC_ACQUIRE);
    int nd = 0;
    const int64_t *dims = NULL;
    if (!md || !mq || mq(md, GS_DNNL3_QUERY_NDIMS, &nd) != dnnl_success || nd <= 0 ||
        mq(md, GS_DNNL3_QUERY_DIMS, &dims) != dnnl_success || !dims)
        return 0;
    int n = nd < GS_DNNL_MAXDIMS ? nd : GS_DNNL_MAXDIMS;
    for (int i = 0; i < n; i++)
        out[i] = dims[i] < 0 ? 0 : dims[i] > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)dims[i];
    return (uint8_t)n;
}

/* dims of the first of two queries that answers */
static uint8_t gs_dnnl_dims(const_dnnl_primitive_desc_t pd, dnnl_query_t a, dnnl_query_t b, uint32_t *out)
{
    gs_fn_query_md q = (gs_fn_query_md)__atomic_load_n(&real_query_md, __ATOMIC_ACQUIRE);
    if (!q)
        return 0;
    if (gs_dnnl_v3) {
        uint8_t n = gs_dnnl3_dims(q(pd, a, 0), out);
        return n ? n : gs_dnnl3_dims(q(pd, b, 0), out);
    }
    const dnnl_memory_desc_t *md = q(pd, a, 0);
    if (!md || md->ndims <= 0)
        md = q(pd, b, 0);
    if (!md || md->ndims <= 0)
        return 0;
    int n = md->ndims < GS_DNNL_MAXDIMS ? md->ndims : GS_DNNL_MAXDIMS;
    for (int i = 0; i < n; i++)
        out[i] = md->dims[i] < 0 ? 0 : md->dims[i] > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)md->dims[i];
    return (uint8_t)n;
}

/* Ask oneDNN what a primitive is: kind, propagation, dims (no lock held). */
static void gs_dnnl_query(const_dnnl_primitive_t prim, struct gs_rec_dnnl_prim *d)
{
    memset(d, 0, sizeof *d);
    d->nslots = 2;
    d->what = GS_DNNL_PRIM;
    const_dnnl_primitive_desc_t pd = NULL;
    gs_fn_get_pd get_pd = (gs_fn_get_pd)__atomic_load_n(&real_get_pd, __ATOMIC_ACQUIRE);
    gs_fn_query query = (gs_fn_query)__atomic_load_n(&real_query, __ATOMIC_ACQUIRE);
    if (get_pd && query && get_pd(prim, &pd) == dnnl_success && pd) {
        dnnl_primitive_kind_t kind = dnnl_undefined_primitive;
        dnnl_prop_kind_t prop = dnnl_prop_kind_undef;
        if (query(pd, dnnl_query_primitive_kind, 0, &kind) == dnnl_success)
            d->kind = gs_dnnl_v3 ? gs_dnnl3_kind((int)kind) : gs_dnnl_kind(kind);
        if (query(pd, dnnl_query_prop_kind, 0, &prop) == dnnl_success)
            d->prop = gs_dnnl_prop(prop);
        d->ndims[0] = gs_dnnl_dims(pd, dnnl_query_src_md, dnnl_query_diff_src_md, d->src);
        d->ndims[1] = gs_dnnl_dims(pd, dnnl_query_weights_md, dnnl_query_diff_weights_md, d->wei);
        d->ndims[2] = gs_dnnl_dims(pd, dnnl_query_dst_md, dnnl_query_diff_dst_md, d->dst);
    }
}

static void gs_dnnl_write(struct gs_thread *t, const struct gs_rec_dnnl_prim *d)
{
    uint8_t *s = gs_rec_slot(t, 2);
    if (!s)
        return;
    memcpy(s + 1, (const uint8_t *)d + 1, sizeof *d - 1);
    gs_rec_commit(s, GS_REC_DNNL);
}

/* Frameworks often make a fresh primitive for every call (PyTorch 1.13
 * does for convolutions): primitives with the same description share one
 * id, so the trace holds one PRIM record per distinct description. */
#define GS_DNNL_DESCS 1024
struct gs_dnnl_desc { uint64_t h; uint32_t id; int gen; struct gs_rec_dnnl_prim d; };
static struct gs_dnnl_desc gs_dnnl_descs[GS_DNNL_DESCS];

static uint64_t gs_dnnl_desc_hash(const struct gs_rec_dnnl_prim *d)
{
    const uint8_t *p = (const uint8_t *)d + 8;      /* after type .. prim */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof *d - 8; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h | 1;
}

/* The id of a description (primitives with equal descriptions share one);
 * the PRIM record goes out the first time.  prim: the primitive pointer to
 * remember for it, or NULL (a description from above oneDNN: aten.c). */
static uint32_t gs_dnnl_desc_id(struct gs_thread *t, struct gs_rec_dnnl_prim *d, const void *prim)
{
    uint32_t id = 0;
    uint64_t dh = gs_dnnl_desc_hash(d);
    int fresh = 0;
    pthread_mutex_lock(&gs_dnnl_lock);
    size_t q = (size_t)(dh >> 7) & (GS_DNNL_DESCS - 1);
    for (size_t i = 0; i < GS_DNNL_DESCS; i++, q = (q + 1) & (GS_DNNL_DESCS - 1)) {
        struct gs_dnnl_desc *e = &gs_dnnl_descs[q];
        if (e->h == dh && e->gen == gs_gen && !memcmp((const uint8_t *)&e->d + 8, (const uint8_t *)d + 8, sizeof *d - 8)) {
            id = e->id;
            break;
        }
        if (!e->h || e->gen != gs_gen) {
            e->h = dh;
            e->gen = gs_gen;
            e->id = id = gs_dnnl_next++;
            e->d = *d;
            fresh = 1;
            break;
        }
    }
    if (!id) {                          /* table full: a new id, described */
        id = gs_dnnl_next++;
        fresh = 1;
    }
    /* remember the pointer (a tombstone or empty slot) */
    size_t h = gs_dnnl_hash(prim);
    for (size_t i = 0; prim && i < GS_DNNL_SLOTS; i++, h = (h + 1) & (GS_DNNL_SLOTS - 1)) {
        struct gs_dnnl_slot *e = &gs_dnnl_tab[h];
        if (!e->prim || e->prim == gs_dnnl_tomb || e->prim == prim || e->gen != gs_gen) {
            e->prim = prim;
            e->id = id;
            e->gen = gs_gen;
            break;
        }
    }
    pthread_mutex_unlock(&gs_dnnl_lock);
    d->prim = id;
    if (fresh)
        gs_dnnl_write(t, d);
    return id;
}

/* The id of a primitive; describes it first when this process (this fork
 * generation) has not yet. */
static uint32_t gs_dnnl_id(struct gs_thread *t, const_dnnl_primitive_t prim)
{
    uint32_t id = 0;
    pthread_mutex_lock(&gs_dnnl_lock);
    size_t h = gs_dnnl_hash(prim);
    for (size_t i = 0; i < GS_DNNL_SLOTS && gs_dnnl_tab[h].prim; i++, h = (h + 1) & (GS_DNNL_SLOTS - 1))
        if (gs_dnnl_tab[h].prim == prim && gs_dnnl_tab[h].gen == gs_gen) {
            id = gs_dnnl_tab[h].id;
            break;
        }
    pthread_mutex_unlock(&gs_dnnl_lock);
    if (id)
        return id;

    /* first sight (in this process): what is it? */
    struct gs_rec_dnnl_prim d;
    gs_dnnl_query(prim, &d);
    return gs_dnnl_desc_id(t, &d, prim);
}

static int gs_dnnl_resolve_all(void)
{
    static int done;
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
        return 1;
    if (!gs_resolve(&real_get_pd, "dnnl_primitive_get_primitive_desc") ||
        !gs_resolve(&real_query, "dnnl_primitive_desc_query") ||
        !gs_resolve(&real_query_md, "dnnl_primitive_desc_query_md"))
        return 0;
    /* which oneDNN: 3.x describes memory through a query function */
    const dnnl_version_t *(*ver)(void) =
        (const dnnl_version_t *(*)(void))gs_resolve_quiet(&real_version, "dnnl_version");
    const dnnl_version_t *v = ver ? ver() : NULL;
    if (v && v->major >= 3) {
        if (!gs_resolve(&real_md_query, "dnnl_memory_desc_query"))
            return 0;
        gs_dnnl_v3 = 1;
    }
    if (v)
        gs_dbg("oneDNN %d.%d.%d", v->major, v->minor, v->patch);
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    return 1;
}

GS_API dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t prim, dnnl_stream_t stream,
                                            int nargs, const dnnl_exec_arg_t *args)
{
    gs_fn_exec fn = (gs_fn_exec)__atomic_load_n(&real_exec, __ATOMIC_ACQUIRE);
    if (GS_UNLIKELY(!fn) && !(fn = (gs_fn_exec)gs_resolve(&real_exec, "dnnl_primitive_execute")))
        return dnnl_runtime_error;
    struct gs_thread *t = &gs_tls;
    if (GS_UNLIKELY(!gs_recording(t)) || !gs_native || !gs_dnnl_resolve_all()) {
        gs_probe_hits += (unsigned)(gs_probe_on & gs_native);
        return fn(prim, stream, nargs, args);
    }
    t->busy = 1;                        /* BLAS calls inside oneDNN belong to this call */
    uint32_t id = gs_dnnl_id(t, prim);
    uint64_t t0 = gs_now();
    dnnl_status_t st = fn(prim, stream, nargs, args);
    uint64_t t1 = gs_now();
    t->ncalls++;                        /* an intercepted call, as a BLAS call is (the run's summary) */
    gs_dnnl_execs++;
    uint8_t *s = gs_call_slot(t, 1);    /* a dropped execution counts as a lost call */
    if (GS_LIKELY(s != NULL)) {
        struct gs_rec_dnnl_exec *r = (struct gs_rec_dnnl_exec *)s;
        r->nslots = 1;
        r->what = GS_DNNL_EXEC;
        r->status = st != dnnl_success;
        r->prim = id;
        r->t0 = t0;
        r->t1 = t1;
        r->region = t->region_depth ? t->region_stack[t->region_depth - 1] : 0;
        memset(r->reserved, 0, sizeof r->reserved);
        gs_rec_commit(s, GS_REC_DNNL);
    }
    t->busy = 0;
    return st;
}

GS_API dnnl_status_t dnnl_primitive_destroy(dnnl_primitive_t prim)
{
    gs_fn_destroy fn = (gs_fn_destroy)__atomic_load_n(&real_destroy, __ATOMIC_ACQUIRE);
    if (GS_UNLIKELY(!fn) && !(fn = (gs_fn_destroy)gs_resolve(&real_destroy, "dnnl_primitive_destroy")))
        return dnnl_runtime_error;
    if (prim) {
        pthread_mutex_lock(&gs_dnnl_lock);
        size_t h = gs_dnnl_hash(prim);
        for (size_t i = 0; i < GS_DNNL_SLOTS && gs_dnnl_tab[h].prim; i++, h = (h + 1) & (GS_DNNL_SLOTS - 1))
            if (gs_dnnl_tab[h].prim == prim) {
                gs_dnnl_tab[h].prim = gs_dnnl_tomb;
                break;
            }
        pthread_mutex_unlock(&gs_dnnl_lock);
    }
    return fn(prim);
}

/* A primitive execution seen above oneDNN (the Python helper's ATen
 * fallback, shim/intercept/aten.c): the same PRIM and EXEC records; flags go into
 * the EXEC record's first reserved byte (1: from the ATen fallback). */
void gs_dnnl_record(struct gs_thread *t, struct gs_rec_dnnl_prim *d, uint64_t t0, uint64_t t1, uint8_t flags)
{
    d->type = 0;
    d->nslots = 2;
    d->what = GS_DNNL_PRIM;
    uint32_t id = gs_dnnl_desc_id(t, d, NULL);
    uint8_t *s = gs_call_slot(t, 1);
    if (!s)
        return;
    struct gs_rec_dnnl_exec *r = (struct gs_rec_dnnl_exec *)s;
    r->nslots = 1;
    r->what = GS_DNNL_EXEC;
    r->status = 0;
    r->prim = id;
    r->t0 = t0;
    r->t1 = t1;
    r->region = t->region_depth ? t->region_stack[t->region_depth - 1] : 0;
    memset(r->reserved, 0, sizeof r->reserved);
    r->reserved[0] = flags;
    gs_rec_commit(s, GS_REC_DNNL);
}
