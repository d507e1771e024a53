/* energy_curve.h - the energy curve of a process's domains (energy_curve.c) */
#ifndef GS_ANA_ENERGY_CURVE_H
#define GS_ANA_ENERGY_CURVE_H
#include "ana.h"

/* whether a domain of the process counts towards its energy */
int ana_dom_used(const struct ana_proc *p, const struct ana_domain *d);
/* the domain's cumulative joules at time t (ns on the process's timeline) */
double ana_dom_at(const struct ana_domain *d, double t);
/* the same at n times in ascending order */
void ana_dom_at_many(const struct ana_domain *d, const double *t, size_t n, double *out);

#endif
