/* blas_schemes.c - calls dgemm and dgemv, cblas and Fortran forms, under the
 * naming scheme and integer width it is built with (-DPRE -DSUF -DINT, the
 * same as the library it links: blas_standin.c, or Debian's libopenblas64
 * with plain names and -DINT=int64_t), with negative increments and strides
 * that need 64 bits where INT has them.  Prints every result as hex floats:
 * the run under the recorder must print the same bytes.
 *   blas_schemes ITER     ITER rounds of: 2 cblas_dgemm (3x4x5 col-major,
 *                         4x2x3 row-major T), 1 dgemm_ (5x3x2), 2 cblas_dgemv
 *                         (incx -1, incy -2; a 64-bit incx when INT is), 1 dgemv_ */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

void CBNAME(dgemm)(int, int, int, bint, bint, bint, double, const double *, bint, const double *,
                   bint, double, double *, bint);
void CBNAME(dgemv)(int, int, bint, bint, double, const double *, bint, const double *, bint, double,
                   double *, bint);
void FNAME(dgemm)(const char *, const char *, const bint *, const bint *, const bint *, const double *,
                  const double *, const bint *, const double *, const bint *, const double *, double *,
                  const bint *, size_t, size_t);
void FNAME(dgemv)(const char *, const bint *, const bint *, const double *, const double *, const bint *,
                  const double *, const bint *, const double *, double *, const bint *, size_t);

static void show(const char *what, const double *v, int n)
{
    printf("%s", what);
    for (int i = 0; i < n; i++)
        printf(" %a", v[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    int iter = argc > 1 ? atoi(argv[1]) : 1;
    double a[64], b[64], c[64], x[16], y[16];
    for (int i = 0; i < 64; i++) {
        a[i] = 1.0 / (i + 1);
        b[i] = (i % 7) - 3.25;
        c[i] = 0.5 * i;
    }
    for (int i = 0; i < 16; i++) {
        x[i] = i - 4.5;
        y[i] = 0.125 * i;
    }
    /* a stride that needs 64 bits when the library takes them: with one
     * column (n = 1) only x[0] is read, whatever incx is */
    bint big = sizeof(bint) == 8 ? (bint)((int64_t)5 << 32) + 3 : (bint)2147483647;
    for (int it = 0; it < iter; it++) {
        CBNAME(dgemm)(102, 111, 111, 3, 4, 5, 1.5, a, 3, b, 5, 0.25, c, 3);
        CBNAME(dgemm)(101, 112, 111, 4, 2, 3, -0.5, a, 4, b, 2, 1.0, c + 20, 2);
        bint m = 5, n = 3, k = 2, lda = 5, ldb = 2, ldc = 5;
        double al = 0.75, be = -1.0;
        FNAME(dgemm)("N", "N", &m, &n, &k, &al, a, &lda, b, &ldb, &be, c + 30, &ldc, 1, 1);
        CBNAME(dgemv)(102, 111, 3, 4, 2.0, a, 3, x, -1, 0.5, y, -2);
        CBNAME(dgemv)(102, 111, 2, 1, 1.0, b, 2, x + 8, big, 1.0, y + 10, 1);
        bint gm = 4, gn = 3, glda = 4, ginc = -1, ginc2 = 1;
        double one = 1.0, zero = 0.0;
        FNAME(dgemv)("T", &gm, &gn, &one, a + 8, &glda, x, &ginc, &zero, y + 12, &ginc2, 1);
    }
    show("c", c, 45);
    show("y", y, 16);
    return 0;
}
