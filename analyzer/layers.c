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

static int find_layer(const struct ana_report *r, const char *name)
{
    for (size_t i = 0; i < r->nlayers; i++)
        if (strcmp(r->layers[i].name, name) == 0)
            return (int)i;
    return -1;
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

static int add_layer(struct ana_report *r, const char *name)
{
    for (size_t i = 0; i < r->nlayers; i++)
        if (strcmp(r->layers[i].name, name) == 0)
            return (int)i;
    r->layers = realloc(r->layers, (r->nlayers + 1) * sizeof *r->layers);
    memset(&r->layers[r->nlayers], 0, sizeof r->layers[0]);
    snprintf(r->layers[r->nlayers].name, sizeof r->layers[0].name, "%s", name);
    return (int)r->nlayers++;
}

static void from_regions(struct ana_report *r)
{
    for (size_t pi = 0; pi < r->run->nprocs; pi++) {
        struct ana_proc *p = r->run->procs[pi];
        uint32_t cached_id = UINT32_MAX;
        int cached = -1;
        for (size_t i = 0; i < p->ncalls; i++) {
            struct ana_call *c = &p->calls[i];
            if (c->region != cached_id) {
                const char *nm = c->region ? ana_string(p, c->region) : NULL;
                cached = add_layer(r, nm ? nm : "(no region)");
                cached_id = c->region;
            }
            c->layer = cached;
        }
    }
}

/* energy between calls inside a region goes to that region's layer */
static void region_gaps(struct ana_report *r)
{
    for (size_t pi = 0; pi < r->run->nprocs; pi++) {
        struct ana_proc *p = r->run->procs[pi];
        for (uint32_t id = 1; id < p->nreg_j; id++) {
            if (p->reg_j[id] == 0 && p->reg_s[id] == 0)
                continue;
            const char *nm = ana_string(p, id);
            int l = add_layer(r, nm ? nm : "(unnamed)");
            r->layers[l].energy_j += p->reg_j[id];
            r->layers[l].time_s += p->reg_s[id];
        }
    }
}

/* Detection on the busiest thread of the busiest process. */
static void detect(struct ana_report *r, int only_period)
{
    struct ana_proc *bp = NULL;
    uint32_t bt = 0;
    size_t best = 0;
    for (size_t pi = 0; pi < r->run->nprocs; pi++) {
        struct ana_proc *p = r->run->procs[pi];
        size_t *cnt = calloc(p->nthreads + 1, sizeof *cnt);
        for (size_t i = 0; i < p->ncalls; i++)
            cnt[p->calls[i].thread]++;
        for (size_t t = 0; t < p->nthreads; t++)
            if (cnt[t] > best) { best = cnt[t]; bp = p; bt = (uint32_t)t; }
        free(cnt);
    }
    r->iterations = -1;
    if (!bp)
        return;
    size_t L = 0, Lall = 0;
    struct ana_call **seq = malloc(best * sizeof *seq);
    for (size_t i = 0; i < bp->ncalls; i++)
        if (bp->calls[i].thread == bt)
            seq[Lall++] = &bp->calls[i];
    L = Lall < DETECT_MAX ? Lall : DETECT_MAX;
    struct sig *s = malloc((L + 1) * sizeof *s);
    for (size_t i = 0; i < L; i++)
        s[i] = sig_of(seq[i]);

    /* smallest period P with >= 90% of s[i] == s[i-P] after a warm-up W <= P
     * and at least two repetitions; per P, suffix sums of the matches give
     * every W at once.  W is the warm-up with the best match (the smallest
     * on ties) so that the period starts where an iteration starts. */
    size_t P = 0, W = 0;
    size_t *suf = malloc((L + 1) * sizeof *suf);
    for (size_t p = 1; p * 2 <= L && !P; p++) {
        suf[L] = 0;
        for (size_t i = L; i-- > p;)
            suf[i] = suf[i + 1] + sig_eq(&s[i], &s[i - p]);
        double best_frac = -1;
        for (size_t w = 0; w <= p && w + 2 * p <= L; w++) {
            size_t tot = L - w - p, match = suf[w + p];
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
        P = L;
        W = 0;
    } else {
        /* iterations: the whole periods of the entire stream that match the
         * first one at >= 90% */
        long it = 0;
        for (size_t b = W; b + P <= Lall; b += P) {
            size_t match = 0;
            for (size_t j = 0; j < P; j++) {
                struct sig x = sig_of(seq[b + j]);
                match += sig_eq(&x, &s[W + j]);
            }
            it += match * 10 >= P * 9;
        }
        r->iterations = it;
    }
    if (only_period) {
        free(s);
        free(seq);
        return;
    }

    /* group the calls of one period by key */
    struct key *keys = malloc(P * sizeof *keys);
    int *lay = malloc(P * sizeof *lay);
    size_t nk = 0;
    struct key *uk = malloc(P * sizeof *uk);
    size_t *ucount = calloc(P, sizeof *ucount), *ufirst = calloc(P, sizeof *ufirst);
    for (size_t i = 0; i < P; i++) {
        keys[i] = key_of(seq[W + i]);
        size_t u;
        for (u = 0; u < nk; u++)
            if (key_eq(&uk[u], &keys[i]))
                break;
        if (u == nk) {
            uk[nk] = keys[i];
            ufirst[nk] = i;
            nk++;
        }
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
    int *base = malloc(nk * sizeof *base);
    size_t *nl = malloc(nk * sizeof *nl), *seen = calloc(nk, sizeof *seen);
    for (size_t u = 0; u < nk; u++) {
        nl[u] = ucount[u] > 3 && !uk[u].gemv ? (ucount[u] + 2) / 3 : 1;
        base[u] = (int)r->nlayers;
        size_t occ = 0;
        for (size_t i = 0; i < P && occ < nl[u]; i++) {
            if (!key_eq(&keys[i], &uk[u]))
                continue;
            /* the l-th occurrence is the forward product of layer l */
            char name[200], nm[256];
            layer_name(seq[W + i], &uk[u], batch, name, sizeof name);
            snprintf(nm, sizeof nm, "%s", name);
            for (int dup = 2; find_layer(r, nm) >= 0; dup++)
                snprintf(nm, sizeof nm, "%s #%d", name, dup);
            add_layer(r, nm);
            occ++;
        }
    }
    for (size_t i = 0; i < P; i++) {
        size_t u;
        for (u = 0; u < nk; u++)
            if (key_eq(&uk[u], &keys[i]))
                break;
        size_t occ = seen[u]++, n = nl[u], l;
        if (occ < n)
            l = occ;                    /* forwards, in order */
        else {
            size_t b = (occ - n) / 2;   /* backwards, two each, reversed */
            l = b < n ? n - 1 - b : n - 1;
        }
        lay[i] = base[u] + (int)l;
    }
    /* every call: by position on the detected thread, else by key */
    int other = -1;
    for (size_t pi = 0; pi < r->run->nprocs; pi++) {
        struct ana_proc *p = r->run->procs[pi];
        size_t pos = 0;
        for (size_t i = 0; i < p->ncalls; i++) {
            struct ana_call *c = &p->calls[i];
            int l = -1;
            if (p == bp && c->thread == bt) {
                size_t k = pos++;
                if (k >= W) {
                    size_t j = (k - W) % P;
                    struct sig sc = sig_of(c), sw = sig_of(seq[W + j]);
                    if (sig_eq(&sc, &sw))
                        l = lay[j];
                }
            }
            if (l < 0) {
                struct key kc = key_of(c);
                for (size_t u = 0; u < nk; u++)
                    if (key_eq(&uk[u], &kc)) { l = base[u]; break; }
            }
            if (l < 0) {
                if (other < 0)
                    other = add_layer(r, "other");
                l = other;
            }
            c->layer = l;
        }
    }
    free(base); free(nl); free(seen); free(keys); free(lay); free(uk); free(ucount); free(ufirst);
    free(s); free(seq);
}

void ana_layers(struct ana_report *r)
{
    int regions = 0;
    for (size_t pi = 0; pi < r->run->nprocs && !regions; pi++) {
        struct ana_proc *p = r->run->procs[pi];
        if (p->nrev)
            regions = 1;
        for (size_t i = 0; i < p->ncalls && !regions; i++)
            regions = p->calls[i].region != 0;
    }
    r->layers_from_regions = regions;
    r->iterations = -1;
    detect(r, regions);
    if (regions) {
        from_regions(r);
        region_gaps(r);
    }
    for (size_t pi = 0; pi < r->run->nprocs; pi++) {
        struct ana_proc *p = r->run->procs[pi];
        for (size_t i = 0; i < p->ncalls; i++) {
            struct ana_call *c = &p->calls[i];
            if (c->layer < 0)
                continue;
            struct ana_layer_row *l = &r->layers[c->layer];
            l->calls++;
            l->time_s += (double)(c->t1 - c->t0) * 1e-9;
            l->energy_j += c->energy_j;
            l->flops += ana_flops(c);
        }
    }
}
