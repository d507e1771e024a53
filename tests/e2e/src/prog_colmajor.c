/* prog_colmajor.c - an R-style training loop: Fortran dgemm_ on
 * column-major matrices with the samples as rows (as R's %*%, crossprod
 * and tcrossprod call it), in a plain C program (not PyTorch).  A two-layer
 * network IN -> HID -> OUT, batch B, 5 products a step:
 *   H = X W1 (N,N)   Y = H W2 (N,N)   dW2 = H^T dY (T,N)
 *   dH = dY W2^T (N,T)   dW1 = X^T dH (T,N)
 *   prog_colmajor [STEPS]   (default 300) */
#include <stdio.h>
#include <stdlib.h>

void dgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *b, const int *ldb, const double *beta, double *c,
            const int *ldc);

enum { B = 50, IN = 100, HID = 64, OUT = 10 };
static double X[B * IN], W1[IN * HID], W2[HID * OUT], H[B * HID], Y[B * OUT], dW1[IN * HID], dW2[HID * OUT],
    dH[B * HID];

static void mm(const char *ta, const char *tb, int m, int n, int k, const double *a, int lda, const double *b,
               int ldb, double *c, int ldc)
{
    const double one = 1, zero = 0;
    dgemm_(ta, tb, &m, &n, &k, &one, a, &lda, b, &ldb, &zero, c, &ldc);
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 300;
    for (int i = 0; i < B * IN; i++) X[i] = (double)(i % 11) * 0.01;
    for (int i = 0; i < IN * HID; i++) W1[i] = (double)(i % 13) * 0.001;
    for (int i = 0; i < HID * OUT; i++) W2[i] = (double)(i % 7) * 0.001;
    for (int s = 0; s < steps; s++) {
        mm("N", "N", B, HID, IN, X, B, W1, IN, H, B);          /* H = X W1 */
        mm("N", "N", B, OUT, HID, H, B, W2, HID, Y, B);        /* Y = H W2 */
        for (int i = 0; i < B * OUT; i++) Y[i] -= 0.5;         /* dY */
        mm("T", "N", HID, OUT, B, H, B, Y, B, dW2, HID);       /* dW2 = H^T dY */
        mm("N", "T", B, HID, OUT, Y, B, W2, HID, dH, B);       /* dH = dY W2^T */
        mm("T", "N", IN, HID, B, X, B, dH, B, dW1, IN);        /* dW1 = X^T dH */
        for (int i = 0; i < IN * HID; i++) W1[i] -= 1e-4 * dW1[i];
        for (int i = 0; i < HID * OUT; i++) W2[i] -= 1e-4 * dW2[i];
    }
    printf("%g\n", Y[3]);
    return 0;
}
