/* timeline.c - map the recorder's clock to nanoseconds: a least-squares
 * line through every (raw, monotonic ns) correlation point of the file,
 * then every timestamp in place. */
#include <math.h>
#include <stdlib.h>
#include "ana.h"

/* samples in time order (the sampler writes them so; damaged input may not) */
static void sort_samples(struct ana_domain *d)
{
    for (size_t i = 1; i < d->n; i++) {
        if (d->t[i] >= d->t[i - 1])
            continue;
        uint64_t t = d->t[i], v = d->v[i];
        size_t j = i;
        for (; j > 0 && d->t[j - 1] > t; j--) {
            d->t[j] = d->t[j - 1];
            d->v[j] = d->v[j - 1];
        }
        d->t[j] = t;
        d->v[j] = v;
    }
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
        p->clk_b = b;
        p->clk_a = my - b * mx;
    }
    uint64_t lo = ana_ns(p, h->start_tsc), hi = lo;
    for (size_t i = 0; i < p->ncalls; i++) {
        struct ana_call *c = &p->calls[i];
        c->t0 = ana_ns(p, c->t0);
        c->t1 = ana_ns(p, c->t1);
        if (c->t1 > hi) hi = c->t1;
        if (c->t0 < lo) lo = c->t0;
    }
    for (size_t i = 0; i < p->nrev; i++) {
        p->rev[i].t = ana_ns(p, p->rev[i].t);
        if (p->rev[i].t > hi) hi = p->rev[i].t;
    }
    for (int d = 0; d < p->ndom; d++) {
        for (size_t i = 0; i < p->dom[d].n; i++) {
            p->dom[d].t[i] = ana_ns(p, p->dom[d].t[i]);
            if (p->dom[d].t[i] > hi) hi = p->dom[d].t[i];
        }
        sort_samples(&p->dom[d]);
    }
    for (size_t i = 0; i < p->nck; i++) {
        uint64_t t = ana_ns(p, p->ck_raw[i]);
        if (t > hi) hi = t;
    }
    p->t_start = lo;
    p->t_end = hi;
}
