/* blas_mix.c - a known number of BLAS calls, in both the cblas_ and the
 * Fortran (*_) form, from several threads: the end-to-end tests count them.
 *
 *   blas_mix [--threads T] [--dgemm A] [--fgemm B] [--sgemv C] [--no-singles]
 *   blas_mix --fork
 *   blas_mix --hang N
 *
 * Default mode (T=4, A=10, B=5, C=20): T threads started with pthreads, each
 * making, in this order:
 *   A x cblas_dgemm  RowMajor N N   m=32 n=24 k=16
 *   B x dgemm_       (Fortran) T N  m=20 n=18 k=12
 *   C x cblas_sgemv  RowMajor N     m=50 n=40          (incx = incy = 1)
 * then, after joining them, the main thread makes one call of each "single"
 * (unless --no-singles), all with distinct shapes:
 *   ssyrk_       Fortran  uplo U trans N                 n=12 k=7
 *   dtrsm_       Fortran  side L uplo L transa N diag N  m=9  n=5
 *   cblas_zgemm  RowMajor N N                            m=6  n=5 k=4
 *   cblas_chemm  RowMajor side L uplo U                  m=7  n=3
 *   cblas_dsymm  RowMajor side R uplo L                  m=5  n=8
 *   zherk_       Fortran  uplo L trans C                 n=6  k=9
 *   cblas_ssyr2k RowMajor uplo U trans N                 n=10 k=3
 *   cblas_ctrmm  RowMajor side L uplo U trans N diag N   m=4  n=6
 *   dgemv_       Fortran  trans T                        m=11 n=13
 *   sgemm_       Fortran  N T                            m=3  n=4 k=5
 * The main thread itself makes no other BLAS call.  Total threads that call
 * BLAS: T + 1 with singles, T without.
 *
 * --fork: the parent makes 3 x cblas_dgemm (m=n=k=3), forks; the child makes
 * 5 x cblas_dgemm (m=5 n=6 k=7) and exits; the parent makes 4 x cblas_dgemm
 * (m=n=k=4) and waits for the child.  Two processes, two traces: the parent's
 * holds 3 + 4 calls, the child's 5.
 *
 * --hang N: N x cblas_dgemm (m=n=k=8) on the main thread, then prints
 * "ready", flushes and sleeps until killed (a test sends SIGKILL).
 *
 * Output: one line with the counts and a checksum of every result (%a, so a
 * run with and without the recorder can be compared bit for bit).
 *
 * The Fortran routines are declared here with the hidden string-length
 * arguments (size_t, as gfortran passes them) at the end.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int blasint_t;   /* LP64 OpenBLAS: 32-bit Fortran integers */

void dgemm_(const char *ta, const char *tb, const blasint_t *m, const blasint_t *n,
            const blasint_t *k, const double *alpha, const double *a, const blasint_t *lda,
            const double *b, const blasint_t *ldb, const double *beta, double *c,
            const blasint_t *ldc, size_t lta, size_t ltb);
void sgemm_(const char *ta, const char *tb, const blasint_t *m, const blasint_t *n,
            const blasint_t *k, const float *alpha, const float *a, const blasint_t *lda,
            const float *b, const blasint_t *ldb, const float *beta, float *c,
            const blasint_t *ldc, size_t lta, size_t ltb);
void ssyrk_(const char *uplo, const char *trans, const blasint_t *n, const blasint_t *k,
            const float *alpha, const float *a, const blasint_t *lda, const float *beta,
            float *c, const blasint_t *ldc, size_t luplo, size_t ltrans);
void zherk_(const char *uplo, const char *trans, const blasint_t *n, const blasint_t *k,
            const double *alpha, const void *a, const blasint_t *lda, const double *beta,
            void *c, const blasint_t *ldc, size_t luplo, size_t ltrans);
void dtrsm_(const char *side, const char *uplo, const char *transa, const char *diag,
            const blasint_t *m, const blasint_t *n, const double *alpha, const double *a,
            const blasint_t *lda, double *b, const blasint_t *ldb,
            size_t lside, size_t luplo, size_t ltransa, size_t ldiag);
void dgemv_(const char *trans, const blasint_t *m, const blasint_t *n, const double *alpha,
            const double *a, const blasint_t *lda, const double *x, const blasint_t *incx,
            const double *beta, double *y, const blasint_t *incy, size_t ltrans);

/* deterministic fill: values in [-1, 1) from a small LCG */
static void fill_d(double *p, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (double)(s >> 8) / 8388608.0 - 1.0;
    }
}

static void fill_s(float *p, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 54321u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0);
    }
}

static double sum_d(const double *p, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

static double sum_s(const float *p, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

static int n_dgemm = 10, n_fgemm = 5, n_sgemv = 20;

struct worker {
    pthread_t th;
    int id;
    double checksum;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    double a[32 * 16], b[16 * 24], c[32 * 24];
    double fa[12 * 20], fb[12 * 18], fc[20 * 18];
    float sa[50 * 40], sx[40], sy[50];
    fill_d(a, 32 * 16, 1 + w->id);
    fill_d(b, 16 * 24, 2 + w->id);
    fill_d(fa, 12 * 20, 3 + w->id);
    fill_d(fb, 12 * 18, 4 + w->id);
    fill_s(sa, 50 * 40, 5 + w->id);
    fill_s(sx, 40, 6 + w->id);
    double cs = 0.0;

    for (int i = 0; i < n_dgemm; i++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 32, 24, 16,
                    1.0, a, 16, b, 24, 0.0, c, 24);
        cs += sum_d(c, 32 * 24);
    }
    /* column-major: A is k x m = 12 x 20 (lda 12), op(A) = A^T is 20 x 12;
     * B is k x n = 12 x 18 (ldb 12); C is 20 x 18 (ldc 20) */
    const blasint_t m = 20, n = 18, k = 12, lda = 12, ldb = 12, ldc = 20;
    const double one = 1.0, zero = 0.0;
    for (int i = 0; i < n_fgemm; i++) {
        dgemm_("T", "N", &m, &n, &k, &one, fa, &lda, fb, &ldb, &zero, fc, &ldc, 1, 1);
        cs += sum_d(fc, 20 * 18);
    }
    for (int i = 0; i < n_sgemv; i++) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, 50, 40, 1.0f, sa, 40, sx, 1, 0.0f, sy, 1);
        cs += sum_s(sy, 50);
    }
    w->checksum = cs;
    return NULL;
}

static double singles(void)
{
    double cs = 0.0;
    const float sone = 1.0f, szero = 0.0f;
    const double done = 1.0, dzero = 0.0;

    { /* ssyrk_ U N n=12 k=7: C(12x12) = A(12x7) A^T */
        float a[12 * 7], c[12 * 12];
        blasint_t n = 12, k = 7, lda = 12, ldc = 12;
        fill_s(a, 12 * 7, 101);
        memset(c, 0, sizeof c);
        ssyrk_("U", "N", &n, &k, &sone, a, &lda, &szero, c, &ldc, 1, 1);
        cs += sum_s(c, 12 * 12);
    }
    { /* dtrsm_ L L N N m=9 n=5: solve A(9x9 lower) X = B(9x5) */
        double a[9 * 9], b[9 * 5];
        blasint_t m = 9, n = 5, lda = 9, ldb = 9;
        fill_d(a, 9 * 9, 102);
        for (int i = 0; i < 9; i++)
            a[i * 9 + i] = 4.0 + i;                      /* well conditioned */
        fill_d(b, 9 * 5, 103);
        dtrsm_("L", "L", "N", "N", &m, &n, &done, a, &lda, b, &ldb, 1, 1, 1, 1);
        cs += sum_d(b, 9 * 5);
    }
    { /* cblas_zgemm N N m=6 n=5 k=4 */
        double a[2 * 6 * 4], b[2 * 4 * 5], c[2 * 6 * 5];
        double alpha[2] = { 1.0, 0.5 }, beta[2] = { 0.0, 0.0 };
        fill_d(a, 2 * 6 * 4, 104);
        fill_d(b, 2 * 4 * 5, 105);
        cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 6, 5, 4,
                    alpha, a, 4, b, 5, beta, c, 5);
        cs += sum_d(c, 2 * 6 * 5);
    }
    { /* cblas_chemm L U m=7 n=3: C(7x3) = A(7x7 hermitian) B(7x3) */
        float a[2 * 7 * 7], b[2 * 7 * 3], c[2 * 7 * 3];
        float alpha[2] = { 1.0f, 0.0f }, beta[2] = { 0.0f, 0.0f };
        fill_s(a, 2 * 7 * 7, 106);
        fill_s(b, 2 * 7 * 3, 107);
        cblas_chemm(CblasRowMajor, CblasLeft, CblasUpper, 7, 3, alpha, a, 7, b, 3, beta, c, 3);
        cs += sum_s(c, 2 * 7 * 3);
    }
    { /* cblas_dsymm R L m=5 n=8: C(5x8) = B(5x8) A(8x8 symmetric) */
        double a[8 * 8], b[5 * 8], c[5 * 8];
        fill_d(a, 8 * 8, 108);
        fill_d(b, 5 * 8, 109);
        cblas_dsymm(CblasRowMajor, CblasRight, CblasLower, 5, 8, 1.0, a, 8, b, 8, 0.0, c, 8);
        cs += sum_d(c, 5 * 8);
    }
    { /* zherk_ L C n=6 k=9: C(6x6) = A^H A, A is 9x6 */
        double a[2 * 9 * 6], c[2 * 6 * 6];
        blasint_t n = 6, k = 9, lda = 9, ldc = 6;
        fill_d(a, 2 * 9 * 6, 110);
        memset(c, 0, sizeof c);
        zherk_("L", "C", &n, &k, &done, a, &lda, &dzero, c, &ldc, 1, 1);
        cs += sum_d(c, 2 * 6 * 6);
    }
    { /* cblas_ssyr2k U N n=10 k=3 */
        float a[10 * 3], b[10 * 3], c[10 * 10];
        fill_s(a, 10 * 3, 111);
        fill_s(b, 10 * 3, 112);
        memset(c, 0, sizeof c);
        cblas_ssyr2k(CblasRowMajor, CblasUpper, CblasNoTrans, 10, 3, 1.0f, a, 3, b, 3, 0.0f, c, 10);
        cs += sum_s(c, 10 * 10);
    }
    { /* cblas_ctrmm L U N N m=4 n=6: B(4x6) = A(4x4 upper) B */
        float a[2 * 4 * 4], b[2 * 4 * 6];
        float alpha[2] = { 1.0f, 0.0f };
        fill_s(a, 2 * 4 * 4, 113);
        fill_s(b, 2 * 4 * 6, 114);
        cblas_ctrmm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit,
                    4, 6, alpha, a, 4, b, 6);
        cs += sum_s(b, 2 * 4 * 6);
    }
    { /* dgemv_ T m=11 n=13: y(13) = A(11x13)^T x(11) */
        double a[11 * 13], x[11], y[13];
        blasint_t m = 11, n = 13, lda = 11, inc = 1;
        fill_d(a, 11 * 13, 115);
        fill_d(x, 11, 116);
        dgemv_("T", &m, &n, &done, a, &lda, x, &inc, &dzero, y, &inc, 1);
        cs += sum_d(y, 13);
    }
    { /* sgemm_ N T m=3 n=4 k=5: C(3x4) = A(3x5) B(4x5)^T */
        float a[3 * 5], b[4 * 5], c[3 * 4];
        blasint_t m = 3, n = 4, k = 5, lda = 3, ldb = 4, ldc = 3;
        fill_s(a, 3 * 5, 117);
        fill_s(b, 4 * 5, 118);
        sgemm_("N", "T", &m, &n, &k, &sone, a, &lda, b, &ldb, &szero, c, &ldc, 1, 1);
        cs += sum_s(c, 3 * 4);
    }
    return cs;
}

static double dgemm_n(int count, int m, int n, int k, uint32_t seed)
{
    double *a = malloc(sizeof(double) * m * k), *b = malloc(sizeof(double) * k * n),
           *c = malloc(sizeof(double) * m * n);
    if (!a || !b || !c) {
        fprintf(stderr, "blas_mix: out of memory\n");
        exit(1);
    }
    fill_d(a, (size_t)m * k, seed);
    fill_d(b, (size_t)k * n, seed + 1);
    double cs = 0.0;
    for (int i = 0; i < count; i++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k,
                    1.0, a, k, b, n, 0.0, c, n);
        cs += sum_d(c, (size_t)m * n);
    }
    free(a);
    free(b);
    free(c);
    return cs;
}

static int fork_mode(void)
{
    double pre = dgemm_n(3, 3, 3, 3, 201);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("blas_mix: fork");
        return 1;
    }
    if (pid == 0) {
        double cs = dgemm_n(5, 5, 6, 7, 202);
        printf("child: 5 dgemm checksum %a\n", cs);
        fflush(stdout);
        exit(0);
    }
    double post = dgemm_n(4, 4, 4, 4, 203);
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "blas_mix: child failed\n");
        return 1;
    }
    printf("parent: 3+4 dgemm checksum %a\n", pre + post);
    return 0;
}

static int hang_mode(int n)
{
    double cs = dgemm_n(n, 8, 8, 8, 301);
    printf("ready %d dgemm checksum %a\n", n, cs);
    fflush(stdout);
    for (;;)
        sleep(1);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: blas_mix [--threads T] [--dgemm A] [--fgemm B] [--sgemv C] [--no-singles]\n"
               "       blas_mix --fork\n"
               "       blas_mix --hang N\n");
}

int main(int argc, char **argv)
{
    int nthreads = 4, do_singles = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--threads") && v) { nthreads = atoi(v); i++; }
        else if (!strcmp(a, "--dgemm") && v) { n_dgemm = atoi(v); i++; }
        else if (!strcmp(a, "--fgemm") && v) { n_fgemm = atoi(v); i++; }
        else if (!strcmp(a, "--sgemv") && v) { n_sgemv = atoi(v); i++; }
        else if (!strcmp(a, "--no-singles")) do_singles = 0;
        else if (!strcmp(a, "--fork")) return fork_mode();
        else if (!strcmp(a, "--hang") && v) return hang_mode(atoi(v));
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else { usage(stderr); return 2; }
    }
    if (nthreads < 1 || nthreads > 256 || n_dgemm < 0 || n_fgemm < 0 || n_sgemv < 0) {
        usage(stderr);
        return 2;
    }

    struct worker *w = calloc(nthreads, sizeof *w);
    if (!w) {
        fprintf(stderr, "blas_mix: out of memory\n");
        return 1;
    }
    for (int i = 0; i < nthreads; i++) {
        w[i].id = i;
        if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "blas_mix: pthread_create failed\n");
            return 1;
        }
    }
    double cs = 0.0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(w[i].th, NULL);
        cs += w[i].checksum;
    }
    if (do_singles)
        cs += singles();
    printf("blas_mix: threads %d cblas_dgemm %d dgemm_ %d cblas_sgemv %d singles %d checksum %a\n",
           nthreads, nthreads * n_dgemm, nthreads * n_fgemm, nthreads * n_sgemv,
           do_singles ? 10 : 0, cs);
    free(w);
    return 0;
}
