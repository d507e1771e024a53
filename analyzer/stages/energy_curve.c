/* energy_curve.c - the cumulative energy of one process's domains at a time
 * (the series attribute.c sets up, with counter wraps): what the ranks
 * stage and the per-thread/power views read. */
#include <stdint.h>
#include <string.h>
#include "ana.h"
#include "stages/energy_curve.h"

/* ---- the cumulative energy curve of one process (as attribute.c builds it) ---- */

int ana_dom_used(const struct ana_proc *p, const struct ana_domain *d)
{
    if (d->n < 2 || !p->provenance)
        return 0;
    if (!strcmp(p->provenance, "measured"))
        return d->sum && !strcmp(d->kind, "energy") && strcmp(d->provenance, "modelled") != 0;
    if (!strcmp(p->provenance, "modelled"))
        return !strcmp(d->kind, "cpu") && d->watts_per_core > 0;
    return 0;
}

double ana_dom_at(const struct ana_domain *d, double t)
{
    /* cumulative joules at sample i, with wraps, then interpolated */
    double acc = 0, sc = ana_domain_scale(d);
    if (t <= (double)d->t[0])
        return 0;
    for (size_t i = 1; i < d->n; i++) {
        uint64_t a = d->v[i - 1], b = d->v[i];
        double dl = b >= a ? (double)(b - a) : d->max_range && a <= d->max_range ? (double)(d->max_range - a + b) : (double)b;
        double t0 = (double)d->t[i - 1], t1 = (double)d->t[i];
        if (t < t1) {
            return t1 > t0 ? acc + dl * sc * (t - t0) / (t1 - t0) : acc;
        }
        acc += dl * sc;
    }
    return acc;
}

/* many points at once, in increasing t: one pass over the samples */
void ana_dom_at_many(const struct ana_domain *d, const double *t, size_t n, double *out)
{
    double acc = 0, sc = ana_domain_scale(d);
    size_t i = 1;
    for (size_t k = 0; k < n; k++) {
        if (t[k] <= (double)d->t[0]) { out[k] += 0; continue; }
        while (i < d->n && (double)d->t[i] <= t[k]) {
            uint64_t a = d->v[i - 1], b = d->v[i];
            acc += (b >= a ? (double)(b - a) : d->max_range && a <= d->max_range ? (double)(d->max_range - a + b)
                                                                                : (double)b) * sc;
            i++;
        }
        if (i >= d->n) { out[k] += acc; continue; }
        uint64_t a = d->v[i - 1], b = d->v[i];
        double dl = (b >= a ? (double)(b - a) : d->max_range && a <= d->max_range ? (double)(d->max_range - a + b)
                                                                                : (double)b) * sc;
        double t0 = (double)d->t[i - 1], t1 = (double)d->t[i];
        out[k] += t1 > t0 ? acc + dl * (t[k] - t0) / (t1 - t0) : acc;
    }
}

double ana_proc_energy_at(const struct ana_proc *p, double t)
{
    double e = 0;
    for (int i = 0; i < p->ndom; i++)
        if (ana_dom_used(p, &p->dom[i]))
            e += ana_dom_at(&p->dom[i], t);
    return e;
}

