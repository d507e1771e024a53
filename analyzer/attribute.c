/* attribute.c - energy to calls.  The cumulative energy curve E(t) of a
 * process is the sum of its measured domains (unwrapped), or the modelled
 * one (CPU time x watts per core) when nothing was measured.  An interval
 * costs E(end) - E(start), linearly interpolated between samples.  A sweep
 * over every call boundary splits the curve into elementary intervals; the
 * calls active in one share its energy in proportion to their CPU time
 * (task-clock when the call has counters, else equally); intervals with no
 * call are "outside".  Calls + outside must equal the total: checked. */
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

/* per-domain cumulative joules, same length as d->t */
static double *dom_joules(const struct ana_domain *d)
{
    double *j = calloc(d->n ? d->n : 1, sizeof *j);
    double acc = 0;
    for (size_t i = 1; i < d->n; i++) {
        uint64_t a = d->v[i - 1], b = d->v[i], delta;
        if (b >= a)
            delta = b - a;
        else if (d->max_range && a <= d->max_range)
            delta = d->max_range - a + b;  /* the counter wrapped */
        else
            delta = b;                      /* reset: count from zero */
        acc += (double)delta * ana_domain_scale(d);
        j[i] = acc;
    }
    return j;
}

struct curve { int nd; const struct ana_domain *d[ANA_MAX_DOMAINS]; double *j[ANA_MAX_DOMAINS]; };
static struct curve *cur_curve;

static double interp(const struct ana_domain *d, const double *j, double t)
{
    if (d->n == 0)
        return 0;
    if (t <= (double)d->t[0])
        return j[0];
    if (t >= (double)d->t[d->n - 1])
        return j[d->n - 1];
    size_t lo = 0, hi = d->n - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((double)d->t[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    double t0 = (double)d->t[lo], t1 = (double)d->t[hi];
    return t1 > t0 ? j[lo] + (j[hi] - j[lo]) * (t - t0) / (t1 - t0) : j[hi];
}

static double curve_at(const struct curve *c, double t)
{
    double e = 0;
    for (int i = 0; i < c->nd; i++)
        e += interp(c->d[i], c->j[i], t);
    return e;
}

double ana_energy_at(const struct ana_proc *p, double t)
{
    (void)p;
    return cur_curve ? curve_at(cur_curve, t) : 0;
}

static void build_curve(struct ana_proc *p, struct curve *c)
{
    memset(c, 0, sizeof *c);
    for (int pass = 0; pass < 2 && c->nd == 0; pass++) {
        for (int i = 0; i < p->ndom; i++) {
            struct ana_domain *d = &p->dom[i];
            if (d->n < 2)
                continue;
            /* measured: energy counters marked sum=1 (package domains; a
             * core domain inside a package is sum=0).  modelled: CPU time */
            int measured = d->sum && strcmp(d->kind, "energy") == 0 && strcmp(d->provenance, "modelled") != 0;
            int modelled = strcmp(d->kind, "cpu") == 0 && d->watts_per_core > 0;
            if ((pass == 0 && measured) || (pass == 1 && modelled && !measured)) {
                c->d[c->nd] = d;
                c->j[c->nd++] = dom_joules(d);
            }
        }
        if (c->nd) {
            p->provenance = pass == 0 ? "measured" : "modelled";
            p->source = c->d[0]->source[0] ? c->d[0]->source : (pass == 0 ? "rapl" : "model");
        }
    }
    if (!c->nd) {
        p->provenance = "none";
        p->source = NULL;
    }
}

static void free_curve(struct curve *c)
{
    for (int i = 0; i < c->nd; i++)
        free(c->j[i]);
}

struct ev { uint64_t t; uint32_t call; int8_t start; };

/* Innermost-region segments of each thread, in time order. */
struct seg { uint64_t t0, t1; uint32_t id, thread; };
static int seg_cmp(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

static struct seg *region_segments(const struct ana_proc *p, size_t *nseg)
{
    struct seg *sg = NULL;
    size_t n = 0, cap = 0;
    for (size_t th = 0; th < p->nthreads; th++) {
        uint32_t stack[256];
        size_t depth = 0;
        uint64_t last = 0;
        for (size_t i = 0; i < p->nrev; i++) {
            const struct ana_region_ev *e = &p->rev[i];
            if (e->thread != th)
                continue;
            if (depth && e->t > last) {
                if (n == cap) { cap = cap ? cap * 2 : 64; sg = realloc(sg, cap * sizeof *sg); }
                sg[n++] = (struct seg){ last, e->t, stack[depth - 1], (uint32_t)th };
            }
            last = e->t;
            if (e->push) {
                if (depth < 256)
                    stack[depth++] = e->id;
            } else if (depth) {
                depth--;
            }
        }
        if (depth && p->t_end > last) {
            if (n == cap) { cap = cap ? cap * 2 : 64; sg = realloc(sg, cap * sizeof *sg); }
            sg[n++] = (struct seg){ last, p->t_end, stack[depth - 1], (uint32_t)th };
        }
    }
    if (n)
        qsort(sg, n, sizeof *sg, seg_cmp);
    *nseg = n;
    return sg;
}

/* The region open at time t on the first thread that has one, or 0. */
static uint32_t region_at(const struct seg *sg, size_t n, double t)
{
    size_t i = 0;
    while (i < n) {
        uint32_t th = sg[i].thread;
        size_t lo = i, hi = i;
        while (hi < n && sg[hi].thread == th)
            hi++;
        size_t a = lo, b = hi;          /* last segment with t0 <= t */
        while (b - a > 1) {
            size_t m = (a + b) / 2;
            if ((double)sg[m].t0 <= t) a = m; else b = m;
        }
        if ((double)sg[a].t0 <= t && t < (double)sg[a].t1)
            return sg[a].id;
        i = hi;
    }
    return 0;
}
static int ev_cmp(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->start - y->start;         /* ends before starts at the same time */
}

static double call_weight(const struct ana_proc *p, const struct ana_call *c)
{
    if (c->has_ctr && p->task_clock_idx >= 0 && c->t1 > c->t0) {
        double w = (double)c->ctr[p->task_clock_idx] / (double)(c->t1 - c->t0);
        return w < 0.01 ? 0.01 : w;
    }
    return 1;
}

void ana_attribute(struct ana_proc *p)
{
    struct curve c;
    build_curve(p, &c);
    cur_curve = &c;
    double cs = p->t_start, ce = p->t_end;
    if (c.nd) {                          /* the curve's own span */
        cs = 1e300; ce = 0;
        for (int i = 0; i < c.nd; i++) {
            if ((double)c.d[i]->t[0] < cs) cs = (double)c.d[i]->t[0];
            if ((double)c.d[i]->t[c.d[i]->n - 1] > ce) ce = (double)c.d[i]->t[c.d[i]->n - 1];
        }
    }
    p->total_j = c.nd ? curve_at(&c, ce) - curve_at(&c, cs) : 0;

    /* boundaries: every call's ends, and every region push/pop (so that a
     * gap between calls is split where the innermost region changes) */
    size_t nev = p->ncalls * 2 + p->nrev;
    struct ev *ev = malloc((nev + 1) * sizeof *ev);
    for (size_t i = 0; i < p->ncalls; i++) {
        p->calls[i].energy_j = 0;
        ev[2 * i] = (struct ev){ p->calls[i].t0, (uint32_t)i, 1 };
        ev[2 * i + 1] = (struct ev){ p->calls[i].t1, (uint32_t)i, 0 };
    }
    for (size_t i = 0; i < p->nrev; i++)
        ev[p->ncalls * 2 + i] = (struct ev){ p->rev[i].t, UINT32_MAX, -1 };
    /* one thread with back-to-back calls is already in order: skip the sort */
    size_t unsorted = 0;
    for (size_t i = 1; i < nev && !unsorted; i++)
        unsorted = ev_cmp(&ev[i - 1], &ev[i]) > 0;
    if (unsorted)
        qsort(ev, nev, sizeof *ev, ev_cmp);

    size_t nseg = 0;
    struct seg *sg = region_segments(p, &nseg);
    uint32_t maxid = 0;
    for (size_t i = 0; i < p->nrev; i++)
        if (p->rev[i].id > maxid)
            maxid = p->rev[i].id;
    free(p->reg_j);
    p->nreg_j = maxid + 1;
    p->reg_j = calloc(p->nreg_j, sizeof *p->reg_j);
    free(p->reg_s);
    p->reg_s = calloc(p->nreg_j, sizeof *p->reg_s);
    p->unattributed_s = 0;
    uint32_t *act = malloc((p->ncalls + 1) * sizeof *act);
    size_t nact = 0;
    double wsum = 0, prev = (double)p->t_start, eprev = c.nd ? curve_at(&c, prev) : 0;
    double outside_j = 0, outside_s = 0, calls_j = 0;
    /* energy before the first boundary is outside; so is after the last */
    for (size_t i = 0; i <= nev; i++) {
        double t = i < nev ? (double)ev[i].t : (double)p->t_end;
        if (t < prev)
            t = prev;
        if (t > prev) {
            double e = c.nd ? curve_at(&c, t) : 0, de = e - eprev;
            if (nact == 0) {
                /* between calls: the program's own work inside a region
                 * belongs to that region; elsewhere it is outside */
                uint32_t rid = nseg ? region_at(sg, nseg, (prev + t) / 2) : 0;
                if (rid && rid < p->nreg_j) {
                    p->reg_j[rid] += de;
                    p->reg_s[rid] += (t - prev) * 1e-9;
                } else {
                    outside_j += de;
                    p->unattributed_s += (t - prev) * 1e-9;
                }
                outside_s += (t - prev) * 1e-9;
            } else {
                for (size_t a = 0; a < nact; a++) {
                    struct ana_call *cl = &p->calls[act[a]];
                    double share = de * call_weight(p, cl) / wsum;
                    cl->energy_j += share;
                    calls_j += share;
                }
            }
            prev = t;
            eprev = e;
        }
        if (i == nev)
            break;
        if (ev[i].call == UINT32_MAX)
            continue;                   /* a region boundary only */
        struct ana_call *cl = &p->calls[ev[i].call];
        if (ev[i].start) {
            act[nact++] = ev[i].call;
            wsum += call_weight(p, cl);
        } else {
            for (size_t a = 0; a < nact; a++)
                if (act[a] == ev[i].call) {
                    act[a] = act[--nact];
                    wsum -= call_weight(p, cl);
                    break;
                }
            if (nact == 0)
                wsum = 0;               /* no drift from float sums */
        }
    }
    /* the curve may extend beyond the process's records (last sample after
     * the last call): that energy is outside as well */
    if (c.nd) {
        double e_lo = curve_at(&c, (double)p->t_start) - curve_at(&c, cs);
        double e_hi = curve_at(&c, ce) - curve_at(&c, (double)p->t_end);
        if (e_lo > 0) outside_j += e_lo;
        if (e_hi > 0) outside_j += e_hi;
    }
    p->outside_j = outside_j;
    p->outside_s = outside_s;
    p->calls_j = calls_j;
    free(act);
    free(ev);
    free(sg);
    /* keep the curve for the idle baseline, then drop it */
    cur_curve = NULL;
    free_curve(&c);
}

/* Lowest sustained power: the smallest average over any window of at least
 * 100 ms (5 samples when the run is shorter), on the sampled curve. */
double ana_idle_watts(const struct ana_proc *p, const char **how)
{
    if (p->idle_watts_hdr >= 0) {
        *how = "GREENSHIM_IDLE_WATTS";
        return p->idle_watts_hdr;
    }
    *how = "lowest sustained power";
    struct ana_proc *q = (struct ana_proc *)p;
    struct curve c;
    const char *prov = q->provenance, *src = q->source;
    build_curve(q, &c);
    q->provenance = prov;
    q->source = src;
    if (!c.nd) {
        *how = "none (no energy source)";
        return 0;
    }
    const struct ana_domain *d = c.d[0];
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
        double w = (curve_at(&c, t1) - curve_at(&c, t0)) / ((t1 - t0) * 1e-9);
        if (best < 0 || w < best)
            best = w;
    }
    free_curve(&c);
    return best < 0 ? 0 : best;
}
