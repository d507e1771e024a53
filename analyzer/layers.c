/* layers.c - calls to layers.  Region names win when the program gave
 * any.  Otherwise the layers come from the call stream itself:
 *   1. the training iteration is the smallest period P of the (routine,
 *      transposes, m, n, k) signatures of the busiest thread that repeats
 *      with >= 90% matches at least twice, after a warm-up of at most P
 *      (looked for in the first DETECT_MAX calls); iterations = the whole
 *      periods of the stream that match the first at >= 90%;
 *   2. a fully connected layer's forward product and its two backward
 *      products use the same three dimensions, so the calls of one period
 *      group by their sorted (m, n, k); the batch is the dimension common
 *      to most groups; the layer is named "linear IN→OUT" with IN = k of
 *      its first (forward) product;
 *   3. a group with more than 3 calls per period holds ceil(c/3) layers
 *      whose dimensions are the same set (64→128 and 128→64, or two
 *      128→128): its first ceil(c/3) calls are their forwards in order,
 *      each naming its layer, the rest their backwards, two each, in
 *      reverse order; equal names get " #2", " #3". */
#include <stdlib.h>
#include <string.h>
#include "ana.h"

/* The analyzer streams: detection sees the first DETECT_MAX calls of the
 * busiest thread (read ahead of the sweep), then every call once, in its
 * thread's order, through ana_layers_assign(). */

#define DETECT_MAX 4096

struct sig { uint8_t op; uint16_t tr; uint32_t m, n, k; };

static int sig_eq(const struct sig *a, const struct sig *b)
{
    return a->op == b->op && a->tr == b->tr && a->m == b->m && a->n == b->n && a->k == b->k;
}

static struct sig sig_of(const struct ana_call *c)
{
    struct sig s = { c->op, (uint16_t)(GS_F_TRANSA(c->flags) | GS_F_TRANSB(c->flags) << 2), c->m, c->n, c->k };
    return s;
}

/* the grouping key: routine kind + sorted dims */
struct key { int gemv; uint32_t d[3]; };
static struct key key_of(const struct ana_call *c)
{
    struct key k = { 0, { 0, 0, 0 } };
    if (GS_OP_ROUTINE(c->op) == GS_R_GEMV) {
        k.gemv = 1 + c->op;
        k.d[0] = c->m;
        k.d[1] = c->n;
        return k;
    }
    uint32_t a = c->m, b = c->n, d = c->k, t;
    if (GS_OP_ROUTINE(c->op) != GS_R_GEMM) {
        k.gemv = 1000 + c->op;          /* other routines: by routine and dims */
    }
    if (a > b) { t = a; a = b; b = t; }
    if (b > d) { t = b; b = d; d = t; }
    if (a > b) { t = a; a = b; b = t; }
    k.d[0] = a; k.d[1] = b; k.d[2] = d;
    return k;
}
static int key_eq(const struct key *a, const struct key *b)
{
    return a->gemv == b->gemv && a->d[0] == b->d[0] && a->d[1] == b->d[1] && a->d[2] == b->d[2];
}

/* "linear IN→OUT" from a layer's forward product: IN is its k, OUT the
 * dimension left when the batch and IN are taken out of the triple */
static void layer_name(const struct ana_call *f, const struct key *k, uint32_t batch, char *name, size_t len)
{
    char op[16];
    if (k->gemv >= 1000) {
        snprintf(name, len, "%s %ux%ux%u", ana_op_name(f->op, op), f->m, f->n, f->k);
        return;
    }
    if (k->gemv) {
        snprintf(name, len, "%s %ux%u", ana_op_name(f->op, op), f->m, f->n);
        return;
    }
    uint32_t in = f->k, rest[3] = { k->d[0], k->d[1], k->d[2] };
    int used[3] = { 0, 0, 0 }, bi = -1;
    for (int j = 0; j < 3; j++)
        if (rest[j] == in) { used[j] = 1; break; }
    for (int j = 0; j < 3; j++)
        if (!used[j] && batch && rest[j] == batch) { used[j] = 1; bi = j; break; }
    uint32_t out = 0;
    for (int j = 0; j < 3; j++)
        if (!used[j]) { out = rest[j]; break; }
    if (bi < 0 || out == 0)
        snprintf(name, len, "gemm %ux%ux%u", f->m, f->n, f->k);
    else
        snprintf(name, len, "linear %u\u2192%u", in, out);
}

/* what the plan leaves for the calls as they stream by */
struct lstate {
    int regions;
    uint32_t bp, bt; int have_bt; /* the detected thread: process, thread index */
    uint64_t Lall;                /* its calls */
    size_t P, W;                  /* period and warm-up; P = 0: no detection */
    struct sig *s;                /* its first calls' signatures */
    int *lay;                     /* layer of each position of the period */
    struct key *uk; int *base; size_t nk;
    int other;
    /* iterations: whole periods matching the first */
    long it; size_t match; uint64_t block;
    int counting;
};

static void lstate_free(void *x)
{
    struct lstate *L = x;
    free(L->s); free(L->lay); free(L->uk); free(L->base);
    free(L);
}

int ana_layers_plan(struct ana_report *r)
{
    struct lstate *L = calloc(1, sizeof *L);
    if (!L)
        return -1;
    L->other = -1;
    ana_report_ext_set(r, "layers", L, lstate_free);
    int regions = 0;
    for (size_t pi = 0; pi < r->run->nprocs && !regions; pi++)
        regions = r->run->procs[pi]->nrev || r->run->procs[pi]->any_call_region;
    r->layers_from_regions = regions;
    L->regions = regions;
    r->iterations = -1;
    /* the busiest thread of the busiest process */
    uint64_t best = 0;
    for (size_t pi = 0; pi < r->run->nprocs; pi++) {
        struct ana_proc *p = r->run->procs[pi];
        for (size_t t = 0; t < p->nthreads; t++)
            if (p->threads[t].ncalls > best) {
                best = p->threads[t].ncalls;
                L->bp = (uint32_t)pi; L->bt = (uint32_t)t; L->have_bt = 1;
            }
    }
    if (!L->have_bt)
        return 0;
    const struct ana_proc *bp = r->run->procs[L->bp];
    L->Lall = best;
    size_t n = best < DETECT_MAX ? (size_t)best : DETECT_MAX;
    struct ana_call *seq = ana_xmalloc(n + 1, sizeof *seq);
    size_t ci = 0, off = 0, L0 = 0;
    while (L0 < n && ana_next_call(bp, &bp->threads[L->bt], &ci, &off, &seq[L0]))
        L0++;
    n = L0;
    struct sig *s = ana_xmalloc(n + 1, sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = sig_of(&seq[i]);
    L->s = s;

    /* smallest period P with >= 90% of s[i] == s[i-P] after a warm-up W <= P
     * and at least two repetitions; per P, suffix sums of the matches give
     * every W at once.  W is the warm-up with the best match (the smallest
     * on ties) so that the period starts where an iteration starts. */
    size_t P = 0, W = 0, Ln = n;
    size_t *suf = ana_xmalloc(Ln + 1, sizeof *suf);
    for (size_t p = 1; p * 2 <= Ln && !P; p++) {
        suf[Ln] = 0;
        for (size_t i = Ln; i-- > p;)
            suf[i] = suf[i + 1] + sig_eq(&s[i], &s[i - p]);
        double best_frac = -1;
        for (size_t w = 0; w <= p && w + 2 * p <= Ln; w++) {
            size_t tot = Ln - w - p, match = suf[w + p];
            double frac = (double)match / (double)tot;
            if (match * 10 >= tot * 9 && frac > best_frac + 1e-12) {
                best_frac = frac;
                P = p;
                W = w;
            }
        }
    }
    free(suf);
    if (!P) {
        /* no repetition: every call of the stream is one step */
        P = Ln;
        W = 0;
    } else {
        L->counting = 1;                /* iterations counted as the calls stream by */
        r->iterations = 0;
    }
    L->P = P;
    L->W = W;
    if (regions || !P) {
        free(seq);
        if (!P)
            L->P = 0;
        return 0;
    }

    /* group the calls of one period by key */
    struct key *keys = ana_xmalloc(P, sizeof *keys);
    int *lay = ana_xmalloc(P, sizeof *lay);
    size_t nk = 0;
    struct key *uk = ana_xmalloc(P, sizeof *uk);
    size_t *ucount = calloc(P, sizeof *ucount);
    uint32_t *ufirst_hash = NULL;
    (void)ufirst_hash;
    if (!ucount)
        exit(3);
    for (size_t i = 0; i < P; i++) {
        keys[i] = key_of(&seq[W + i]);
        size_t u;
        for (u = 0; u < nk; u++)
            if (key_eq(&uk[u], &keys[i]))
                break;
        if (u == nk)
            uk[nk++] = keys[i];
        ucount[u]++;
    }
    /* the batch: the gemm dimension shared by most groups */
    uint32_t batch = 0;
    size_t bestc = 0;
    for (size_t u = 0; u < nk; u++)
        for (int j = 0; j < 3; j++) {
            uint32_t v = uk[u].d[j];
            if (uk[u].gemv || !v)
                continue;
            size_t c = 0;
            for (size_t x = 0; x < nk; x++)
                if (!uk[x].gemv && (uk[x].d[0] == v || uk[x].d[1] == v || uk[x].d[2] == v))
                    c++;
            if (c > bestc) { bestc = c; batch = v; }
        }
    if (bestc < 2 && nk > 1)
        batch = 0;
    /* one or more layers per group, in order of first appearance */
    int *base = ana_xmalloc(nk + 1, sizeof *base);
    size_t *nl = ana_xmalloc(nk + 1, sizeof *nl), *seen = calloc(nk + 1, sizeof *seen);
    if (!seen)
        exit(3);
    for (size_t u = 0; u < nk; u++) {
        nl[u] = ucount[u] > 3 && !uk[u].gemv ? (ucount[u] + 2) / 3 : 1;
        base[u] = (int)r->nlayers;
        size_t occ = 0;
        for (size_t i = 0; i < P && occ < nl[u]; i++) {
            if (!key_eq(&keys[i], &uk[u]))
                continue;
            /* the l-th occurrence is the forward product of layer l */
            char name[200], nm[256];
            layer_name(&seq[W + i], &uk[u], batch, name, sizeof name);
            snprintf(nm, sizeof nm, "%s", name);
            for (int dup = 2; ana_layer_find(r, nm) >= 0; dup++)
                snprintf(nm, sizeof nm, "%s #%d", name, dup);
            struct ana_first at = { 0, 0, 0, r->nlayers };
            ana_layer_add(r, nm, &at);
            occ++;
        }
    }
    for (size_t i = 0; i < P; i++) {
        size_t u;
        for (u = 0; u < nk; u++)
            if (key_eq(&uk[u], &keys[i]))
                break;
        size_t occ = seen[u]++, nn = nl[u], l;
        if (occ < nn)
            l = occ;                    /* forwards, in order */
        else {
            size_t b = (occ - nn) / 2;  /* backwards, two each, reversed */
            l = b < nn ? nn - 1 - b : nn - 1;
        }
        lay[i] = base[u] + (int)l;
    }
    L->lay = lay;
    L->uk = uk;
    L->base = base;
    L->nk = nk;
    free(nl); free(seen); free(keys); free(ucount);
    free(seq);
    return 0;
}

/* the layer of one call (its position on its thread: pos) */
int ana_layers_assign(struct ana_report *r, const struct ana_proc *p, uint32_t thread, uint64_t pos,
                      const struct ana_call *c, const struct ana_first *at)
{
    struct lstate *L = ana_report_ext(r, "layers");
    if (!L)
        return -1;
    int on = L->have_bt && p->index == L->bp && thread == L->bt;
    int l = -1;
    if (on && L->P && pos >= L->W) {
        size_t j = (size_t)((pos - L->W) % L->P);
        struct sig sc = sig_of(c);
        int eq = sig_eq(&sc, &L->s[L->W + j]);
        if (L->counting) {
            /* whole periods of the stream that match the first at >= 90% */
            uint64_t b = (pos - L->W) / L->P;
            if (b * L->P + L->W + L->P <= L->Lall) {
                L->match += eq;
                if (j == L->P - 1) {
                    L->it += L->match * 10 >= L->P * 9;
                    L->match = 0;
                }
            }
        }
        if (!L->regions && L->lay && eq)
            l = L->lay[j];
    }
    struct ana_first at1 = { 1, at->a0, at->a2, at->b };
    if (L->regions) {
        const char *nm = c->region ? ana_string(p, c->region) : NULL;
        return ana_layer_add(r, nm ? nm : "(no region)", &at1);
    }
    if (l < 0 && L->uk) {
        struct key kc = key_of(c);
        for (size_t u = 0; u < L->nk; u++)
            if (key_eq(&L->uk[u], &kc)) { l = L->base[u]; break; }
    }
    if (l < 0)
        l = ana_layer_add(r, "other", &at1);
    return l;
}

void ana_layers_finish(struct ana_report *r)
{
    struct lstate *L = ana_report_ext(r, "layers");
    if (L && L->counting)
        r->iterations = L->it;
}
