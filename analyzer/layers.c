/* layers.c - calls to layers, from the call stream alone; region names
 * (greenshim.annotate, a `with region(...)`) only add to the names.
 *
 * A fully connected layer is its weight matrix {in, out}: fixed while the
 * batch changes from call to call.  Its three products carry the pair in
 * different places: forward X.W (inner dimension in), weight gradient
 * X^T.delta (inner dimension = the batch) and input gradient delta.W^T
 * (inner dimension out).  Which of m, n, k is the batch follows from the
 * layout alone, because the batch is the outer (slowest) dimension of every
 * activation matrix and never a leading dimension:
 *   row-major (cblas):            transa N -> m;  transa T, transb N -> k
 *   column-major (Fortran, torch): transb N -> n;  transb T, transa N -> k
 *   (both transposed: no batch).
 * A call with the batch in k is a weight gradient (W); otherwise it is a
 * forward (F) or an input gradient (I): per unordered pair, the transposes
 * of its first such call (a forward runs before its backward) are the
 * forward's, the others input gradients.  F names the layer IN->OUT by its
 * inner dimension, I by its other.  A pair is a linear layer when its calls
 * show two different batches (ragged last batch, evaluation) or both a
 * weight gradient and a forward/input gradient; otherwise (a threaded a@a,
 * a lone GEMM) its calls keep a name that says what they are.
 *
 * oneDNN primitives name themselves: convolutions "conv IN->OUT KxK" (all
 * propagations), inner products "linear IN->OUT" (the same layer as the
 * BLAS path's), reorders join the convolution whose weights or
 * activations they convert, the rest by kind and per-sample dims.
 *
 * Layers with the same dimensions (two 128->128) are told apart by their
 * order inside one pass: the i-th forward of a shape in a forward pass is
 * instance i, and backward calls count down.  A forward pass starts after
 * any backward call, or where a forward's input does not match the output
 * of the forward before it.
 *
 * Iterations: per layer, its weight-gradient calls (training steps), else
 * its calls' forward passes; two models in one process keep their own.
 * The report's count is the largest.  Passes run over the calls of each
 * thread in order, with state bounded by the number of layers. */
#include <stdlib.h>
#include <string.h>
#include "ana.h"

#define ARROW "\u2192"

/* ---- small open-addressing map: fixed-size keys -> index ---- */
struct lkey { uint32_t w[8]; };
struct map { struct lkey *k; int *v; size_t cap, n; };

static uint64_t key_hash(const struct lkey *k)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 8; i++) {
        h ^= k->w[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}
static int map_get(const struct map *m, const struct lkey *k)
{
    if (!m->cap)
        return -1;
    for (size_t i = key_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->v[i] < 0)
            return -1;
        if (!memcmp(&m->k[i], k, sizeof *k))
            return m->v[i];
    }
}
static void map_put(struct map *m, const struct lkey *k, int v)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct map n = { NULL, NULL, m->cap ? m->cap * 2 : 64, 0 };
        n.k = malloc(n.cap * sizeof *n.k);
        n.v = malloc(n.cap * sizeof *n.v);
        if (!n.k || !n.v)
            abort();
        for (size_t i = 0; i < n.cap; i++)
            n.v[i] = -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i] >= 0)
                map_put(&n, &m->k[i], m->v[i]);
        free(m->k);
        free(m->v);
        *m = n;
    }
    size_t i = key_hash(k) & (m->cap - 1);
    while (m->v[i] >= 0 && memcmp(&m->k[i], k, sizeof *k))
        i = (i + 1) & (m->cap - 1);
    if (m->v[i] < 0)
        m->n++;
    m->k[i] = *k;
    m->v[i] = v;
}
static void map_free(struct map *m)
{
    free(m->k);
    free(m->v);
}

/* ---- what one call says about its layer ---- */
enum role { R_NONE, R_F, R_I, R_W, R_FI, R_AUX };   /* R_FI: F or I, decided per pair */
enum ltype { L_LINEAR = 1, L_CONV, L_DNNL, L_BLAS, L_AUX };

struct sig {
    int role;                     /* R_FI: forward or input gradient, decided per unit */
    uint32_t batch, inner, other; /* R_FI: inner/other of the pair; R_W: other = m, inner = n */
    uint16_t pat;                 /* layout and transposes */
    struct lkey unit;             /* R_FI/R_W: the unordered pair; else the layer itself */
    uint32_t in, out;             /* conv/ip: channels or features (for the pass chain) */
    int dnnl;                     /* from a oneDNN primitive */
    struct lkey call;             /* BLAS: the call itself, for a pair that is no layer */
};

struct unit {                     /* one unordered pair {lo, hi} of BLAS GEMMs */
    uint32_t b0, b1;              /* two distinct batches seen (0: none) */
    int has_w, has_fi, fpat_set, dir_lohi, dir_hilo;
    uint16_t fpat;
};

static struct lkey mk(uint32_t t, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e, uint32_t f, uint32_t g)
{
    struct lkey k = { { t, a, b, c, d, e, f, g } };
    return k;
}

static int conv_like(unsigned kind)
{
    return kind == GS_DNNL_K_CONV || kind == GS_DNNL_K_DECONV;
}

/* oneDNN: conv and ip name a layer; other kinds are aux */
static void sig_dnnl(const struct ana_dnnl *x, struct sig *s)
{
    int ns = x->ndims[0], nw = x->ndims[1];
    if (conv_like(x->kind) && ns >= 3 && nw >= ns) {
        int g = nw > ns;
        uint32_t groups = g ? x->wei[0] : 1, kh = nw - g - 2 >= 2 ? x->wei[nw - 2] : 1, kw = x->wei[nw - 1];
        s->in = x->wei[g + 1] * groups;
        s->out = x->wei[g] * groups;
        s->role = x->prop == GS_DNNL_P_FWD_TRAIN || x->prop == GS_DNNL_P_FWD_INFER ? R_F :
                  x->prop == GS_DNNL_P_BWD_DATA ? R_I : R_W;
        s->unit = mk(L_CONV, x->kind, s->in, s->out, kh, kw, groups, (uint32_t)(nw - g - 2));
        return;
    }
    if (x->kind == GS_DNNL_K_IP && nw >= 2) {
        uint64_t in = 1;
        for (int i = 1; i < nw; i++)
            in *= x->wei[i] ? x->wei[i] : 1;
        s->in = in > UINT32_MAX ? UINT32_MAX : (uint32_t)in;
        s->out = x->wei[0];
        s->role = x->prop == GS_DNNL_P_FWD_TRAIN || x->prop == GS_DNNL_P_FWD_INFER ? R_F :
                  x->prop == GS_DNNL_P_BWD_DATA ? R_I : R_W;
        s->unit = mk(L_LINEAR, s->in, s->out, 0, 0, 0, 0, 0);
        return;
    }
    /* per-sample dims (the batch left out) name the rest */
    const uint32_t *d = x->ndims[0] ? x->src : x->dst;
    int nd = x->ndims[0] ? x->ndims[0] : x->ndims[2];
    uint32_t v[5] = { 0, 0, 0, 0, 0 };
    for (int i = 1; i < nd && i < 6; i++)
        v[i - 1] = d[i];
    if (nd == 1)
        v[0] = d[0];                    /* a vector (bias): its length */
    s->role = R_AUX;
    s->unit = mk(L_DNNL, x->kind, (uint32_t)nd, v[0], v[1], v[2], v[3], v[4]);
}

static void sig_of(const struct ana_proc *p, const struct ana_call *c, struct sig *s)
{
    memset(s, 0, sizeof *s);
    if (ANA_OP_IS_DNNL(c->op)) {
        const struct ana_dnnl *x = ana_dnnl_of(p, c);
        s->dnnl = 1;
        if (x) {
            sig_dnnl(x, s);
            return;
        }
        s->role = R_NONE;
        s->unit = mk(L_BLAS, c->op, 0, 0, 0, 0, 0, 0);
        return;
    }
    s->pat = (uint16_t)(c->flags & (GS_F_FORTRAN | GS_F_ROWMAJOR | 0x3c));
    s->call = mk(L_BLAS, c->op, s->pat, c->m, c->n, c->k, 0, 0);
    if (GS_OP_ROUTINE(c->op) == GS_R_GEMM) {
        int ta = GS_F_TRANSA(c->flags) != 0, tb = GS_F_TRANSB(c->flags) != 0, pos;
        if (c->flags & GS_F_ROWMAJOR)
            pos = !ta ? 0 : !tb ? 2 : -1;
        else
            pos = !tb ? 1 : !ta ? 2 : -1;
        uint32_t dim[3] = { c->m, c->n, c->k };
        if (pos >= 0) {
            s->batch = dim[pos];
            if (pos == 2) {
                s->role = R_W;
                s->other = c->m;
                s->inner = c->n;
            } else {
                s->role = R_FI;
                s->inner = c->k;
                s->other = dim[1 - pos];
            }
            uint32_t a = s->role == R_W ? c->m : s->inner, b = s->role == R_W ? c->n : s->other;
            s->unit = mk(L_LINEAR, a < b ? a : b, a < b ? b : a, 0, 0, 0, 0, 0);
            return;
        }
    }
    s->role = R_NONE;
    s->unit = s->call;
}

/* ---- the layers being built ---- */
struct lay {
    struct lkey key;              /* L_LINEAR {in, out}; L_CONV ...; L_BLAS/L_DNNL: the call */
    int inst;                     /* 0, 1, ...: same key, another layer */
    int row;                      /* report row, -1 until used */
    int linear;                   /* a real layer (not descriptive) */
    uint32_t in, out;
    /* per forward pass (gen-checked) */
    long pgen; int nf, nw, ni;
    long iters;                   /* weight gradients, else forward passes */
    long passes_seen; long last_pass;
    /* region naming */
    uint32_t rid_proc; int rbase;     /* region base index, -1 none, -2 mixed */
    uint64_t calls, in_region;
    int named;                    /* named after the region it owns */
    int model;                    /* union-find parent: layers of one forward pass are one model */
};

struct det {
    struct ana_report *r;
    struct map units; struct unit *u; size_t nu, capu;
    struct map lays; struct lay *l; size_t nl, capl;    /* key+inst -> lay */
    struct map aux;               /* dnnl dims -> conv lay index */
    /* per thread pass state */
    long pass; int phase; uint32_t last_out;
    int pass_first;               /* the first layer placed in this pass */
    long pass_first_gen;
    /* region bases: names -> index; per base: the one layer (or -2) */
    char **rb_name; int *rb_layer; size_t nrb;
};

static int unit_of(struct det *d, const struct lkey *k, int create)
{
    int i = map_get(&d->units, k);
    if (i >= 0 || !create)
        return i;
    if (d->nu == d->capu) {
        d->capu = d->capu ? d->capu * 2 : 64;
        d->u = realloc(d->u, d->capu * sizeof *d->u);
        if (!d->u)
            abort();
    }
    memset(&d->u[d->nu], 0, sizeof d->u[0]);
    map_put(&d->units, k, (int)d->nu);
    return (int)d->nu++;
}

static int lay_of(struct det *d, const struct lkey *k, int inst, int create)
{
    struct lkey kk = *k;
    kk.w[7] ^= (uint32_t)inst * 0x9e3779b9u;   /* instances: distinct keys */
    kk.w[0] |= (uint32_t)(inst != 0) << 16;
    int i = map_get(&d->lays, &kk);
    if (i >= 0 || !create)
        return i;
    if (d->nl == d->capl) {
        d->capl = d->capl ? d->capl * 2 : 64;
        d->l = realloc(d->l, d->capl * sizeof *d->l);
        if (!d->l)
            abort();
    }
    struct lay *l = &d->l[d->nl];
    memset(l, 0, sizeof *l);
    l->key = *k;
    l->inst = inst;
    l->row = -1;
    l->rbase = -1;
    l->model = (int)d->nl;
    l->pgen = -1;
    l->last_pass = -1;
    map_put(&d->lays, &kk, (int)d->nl);
    return (int)d->nl++;
}

/* pass 1: what every unordered pair shows */
static void learn(struct det *d, const struct sig *s)
{
    if (s->dnnl || (s->role != R_FI && s->role != R_W))
        return;
    int ui = unit_of(d, &s->unit, 1);   /* may move d->u */
    struct unit *u = &d->u[ui];
    if (s->batch && s->batch != u->b0) {
        if (!u->b0) u->b0 = s->batch;
        else if (!u->b1) u->b1 = s->batch;
    }
    if (s->role == R_W) {
        u->has_w = 1;
        return;
    }
    u->has_fi = 1;
    if (!u->fpat_set) {
        u->fpat_set = 1;
        u->fpat = s->pat;
    }
    if (s->pat == u->fpat) {            /* a forward: inner -> other */
        if (s->inner <= s->other) u->dir_lohi = 1;
        if (s->inner >= s->other) u->dir_hilo = 1;
    }
}

static int unit_linear(const struct unit *u)
{
    return u->b1 != 0 || (u->has_w && u->has_fi);
}

static int model_of(struct det *d, int i)
{
    while (d->l[i].model != i) {
        d->l[i].model = d->l[d->l[i].model].model;
        i = d->l[i].model;
    }
    return i;
}

static void same_model(struct det *d, int a, int b)
{
    a = model_of(d, a);
    b = model_of(d, b);
    if (a != b)
        d->l[a < b ? b : a].model = a < b ? a : b;
}

/* The layer of one call (creating it); the pass state advances.
 * *wgrad: the call is a weight gradient (one per training step). */
static int place(struct det *d, const struct sig *s0, int *wgrad)
{
    struct sig s = *s0;
    int fwd, ui;
    struct lkey key;
    *wgrad = 0;
    if (s.dnnl) {
        if (s.role == R_AUX) {
            int ci = map_get(&d->aux, &s.unit);
            if (ci >= 0)
                return ci;              /* a reorder of a convolution's tensors */
            key = s.unit;
            key.w[0] = L_AUX;
            return lay_of(d, &key, 0, 1);
        }
        if (s.role == R_NONE)
            return lay_of(d, &s.unit, 0, 1);
        fwd = s.role == R_F;            /* conv, inner product: by propagation */
        key = s.unit;
    } else if ((s.role == R_FI || s.role == R_W) && (ui = unit_of(d, &s.unit, 0)) >= 0 &&
               unit_linear(&d->u[ui])) {
        const struct unit *u = &d->u[ui];
        uint32_t lo = s.unit.w[1], hi = s.unit.w[2];
        if (s.role == R_FI) {
            fwd = s.pat == u->fpat;
            s.in = fwd ? s.inner : s.other;
            s.out = fwd ? s.other : s.inner;
            s.role = fwd ? R_F : R_I;
        } else {                        /* weight gradient: (m, n) when both directions exist */
            fwd = 0;
            if (u->dir_lohi && u->dir_hilo) { s.in = s.other; s.out = s.inner; }
            else if (u->dir_hilo) { s.in = hi; s.out = lo; }
            else { s.in = lo; s.out = hi; }
        }
        key = mk(L_LINEAR, s.in, s.out, 0, 0, 0, 0, 0);
    } else {
        key = s.unit;                   /* no layer pattern: the call names itself */
        if (s.role == R_FI || s.role == R_W)
            key = s.call;
        return lay_of(d, &key, 0, 1);
    }
    /* a linear or conv layer: its instance from the pass state */
    if (fwd && (d->phase == 1 || (d->last_out && d->last_out != s.in))) {
        d->pass++;
        d->phase = 0;
    }
    if (!fwd)
        d->phase = 1;
    int base = lay_of(d, &key, 0, 1);
    struct lay *b = &d->l[base];
    if (b->pgen != d->pass) {
        b->pgen = d->pass;
        b->nf = b->nw = b->ni = 0;
    }
    int inst;
    if (fwd) {
        inst = b->nf++;
        d->last_out = s.out;
    } else {                            /* backward: the last forward first */
        int *cnt = s.role == R_I ? &b->ni : &b->nw;
        inst = (b->nf > 0 ? b->nf - 1 : 0) - (*cnt)++;
        if (inst < 0)
            inst = 0;
    }
    int li = inst ? lay_of(d, &key, inst, 1) : base;
    struct lay *l = &d->l[li];
    l->linear = 1;
    *wgrad = s.role == R_W;
    if (d->pass_first_gen != d->pass) {
        d->pass_first_gen = d->pass;
        d->pass_first = li;
    } else {
        same_model(d, d->pass_first, li);
    }
    if (l->last_pass != d->pass) {
        l->last_pass = d->pass;
        l->passes_seen++;
    }
    return li;
}

static void name_of(const struct det *d, const struct lay *l, char *out, size_t len)
{
    const uint32_t *w = l->key.w;
    char op[16];
    switch (w[0]) {
    case L_LINEAR:
        snprintf(out, len, "linear %u" ARROW "%u", w[1], w[2]);
        break;
    case L_CONV:
        if (w[7] >= 2)
            snprintf(out, len, "%s %u" ARROW "%u %ux%u%s", w[1] == GS_DNNL_K_DECONV ? "deconv" : "conv", w[2], w[3],
                     w[4], w[5], w[6] > 1 ? " grouped" : "");
        else
            snprintf(out, len, "%s %u" ARROW "%u k%u", w[1] == GS_DNNL_K_DECONV ? "deconv" : "conv", w[2], w[3], w[5]);
        break;
    case L_AUX: {
        int n = snprintf(out, len, "%s", ana_dnnl_kind_name(w[1]));
        for (uint32_t i = 0; i + 1 < w[2] && i < 5 && (size_t)n < len; i++)
            n += snprintf(out + n, len - (size_t)n, "%s%u", i ? "x" : " ", w[3 + i]);
        break;
    }
    default: {                          /* L_BLAS: the call itself */
        uint8_t o = (uint8_t)w[1];
        ana_op_name(o, op);
        if (ANA_OP_IS_DNNL(o))
            snprintf(out, len, "%s", op);
        else if (GS_OP_ROUTINE(o) == GS_R_GEMM)
            snprintf(out, len, "%s %ux%ux%u", op, w[3], w[4], w[5]);
        else if (GS_OP_ROUTINE(o) == GS_R_SYRK || GS_OP_ROUTINE(o) == GS_R_HERK ||
                 GS_OP_ROUTINE(o) == GS_R_SYR2K || GS_OP_ROUTINE(o) == GS_R_HER2K)
            snprintf(out, len, "%s %ux%u", op, w[4], w[5]);
        else
            snprintf(out, len, "%s %ux%u", op, w[3], w[4]);
    }
    }
    (void)d;
}

static int add_row(struct ana_report *r, const char *name)
{
    for (size_t i = 0; i < r->nlayers; i++)
        if (strcmp(r->layers[i].name, name) == 0)
            return (int)i;
    r->layers = realloc(r->layers, (r->nlayers + 1) * sizeof *r->layers);
    if (!r->layers)
        abort();
    memset(&r->layers[r->nlayers], 0, sizeof r->layers[0]);
    snprintf(r->layers[r->nlayers].name, sizeof r->layers[0].name, "%s", name);
    return (int)r->nlayers++;
}

/* "0:Conv2d.backward" and "train/0:Conv2d" -> "0:Conv2d" */
static void region_base(const char *path, char *out, size_t len)
{
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    snprintf(out, len, "%s", s);
    size_t n = strlen(out);
    if (n > 9 && strcmp(out + n - 9, ".backward") == 0)
        out[n - 9] = 0;
}

static int rbase_index(struct det *d, const char *name)
{
    for (size_t i = 0; i < d->nrb; i++)
        if (!strcmp(d->rb_name[i], name))
            return (int)i;
    d->rb_name = realloc(d->rb_name, (d->nrb + 1) * sizeof *d->rb_name);
    d->rb_layer = realloc(d->rb_layer, (d->nrb + 1) * sizeof *d->rb_layer);
    if (!d->rb_name || !d->rb_layer)
        abort();
    d->rb_name[d->nrb] = strdup(name);
    d->rb_layer[d->nrb] = -1;
    return (int)d->nrb++;
}

/* the aux map: every convolution's weights and per-sample activations */
static void aux_index(struct det *d, const struct ana_proc *p)
{
    for (size_t i = 0; i < p->ndnnl; i++) {
        const struct ana_dnnl *x = &p->dnnl[i];
        if (!conv_like(x->kind))
            continue;
        struct sig s;
        memset(&s, 0, sizeof s);
        sig_dnnl(x, &s);
        if (s.unit.w[0] != L_CONV)
            continue;
        int li = lay_of(d, &s.unit, 0, 1);
        const uint32_t *t[3] = { x->src, x->dst, x->wei };
        int nt[3] = { x->ndims[0], x->ndims[2], x->ndims[1] };
        /* its bias: a vector of the output channels */
        struct lkey bk = mk(L_DNNL, GS_DNNL_K_REORDER, 1, s.out, 0, 0, 0, 0);
        if (map_get(&d->aux, &bk) < 0)
            map_put(&d->aux, &bk, li);
        for (int j = 0; j < 3; j++) {
            if (nt[j] < 2)
                continue;
            /* as sig_dnnl keys a reorder: the dims after the first */
            uint32_t v[5] = { 0, 0, 0, 0, 0 };
            for (int q = 1; q < nt[j] && q < 6; q++)
                v[q - 1] = t[j][q];
            struct lkey k = mk(L_DNNL, GS_DNNL_K_REORDER, (uint32_t)nt[j], v[0], v[1], v[2], v[3], v[4]);
            if (map_get(&d->aux, &k) < 0)
                map_put(&d->aux, &k, li);
        }
    }
}

void ana_layers(struct ana_report *r)
{
    struct det d;
    memset(&d, 0, sizeof d);
    d.r = r;
    r->iterations = -1;
    int regions = 0;
    struct ana_run *run = r->run;

    /* pass 1: the pairs */
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        if (p->nrev)
            regions = 1;
        for (size_t i = 0; i < p->ncalls; i++) {
            struct sig s;
            sig_of(p, &p->calls[i], &s);
            learn(&d, &s);
            regions |= p->calls[i].region != 0;
        }
    }
    r->layers_from_regions = regions;

    /* pass 2: every call to its layer, thread by thread */
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        aux_index(&d, p);
        uint32_t th = UINT32_MAX;
        for (size_t i = 0; i < p->ncalls; i++) {
            struct ana_call *c = &p->calls[i];
            if (c->thread != th) {
                th = c->thread;
                d.pass++;
                d.phase = 0;
                d.last_out = 0;
            }
            struct sig s;
            sig_of(p, c, &s);
            int wgrad;
            int li = place(&d, &s, &wgrad);
            c->layer = li;
            struct lay *l = &d.l[li];
            l->calls++;
            if (wgrad)
                l->iters++;
            if (c->region && l->linear) {   /* helpers (reorders) do not decide names */
                const char *nm = ana_string(p, c->region);
                char base[256];
                region_base(nm ? nm : "", base, sizeof base);
                int rb = rbase_index(&d, base);
                l->in_region++;
                if (l->rbase == -1) l->rbase = rb;
                else if (l->rbase != rb) l->rbase = -2;
                if (d.rb_layer[rb] == -1) d.rb_layer[rb] = li;
                else if (d.rb_layer[rb] != li) d.rb_layer[rb] = -2;
            }
        }
    }

    /* a model's iterations: its layers' weight gradients (the most of any) */
    long *miters = calloc(d.nl + 1, sizeof *miters);
    if (!miters)
        abort();
    for (size_t i = 0; i < d.nl; i++) {
        int m = model_of(&d, (int)i);
        long it = d.l[i].iters > 0 ? d.l[i].iters : d.l[i].linear ? d.l[i].passes_seen : 0;
        if (it > miters[m])
            miters[m] = it;
    }
    /* rows: linear and conv layers first, in order of first use, then the rest */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < d.nl; i++) {
            struct lay *l = &d.l[i];
            if (!l->calls || (pass == 0) != (l->linear != 0))
                continue;
            char nm[200], full[256];
            name_of(&d, l, nm, sizeof nm);
            if (l->inst)
                snprintf(nm + strlen(nm), sizeof nm - strlen(nm), " #%d", l->inst + 1);
            l->named = l->rbase >= 0 && d.rb_layer[l->rbase] == (int)i && l->in_region * 2 >= l->calls;
            if (l->named)
                snprintf(full, sizeof full, "%s %s", d.rb_name[l->rbase], nm);
            else
                snprintf(full, sizeof full, "%s", nm);
            l->row = add_row(r, full);
            struct ana_layer_row *row = &r->layers[l->row];
            long it = l->linear ? miters[model_of(&d, (int)i)] : 0;
            if (it > row->iterations)
                row->iterations = it;
            if (l->iters > 0 && l->iters > r->iterations)
                r->iterations = l->iters;
        }
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        /* per region id: the iterations of the models that run in it */
        long *rit = calloc(p->nreg_j + 1, sizeof *rit);
        struct map seen = { NULL, NULL, 0, 0 };
        if (!rit)
            abort();
        for (size_t i = 0; i < p->ncalls; i++) {
            struct ana_call *c = &p->calls[i];
            if (c->region && c->region < p->nreg_j && d.l[c->layer].linear) {
                int m = model_of(&d, c->layer);
                struct lkey k = mk(c->region, (uint32_t)m, 0, 0, 0, 0, 0, 0);
                if (map_get(&seen, &k) < 0) {
                    map_put(&seen, &k, 1);
                    rit[c->region] += miters[m];
                }
            }
            int row = d.l[c->layer].row;
            if (c->region && !d.l[c->layer].linear) {
                /* a helper call (reorder, eltwise) inside a module's region: that module's */
                const char *nm = ana_string(p, c->region);
                char base[256];
                region_base(nm ? nm : "", base, sizeof base);
                for (size_t b = 0; b < d.nrb; b++)
                    if (!strcmp(d.rb_name[b], base) && d.rb_layer[b] >= 0 && d.l[d.rb_layer[b]].named)
                        row = d.l[d.rb_layer[b]].row;
            }
            c->layer = row;
            struct ana_layer_row *l = &r->layers[c->layer];
            l->calls++;
            l->time_s += (double)(c->t1 - c->t0) * 1e-9;
            l->energy_j += c->energy_j;
            l->flops += ana_flops(c);
        }
        /* energy between calls inside a region: the layer that owns the
         * region (annotate), else a row of the region's own */
        for (uint32_t id = 1; id < p->nreg_j; id++) {
            if (p->reg_j[id] == 0 && p->reg_s[id] == 0)
                continue;
            const char *nm = ana_string(p, id);
            char base[256];
            region_base(nm ? nm : "", base, sizeof base);
            int row = -1;
            for (size_t b = 0; b < d.nrb; b++)
                if (!strcmp(d.rb_name[b], base) && d.rb_layer[b] >= 0) {
                    const struct lay *l = &d.l[d.rb_layer[b]];
                    if (l->rbase == (int)b && l->row >= 0 && !strncmp(r->layers[l->row].name, base, strlen(base)))
                        row = l->row;
                }
            if (row < 0) {
                /* a program region: per iteration of the loops of the models
                 * whose layers run inside it */
                row = add_row(r, nm ? nm : "(unnamed region)");
                long it = rit[id] > 0 ? rit[id] : r->iterations;
                if (it > r->layers[row].iterations)
                    r->layers[row].iterations = it;
            }
            r->layers[row].energy_j += p->reg_j[id];
            r->layers[row].time_s += p->reg_s[id];
        }
        free(rit);
        map_free(&seen);
    }
    free(miters);
    /* rows that ended up empty (their calls went to a module's layer) go */
    int *remap = malloc((r->nlayers + 1) * sizeof *remap);
    if (!remap)
        abort();
    size_t kept = 0;
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct ana_layer_row *l = &r->layers[i];
        if (!l->calls && l->time_s == 0 && l->energy_j == 0) {
            remap[i] = -1;
            continue;
        }
        remap[i] = (int)kept;
        if (kept != i)
            r->layers[kept] = r->layers[i];
        kept++;
    }
    if (kept != r->nlayers) {
        r->nlayers = kept;
        for (size_t pi = 0; pi < run->nprocs; pi++)
            for (size_t i = 0; i < run->procs[pi]->ncalls; i++) {
                struct ana_call *c = &run->procs[pi]->calls[i];
                if (c->layer >= 0)
                    c->layer = remap[c->layer];
            }
    }
    free(remap);
    for (size_t i = 0; i < d.nrb; i++)
        free(d.rb_name[i]);
    free(d.rb_name);
    free(d.rb_layer);
    map_free(&d.units);
    map_free(&d.lays);
    map_free(&d.aux);
    free(d.u);
    free(d.l);
}
