/* blas.c - the BLAS interposers: Level-3 routines and gemv, s/d/c/z, in
 * the cblas_ and the Fortran (name_, hidden string lengths) forms.
 *
 * All 68 wrappers come from one table (GS_BLAS_TABLE) expanded through a
 * per-shape macro.  A wrapper only stamps: guard, clock, forward, clock,
 * one record: 16 bytes in the short form (a shape of the thread's
 * dictionary and the times), a 48-byte CALL and its COUNTERS when counters
 * are read.  Names, FLOPs and
 * everything else are the analyzer's business. */
#include <stddef.h>
#include <string.h>
#include "gs.h"

GS_HIDDEN void *gs_resolve(void **slot, const char *name);

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

static inline void gs_record(struct gs_thread *t, uint8_t op, uint16_t flags,
                             uint32_t m, uint32_t n, uint32_t k,
                             uint32_t lda, uint32_t ldb, uint32_t ldc,
                             uint64_t t0, uint64_t t1, const uint64_t *c0)
{
    uint64_t c1[GS_MAX_EVENTS];
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

/* The body every wrapper shares. */
#define GS_WRAP(name, OP, FLAGS, M, N, K, LDA, LDB, LDC, ARGS)                          \
    static void *real_;                                                                \
    gs_fn_##name fn_ = (gs_fn_##name)__atomic_load_n(&real_, __ATOMIC_ACQUIRE);         \
    if (GS_UNLIKELY(!fn_) && !(fn_ = (gs_fn_##name)gs_resolve(&real_, #name)))          \
        return;                                                                        \
    struct gs_thread *t_ = &gs_tls;                                                    \
    if (GS_UNLIKELY(!gs_recording(t_))) {                                              \
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
    gs_record(t_, op_, (FLAGS), (uint32_t)(M), (uint32_t)(N), (uint32_t)(K),           \
              (uint32_t)(LDA), (uint32_t)(LDB), (uint32_t)(LDC), t0_, t1_,             \
              ctr_ ? c0_ : NULL);                                                      \
    t_->busy = 0;

typedef const void *cp;   /* any matrix, vector or by-reference scalar */
typedef const int *ip;    /* Fortran INTEGER */
typedef const char *ch;   /* Fortran CHARACTER*1 */
typedef size_t sl;        /* hidden CHARACTER length (gfortran ABI) */

/* ---- one macro per argument shape: cblas form, then Fortran form ----
 * p: type letter, DT: GS_DT_*, T: cblas scalar (by value for s/d, pointer
 * for c/z), RT: the real type (herk/her2k's real alpha/beta). */
#define GS_GEMM(p, DT, T, RT, R)                                                        \
    typedef void (*gs_fn_cblas_##p##R)(int, int, int, int, int, int, T, cp, int, cp, int, T, void *, int); \
    GS_API void cblas_##p##R(int o, int ta, int tb, int m, int n, int k, T al, cp a, int lda,   \
                             cp b, int ldb, T be, void *c, int ldc)                    \
    { GS_WRAP(cblas_##p##R, GS_OP(GS_R_GEMM, DT), cb_flags(o, ta, tb, 0, 0, 0), m, n, k, lda, ldb, ldc, \
              (o, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc)) }                  \
    typedef void (*gs_fn_##p##R##_)(ch, ch, ip, ip, ip, cp, cp, ip, cp, ip, cp, void *, ip, sl, sl); \
    GS_API void p##R##_(ch ta, ch tb, ip m, ip n, ip k, cp al, cp a, ip lda, cp b, ip ldb,      \
                        cp be, void *c, ip ldc, sl lta, sl ltb)                        \
    { GS_WRAP(p##R##_, GS_OP(GS_R_GEMM, DT), f_flags(ta, tb, 0, 0, 0), *m, *n, *k, *lda, *ldb, *ldc, \
              (ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc, lta, ltb)) }

/* symm, hemm: side, uplo, m, n */
#define GS_SYMM_(p, DT, T, RT, R, RID)                                                  \
    typedef void (*gs_fn_cblas_##p##R)(int, int, int, int, int, T, cp, int, cp, int, T, void *, int); \
    GS_API void cblas_##p##R(int o, int sd, int ul, int m, int n, T al, cp a, int lda, cp b, \
                             int ldb, T be, void *c, int ldc)                          \
    { GS_WRAP(cblas_##p##R, GS_OP(RID, DT), cb_flags(o, 0, 0, sd, ul, 0), m, n, 0, lda, ldb, ldc, \
              (o, sd, ul, m, n, al, a, lda, b, ldb, be, c, ldc)) }                     \
    typedef void (*gs_fn_##p##R##_)(ch, ch, ip, ip, cp, cp, ip, cp, ip, cp, void *, ip, sl, sl); \
    GS_API void p##R##_(ch sd, ch ul, ip m, ip n, cp al, cp a, ip lda, cp b, ip ldb, cp be,   \
                        void *c, ip ldc, sl l1, sl l2)                                 \
    { GS_WRAP(p##R##_, GS_OP(RID, DT), f_flags(0, 0, sd, ul, 0), *m, *n, 0, *lda, *ldb, *ldc, \
              (sd, ul, m, n, al, a, lda, b, ldb, be, c, ldc, l1, l2)) }
#define GS_SYMM(p, DT, T, RT, R) GS_SYMM_(p, DT, T, RT, R, GS_R_SYMM)
#define GS_HEMM(p, DT, T, RT, R) GS_SYMM_(p, DT, T, RT, R, GS_R_HEMM)

/* syrk (alpha, beta: T) and herk (alpha, beta: RT): uplo, trans, n, k */
#define GS_SYRK_(p, DT, TA, TB, R, RID)                                                 \
    typedef void (*gs_fn_cblas_##p##R)(int, int, int, int, int, TA, cp, int, TB, void *, int); \
    GS_API void cblas_##p##R(int o, int ul, int tr, int n, int k, TA al, cp a, int lda, TB be, \
                             void *c, int ldc)                                         \
    { GS_WRAP(cblas_##p##R, GS_OP(RID, DT), cb_flags(o, tr, 0, 0, ul, 0), 0, n, k, lda, 0, ldc, \
              (o, ul, tr, n, k, al, a, lda, be, c, ldc)) }                             \
    typedef void (*gs_fn_##p##R##_)(ch, ch, ip, ip, cp, cp, ip, cp, void *, ip, sl, sl); \
    GS_API void p##R##_(ch ul, ch tr, ip n, ip k, cp al, cp a, ip lda, cp be, void *c, ip ldc, \
                        sl l1, sl l2)                                                  \
    { GS_WRAP(p##R##_, GS_OP(RID, DT), f_flags(tr, 0, 0, ul, 0), 0, *n, *k, *lda, 0, *ldc,   \
              (ul, tr, n, k, al, a, lda, be, c, ldc, l1, l2)) }
#define GS_SYRK(p, DT, T, RT, R) GS_SYRK_(p, DT, T, T, R, GS_R_SYRK)
#define GS_HERK(p, DT, T, RT, R) GS_SYRK_(p, DT, RT, RT, R, GS_R_HERK)

/* syr2k (beta T) and her2k (beta RT) */
#define GS_SYR2K_(p, DT, TA, TB, R, RID)                                                \
    typedef void (*gs_fn_cblas_##p##R)(int, int, int, int, int, TA, cp, int, cp, int, TB, void *, int); \
    GS_API void cblas_##p##R(int o, int ul, int tr, int n, int k, TA al, cp a, int lda, cp b, \
                             int ldb, TB be, void *c, int ldc)                         \
    { GS_WRAP(cblas_##p##R, GS_OP(RID, DT), cb_flags(o, tr, 0, 0, ul, 0), 0, n, k, lda, ldb, ldc, \
              (o, ul, tr, n, k, al, a, lda, b, ldb, be, c, ldc)) }                     \
    typedef void (*gs_fn_##p##R##_)(ch, ch, ip, ip, cp, cp, ip, cp, ip, cp, void *, ip, sl, sl); \
    GS_API void p##R##_(ch ul, ch tr, ip n, ip k, cp al, cp a, ip lda, cp b, ip ldb, cp be,  \
                        void *c, ip ldc, sl l1, sl l2)                                 \
    { GS_WRAP(p##R##_, GS_OP(RID, DT), f_flags(tr, 0, 0, ul, 0), 0, *n, *k, *lda, *ldb, *ldc, \
              (ul, tr, n, k, al, a, lda, b, ldb, be, c, ldc, l1, l2)) }
#define GS_SYR2K(p, DT, T, RT, R) GS_SYR2K_(p, DT, T, T, R, GS_R_SYR2K)
#define GS_HER2K(p, DT, T, RT, R) GS_SYR2K_(p, DT, T, RT, R, GS_R_HER2K)

/* trmm, trsm: side, uplo, transa, diag, m, n */
#define GS_TRXM_(p, DT, T, R, RID)                                                      \
    typedef void (*gs_fn_cblas_##p##R)(int, int, int, int, int, int, int, T, cp, int, void *, int); \
    GS_API void cblas_##p##R(int o, int sd, int ul, int ta, int dg, int m, int n, T al, cp a, \
                             int lda, void *b, int ldb)                                \
    { GS_WRAP(cblas_##p##R, GS_OP(RID, DT), cb_flags(o, ta, 0, sd, ul, dg), m, n, 0, lda, ldb, 0, \
              (o, sd, ul, ta, dg, m, n, al, a, lda, b, ldb)) }                         \
    typedef void (*gs_fn_##p##R##_)(ch, ch, ch, ch, ip, ip, cp, cp, ip, void *, ip, sl, sl, sl, sl); \
    GS_API void p##R##_(ch sd, ch ul, ch ta, ch dg, ip m, ip n, cp al, cp a, ip lda, void *b,  \
                        ip ldb, sl l1, sl l2, sl l3, sl l4)                            \
    { GS_WRAP(p##R##_, GS_OP(RID, DT), f_flags(ta, 0, sd, ul, dg), *m, *n, 0, *lda, *ldb, 0,  \
              (sd, ul, ta, dg, m, n, al, a, lda, b, ldb, l1, l2, l3, l4)) }
#define GS_TRMM(p, DT, T, RT, R) GS_TRXM_(p, DT, T, R, GS_R_TRMM)
#define GS_TRSM(p, DT, T, RT, R) GS_TRXM_(p, DT, T, R, GS_R_TRSM)

/* gemv: trans, m, n; ldb/ldc carry incx/incy */
#define GS_GEMV(p, DT, T, RT, R)                                                        \
    typedef void (*gs_fn_cblas_##p##R)(int, int, int, int, T, cp, int, cp, int, T, void *, int); \
    GS_API void cblas_##p##R(int o, int ta, int m, int n, T al, cp a, int lda, cp x, int incx, \
                             T be, void *y, int incy)                                  \
    { GS_WRAP(cblas_##p##R, GS_OP(GS_R_GEMV, DT), cb_flags(o, ta, 0, 0, 0, 0), m, n, 0, lda, incx, incy, \
              (o, ta, m, n, al, a, lda, x, incx, be, y, incy)) }                       \
    typedef void (*gs_fn_##p##R##_)(ch, ip, ip, cp, cp, ip, cp, ip, cp, void *, ip, sl);     \
    GS_API void p##R##_(ch ta, ip m, ip n, cp al, cp a, ip lda, cp x, ip incx, cp be, void *y, \
                        ip incy, sl l1)                                                \
    { GS_WRAP(p##R##_, GS_OP(GS_R_GEMV, DT), f_flags(ta, 0, 0, 0, 0), *m, *n, 0, *lda, *incx, *incy, \
              (ta, m, n, al, a, lda, x, incx, be, y, incy, l1)) }

/* ---- the table: routine shape x data types ---- */
#define GS_ALL(SHAPE, R)                                                                \
    SHAPE(s, GS_DT_S, float, float, R)                                                 \
    SHAPE(d, GS_DT_D, double, double, R)                                               \
    SHAPE(c, GS_DT_C, cp, float, R)                                                    \
    SHAPE(z, GS_DT_Z, cp, double, R)
#define GS_CPLX(SHAPE, R)                                                               \
    SHAPE(c, GS_DT_C, cp, float, R)                                                    \
    SHAPE(z, GS_DT_Z, cp, double, R)

#define GS_BLAS_TABLE                                                                   \
    GS_ALL(GS_GEMM, gemm)                                                              \
    GS_ALL(GS_SYMM, symm)                                                              \
    GS_CPLX(GS_HEMM, hemm)                                                             \
    GS_ALL(GS_SYRK, syrk)                                                              \
    GS_CPLX(GS_HERK, herk)                                                             \
    GS_ALL(GS_SYR2K, syr2k)                                                            \
    GS_CPLX(GS_HER2K, her2k)                                                           \
    GS_ALL(GS_TRMM, trmm)                                                              \
    GS_ALL(GS_TRSM, trsm)                                                              \
    GS_ALL(GS_GEMV, gemv)

GS_BLAS_TABLE
