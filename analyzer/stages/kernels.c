/* kernels.c - the GPU stage: from the GPU records the reader decoded
 * (read/gpu_records.c), turns CUDA and cuBLAS calls into op and shape rows, and gives
 * every kernel its GPU time, energy and launch->start latency.
 *
 * Energy per kernel.  NVML's energy counter moves about every 10 ms, coarser
 * than most kernels, so the energy of one kernel is never read directly.
 * Between two moves of the counter the energy is known exactly; within
 * that interval, time is split between idle and the kernel signatures
 * (names) that ran, kernels overlapping on several streams sharing each
 * instant by count.  Over all intervals of a run this is a linear system,
 * energy_i = P_idle * idle_i + sum_s P_s * busy_i,s, solved by least
 * squares (ridge-damped towards the mean power so a signature that always
 * runs with another stays finite): one average power per signature,
 * aggregated across iterations.  Kernel energy = its signature's power x
 * its share of time; idle gaps get P_idle.  The fitted energies are then
 * scaled so kernels + idle equal the NVML total exactly; the scale's
 * distance from 1 is reported (fit_residual).  The uncertainty of a
 * signature's energy is two standard errors of its power (from the fit's
 * residuals) times its time, plus the closure correction.
 *
 * Kernel records carry CUDA device ordinals, NVML samples NVML indices: a
 * process's GPU_DEV records map the one to the other (by PCI bus id), and a
 * kernel is charged to the NVML device its ordinal maps to.  Without them
 * (older traces, no driver access) ordinal = index is assumed, and said so
 * when it matters (several NVML devices). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "read/gpu_records.h"

#define GROW(arr, n, cap)                                                    \
    do {                                                                     \
        if ((n) == (cap)) {                                                  \
            (cap) = (cap) ? (cap) * 2 : 64;                                  \
            void *np_ = realloc((arr), (cap) * sizeof *(arr));               \
            if (!np_) { fprintf(stderr, "greenshim-analyze: out of memory\n"); exit(3); } \
            (arr) = np_;                                                     \
        }                                                                    \
    } while (0)

/* ---- the report ---- */

static int op_row(struct ana_report *r, const char *op, const char *api)
{
    for (size_t i = 0; i < r->nops; i++)
        if (strcmp(r->ops[i].op, op) == 0 && r->ops[i].api && strcmp(r->ops[i].api, api) == 0)
            return (int)i;
    r->ops = realloc(r->ops, (r->nops + 1) * sizeof *r->ops);
    memset(&r->ops[r->nops], 0, sizeof r->ops[0]);
    snprintf(r->ops[r->nops].op, sizeof r->ops[0].op, "%s", op);
    r->ops[r->nops].api = api;
    return (int)r->nops++;
}

static int shape_row(struct ana_report *r, const char *op, const char *api, int ta, int tb,
                     uint32_t m, uint32_t n, uint32_t k)
{
    for (size_t i = 0; i < r->nshapes; i++) {
        struct ana_shape_row *s = &r->shapes[i];
        if (s->m == m && s->n == n && s->k == k && s->transa == ta && s->transb == tb &&
            s->api && strcmp(s->api, api) == 0 && strcmp(s->op, op) == 0)
            return (int)i;
    }
    r->shapes = realloc(r->shapes, (r->nshapes + 1) * sizeof *r->shapes);
    struct ana_shape_row *s = &r->shapes[r->nshapes];
    memset(s, 0, sizeof *s);
    snprintf(s->op, sizeof s->op, "%s", op);
    s->api = api; s->transa = ta; s->transb = tb; s->m = m; s->n = n; s->k = k;
    return (int)r->nshapes++;
}

static int kernel_row(struct ana_gpu_report *G, const char *name)
{
    for (size_t i = 0; i < G->nkernels; i++)
        if (strcmp(G->kernels[i].name, name) == 0)
            return (int)i;
    G->kernels = realloc(G->kernels, (G->nkernels + 1) * sizeof *G->kernels);
    struct ana_kernel_row *k = &G->kernels[G->nkernels];
    memset(k, 0, sizeof *k);
    k->name = strdup(name);
    return (int)G->nkernels++;
}

/* after aggregate the name lookups are gone (the rows were sorted): a
 * linear search, then a new row at the end */
static int layer_row(struct ana_report *r, const char *name)
{
    static const struct ana_first none = { UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT64_MAX };
    for (size_t i = 0; i < r->nlayers; i++)
        if (strcmp(r->layers[i].name, name) == 0)
            return (int)i;
    r->layers = realloc(r->layers, (r->nlayers + 1) * sizeof *r->layers);
    if (!r->layers) {
        fprintf(stderr, "greenshim-analyze: out of memory\n");
        exit(3);
    }
    struct ana_layer_row *l = &r->layers[r->nlayers];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->op = -1;
    l->first = none;
    l->idx0 = (uint32_t)r->nlayers;
    return (int)r->nlayers++;
}

/* corr -> index, by binary search over (corr, index) pairs */
struct cpair { uint64_t key; size_t idx; };
static int cpair_cmp(const void *a, const void *b)
{
    const struct cpair *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}
static long cpair_find(const struct cpair *v, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && v[lo].key == key ? (long)v[lo].idx : -1;
}

/* one kernel of the run, joined */
struct jk {
    struct ana_proc *p;
    const struct g_kernel *k;
    long device;                  /* NVML index it ran on (GPU_DEV), -1: unknown */
    int row;                      /* kernel_row */
    int sig;                      /* column in the fit: row + 1 */
    int layer;                    /* -1 none */
    double share_s;               /* its time, overlaps shared by count (ns) */
    double share_in_s;            /* ... of it inside the NVML window (s) */
    double energy_j;
};

/* A device's energy series, from one process (NVML energy is machine-wide:
 * every process of the run samples the same counter; the longest series
 * counts, once). */
struct series {
    const char *uuid, *name;
    int device;                   /* NVML index */
    uint8_t energy;
    size_t n;
    double *t, *e;                /* ns, cumulative J at the interval edges */
    double *u;                    /* ns: how far each edge's time may be off */
    double *ue;                   /* J: how far each interval's energy may be off (power path) */
    const struct g_info *info;
    double res_ns;                /* the shortest time it resolves (build_series) */
};

/* median of v[0..n) (sorts it; insertion: a few thousand at most per run) */
static double median(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double x = v[j]; v[j] = v[j - 1]; v[j - 1] = x;
        }
    return n ? v[n / 2] : 0;
}

/* cumulative energy of a series at t (ns), linear between edges, clamped */
static double series_at(const struct series *s, double t)
{
    if (!s->n || t <= s->t[0])
        return s->n ? s->e[0] : 0;
    if (t >= s->t[s->n - 1])
        return s->e[s->n - 1];
    size_t lo = 0, hi = s->n - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s->t[mid] <= t) lo = mid;
        else hi = mid;
    }
    double f = s->t[hi] > s->t[lo] ? (t - s->t[lo]) / (s->t[hi] - s->t[lo]) : 0;
    return s->e[lo] + f * (s->e[hi] - s->e[lo]);
}

static int nv_cmp(const void *a, const void *b)
{
    const struct g_nvml *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* Interval edges of one device's series: counter -> where it moved (half-way
 * between the last old and the first new reading); power -> trapezoids.
 * res_ns: the shortest time the series resolves - the counter's update
 * period; the instant power field's (the typical spacing of the readings
 * that changed, no less than the sampling's); 1 s for
 * nvmlDeviceGetPowerUsage (a 1 s average on Ampere and later; older
 * traces do not say which reading they hold: taken as the average). */
static void build_series(struct ana_proc *p, int dev, uint8_t kind, uint8_t power_src, struct series *s)
{
    struct ana_gpu *g = p->gpu;
    size_t n = 0;
    for (size_t i = 0; i < g->nnv; i++)
        n += g->nv[i].device == dev;
    struct g_nvml *v = malloc((n + 1) * sizeof *v);
    n = 0;
    for (size_t i = 0; i < g->nnv; i++)
        if (g->nv[i].device == dev)
            v[n++] = g->nv[i];
    qsort(v, n, sizeof *v, nv_cmp);
    s->t = malloc((n + 1) * sizeof *s->t);
    s->e = malloc((n + 1) * sizeof *s->e);
    s->u = malloc((n + 1) * sizeof *s->u);
    s->ue = calloc(n + 1, sizeof *s->ue);
    s->n = 0;
    if (kind == GS_GPU_E_COUNTER) {
        /* The counter moves every quantum Q; a reading after a gap in the
         * sampling shows only the last move, which happened within Q before
         * it: a move is placed half-way between the readings around it, but
         * never more than Q/2 before the reading that shows it.  Q is the
         * typical spacing of the readings that show a move. */
        double *sp = malloc((n + 1) * sizeof *sp);
        size_t nsp = 0;
        double tlast = -1;
        for (size_t i = 1; i < n; i++) {
            if (v[i].mj == v[i - 1].mj)
                continue;
            double t = (double)ana_ns(p, v[i].t);
            if (tlast >= 0)
                sp[nsp++] = t - tlast;
            tlast = t;
        }
        double q = median(sp, nsp);
        free(sp);
        s->res_ns = q;
        /* the first reading starts the series: its value is the energy
         * at the counter's last move, at most Q before it (a sampling
         * thread that started late no longer moves the window's start) */
        uint64_t base = 0;
        if (n) {
            double t = (double)ana_ns(p, v[0].t_before), th = (double)ana_ns(p, v[0].t_after);
            double lo = q > 0 ? t - q : t;
            base = v[0].mj;
            s->t[0] = (lo + th) / 2;
            s->u[0] = (th - lo) / 2;
            s->e[0] = 0;
            s->n = 1;
        }
        for (size_t i = 1; i < n; i++) {
            if (v[i].mj == v[i - 1].mj)
                continue;
            if (v[i].mj < v[i - 1].mj)
                break;                  /* counter reset (driver reload): the series stops */
            /* each reading happened somewhere between the stamps around it
             * (a reader held up mid-read: its value may be from the end):
             * the move is after the previous reading began, at most Q
             * before this one began, and before this one ended */
            double t = (double)ana_ns(p, v[i].t_before), th = (double)ana_ns(p, v[i].t_after);
            double tp = (double)ana_ns(p, v[i - 1].t_before);
            double lo = q > 0 && t - q > tp ? t - q : tp;   /* the move is in [lo, th] */
            double c = (lo + th) / 2;
            if (s->n && c <= s->t[s->n - 1])
                continue;
            if (!s->n)
                base = v[i].mj;
            s->t[s->n] = c;
            s->u[s->n] = (th - lo) / 2;
            s->e[s->n] = (double)(v[i].mj - base) * 1e-3;
            s->n++;
        }
    } else {
        /* power readings: trapezoids; between two readings the power may
         * have been anywhere between them (and short kernels alias with the
         * sampling), so an interval's energy is known only to within the
         * readings' difference times its length */
        if (power_src == GS_GPU_P_INSTANT) {
            double *sp = malloc((n + 1) * sizeof *sp), *ch = malloc((n + 1) * sizeof *ch);
            size_t nsp = 0, nch = 0;
            double tlast = -1;
            for (size_t i = 1; i < n; i++) {
                double t = (double)ana_ns(p, v[i].t);
                sp[nsp++] = t - (double)ana_ns(p, v[i - 1].t);
                if (v[i].mw == v[i - 1].mw)
                    continue;
                if (tlast >= 0)
                    ch[nch++] = t - tlast;
                tlast = t;
            }
            double a = median(sp, nsp), b = median(ch, nch);
            s->res_ns = a > b ? a : b;
            free(sp);
            free(ch);
        } else {
            s->res_ns = 1e9;
        }
        double e = 0;
        for (size_t i = 0; i < n; i++) {
            double t = (double)ana_ns(p, v[i].t);
            if (i) {
                double len = (t - s->t[s->n - 1]) * 1e-9;
                e += 0.5 * (v[i].mw + v[i - 1].mw) * 1e-3 * len;
                s->ue[s->n - 1] = fabs((double)v[i].mw - (double)v[i - 1].mw) * 1e-3 * len;
            }
            s->t[s->n] = t;
            s->u[s->n] = 0;
            s->e[s->n++] = e;
        }
    }
    free(v);
}

/* Solve the (k x k) SPD system a x = b in place (Cholesky); inv gets the
 * inverse's diagonal.  Returns -1 when not positive definite. */
static int solve_spd(double *a, double *b, double *inv, int k)
{
    for (int j = 0; j < k; j++) {
        double d = a[j * k + j];
        for (int m = 0; m < j; m++)
            d -= a[j * k + m] * a[j * k + m];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        a[j * k + j] = d;
        for (int i = j + 1; i < k; i++) {
            double s = a[i * k + j];
            for (int m = 0; m < j; m++)
                s -= a[i * k + m] * a[j * k + m];
            a[i * k + j] = s / d;
        }
    }
    double *y = malloc(k * sizeof *y);
    /* x = L^-T L^-1 b */
    for (int i = 0; i < k; i++) {
        double s = b[i];
        for (int m = 0; m < i; m++)
            s -= a[i * k + m] * y[m];
        y[i] = s / a[i * k + i];
    }
    for (int i = k - 1; i >= 0; i--) {
        double s = y[i];
        for (int m = i + 1; m < k; m++)
            s -= a[m * k + i] * b[m];
        b[i] = s / a[i * k + i];
    }
    /* diag of the inverse: sum over rows of L^-1 squared */
    for (int c = 0; c < k; c++) {
        for (int i = 0; i < k; i++) {
            double s = i == c ? 1 : 0;
            for (int m = c; m < i; m++)
                s -= a[i * k + m] * y[m];
            y[i] = i < c ? 0 : s / a[i * k + i];
        }
        for (int i = c; i < k; i++)
            inv[i] += y[i] * y[i];
    }
    free(y);
    return 0;
}

static int jk_cmp(const void *a, const void *b)
{
    const struct jk *x = a, *y = b;
    return x->k->start < y->k->start ? -1 : x->k->start > y->k->start;
}

struct edge { double t; int idx; int on; };
static int edge_cmp(const void *a, const void *b)
{
    const struct edge *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->on - y->on;         /* ends before starts at the same instant */
}

#define GS_MAXSIG 256              /* columns of the fit (signatures) at most */

/* The least-squares system of one device, built while sweeping the
 * kernels' edges: one row per NVML interval (x: its time split between
 * idle, column 0, and the signatures).  The pieces of each row are kept
 * (ent) for the split of the measured energy afterwards. */
struct ent { size_t row; size_t inst; double x; };
struct sys {
    int K;
    double *A, *B, *x;
    int *used;
    double yy, ttot;
    size_t rows;
    struct ent *ent; size_t nent, capent;
    double *idle_x;               /* per row */
};

static void sys_flush(struct sys *S, double y, double len_s)
{
    int K = S->K, nz[64], nnz = 0, dense = 0;
    for (int c = 0; c < K; c++)
        if (S->x[c] != 0) {
            S->used[c] = 1;
            if (nnz < 64) nz[nnz++] = c;
            else dense = 1;
        }
    if (dense) {
        for (int c = 0; c < K; c++) if (S->x[c] != 0) {
            for (int d = 0; d < K; d++) if (S->x[d] != 0) S->A[c * K + d] += S->x[c] * S->x[d];
            S->B[c] += S->x[c] * y;
        }
    } else {
        for (int u = 0; u < nnz; u++) {
            for (int v = 0; v < nnz; v++)
                S->A[nz[u] * K + nz[v]] += S->x[nz[u]] * S->x[nz[v]];
            S->B[nz[u]] += S->x[nz[u]] * y;
        }
    }
    S->yy += y * y;
    S->ttot += len_s;
    S->rows++;
    memset(S->x, 0, K * sizeof *S->x);
}

struct sweep {
    struct sys *S;
    const struct series *s;
    struct jk *js;
    size_t cur;                   /* NVML interval index */
    double first, last, idle_gap;
};

static void sweep_to(struct sweep *w, size_t upto)
{
    const struct series *s = w->s;
    while (w->cur < upto && w->cur + 1 < s->n) {
        sys_flush(w->S, s->e[w->cur + 1] - s->e[w->cur], (s->t[w->cur + 1] - s->t[w->cur]) * 1e-9);
        w->cur++;
    }
}

/* [a, b) with the kernels act[0..nact) running */
static void segment(struct sweep *w, double a, double b, const int *act, size_t nact)
{
    if (!(b > a))
        return;
    const struct series *s = w->s;
    struct sys *S = w->S;
    for (size_t q = 0; q < nact; q++)
        w->js[act[q]].share_s += (b - a) / (double)nact;
    if (!nact && a >= w->first && b <= w->last)
        w->idle_gap += (b - a) * 1e-9;
    double t = a > s->t[0] ? a : s->t[0], end = b < s->t[s->n - 1] ? b : s->t[s->n - 1];
    while (t < end) {
        while (w->cur + 1 < s->n && s->t[w->cur + 1] <= t)
            sweep_to(w, w->cur + 1);
        if (w->cur + 1 >= s->n)
            break;
        double t1 = end < s->t[w->cur + 1] ? end : s->t[w->cur + 1], o = (t1 - t) * 1e-9;
        if (nact) {
            for (size_t q = 0; q < nact; q++) {
                struct jk *j = &w->js[act[q]];
                S->x[j->sig] += o / (double)nact;
                j->share_in_s += o / (double)nact;
                GROW(S->ent, S->nent, S->capent);
                S->ent[S->nent++] = (struct ent){ w->cur, (size_t)act[q], o / (double)nact };
            }
        } else {
            S->x[0] += o;
            S->idle_x[w->cur] += o;
        }
        t = t1;
    }
}

/* Attribute one device's energy to its kernels (js: the kernels on it,
 * by start).  The fit gives each signature an average power; each NVML
 * interval's measured energy is then split between idle and the kernels in
 * it in proportion to what the fit predicts for them, so the split adds up
 * to the measurement interval by interval, and an instant shared by
 * overlapping kernels is shared by duration. */
static void attribute_device(struct ana_gpu_report *G, struct ana_gpu_row *gr, const struct series *s,
                             struct jk *js, size_t nj)
{
    if (s->n < 2)
        return;
    /* one column per signature, the busiest GS_MAXSIG - 1 of them; the
     * rest share the last (the system stays small whatever the trace) */
    size_t nrow = G->nkernels;
    int *col = malloc((nrow + 1) * sizeof *col);
    size_t *ord = malloc((nrow + 1) * sizeof *ord);
    for (size_t i = 0; i < nrow; i++)
        ord[i] = i;
    for (size_t i = 1; i < nrow; i++)        /* by time, descending (insertion: rows are few) */
        for (size_t j = i; j > 0 && G->kernels[ord[j - 1]].time_s < G->kernels[ord[j]].time_s; j--) {
            size_t x = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = x;
        }
    for (size_t i = 0; i < nrow; i++)
        col[ord[i]] = i < GS_MAXSIG - 1 ? (int)i + 1 : GS_MAXSIG;
    free(ord);
    int K = (nrow < GS_MAXSIG ? (int)nrow : GS_MAXSIG) + 1;   /* column 0: idle */
    for (size_t i = 0; i < nj; i++)
        js[i].sig = col[js[i].row];
    size_t N = s->n - 1;
    struct sys S = { K, calloc((size_t)K * K, sizeof(double)), calloc(K, sizeof(double)),
                     calloc(K, sizeof(double)), calloc(K, sizeof(int)), 0, 0, 0, NULL, 0, 0,
                     calloc(N, sizeof(double)) };
    double *inv = calloc(K, sizeof *inv), etot = s->e[s->n - 1] - s->e[0];
    struct edge *ev = malloc((2 * nj + 1) * sizeof *ev);
    size_t ne = 0;
    for (size_t i = 0; i < nj; i++) {
        ev[ne++] = (struct edge){ (double)js[i].k->start, (int)i, 1 };
        ev[ne++] = (struct edge){ (double)js[i].k->end, (int)i, 0 };
    }
    qsort(ev, ne, sizeof *ev, edge_cmp);
    int *act = malloc((nj + 1) * sizeof *act);
    size_t nact = 0;
    struct sweep w = { &S, s, js, 0, ne ? ev[0].t : 0, ne ? ev[ne - 1].t : 0, 0 };
    double prev = ne && ev[0].t < s->t[0] ? ev[0].t : s->t[0];
    for (size_t e = 0; e < ne; e++) {
        segment(&w, prev, ev[e].t, act, nact);
        if (ev[e].t > prev)
            prev = ev[e].t;
        if (ev[e].on) {
            act[nact++] = ev[e].idx;
        } else {
            for (size_t q = 0; q < nact; q++)
                if (act[q] == ev[e].idx) { act[q] = act[--nact]; break; }
        }
    }
    segment(&w, prev, s->t[s->n - 1], act, 0);
    sweep_to(&w, s->n - 1);

    double pmean = S.ttot > 0 ? etot / S.ttot : 0;
    /* ridge towards the mean power; columns the data never saw pinned to it */
    double *A0 = malloc((size_t)K * K * sizeof *A0), *P = malloc(K * sizeof *P), *B0 = malloc(K * sizeof *B0);
    memcpy(A0, S.A, (size_t)K * K * sizeof *A0);
    memcpy(B0, S.B, K * sizeof *B0);
    for (int c = 0; c < K; c++) {
        double lam = S.used[c] ? 1e-4 * S.A[c * K + c] + 1e-15 : 1.0;
        S.A[c * K + c] += lam;
        S.B[c] += lam * pmean;
    }
    memcpy(P, S.B, K * sizeof *P);
    if (solve_spd(S.A, P, inv, K) != 0)
        for (int c = 0; c < K; c++) P[c] = pmean, inv[c] = 0;
    for (int c = 0; c < K; c++)
        if (!(P[c] > 1e-3 * pmean)) P[c] = 1e-3 * pmean;   /* no share of a row may vanish */
    double rss = S.yy;
    for (int c = 0; c < K; c++) {
        rss -= 2 * P[c] * B0[c];
        for (int d = 0; d < K; d++)
            rss += P[c] * A0[c * K + d] * P[d];
    }
    int nused = 0;
    for (int c = 0; c < K; c++) nused += S.used[c];
    double sigma2 = S.rows > (size_t)nused ? (rss > 0 ? rss : 0) / (double)(S.rows - (size_t)nused) : 0;
    double *sd = malloc(K * sizeof *sd);
    for (int c = 0; c < K; c++)
        sd[c] = 2 * sqrt(sigma2 * inv[c]);                  /* two standard errors of P */

    /* the fit's prediction per row, then the split of what was measured */
    double *D = calloc(N, sizeof *D), fit = 0;
    for (size_t r = 0; r < N; r++)
        D[r] = S.idle_x[r] * P[0];
    for (size_t i = 0; i < S.nent; i++)
        D[S.ent[i].row] += S.ent[i].x * P[js[S.ent[i].inst].sig];
    for (size_t r = 0; r < N; r++)
        fit += D[r];
    double idle_e = 0, idle_t = 0;
    for (size_t r = 0; r < N; r++) {
        double y = s->e[r + 1] - s->e[r];
        if (D[r] > 0)
            idle_e += y * S.idle_x[r] * P[0] / D[r];
        idle_t += S.idle_x[r];
    }
    /* per signature: d(energy)/d(own power), d/d(idle power), edge timing */
    /* per kernel row: d(energy)/d(own power), d/d(idle power), edge timing */
    double *dself = calloc(nrow + 1, sizeof *dself), *didle = calloc(nrow + 1, sizeof *didle);
    double *tim = calloc(nrow + 1, sizeof *tim);
    double *lin = calloc(nrow + 1, sizeof *lin);   /* power path: correlated, summed linearly */
    for (size_t i = 0; i < S.nent; i++) {
        const struct ent *en = &S.ent[i];
        struct jk *j = &js[en->inst];
        size_t r = en->row;
        double y = s->e[r + 1] - s->e[r], len = (s->t[r + 1] - s->t[r]) * 1e-9;
        if (!(D[r] > 0) || !(len > 0))
            continue;
        double ps = P[j->sig], part = y * en->x * ps / D[r];
        j->energy_j += part;
        dself[j->row] += y * en->x * (D[r] - en->x * ps) / (D[r] * D[r]);
        didle[j->row] -= y * en->x * ps * S.idle_x[r] / (D[r] * D[r]);
        double u = sqrt(s->u[r] * s->u[r] + s->u[r + 1] * s->u[r + 1]) * 1e-9;
        double et = y / len * (en->x / len) * u;
        tim[j->row] += et * et;
        /* power path: where the kernel covers only part of the interval,
         * where between the readings the power changed is unknown: the
         * interval's whole uncertainty (a bound, not a standard error) */
        if (s->ue[r] > 0)
            lin[j->row] += en->x < 0.999 * len ? s->ue[r] : y > 0 ? s->ue[r] * part / y : 0;
    }
    gr->energy_j = etot;
    gr->window_s = S.ttot;
    gr->fit_residual = etot > 0 ? (fit - etot) / etot : 0;
    gr->idle_s = idle_t;
    gr->idle_energy_j = idle_e;
    gr->idle_power_w = idle_t > 0 ? idle_e / idle_t : P[0];
    gr->idle_gap_s = w.idle_gap;
    gr->idle_gap_energy_j = gr->idle_power_w * w.idle_gap;
    gr->kernels_energy_j = 0;
    gr->kernels_outside_j = 0;
    /* time a kernel ran outside the NVML window (NVML starts a little after
     * the first CUDA call): its signature's fitted power x that time,
     * estimated, not part of the measured total */
    double *out_s = calloc(nrow + 1, sizeof *out_s);
    for (size_t i = 0; i < nj; i++) {
        struct jk *j = &js[i];
        double o = j->share_s * 1e-9 - j->share_in_s;
        double eo = o > 0 ? P[j->sig] * o : 0;
        G->kernels[j->row].energy_j += j->energy_j + eo;
        gr->kernels_energy_j += j->energy_j;
        gr->kernels_outside_j += eo;
        if (o > 0)
            out_s[j->row] += o;
        j->energy_j += eo;
    }
    for (size_t k = 0; k < nrow; k++) {
        struct ana_kernel_row *kr = &G->kernels[k];
        double a = dself[k] * sd[col[k]], b = didle[k] * sd[0];
        double e2 = a * a + b * b + tim[k];
        /* outside the window: the power's two standard errors, and no less
         * than a quarter of the estimate (the power there is not measured) */
        double po = P[col[k]] * out_s[k], eo = sd[col[k]] * out_s[k];
        if (eo < 0.25 * po)
            eo = 0.25 * po;
        if (e2 > 0 || lin[k] > 0 || eo > 0)
            kr->energy_err_j = sqrt(kr->energy_err_j * kr->energy_err_j + e2) + lin[k] + eo;
    }
    /* Kernels shorter than what the series resolves (s->res_ns): a power
     * reading that is a 1 s average, or one that updates every U, cannot
     * tell such a kernel's power from its neighbours' (power path: a row
     * whose calls are that short on average); the counter's intervals
     * resolve a short kernel that recurs, through the fit, but not a row
     * whose whole time is under one update period.  Such a row's energy is
     * known only to lie between 0 and what the device drew over its calls
     * widened by that time on each side: its uncertainty is at least the
     * larger distance to either end, never the fit's tighter one. */
    double res = s->res_ns;
    size_t widened = 0;
    if (res > 0) {
        double *dur = calloc(nrow + 1, sizeof *dur), *ed = calloc(nrow + 1, sizeof *ed);
        double *eu = calloc(nrow + 1, sizeof *eu), *uend = malloc((nrow + 1) * sizeof *uend);
        uint64_t *nc = calloc(nrow + 1, sizeof *nc);
        for (size_t k = 0; k <= nrow; k++)
            uend[k] = -INFINITY;
        for (size_t i = 0; i < nj; i++) {         /* by start: the union of [start - res, end + res] */
            const struct jk *j = &js[i];
            double a = (double)j->k->start - res, b = (double)j->k->end + res;
            dur[j->row] += (double)(j->k->end - j->k->start);
            ed[j->row] += j->energy_j;
            nc[j->row]++;
            if (a < uend[j->row])
                a = uend[j->row];
            if (b > a)
                eu[j->row] += series_at(s, b) - series_at(s, a);
            if (b > uend[j->row])
                uend[j->row] = b;
        }
        int power = s->energy == GS_GPU_E_POWER;
        for (size_t k = 0; k < nrow; k++) {
            if (!nc[k] || !(power ? dur[k] / (double)nc[k] < res : dur[k] < res))
                continue;
            double wide = ed[k] > eu[k] - ed[k] ? ed[k] : eu[k] - ed[k];
            struct ana_kernel_row *kr = &G->kernels[k];
            if (kr->energy_err_j < wide)
                kr->energy_err_j = wide;
            widened++;
        }
        free(dur); free(ed); free(eu); free(uend); free(nc);
    }
    gr->kernels_widened = (unsigned)widened;
    free(out_s);
    free(lin);
    free(col);
    free(dself); free(didle); free(tim); free(D); free(sd);
    free(A0); free(B0); free(P); free(inv); free(ev); free(act);
    free(S.A); free(S.B); free(S.x); free(S.used); free(S.ent); free(S.idle_x);
}

/* the NVML index of CUDA device 'ordinal' in this process: its GPU_DEV
 * record's; none recorded at all: the ordinal itself (older traces); an
 * ordinal the records do not name, or a device NVML did not find: -1 */
static long nvml_of(const struct ana_gpu *g, uint16_t ordinal)
{
    if (!g->ndev)
        return ordinal;
    for (size_t i = 0; i < g->ndev; i++)
        if (g->dev[i].ordinal == ordinal)
            return g->dev[i].nvml == GS_GPU_DEV_NONE ? -1 : (long)g->dev[i].nvml;
    return -1;
}

static const char *layer_of(struct ana_proc *p, uint32_t region)
{
    const char *nm = region ? ana_string(p, region) : NULL;
    return nm ? nm : "(no region)";
}

void ana_gpu_report(struct ana_report *r)
{
    struct ana_gpu_report *G = calloc(1, sizeof *G);
    r->gpu = G;
    struct ana_run *run = r->run;
    size_t total_k = 0;
    char nm[64];
    /* ops and shapes */
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        struct ana_gpu *g = p->gpu;
        if (!g)
            continue;
        for (size_t i = 0; i < g->napi; i++) {
            const struct g_api *a = &g->api[i];
            int oi = op_row(r, ana_gpu_api_name(a->fn), ana_gpu_api_kind(a->fn));
            struct ana_op_row *o = &r->ops[oi];
            o->calls++;
            o->errors += a->ret != 0;
            o->time_s += (double)(ana_ns(p, a->t1) - ana_ns(p, a->t0)) * 1e-9;
            r->total_calls++;
        }
        for (size_t i = 0; i < g->ncb; i++) {
            struct g_cublas *c = &g->cb[i];
            ana_gpu_cublas_name(c->routine, c->flags, nm, sizeof nm);
            const char *api = c->flags & GS_CB_F_LT ? "cublaslt" : "cublas";
            double fl = 2.0 * (double)c->m * (double)c->n * (double)c->k * (double)c->batch;
            double t = (double)(ana_ns(p, c->t1) - ana_ns(p, c->t0)) * 1e-9;
            int oi = op_row(r, nm, api);
            struct ana_op_row *o = &r->ops[oi];
            o->calls++; o->errors += c->status != 0; o->flops += fl; o->time_s += t;
            int si = shape_row(r, nm, api, c->ta, c->tb, (uint32_t)c->m, (uint32_t)c->n, (uint32_t)c->k);
            struct ana_shape_row *s = &r->shapes[si];
            s->calls++; s->flops += fl; s->time_s += t;
            c->oi = oi; c->si = si; c->cpu_s = t; c->gpu_s = 0;
            r->total_calls++;
        }
        total_k += g->nk;
    }
    /* kernels joined to their launch (corr) or cuBLAS call (ext) */
    struct jk *js = calloc(total_k + 1, sizeof *js);
    size_t nj = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        struct ana_gpu *g = p->gpu;
        if (!g || !g->nk)
            continue;
        struct cpair *ac = malloc((g->napi + 1) * sizeof *ac), *ec = malloc((g->next + 1) * sizeof *ec),
                     *cc = malloc((g->ncb + 1) * sizeof *cc);
        size_t na = 0, nec = 0, ncc = 0;
        for (size_t i = 0; i < g->napi; i++)
            if (g->api[i].corr) ac[na++] = (struct cpair){ g->api[i].corr, i };
        for (size_t i = 0; i < g->next; i++)
            ec[nec++] = (struct cpair){ g->ext[i].corr, (size_t)g->ext[i].ext };
        for (size_t i = 0; i < g->ncb; i++)
            if (g->cb[i].ext) cc[ncc++] = (struct cpair){ g->cb[i].ext, i };
        qsort(ac, na, sizeof *ac, cpair_cmp);
        qsort(ec, nec, sizeof *ec, cpair_cmp);
        qsort(cc, ncc, sizeof *cc, cpair_cmp);
        for (size_t i = 0; i < g->nk; i++) {
            const struct g_kernel *k = &g->k[i];
            const char *kn = ana_string(p, k->name);
            struct jk *j = &js[nj++];
            j->p = p;
            j->k = k;
            j->device = nvml_of(g, k->device);
            j->row = kernel_row(G, kn ? kn : "(unnamed kernel)");
            j->sig = j->row + 1;
            j->layer = -1;
            struct ana_kernel_row *kr = &G->kernels[j->row];
            kr->calls++;
            kr->time_s += (double)(k->end - k->start) * 1e-9;
            uint32_t region = 0;
            int have_region = 0;
            long ai = k->corr ? cpair_find(ac, na, k->corr) : -1;
            if (ai >= 0) {
                const struct g_api *a = &g->api[ai];
                double lat = (double)k->start - (double)ana_ns(p, a->t0);
                kr->latency_sum_s += lat * 1e-9;
                kr->latency_n++;
                region = a->region;
                have_region = 1;
                kr->joined++;
            }
            long ext = k->corr ? cpair_find(ec, nec, k->corr) : -1;
            if (ext >= 0) {
                long ci = cpair_find(cc, ncc, (uint64_t)ext);
                if (ci >= 0) {
                    if (!have_region) {
                        region = g->cb[ci].region;
                        have_region = 1;
                    }
                    kr->cublas++;
                    g->cb[ci].gpu_s += (double)(k->end - k->start) * 1e-9;
                }
            }
            if (have_region && r->layers_from_regions) {
                /* the region open at its launch: a leaf region's row, else the region's own */
                char lname[256];
                const char *src = "region";
                const char *ln = region ? ana_layers_region_name(r, p, region, lname, sizeof lname, &src)
                                        : layer_of(p, region);
                j->layer = layer_row(r, ln);
                if (region && !r->layers[j->layer].source)
                    r->layers[j->layer].source = src;
            }
        }
        free(ac); free(ec); free(cc);
    }
    /* cuBLAS rows: the GPU time of the kernels a call launched, where they
     * joined (a launch returns before its kernels run), else the call's */
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_gpu *g = run->procs[pi]->gpu;
        for (size_t i = 0; g && i < g->ncb; i++) {
            const struct g_cublas *c = &g->cb[i];
            if (c->gpu_s > 0) {
                r->ops[c->oi].time_s += c->gpu_s - c->cpu_s;
                r->shapes[c->si].time_s += c->gpu_s - c->cpu_s;
            }
        }
    }
    /* devices: one series per uuid, the longest */
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        struct ana_gpu *g = p->gpu;
        if (!g)
            continue;
        G->dropped += g->dropped;
        for (size_t i = 0; i < g->ninfo; i++) {
            const struct g_info *in = &g->info[i];
            const char *uuid = ana_string(p, in->uuid), *name = ana_string(p, in->name);
            struct series s = { uuid ? uuid : "?", name ? name : "unknown GPU", in->device, in->energy, 0, NULL, NULL, NULL, NULL, in, 0 };
            if (in->energy == GS_GPU_E_NONE)
                continue;
            build_series(p, in->device, in->energy, in->power_src, &s);
            size_t gi = 0;
            for (; gi < G->ngpus; gi++)
                if (strcmp(G->gpus[gi].uuid, s.uuid) == 0)
                    break;
            if (gi == G->ngpus) {
                G->gpus = realloc(G->gpus, (G->ngpus + 1) * sizeof *G->gpus);
                memset(&G->gpus[gi], 0, sizeof G->gpus[gi]);
                G->ngpus++;
            } else if (G->gpus[gi].series_n >= s.n) {
                free(s.t); free(s.e); free(s.u); free(s.ue);
                continue;
            }
            struct ana_gpu_row *gr = &G->gpus[gi];
            free(gr->series_t); free(gr->series_e); free(gr->series_u); free(gr->series_ue);
            snprintf(gr->uuid, sizeof gr->uuid, "%s", s.uuid);
            snprintf(gr->name, sizeof gr->name, "%s", s.name);
            gr->index = in->device;
            gr->series_t = s.t; gr->series_e = s.e; gr->series_u = s.u; gr->series_ue = s.ue; gr->series_n = s.n;
            gr->energy_source = in->energy == GS_GPU_E_COUNTER ? "nvml-energy-counter" : "nvml-power";
            gr->power_reading = in->energy != GS_GPU_E_POWER ? NULL
                                : in->power_src == GS_GPU_P_INSTANT ? "instant" : "average";
            gr->resolution_s = s.res_ns * 1e-9;
            gr->power_limit_w = in->plim * 1e-3; gr->power_min_w = in->pmin * 1e-3;
            gr->power_max_w = in->pmax * 1e-3; gr->power_default_w = in->pdef * 1e-3;
        }
    }
    /* kernels, several devices and no GPU_DEV records: the ordinals were
     * taken to be NVML indices; say so, once */
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        const struct ana_gpu *g = p->gpu;
        if (g && g->nk && !g->ndev && (G->ngpus > 1 || g->ninfo > 1)) {
            ana_warn(run, "process %u: its kernels' CUDA device ordinals are not matched to NVML indices "
                     "(no GPU_DEV records: an older trace, or no access to the CUDA driver): taken to be equal, "
                     "so with CUDA_VISIBLE_DEVICES or CUDA_DEVICE_ORDER set the kernels' energy may be "
                     "another GPU's", p->hdr.pid);
            break;
        }
    }
    for (size_t gi = 0; gi < G->ngpus; gi++) {
        struct ana_gpu_row *gr = &G->gpus[gi];
        struct series s = { gr->uuid, gr->name, gr->index, gr->power_reading ? GS_GPU_E_POWER : GS_GPU_E_COUNTER,
                            gr->series_n, gr->series_t, gr->series_e, gr->series_u, gr->series_ue, NULL,
                            gr->resolution_s * 1e9 };
        size_t m = 0;
        for (size_t i = 0; i < nj; i++)
            if (js[i].device == gr->index) {
                struct jk t = js[m]; js[m] = js[i]; js[i] = t;
                m++;
            }
        qsort(js, m, sizeof *js, jk_cmp);
        attribute_device(G, gr, &s, js, m);
        if (gr->kernels_widened)
            ana_warn(run, "gpu %d: %u kernel%s shorter than %s (%.3f s): %s energy uncertainty widened to the "
                     "whole bound (0 to the energy over that time around %s)", gr->index, gr->kernels_widened,
                     gr->kernels_widened == 1 ? "" : "s",
                     !gr->power_reading ? "the energy counter's update period"
                     : strcmp(gr->power_reading, "instant") == 0 ? "the instant power field's update period"
                     : "the power window (no energy counter, no instant power field: nvmlDeviceGetPowerUsage, "
                       "a 1 s average)",
                     gr->resolution_s, gr->kernels_widened == 1 ? "its" : "their",
                     gr->kernels_widened == 1 ? "it" : "them");
        for (size_t i = 0; i < m; i++)
            if (js[i].layer >= 0) {
                r->layers[js[i].layer].gpu_time_s += js[i].share_s * 1e-9;
                r->layers[js[i].layer].gpu_energy_j += js[i].energy_j;
            }
        /* the rest keep going for the next device */
        memmove(js, js + m, (nj - m) * sizeof *js);
        nj -= m;
    }
    /* kernels on devices without energy: time only */
    for (size_t i = 0; i < nj; i++)
        if (js[i].layer >= 0)
            r->layers[js[i].layer].gpu_time_s += (double)(js[i].k->end - js[i].k->start) * 1e-9;
    for (size_t i = 0; i < G->nkernels; i++)
        G->total_kernel_s += G->kernels[i].time_s;
    free(js);
}

/* the stage: after aggregate (its rows are in, sorted and remapped: the
 * GPU rows go after them), before the renderers */
static int gpu_stage_end(struct ana_report *r)
{
    ana_gpu_report(r);
    return 0;
}
const struct ana_stage ana_stage_gpu = { "gpu", NULL, NULL, gpu_stage_end };

void ana_gpu_report_free(struct ana_report *r)
{
    struct ana_gpu_report *G = r->gpu;
    if (!G)
        return;
    for (size_t i = 0; i < G->nkernels; i++)
        free(G->kernels[i].name);
    free(G->kernels);
    for (size_t i = 0; i < G->ngpus; i++) {
        free(G->gpus[i].series_t);
        free(G->gpus[i].series_e);
        free(G->gpus[i].series_u);
        free(G->gpus[i].series_ue);
    }
    free(G->gpus);
    free(G);
    r->gpu = NULL;
}

/* ---- JSON: "gpus" and "kernels" (docs/gpu.md) ---- */

#define jstr ana_json_str
#define jnum ana_json_num

static int krow_cmp(const void *a, const void *b)
{
    const struct ana_kernel_row *x = a, *y = b;
    return x->time_s < y->time_s ? 1 : x->time_s > y->time_s ? -1 : strcmp(x->name, y->name);
}

void ana_gpu_json(const struct ana_report *r, FILE *o)
{
    const struct ana_gpu_report *G = r->gpu;
    fputs(",\n  \"gpus\": [", o);
    for (size_t i = 0; G && i < G->ngpus; i++) {
        const struct ana_gpu_row *g = &G->gpus[i];
        fprintf(o, "%s\n    {\"index\": %d, \"name\": ", i ? "," : "", g->index); jstr(o, g->name);
        fputs(", \"uuid\": ", o); jstr(o, g->uuid);
        fputs(", \"energy_j\": ", o); jnum(o, g->energy_j);
        fputs(", \"provenance\": \"measured\", \"energy_source\": ", o); jstr(o, g->energy_source);
        fputs(", \"window_s\": ", o); jnum(o, g->window_s);
        fputs(", \"kernels_energy_j\": ", o); jnum(o, g->kernels_energy_j);
        fputs(", \"kernels_outside_j\": ", o); jnum(o, g->kernels_outside_j);
        fputs(", \"idle_s\": ", o); jnum(o, g->idle_s);
        fputs(", \"idle_energy_j\": ", o); jnum(o, g->idle_energy_j);
        fputs(", \"idle_power_w\": ", o); jnum(o, g->idle_power_w);
        fputs(", \"idle_gap_s\": ", o); jnum(o, g->idle_gap_s);
        fputs(", \"idle_gap_energy_j\": ", o); jnum(o, g->idle_gap_energy_j);
        fputs(", \"fit_residual\": ", o); jnum(o, g->fit_residual);
        fprintf(o, ", \"samples\": %zu", g->series_n);
        fputs(", \"power_reading\": ", o);
        if (g->power_reading) jstr(o, g->power_reading); else fputs("null", o);
        fputs(", \"resolution_s\": ", o); jnum(o, g->resolution_s);
        fprintf(o, ", \"kernels_widened\": %u", g->kernels_widened);
        fputs(", \"power_limit_w\": ", o); jnum(o, g->power_limit_w);
        fputs(", \"power_limit_range_w\": [", o); jnum(o, g->power_min_w); fputs(", ", o);
        jnum(o, g->power_max_w); fputs("]}", o);
    }
    fputs("\n  ],\n  \"kernels\": [", o);
    if (G && G->nkernels) {
        struct ana_kernel_row *k = malloc(G->nkernels * sizeof *k);
        memcpy(k, G->kernels, G->nkernels * sizeof *k);
        qsort(k, G->nkernels, sizeof *k, krow_cmp);
        for (size_t i = 0; i < G->nkernels; i++) {
            fprintf(o, "%s\n    {\"name\": ", i ? "," : ""); jstr(o, k[i].name);
            fprintf(o, ", \"calls\": %llu, \"time_s\": ", (unsigned long long)k[i].calls); jnum(o, k[i].time_s);
            fputs(", \"energy_j\": ", o); jnum(o, k[i].energy_j);
            fputs(", \"energy_err_j\": ", o); jnum(o, k[i].energy_err_j);
            fputs(", \"power_w\": ", o); jnum(o, k[i].time_s > 0 ? k[i].energy_j / k[i].time_s : 0);
            fputs(", \"launch_latency_s\": ", o);
            if (k[i].latency_n) jnum(o, k[i].latency_sum_s / (double)k[i].latency_n); else fputs("null", o);
            fprintf(o, ", \"joined_launches\": %llu, \"cublas_calls\": %llu}", (unsigned long long)k[i].joined,
                    (unsigned long long)k[i].cublas);
        }
        free(k);
    }
    fputs("\n  ]", o);
    if (G && G->dropped)
        fprintf(o, ",\n  \"gpu_records_dropped\": %llu", (unsigned long long)G->dropped);
}

/* text: a short GPU section */
void ana_gpu_text(const struct ana_report *r, FILE *o)
{
    const struct ana_gpu_report *G = r->gpu;
    if (!G || (!G->ngpus && !G->nkernels))
        return;
    fputs("\nGPU\n", o);
    for (size_t i = 0; i < G->ngpus; i++) {
        const struct ana_gpu_row *g = &G->gpus[i];
        fprintf(o, "  gpu %d %s: %.3f J measured (%s%s%s) over %.3f s; kernels %.3f J, idle %.3f J (%.1f W); "
                "fit residual %.1f%%\n", g->index, g->name, g->energy_j, g->energy_source,
                g->power_reading ? ", " : "", g->power_reading ? g->power_reading : "", g->window_s,
                g->kernels_energy_j, g->idle_energy_j, g->idle_power_w, 100 * g->fit_residual);
        if (g->kernels_widened)
            fprintf(o, "    %u kernel%s shorter than the series resolves (%.3f s): uncertainty widened\n",
                    g->kernels_widened, g->kernels_widened == 1 ? "" : "s", g->resolution_s);
    }
    struct ana_kernel_row *k = malloc((G->nkernels + 1) * sizeof *k);
    if (G->nkernels) {                  /* kernels is NULL when there are none (UBSan: memcpy) */
        memcpy(k, G->kernels, G->nkernels * sizeof *k);
        qsort(k, G->nkernels, sizeof *k, krow_cmp);
        fprintf(o, "  %-48s %8s %10s %12s %10s\n", "kernel", "calls", "time s", "energy J", "+- J");
    }
    for (size_t i = 0; i < G->nkernels && i < 20; i++)
        fprintf(o, "  %-48.48s %8llu %10.6f %12.6f %10.6f\n", k[i].name, (unsigned long long)k[i].calls,
                k[i].time_s, k[i].energy_j, k[i].energy_err_j);
    free(k);
}
