/* mlp_train.c - the demo trainer: a 784-128-64-10 multi-layer perceptron
 * (ReLU, softmax cross-entropy, plain SGD) trained on synthetic data with
 * row-major cblas_sgemm.  Real forward, backward and update; the loss falls.
 *
 *   mlp_train [--steps N] [--batch B] [--lr LR] [--seed S] [--print-every P]
 *             [--regions] [--quiet]
 *
 * BLAS calls, exactly, per step (B = batch; all cblas_sgemm, CblasRowMajor):
 *
 *   layer  pass      product              trans  m    n    k
 *   fc1    forward   H1  = X  . W1         N N   B    128  784
 *   fc2    forward   H2  = A1 . W2         N N   B    64   128
 *   fc3    forward   Z   = A2 . W3         N N   B    10   64
 *   fc3    backward  dW3 = A2^T . dZ       T N   64   10   B
 *   fc3    backward  dA2 = dZ . W3^T       N T   B    64   10
 *   fc2    backward  dW2 = A1^T . dH2      T N   128  64   B
 *   fc2    backward  dA1 = dH2 . W2^T      N T   B    128  64
 *   fc1    backward  dW1 = X^T . dH1       T N   784  128  B
 *
 * forward 3 + backward 5 (no input gradient for the first layer) = 8 calls
 * per step, 8 * N in all; no other BLAS routine is called (bias, ReLU,
 * softmax, loss and the SGD update are plain loops).
 *
 * --regions wraps each layer's forward and backward in
 * GREENSHIM_REGION_PUSH("fc1") ... GREENSHIM_REGION_POP() (include/greenshim.h):
 * per step the region fc1 is entered twice and holds 2 calls, fc2 and fc3
 * are entered twice and hold 3 calls each.  Off by default, so that the
 * analyzer's layer detection without markup is exercised.
 *
 * Data: 10 classes, each a Gaussian blob around a fixed random centre in
 * 784 dimensions (deterministic xorshift generator, seed --seed); a pool of
 * 4096 samples is cycled in batches.  Output: "step S loss L" every
 * --print-every steps (default 100) and at the last step, then one line
 * "final loss L accuracy A checksum C" (C sums the trained weights, printed
 * with %a so that bit-identical runs print identical text).  --quiet prints
 * nothing.  Defaults: --steps 1000 --batch 256, about 1-2 s on 2 cores.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greenshim.h"

#define NIN   784
#define NH1   128
#define NH2   64
#define NOUT  10
#define POOL  4096

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static double rng_uniform(void)   /* (0, 1) */
{
    return ((double)(rng_next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double rng_gauss(void)
{
    double u = rng_uniform(), v = rng_uniform();
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "mlp_train: out of memory\n");
        exit(1);
    }
    return p;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mlp_train [--steps N] [--batch B] [--lr LR] [--seed S] "
               "[--print-every P] [--regions] [--quiet]\n");
}

struct layer {
    int in, out;
    float *w, *b, *dw, *db;
};

static void layer_init(struct layer *l, int in, int out)
{
    l->in = in;
    l->out = out;
    l->w = xcalloc((size_t)in * out, sizeof(float));
    l->b = xcalloc(out, sizeof(float));
    l->dw = xcalloc((size_t)in * out, sizeof(float));
    l->db = xcalloc(out, sizeof(float));
    double scale = sqrt(2.0 / in);               /* He initialisation */
    for (size_t i = 0; i < (size_t)in * out; i++)
        l->w[i] = (float)(rng_gauss() * scale);
}

/* y[B x out] = x[B x in] . W[in x out] + b */
static void forward(const struct layer *l, int B, const float *x, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, l->out, l->in,
                1.0f, x, l->in, l->w, l->out, 0.0f, y, l->out);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < l->out; j++)
            y[(size_t)i * l->out + j] += l->b[j];
}

static void relu(float *a, const float *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = h[i] > 0.0f ? h[i] : 0.0f;
}

/* dy: gradient w.r.t. the layer output [B x out]; x: its input.
 * dW = x^T . dy, db = sum dy; dx = dy . W^T when dx is not NULL. */
static void backward(struct layer *l, int B, const float *x, const float *dy, float *dx)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l->in, l->out, B,
                1.0f, x, l->in, dy, l->out, 0.0f, l->dw, l->out);
    for (int j = 0; j < l->out; j++) {
        float s = 0.0f;
        for (int i = 0; i < B; i++)
            s += dy[(size_t)i * l->out + j];
        l->db[j] = s;
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, l->in, l->out,
                    1.0f, dy, l->out, l->w, l->out, 0.0f, dx, l->in);
}

static void sgd(struct layer *l, float lr)
{
    for (size_t i = 0; i < (size_t)l->in * l->out; i++)
        l->w[i] -= lr * l->dw[i];
    for (int j = 0; j < l->out; j++)
        l->b[j] -= lr * l->db[j];
}

/* dh = da where the pre-activation h > 0, else 0 */
static void relu_back(float *dh, const float *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dh[i] = h[i] > 0.0f ? dh[i] : 0.0f;
}

int main(int argc, char **argv)
{
    long steps = 1000, print_every = 100;
    int B = 256, regions = 0, quiet = 0;
    double lr = 0.05;
    unsigned long long seed = 42;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--steps") && v) { steps = atol(v); i++; }
        else if (!strcmp(a, "--batch") && v) { B = atoi(v); i++; }
        else if (!strcmp(a, "--lr") && v) { lr = atof(v); i++; }
        else if (!strcmp(a, "--seed") && v) { seed = strtoull(v, NULL, 0); i++; }
        else if (!strcmp(a, "--print-every") && v) { print_every = atol(v); i++; }
        else if (!strcmp(a, "--regions")) regions = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else { usage(stderr); return 2; }
    }
    if (steps < 0 || B < 1 || B > 65536) {
        usage(stderr);
        return 2;
    }
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    if (!rng_state)
        rng_state = 1;

    /* synthetic data: class centres, then a pool of noisy samples */
    float *centre = xcalloc((size_t)NOUT * NIN, sizeof(float));
    for (size_t i = 0; i < (size_t)NOUT * NIN; i++)
        centre[i] = (float)rng_gauss();
    float *pool = xcalloc((size_t)POOL * NIN, sizeof(float));
    int *label = xcalloc(POOL, sizeof(int));
    for (int s = 0; s < POOL; s++) {
        int c = (int)(rng_next() % NOUT);
        label[s] = c;
        for (int j = 0; j < NIN; j++)
            pool[(size_t)s * NIN + j] = (float)(0.12 * centre[(size_t)c * NIN + j] + rng_gauss());
    }

    struct layer fc1, fc2, fc3;
    layer_init(&fc1, NIN, NH1);
    layer_init(&fc2, NH1, NH2);
    layer_init(&fc3, NH2, NOUT);

    float *x = xcalloc((size_t)B * NIN, sizeof(float));
    int *y = xcalloc(B, sizeof(int));
    float *h1 = xcalloc((size_t)B * NH1, sizeof(float)), *a1 = xcalloc((size_t)B * NH1, sizeof(float));
    float *h2 = xcalloc((size_t)B * NH2, sizeof(float)), *a2 = xcalloc((size_t)B * NH2, sizeof(float));
    float *z = xcalloc((size_t)B * NOUT, sizeof(float)), *dz = xcalloc((size_t)B * NOUT, sizeof(float));
    float *dh2 = xcalloc((size_t)B * NH2, sizeof(float)), *dh1 = xcalloc((size_t)B * NH1, sizeof(float));

    double loss = 0.0, acc = 0.0;
    long pos = 0;
    for (long step = 1; step <= steps; step++) {
        for (int i = 0; i < B; i++) {
            memcpy(x + (size_t)i * NIN, pool + (size_t)pos * NIN, NIN * sizeof(float));
            y[i] = label[pos];
            pos = (pos + 1) % POOL;
        }

        /* forward */
        if (regions) GREENSHIM_REGION_PUSH("fc1");
        forward(&fc1, B, x, h1);
        relu(a1, h1, (size_t)B * NH1);
        if (regions) GREENSHIM_REGION_POP();
        if (regions) GREENSHIM_REGION_PUSH("fc2");
        forward(&fc2, B, a1, h2);
        relu(a2, h2, (size_t)B * NH2);
        if (regions) GREENSHIM_REGION_POP();
        if (regions) GREENSHIM_REGION_PUSH("fc3");
        forward(&fc3, B, a2, z);
        if (regions) GREENSHIM_REGION_POP();

        /* softmax cross-entropy, mean over the batch; dz = (p - onehot) / B */
        loss = 0.0;
        int correct = 0;
        for (int i = 0; i < B; i++) {
            float *zi = z + (size_t)i * NOUT, *dzi = dz + (size_t)i * NOUT;
            float mx = zi[0];
            int arg = 0;
            for (int j = 1; j < NOUT; j++)
                if (zi[j] > mx) { mx = zi[j]; arg = j; }
            double sum = 0.0;
            for (int j = 0; j < NOUT; j++)
                sum += exp((double)(zi[j] - mx));
            for (int j = 0; j < NOUT; j++) {
                double p = exp((double)(zi[j] - mx)) / sum;
                dzi[j] = (float)((p - (j == y[i])) / B);
            }
            loss += log(sum) - (double)(zi[y[i]] - mx);
            correct += arg == y[i];
        }
        loss /= B;
        acc = (double)correct / B;

        /* backward */
        if (regions) GREENSHIM_REGION_PUSH("fc3");
        backward(&fc3, B, a2, dz, dh2);
        if (regions) GREENSHIM_REGION_POP();
        relu_back(dh2, h2, (size_t)B * NH2);
        if (regions) GREENSHIM_REGION_PUSH("fc2");
        backward(&fc2, B, a1, dh2, dh1);
        if (regions) GREENSHIM_REGION_POP();
        relu_back(dh1, h1, (size_t)B * NH1);
        if (regions) GREENSHIM_REGION_PUSH("fc1");
        backward(&fc1, B, x, dh1, NULL);
        if (regions) GREENSHIM_REGION_POP();

        sgd(&fc1, (float)lr);
        sgd(&fc2, (float)lr);
        sgd(&fc3, (float)lr);

        if (!quiet && print_every > 0 && (step == 1 || step % print_every == 0 || step == steps)) {
            printf("step %ld loss %.6f\n", step, loss);
            fflush(stdout);
        }
    }

    double checksum = 0.0;
    const struct layer *ls[3] = { &fc1, &fc2, &fc3 };
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < (size_t)ls[l]->in * ls[l]->out; i++)
            checksum += ls[l]->w[i];
        for (int j = 0; j < ls[l]->out; j++)
            checksum += ls[l]->b[j];
    }
    if (!quiet)
        printf("final loss %.6f accuracy %.3f checksum %a\n", loss, acc, checksum);
    return 0;
}
