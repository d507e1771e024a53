/* timeline.c - map the recorder's clock to nanoseconds: a least-squares
 * line through every (raw, monotonic ns) correlation point of the file;
 * samples to ns (in time order); the process's span.  Calls and region
 * events are converted as the sweep streams them (ana_ns). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"

/* samples in time order (the sampler writes them so; damaged input may
 * not): a stable merge sort, so equal times keep their order */
static void sort_samples(struct ana_domain *d)
{
    size_t n = d->n, i;
    for (i = 1; i < n && d->t[i] >= d->t[i - 1]; i++)
        ;
    if (i >= n)
        return;
    uint64_t *t2 = ana_xmalloc(n, sizeof *t2), *v2 = ana_xmalloc(n, sizeof *v2);
    uint64_t *st = d->t, *sv = d->v, *dt = t2, *dv = v2;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) {
                if (st[b] < st[a]) { dt[o] = st[b]; dv[o++] = sv[b++]; }
                else { dt[o] = st[a]; dv[o++] = sv[a++]; }
            }
            while (a < mid) { dt[o] = st[a]; dv[o++] = sv[a++]; }
            while (b < hi) { dt[o] = st[b]; dv[o++] = sv[b++]; }
        }
        uint64_t *x = st; st = dt; dt = x;
        x = sv; sv = dv; dv = x;
    }
    if (st != d->t) {
        memcpy(d->t, st, n * sizeof *st);
        memcpy(d->v, sv, n * sizeof *sv);
    }
    free(t2);
    free(v2);
}

void ana_timeline(struct ana_proc *p)
{
    const struct gs_file_header *h = &p->hdr;
    if (h->clock == GS_CLOCK_MONO) {
        p->clk_a = 0;
        p->clk_b = 1;
    } else {
        /* points: the header's pair and the CLOCK/END records */
        double n = 1, sx = (double)h->start_tsc, sy = (double)h->start_mono_ns;
        for (size_t i = 0; i < p->nck; i++) {
            sx += (double)p->ck_raw[i];
            sy += (double)p->ck_ns[i];
            n++;
        }
        double mx = sx / n, my = sy / n, sxx = 0, sxy = 0;
        sxx = ((double)h->start_tsc - mx) * ((double)h->start_tsc - mx);
        sxy = ((double)h->start_tsc - mx) * ((double)h->start_mono_ns - my);
        for (size_t i = 0; i < p->nck; i++) {
            double dx = (double)p->ck_raw[i] - mx, dy = (double)p->ck_ns[i] - my;
            sxx += dx * dx;
            sxy += dx * dy;
        }
        double b = sxx > 0 ? sxy / sxx : 0;
        /* one point only, or a nonsense fit: the start-up estimate */
        if (!(b > 0) || !isfinite(b))
            b = h->tsc_hz ? 1e9 / (double)h->tsc_hz : 1;
        if (!(b > 0) || !isfinite(b))
            b = 1;
        p->clk_b = b;
        p->clk_a = my - b * mx;
        if (!isfinite(p->clk_a))
            p->clk_a = 0;
    }
    /* ns() is monotonic in raw, so the raw extremes give the span */
    uint64_t lo = ana_ns(p, h->start_tsc), hi = lo;
    if (p->ncalls) {
        uint64_t a = ana_ns(p, p->raw_t0_min), b = ana_ns(p, p->raw_t1_max);
        if (a < lo) lo = a;
        if (b > hi) hi = b;
    }
    if (p->nrev) {
        uint64_t b = ana_ns(p, p->raw_rev_max);
        if (b > hi) hi = b;
    }
    for (int d = 0; d < p->ndom; d++) {
        for (size_t i = 0; i < p->dom[d].n; i++) {
            p->dom[d].t[i] = ana_ns(p, p->dom[d].t[i]);
            if (p->dom[d].t[i] > hi) hi = p->dom[d].t[i];
        }
        sort_samples(&p->dom[d]);
        ana_samples_settle(&p->dom[d], p->clk_b);
    }
    for (size_t i = 0; i < p->nck; i++) {
        uint64_t t = ana_ns(p, p->ck_raw[i]);
        if (t > hi) hi = t;
    }
    p->t_start = lo;
    p->t_end = hi;
}
