/* cublas.c - the cuBLAS and cuBLASLt GEMM interposers: routine, transposes,
 * m/n/k, batch, data and compute types, status, one record per call.
 *
 * A thread-local depth guard records only the outermost call, so the
 * cublasLtMatmul that cublasGemmEx makes inside libcublas is not counted
 * twice.  Around each recorded call an external correlation id is pushed to
 * CUPTI (when it is live), which ties the kernels the call launched back to
 * it.  No cuBLAS header is needed: the ABI is declared locally. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include "../gs.h"
#include "gpu.h"

typedef void *gs_handle;
typedef int gs_status;                  /* cublasStatus_t */
typedef int gs_op;                      /* cublasOperation_t: 0 N, 1 T, 2 C, 3 conj */
typedef int gs_dtype;                   /* cudaDataType */
typedef int gs_ctype;                   /* cublasComputeType_t */
typedef int gs_algo;
typedef const void *cv;
typedef long long gs_ll;
#define GS_CUBLAS_INTERNAL_ERROR 14     /* CUBLAS_STATUS_INTERNAL_ERROR */

static __thread int gs_cublas_depth __attribute__((tls_model("initial-exec")));

static inline uint8_t gs_cb_trans(gs_op o)
{
    return o == 1 ? 1 : (o == 2 || o == 3) ? 2 : 0;
}

struct gs_cb_args {
    uint16_t routine, flags;
    gs_op ta, tb;
    uint64_t m, n, k, batch;
    int32_t atype, ctype, compute;
    uint64_t stream;
};

static void gs_cb_emit(struct gs_thread *t, const struct gs_cb_args *a, uint64_t t0, uint64_t t1,
                       uint32_t ext, int status)
{
    struct gs_rec_cublas r = {
        .nslots = 2, .routine = a->routine, .t0 = t0, .t1 = t1,
        .m = a->m, .n = a->n, .k = a->k, .batch = a->batch ? a->batch : 1,
        .ext = ext, .status = status, .transa = gs_cb_trans(a->ta), .transb = gs_cb_trans(a->tb),
        .flags = a->flags, .atype = a->atype, .ctype = a->ctype, .compute = a->compute,
        .stream = a->stream,
    };
    r.region = t->region_depth ? t->region_stack[t->region_depth - 1] : 0;
    t->ncalls++;
    uint8_t *s = gs_call_slot(t, 2);
    if (GS_UNLIKELY(!s))
        return;
    memcpy(s + 1, (const uint8_t *)&r + 1, sizeof r - 1);
    gs_rec_commit(s, GS_REC_CUBLAS);
}

/* The body every cuBLAS wrapper shares.  ARGSET fills 'a_' (struct
 * gs_cb_args) from the parameters before the call. */
#define GS_CB_WRAP(name, PARAMS, ARGS, ARGSET)                                          \
    typedef gs_status (*gs_fn_##name) PARAMS;                                           \
    GS_API gs_status name PARAMS                                                        \
    {                                                                                   \
        static void *real_;                                                             \
        gs_fn_##name fn_ = (gs_fn_##name)__atomic_load_n(&real_, __ATOMIC_ACQUIRE);      \
        if (GS_UNLIKELY(!fn_) && !(fn_ = (gs_fn_##name)gs_resolve(&real_, #name)))       \
            return GS_CUBLAS_INTERNAL_ERROR;                                            \
        struct gs_thread *t_ = &gs_tls;                                                 \
        if (GS_UNLIKELY(gs_cublas_depth || !gs_recording(t_)))                          \
            return fn_ ARGS;                                                            \
        if (GS_UNLIKELY(!gs_gpu_started))                                               \
            gs_gpu_first_call();                                                        \
        struct gs_cb_args a_ = { .atype = -1, .ctype = -1, .compute = -1, .batch = 1 };  \
        ARGSET;                                                                         \
        gs_cublas_depth++;                                                              \
        uint32_t ext_ = gs_cupti_ext_push();                                            \
        uint64_t t0_ = gs_now();                                                        \
        gs_status st_ = fn_ ARGS;                                                       \
        uint64_t t1_ = gs_now();                                                        \
        gs_cupti_ext_pop(ext_);                                                         \
        gs_cublas_depth--;                                                              \
        gs_cb_emit(t_, &a_, t0_, t1_, ext_, st_);                                       \
        return st_;                                                                     \
    }

#define GS_MNK(R, F) (a_.routine = (R), a_.flags = (F), a_.ta = ta, a_.tb = tb,           \
                      a_.m = (uint64_t)m, a_.n = (uint64_t)n, a_.k = (uint64_t)k)

/* {S,D,H}gemm and the _64 forms: I is the integer type, T the scalar */
#define GS_GEMM(name, R, F, I, T)                                                       \
    GS_CB_WRAP(name, (gs_handle h, gs_op ta, gs_op tb, I m, I n, I k, const T *al, const T *A, \
                      I lda, const T *B, I ldb, const T *be, T *C, I ldc),              \
               (h, ta, tb, m, n, k, al, A, lda, B, ldb, be, C, ldc), GS_MNK(R, F))
GS_GEMM(cublasSgemm_v2, GS_CB_Sgemm, 0, int, float)
GS_GEMM(cublasDgemm_v2, GS_CB_Dgemm, 0, int, double)
GS_GEMM(cublasHgemm, GS_CB_Hgemm, 0, int, uint16_t)
GS_GEMM(cublasSgemm_v2_64, GS_CB_Sgemm, GS_CB_F_64, int64_t, float)
GS_GEMM(cublasDgemm_v2_64, GS_CB_Dgemm, GS_CB_F_64, int64_t, double)
GS_GEMM(cublasHgemm_64, GS_CB_Hgemm, GS_CB_F_64, int64_t, uint16_t)

#define GS_GEMM_SB(name, R, F, I, T)                                                    \
    GS_CB_WRAP(name, (gs_handle h, gs_op ta, gs_op tb, I m, I n, I k, const T *al, const T *A, \
                      I lda, gs_ll sa, const T *B, I ldb, gs_ll sb, const T *be, T *C, I ldc, \
                      gs_ll sc, I bc),                                                  \
               (h, ta, tb, m, n, k, al, A, lda, sa, B, ldb, sb, be, C, ldc, sc, bc),    \
               (GS_MNK(R, F), a_.batch = (uint64_t)bc))
GS_GEMM_SB(cublasSgemmStridedBatched, GS_CB_SgemmStridedBatched, 0, int, float)
GS_GEMM_SB(cublasDgemmStridedBatched, GS_CB_DgemmStridedBatched, 0, int, double)
GS_GEMM_SB(cublasHgemmStridedBatched, GS_CB_HgemmStridedBatched, 0, int, uint16_t)
GS_GEMM_SB(cublasSgemmStridedBatched_64, GS_CB_SgemmStridedBatched, GS_CB_F_64, int64_t, float)
GS_GEMM_SB(cublasDgemmStridedBatched_64, GS_CB_DgemmStridedBatched, GS_CB_F_64, int64_t, double)
GS_GEMM_SB(cublasHgemmStridedBatched_64, GS_CB_HgemmStridedBatched, GS_CB_F_64, int64_t, uint16_t)

#define GS_GEMM_EX(name, F, I)                                                          \
    GS_CB_WRAP(name, (gs_handle h, gs_op ta, gs_op tb, I m, I n, I k, cv al, cv A, gs_dtype at, \
                      I lda, cv B, gs_dtype bt, I ldb, cv be, void *C, gs_dtype ct, I ldc,  \
                      gs_ctype cp, gs_algo algo),                                       \
               (h, ta, tb, m, n, k, al, A, at, lda, B, bt, ldb, be, C, ct, ldc, cp, algo), \
               (GS_MNK(GS_CB_GemmEx, F), a_.atype = at, a_.ctype = ct, a_.compute = cp))
GS_GEMM_EX(cublasGemmEx, 0, int)
GS_GEMM_EX(cublasGemmEx_64, GS_CB_F_64, int64_t)

#define GS_GEMM_SBEX(name, F, I)                                                        \
    GS_CB_WRAP(name, (gs_handle h, gs_op ta, gs_op tb, I m, I n, I k, cv al, cv A, gs_dtype at, \
                      I lda, gs_ll sa, cv B, gs_dtype bt, I ldb, gs_ll sb, cv be, void *C,  \
                      gs_dtype ct, I ldc, gs_ll sc, I bc, gs_ctype cp, gs_algo algo),    \
               (h, ta, tb, m, n, k, al, A, at, lda, sa, B, bt, ldb, sb, be, C, ct, ldc, sc, bc, cp, algo), \
               (GS_MNK(GS_CB_GemmStridedBatchedEx, F), a_.batch = (uint64_t)bc, a_.atype = at, \
                a_.ctype = ct, a_.compute = cp))
GS_GEMM_SBEX(cublasGemmStridedBatchedEx, 0, int)
GS_GEMM_SBEX(cublasGemmStridedBatchedEx_64, GS_CB_F_64, int64_t)

#define GS_GEMM_BEX(name, F, I)                                                         \
    GS_CB_WRAP(name, (gs_handle h, gs_op ta, gs_op tb, I m, I n, I k, cv al, const void *const *A, \
                      gs_dtype at, I lda, const void *const *B, gs_dtype bt, I ldb, cv be,  \
                      void *const *C, gs_dtype ct, I ldc, I bc, gs_ctype cp, gs_algo algo), \
               (h, ta, tb, m, n, k, al, A, at, lda, B, bt, ldb, be, C, ct, ldc, bc, cp, algo), \
               (GS_MNK(GS_CB_GemmBatchedEx, F), a_.batch = (uint64_t)bc, a_.atype = at,   \
                a_.ctype = ct, a_.compute = cp))
GS_GEMM_BEX(cublasGemmBatchedEx, 0, int)
GS_GEMM_BEX(cublasGemmBatchedEx_64, GS_CB_F_64, int64_t)

/* ---- cuBLASLt: the shape lives in the descriptors ---- */
enum { LT_LAYOUT_TYPE = 0, LT_LAYOUT_ROWS = 2, LT_LAYOUT_COLS = 3, LT_LAYOUT_BATCH = 5 };
enum { LT_DESC_COMPUTE = 0, LT_DESC_TRANSA = 3, LT_DESC_TRANSB = 4 };
typedef gs_status (*gs_fn_lt_layout_get)(const void *, int, void *, size_t, size_t *);
typedef gs_status (*gs_fn_lt_desc_get)(const void *, int, void *, size_t, size_t *);
static void *gs_real_layout_get, *gs_real_desc_get;

static uint64_t gs_lt_u64(gs_fn_lt_layout_get get, const void *layout, int attr, uint64_t dflt)
{
    uint64_t v = 0;
    size_t got = 0;
    if (!layout || get(layout, attr, &v, sizeof v, &got) != 0 || got != sizeof v)
        return dflt;
    return v;
}

static int32_t gs_lt_i32(gs_fn_lt_layout_get get, const void *obj, int attr, int32_t dflt)
{
    int32_t v = 0;
    size_t got = 0;
    if (!obj || get(obj, attr, &v, sizeof v, &got) != 0 || got != sizeof v)
        return dflt;
    return v;
}

/* D = op(A) op(B): m, n from C's layout, k from A's and transa */
static void gs_lt_shape(struct gs_cb_args *a, const void *desc, const void *ad, const void *cd)
{
    gs_fn_lt_layout_get lg = __atomic_load_n(&gs_real_layout_get, __ATOMIC_ACQUIRE);
    gs_fn_lt_desc_get dg = __atomic_load_n(&gs_real_desc_get, __ATOMIC_ACQUIRE);
    if (!lg)
        lg = (gs_fn_lt_layout_get)gs_resolve_quiet(&gs_real_layout_get, "cublasLtMatrixLayoutGetAttribute");
    if (!dg)
        dg = (gs_fn_lt_desc_get)gs_resolve_quiet(&gs_real_desc_get, "cublasLtMatmulDescGetAttribute");
    a->routine = GS_CB_LtMatmul;
    a->flags = GS_CB_F_LT;
    if (dg) {
        a->ta = gs_lt_i32(dg, desc, LT_DESC_TRANSA, 0);
        a->tb = gs_lt_i32(dg, desc, LT_DESC_TRANSB, 0);
        a->compute = gs_lt_i32(dg, desc, LT_DESC_COMPUTE, -1);
    }
    if (lg) {
        uint64_t ar = gs_lt_u64(lg, ad, LT_LAYOUT_ROWS, 0), ac = gs_lt_u64(lg, ad, LT_LAYOUT_COLS, 0);
        a->m = gs_lt_u64(lg, cd, LT_LAYOUT_ROWS, 0);
        a->n = gs_lt_u64(lg, cd, LT_LAYOUT_COLS, 0);
        a->k = a->ta ? ar : ac;
        int32_t b = gs_lt_i32(lg, cd, LT_LAYOUT_BATCH, 1);
        a->batch = b > 0 ? (uint64_t)b : 1;
        a->atype = gs_lt_i32(lg, ad, LT_LAYOUT_TYPE, -1);
        a->ctype = gs_lt_i32(lg, cd, LT_LAYOUT_TYPE, -1);
    }
}

GS_CB_WRAP(cublasLtMatmul,
           (gs_handle h, const void *desc, cv al, cv A, const void *ad, cv B, const void *bd, cv be,
            cv C, const void *cd, void *D, const void *dd, const void *algo, void *ws, size_t wss,
            void *stream),
           (h, desc, al, A, ad, B, bd, be, C, cd, D, dd, algo, ws, wss, stream),
           (gs_lt_shape(&a_, desc, ad, cd), a_.stream = (uintptr_t)stream))
