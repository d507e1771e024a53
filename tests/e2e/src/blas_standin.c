/* blas_standin.c - a stand-in BLAS library for tests/e2e/test_blas_schemes.sh:
 * dgemm and dgemv (cblas and Fortran forms) under one naming scheme and one
 * integer width, exported the way the real libraries export them:
 *   -DPRE=scipy_ -DSUF=64_ -DINT=int64_t    like scipy-openblas64 (numpy >= 2)
 *   -DPRE= -DSUF= -DINT=int64_t -DCONFIG=.. like Debian's libopenblas64 (plain names)
 * No plain cblas_dgemm on the way unless the scheme is plain.  Reference
 * loops (column-major Fortran, either order for cblas), negative increments
 * and any stride read at INT's full width: a wrapper that narrowed or
 * garbled an integer changes the result. */
#include <stdint.h>
#include <string.h>

#ifndef PRE
#define PRE
#endif
#ifndef SUF
#define SUF
#endif
#define CAT_(a, b, c) a##b##c
#define CAT(a, b, c) CAT_(a, b, c)
#define CBNAME(r) CAT(PRE, cblas_##r, SUF)
#define FNAME(r) CAT(PRE, r##_, SUF)
typedef INT bint;

#ifdef CONFIG
const char *openblas_get_config(void) { return CONFIG; }
#endif

static double at(const double *a, bint ld, bint i, bint j, int rowmajor, int trans)
{
    if (trans) { bint t = i; i = j; j = t; }
    return rowmajor ? a[i * ld + j] : a[i + j * ld];
}

static void gemm(int rowmajor, int ta, int tb, bint m, bint n, bint k, double al, const double *a,
                 bint lda, const double *b, bint ldb, double be, double *c, bint ldc)
{
    for (bint i = 0; i < m; i++)
        for (bint j = 0; j < n; j++) {
            double s = 0;
            for (bint p = 0; p < k; p++)
                s += at(a, lda, i, p, rowmajor, ta) * at(b, ldb, p, j, rowmajor, tb);
            double *cij = rowmajor ? &c[i * ldc + j] : &c[i + j * ldc];
            *cij = al * s + be * *cij;
        }
}

static void gemv(int rowmajor, int ta, bint m, bint n, double al, const double *a, bint lda,
                 const double *x, bint incx, double be, double *y, bint incy)
{
    bint leny = ta ? n : m, lenx = ta ? m : n;
    bint kx = incx > 0 ? 0 : (1 - lenx) * incx, ky = incy > 0 ? 0 : (1 - leny) * incy;
    for (bint i = 0; i < leny; i++) {
        double s = 0;
        for (bint j = 0; j < lenx; j++)
            s += (ta ? at(a, lda, j, i, rowmajor, 0) : at(a, lda, i, j, rowmajor, 0)) * x[kx + j * incx];
        y[ky + i * incy] = al * s + be * y[ky + i * incy];
    }
}

void CBNAME(dgemm)(int o, int ta, int tb, bint m, bint n, bint k, double al, const double *a,
                   bint lda, const double *b, bint ldb, double be, double *c, bint ldc)
{
    gemm(o == 101, ta != 111, tb != 111, m, n, k, al, a, lda, b, ldb, be, c, ldc);
}

void CBNAME(dgemv)(int o, int ta, bint m, bint n, double al, const double *a, bint lda,
                   const double *x, bint incx, double be, double *y, bint incy)
{
    gemv(o == 101, ta != 111, m, n, al, a, lda, x, incx, be, y, incy);
}

void FNAME(dgemm)(const char *ta, const char *tb, const bint *m, const bint *n, const bint *k,
                  const double *al, const double *a, const bint *lda, const double *b,
                  const bint *ldb, const double *be, double *c, const bint *ldc, size_t l1, size_t l2)
{
    gemm(0, (*ta | 0x20) != 'n', (*tb | 0x20) != 'n', *m, *n, *k, *al, a, *lda, b, *ldb, *be, c, *ldc);
}

void FNAME(dgemv)(const char *ta, const bint *m, const bint *n, const double *al, const double *a,
                  const bint *lda, const double *x, const bint *incx, const double *be, double *y,
                  const bint *incy, size_t l1)
{
    gemv(0, (*ta | 0x20) != 'n', *m, *n, *al, a, *lda, x, *incx, *be, y, *incy);
}
