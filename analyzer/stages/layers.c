/* layers.c - calls to layers.  The program's names win: a region (C or
 * Python markers, NVTX ranges, greenshim.annotate) whose own calls belong to
 * at most one detected layer is a row of its own, named by its path (and by
 * that layer); inside a region holding several layers, and outside every
 * region, layers are detected from the call stream alone, as follows.
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
 * The report's count is the largest.
 *
 * Streaming: what each pair shows is learnt from the process's distinct
 * BLAS shapes in the order of their first call (the reader's scan notes
 * them); the plan then reads every thread's calls once before the sweep
 * (ana_next_call_shape: every call placed, the regions' models noted),
 * keeping state bounded by the number of shapes, pairs, layers, regions and
 * threads; the sweep places each call again from a fresh per-thread state,
 * which gives the same layer, and names its row (with one thread of calls
 * and no regions the sweep gathers the counts itself: no pass ahead of it
 * at all).  A cache per call shape
 * (signature, unit, class) keeps hash lookups off the per-call path. */
#include <stdlib.h>
#include <string.h>
#include "ana.h"

#define ARROW "\u2192"
/* a routine whose calls form no layer and come in more minor shapes (each
 * under a tenth of its calls) than this (the panels of a QR or SVD loop):
 * those are one row, "dgemv (212 shapes)" */
#define ANA_FOLD_SHAPES 8
#define FOLD_PAT 0xfffffu

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
        n.k = ana_xmalloc(n.cap, sizeof *n.k);
        n.v = ana_xmalloc(n.cap, sizeof *n.v);
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
    uint64_t calls;
    int model;                    /* union-find parent: layers of one forward pass are one model */
    int inst_li[8];               /* instance 1..8 of this base lay: its index + 1 (0: not yet) */
};

/* what place() makes of one call before its pass state: the lay itself
 * (li >= 0), or a linear/conv layer's key, base lay and direction */
struct cls {
    int li;
    struct lkey key;
    int base, fwd, role;
    uint32_t in, out;
};

/* the last calls seen, by their BLAS fields (op, layout and transposes, m,
 * n, k): consecutive calls repeat a few shapes, so the signature, the unit
 * and what place() makes of them are looked up once per shape, not per call */
#define CCACHE 256
struct centry {
    uint32_t op, pat, m, n, k; int used;
    struct sig s;
    int ui;                       /* unit index + 1 (0: not looked up) */
    int cl_ok; struct cls cl;     /* after the units are final */
};

/* one region of one process, as the plan saw its calls */
struct rinfo {
    uint32_t proc, id;
    int lay;                      /* the one detected layer among its calls: -1 none, -2 several (a container) */
    int row;                      /* its report row while the sweep runs, -1 not yet */
    char *name;                   /* leaf: its row name */
    const char *source;           /* region, nvtx, annotate */
};

struct tstate {
    long pass; int phase; uint32_t last_out;
    int pass_first;               /* the first layer placed in this pass */
    long pass_first_gen;
};

struct det {
    struct ana_report *r;
    struct map units; struct unit *u; size_t nu, capu;
    struct map lays; struct lay *l; size_t nl, capl;    /* key+inst -> lay */
    struct map aux;               /* dnnl dims -> conv lay index */
    long pass;                    /* pass ids, unique across threads */
    int planning;                 /* the plan's passes gather statistics; the sweep only places */
    /* per thread (process << 32 | thread -> index) pass state */
    struct map tmap; struct tstate *ts; size_t nts;
    long *miters; size_t nmiters; /* per model root (of the plan's lays): its iterations */
    struct map rit;               /* (process, region id) -> iterations of its models */
    char **names; size_t nnamed;  /* per lay: its row name (NULL until named) */
    int *row; size_t nrow;        /* lay -> report layer row (-1: not yet) */
    struct ana_map rb_ids;        /* proc << 32 | region id -> index + 1 */
    struct centry *cc;            /* CCACHE entries */
    struct centry *clast;         /* the entry centry_of returned last */
    int units_final;              /* pass 1 done: classifications may be cached */
    int sweep_stats;              /* one thread, no regions: the sweep gathers what the plan's pass would */
    struct { int *ix; size_t n; } *tsr; size_t ntsr;  /* proc -> thread -> ts index + 1 */
    /* regions: (process, region id) -> index + 1 into reg[]; a region whose
     * calls hold at most one detected layer is a leaf (a row of its own) */
    struct ana_map rmap; struct rinfo *reg; size_t nreg;
    uint32_t last_rk_p, last_rk_id; int last_rk;   /* the last region looked up (index + 1) */
    unsigned char *natural; size_t nnatural;      /* per process: Fortran calls laid out as stored (R), not torch's */
    int training;                 /* some pair shows a forward and a weight gradient */
    uint32_t fold_n[256];         /* per op: its minor shapes of calls that form no layer */
    struct map minor;             /* those shapes (call keys), where an op has more than ANA_FOLD_SHAPES */
};

static int unit_of(struct det *d, const struct lkey *k, int create)
{
    int i = map_get(&d->units, k);
    if (i >= 0 || !create)
        return i;
    if (d->nu == d->capu) {
        d->capu = d->capu ? d->capu * 2 : 64;
        d->u = ana_xrealloc(d->u, d->capu, sizeof *d->u);
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
        d->l = ana_xrealloc(d->l, d->capl, sizeof *d->l);
    }
    struct lay *l = &d->l[d->nl];
    memset(l, 0, sizeof *l);
    l->key = *k;
    l->inst = inst;
    l->row = -1;
    l->model = (int)d->nl;
    l->pgen = -1;
    l->last_pass = -1;
    map_put(&d->lays, &kk, (int)d->nl);
    return (int)d->nl++;
}

/* pass 1: what every unordered pair shows */
static void learn(struct det *d, const struct sig *s, int *uic)
{
    if (s->dnnl || (s->role != R_FI && s->role != R_W))
        return;
    int ui;
    if (uic && *uic)
        ui = *uic - 1;
    else {
        ui = unit_of(d, &s->unit, 1);   /* may move d->u */
        if (uic)
            *uic = ui + 1;
    }
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

/* a pair is a layer when it trains (a forward and a weight gradient), or
 * shows two batches in a run where something trains (evaluation, a ragged
 * last batch); in a run with no training iteration it stays a GEMM */
static int unit_linear(const struct det *d, const struct unit *u)
{
    return (u->has_w && u->has_fi) || (u->b1 != 0 && d->training);
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
static void classify(struct det *d, const struct sig *s0, struct cls *cl)
{
    struct sig s = *s0;
    int fwd, ui;
    struct lkey key;
    cl->li = -1;
    if (s.dnnl) {
        if (s.role == R_AUX) {
            int ci = map_get(&d->aux, &s.unit);
            if (ci >= 0) {
                cl->li = ci;            /* a reorder of a convolution's tensors */
                return;
            }
            key = s.unit;
            key.w[0] = L_AUX;
            cl->li = lay_of(d, &key, 0, 1);
            return;
        }
        if (s.role == R_NONE) {
            cl->li = lay_of(d, &s.unit, 0, 1);
            return;
        }
        fwd = s.role == R_F;            /* conv, inner product: by propagation */
        key = s.unit;
    } else if ((s.role == R_FI || s.role == R_W) && (ui = unit_of(d, &s.unit, 0)) >= 0 &&
               unit_linear(d, &d->u[ui])) {
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
        if (key.w[0] == L_BLAS && d->minor.cap && map_get(&d->minor, &key) >= 0)
            key = mk(L_BLAS, key.w[1], FOLD_PAT, 0, 0, 0, 0, 0);   /* a loop of changing shapes: one row */
        cl->li = lay_of(d, &key, 0, 1);
        return;
    }
    cl->key = key;
    cl->fwd = fwd;
    cl->role = s.role;
    cl->in = s.in;
    cl->out = s.out;
    cl->base = lay_of(d, &key, 0, 1);
}

static int place_cls(struct det *d, struct tstate *t, const struct cls *cl, int *wgrad)
{
    *wgrad = 0;
    if (cl->li >= 0)
        return cl->li;
    int fwd = cl->fwd;
    struct sig s;                       /* (the fields below only) */
    s.role = cl->role;
    s.in = cl->in;
    s.out = cl->out;
    /* a linear or conv layer: its instance from the pass state */
    if (fwd && (t->phase == 1 || (t->last_out && t->last_out != s.in) || !t->pass)) {
        t->pass = ++d->pass;
        t->phase = 0;
    }
    if (!fwd)
        t->phase = 1;
    int base = cl->base;
    struct lay *b = &d->l[base];
    if (b->pgen != t->pass) {
        b->pgen = t->pass;
        b->nf = b->nw = b->ni = 0;
    }
    int inst;
    if (fwd) {
        inst = b->nf++;
        t->last_out = s.out;
    } else {                            /* backward: the last forward first */
        int *cnt = s.role == R_I ? &b->ni : &b->nw;
        inst = (b->nf > 0 ? b->nf - 1 : 0) - (*cnt)++;
        if (inst < 0)
            inst = 0;
    }
    int li = base;
    if (inst > 0 && inst <= 8 && d->l[base].inst_li[inst - 1])
        li = d->l[base].inst_li[inst - 1] - 1;
    else if (inst > 0) {
        li = lay_of(d, &cl->key, inst, 1);  /* may move d->l */
        if (inst <= 8)
            d->l[base].inst_li[inst - 1] = li + 1;
    }
    struct lay *l = &d->l[li];
    l->linear = 1;
    *wgrad = s.role == R_W;
    if (!d->planning)
        return li;
    if (t->pass_first_gen != t->pass) {
        t->pass_first_gen = t->pass;
        t->pass_first = li;
    } else {
        same_model(d, t->pass_first, li);
    }
    if (l->last_pass != t->pass) {
        l->last_pass = t->pass;
        l->passes_seen++;
    }
    return li;
}

/* the cache entry of a BLAS call (NULL for oneDNN calls: sig_of by hand) */
static struct centry *centry_of(struct det *d, const struct ana_call *c)
{
    if (ANA_OP_IS_DNNL(c->op))
        return NULL;
    uint32_t pat = c->flags & 0x3f;
    struct centry *e = d->clast;        /* the call before's shape, most often */
    if (e && e->m == c->m && e->n == c->n && e->k == c->k && e->pat == pat && e->op == c->op)
        return e;
    uint32_t h = (c->m * 0x9e3779b1u) ^ (c->n * 0x85ebca77u) ^ (c->k * 0xc2b2ae3du) ^ (pat << 8) ^ c->op;
    h ^= h >> 15;
    e = &d->cc[h & (CCACHE - 1)];
    d->clast = e;
    if (e->used && e->m == c->m && e->n == c->n && e->k == c->k && e->pat == pat && e->op == c->op)
        return e;
    e->used = 1;
    e->op = c->op; e->pat = pat; e->m = c->m; e->n = c->n; e->k = c->k;
    e->ui = 0;
    e->cl_ok = 0;
    return e;
}

/* place() of one call: its signature and class from the cache */
static int place_call(struct det *d, struct tstate *t, const struct ana_proc *p, const struct ana_call *c,
                      int *wgrad)
{
    struct centry *e = centry_of(d, c);
    if (e && e->cl_ok == 1)
        return place_cls(d, t, &e->cl, wgrad);
    struct sig s;
    struct cls cl;
    sig_of(p, c, &s);
    classify(d, &s, &cl);
    if (e && d->units_final) {
        e->s = s;
        e->cl = cl;
        e->cl_ok = 1;
    }
    return place_cls(d, t, &cl, wgrad);
}

/* place_call's answer without the call, or -1: a call of the same shape as
 * the one before (the cache's last entry) whose class is a fixed layer
 * (place_cls returns it at once, wgrad 0, no state) */
static inline int place_same(const struct det *d, const struct ana_call *c)
{
    const struct centry *e = d->clast;
    if (e && e->cl_ok == 1 && e->cl.li >= 0 && e->m == c->m && e->n == c->n && e->k == c->k &&
        e->pat == (c->flags & 0x3fu) && e->op == c->op && !ANA_OP_IS_DNNL(c->op))
        return e->cl.li;
    return -1;
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
        if (w[2] == FOLD_PAT)
            snprintf(out, len, "%s (%u shapes)", op, d->fold_n[o]);
        else if (ANA_OP_IS_DNNL(o) || ANA_OP_IS_COMM(o))   /* communication: the call's name */
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

static struct tstate *tstate_of(struct det *d, uint32_t proc, uint32_t thread)
{
    if (proc < d->ntsr && thread < d->tsr[proc].n && d->tsr[proc].ix[thread])
        return &d->ts[d->tsr[proc].ix[thread] - 1];
    struct lkey k = mk(proc, thread, 0, 0, 0, 0, 0, 0);
    int i = map_get(&d->tmap, &k);
    if (i < 0) {
        d->ts = ana_xrealloc(d->ts, d->nts + 1, sizeof *d->ts);
        memset(&d->ts[d->nts], 0, sizeof d->ts[0]);
        d->ts[d->nts].pass_first_gen = -1;
        map_put(&d->tmap, &k, (int)d->nts);
        i = (int)d->nts++;
    }
    if (thread < 65536 && proc < 65536) {  /* the direct index (thread: the process's thread index) */
        if (proc >= d->ntsr) {
            d->tsr = ana_xrealloc(d->tsr, proc + 1, sizeof *d->tsr);
            memset(&d->tsr[d->ntsr], 0, (proc + 1 - d->ntsr) * sizeof *d->tsr);
            d->ntsr = proc + 1;
        }
        if (thread >= d->tsr[proc].n) {
            d->tsr[proc].ix = ana_xrealloc(d->tsr[proc].ix, thread + 1, sizeof *d->tsr[proc].ix);
            memset(&d->tsr[proc].ix[d->tsr[proc].n], 0, (thread + 1 - d->tsr[proc].n) * sizeof(int));
            d->tsr[proc].n = thread + 1;
        }
        d->tsr[proc].ix[thread] = i + 1;
    }
    return &d->ts[i];
}

static void det_free(void *x)
{
    struct det *d = x;
    for (size_t i = 0; d->names && i < d->nnamed; i++)   /* names exist for the first nnamed layers only */
        free(d->names[i]);
    free(d->names);
    free(d->row);
    ana_map_free(&d->rb_ids);
    map_free(&d->units);
    map_free(&d->lays);
    map_free(&d->aux);
    map_free(&d->minor);
    map_free(&d->tmap);
    map_free(&d->rit);
    free(d->ts);
    free(d->u);
    free(d->l);
    free(d->miters);
    free(d->cc);
    for (size_t i = 0; i < d->ntsr; i++)
        free(d->tsr[i].ix);
    free(d->tsr);
    for (size_t i = 0; i < d->nreg; i++)
        free(d->reg[i].name);
    free(d->reg);
    ana_map_free(&d->rmap);
    free(d->natural);
    free(d);
}

/* ---- the program's names: regions as layer rows ---- */

static const char *origin_name(const struct ana_proc *p, uint32_t id)
{
    switch (ana_map_get(&p->rorigin, id, 0)) {
    case GS_REGION_NVTX + 1: return "nvtx";
    case GS_REGION_ANNOTATE + 1: return "annotate";
    default: return "region";
    }
}

/* a region's path as a row name: ".backward" left off every part, so a
 * module's forward and backward regions ("fc1:Linear", "fc1:Linear.backward")
 * are one row */
static void region_row_name(const char *path, char *out, size_t len)
{
    size_t n = 0;
    for (const char *q = path; *q && n + 1 < len;) {
        const char *e = strchr(q, '/');
        size_t l = e ? (size_t)(e - q) : strlen(q);
        if (l >= 9 && !strncmp(q + l - 9, ".backward", 9))
            l -= 9;
        if (l > len - 1 - n)
            l = len - 1 - n;
        memcpy(out + n, q, l);
        n += l;
        if (!e)
            break;
        if (n + 1 < len)
            out[n++] = '/';
        q = e + 1;
    }
    out[n] = 0;
}

/* the plan's record of a region (NULL: none and !create) */
static struct rinfo *rinfo_of(struct det *d, uint32_t proc, uint32_t id, int create)
{
    if (d->last_rk && d->last_rk_p == proc && d->last_rk_id == id)
        return &d->reg[d->last_rk - 1];
    uint64_t key = (uint64_t)proc << 32 | id;
    uint32_t v = ana_map_get(&d->rmap, key, 0);
    if (!v) {
        if (!create)
            return NULL;
        if (!d->nreg || !(d->nreg & (d->nreg - 1)))
            d->reg = ana_xrealloc(d->reg, d->nreg ? 2 * d->nreg : 8, sizeof *d->reg);
        struct rinfo *x = &d->reg[d->nreg];
        memset(x, 0, sizeof *x);
        x->proc = proc;
        x->id = id;
        x->lay = -1;
        x->row = -1;
        v = (uint32_t)++d->nreg;
        ana_map_put(&d->rmap, key, v);
    }
    d->last_rk_p = proc;
    d->last_rk_id = id;
    d->last_rk = (int)v;
    return &d->reg[v - 1];
}

static const char *lay_name(struct det *d, int li);

/* the row of a leaf region (its calls hold at most one detected layer):
 * named by its path, and by that layer after it; -1 for a container */
static int leaf_row(struct ana_report *r, struct det *d, const struct ana_proc *p, uint32_t id,
                    const struct ana_first *at, int is_call)
{
    struct rinfo *x = rinfo_of(d, p->index, id, 0);
    if (!x || x->lay == -2)
        return -1;
    if (!x->name) {
        const char *path = ana_string(p, id);
        char nm[256], full[256];
        region_row_name(path ? path : "(unnamed region)", nm, sizeof nm);
        if (x->lay >= 0)
            snprintf(full, sizeof full, "%s %s", nm, lay_name(d, x->lay));
        else
            snprintf(full, sizeof full, "%s", nm);
        x->name = ana_xmalloc(strlen(full) + 1, 1);
        memcpy(x->name, full, strlen(full) + 1);
        x->source = origin_name(p, id);
    }
    /* a call's (process, thread, position) orders the row among the layers */
    struct ana_first at1 = is_call ? (struct ana_first){ 1, at->a0, at->a2, at->b } : *at;
    if (x->row >= 0 && (size_t)x->row < r->nlayers) {
        if (is_call)
            ana_first_min(&r->layers[x->row].first, &at1);
        return x->row;
    }
    x->row = ana_layer_add(r, x->name, &at1);
    r->layers[x->row].source = x->source;
    return x->row;
}

/* the layer row a region's own work goes to: a leaf's row, else (a
 * container) a row of the region's own, named by its path */
int ana_layers_region_row(struct ana_report *r, const struct ana_proc *p, uint32_t id, const struct ana_first *at)
{
    struct det *d = ana_report_ext(r, "layers");
    if (d) {
        int row = leaf_row(r, d, p, id, at, 0);
        if (row >= 0)
            return row;
    }
    const char *nm = ana_string(p, id);
    char name[256];
    region_row_name(nm ? nm : "(unnamed region)", name, sizeof name);
    int row = ana_layer_add(r, name, at);
    if (!r->layers[row].source)
        r->layers[row].source = origin_name(p, id);
    return row;
}

/* the name of the row a region's own work goes to (ana_layers_region_row)
 * without making it: for stages after the rows were sorted (kernels.c) */
const char *ana_layers_region_name(struct ana_report *r, const struct ana_proc *p, uint32_t id, char *out,
                                   size_t len, const char **source)
{
    struct det *d = ana_report_ext(r, "layers");
    struct rinfo *x = d ? rinfo_of(d, p->index, id, 0) : NULL;
    *source = origin_name(p, id);
    if (x && x->name) {
        snprintf(out, len, "%s", x->name);
        return out;
    }
    const char *nm = ana_string(p, id);
    region_row_name(nm ? nm : "(unnamed region)", out, len);
    if (x && x->lay >= 0) {
        size_t n = strlen(out);
        snprintf(out + n, len - n, " %s", lay_name(d, x->lay));
    }
    return out;
}

/* a leaf region's row for the event stream (-1: a container, or none) */
int ana_layers_leaf_row(struct ana_report *r, const struct ana_proc *p, uint32_t id, const struct ana_first *at)
{
    struct det *d = ana_report_ext(r, "layers");
    return d && id ? leaf_row(r, d, p, id, at, 1) : -1;
}

/* Fortran GEMMs of one process: torch's (row-major data, the product
 * transposed: batch n or k) or laid out as stored (R, column-major data:
 * batch m or k, like cblas row-major)?  Every activation of one step has
 * the same batch, so the reading that gives the fewest distinct batches
 * over the distinct shapes is the caller's; a tie is torch's. */
static int natural_layout(const struct ana_proc *p)
{
    size_t n = 0;
    for (size_t x = 0; x < p->nshp; x++)
        n += GS_OP_ROUTINE(p->shp[x].op) == GS_R_GEMM && (p->shp[x].pat & GS_F_FORTRAN) &&
             !(p->shp[x].pat & GS_F_ROWMAJOR) && !ANA_OP_IS_DNNL(p->shp[x].op);
    if (n < 2)
        return 0;
    struct ana_map va = { 0 }, vb = { 0 };
    for (size_t x = 0; x < p->nshp; x++) {
        const struct ana_shape *h = &p->shp[x];
        if (GS_OP_ROUTINE(h->op) != GS_R_GEMM || !(h->pat & GS_F_FORTRAN) || (h->pat & GS_F_ROWMAJOR) ||
            ANA_OP_IS_DNNL(h->op))
            continue;
        int ta = GS_F_TRANSA(h->pat) != 0, tb = GS_F_TRANSB(h->pat) != 0;
        if (!tb || !ta)                 /* torch: transb N -> n; transb T, transa N -> k */
            ana_map_put(&va, !tb ? h->n : h->k, 1);
        if (!ta || !tb)                 /* as stored: transa N -> m; transa T, transb N -> k */
            ana_map_put(&vb, !ta ? h->m : h->k, 1);
    }
    int nat = vb.n < va.n;
    ana_map_free(&va);
    ana_map_free(&vb);
    return nat;
}

/* the call as its layout reads: an R-style process's Fortran calls are read
 * with the row-major rule (tmp holds the copy) */
static inline const struct ana_call *as_read(const struct det *d, const struct ana_proc *p, const struct ana_call *c,
                                             struct ana_call *tmp)
{
    if (p->index < d->nnatural && d->natural[p->index] && (c->flags & GS_F_FORTRAN) &&
        !(c->flags & GS_F_ROWMAJOR) && !ANA_OP_IS_DNNL(c->op)) {
        *tmp = *c;
        tmp->flags |= GS_F_ROWMAJOR;
        return tmp;
    }
    return c;
}

/* the row name of a lay, made when first asked */
static const char *lay_name(struct det *d, int li)
{
    if (li < 0)
        return "other";
    if ((size_t)li >= d->nl)
        return "other";
    if (d->nl > d->nnamed || !d->names) {  /* (not a realloc per call: that cost ~5% of a report) */
        d->names = ana_xrealloc(d->names, d->nl + 1, sizeof *d->names);
        for (size_t i = d->nnamed; i < d->nl; i++)
            d->names[i] = NULL;
        d->nnamed = d->nl;
    }
    if (!d->names[li]) {
        const struct lay *l = &d->l[li];
        char nm[200], full[256];
        name_of(d, l, nm, sizeof nm);
        if (l->inst)
            snprintf(nm + strlen(nm), sizeof nm - strlen(nm), " #%d", l->inst + 1);
        snprintf(full, sizeof full, "%s", nm);
        d->names[li] = ana_xmalloc(strlen(full) + 1, 1);
        memcpy(d->names[li], full, strlen(full) + 1);
    }
    return d->names[li];
}

/* a model's iterations: its layers' weight gradients (the most of any) */
static void plan_models(struct det *d, struct ana_report *r)
{
    d->nmiters = d->nl + 1;
    d->miters = ana_xmalloc(d->nmiters, sizeof *d->miters);
    memset(d->miters, 0, d->nmiters * sizeof *d->miters);
    for (size_t i = 0; i < d->nl; i++) {
        struct lay *l = &d->l[i];
        int m = model_of(d, (int)i);
        long it = l->iters > 0 ? l->iters : l->linear ? l->passes_seen : 0;
        if (it > d->miters[m])
            d->miters[m] = it;
        if (l->iters > 0 && l->iters > r->iterations)
            r->iterations = l->iters;
    }
}

/* Before the sweep: what each pair shows (from the distinct shapes), then
 * one pass over every thread's calls (every call placed), so that names,
 * leaf regions, models and their iterations are known when the
 * calls stream by. */
int ana_layers_plan(struct ana_report *r)
{
    struct det *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->cc = calloc(CCACHE, sizeof *d->cc);
    if (!d->cc) {
        free(d);
        return -1;
    }
    d->r = r;
    ana_report_ext_set(r, "layers", d, det_free);
    struct ana_run *run = r->run;
    int regions = 0;
    r->iterations = -1;
    struct ana_call c;

    d->natural = ana_xmalloc(run->nprocs + 1, 1);
    d->nnatural = run->nprocs;
    for (size_t pi = 0; pi < run->nprocs; pi++)
        d->natural[pi] = (unsigned char)natural_layout(run->procs[pi]);
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        regions |= p->nrev || p->any_call_region;
        /* what each pair shows: learnt from the distinct shapes in the
         * order of their first call (the reader's scan noted them), the
         * same as from every call (only the first forward's layout is
         * order-dependent); oneDNN calls teach nothing here */
        for (size_t x = 0; x < p->nshp; x++) {
            const struct ana_shape *h = &p->shp[x];
            memset(&c, 0, sizeof c);
            c.op = (uint8_t)h->op;
            c.flags = (uint16_t)h->pat;
            c.m = h->m; c.n = h->n; c.k = h->k;
            struct sig s;
            struct ana_call tmp;
            sig_of(p, as_read(d, p, &c, &tmp), &s);
            learn(d, &s, NULL);
        }
        /* a process not read by the scan (built by hand) or no BLAS: every call */
        for (size_t t = 0; !p->nshp && t < p->nthreads; t++) {
            size_t ci = 0, off = 0;
            while (ana_next_call_shape(p, &p->threads[t], &ci, &off, &c)) {
                struct sig s;
                sig_of(p, &c, &s);
                learn(d, &s, NULL);
            }
        }
    }
    r->layers_from_regions = regions;
    for (size_t i = 0; i < d->nu; i++)
        d->training |= d->u[i].has_w && d->u[i].has_fi;
    /* per op: the distinct shapes of calls that form no layer (a loop of
     * changing shapes is folded into one row) */
    struct map fold = { NULL, NULL, 0, 0 };
    struct lkey *fk = NULL; uint64_t *fcalls = NULL, optot[256] = { 0 };
    size_t nf = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        for (size_t x = 0; x < p->nshp; x++) {
            const struct ana_shape *h = &p->shp[x];
            memset(&c, 0, sizeof c);
            c.op = (uint8_t)h->op;
            c.flags = (uint16_t)h->pat;
            c.m = h->m; c.n = h->n; c.k = h->k;
            struct sig s;
            struct ana_call tmp;
            sig_of(p, as_read(d, p, &c, &tmp), &s);
            int ui = (s.role == R_FI || s.role == R_W) ? unit_of(d, &s.unit, 0) : -1;
            if (s.dnnl || (ui >= 0 && unit_linear(d, &d->u[ui])))
                continue;
            int fi = map_get(&fold, &s.call);
            if (fi < 0) {
                fk = ana_xrealloc(fk, nf + 1, sizeof *fk);
                fcalls = ana_xrealloc(fcalls, nf + 1, sizeof *fcalls);
                fk[nf] = s.call;
                fcalls[nf] = 0;
                map_put(&fold, &s.call, (int)nf);
                fi = (int)nf++;
            }
            uint64_t n = h->calls ? h->calls : 1;
            fcalls[fi] += n;
            optot[c.op] += n;
        }
    }
    for (size_t i = 0; i < nf; i++)
        d->fold_n[fk[i].w[1] & 255] += fcalls[i] * 10 < optot[fk[i].w[1] & 255];
    for (size_t i = 0; i < nf; i++) {
        uint32_t op = fk[i].w[1] & 255;
        if (fcalls[i] * 10 < optot[op] && d->fold_n[op] > ANA_FOLD_SHAPES)
            map_put(&d->minor, &fk[i], 1);
    }
    free(fk);
    free(fcalls);
    map_free(&fold);
    memset(d->cc, 0, CCACHE * sizeof *d->cc);   /* classes need the final units */
    d->clast = NULL;
    d->units_final = 1;

    /* (process, region, lay) of the linear calls inside regions, for the
     * regions' iterations below */
    struct map prl = { NULL, NULL, 0, 0 };
    struct lkey lastk = mk(0, 0, 0, 0, 0, 0, 0, 0);
    int have_last = 0;
    /* One thread of calls in the whole run and no regions: the sweep sees
     * the calls in the very order of this pass and nothing it names
     * depends on the pass (no region owners), so it gathers the per-layer
     * counts itself and the models' iterations are made at the end. */
    size_t ncallthreads = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++)
        for (size_t t = 0; t < run->procs[pi]->nthreads; t++)
            ncallthreads += run->procs[pi]->threads[t].ncalls > 0;
    d->sweep_stats = !regions && ncallthreads <= 1;
    d->planning = 1;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        aux_index(d, p);
        for (size_t t = 0; t < p->nthreads && !d->sweep_stats; t++) {
            struct tstate ts0;
            memset(&ts0, 0, sizeof ts0);
            ts0.pass_first_gen = -1;
            size_t ci = 0, off = 0, run = 0, rep = 0;
            /* a run of calls of one shape: call by call until the placement
             * of the one before answers for the rest (place_same: a fixed
             * layer, no state), then the rest at once */
            while (rep || ana_next_call_run(p, &p->threads[t], &ci, &off, &c, &run)) {
                if (!rep)
                    rep = run;
                int wgrad = 0;
                size_t k = 1;
                struct ana_call tmp;
                const struct ana_call *cr = as_read(d, p, &c, &tmp);
                int li = place_same(d, cr);
                if (li < 0)
                    li = place_call(d, &ts0, p, cr, &wgrad);
                else
                    k = rep;
                rep -= k;
                struct lay *l = &d->l[li];
                l->calls += k;
                if (wgrad)
                    l->iters++;
                if (c.region) {                 /* helpers (reorders) do not split a region */
                    struct rinfo *x = rinfo_of(d, (uint32_t)pi, c.region, 1);
                    if (l->linear && x->lay != li)
                        x->lay = x->lay == -1 ? li : -2;
                }
                if (regions && c.region && l->linear) {
                    struct lkey k = mk((uint32_t)pi, c.region, (uint32_t)li, 0, 0, 0, 0, 3);
                    if (!have_last || memcmp(&k, &lastk, sizeof k)) {
                        if (map_get(&prl, &k) < 0)
                            map_put(&prl, &k, 1);
                        lastk = k;
                        have_last = 1;
                    }
                }
            }
        }
    }
    if (!d->sweep_stats) {
        d->planning = 0;
        plan_models(d, r);
    }
    /* program regions: per iteration of the loops of the models that run in
     * them (each model once per process and region) */
    struct map seen = { NULL, NULL, 0, 0 };
    for (size_t i = 0; i < prl.cap; i++) {
        if (prl.v[i] < 0)
            continue;
        const struct lkey *pk = &prl.k[i];
        int m = model_of(d, (int)pk->w[2]);
        struct lkey k = mk(pk->w[0], pk->w[1], (uint32_t)m, 0, 0, 0, 0, 1);
        if (map_get(&seen, &k) >= 0)
            continue;
        map_put(&seen, &k, 1);
        struct lkey rk = mk(pk->w[0], pk->w[1], 0, 0, 0, 0, 0, 2);
        int have = map_get(&d->rit, &rk);
        long mi = (size_t)m < d->nmiters ? d->miters[m] : 0;
        map_put(&d->rit, &rk, (have > 0 ? have : 0) + (int)(mi > INT32_MAX / 4 ? INT32_MAX / 4 : mi));
    }
    map_free(&seen);
    map_free(&prl);
    /* the sweep places again from a fresh state per thread */
    d->pass = 0;
    return 0;
}

/* the layer row of one call, as it streams by in its thread's order */
int ana_layers_assign_in(struct ana_report *r, void *plan, const struct ana_proc *p, uint32_t thread,
                         const struct ana_call *c, const struct ana_first *at)
{
    struct det *d = plan;
    if (!d)
        return -1;
    struct ana_call tmp;
    c = as_read(d, p, c, &tmp);
    int wgrad = 0, li = place_same(d, c);
    if (li < 0)
        li = place_call(d, tstate_of(d, p->index, thread), p, c, &wgrad);
    if (d->sweep_stats) {               /* (what the plan's pass counts) */
        d->l[li].calls++;
        if (wgrad)
            d->l[li].iters++;
    }
    if (c->region) {                    /* a leaf region: the program's name wins */
        int row = leaf_row(r, d, p, c->region, at, 1);
        if (row >= 0)
            return row;
    }
    /* real layers first, in order of first use; then the rest */
    struct ana_first at1 = { d->l[li].linear ? 1u : 2u, at->a0, at->a2, at->b };
    /* the report row of a lay, found by name once (rows keep their index
     * until the aggregate stage sorts them, after the sweep) */
    if ((size_t)li >= d->nrow) {
        size_t n = d->nl + 1 > (size_t)li + 1 ? d->nl + 1 : (size_t)li + 1;
        d->row = ana_xrealloc(d->row, n, sizeof *d->row);
        for (size_t i = d->nrow; i < n; i++)
            d->row[i] = -1;
        d->nrow = n;
    }
    if (d->row[li] >= 0 && (size_t)d->row[li] < r->nlayers) {
        ana_first_min(&r->layers[d->row[li]].first, &at1);
        return d->row[li];
    }
    d->row[li] = ana_layer_add(r, lay_name(d, li), &at1);
    if (!r->layers[d->row[li]].source)
        r->layers[d->row[li]].source = "detected";
    return d->row[li];
}

/* energy between calls inside region id: the layer that owns the region
 * (annotate), else a row of the region's own, per iteration of the loops
 * of the models that run inside it */
int ana_layers_gap_row(struct ana_report *r, const struct ana_proc *p, uint32_t id, const struct ana_first *at)
{
    int row = ana_layers_region_row(r, p, id, at);
    struct det *d = ana_report_ext(r, "layers");
    if (d) {
        struct lkey rk = mk(p->index, id, 0, 0, 0, 0, 0, 2);
        int it = map_get(&d->rit, &rk);
        long v = it > 0 ? it : r->iterations;
        if (v > r->layers[row].iterations)
            r->layers[row].iterations = v;
    }
    return row;
}

/* each layer row: its model's iterations */
void ana_layers_finish(struct ana_report *r)
{
    struct det *d = ana_report_ext(r, "layers");
    if (!d)
        return;
    if (d->sweep_stats) {
        d->planning = 0;
        free(d->miters);
        plan_models(d, r);
    }
    for (size_t i = 0; i < d->nl; i++) {
        if (!d->l[i].linear || !d->names || i >= d->nnamed || !d->names[i])
            continue;
        int row = ana_layer_find(r, d->names[i]);
        /* lays first met by the sweep (after the plan) have no model entry */
        size_t m = (size_t)model_of(d, (int)i);
        long it = m < d->nmiters ? d->miters[m] : 0;
        if (row >= 0 && it > r->layers[row].iterations)
            r->layers[row].iterations = it;
    }
    /* leaf regions: per iteration of the loops of the models that run in them */
    for (size_t i = 0; i < d->nreg; i++) {
        const struct rinfo *x = &d->reg[i];
        int row = x->name ? ana_layer_find(r, x->name) : -1;
        if (row < 0)
            continue;
        struct lkey rk = mk(x->proc, x->id, 0, 0, 0, 0, 0, 2);
        int it = map_get(&d->rit, &rk);
        long v = it > 0 ? it : r->iterations;
        if (v > r->layers[row].iterations)
            r->layers[row].iterations = v;
    }
}
