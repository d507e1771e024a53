/* diff.c - `greenshim-analyze diff <runA> <runB>`: per layer and per
 * routine, time, energy and GFLOP/J in both runs, the change, and whether
 * it exceeds the noise the traces themselves show.  The noise of a row is
 * estimated within each run: the process's span cut into 64 slices, a row's
 * calls in even and in odd slices form two samples (both see warm-up and
 * drift alike), the mean cost per call of the two should agree, and their
 * relative difference (at least 1%, clock and scheduling jitter) bounds
 * what a repeat of the run would change.  A change counts when it exceeds the sum
 * of both runs' noise. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"

struct drow {
    char kind[8], name[256];
    int present;
    double time_s, energy_j, flops;
    double h[2][3];               /* [half][time, energy, calls] from the calls */
};
struct dside { struct drow *rows; size_t n; };

static struct drow *find(struct dside *s, const char *kind, const char *name, int add)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->rows[i].kind, kind) && !strcmp(s->rows[i].name, name))
            return &s->rows[i];
    if (!add)
        return NULL;
    s->rows = realloc(s->rows, (s->n + 1) * sizeof *s->rows);
    struct drow *d = &s->rows[s->n++];
    memset(d, 0, sizeof *d);
    snprintf(d->kind, sizeof d->kind, "%s", kind);
    snprintf(d->name, sizeof d->name, "%s", name);
    return d;
}

static void collect(const struct ana_report *r, struct dside *s)
{
    char nm[300];
    find(s, "total", "whole run", 1)->present = 1;
    struct drow *t = find(s, "total", "whole run", 0);
    t->time_s = r->duration_s; t->energy_j = r->total_j;
    for (size_t i = 0; i < r->nlayers; i++) {
        struct drow *d = find(s, "layer", r->layers[i].name, 1);
        d->present = 1; d->time_s = r->layers[i].time_s; d->energy_j = r->layers[i].energy_j; d->flops = r->layers[i].flops;
    }
    struct drow *o = find(s, "layer", "outside intercepted calls", 1);
    o->present = 1; o->time_s = r->outside_s; o->energy_j = r->outside_j;
    for (size_t i = 0; i < r->nops; i++) {
        snprintf(nm, sizeof nm, "%s (%s)", r->ops[i].op, r->ops[i].api);
        struct drow *d = find(s, "routine", nm, 1);
        d->present = 1; d->time_s = r->ops[i].time_s; d->energy_j = r->ops[i].energy_j; d->flops = r->ops[i].flops;
    }
    /* halves, for the noise estimate (gathered as the calls streamed by) */
    for (size_t i = 0; i < r->nops; i++) {
        snprintf(nm, sizeof nm, "%s (%s)", r->ops[i].op, r->ops[i].api);
        struct drow *d = find(s, "routine", nm, 0);
        double h[2][3];
        if (d && ana_more_halves(r, 0, i, h))
            for (int k = 0; k < 2; k++) for (int w = 0; w < 3; w++) d->h[k][w] += h[k][w];
    }
    for (size_t i = 0; i < r->nlayers; i++) {
        struct drow *d = find(s, "layer", r->layers[i].name, 0);
        double h[2][3];
        if (d && ana_more_halves(r, 1, i, h))
            for (int k = 0; k < 2; k++) for (int w = 0; w < 3; w++) d->h[k][w] += h[k][w];
    }
}

/* relative noise (fraction) of one row's time (w = 0) or energy (w = 1) */
static double noise(const struct drow *d, int w)
{
    double floor = 0.01;
    if (!(d->h[0][2] > 0) || !(d->h[1][2] > 0))
        return floor;   /* no calls on both sides (outside, totals): the floor only */
    double a = d->h[0][w] / d->h[0][2], b = d->h[1][w] / d->h[1][2];
    if (!(a + b > 0))
        return floor;
    double x = fabs(a - b) / ((a + b) / 2);
    return x > floor ? x : floor;
}

static double chg(double a, double b) { return a > 0 ? (b - a) / a : (b > 0 ? INFINITY : 0); }

int cmd_diff(int argc, char **argv)
{
    struct ana_view v[2];
    const char *fmt = "text", *out = NULL;
    ana_view_init(&v[0]);
    int np = 0;
    const char *paths[2] = { 0 };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: greenshim-analyze diff <runA> <runB> [--format text|json] [-o FILE] [options]\n\n"
                   "Per layer and per routine: time, energy and GFLOP/J of both runs (each a trace\n"
                   "directory or file), the change B vs A, and whether it exceeds the noise the\n"
                   "traces show (each row's calls in even and odd 64ths of the run: their mean\n"
                   "difference, at least 1%%, in A plus in B; estimated).\n\n"
                   "  --format FMT         text (default) or json\n  -o FILE              write to FILE\n%s",
                   ana_view_help);
            return 0;
        }
        if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            fmt = argv[++i];
            if (strcmp(fmt, "text") && strcmp(fmt, "json")) {
                fprintf(stderr, "greenshim-analyze diff: unknown format '%s' (text or json)\n", fmt);
                return 2;
            }
            continue;
        }
        if (argv[i][0] != '-' && np < 2) {
            paths[np++] = argv[i];
            continue;
        }
        if (argv[i][0] != '-') {
            fprintf(stderr, "greenshim-analyze diff: want exactly two runs, got a third: %s\n", argv[i]);
            return 2;
        }
        int k = ana_view_opt(&v[0], argc, argv, &i, "diff");
        if (k < 0)
            return 2;
        if (k == 0) {
            fprintf(stderr, "greenshim-analyze diff: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (np != 2) {
        fprintf(stderr, "greenshim-analyze diff: want two runs, runA and runB (try --help)\n");
        return 2;
    }
    out = v[0].out;
    v[1] = v[0];
    v[0].np = v[1].np = 1;
    v[0].paths[0] = paths[0];
    v[1].paths[0] = paths[1];
    struct ana_run run[2];
    struct ana_report r[2];
    int rc = 0;
    for (int s = 0; s < 2; s++) {
        int k = ana_view_load(&v[s], &run[s], &r[s], "diff");
        if (k < 0) {
            if (s) ana_view_free(&run[0], &r[0]);
            return 2;
        }
        if (k) rc = 2;
    }
    struct dside d[2] = { { 0 } };
    collect(&r[0], &d[0]);
    collect(&r[1], &d[1]);
    /* every row of A, then those only in B */
    for (size_t i = 0; i < d[1].n; i++)
        if (!find(&d[0], d[1].rows[i].kind, d[1].rows[i].name, 0))
            find(&d[0], d[1].rows[i].kind, d[1].rows[i].name, 1);
    FILE *o = out ? fopen(out, "w") : stdout;
    if (!o) {
        perror(out);
        rc = 2;
        goto end;
    }
    int json = !strcmp(fmt, "json");
    char b[12][64];
    if (json)
        fprintf(o, "{\n  \"format_version\": 1,\n  \"a\": \"%s\",\n  \"b\": \"%s\",\n  \"provenance\": [\"%s\", \"%s\"],\n"
                   "  \"rows\": [", paths[0], paths[1], r[0].provenance, r[1].provenance);
    else
        fprintf(o, "greenshim diff: A = %s, B = %s\nenergy: A %s, B %s; change: B vs A; noise: estimated from even vs odd 64ths of each run\n\n"
                   "%-8s %-30s %10s %10s %8s %10s %10s %8s %8s %8s %7s  %s\n", paths[0], paths[1], r[0].provenance,
                r[1].provenance, "kind", "name", "time A", "time B", "Δtime", "energy A", "energy B", "Δenergy",
                "GFLOP/J A", "B", "noise", "verdict");
    int nchanged = 0;
    for (size_t i = 0; i < d[0].n; i++) {
        struct drow *a = &d[0].rows[i], *bb = find(&d[1], a->kind, a->name, 0);
        struct drow zero = { 0 };
        if (!bb) bb = &zero;
        double ct = chg(a->time_s, bb->time_s), ce = chg(a->energy_j, bb->energy_j);
        double nt = noise(a, 0) + noise(bb, 0), ne = noise(a, 1) + noise(bb, 1);
        double ga = a->energy_j > 0 ? a->flops * 1e-9 / a->energy_j : 0, gb = bb->energy_j > 0 ? bb->flops * 1e-9 / bb->energy_j : 0;
        const char *verdict;
        if (!a->present) verdict = "only in B";
        else if (!bb->present) verdict = "only in A";
        else if (fabs(ct) > nt || fabs(ce) > ne) verdict = "changed";
        else verdict = "within noise";
        nchanged += strcmp(verdict, "within noise") != 0;
        if (json) {
            fprintf(o, "%s\n    {\"kind\": \"%s\", \"name\": \"", i ? "," : "", a->kind);
            for (const char *p = a->name; *p; p++) {
                if (*p == '"' || *p == '\\') fputc('\\', o);
                fputc(*p, o);
            }
            fprintf(o, "\", \"time_s\": [%.9g, %.9g], \"energy_j\": [%.9g, %.9g], \"gflops_per_j\": [%.9g, %.9g], "
                       "\"time_change\": %.9g, \"energy_change\": %.9g, \"time_noise\": %.9g, \"energy_noise\": %.9g, "
                       "\"verdict\": \"%s\"}",
                    a->time_s, bb->time_s, a->energy_j, bb->energy_j, ga, gb, isfinite(ct) ? ct : 1e300,
                    isfinite(ce) ? ce : 1e300, nt, ne, verdict);
        } else {
            char nm[31];
            snprintf(nm, sizeof nm, "%s", a->name);
            fprintf(o, "%-8s ", a->kind);
            ana_pad(o, nm, 30, 0);
            snprintf(b[0], 64, "%+.1f%%", 100 * ct);
            snprintf(b[1], 64, "%+.1f%%", 100 * ce);
            snprintf(b[2], 64, "±%.1f%%", 100 * (ne > nt ? ne : nt));
            fprintf(o, " %10s %10s ", ana_dur(a->time_s, b[3], 64), ana_dur(bb->time_s, b[4], 64));
            ana_pad(o, isfinite(ct) ? b[0] : "new", 8, 1);
            fprintf(o, " %10s %10s ", ana_si(a->energy_j, "J", b[5], 64), ana_si(bb->energy_j, "J", b[6], 64));
            ana_pad(o, isfinite(ce) ? b[1] : "new", 8, 1);
            fprintf(o, " %8s %8s ", ga ? ana_sig(ga, 3, b[7], 64) : "-", gb ? ana_sig(gb, 3, b[8], 64) : "-");
            ana_pad(o, b[2], 7, 1);
            fprintf(o, "  %s\n", verdict);
        }
    }
    if (json)
        fprintf(o, "\n  ],\n  \"changed\": %d\n}\n", nchanged);
    else
        fprintf(o, "\n%d of %zu rows changed beyond the noise\n", nchanged, d[0].n);
    if (out)
        fclose(o);
end:
    free(d[0].rows);
    free(d[1].rows);
    ana_view_free(&run[0], &r[0]);
    ana_view_free(&run[1], &r[1]);
    return rc;
}
