/* attribute.c - energy to calls, streaming.  The run's energy curve is the
 * sum of its series: measured domains (scope=machine series with the same
 * key, from any process of the run, merged into ONE series and counted
 * once; scope=process series add up) or, when nothing is measured, each
 * process's modelled CPU-time curve.  An interval costs E(end) - E(start),
 * linearly interpolated between samples, with a power step where a
 * measured interval holds one region boundary (series_knots).
 *
 * The sweep walks every thread of every process at once, merged by time with
 * a small heap (each thread's chunks in (tid, seq) order are already in time
 * order): every call boundary and region push/pop splits the curve into
 * elementary intervals; the calls active in one share its energy in
 * proportion to their CPU time (task-clock when the call has counters, else
 * equally): machine energy among all calls of the run, a process's own
 * energy among its calls.  An interval with no call belongs to the
 * innermost region open on a thread then, else it is "outside".  Nothing
 * per call is kept: a call's energy is known at its end, when it goes out
 * in the event stream.  Calls + outside equal the total: checked. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"

/* joules per raw unit of a domain: cpu ns x W per core, or energy units */
double ana_domain_scale(const struct ana_domain *d)
{
    if (strcmp(d->kind, "cpu") == 0)
        return 1e-9 * d->watts_per_core;
    if (strcmp(d->unit, "mJ") == 0)
        return 1e-3;
    if (strcmp(d->unit, "J") == 0)
        return 1;
    if (strcmp(d->unit, "nJ") == 0)
        return 1e-9;
    return 1e-6;                        /* uJ, the RAPL unit */
}

/* one cumulative energy series */
struct series {
    const struct ana_domain *d;
    int proc;                     /* -1: the machine's (the run's), else a process index */
    size_t n, cap;
    uint64_t *t, *v;              /* owned copies (merged) */
    int nsrc;                     /* domains merged into it */
    double *j;                    /* cumulative J */
    size_t cur;                   /* interpolation cursor (times only grow in the sweep) */
    double eprev;
    /* the sweep's copy of what interp_fwd reads per step: the first and
     * last times, the cursor's segment (same values, same arithmetic) */
    double ft, lt, st0, st1, sj0, sj1;
};

struct energy {
    struct series *s; int ns;
    int measured;
    double cs, ce;                /* the curve's own span */
};

static int is_measured(const struct ana_domain *d)
{
    return d->n >= 2 && d->sum && strcmp(d->kind, "energy") == 0 && strcmp(d->provenance, "modelled") != 0;
}
static int is_modelled(const struct ana_domain *d)
{
    return d->n >= 2 && strcmp(d->kind, "cpu") == 0 && d->watts_per_core > 0;
}

static void series_add(struct series *s, const struct ana_domain *d)
{
    if (s->n + d->n > s->cap) {
        s->cap = s->n + d->n;
        s->t = ana_xrealloc(s->t, s->cap, sizeof *s->t);
        s->v = ana_xrealloc(s->v, s->cap, sizeof *s->v);
    }
    /* merge two sorted runs (stable: earlier processes first on ties) */
    size_t a = s->n, b = d->n, o = a + b;
    while (b > 0) {
        if (a > 0 && s->t[a - 1] > d->t[b - 1]) {
            o--; a--;
            s->t[o] = s->t[a]; s->v[o] = s->v[a];
        } else {
            o--; b--;
            s->t[o] = d->t[b]; s->v[o] = d->v[b];
        }
    }
    s->n += d->n;
    s->nsrc++;
}

/* A counter with a small range can wrap more than once between two points
 * when the sampler thread runs late (a loaded machine): where an interval is
 * long enough to hide a wrap at the power around it, add the whole wraps
 * that bring its power nearest to that of the intervals on either side. */
static void series_missed_wraps(struct series *s)
{
    const struct ana_domain *d = s->d;
    if (!d->max_range || s->n < 4 || strcmp(d->kind, "energy") != 0)
        return;
    double range = (double)d->max_range * ana_domain_scale(d), add = 0;
    double *p = ana_xmalloc(s->n, sizeof *p);
    for (size_t i = 0; i + 1 < s->n; i++)
        p[i] = s->t[i + 1] > s->t[i] ? (s->j[i + 1] - s->j[i]) / (double)(s->t[i + 1] - s->t[i]) : 0;
    double *j = ana_xmalloc(s->n, sizeof *j);
    j[0] = s->j[0];
    for (size_t i = 0; i + 1 < s->n; i++) {
        double dt = (double)(s->t[i + 1] - s->t[i]), e = s->j[i + 1] - s->j[i];
        /* the power around it: the neighbours' (ns: J per ns) */
        double ref = 0; int nref = 0;
        if (i > 0) { ref += p[i - 1]; nref++; }
        if (i + 2 < s->n) { ref += p[i + 1]; nref++; }
        int k = 0;
        if (nref && dt > 0) {
            ref /= nref;
            if (ref * dt > range / 2) {         /* a wrap may hide in it */
                double best = fabs(e / dt - ref);
                for (int q = 1; q <= 4; q++) {
                    double diff = fabs((e + q * range) / dt - ref);
                    if (diff < best) { best = diff; k = q; }
                }
            }
        }
        add += k * range;
        j[i + 1] = s->j[i + 1] + add;
    }
    memcpy(s->j, j, s->n * sizeof *j);
    free(j);
    free(p);
}

static void series_joules(struct series *s)
{
    const struct ana_domain *d = s->d;
    double scale = ana_domain_scale(d), acc = 0;
    s->j = ana_xmalloc(s->n ? s->n : 1, sizeof *s->j);
    s->j[0] = 0;
    for (size_t i = 1; i < s->n; i++) {
        uint64_t a = s->v[i - 1], b = s->v[i], delta;
        if (b >= a)
            delta = b - a;
        else if (s->nsrc > 1)
            /* readings of one counter by several processes: a step back is
             * the jitter of two reads, unless it is a wrap */
            delta = d->max_range && a - b > d->max_range / 2 && a <= d->max_range ? d->max_range - a + b : 0;
        else if (d->max_range && a <= d->max_range)
            delta = d->max_range - a + b;  /* the counter wrapped */
        else
            delta = b;                      /* reset: count from zero */
        acc += (double)delta * scale;
        s->j[i] = acc;
    }
    series_missed_wraps(s);
}

/* ---- power steps where the program's activity changes ----
 * Linear interpolation across a sample interval that straddles a region
 * boundary spreads the step in power over the whole interval: on average a
 * region loses P_step x dt / 6 at each boundary.  So where an interval
 * holds exactly one region push or pop (any thread, any process of the
 * run), the curve gets a knot there: power before it is the previous
 * quiet intervals' (1 ms at least), after it the next ones', scaled so that the interval's
 * measured energy stays exact.  With constant power on each side this is
 * exact at any sampling rate; intervals with several boundaries stay
 * linear.  Memory: two values per sample interval. */
static size_t raw_slots(const struct ana_proc *p, const uint8_t *rec, size_t left)
{
    size_t ns = 1;
    if (rec[0] == GS_REC_STRING) {
        size_t len = (size_t)rec[2] | (size_t)rec[3] << 8;
        ns += len > GS_STRING_HEAD_TEXT ? (len - GS_STRING_HEAD_TEXT + GS_REC_SIZE - 1) / GS_REC_SIZE : 0;
    } else if (rec[0] >= 16 && (p->hdr.version >= 2 || rec[0] == GS_REC_DNNL) && rec[1]) {
        ns = rec[1];
    }
    return ns <= left ? ns : 0;
}

static void series_knots(const struct ana_run *run, struct series *s)
{
    if (s->n < 4)
        return;
    size_t ni = s->n - 1;
    uint8_t *cnt = calloc(ni, 1);
    double *ct = ana_xmalloc(ni, sizeof *ct);
    if (!cnt)
        exit(3);
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        for (size_t ti = 0; ti < p->nthreads; ti++) {
            const struct ana_thread *th = &p->threads[ti];
            if (!th->nrev)
                continue;
            for (size_t ci = 0; ci < th->nch; ci++) {
                const struct ana_chunk *ch = &p->chunks[th->ch0 + ci];
                const uint8_t *b = p->map + ch->off;
                for (size_t off = GS_REC_SIZE; off + GS_REC_SIZE <= ch->len;) {
                    const uint8_t *rec = b + off;
                    size_t ns = raw_slots(p, rec, (ch->len - off) / GS_REC_SIZE);
                    if (!ns || rec[0] == GS_REC_NONE)
                        break;
                    off += ns * GS_REC_SIZE;
                    if (rec[0] != GS_REC_REGION_PUSH && rec[0] != GS_REC_REGION_POP)
                        continue;
                    uint64_t raw;
                    memcpy(&raw, rec + 8, 8);
                    double t = (double)ana_ns(p, raw);
                    if (t <= (double)s->t[0] || t >= (double)s->t[ni])
                        continue;
                    size_t lo = 0, hi = ni;
                    while (hi - lo > 1) {
                        size_t mid = (lo + hi) / 2;
                        if ((double)s->t[mid] <= t) lo = mid; else hi = mid;
                    }
                    if (cnt[lo] < 255)
                        cnt[lo]++;
                    ct[lo] = t;
                }
            }
        }
    }
    size_t nk = 0;
    for (size_t i = 0; i < ni; i++)
        nk += cnt[i] == 1;
    if (!nk) {
        free(cnt); free(ct);
        return;
    }
    uint64_t *t2 = ana_xmalloc(s->n + nk, sizeof *t2), *v2 = ana_xmalloc(s->n + nk, sizeof *v2);
    double *j2 = ana_xmalloc(s->n + nk, sizeof *j2);
    size_t o = 0;
    for (size_t i = 0; i < s->n; i++) {
        t2[o] = s->t[i]; v2[o] = s->v[i]; j2[o++] = s->j[i];
        if (i >= ni || cnt[i] != 1)
            continue;
        /* the power on each side: over at least 1 ms (or 64 intervals) of
         * intervals without a boundary, so that a counter that updates in
         * steps, or a burst of reads, does not make it up */
        double pb = -1, pa = -1, ej = 0, et = 0;
        for (size_t k = i, q = 0; k-- > 0 && q < 64 && !cnt[k] && et < 1e6; q++) {
            ej += s->j[k + 1] - s->j[k];
            et += (double)(s->t[k + 1] - s->t[k]);
        }
        if (et >= 1e6)
            pb = ej / et;
        ej = et = 0;
        for (size_t k = i + 1, q = 0; k < ni && q < 64 && !cnt[k] && et < 1e6; k++, q++) {
            ej += s->j[k + 1] - s->j[k];
            et += (double)(s->t[k + 1] - s->t[k]);
        }
        if (et >= 1e6)
            pa = ej / et;
        double c = ct[i], t0 = (double)s->t[i], t1 = (double)s->t[i + 1];
        double a = pb * (c - t0), b = pa * (t1 - c), e = s->j[i + 1] - s->j[i];
        if (pb < 0 || pa < 0 || !(a + b > 0) || !(c > t0 && c < t1) || e < 0)
            continue;
        t2[o] = (uint64_t)c; v2[o] = s->v[i]; j2[o++] = s->j[i] + e * a / (a + b);
    }
    free(s->t); free(s->v); free(s->j);
    s->t = t2; s->v = v2; s->j = j2;
    s->n = s->cap = o;
    free(cnt); free(ct);
}

static double interp_at(const struct series *s, size_t lo, double t)
{
    double t0 = (double)s->t[lo], t1 = (double)s->t[lo + 1];
    return t1 > t0 ? s->j[lo] + (s->j[lo + 1] - s->j[lo]) * (t - t0) / (t1 - t0) : s->j[lo + 1];
}

/* E(t) by binary search (any t) */
static double interp(const struct series *s, double t)
{
    if (s->n == 0)
        return 0;
    if (t <= (double)s->t[0])
        return s->j[0];
    if (t >= (double)s->t[s->n - 1])
        return s->j[s->n - 1];
    size_t lo = 0, hi = s->n - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((double)s->t[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return interp_at(s, lo, t);
}

/* the cursor's segment into the series' copy */
static void seg_load(struct series *s)
{
    s->ft = (double)s->t[0];
    s->lt = (double)s->t[s->n - 1];
    if (s->n >= 2) {
        s->st0 = (double)s->t[s->cur]; s->st1 = (double)s->t[s->cur + 1];
        s->sj0 = s->j[s->cur]; s->sj1 = s->j[s->cur + 1];
    }
}

/* E(t) with the cursor, for t that never decreases (interp_at's values) */
static double interp_fwd(struct series *s, double t)
{
    if (t <= s->ft)
        return s->j[0];
    if (t >= s->lt)
        return s->j[s->n - 1];
    if (t >= s->st1 && s->cur + 2 < s->n) {
        do
            s->cur++;
        while (s->cur + 2 < s->n && (double)s->t[s->cur + 1] <= t);
        seg_load(s);
    }
    return s->st1 > s->st0 ? s->sj0 + (s->sj1 - s->sj0) * (t - s->st0) / (s->st1 - s->st0) : s->sj1;
}

static double curve_at(const struct energy *e, double t)
{
    double v = 0;
    for (int i = 0; i < e->ns; i++)
        v += interp(&e->s[i], t);
    return v;
}

static void energy_free(void *x)
{
    struct energy *e = x;
    for (int i = 0; i < e->ns; i++) {
        free(e->s[i].t); free(e->s[i].v); free(e->s[i].j);
    }
    free(e->s);
    free(e);
}

/* the run's curve; per-process provenance; total, domain totals */
int ana_energy_setup(struct ana_report *r)
{
    struct ana_run *run = r->run;
    struct energy *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    for (size_t pi = 0; pi < run->nprocs; pi++)
        for (int i = 0; i < run->procs[pi]->ndom; i++)
            if (is_measured(&run->procs[pi]->dom[i]))
                e->measured = 1;
    int cap = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        p->provenance = "none";
        p->source = NULL;
        for (int i = 0; i < p->ndom; i++) {
            const struct ana_domain *d = &p->dom[i];
            if (e->measured ? !is_measured(d) : !is_modelled(d))
                continue;
            p->measured_own = e->measured;
            int machine = e->measured && strcmp(d->scope, "process") != 0;
            int k = -1;
            if (machine)
                for (int j = 0; j < e->ns && k < 0; j++)
                    if (e->s[j].proc < 0 && strcmp(e->s[j].d->key, d->key) == 0)
                        k = j;
            if (k < 0) {
                if (e->ns == cap) {
                    cap = cap ? cap * 2 : 8;
                    e->s = ana_xrealloc(e->s, (size_t)cap, sizeof *e->s);
                }
                k = e->ns++;
                memset(&e->s[k], 0, sizeof e->s[k]);
                e->s[k].d = d;
                e->s[k].proc = machine ? -1 : (int)pi;
            }
            series_add(&e->s[k], d);
        }
    }
    for (int i = 0; i < e->ns; i++) {
        series_joules(&e->s[i]);
        if (e->measured && !getenv("GS_DEBUG_NOKNOTS"))
            series_knots(run, &e->s[i]);
    }
    const char *prov = e->ns ? (e->measured ? "measured" : "modelled") : "none";
    const char *src = e->ns ? (e->s[0].d->source[0] ? e->s[0].d->source : e->measured ? "rapl" : "model") : NULL;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        int has = e->measured;          /* machine energy is every process's to share */
        for (int i = 0; i < e->ns && !has; i++)
            has = e->s[i].proc == (int)pi;
        if (has) {
            p->provenance = prov;
            p->source = src;
        }
    }
    r->provenance = prov;
    r->source = src;
    e->cs = 1e300; e->ce = 0;
    for (int i = 0; i < e->ns; i++) {
        if ((double)e->s[i].t[0] < e->cs) e->cs = (double)e->s[i].t[0];
        if ((double)e->s[i].t[e->s[i].n - 1] > e->ce) e->ce = (double)e->s[i].t[e->s[i].n - 1];
    }
    r->total_j = e->ns ? curve_at(e, e->ce) - curve_at(e, e->cs) : 0;
    ana_report_ext_set(r, "attribute.energy", e, energy_free);
    return 0;
}

/* ---- the sweep ---- */
#define MAXPEND 64
#define RSTACK 256
#define TSTACK 256

struct acall {
    struct ana_call c;
    double w;
    uint64_t pos;
    int on;                       /* in use */
    uint32_t slot;                /* index in its process's active list */
};

struct cursor {
    struct ana_proc *p;
    uint32_t pi, ti;
    const struct ana_thread *th;
    size_t ci, off;               /* next record: chunk index, offset in it */
    const uint8_t *rec;           /* the next CALL or REGION record, NULL at the end */
    uint64_t rt;                  /* its time (ns) */
    int rkind;                    /* -1 region, 1 call start */
    struct acall pend[MAXPEND]; int npend;
    uint64_t callpos, revpos;
    uint32_t stk[RSTACK]; int depth;    /* innermost region, for gaps */
    struct { uint32_t id; uint64_t t, pos; } *ts; size_t nts, capts;   /* region times */
    int heap_i;
    uint64_t kt; int kk, kw;      /* its next event (cur_key): time, kind, pend index */
};

struct pstate {                   /* per process */
    struct acall **act; size_t nact, capact;
    double wsum;
    struct cursor **cur; size_t ncur;   /* its cursors, in thread order */
    size_t nopen;                 /* threads with an open region */
    uint32_t *oh; size_t noh, capoh;    /* min-heap of thread indices that opened one (lazy: closed ones
                                         * leave when they reach the top) */
};

struct sweep {
    struct ana_report *r;
    struct energy *e;
    void *layers;                 /* the layer plan (layers.c) */
    struct cursor *cur; size_t ncur;
    struct cursor **heap; size_t nheap;
    struct pstate *ps; size_t nps;
    size_t nact_total; double wsum_total;
    size_t nopen_procs;           /* processes with a thread in a region */
    struct pstate ph;             /* its oh heap: process indices that opened one (lazy, like threads) */
    double prev;
    double outside_j, outside_s, calls_j, unattributed_s;
    struct ana_event ev_call;     /* reused for every ANA_EV_CALL (kind set once, the rest zero) */
    /* gap energy and time per (proc, region id) */
    struct ana_map gap_idx; struct { uint32_t proc, id; double j, s; } *gap; size_t ngap, capgap;
};

static double call_weight(const struct ana_proc *p, const struct ana_call *c)
{
    if (c->has_ctr && p->task_clock_idx >= 0 && c->t1 > c->t0) {
        double w = (double)c->ctr[p->task_clock_idx] / (double)(c->t1 - c->t0);
        return w < 0.01 ? 0.01 : w;
    }
    return 1;
}

/* the cursor's next event: (t, kind); kind 0: the end of pend[*which],
 * the first of the earliest */
static inline void cur_next_at(const struct cursor *c, uint64_t *t, int *kind, int *which)
{
    *t = UINT64_MAX;
    *kind = 2;
    for (int i = 0; i < c->npend; i++)
        if (c->pend[i].on && (c->pend[i].c.t1 < *t || (c->pend[i].c.t1 == *t && 0 < *kind))) {
            *t = c->pend[i].c.t1;
            *kind = 0;
            *which = i;
        }
    if (c->rec && (c->rt < *t || (c->rt == *t && c->rkind < *kind))) {
        *t = c->rt;
        *kind = c->rkind;
    }
}

static inline void cur_key(struct cursor *c)
{
    c->kw = 0;
    cur_next_at(c, &c->kt, &c->kk, &c->kw);
}

/* by the cursors' next events (cur_key, kept up to date by the sweep) */
static inline int cur_less(const struct cursor *a, const struct cursor *b)
{
    if (a->kt != b->kt)
        return a->kt < b->kt;
    if (a->kk != b->kk)
        return a->kk < b->kk;
    if (a->pi != b->pi)
        return a->pi < b->pi;
    return a->ti < b->ti;
}

/* sift h[i] down: the only change the sweep makes is to the top's key,
 * which only grows, and the first build is bottom-up (sifting up there
 * would move a larger key into a subtree already built and leave it) */
static inline __attribute__((always_inline)) void heap_fix(struct sweep *w, size_t i)
{
    struct cursor **h = w->heap;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < w->nheap && cur_less(h[l], h[m])) m = l;
        if (l + 1 < w->nheap && cur_less(h[l + 1], h[m])) m = l + 1;
        if (m == i) break;
        struct cursor *x = h[i]; h[i] = h[m]; h[m] = x;
        i = m;
    }
}

/* A cursor entered a new window of the file: the windows every thread of
 * its process has passed go (the kernel maps pages around each fault from
 * the other threads' chunks too, and a chunk released by its thread came
 * back that way: interleaved threads kept the whole file mapped).  Up to
 * 64 threads a process (the scan is per window and thread). */
static void release_passed(struct sweep *w, const struct cursor *c)
{
    const struct ana_proc *p = c->p;
    if (p->nthreads > 64)
        return;
    size_t lo = SIZE_MAX;
    for (size_t i = 0; i < w->ncur; i++) {
        const struct cursor *o = &w->cur[i];
        if (o->p != p || o->ci >= o->th->nch)
            continue;
        size_t off = p->chunks[o->th->ch0 + o->ci].off;
        if (off < lo)
            lo = off;
    }
    if (lo == SIZE_MAX)
        return;
    lo &= ~(size_t)(ANA_RELEASE_WINDOW - 1);
    if (lo > p->released)
        ana_release(p, p->released, lo - p->released);
    ((struct ana_proc *)p)->released = lo > p->released ? lo : p->released;
}

/* advance to the next CALL or REGION record of the thread; raw records of
 * unknown kinds go out as they pass */
static inline __attribute__((always_inline)) void cur_fetch(struct sweep *w, struct cursor *c)
{
    const struct ana_proc *p = c->p;
    c->rec = NULL;
    for (; c->ci < c->th->nch; c->ci++, c->off = 0) {
        const struct ana_chunk *ch = &p->chunks[c->th->ch0 + c->ci];
        if (c->off == 0 && c->ci) {     /* done with the chunk before */
            ana_release_chunk(p, c->th->ch0 + c->ci - 1);
            if (p->chunks[c->th->ch0 + c->ci - 1].off / ANA_RELEASE_WINDOW != ch->off / ANA_RELEASE_WINDOW) {
                /* the windows it left (with what other threads left there:
                 * a thread behind faults its pages back, once) */
                ana_release_behind(p, p->chunks[c->th->ch0 + c->ci - 1].off, ch->off);
                release_passed(w, c);
            }
        }
        const uint8_t *b = p->map + ch->off;
        if (c->off < GS_REC_SIZE)
            c->off = GS_REC_SIZE;
        while (c->off + GS_REC_SIZE <= ch->len) {
            const uint8_t *rec = b + c->off;
            uint8_t type = rec[0];
            size_t ns = 1;
            if (type == GS_REC_STRING) {
                size_t len = (size_t)rec[2] | (size_t)rec[3] << 8;
                ns += len > GS_STRING_HEAD_TEXT ? (len - GS_STRING_HEAD_TEXT + GS_REC_SIZE - 1) / GS_REC_SIZE : 0;
            } else if (type >= 16 && (p->hdr.version >= 2 || type == GS_REC_DNNL) && rec[1]) {
                ns = rec[1];
            }
            c->off += ns * GS_REC_SIZE;
            if (ana_rec_is_call(rec)) {
                uint64_t t0;
                memcpy(&t0, rec + 8, 8);
                c->rec = rec;
                c->rt = ana_ns(p, t0);
                c->rkind = 1;
                return;
            }
            if (type == GS_REC_REGION_PUSH || type == GS_REC_REGION_POP) {
                uint64_t t;
                memcpy(&t, rec + 8, 8);
                c->rec = rec;
                c->rt = ana_ns(p, t);
                c->rkind = -1;
                return;
            }
            if (type >= 16) {
                struct ana_event ev = { .kind = ANA_EV_RECORD, .proc = p, .thread = c->ti,
                                        .t0 = (uint64_t)w->prev, .t1 = (uint64_t)w->prev,
                                        .rec = rec, .nslots = (unsigned)ns };
                ana_emit(w->r, &ev);
            }
        }
    }
}

static void oh_push(struct pstate *ps, uint32_t ti)
{
    if (ps->noh == ps->capoh) {
        ps->capoh = ps->capoh ? ps->capoh * 2 : 16;
        ps->oh = ana_xrealloc(ps->oh, ps->capoh, sizeof *ps->oh);
    }
    size_t i = ps->noh++;
    ps->oh[i] = ti;
    while (i > 0 && ps->oh[(i - 1) / 2] > ps->oh[i]) {
        uint32_t x = ps->oh[i]; ps->oh[i] = ps->oh[(i - 1) / 2]; ps->oh[(i - 1) / 2] = x;
        i = (i - 1) / 2;
    }
}

static void oh_pop(struct pstate *ps)
{
    ps->oh[0] = ps->oh[--ps->noh];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < ps->noh && ps->oh[l] < ps->oh[m]) m = l;
        if (l + 1 < ps->noh && ps->oh[l + 1] < ps->oh[m]) m = l + 1;
        if (m == i) break;
        uint32_t x = ps->oh[i]; ps->oh[i] = ps->oh[m]; ps->oh[m] = x;
        i = m;
    }
}

/* the thread (of process pi, or of any process when pi < 0) whose innermost
 * region is open at t: the first in (process, thread) order; O(log threads) */
static int region_at(struct sweep *w, int pi, double t, uint32_t *proc, uint32_t *id)
{
    if (!w->nopen_procs)
        return 0;
    for (;;) {
        size_t q;
        if (pi >= 0) {
            q = (size_t)pi;
        } else {
            /* the first process with an open region that has not ended
             * (times only grow: one that ended leaves for good) */
            while (w->ph.noh && (!w->ps[w->ph.oh[0]].nopen ||
                                 t >= (double)w->r->run->procs[w->ph.oh[0]]->t_end))
                oh_pop(&w->ph);
            if (!w->ph.noh)
                return 0;
            q = w->ph.oh[0];
        }
        struct pstate *ps = &w->ps[q];
        if (!ps->nopen || t >= (double)w->r->run->procs[q]->t_end)
            return 0;
        while (ps->noh && !ps->cur[ps->oh[0]]->depth)
            oh_pop(ps);                 /* closed since it opened */
        if (ps->noh) {
            const struct cursor *c = ps->cur[ps->oh[0]];
            *proc = (uint32_t)q;
            *id = c->stk[c->depth - 1];
            return *id != 0;
        }
        return 0;
    }
}

static size_t gap_slot(struct sweep *w, uint32_t proc, uint32_t id)
{
    uint64_t key = (uint64_t)proc << 32 | id;
    uint32_t g = ana_map_get(&w->gap_idx, key, UINT32_MAX);
    if (g != UINT32_MAX)
        return g;
    if (w->ngap == w->capgap) {
        w->capgap = w->capgap ? w->capgap * 2 : 64;
        w->gap = ana_xrealloc(w->gap, w->capgap, sizeof *w->gap);
    }
    w->gap[w->ngap].proc = proc; w->gap[w->ngap].id = id;
    w->gap[w->ngap].j = 0; w->gap[w->ngap].s = 0;
    ana_map_put(&w->gap_idx, key, (uint32_t)w->ngap);
    return w->ngap++;
}

/* share [prev, t) */
static inline __attribute__((always_inline)) void advance(struct sweep *w, double t)
{
    if (!(t > w->prev))                 /* (t never goes back) */
        return;
    double dt = (t - w->prev) * 1e-9, mid = (w->prev + t) / 2;
    uint32_t gp = 0, gid = 0;
    int gap_run = 0;
    if (w->nact_total == 0) {
        gap_run = w->nopen_procs && region_at(w, -1, mid, &gp, &gid);
        if (gap_run) {
            size_t g = gap_slot(w, gp, gid);
            w->gap[g].s += dt;
        }
        else
            w->unattributed_s += dt;
        w->outside_s += dt;
    } else {
        w->r->gap_calls_s += dt;
        /* the wall time, shared among the calls active in it (tables add up to the wall) */
        if (w->nact_total == 1 && w->nps == 1) {
            w->ps[0].act[0]->c.wall_s += dt;
        } else {
            double each = dt / (double)w->nact_total;
            for (size_t q = 0; q < w->nps; q++)
                for (size_t a = 0; a < w->ps[q].nact; a++)
                    w->ps[q].act[a]->c.wall_s += each;
        }
    }
    for (int si = 0; si < w->e->ns; si++) {   /* (no series: s may be NULL) */
        struct series *s = &w->e->s[si];
        double e = interp_fwd(s, t), de = e - s->eprev;
        s->eprev = e;
        size_t nact;
        double wsum;
        if (s->proc >= 0) {
            const struct pstate *ps = &w->ps[s->proc];
            nact = ps->nact;
            wsum = ps->wsum;
            if (nact == 1 && wsum == 1) {
                /* one call of weight 1 (no counters): de * 1 / 1 == de exactly */
                ps->act[0]->c.energy_j += de;
                w->calls_j += de;
                continue;
            }
        } else {
            nact = w->nact_total;
            wsum = w->wsum_total;
        }
        if (nact == 0) {
            uint32_t p2 = gp, id2 = gid;
            int in = s->proc < 0 ? gap_run : w->nopen_procs && region_at(w, s->proc, mid, &p2, &id2);
            if (in) {
                size_t g = gap_slot(w, p2, id2);
                w->gap[g].j += de;
            }
            else
                w->outside_j += de;
            continue;
        }
        size_t q0 = s->proc < 0 ? 0 : (size_t)s->proc, q1 = s->proc < 0 ? w->nps : (size_t)s->proc + 1;
        if (nact == 1 && wsum == 1) {
            for (size_t q = q0; q < q1; q++)
                if (w->ps[q].nact) {
                    w->ps[q].act[0]->c.energy_j += de;
                    w->calls_j += de;
                    break;
                }
            continue;
        }
        for (size_t q = q0; q < q1; q++) {
            struct pstate *ps = &w->ps[q];
            for (size_t a = 0; a < ps->nact; a++) {
                double share = de * ps->act[a]->w / wsum;
                ps->act[a]->c.energy_j += share;
                w->calls_j += share;
            }
        }
    }
    w->prev = t;
}

static void call_start(struct sweep *w, struct cursor *c)
{
    struct ana_proc *p = c->p;
    struct pstate *ps = &w->ps[c->pi];
    const struct ana_chunk *ch = &p->chunks[c->th->ch0 + (c->ci < c->th->nch ? c->ci : c->th->nch - 1)];
    int k;
    for (k = 0; k < MAXPEND && c->pend[k].on; k++)
        ;
    struct acall tmp, *a = k < MAXPEND ? &c->pend[k] : &tmp;
    ana_decode_call(p, c->rec, c->rec + GS_REC_SIZE, p->map + ch->off + ch->len, &a->c);
    a->c.t0 = c->rec[0] == GS_REC_CALL ? c->rt : ana_ns(p, a->c.t0);     /* (cur_fetch's ana_ns of it) */
    a->c.t1 = ana_ns(p, a->c.t1);
    a->c.thread = c->ti;
    a->pos = c->callpos++;
    struct ana_first at = { c->pi, 0, c->ti, a->pos };
    a->c.layer = ana_layers_assign_in(w->r, w->layers, p, c->ti, &a->c, &at);
    if (a == &tmp) {                    /* too many overlapping calls on one thread: no energy */
        struct ana_event ev = { .kind = ANA_EV_CALL, .proc = p, .thread = c->ti, .t0 = a->c.t0,
                                .t1 = a->c.t1, .call = &a->c, .pos = a->pos, .flops = ana_flops(&a->c) };
        ana_emit(w->r, &ev);
        return;
    }
    a->on = 1;
    if (k >= c->npend)
        c->npend = k + 1;
    a->w = call_weight(p, &a->c);
    if (ps->nact == ps->capact) {
        ps->capact = ps->capact ? ps->capact * 2 : 8;
        ps->act = ana_xrealloc(ps->act, ps->capact, sizeof *ps->act);
    }
    a->slot = (uint32_t)ps->nact;
    ps->act[ps->nact++] = a;
    ps->wsum += a->w;
    w->nact_total++;
    w->wsum_total += a->w;
}

static void call_end(struct sweep *w, struct cursor *c, struct acall *a)
{
    struct pstate *ps = &w->ps[c->pi];
    size_t s = a->slot;
    ps->act[s] = ps->act[--ps->nact];
    ps->act[s]->slot = (uint32_t)s;
    ps->wsum -= a->w;
    w->wsum_total -= a->w;
    w->nact_total--;
    if (ps->nact == 0)
        ps->wsum = 0;                   /* no drift from float sums */
    if (w->nact_total == 0)
        w->wsum_total = 0;
    /* the event: only the call's fields change (no zeroing of the whole
     * struct per call: a measurable share of the sweep) */
    struct ana_event *ev = &w->ev_call;
    ev->proc = c->p; ev->thread = c->ti; ev->t0 = a->c.t0; ev->t1 = a->c.t1;
    ev->call = &a->c; ev->pos = a->pos; ev->flops = ana_flops(&a->c);
    ana_emit(w->r, ev);
    a->on = 0;
    while (c->npend && !c->pend[c->npend - 1].on)
        c->npend--;
}

static void region_time(struct sweep *w, struct cursor *c, uint32_t id, uint64_t t0, uint64_t t1, uint32_t phase,
                        uint64_t pos)
{
    struct ana_first at = { c->pi, phase, c->ti, pos };
    int k = ana_region_row(w->r, c->p, id, &at);
    w->r->regions[k].time_s += t1 > t0 ? (double)(t1 - t0) * 1e-9 : 0;
}

static void region_event(struct sweep *w, struct cursor *c)
{
    struct gs_rec_region g;
    memcpy(&g, c->rec, sizeof g);
    int push = g.type == GS_REC_REGION_PUSH;
    uint64_t t = c->rt, pos = c->revpos++;
    struct pstate *ps = &w->ps[c->pi];
    /* innermost region, for the gaps (depth beyond RSTACK is not followed) */
    int was = c->depth > 0;
    if (push) {
        if (c->depth < RSTACK)
            c->stk[c->depth++] = g.id;
    } else if (c->depth) {
        c->depth--;
    }
    if (!was && c->depth) {
        if (!ps->nopen++) {
            w->nopen_procs++;
            oh_push(&w->ph, c->pi);
        }
        oh_push(ps, c->ti);
    }
    if (was && !c->depth) {
        if (!--ps->nopen)
            w->nopen_procs--;
    }
    /* inclusive time: a pop closes the innermost open push of its id */
    if (push) {
        if (c->nts < TSTACK) {
            if (c->nts == c->capts) {
                c->capts = c->capts ? c->capts * 2 : 16;
                c->ts = ana_xrealloc(c->ts, c->capts, sizeof *c->ts);
            }
            c->ts[c->nts].id = g.id; c->ts[c->nts].t = t; c->ts[c->nts++].pos = pos;
        }
    } else {
        for (size_t j = c->nts; j-- > 0;)
            if (c->ts[j].id == g.id) {
                region_time(w, c, g.id, c->ts[j].t, t, 1, pos);
                memmove(&c->ts[j], &c->ts[j + 1], (c->nts - j - 1) * sizeof *c->ts);
                c->nts--;
                break;
            }
    }
    struct ana_event ev = { .kind = ANA_EV_REGION, .proc = c->p, .thread = c->ti, .t0 = t, .t1 = t,
                            .region = g.id, .push = push, .name = ana_string(c->p, g.id) };
    ev.layer = -1;
    if (push) {                         /* a leaf region's slices carry its layer row */
        struct ana_first at = { c->pi, 0, c->ti, c->callpos };   /* as the next call on the thread */
        ev.layer = ana_layers_leaf_row(w->r, c->p, g.id, &at);
    }
    ana_emit(w->r, &ev);
}

static int cmp64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

void ana_sweep(struct ana_report *r)
{
    struct ana_run *run = r->run;
    struct sweep w = { .r = r, .e = ana_report_ext(r, "attribute.energy"), .layers = ana_report_ext(r, "layers") };
    w.ev_call.kind = ANA_EV_CALL;
    struct energy none = { 0 };
    if (!w.e)
        w.e = &none;
    uint64_t t_lo = UINT64_MAX, t_hi = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        if (run->procs[pi]->t_start < t_lo) t_lo = run->procs[pi]->t_start;
        if (run->procs[pi]->t_end > t_hi) t_hi = run->procs[pi]->t_end;
        w.ncur += run->procs[pi]->nthreads;
    }
    if (!run->nprocs)
        t_lo = t_hi = 0;
    w.cur = calloc(w.ncur + 1, sizeof *w.cur);
    w.heap = calloc(w.ncur + 1, sizeof *w.heap);
    w.ps = calloc(run->nprocs + 1, sizeof *w.ps);
    if (!w.cur || !w.heap || !w.ps) {
        fputs("greenshim-analyze: out of memory\n", stderr);
        exit(3);
    }
    w.nps = run->nprocs;
    size_t k = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        w.ps[pi].cur = ana_xmalloc(p->nthreads + 1, sizeof *w.ps[pi].cur);
        for (size_t ti = 0; ti < p->nthreads; ti++, k++) {
            struct cursor *c = &w.cur[k];
            c->p = p; c->pi = (uint32_t)pi; c->ti = (uint32_t)ti; c->th = &p->threads[ti];
            w.ps[pi].cur[w.ps[pi].ncur++] = c;
        }
    }
    /* the process events and samples first */
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        struct ana_event ev = { .kind = ANA_EV_PROC, .proc = p, .t0 = p->t_start, .t1 = p->t_end };
        ana_emit(r, &ev);
        for (int d = 0; d < p->ndom; d++)
            for (size_t i = 0; i < p->dom[d].n; i++) {
                ev = (struct ana_event){ .kind = ANA_EV_SAMPLE, .proc = p, .t0 = p->dom[d].t[i],
                                         .t1 = p->dom[d].t[i], .domain = d, .value = p->dom[d].v[i] };
                ana_emit(r, &ev);
            }
    }
    w.prev = (double)t_lo;
    for (int i = 0; i < w.e->ns; i++) {
        w.e->s[i].eprev = interp(&w.e->s[i], w.prev);
        seg_load(&w.e->s[i]);
    }
    for (size_t i = 0; i < w.ncur; i++) {
        cur_fetch(&w, &w.cur[i]);
        if (w.cur[i].rec) {
            cur_key(&w.cur[i]);
            w.heap[w.nheap++] = &w.cur[i];
        }
    }
    for (size_t i = w.nheap; i-- > 0;)
        heap_fix(&w, i);
    while (w.nheap) {
        struct cursor *c = w.heap[0];
        uint64_t t = c->kt;
        int kind = c->kk, which = c->kw;
        advance(&w, (double)t);
        if (kind == 0) {
            call_end(&w, c, &c->pend[which]);
        } else {
            if (kind == 1)
                call_start(&w, c);
            else
                region_event(&w, c);
            cur_fetch(&w, c);
        }
        if (!c->rec && !c->npend)
            w.heap[0] = w.heap[--w.nheap];
        else
            cur_key(c);
        if (w.nheap > 1)                /* (one cursor: nothing to order) */
            heap_fix(&w, 0);
    }
    advance(&w, (double)t_hi);
    /* regions never popped: open until the end of their process */
    for (size_t i = 0; i < w.ncur; i++) {
        struct cursor *c = &w.cur[i];
        for (size_t j = 0; j < c->nts; j++)
            region_time(&w, c, c->ts[j].id, c->ts[j].t, c->p->t_end, 2, c->ts[j].pos);
        free(c->ts);
    }
    /* the curve may extend beyond the records (last sample after the last
     * call): that energy is outside as well */
    if (w.e->ns) {
        double e_lo = curve_at(w.e, (double)t_lo) - curve_at(w.e, w.e->cs);
        double e_hi = curve_at(w.e, w.e->ce) - curve_at(w.e, (double)t_hi);
        if (e_lo > 0) w.outside_j += e_lo;
        if (e_hi > 0) w.outside_j += e_hi;
    }
    r->outside_j += w.outside_j;        /* (+=: a filter may have moved calls' energy here) */
    r->outside_s = w.outside_s;
    r->calls_j += w.calls_j;
    r->duration_s = run->nprocs && t_hi > t_lo ? (double)(t_hi - t_lo) * 1e-9 : 0;
    /* wall_sum_s (shares of call time): the processes' spans added up;
     * outside time is a share of the run's wall (duration_s) */
    r->wall_sum_s = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++)
        r->wall_sum_s += (double)(run->procs[pi]->t_end - run->procs[pi]->t_start) * 1e-9;
    /* gaps inside regions: to the region rows (energy) and, by name, to the
     * layers when the layers are the regions; in (process, id) order */
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        size_t n = 0;
        for (size_t g = 0; g < w.ngap; g++)
            n += w.gap[g].proc == pi;
        uint32_t *ids = ana_xmalloc(n + 1, sizeof *ids);
        size_t m = 0;
        for (size_t g = 0; g < w.ngap; g++)
            if (w.gap[g].proc == pi)
                ids[m++] = (uint32_t)g;
        /* sort by id */
        for (size_t a = 1; a < m; a++) {
            uint32_t x = ids[a];
            size_t b = a;
            for (; b > 0 && w.gap[ids[b - 1]].id > w.gap[x].id; b--)
                ids[b] = ids[b - 1];
            ids[b] = x;
            if (a > 64)
                break;                  /* many: finish with qsort below */
        }
        if (m > 64) {
            /* ids are unique per process: any sort gives the same order */
            uint64_t *keys = ana_xmalloc(m, sizeof *keys);
            for (size_t a = 0; a < m; a++)
                keys[a] = (uint64_t)w.gap[ids[a]].id << 32 | ids[a];
            qsort(keys, m, sizeof *keys, cmp64);
            for (size_t a = 0; a < m; a++)
                ids[a] = (uint32_t)keys[a];
            free(keys);
        }
        for (size_t a = 0; a < m; a++) {
            const struct ana_proc *p = run->procs[pi];
            double j = w.gap[ids[a]].j, s = w.gap[ids[a]].s;
            uint32_t id = w.gap[ids[a]].id;
            if (run->filter && !ana_filter_region(r, p, id)) {
                /* gaps inside other regions are no longer a region's: outside */
                r->outside_j += j;
                run->filter->dropped_j += j;
                continue;
            }
            r->gap_j += j;
            r->gap_s += s;
            if (j != 0) {
                struct ana_first at = { (uint32_t)pi, 3, id, 0 };
                int g = ana_region_row(r, p, id, &at);
                r->regions[g].energy_j += j;
            }
            if (r->layers_from_regions && (j != 0 || s != 0)) {
                struct ana_first at = { 2, (uint32_t)pi, id, 0 };
                int l = ana_layers_gap_row(r, p, id, &at);
                r->layers[l].energy_j += j;
                r->layers[l].time_s += s;
                r->layers[l].wall_s += s;
                r->gap_layers_s += s;
                r->gap_layers_j += j;
            }
        }
        free(ids);
    }
    r->unattributed_s = w.unattributed_s;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        free(w.ps[pi].act);
        free(w.ps[pi].oh);
        free(w.ps[pi].cur);
    }
    ana_map_free(&w.gap_idx);
    free(w.ph.oh);
    free(w.gap);
    free(w.ps);
    free(w.heap);
    free(w.cur);
}


/* Lowest sustained power of measured energy: the smallest average over any
 * window of at least 100 ms (5 samples when the run is shorter), on the
 * run's curve, with the windows on the first series' samples.  Modelled
 * energy has no idle power (0 W); GREENSHIM_IDLE_WATTS overrides both. */
double ana_idle_watts(struct ana_report *r, const char **how)
{
    for (size_t pi = 0; pi < r->run->nprocs; pi++)
        if (r->run->procs[pi]->idle_watts_hdr >= 0) {
            *how = "GREENSHIM_IDLE_WATTS";
            return r->run->procs[pi]->idle_watts_hdr;
        }
    *how = "lowest sustained power";
    const struct energy *e = ana_report_ext(r, "attribute.energy");
    if (!e || !e->ns) {
        *how = "none (no energy source)";
        return 0;
    }
    if (!e->measured) {
        /* the CPU-time model draws nothing when no CPU time is spent: its
         * lowest window is the program's busiest-but-one stretch, not an
         * idle machine (it made every layer's net ~0 and outside's < 0) */
        *how = "none in the CPU-time model; GREENSHIM_IDLE_WATTS gives one";
        return 0;
    }
    const struct series *d = &e->s[0];
    size_t n = d->n;
    double span = (double)(d->t[n - 1] - d->t[0]);
    double best = -1;
    for (size_t i = 0, j = 0; i < n; i++) {
        if (j < i)
            j = i;
        if (span >= 100e6) {
            while (j < n && (double)(d->t[j] - d->t[i]) < 100e6)
                j++;
        } else {
            j = i + 5 < n ? i + 5 : n - 1;
        }
        if (j >= n || j == i)
            break;
        double t0 = (double)d->t[i], t1 = (double)d->t[j];
        double wv = (curve_at(e, t1) - curve_at(e, t0)) / ((t1 - t0) * 1e-9);
        if (best < 0 || wv < best)
            best = wv;
    }
    return best < 0 ? 0 : best;
}

/* Per domain name: its energy over the run.  Machine domains (the same key
 * in several processes) count once, from their merged samples; process
 * domains add up. */
static const char *key_of_list(void *ctx, uint32_t i) { return ((const char **)*(void **)ctx)[i]; }

void ana_domain_totals(struct ana_report *r)
{
    struct ana_run *run = r->run;
    const char **key = NULL;            /* machine keys done */
    size_t nkeys = 0, capkeys = 0;
    struct ana_names keys = { .name_of = key_of_list, .ctx = &key };
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        for (int d = 0; d < p->ndom; d++) {
            const struct ana_domain *dm = &p->dom[d];
            if ((strcmp(dm->kind, "energy") != 0 && strcmp(dm->kind, "cpu") != 0) || dm->n < 2)
                continue;
            int machine = strcmp(dm->kind, "energy") == 0 && strcmp(dm->scope, "process") != 0;
            if (machine) {              /* done already with an earlier process? */
                if (ana_names_find(&keys, dm->key) >= 0)
                    continue;
                if (nkeys == capkeys) {
                    capkeys = capkeys ? capkeys * 2 : 16;
                    key = ana_xrealloc(key, capkeys, sizeof *key);
                }
                key[nkeys] = dm->key;
                ana_names_add(&keys, dm->key, (uint32_t)nkeys++);
            }
            int k;
            for (k = 0; k < r->ndom; k++)
                if (strcmp(r->dom[k].name, dm->name) == 0)
                    break;
            if (k == r->ndom) {
                if (r->ndom >= ANA_MAX_DOMAINS)
                    continue;
                r->ndom++;
                snprintf(r->dom[k].name, sizeof r->dom[k].name, "%s", dm->name);
                snprintf(r->dom[k].source, sizeof r->dom[k].source, "%s", dm->source);
                snprintf(r->dom[k].provenance, sizeof r->dom[k].provenance, "%s", dm->provenance);
            }
            struct series s = { .d = dm, .proc = -1 };
            series_add(&s, dm);
            if (machine)
                for (size_t q = pi + 1; q < run->nprocs; q++)
                    for (int e = 0; e < run->procs[q]->ndom; e++) {
                        const struct ana_domain *o = &run->procs[q]->dom[e];
                        if (o->n >= 2 && strcmp(o->kind, "energy") == 0 && strcmp(o->scope, "process") != 0 &&
                            strcmp(o->key, dm->key) == 0)
                            series_add(&s, o);
                    }
            series_joules(&s);
            r->dom[k].energy_j += s.j[s.n - 1];
            if (s.t[s.n - 1] > s.t[0])
                r->dom[k].span_s += (double)(s.t[s.n - 1] - s.t[0]) * 1e-9;
            free(s.t); free(s.v); free(s.j);
        }
    }
    ana_names_free(&keys);
    free(key);
}
