/* dvfs.c - the DVFS model: fit (weighted least squares on relative errors),
 * leave-one-out validation, single-trace estimate, and the choice of a
 * setting under an objective.  The formulas are in dvfs.h and
 * docs/dvfs-model.md; nothing here prints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stages/dvfs.h"

static const char *knob_names[DVFS_NKNOBS] = { "cpu_freq_khz", "gpu_sm_clock_mhz", "gpu_power_limit_w" };
static const char *obj_names[] = { "energy", "edp", "ed2p" };

const char *dvfs_knob_name(int knob) { return knob >= 0 && knob < DVFS_NKNOBS ? knob_names[knob] : "?"; }
const char *dvfs_objective_name(int o) { return o >= 0 && o <= DVFS_ED2P ? obj_names[o] : "?"; }

int dvfs_knob_parse(const char *s)
{
    for (int i = 0; i < DVFS_NKNOBS; i++)
        if (strcmp(s, knob_names[i]) == 0)
            return i;
    return -1;
}

int dvfs_objective_parse(const char *s)
{
    for (int i = 0; i <= DVFS_ED2P; i++)
        if (strcmp(s, obj_names[i]) == 0)
            return i;
    return -1;
}

void dvfs_series_add(struct dvfs_series *s, double setting, double time_s, double energy_j)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->pts[i].setting == setting) {   /* a repeat: running mean */
            struct dvfs_point *p = &s->pts[i];
            p->n++;
            p->time_s += (time_s - p->time_s) / p->n;
            p->energy_j += (energy_j - p->energy_j) / p->n;
            return;
        }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->pts = realloc(s->pts, s->cap * sizeof *s->pts);
        if (!s->pts)
            abort();
    }
    s->pts[s->n++] = (struct dvfs_point){ setting, time_s, energy_j, 1 };
}

void dvfs_series_free(struct dvfs_series *s)
{
    free(s->pts);
    s->pts = NULL;
    s->n = s->cap = 0;
}

/* weighted least squares y = a*u + b (w: weights); constrained a, b >= 0 */
static void ls2(const double *u, const double *y, const double *w, size_t n, double *a, double *b)
{
    double suu = 0, su = 0, s1 = 0, suy = 0, sy = 0;
    for (size_t i = 0; i < n; i++) {
        suu += w[i] * u[i] * u[i]; su += w[i] * u[i]; s1 += w[i];
        suy += w[i] * u[i] * y[i]; sy += w[i] * y[i];
    }
    double det = suu * s1 - su * su;
    double A = 0, B = 0;
    if (fabs(det) > 1e-300 * (suu * s1 + 1)) {
        A = (suy * s1 - su * sy) / det;
        B = (suu * sy - su * suy) / det;
    } else {
        A = -1;                   /* degenerate (one distinct u): fall through */
    }
    if (A < 0 || B < 0) {
        /* best with b = 0 vs best with a = 0: keep the smaller residual */
        double a0 = suu > 0 ? suy / suu : 0, b0 = s1 > 0 ? sy / s1 : 0;
        if (a0 < 0) a0 = 0;
        if (b0 < 0) b0 = 0;
        double ra = 0, rb = 0;
        for (size_t i = 0; i < n; i++) {
            ra += w[i] * (y[i] - a0 * u[i]) * (y[i] - a0 * u[i]);
            rb += w[i] * (y[i] - b0) * (y[i] - b0);
        }
        if (ra <= rb) { A = a0; B = 0; } else { A = 0; B = b0; }
    }
    *a = A;
    *b = B;
}

/* dynamic power over p_dyn at clock fraction x: x^alpha, or with a voltage
 * floor below v0 (the voltage cannot follow the clock down) x v0^(alpha-1) */
static double dyn_of(double x, double alpha, double v0)
{
    return v0 > 0 && x < v0 ? x * pow(v0, alpha - 1) : pow(x, alpha);
}

/* its inverse: the clock fraction where the dynamic power is q (>= 0) */
static double x_of_dyn(double q, double alpha, double v0)
{
    if (v0 > 0 && q < pow(v0, alpha))
        return q / pow(v0, alpha - 1);
    return pow(q, 1 / alpha);
}

static double model_x(const struct dvfs_model *m, double setting)
{
    if (m->knob != DVFS_GPU_POWER) {
        double x = setting / m->f_ref;
        return m->x_cap > 0 && x > m->x_cap ? m->x_cap : x;
    }
    /* a power cap: the clock where the natural power meets the cap; a cap
     * below the lowest draw the board came down to is not honoured */
    double cap = setting < m->p_floor ? m->p_floor : setting;
    if (cap >= m->p_nat)
        return 1;
    if (m->p_dyn <= 0 || cap <= m->p_static)
        return m->x_min;
    double x = x_of_dyn((cap - m->p_static) / m->p_dyn, m->alpha, m->x_vfloor);
    return x < m->x_min ? m->x_min : x > 1 ? 1 : x;
}

void dvfs_predict(const struct dvfs_model *m, double setting, double *time_s, double *energy_j)
{
    double x = model_x(m, setting);
    if (!(x > 0))
        x = 1e-6;
    double xt = m->x_knee > 0 && x > m->x_knee ? m->x_knee : x;
    double t = m->t_scaling / xt + m->t_fixed;
    double p = m->p_static + m->p_dyn * dyn_of(x, m->alpha, m->knob == DVFS_GPU_POWER ? m->x_vfloor : 0);
    *time_s = t;
    *energy_j = p * t;
}

static void in_sample(const struct dvfs_series *s, struct dvfs_model *m)
{
    double st = 0, se = 0;
    for (size_t i = 0; i < s->n; i++) {
        double t, e;
        dvfs_predict(m, s->pts[i].setting, &t, &e);
        st += pow((t - s->pts[i].time_s) / s->pts[i].time_s, 2);
        se += pow((e - s->pts[i].energy_j) / s->pts[i].energy_j, 2);
    }
    m->rms_time_pct = s->n ? 100 * sqrt(st / s->n) : 0;
    m->rms_energy_pct = s->n ? 100 * sqrt(se / s->n) : 0;
}

#define DVFS_MAXPTS 512

/* power on x^alpha over a grid of alpha (points with w[i] > 0); returns the
 * weighted relative SSE */
static double fit_pow(const double *x, const double *p, const double *w, size_t n, int fixed,
                      struct dvfs_model *m)
{
    double u[DVFS_MAXPTS] = { 0 };
    double lo = 0.25, hi = 6, step = 0.05, best = INFINITY;
    if (fixed)
        lo = hi = 2;
    for (double a = lo; a <= hi + 1e-9; a += step) {
        double ps, pd, r = 0;
        for (size_t i = 0; i < n; i++)
            u[i] = pow(x[i], a);
        ls2(u, p, w, n, &pd, &ps);
        for (size_t i = 0; i < n; i++)
            r += w[i] * pow(p[i] - ps - pd * u[i], 2);
        if (r < best - 1e-12) {
            best = r;
            m->alpha = a; m->p_static = ps; m->p_dyn = pd;
        }
    }
    return best;
}

/* time on 1/x_eff; returns the weighted relative SSE */
static double fit_time(const double *xe, const double *y, size_t n, struct dvfs_model *m)
{
    double u[DVFS_MAXPTS] = { 0 }, w[DVFS_MAXPTS] = { 0 }, r = 0;
    for (size_t i = 0; i < n; i++) {
        u[i] = 1 / xe[i];
        w[i] = 1 / (y[i] * y[i]);
    }
    ls2(u, y, w, n, &m->t_scaling, &m->t_fixed);
    for (size_t i = 0; i < n; i++)
        r += w[i] * pow(y[i] - m->t_scaling * u[i] - m->t_fixed, 2);
    return r;
}

/* frequency knobs: time on 1/x, power on x^alpha.  Then the same with the
 * top k settings held by the board's power limit (their clock in effect is
 * where the power fitted on the others reaches their measured draw); that
 * model is kept only when it explains the data much better */
static int fit_freq(const struct dvfs_series *s, double f_ref, struct dvfs_model *m)
{
    size_t n = s->n;
    double y[DVFS_MAXPTS] = { 0 }, w[DVFS_MAXPTS] = { 0 }, x[DVFS_MAXPTS] = { 0 }, p[DVFS_MAXPTS] = { 0 };
    double xe[DVFS_MAXPTS] = { 0 };
    size_t order[DVFS_MAXPTS];
    for (size_t i = 0; i < n; i++) {
        x[i] = s->pts[i].setting / f_ref;
        y[i] = s->pts[i].time_s;
        p[i] = s->pts[i].energy_j / s->pts[i].time_s;
        w[i] = 1 / (p[i] * p[i]);
        order[i] = i;
    }
    for (size_t i = 1; i < n; i++)         /* by setting, descending */
        for (size_t j = i; j > 0 && x[order[j]] > x[order[j - 1]]; j--) {
            size_t t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    double best = fit_pow(x, p, w, n, n < 3, m) + fit_time(x, y, n, m);
    m->x_cap = 0;
    for (size_t k = 1; k + 2 <= n; k++) {
        struct dvfs_model c = *m;
        double wu[DVFS_MAXPTS] = { 0 }, plim = 0;
        for (size_t i = 0; i < n; i++)
            wu[i] = w[i];
        for (size_t j = 0; j < k; j++) {
            wu[order[j]] = 0;
            plim += p[order[j]] / (double)k;
        }
        fit_pow(x, p, wu, n, n - k < 3, &c);
        if (!(c.p_dyn > 0) || plim <= c.p_static)
            continue;
        double xc = pow((plim - c.p_static) / c.p_dyn, 1 / c.alpha);
        /* the limit must fall between the highest free and the lowest held setting */
        if (!(xc >= x[order[k]]) || !(xc <= x[order[k - 1]]))
            continue;
        for (size_t i = 0; i < n; i++)
            xe[i] = x[i] > xc ? xc : x[i];
        double r = 0;
        for (size_t i = 0; i < n; i++) {
            double pi = c.p_static + c.p_dyn * pow(xe[i], c.alpha);
            r += w[i] * (p[i] - pi) * (p[i] - pi);
        }
        r += fit_time(xe, y, n, &c);
        if (r < 0.5 * best) {
            best = r;
            *m = c;
            m->x_cap = m->x_knee = xc;
        }
    }
    /* a knee in time alone: the top k settings no faster, power still rising */
    struct dvfs_model base = *m;
    if (m->x_cap == 0)
        for (size_t k = 1; k + 2 <= n; k++)
            for (int g = 0; g <= 20; g++) {
                double xk = x[order[k]] + (x[order[k - 1]] - x[order[k]]) * g / 20.0;
                struct dvfs_model c = base;
                for (size_t i = 0; i < n; i++)
                    xe[i] = x[i] > xk ? xk : x[i];
                double r = fit_pow(x, p, w, n, n < 3, &c) + fit_time(xe, y, n, &c);
                if (r < 0.5 * best) {
                    best = r;
                    *m = c;
                    m->x_knee = xk;
                }
            }
    m->p_nat = m->p_static + m->p_dyn * pow(m->x_cap > 0 ? m->x_cap : 1, m->alpha);
    return 0;
}

/* power caps: the top setting is taken as uncapped (its draw is the natural
 * power); each setting's measured power gives its clock in effect through
 * P = P_static + P_dyn g(x), and time is fitted on 1/x.  g is x^alpha above
 * a voltage floor v0 and linear below it (x v0^(alpha-1)): under a cap the
 * firmware first lowers voltage and clock together (power falls fast, time
 * slowly), then, the voltage at its floor, the clock alone (power and speed
 * fall alike); the energy optimum sits near that knee, which a single power
 * law misses.  P_static, v0 (and alpha with five or more settings) on a
 * grid.  With three settings or fewer, time is taken to scale with the
 * clock in effect (t_fixed = 0), so that the three pin P_static and v0. */
static int fit_power(const struct dvfs_series *s, struct dvfs_model *m)
{
    size_t n = s->n, top = 0;
    double pmin = INFINITY;
    double p[DVFS_MAXPTS] = { 0 }, u[DVFS_MAXPTS] = { 0 }, y[DVFS_MAXPTS] = { 0 }, w[DVFS_MAXPTS] = { 0 };
    m->p_floor = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = s->pts[i].energy_j / s->pts[i].time_s;
        y[i] = s->pts[i].time_s;
        w[i] = 1 / (y[i] * y[i]);
        if (s->pts[i].setting > s->pts[top].setting)
            top = i;
        if (p[i] < pmin)
            pmin = p[i];
    }
    /* a cap the board drew more than 2 % above: not honoured (its floor) */
    for (size_t i = 0; i < n; i++)
        if (p[i] > s->pts[i].setting * 1.02 && (m->p_floor == 0 || p[i] < m->p_floor))
            m->p_floor = p[i];
    double pnat = p[top];
    for (size_t i = 0; i < n; i++)
        if (p[i] > pnat)
            pnat = p[i];
    m->p_nat = pnat;
    m->x_min = 0.05;
    /* per voltage floor: the best fit over the rest of the grid */
    struct dvfs_model byv[81];
    double rv[81];
    for (int vi = 0; vi <= 80; vi++)
        rv[vi] = INFINITY;
    double alo = 1, ahi = 5;
    int ng = n <= 4 ? 192 : 48;   /* few settings: a fine static-power grid (cheap) */
    if (n < 5)
        alo = ahi = 3;            /* too few settings to tell the exponent */
    /* many settings pin the shape: a coarser grid (the fit runs once per
     * left-out setting too) */
    double astep = n <= 4 ? 0.1 : 0.2;
    int vstep = n <= 4 ? 1 : 2;
    for (double a = alo; a <= ahi + 1e-9; a += astep)
        for (int vi = 0; vi <= 80; vi += vstep) {
            double v0 = vi ? 0.19 + 0.01 * vi : 0;     /* 0: no floor; else 0.20 .. 0.99 */
            for (int g = 0; g < ng; g++) {
                double ps = pmin * 0.98 * g / ng, pd = pnat - ps;
                if (pd <= 0)
                    continue;
                for (size_t i = 0; i < n; i++) {
                    double q = (p[i] - ps) / pd;
                    double xi = x_of_dyn(q > 0 ? q : 0, a, v0);
                    if (!(xi > 0.05)) xi = 0.05;
                    if (xi > 1) xi = 1;
                    u[i] = 1 / xi;
                }
                double ts, tf = 0, r = 0;
                if (n <= 3) {             /* through the origin: t = ts / x */
                    double suu = 0, suy = 0;
                    for (size_t i = 0; i < n; i++) {
                        suu += w[i] * u[i] * u[i];
                        suy += w[i] * u[i] * y[i];
                    }
                    ts = suu > 0 ? suy / suu : 0;
                } else {
                    ls2(u, y, w, n, &ts, &tf);
                }
                for (size_t i = 0; i < n; i++)
                    r += w[i] * pow(y[i] - ts * u[i] - tf, 2);
                if (r < rv[vi] * (1 - 1e-9) - 1e-15) {
                    rv[vi] = r;
                    struct dvfs_model *b = &byv[vi];
                    b->alpha = a; b->p_static = ps; b->p_dyn = pd; b->t_scaling = ts; b->t_fixed = tf;
                    b->x_vfloor = v0;
                }
            }
        }
    /* the best fit; where the settings cannot tell a knee low from a knee
     * high (three points fit both within 1 % RMS of time), the highest
     * voltage floor: the higher cap, the smaller slowdown */
    double best = INFINITY;
    for (int vi = 0; vi <= 80; vi++)
        if (rv[vi] < best)
            best = rv[vi];
    if (!(best < INFINITY))
        return -1;
    int pick = -1;
    for (int vi = 0; vi <= 80; vi++)
        if (rv[vi] <= best + 1e-4 * (double)n)
            pick = vi;
    m->alpha = byv[pick].alpha; m->p_static = byv[pick].p_static; m->p_dyn = byv[pick].p_dyn;
    m->t_scaling = byv[pick].t_scaling; m->t_fixed = byv[pick].t_fixed; m->x_vfloor = byv[pick].x_vfloor;
    return 0;
}

int dvfs_fit(const struct dvfs_series *s, double f_ref, struct dvfs_model *m)
{
    memset(m, 0, sizeof *m);
    m->knob = s->knob;
    m->f_ref = f_ref;
    m->x_min = 0.05;
    if (s->n < 2 || s->n > DVFS_MAXPTS || !(f_ref > 0))
        return -1;
    for (size_t i = 0; i < s->n; i++)
        if (!(s->pts[i].setting > 0) || !(s->pts[i].time_s > 0) || !(s->pts[i].energy_j > 0))
            return -1;
    int rc = s->knob == DVFS_GPU_POWER ? fit_power(s, m) : fit_freq(s, f_ref, m);
    m->n_used = (int)s->n;
    in_sample(s, m);
    return rc;
}

int dvfs_loo(const struct dvfs_series *s, double f_ref, double *energy_pct, double *time_pct)
{
    if (s->n < 3)
        return -1;
    struct dvfs_series t = *s;
    t.pts = malloc(s->n * sizeof *t.pts);
    if (!t.pts)
        return -1;
    double se = 0, st = 0;
    for (size_t k = 0; k < s->n; k++) {
        t.n = 0;
        for (size_t i = 0; i < s->n; i++)
            if (i != k)
                t.pts[t.n++] = s->pts[i];
        struct dvfs_model m;
        if (dvfs_fit(&t, f_ref, &m) != 0) {
            free(t.pts);
            return -1;
        }
        double pt, pe;
        dvfs_predict(&m, s->pts[k].setting, &pt, &pe);
        se += pow((pe - s->pts[k].energy_j) / s->pts[k].energy_j, 2);
        st += pow((pt - s->pts[k].time_s) / s->pts[k].time_s, 2);
    }
    free(t.pts);
    *energy_pct = 100 * sqrt(se / s->n);
    *time_pct = 100 * sqrt(st / s->n);
    return 0;
}

int dvfs_choose(const struct dvfs_model *m, const double *cand, size_t ncand, double baseline,
                int objective, double max_slowdown_pct, struct dvfs_choice *c)
{
    memset(c, 0, sizeof *c);
    c->baseline = baseline;
    dvfs_predict(m, baseline, &c->base_time_s, &c->base_energy_j);
    if (!(c->base_time_s > 0) || !(c->base_energy_j > 0))
        return -1;
    double best_score = INFINITY;
    /* the baseline itself is always allowed: nothing better, no change */
    for (size_t i = 0; i <= ncand; i++) {
        double set = i < ncand ? cand[i] : baseline, t, e;
        if (set > baseline)
            continue;             /* above the uncapped setting: not a cap */
        dvfs_predict(m, set, &t, &e);
        double slow = 100 * (t / c->base_time_s - 1);
        double score;
        if (objective == DVFS_ENERGY) {
            if (slow > max_slowdown_pct + 1e-9)
                continue;
            score = e;
        } else if (objective == DVFS_EDP) {
            score = e * t;
        } else {
            score = e * t * t;
        }
        /* ties go to the faster (higher) setting */
        if (score < best_score * (1 - 1e-12) ||
            (score <= best_score * (1 + 1e-12) && set > c->recommended)) {
            best_score = score;
            c->recommended = set; c->time_s = t; c->energy_j = e;
            c->slowdown_pct = slow;
        }
    }
    c->saving_pct = 100 * (1 - c->energy_j / c->base_energy_j);
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t uniq(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_d);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || v[i] != v[k - 1])
            v[k++] = v[i];
    return k;
}

static int num(const char *s, const char *end, double *v)
{
    char buf[64];
    size_t len = (size_t)(end - s);
    if (!len || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *e;
    *v = strtod(buf, &e);
    return *e || e == buf || !isfinite(*v) ? -1 : 0;
}

int dvfs_parse_candidates(const char *s, double **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    const char *c1 = strchr(s, ':');
    if (c1) {
        const char *c2 = strchr(c1 + 1, ':');
        double lo, hi, st;
        if (!c2 || strchr(c2 + 1, ':') || num(s, c1, &lo) || num(c1 + 1, c2, &hi) ||
            num(c2 + 1, c2 + 1 + strlen(c2 + 1), &st)) {
            snprintf(err, errlen, "'%s' is not MIN:MAX:STEP (three numbers)", s);
            return -1;
        }
        if (!(lo > 0) || !(st > 0)) {
            snprintf(err, errlen, "'%s': MIN and STEP must be positive", s);
            return -1;
        }
        if (hi < lo) {
            snprintf(err, errlen, "'%s' is an empty range (MAX below MIN)", s);
            return -1;
        }
        double cnt = floor((hi - lo) / st + 1e-9) + 1;
        if (cnt > 100000) {
            snprintf(err, errlen, "'%s' gives %.0f candidates (at most 100000)", s, cnt);
            return -1;
        }
        *out = malloc(((size_t)cnt + 1) * sizeof **out);
        for (size_t i = 0; i < (size_t)cnt; i++)
            (*out)[(*n)++] = lo + st * (double)i;
        if ((*out)[*n - 1] < hi - 1e-9 * hi)
            (*out)[(*n)++] = hi;
        return 0;
    }
    size_t cap = 8;
    *out = malloc(cap * sizeof **out);
    const char *p = s;
    for (;;) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        double v;
        if (num(p, e, &v) || !(v > 0)) {
            snprintf(err, errlen, "'%.*s' in '%s' is not a positive number", (int)(e - p), p, s);
            free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
        if (*n == cap)
            *out = realloc(*out, (cap *= 2) * sizeof **out);
        (*out)[(*n)++] = v;
        if (!*e)
            break;
        p = e + 1;
    }
    *n = uniq(*out, *n);
    return 0;
}

size_t dvfs_default_candidates(const struct dvfs_series *s, double **out)
{
    double *v = malloc((s->n + 1) * sizeof *v);
    for (size_t i = 0; i < s->n; i++)
        v[i] = s->pts[i].setting;
    size_t n = uniq(v, s->n);
    double gap = INFINITY;
    for (size_t i = 1; i < n; i++)
        if (v[i] - v[i - 1] < gap)
            gap = v[i] - v[i - 1];
    if (n < 2 || !(gap > 0) || (v[n - 1] - v[0]) / gap > 2000) {
        *out = v;
        return n;
    }
    size_t cnt = (size_t)floor((v[n - 1] - v[0]) / gap + 1e-9) + 1;
    double *g = malloc((cnt + n) * sizeof *g);
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++)
        g[k++] = v[0] + gap * (double)i;
    for (size_t i = 0; i < n; i++)
        g[k++] = v[i];
    free(v);
    *out = g;
    return uniq(g, k);
}

void dvfs_estimate(const struct dvfs_estimate_in *in, int knob, double f_ref, struct dvfs_model *m)
{
    memset(m, 0, sizeof *m);
    m->knob = knob;
    m->f_ref = f_ref;
    m->x_min = 0.05;
    double tc = in->t_compute_s, tm = in->t_memory_s, th = in->t_host_s;
    double sum = tc + tm + th;
    double scale = sum > 0 ? in->time_s / sum : 0;   /* the parts add up to the measured time */
    m->t_scaling = (tc + in->host_scaling * th) * scale;
    m->t_fixed = (tm + (1 - in->host_scaling) * th) * scale;
    if (sum <= 0)
        m->t_scaling = in->time_s;
    double pavg = in->time_s > 0 ? in->energy_j / in->time_s : 0;
    m->p_static = in->static_share * pavg;
    m->p_dyn = pavg - m->p_static;
    m->alpha = in->alpha;
    m->p_nat = pavg;
    m->n_used = 1;
}
