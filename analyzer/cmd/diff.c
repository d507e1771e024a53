/* diff.c - `greenshim-analyze diff A B` or `diff A1 A2 ... -- B1 B2 ...`:
 * per layer and per routine, the work (calls, FLOPs), time and energy of
 * both sides, the change B vs A, and a verdict against the noise.
 *
 * Work is counted, not measured: a change in calls or FLOPs is a change in
 * what the program did, whatever the machine was doing.  Time and energy
 * vary from run to run, on a shared machine by far more than within one
 * run (the neighbours come and go, BLAS threads wait for cores), so:
 *  - with repeated runs on both sides, the noise of a row is measured:
 *    Welch's bound on the difference of the means from each side's spread,
 *    at a level shared among all the diff's tests (1% for the family), at
 *    least the within-run estimates; a change beyond it is significant;
 *  - with one run on a side, only the within-run estimate exists (each
 *    row's calls in even and odd 64ths of the run: their mean cost per call
 *    should agree; at least 1%); it understates the run-to-run variance, so
 *    a time or energy change beyond it is shown ("differs") but not called
 *    significant: repeat the runs.
 * Modelled energy (CPU time x watts) counts BLAS threads spinning while
 * they wait: it is shown but not judged; time (and FLOPs over call time)
 * carries the verdict then. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"

#define MAXRUNS 64

struct drow {
    char kind[8], name[256];
    int nrun;                     /* runs of its side that have the row */
    double t[MAXRUNS], e[MAXRUNS], calls[MAXRUNS], flops[MAXRUNS];
    int has_work;                 /* calls and FLOPs mean something (not outside) */
    double wnoise[2];             /* within-run noise (time, energy): the largest of its runs */
};
struct dside {
    struct drow *rows; size_t n;
    int nruns;
    int modelled;                 /* some run's energy is modelled (or none) */
    char prov[MAXRUNS][16];
};

static struct drow *find(struct dside *s, const char *kind, const char *name, int add)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->rows[i].kind, kind) && !strcmp(s->rows[i].name, name))
            return &s->rows[i];
    if (!add)
        return NULL;
    s->rows = ana_xrealloc(s->rows, s->n + 1, sizeof *s->rows);
    struct drow *d = &s->rows[s->n++];
    memset(d, 0, sizeof *d);
    snprintf(d->kind, sizeof d->kind, "%s", kind);
    snprintf(d->name, sizeof d->name, "%s", name);
    return d;
}

/* relative within-run noise of one run's row (w = 0 time, 1 energy) from its halves */
static double halves_noise(const double h[2][3], int w)
{
    if (!(h[0][2] > 0) || !(h[1][2] > 0))
        return 0;
    double a = h[0][w] / h[0][2], b = h[1][w] / h[1][2];
    return a + b > 0 ? fabs(a - b) / ((a + b) / 2) : 0;
}

static void put(struct dside *s, int run, const char *kind, const char *name, double t, double e, double calls,
                double flops, int has_work, const double h[2][3])
{
    struct drow *d = find(s, kind, name, 1);
    d->t[run] += t; d->e[run] += e; d->calls[run] += calls; d->flops[run] += flops;
    if (run >= d->nrun) d->nrun = run + 1;   /* (rows keep their runs' slots; nrun: for presence) */
    d->has_work = has_work;
    for (int w = 0; h && w < 2; w++) {
        double x = halves_noise(h, w);
        if (x > d->wnoise[w]) d->wnoise[w] = x;
    }
}

/* one run's rows into slot `run` of side s */
static void collect(const struct ana_report *r, struct dside *s, int run)
{
    char nm[300];
    double fl = 0;
    for (size_t i = 0; i < r->nops; i++)
        fl += r->ops[i].flops;
    put(s, run, "total", "whole run", r->duration_s, r->total_j, (double)r->total_calls, fl, 1, NULL);
    for (size_t i = 0; i < r->nlayers; i++) {
        double h[2][3];
        int ok = ana_more_halves(r, 1, i, h);
        put(s, run, "layer", r->layers[i].name, r->layers[i].wall_s, r->layers[i].energy_j,
            (double)r->layers[i].calls, r->layers[i].flops, 1, ok ? (const double (*)[3])h : NULL);
    }
    put(s, run, "layer", "outside layers", r->layers_out_s, r->layers_out_j, 0, 0, 0, NULL);
    for (size_t i = 0; i < r->nops; i++) {
        double h[2][3];
        int ok = ana_more_halves(r, 0, i, h);
        snprintf(nm, sizeof nm, "%s (%s)", r->ops[i].op, r->ops[i].api);
        put(s, run, "routine", nm, r->ops[i].time_s, r->ops[i].energy_j, (double)r->ops[i].calls, r->ops[i].flops,
            1, ok ? (const double (*)[3])h : NULL);
    }
    snprintf(s->prov[run], sizeof s->prov[run], "%s", r->provenance ? r->provenance : "none");
    if (!r->provenance || strcmp(r->provenance, "measured"))
        s->modelled = 1;
}

struct stat { double mean, lo, hi; int n; };
static struct stat stat_of(const double *v, int n)
{
    struct stat s = { 0, INFINITY, -INFINITY, n };
    for (int i = 0; i < n; i++) {
        s.mean += v[i];
        if (v[i] < s.lo) s.lo = v[i];
        if (v[i] > s.hi) s.hi = v[i];
    }
    s.mean = n ? s.mean / n : 0;
    if (!n) s.lo = s.hi = 0;
    return s;
}

/* sample variance of n values */
static double var_of(const double *v, int n, double mean)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (v[i] - mean) * (v[i] - mean);
    return n > 1 ? s / (n - 1) : 0;
}

/* the regularized incomplete beta function I_x(a, b) (continued fraction,
 * modified Lentz), for Student's t below */
static double betacf(double a, double b, double x)
{
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < 1e-300) d = 1e-300;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        double m2 = 2.0 * m, aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d; if (fabs(d) < 1e-300) d = 1e-300;
        c = 1 + aa / c; if (fabs(c) < 1e-300) c = 1e-300;
        d = 1 / d; h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d; if (fabs(d) < 1e-300) d = 1e-300;
        c = 1 + aa / c; if (fabs(c) < 1e-300) c = 1e-300;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-14)
            break;
    }
    return h;
}
static double betai(double a, double b, double x)
{
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double bt = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    return x < (a + 1) / (a + b + 2) ? bt * betacf(a, b, x) / a : 1 - bt * betacf(b, a, 1 - x) / b;
}

/* the two-sided critical value of Student's t with df degrees of freedom
 * (not necessarily whole: Welch's) at level alpha: P(|T| > t) = alpha, where
 * P(|T| > t) = I_{df/(df+t^2)}(df/2, 1/2); bisection on x */
static double t_crit(double df, double alpha)
{
    if (!(df > 0)) df = 1;
    double lo = 0, hi = 1;
    for (int i = 0; i < 200; i++) {
        double x = (lo + hi) / 2;
        if (betai(df / 2, 0.5, x) > alpha) hi = x;
        else lo = x;
    }
    double x = (lo + hi) / 2;
    return x > 0 ? sqrt(df * (1 - x) / x) : INFINITY;
}

/* relative noise of B's mean against A's for one quantity.  Within-run:
 * each side's even/odd estimate, at least 1% (clock and scheduling
 * jitter), added.  With repeats on both sides, at least Welch's bound:
 * t(alpha, df) x the standard error of the difference of the means, alpha
 * the family's 1% shared among the tests of the diff (Bonferroni: many rows
 * are judged at once, and a repeat of one program must stay quiet). */
static double diff_noise(const double *va, int na, const struct stat *a, double wa,
                         const double *vb, int nb, const struct stat *b, double wb, int repeats, double alpha)
{
    double x = (wa > 0.01 ? wa : 0.01) + (wb > 0.01 ? wb : 0.01);
    if (repeats && a->mean > 0) {
        double qa = var_of(va, na, a->mean) / na, qb = var_of(vb, nb, b->mean) / nb;
        double se = sqrt(qa + qb);
        if (se > 0) {
            double df = (qa + qb) * (qa + qb) / (qa * qa / (na - 1) + qb * qb / (nb - 1));
            double w = t_crit(df, alpha) * se / a->mean;
            if (w > x) x = w;
        }
    }
    return x;
}

static double chg(double a, double b) { return a > 0 ? (b - a) / a : (b > 0 ? INFINITY : 0); }

/* work differs: counts that do not agree (with repeats: ranges that do not overlap) */
static int work_differs(const struct stat *a, const struct stat *b)
{
    double tol = 1e-9 * (fabs(a->mean) > fabs(b->mean) ? fabs(a->mean) : fabs(b->mean));
    return b->lo > a->hi + tol || a->lo > b->hi + tol;
}

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', o);
        if ((unsigned char)*p < 0x20) fprintf(o, "\\u%04x", (unsigned char)*p);
        else fputc(*p, o);
    }
    fputc('"', o);
}

static int load_side(struct ana_view *base, const char **paths, int n, struct dside *s, int *rc)
{
    for (int k = 0; k < n; k++) {
        struct ana_view v = *base;
        struct ana_run run;
        struct ana_report r;
        v.np = 1;
        v.paths[0] = paths[k];
        int st = ana_view_load(&v, &run, &r, "diff");
        if (st < 0)
            return -1;
        if (st) *rc = 2;
        collect(&r, s, k);
        ana_view_free(&run, &r);
    }
    s->nruns = n;
    return 0;
}

int cmd_diff(int argc, char **argv)
{
    struct ana_view v;
    const char *fmt = "text";
    ana_view_init(&v);
    const char *pa[MAXRUNS], *pb[MAXRUNS];
    int na = 0, nb = 0, sep = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: greenshim-analyze diff <runA> <runB> [--format text|json] [-o FILE] [options]\n"
                   "       greenshim-analyze diff <runA1> <runA2>... -- <runB1> <runB2>... [options]\n\n"
                   "Per layer and per routine: calls, FLOPs, time and energy of both sides (each run a trace\n"
                   "directory or file), the change B vs A and a verdict.  A change in calls or FLOPs (counted)\n"
                   "is a change.  Time and energy are judged against the run-to-run noise, measured where a side\n"
                   "has repeated runs (given before and after --): the spread of its runs, at least the\n"
                   "within-run estimate.  With one run per side only the within-run estimate exists (each row's\n"
                   "calls in even and odd 64ths of the run, at least 1%%): it understates the run-to-run\n"
                   "variance, so time and energy beyond it read \"differs\", not \"changed\".  Modelled energy\n"
                   "(CPU time x watts) counts BLAS threads spin-waiting: shown, not judged; time is.\n\n"
                   "  --format FMT         text (default) or json\n  -o FILE              write to FILE\n%s",
                   ana_view_help);
            return 0;
        }
        if (!strcmp(argv[i], "--")) {
            if (sep) {
                fprintf(stderr, "greenshim-analyze diff: '--' given twice (runs of A before it, of B after)\n");
                return 2;
            }
            sep = 1;
            continue;
        }
        if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            fmt = argv[++i];
            if (strcmp(fmt, "text") && strcmp(fmt, "json")) {
                fprintf(stderr, "greenshim-analyze diff: unknown format '%s' (text or json)\n", fmt);
                return 2;
            }
            continue;
        }
        if (argv[i][0] != '-') {
            if ((sep ? nb : na) >= MAXRUNS) {
                fprintf(stderr, "greenshim-analyze diff: at most %d runs per side\n", MAXRUNS);
                return 2;
            }
            if (sep) pb[nb++] = argv[i];
            else pa[na++] = argv[i];
            continue;
        }
        int k = ana_view_opt(&v, argc, argv, &i, "diff");
        if (k < 0)
            return 2;
        if (k == 0) {
            fprintf(stderr, "greenshim-analyze diff: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (!sep) {
        if (na != 2) {
            fprintf(stderr, na < 2 ? "greenshim-analyze diff: want two runs, runA and runB (try --help)\n"
                                   : "greenshim-analyze diff: want exactly two runs, or repeated runs of each side "
                                     "as A1 A2 -- B1 B2 (try --help)\n");
            return 2;
        }
        pb[nb++] = pa[--na];
    }
    if (!na || !nb) {
        fprintf(stderr, "greenshim-analyze diff: want at least one run on each side of '--' (try --help)\n");
        return 2;
    }
    const char *out = v.out;
    struct dside d[2] = { { 0 } };
    int rc = 0;
    if (load_side(&v, pa, na, &d[0], &rc) < 0 || load_side(&v, pb, nb, &d[1], &rc) < 0) {
        free(d[0].rows);
        free(d[1].rows);
        return 2;
    }
    /* every row of A, then those only in B */
    for (size_t i = 0; i < d[1].n; i++)
        if (!find(&d[0], d[1].rows[i].kind, d[1].rows[i].name, 0)) {
            struct drow *x = find(&d[0], d[1].rows[i].kind, d[1].rows[i].name, 1);
            x->has_work = d[1].rows[i].has_work;
        }
    FILE *o = out ? fopen(out, "w") : stdout;
    if (!o) {
        perror(out);
        free(d[0].rows);
        free(d[1].rows);
        return 2;
    }
    int json = !strcmp(fmt, "json");
    int repeats = na >= 2 && nb >= 2;
    int energy_judged = !d[0].modelled && !d[1].modelled;
    /* the tests this diff makes: time, and energy where judged, of each row on both sides */
    int ntests = 0;
    for (size_t i = 0; i < d[0].n; i++) {
        const struct drow *x = find(&d[1], d[0].rows[i].kind, d[0].rows[i].name, 0);
        if (d[0].rows[i].nrun && x && x->nrun)
            ntests += 1 + energy_judged;
    }
    double alpha = 0.01 / (ntests > 0 ? ntests : 1);
    const char *basis = repeats ? "repeats" : "within-run";
    char sidea[600], sideb[600];
    snprintf(sidea, sizeof sidea, "%s%s", pa[0], na > 1 ? " ..." : "");
    snprintf(sideb, sizeof sideb, "%s%s", pb[0], nb > 1 ? " ..." : "");
    if (json) {
        fputs("{\n  \"format_version\": 2,\n  \"a\": ", o); json_str(o, pa[0]);
        fputs(", \"b\": ", o); json_str(o, pb[0]);
        fputs(",\n  \"runs_a\": [", o);
        for (int k = 0; k < na; k++) { if (k) fputs(", ", o); json_str(o, pa[k]); }
        fputs("], \"runs_b\": [", o);
        for (int k = 0; k < nb; k++) { if (k) fputs(", ", o); json_str(o, pb[k]); }
        fprintf(o, "],\n  \"provenance\": [\"%s\", \"%s\"],\n  \"noise_basis\": \"%s\",\n  \"energy_judged\": %s,\n"
                   "  \"rows\": [", d[0].modelled ? "modelled" : "measured", d[1].modelled ? "modelled" : "measured",
                basis, energy_judged ? "true" : "false");
    } else {
        fprintf(o, "greenshim diff: A = %s (%d run%s), B = %s (%d run%s)\n", sidea, na, na == 1 ? "" : "s", sideb, nb,
                nb == 1 ? "" : "s");
        fprintf(o, "energy: A %s, B %s; change: B vs A (means of each side's runs)\n", d[0].prov[0], d[1].prov[0]);
        if (repeats)
            fprintf(o, "noise: measured from the repeats: Welch's bound on the difference of the means (t x its "
                       "standard error, from each side's spread over its runs; t at 1%% for the whole diff, "
                       "Bonferroni over its %d tests), at least the within-run estimates (even vs odd 64ths, at "
                       "least 1%% each) added; record repeats interleaved (A B A B) so that the machine's drift "
                       "falls on both sides\n", ntests);
        else
            fprintf(o, "noise: within-run only (even vs odd 64ths of each run, at least 1%%): one run %s cannot show "
                       "the run-to-run variance, which on a shared machine is far larger, so time and energy beyond "
                       "it read \"differs\", not \"changed\"; repeat the runs: diff A1 A2 -- B1 B2\n",
                    na == 1 && nb == 1 ? "per side" : "on a side");
        if (!energy_judged)
            fprintf(o, "energy modelled (CPU time x watts): it counts BLAS threads spin-waiting for work, so it "
                       "varies with BLAS threads and load; not judged: the verdict rests on work and time\n");
        fprintf(o, "\n%-8s %-30s %10s %10s %8s %10s %10s %8s %10s %10s %7s  %s\n", "kind", "name", "time A", "time B",
                "Δtime", "energy A", "energy B", "Δenergy", "calls A", "calls B", "noise", "verdict");
    }
    int nwork = 0, ntime = 0, nenergy = 0, ndiffers = 0, nonly = 0, nte = 0;
    char b[12][64];
    for (size_t i = 0; i < d[0].n; i++) {
        struct drow *a = &d[0].rows[i], *bb = find(&d[1], a->kind, a->name, 0);
        struct drow zero = { 0 };
        if (!bb) bb = &zero;
        struct stat ta = stat_of(a->t, na), tb = stat_of(bb->t, nb);
        struct stat ea = stat_of(a->e, na), eb = stat_of(bb->e, nb);
        struct stat ca = stat_of(a->calls, na), cb = stat_of(bb->calls, nb);
        struct stat fa = stat_of(a->flops, na), fb = stat_of(bb->flops, nb);
        double ct = chg(ta.mean, tb.mean), ce = chg(ea.mean, eb.mean);
        double nt = diff_noise(a->t, na, &ta, a->wnoise[0], bb->t, nb, &tb, bb->wnoise[0], repeats, alpha);
        double ne = diff_noise(a->e, na, &ea, a->wnoise[1], bb->e, nb, &eb, bb->wnoise[1], repeats, alpha);
        int work = a->has_work && a->nrun && bb->nrun && (work_differs(&ca, &cb) || work_differs(&fa, &fb));
        int tbeyond = fabs(ct) > nt, ebeyond = energy_judged && fabs(ce) > ne;
        const char *verdict, *why = "";
        if (!a->nrun) { verdict = "only in B"; nonly++; }
        else if (!bb->nrun) { verdict = "only in A"; nonly++; }
        else if (work) { verdict = "changed"; why = "work"; nwork++; }
        else if (repeats && (tbeyond || ebeyond)) {
            verdict = "changed";
            why = tbeyond && ebeyond ? "time, energy" : tbeyond ? "time" : "energy";
            ntime += tbeyond; nenergy += ebeyond; nte++;
        } else if (tbeyond || ebeyond) { verdict = "differs"; ndiffers++; }
        else verdict = "within noise";
        if (json) {
            fprintf(o, "%s\n    {\"kind\": \"%s\", \"name\": ", i ? "," : "", a->kind);
            json_str(o, a->name);
            double ga = ea.mean > 0 ? fa.mean * 1e-9 / ea.mean : 0, gb = eb.mean > 0 ? fb.mean * 1e-9 / eb.mean : 0;
            double sa = ta.mean > 0 ? fa.mean * 1e-9 / ta.mean : 0, sb = tb.mean > 0 ? fb.mean * 1e-9 / tb.mean : 0;
            fprintf(o, ", \"calls\": [%.9g, %.9g], \"flops\": [%.9g, %.9g], \"time_s\": [%.9g, %.9g], "
                       "\"energy_j\": [%.9g, %.9g], \"gflops\": [%.9g, %.9g], \"gflops_per_j\": [%.9g, %.9g], "
                       "\"time_change\": %.9g, \"energy_change\": %.9g, \"time_noise\": %.9g, \"energy_noise\": %.9g, "
                       "\"work_changed\": %s, \"verdict\": \"%s\", \"why\": \"%s\"}",
                    ca.mean, cb.mean, fa.mean, fb.mean, ta.mean, tb.mean, ea.mean, eb.mean, sa, sb, ga, gb,
                    isfinite(ct) ? ct : 1e300, isfinite(ce) ? ce : 1e300, nt, ne, work ? "true" : "false", verdict,
                    why);
        } else {
            char nm[31];
            snprintf(nm, sizeof nm, "%s", a->name);
            fprintf(o, "%-8s ", a->kind);
            ana_pad(o, nm, 30, 0);
            snprintf(b[0], 64, "%+.1f%%", 100 * ct);
            snprintf(b[1], 64, "%+.1f%%", 100 * ce);
            snprintf(b[2], 64, "±%.1f%%", 100 * (energy_judged && ne > nt ? ne : nt));
            fprintf(o, " %10s %10s ", ana_dur(ta.mean, b[3], 64), ana_dur(tb.mean, b[4], 64));
            ana_pad(o, isfinite(ct) ? b[0] : "new", 8, 1);
            fprintf(o, " %10s %10s ", ana_si(ea.mean, "J", b[5], 64), ana_si(eb.mean, "J", b[6], 64));
            ana_pad(o, isfinite(ce) ? b[1] : "new", 8, 1);
            if (a->has_work) {
                snprintf(b[7], 64, ca.mean == floor(ca.mean) ? "%.0f" : "%.1f", ca.mean);
                snprintf(b[8], 64, cb.mean == floor(cb.mean) ? "%.0f" : "%.1f", cb.mean);
                fprintf(o, " %10s %10s ", b[7], b[8]);
            }
            else
                fprintf(o, " %10s %10s ", "-", "-");
            ana_pad(o, b[2], 7, 1);
            fprintf(o, "  %s%s%s%s\n", verdict, why[0] ? " (" : "", why, why[0] ? ")" : "");
        }
    }
    int nchanged = nwork + nonly + nte;
    if (json) {
        fprintf(o, "\n  ],\n  \"changed\": %d,\n  \"changed_work\": %d,\n  \"changed_time\": %d,\n"
                   "  \"changed_energy\": %d,\n  \"only_one_side\": %d,\n  \"differs_not_judged\": %d,\n"
                   "  \"significant\": %s\n}\n",
                nchanged, nwork, ntime, nenergy, nonly, ndiffers, nchanged ? "true" : "false");
    } else if (nchanged) {
        fprintf(o, "\n%d of %zu rows changed: %d in work (calls or FLOPs), %d only on one side, %d in time or energy "
                   "beyond the run-to-run noise%s\n", nchanged, d[0].n, nwork, nonly, nte,
                repeats ? "" : " (not judged: one run per side)");
    } else {
        fprintf(o, "\nno significant change (%zu rows: the same work", d[0].n);
        if (ndiffers)
            fprintf(o, "; %d differ in time or energy beyond the within-run noise, which one run per side cannot "
                       "tell from run-to-run variance: repeat the runs, diff A1 A2 -- B1 B2", ndiffers);
        else
            fprintf(o, ", time and energy within the %s noise", repeats ? "run-to-run" : "within-run");
        fputs(")\n", o);
    }
    if (out)
        fclose(o);
    free(d[0].rows);
    free(d[1].rows);
    return rc;
}
