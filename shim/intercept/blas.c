/* blas.c - the BLAS interposers: Level-3 routines and gemv, s/d/c/z, in
 * the cblas_ and the Fortran (name_, hidden string lengths) forms, under
 * every naming scheme a BLAS ships with (blas_lib.c: plain, OpenBLAS's
 * 64_ suffix, the scipy-openblas wheels' scipy_ prefix, both).
 *
 * All 272 wrappers come from one table (GS_BLAS_TABLE) expanded through a
 * per-shape macro, once per scheme.  A wrapper only stamps: guard, clock,
 * forward, clock, one record: 16 bytes in the short form (a shape of the
 * thread's dictionary and the times), a 48-byte CALL and its COUNTERS when
 * counters are read.  Names, FLOPs and everything else are the analyzer's
 * business.
 *
 * Never harm the host: the library behind a name may take 32-bit (LP64)
 * or 64-bit (ILP64) integers, and the wrapper cannot know which from the
 * name alone (Debian's libopenblas64 exports plain names).  So every
 * integer argument of the cblas forms is taken and forwarded as a full
 * 64-bit register or stack slot (bi), bit for bit, whatever the callee
 * reads of it; the Fortran forms pass pointers through untouched.  Shapes
 * are read at the width of the library the name resolved to (blas_lib.c),
 * found once, when the real function is found. */
#include <stddef.h>
#include <string.h>
#include "../gs.h"

GS_HIDDEN void *gs_blas_resolve(void **slot, int *w8, const char *name, int scheme);

/* cblas enums, by value (same ABI as cblas.h's enums) */
enum { CB_ROW = 101, CB_NOTRANS = 111, CB_TRANS = 112, CB_CONJTRANS = 113,
       CB_UPPER = 121, CB_LOWER = 122, CB_NONUNIT = 131, CB_UNIT = 132,
       CB_LEFT = 141, CB_RIGHT = 142 };

static inline uint16_t cb_trans(int t)
{
    return t == CB_TRANS ? 1 : t == CB_CONJTRANS ? 2 : 0;
}
static inline uint16_t cb_flags(int order, int ta, int tb, int side, int uplo, int diag)
{
    return (uint16_t)((order == CB_ROW ? GS_F_ROWMAJOR : 0) | GS_F_MK_TRANSA(cb_trans(ta)) |
                      GS_F_MK_TRANSB(cb_trans(tb)) | (side == CB_RIGHT ? GS_F_SIDE_R : 0) |
                      (uplo == CB_LOWER ? GS_F_UPLO_L : 0) | (diag == CB_UNIT ? GS_F_DIAG_U : 0));
}
static inline uint16_t f_trans(const char *t)
{
    char c = t ? (char)(*t | 0x20) : 'n';
    return c == 't' ? 1 : c == 'c' ? 2 : 0;
}
static inline int f_is(const char *p, char c)
{
    return p && (char)(*p | 0x20) == c;
}
static inline uint16_t f_flags(const char *ta, const char *tb, const char *side,
                               const char *uplo, const char *diag)
{
    return (uint16_t)(GS_F_FORTRAN | GS_F_MK_TRANSA(f_trans(ta)) | GS_F_MK_TRANSB(f_trans(tb)) |
                      (f_is(side, 'r') ? GS_F_SIDE_R : 0) | (f_is(uplo, 'l') ? GS_F_UPLO_L : 0) |
                      (f_is(diag, 'u') ? GS_F_DIAG_U : 0));
}

/* Counters for this call?  Long routines always, tiny ones 1 in N. */
static inline int gs_ctr_want(struct gs_thread *t, uint8_t op)
{
    if (GS_LIKELY(t->ctr_state != 1)) {
        if (t->ctr_state != 0 || gs_nevents == 0)
            return 0;
        if (gs_counters_open_thread(t) != 0)
            return 0;
    }
    if (t->ctr_always[op])
        return 1;
    if (--t->ctr_countdown == 0) {
        t->ctr_countdown = gs_ctr_sample_every;
        return 1;
    }
    return 0;
}

/* A dimension, leading dimension or increment into a 32-bit record field:
 * negative values as 32-bit two's complement (incx = -1 reads as before);
 * what does not fit (an ILP64 stride past 2^31) saturates and says so. */
static inline uint32_t gs_dim(int64_t v, uint16_t *flags)
{
    if (GS_LIKELY(v >= INT32_MIN && v <= (int64_t)UINT32_MAX))
        return (uint32_t)v;
    *flags |= GS_F_WIDE;
    return UINT32_MAX;
}

static inline void gs_record(struct gs_thread *t, uint8_t op, uint16_t flags,
                             int64_t m_, int64_t n_, int64_t k_,
                             int64_t lda_, int64_t ldb_, int64_t ldc_,
                             uint64_t t0, uint64_t t1, const uint64_t *c0)
{
    uint64_t c1[GS_MAX_EVENTS];
    uint32_t m = gs_dim(m_, &flags), n = gs_dim(n_, &flags), k = gs_dim(k_, &flags);
    uint32_t lda = gs_dim(lda_, &flags), ldb = gs_dim(ldb_, &flags), ldc = gs_dim(ldc_, &flags);
    t->ncalls++;
    /* every call, sampled or not, says whether the next one of its routine
     * is worth counting: a long call among tiny ones is not missed */
    t->ctr_always[op] = (t1 - t0) >= gs_ctr_long_ticks;
    uint32_t region = t->region_depth ? t->region_stack[t->region_depth - 1] : 0;
    if (c0) {
        gs_counters_end(t, c1);
        flags |= GS_F_COUNTERS;
    } else if (GS_LIKELY(gs_call_short(t, op, flags, region, m, n, k, lda, ldb, ldc, t0, t1))) {
        return;
    }
    uint8_t *s = gs_call_slot(t, c0 ? 2 : 1);
    if (GS_UNLIKELY(!s))
        return;
    struct gs_rec_call *r = (struct gs_rec_call *)s;
    r->op = op;
    r->flags = flags;
    r->region = region;
    r->t0 = t0;
    r->t1 = t1;
    r->m = m; r->n = n; r->k = k;
    r->lda = lda; r->ldb = ldb; r->ldc = ldc;
    if (c0) {
        struct gs_rec_counters *c = (struct gs_rec_counters *)(s + GS_REC_SIZE);
        c->nvals = (uint8_t)gs_nevents;
        c->flags = t->ctr_page[0] ? 1 : 0;   /* read with rdpmc */
        c->reserved = 0;
        for (int i = 0; i < GS_MAX_EVENTS; i++)
            c->delta[i] = i < gs_nevents ? c1[i] - c0[i] : 0;
        gs_rec_commit(s + GS_REC_SIZE, GS_REC_COUNTERS);
    }
    gs_rec_commit(s, GS_REC_CALL);
}

/* GREENSHIM_NATIVE=0: forward without recording (blas_lib.c reads it) */
int gs_native = 1;
/* aten.c's probe: would a call reach a wrapper?  (counted, not recorded) */
__thread int gs_probe_on __attribute__((tls_model("initial-exec")));
__thread unsigned gs_probe_hits __attribute__((tls_model("initial-exec")));

/* One matrix product seen above BLAS (shim/intercept/aten.c: the Python helper's
 * ATen fallback), recorded as the call the native path would make. */
void gs_blas_record_call(struct gs_thread *t, uint8_t op, uint16_t flags, int64_t m, int64_t n, int64_t k,
                         int64_t lda, int64_t ldb, int64_t ldc, uint64_t t0, uint64_t t1)
{
    gs_record(t, op, flags, m, n, k, lda, ldb, ldc, t0, t1, NULL);
}

/* The body every wrapper shares. */
#define GS_WRAP(name, SCH, OP, FLAGS, M, N, K, LDA, LDB, LDC, ARGS)                     \
    static void *real_;                                                                \
    static int w8_;               /* the library behind the name takes 64-bit integers */ \
    gs_fn_##name fn_ = (gs_fn_##name)__atomic_load_n(&real_, __ATOMIC_ACQUIRE);         \
    if (GS_UNLIKELY(!fn_) &&                                                           \
        !(fn_ = (gs_fn_##name)gs_blas_resolve(&real_, &w8_, #name, SCH)))               \
        return;                                                                        \
    struct gs_thread *t_ = &gs_tls;                                                    \
    if (GS_UNLIKELY(!gs_recording(t_)) || GS_UNLIKELY(!gs_native)) {                   \
        gs_probe_hits += (unsigned)(gs_probe_on & gs_native);                          \
        fn_ ARGS;                                                                      \
        return;                                                                        \
    }                                                                                  \
    t_->busy = 1;                                                                      \
    uint8_t op_ = (OP);                                                                \
    uint64_t c0_[GS_MAX_EVENTS];                                                       \
    int ctr_ = gs_ctr_want(t_, op_);                                                   \
    if (GS_UNLIKELY(ctr_))                                                             \
        gs_counters_begin(t_, c0_);                                                    \
    uint64_t t0_ = gs_now();                                                           \
    fn_ ARGS;                                                                          \
    uint64_t t1_ = gs_now();                                                           \
    gs_record(t_, op_, (uint16_t)((FLAGS) | GS_F_MK_SCHEME(SCH) | (w8_ ? GS_F_ILP64 : 0)), \
              (M), (N), (K), (LDA), (LDB), (LDC), t0_, t1_, ctr_ ? c0_ : NULL);       \
    t_->busy = 0;

typedef const void *cp;   /* any matrix, vector or by-reference scalar */
typedef long bi;          /* a cblas integer or enum: forwarded as all 64 bits */
typedef const void *ip;   /* Fortran INTEGER, 4 or 8 bytes: never read past the width */
typedef const char *ch;   /* Fortran CHARACTER*1 */
typedef size_t sl;        /* hidden CHARACTER length (gfortran ABI) */

/* An integer argument at the library's width: a 32-bit library reads the
 * low half of the register (the caller may have left anything above it). */
#define GS_I(x) (w8_ ? (int64_t)(x) : (int64_t)(int)(x))
#define GS_P(p) (w8_ ? *(const int64_t *)(p) : (int64_t)*(const int *)(p))

/* ---- one macro per argument shape: cblas form, then Fortran form ----
 * p: type letter, DT: GS_DT_*, T: cblas scalar (by value for s/d, pointer
 * for c/z), RT: the real type (herk/her2k's real alpha/beta).  PRE, SUF,
 * SCH: the naming scheme (prefix, suffix, enum gs_blas_scheme).
 * CB(...) and FN(...) name the two forms. */
#define CB(PRE, p, R, SUF) PRE##cblas_##p##R##SUF
#define FN(PRE, p, R, SUF) PRE##p##R##_##SUF

#define GS_GEMM(p, DT, T, RT, R, PRE, SUF, SCH)                                         \
    typedef void (*gs_fn_##PRE##cblas_##p##R##SUF)(bi, bi, bi, bi, bi, bi, T, cp, bi, cp, bi, T, void *, bi); \
    GS_API void CB(PRE, p, R, SUF)(bi o, bi ta, bi tb, bi m, bi n, bi k, T al, cp a, bi lda, \
                                   cp b, bi ldb, T be, void *c, bi ldc)                \
    { GS_WRAP(PRE##cblas_##p##R##SUF, SCH, GS_OP(GS_R_GEMM, DT), cb_flags(o, ta, tb, 0, 0, 0), \
              GS_I(m), GS_I(n), GS_I(k), GS_I(lda), GS_I(ldb), GS_I(ldc),                 \
              (o, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc)) }                  \
    typedef void (*gs_fn_##PRE##p##R##_##SUF)(ch, ch, ip, ip, ip, cp, cp, ip, cp, ip, cp, void *, ip, sl, sl); \
    GS_API void FN(PRE, p, R, SUF)(ch ta, ch tb, ip m, ip n, ip k, cp al, cp a, ip lda, cp b, \
                                   ip ldb, cp be, void *c, ip ldc, sl lta, sl ltb)     \
    { GS_WRAP(PRE##p##R##_##SUF, SCH, GS_OP(GS_R_GEMM, DT), f_flags(ta, tb, 0, 0, 0),    \
              GS_P(m), GS_P(n), GS_P(k), GS_P(lda), GS_P(ldb), GS_P(ldc),                 \
              (ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc, lta, ltb)) }

/* symm, hemm: side, uplo, m, n */
#define GS_SYMM_(p, DT, T, RT, R, RID, PRE, SUF, SCH)                                   \
    typedef void (*gs_fn_##PRE##cblas_##p##R##SUF)(bi, bi, bi, bi, bi, T, cp, bi, cp, bi, T, void *, bi); \
    GS_API void CB(PRE, p, R, SUF)(bi o, bi sd, bi ul, bi m, bi n, T al, cp a, bi lda, cp b, \
                                   bi ldb, T be, void *c, bi ldc)                      \
    { GS_WRAP(PRE##cblas_##p##R##SUF, SCH, GS_OP(RID, DT), cb_flags(o, 0, 0, sd, ul, 0),  \
              GS_I(m), GS_I(n), 0, GS_I(lda), GS_I(ldb), GS_I(ldc),                       \
              (o, sd, ul, m, n, al, a, lda, b, ldb, be, c, ldc)) }                     \
    typedef void (*gs_fn_##PRE##p##R##_##SUF)(ch, ch, ip, ip, cp, cp, ip, cp, ip, cp, void *, ip, sl, sl); \
    GS_API void FN(PRE, p, R, SUF)(ch sd, ch ul, ip m, ip n, cp al, cp a, ip lda, cp b, ip ldb, \
                                   cp be, void *c, ip ldc, sl l1, sl l2)               \
    { GS_WRAP(PRE##p##R##_##SUF, SCH, GS_OP(RID, DT), f_flags(0, 0, sd, ul, 0),          \
              GS_P(m), GS_P(n), 0, GS_P(lda), GS_P(ldb), GS_P(ldc),                       \
              (sd, ul, m, n, al, a, lda, b, ldb, be, c, ldc, l1, l2)) }
#define GS_SYMM(p, DT, T, RT, R, PRE, SUF, SCH) GS_SYMM_(p, DT, T, RT, R, GS_R_SYMM, PRE, SUF, SCH)
#define GS_HEMM(p, DT, T, RT, R, PRE, SUF, SCH) GS_SYMM_(p, DT, T, RT, R, GS_R_HEMM, PRE, SUF, SCH)

/* syrk (alpha, beta: T) and herk (alpha, beta: RT): uplo, trans, n, k */
#define GS_SYRK_(p, DT, TA, TB, R, RID, PRE, SUF, SCH)                                  \
    typedef void (*gs_fn_##PRE##cblas_##p##R##SUF)(bi, bi, bi, bi, bi, TA, cp, bi, TB, void *, bi); \
    GS_API void CB(PRE, p, R, SUF)(bi o, bi ul, bi tr, bi n, bi k, TA al, cp a, bi lda, TB be, \
                                   void *c, bi ldc)                                    \
    { GS_WRAP(PRE##cblas_##p##R##SUF, SCH, GS_OP(RID, DT), cb_flags(o, tr, 0, 0, ul, 0),  \
              0, GS_I(n), GS_I(k), GS_I(lda), 0, GS_I(ldc),                               \
              (o, ul, tr, n, k, al, a, lda, be, c, ldc)) }                             \
    typedef void (*gs_fn_##PRE##p##R##_##SUF)(ch, ch, ip, ip, cp, cp, ip, cp, void *, ip, sl, sl); \
    GS_API void FN(PRE, p, R, SUF)(ch ul, ch tr, ip n, ip k, cp al, cp a, ip lda, cp be, void *c, \
                                   ip ldc, sl l1, sl l2)                               \
    { GS_WRAP(PRE##p##R##_##SUF, SCH, GS_OP(RID, DT), f_flags(tr, 0, 0, ul, 0),          \
              0, GS_P(n), GS_P(k), GS_P(lda), 0, GS_P(ldc),                               \
              (ul, tr, n, k, al, a, lda, be, c, ldc, l1, l2)) }
#define GS_SYRK(p, DT, T, RT, R, PRE, SUF, SCH) GS_SYRK_(p, DT, T, T, R, GS_R_SYRK, PRE, SUF, SCH)
#define GS_HERK(p, DT, T, RT, R, PRE, SUF, SCH) GS_SYRK_(p, DT, RT, RT, R, GS_R_HERK, PRE, SUF, SCH)

/* syr2k (beta T) and her2k (beta RT) */
#define GS_SYR2K_(p, DT, TA, TB, R, RID, PRE, SUF, SCH)                                 \
    typedef void (*gs_fn_##PRE##cblas_##p##R##SUF)(bi, bi, bi, bi, bi, TA, cp, bi, cp, bi, TB, void *, bi); \
    GS_API void CB(PRE, p, R, SUF)(bi o, bi ul, bi tr, bi n, bi k, TA al, cp a, bi lda, cp b, \
                                   bi ldb, TB be, void *c, bi ldc)                     \
    { GS_WRAP(PRE##cblas_##p##R##SUF, SCH, GS_OP(RID, DT), cb_flags(o, tr, 0, 0, ul, 0),  \
              0, GS_I(n), GS_I(k), GS_I(lda), GS_I(ldb), GS_I(ldc),                       \
              (o, ul, tr, n, k, al, a, lda, b, ldb, be, c, ldc)) }                     \
    typedef void (*gs_fn_##PRE##p##R##_##SUF)(ch, ch, ip, ip, cp, cp, ip, cp, ip, cp, void *, ip, sl, sl); \
    GS_API void FN(PRE, p, R, SUF)(ch ul, ch tr, ip n, ip k, cp al, cp a, ip lda, cp b, ip ldb, \
                                   cp be, void *c, ip ldc, sl l1, sl l2)               \
    { GS_WRAP(PRE##p##R##_##SUF, SCH, GS_OP(RID, DT), f_flags(tr, 0, 0, ul, 0),          \
              0, GS_P(n), GS_P(k), GS_P(lda), GS_P(ldb), GS_P(ldc),                       \
              (ul, tr, n, k, al, a, lda, b, ldb, be, c, ldc, l1, l2)) }
#define GS_SYR2K(p, DT, T, RT, R, PRE, SUF, SCH) GS_SYR2K_(p, DT, T, T, R, GS_R_SYR2K, PRE, SUF, SCH)
#define GS_HER2K(p, DT, T, RT, R, PRE, SUF, SCH) GS_SYR2K_(p, DT, T, RT, R, GS_R_HER2K, PRE, SUF, SCH)

/* trmm, trsm: side, uplo, transa, diag, m, n */
#define GS_TRXM_(p, DT, T, R, RID, PRE, SUF, SCH)                                       \
    typedef void (*gs_fn_##PRE##cblas_##p##R##SUF)(bi, bi, bi, bi, bi, bi, bi, T, cp, bi, void *, bi); \
    GS_API void CB(PRE, p, R, SUF)(bi o, bi sd, bi ul, bi ta, bi dg, bi m, bi n, T al, cp a, \
                                   bi lda, void *b, bi ldb)                            \
    { GS_WRAP(PRE##cblas_##p##R##SUF, SCH, GS_OP(RID, DT), cb_flags(o, ta, 0, sd, ul, dg), \
              GS_I(m), GS_I(n), 0, GS_I(lda), GS_I(ldb), 0,                               \
              (o, sd, ul, ta, dg, m, n, al, a, lda, b, ldb)) }                         \
    typedef void (*gs_fn_##PRE##p##R##_##SUF)(ch, ch, ch, ch, ip, ip, cp, cp, ip, void *, ip, sl, sl, sl, sl); \
    GS_API void FN(PRE, p, R, SUF)(ch sd, ch ul, ch ta, ch dg, ip m, ip n, cp al, cp a, ip lda, \
                                   void *b, ip ldb, sl l1, sl l2, sl l3, sl l4)        \
    { GS_WRAP(PRE##p##R##_##SUF, SCH, GS_OP(RID, DT), f_flags(ta, 0, sd, ul, dg),        \
              GS_P(m), GS_P(n), 0, GS_P(lda), GS_P(ldb), 0,                               \
              (sd, ul, ta, dg, m, n, al, a, lda, b, ldb, l1, l2, l3, l4)) }
#define GS_TRMM(p, DT, T, RT, R, PRE, SUF, SCH) GS_TRXM_(p, DT, T, R, GS_R_TRMM, PRE, SUF, SCH)
#define GS_TRSM(p, DT, T, RT, R, PRE, SUF, SCH) GS_TRXM_(p, DT, T, R, GS_R_TRSM, PRE, SUF, SCH)

/* gemv: trans, m, n; ldb/ldc carry incx/incy */
#define GS_GEMV(p, DT, T, RT, R, PRE, SUF, SCH)                                         \
    typedef void (*gs_fn_##PRE##cblas_##p##R##SUF)(bi, bi, bi, bi, T, cp, bi, cp, bi, T, void *, bi); \
    GS_API void CB(PRE, p, R, SUF)(bi o, bi ta, bi m, bi n, T al, cp a, bi lda, cp x, bi incx, \
                                   T be, void *y, bi incy)                             \
    { GS_WRAP(PRE##cblas_##p##R##SUF, SCH, GS_OP(GS_R_GEMV, DT), cb_flags(o, ta, 0, 0, 0, 0), \
              GS_I(m), GS_I(n), 0, GS_I(lda), GS_I(incx), GS_I(incy),                     \
              (o, ta, m, n, al, a, lda, x, incx, be, y, incy)) }                       \
    typedef void (*gs_fn_##PRE##p##R##_##SUF)(ch, ip, ip, cp, cp, ip, cp, ip, cp, void *, ip, sl); \
    GS_API void FN(PRE, p, R, SUF)(ch ta, ip m, ip n, cp al, cp a, ip lda, cp x, ip incx, cp be, \
                                   void *y, ip incy, sl l1)                            \
    { GS_WRAP(PRE##p##R##_##SUF, SCH, GS_OP(GS_R_GEMV, DT), f_flags(ta, 0, 0, 0, 0),     \
              GS_P(m), GS_P(n), 0, GS_P(lda), GS_P(incx), GS_P(incy),                     \
              (ta, m, n, al, a, lda, x, incx, be, y, incy, l1)) }

/* ---- the table: routine shape x data types, then x naming schemes ---- */
#define GS_ALL(SHAPE, R, PRE, SUF, SCH)                                                 \
    SHAPE(s, GS_DT_S, float, float, R, PRE, SUF, SCH)                                  \
    SHAPE(d, GS_DT_D, double, double, R, PRE, SUF, SCH)                                \
    SHAPE(c, GS_DT_C, cp, float, R, PRE, SUF, SCH)                                     \
    SHAPE(z, GS_DT_Z, cp, double, R, PRE, SUF, SCH)
#define GS_CPLX(SHAPE, R, PRE, SUF, SCH)                                                \
    SHAPE(c, GS_DT_C, cp, float, R, PRE, SUF, SCH)                                     \
    SHAPE(z, GS_DT_Z, cp, double, R, PRE, SUF, SCH)

#define GS_BLAS_TABLE(PRE, SUF, SCH)                                                    \
    GS_ALL(GS_GEMM, gemm, PRE, SUF, SCH)                                               \
    GS_ALL(GS_SYMM, symm, PRE, SUF, SCH)                                               \
    GS_CPLX(GS_HEMM, hemm, PRE, SUF, SCH)                                              \
    GS_ALL(GS_SYRK, syrk, PRE, SUF, SCH)                                               \
    GS_CPLX(GS_HERK, herk, PRE, SUF, SCH)                                              \
    GS_ALL(GS_SYR2K, syr2k, PRE, SUF, SCH)                                             \
    GS_CPLX(GS_HER2K, her2k, PRE, SUF, SCH)                                            \
    GS_ALL(GS_TRMM, trmm, PRE, SUF, SCH)                                               \
    GS_ALL(GS_TRSM, trsm, PRE, SUF, SCH)                                               \
    GS_ALL(GS_GEMV, gemv, PRE, SUF, SCH)

/* The naming schemes (enum gs_blas_scheme in greenshim/trace.h):
 *   plain            cblas_dgemm         dgemm_          reference, OpenBLAS, MKL, BLIS
 *   64_ suffix       cblas_dgemm64_      dgemm_64_       OpenBLAS SYMBOLSUFFIX=64_ (Julia)
 *   scipy_ prefix    scipy_cblas_dgemm   scipy_dgemm_    scipy-openblas32 wheels
 *   scipy_ + 64_     scipy_cblas_dgemm64_ scipy_dgemm_64_ scipy-openblas64 (numpy >= 2 wheels) */
GS_BLAS_TABLE(, , GS_BLAS_PLAIN)
GS_BLAS_TABLE(, 64_, GS_BLAS_SUFFIX64)
GS_BLAS_TABLE(scipy_, , GS_BLAS_SCIPY)
GS_BLAS_TABLE(scipy_, 64_, GS_BLAS_SCIPY64)
