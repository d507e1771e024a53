/* aten.c - the entry points of the Python helper's ATen fallback
 * (python/greenshim_aten.py).  PyTorch builds whose BLAS and oneDNN are
 * linked statically into libtorch_cpu (the CPU wheels on PyPI) make no call
 * a preload can see; the helper observes the ATen operators instead (a
 * TorchDispatchMode) and hands each matrix product and convolution here, to
 * be recorded as the records the native path would have written: a Fortran
 * GEMM call in the layout PyTorch's CPU BLAS path uses, a oneDNN-like
 * primitive and execution.  Each carries the ATen mark (GS_F_ATEN, or the
 * EXEC record's flag byte): its time is measured around the ATen operator
 * from Python, a few microseconds wider than the library call.
 *
 * greenshim_native_seen() tells the helper whether native interception
 * recorded something on this thread, so that it records an operator only
 * when native interception did not (never twice) and steps aside when the
 * native path works. */
#include <string.h>
#include "../gs.h"

GS_API uint64_t greenshim_now(void)
{
    return gs_now();
}

/* calls and oneDNN executions the native interposers recorded on this thread */
GS_API uint64_t greenshim_native_seen(void)
{
    return gs_tls.ncalls;               /* (oneDNN executions count in it too) */
}

/* The probe: the calls between begin and end are forwarded, not recorded,
 * and counted when they reach a BLAS or oneDNN wrapper; end returns the
 * count.  The helper runs a tiny matrix product and convolution between
 * the two to learn whether native interception sees this PyTorch. */
GS_API void greenshim_probe_begin(void)
{
    struct gs_thread *t = &gs_tls;
    t->busy++;
    gs_probe_hits = 0;
    gs_probe_on = 1;
}

GS_API unsigned greenshim_probe_end(void)
{
    struct gs_thread *t = &gs_tls;
    gs_probe_on = 0;
    if (t->busy > 0)
        t->busy--;
    return gs_probe_hits;
}

static int gs_aten_begin(struct gs_thread *t)
{
    if (t->busy || !gs_recording(t))
        return -1;
    t->busy = 1;
    return 0;
}

/* A GEMM as the Fortran call ?gemm_(transa, transb, m, n, k, .., lda, .., ldb, .., ldc);
 * dtype: 0 s, 1 d, 2 c, 3 z.  Returns 0 when recorded. */
GS_API int greenshim_aten_gemm(int dtype, int transa, int transb, int64_t m, int64_t n, int64_t k,
                               int64_t lda, int64_t ldb, int64_t ldc, uint64_t t0, uint64_t t1)
{
    struct gs_thread *t = &gs_tls;
    if (dtype < 0 || dtype > 3 || transa < 0 || transa > 2 || transb < 0 || transb > 2 || t1 < t0 ||
        gs_aten_begin(t) != 0)
        return -1;
    uint16_t flags = (uint16_t)(GS_F_FORTRAN | GS_F_ATEN | GS_F_MK_TRANSA(transa) | GS_F_MK_TRANSB(transb));
    gs_blas_record_call(t, GS_OP(GS_R_GEMM, dtype), flags, m, n, k, lda, ldb, ldc, t0, t1);
    t->busy = 0;
    return 0;
}

static uint8_t gs_aten_dims(const int64_t *v, int n, uint32_t *out)
{
    if (!v || n <= 0)
        return 0;
    if (n > GS_DNNL_MAXDIMS)
        n = GS_DNNL_MAXDIMS;
    for (int i = 0; i < n; i++)
        out[i] = v[i] < 0 ? 0 : v[i] > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v[i];
    return (uint8_t)n;
}

/* A oneDNN-like primitive execution: kind (enum gs_dnnl_kind), prop (enum
 * gs_dnnl_prop), src / weights / dst dims.  Returns 0 when recorded. */
GS_API int greenshim_aten_dnnl(int kind, int prop, const int64_t *src, int nsrc, const int64_t *wei, int nwei,
                               const int64_t *dst, int ndst, uint64_t t0, uint64_t t1)
{
    struct gs_thread *t = &gs_tls;
    if (kind < 0 || kind >= GS_DNNL_K_COUNT || prop < 0 || prop > GS_DNNL_P_BWD_WEIGHTS || t1 < t0 ||
        gs_aten_begin(t) != 0)
        return -1;
    struct gs_rec_dnnl_prim d;
    memset(&d, 0, sizeof d);
    d.kind = (uint8_t)kind;
    d.prop = (uint8_t)prop;
    d.ndims[0] = gs_aten_dims(src, nsrc, d.src);
    d.ndims[1] = gs_aten_dims(wei, nwei, d.wei);
    d.ndims[2] = gs_aten_dims(dst, ndst, d.dst);
    gs_dnnl_record(t, &d, t0, t1, 1);
    t->busy = 0;
    return 0;
}
