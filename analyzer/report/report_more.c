/* report_more.c - the report stage behind the people-facing views (the
 * call filters it applies are read/filter.c's): the headline (top layer and
 * op, outside share, steady state per iteration), the per-thread view, the
 * power series with layer bands, roofline points and carbon.  Renderers
 * print these numbers; they compute none of their own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"
#include "read/filter.h"
#include "stages/energy_curve.h"

/* ---- what the people-facing view needs from each call, gathered as the
 * calls stream by (nothing per call is kept) ---- */
#define MORE_BINS 200
#define MORE_MAXL 4096
struct more_acc {
    double lo, hi, bw, inv_bw;
    double *mid;                  /* 64 / each process's span: slices per ns (diff's even/odd samples) */
    size_t *tbase;                /* first thread row of each process */
    struct ana_thread_row *threads; size_t nthreads;
    double *tf, *tl;              /* first/last call time per thread row */
    double *lbytes; size_t nlb;   /* per layer (stream index) */
    double **lt;                  /* per layer (stream index < MORE_MAXL): call time per bin */
    size_t nlt;
    double s0, s1;                /* span of the detected loop's calls */
    /* for diff: per op and layer (stream index) [even/odd slice of the process's span][time, energy, calls] */
    double (*oph)[2][3]; size_t noph;
    double (*lyh)[2][3]; size_t nlyh;
};

static void more_acc_free(void *x)
{
    struct more_acc *a = x;
    free(a->tbase); free(a->mid); free(a->threads); free(a->tf); free(a->tl); free(a->lbytes);
    for (size_t i = 0; i < a->nlt; i++) free(a->lt[i]);
    free(a->lt); free(a->oph); free(a->lyh);
    free(a);
}

static inline double elem_bytes(uint8_t op)
{
    static const double sz[4] = { 4, 8, 8, 16 };
    return sz[GS_OP_DTYPE(op) & 3];
}

/* each operand read or written once: an estimate, not a measurement */
static inline double call_bytes(const struct ana_call *c)
{
    double m = c->m, n = c->n, k = c->k;
    if (GS_OP_ROUTINE(c->op) == GS_R_GEMV || k == 0)
        return elem_bytes(c->op) * (m * n + m + n);
    return elem_bytes(c->op) * (m * k + k * n + m * n);
}


static void *grow0(void *p, size_t *n, size_t want, size_t size)
{
    if (want <= *n)
        return p;
    size_t m = want * 2;
    p = ana_xrealloc(p, m, size);
    memset((char *)p + *n * size, 0, (m - *n) * size);
    *n = m;
    return p;
}

static int more_begin(struct ana_report *r)
{
    const struct ana_run *run = r->run;
    struct more_acc *a = calloc(1, sizeof *a);
    if (!a)
        return -1;
    a->lo = 1e300; a->hi = 0; a->s0 = 1e300; a->s1 = 0;
    a->tbase = ana_xmalloc(run->nprocs + 1, sizeof *a->tbase);
    a->mid = ana_xmalloc(run->nprocs + 1, sizeof *a->mid);
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        a->mid[pi] = p->t_end > p->t_start ? 64 / ((double)p->t_end - (double)p->t_start) : 0;
        if ((double)p->t_start < a->lo) a->lo = (double)p->t_start;
        if ((double)p->t_end > a->hi) a->hi = (double)p->t_end;
        a->tbase[pi] = a->nthreads;
        a->nthreads += p->nthreads;
    }
    if (!(a->hi > a->lo)) { a->lo = 0; a->hi = 1; }
    a->bw = (a->hi - a->lo) / MORE_BINS;
    a->inv_bw = 1 / a->bw;
    a->threads = calloc(a->nthreads + 1, sizeof *a->threads);
    a->tf = calloc(a->nthreads + 1, sizeof *a->tf);
    a->tl = calloc(a->nthreads + 1, sizeof *a->tl);
    if (!a->threads || !a->tf || !a->tl)
        exit(3);
    for (size_t pi = 0; pi < run->nprocs; pi++)
        for (size_t t = 0; t < run->procs[pi]->nthreads; t++)
            a->threads[a->tbase[pi] + t] = (struct ana_thread_row){ .pid = run->procs[pi]->hdr.pid,
                                                                    .tid = run->procs[pi]->threads[t].tid };
    ana_report_ext_set(r, "more", a, more_acc_free);
    return 0;
}

static void more_event(struct ana_report *r, void *self, const struct ana_event *ev)
{
    if (ev->kind != ANA_EV_CALL)
        return;
    struct more_acc *a = self;
    const struct ana_proc *p = ev->proc;
    const struct ana_call *c = ev->call;
    if (!a || (r->run->filter && !ana_filter_call(r, p, c)))
        return;
    double dt = (double)(c->t1 - c->t0) * 1e-9;
    if (c->thread < p->nthreads) {
        size_t ti = a->tbase[p->index] + c->thread;
        struct ana_thread_row *t = &a->threads[ti];
        t->calls++; t->time_s += dt; t->energy_j += c->energy_j; t->flops += ev->flops;
        if (!a->tf[ti] || (double)c->t0 < a->tf[ti]) a->tf[ti] = (double)c->t0;
        if ((double)c->t1 > a->tl[ti]) a->tl[ti] = (double)c->t1;
    }
    /* 64 slices of the process's span, even and odd apart: two samples
     * that share warm-up and drift */
    double x = ((double)c->t0 - (double)p->t_start) * a->mid[p->index];
    int h = x > 0 ? (x < 9.2e18 ? (int)((int64_t)x & 1) : (int)((uint64_t)x & 1)) : 0;   /* (signed: cheaper, same) */
    int oi = r->op_idx[c->op][(c->flags & GS_F_FORTRAN) != 0] - 1;
    if (oi >= 0) {
        if ((size_t)oi >= a->noph)
            a->oph = grow0(a->oph, &a->noph, (size_t)oi + 1, sizeof *a->oph);
        a->oph[oi][h][0] += dt; a->oph[oi][h][1] += c->energy_j; a->oph[oi][h][2]++;
    }
    if (c->layer >= 0 && (size_t)c->layer < r->nlayers) {
        size_t l = (size_t)c->layer;
        if (l >= a->nlb)
            a->lbytes = grow0(a->lbytes, &a->nlb, l + 1, sizeof *a->lbytes);
        a->lbytes[l] += call_bytes(c);
        if (l >= a->nlyh)
            a->lyh = grow0(a->lyh, &a->nlyh, l + 1, sizeof *a->lyh);
        a->lyh[l][h][0] += dt; a->lyh[l][h][1] += c->energy_j; a->lyh[l][h][2]++;
        if (r->layers[l].name[0] != 'o' || strcmp(r->layers[l].name, "other") != 0) {
            if ((double)c->t0 < a->s0) a->s0 = (double)c->t0;
            if ((double)c->t1 > a->s1) a->s1 = (double)c->t1;
        }
        if (l < MORE_MAXL) {
            if (l >= a->nlt)
                a->lt = grow0(a->lt, &a->nlt, l + 1, sizeof *a->lt);
            if (!a->lt[l]) {
                a->lt[l] = calloc(MORE_BINS, sizeof **a->lt);
                if (!a->lt[l])
                    exit(3);
            }
            /* the call's time, split over the bins it spans */
            double x = (double)c->t0, y = (double)c->t1;
            double fx = (x - a->lo) * a->inv_bw, fy = (y - a->lo) * a->inv_bw;
            /* clamped before the conversion: a time far outside the run (damaged
             * file) must not overflow size_t (UB) */
            size_t b0 = fx > 0 ? (fx < MORE_BINS - 1 ? (size_t)(int)fx : MORE_BINS - 1) : 0;
            size_t b1 = fy > 0 ? (fy < MORE_BINS - 1 ? (size_t)(int)fy : MORE_BINS - 1) : 0;
            if (b0 == b1) {             /* most calls: one bin (the loop's arithmetic) */
                double e0 = a->lo + a->bw * (double)b0, e1 = e0 + a->bw;
                double ov = (y < e1 ? y : e1) - (x > e0 ? x : e0);
                a->lt[l][b0] += ov > 0 ? ov : 1;
                return;
            }
            for (size_t k = b0; k <= b1; k++) {
                double e0 = a->lo + a->bw * (double)k, e1 = e0 + a->bw;
                double ov = (y < e1 ? y : e1) - (x > e0 ? x : e0);
                if (ov > 0 || b0 == b1)
                    a->lt[l][k] += ov > 0 ? ov : 1;
            }
        }
    }
}

/* diff: time and energy of one op or layer row in each half of the run */
int ana_more_halves(const struct ana_report *r, int is_layer, size_t row, double out[2][3])
{
    const struct more_acc *a = ana_report_ext(r, "more");
    memset(out, 0, 6 * sizeof(double));
    if (!a)
        return 0;
    size_t n = is_layer ? r->nlayer_remap : r->nop_remap;   /* not nlayers/nops: see ana.h */
    const int *remap = is_layer ? r->layer_remap : r->op_remap;
    for (size_t i = 0; i < n && remap; i++)
        if (remap[i] >= 0 && (size_t)remap[i] == row) {
            if (is_layer && i < a->nlyh)
                memcpy(out, a->lyh[i], 6 * sizeof(double));
            if (!is_layer && i < a->noph)
                memcpy(out, a->oph[i], 6 * sizeof(double));
            return 1;
        }
    return 0;
}

/* Under --region, the regions outside the path and the layers they named
 * hold nothing of the selection: drop their rows (the stream's layer
 * indices then map to -1). */
static void drop_filtered_rows(struct ana_report *r)
{
    const struct ana_filter *f = r->run->filter;
    struct more_acc *a = ana_report_ext(r, "more");
    if (!f || !f->region || !a || !r->layer_remap)
        return;
    size_t k = 0;
    for (size_t i = 0; i < r->nregions; i++) {
        if (ana_region_match(r->regions[i].name, f->region))
            r->regions[k++] = r->regions[i];
        else
            free(r->regions[i].name);
    }
    r->nregions = k;
    int *to = ana_xmalloc(r->nlayers + 1, sizeof *to);
    k = 0;
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct ana_layer_row *l = &r->layers[i];
        int empty = !l->calls && l->energy_j == 0 && l->time_s == 0;
        to[i] = empty && r->layers_from_regions && !ana_region_match(l->name, f->region) ? -1 : (int)k;
        if (to[i] >= 0)
            r->layers[k++] = r->layers[i];
    }
    for (size_t i = 0; i < r->nlayer_remap; i++)
        if (r->layer_remap[i] >= 0)
            r->layer_remap[i] = to[r->layer_remap[i]];
    r->nlayers = k;
    free(to);
}

/* ---- carbon ---- */

double ana_co2_g(const struct ana_report *r, double joules)
{
    if (!r->more || r->more->carbon_g_kwh < 0)
        return -1;
    return joules / 3.6e6 * r->more->carbon_g_kwh;
}

int ana_carbon_opt(struct ana_more_opts *o, int argc, char **argv, int *i, const char *verb)
{
    static const char *opts[] = { "--carbon-intensity", "--peak-gflops", "--peak-gbs" };
    for (int k = 0; k < 3; k++) {
        int miss;
        const char *v = ana_optval(argc, argv, i, opts[k], &miss);
        if (miss) {
            fprintf(stderr, "greenshim-analyze %s: %s needs a number (try --help)\n", verb, opts[k]);
            return -1;
        }
        if (!v)
            continue;
        char *end;
        double x = strtod(v, &end);
        if (end == v || *end || !(x >= 0) || !isfinite(x) || (k && x == 0)) {
            fprintf(stderr, "greenshim-analyze %s: bad value '%s' for %s (%s)\n", verb, v, opts[k],
                    k ? "a positive number" : "grams CO2e per kWh, >= 0");
            return -1;
        }
        if (k == 0) { o->carbon_g_kwh = x; o->carbon_src = "--carbon-intensity"; }
        else if (k == 1) o->peak_gflops = x;
        else o->peak_gbs = x;
        return 1;
    }
    return 0;
}

/* ---- the stage ---- */

static int cmp_thread(const void *a, const void *b)
{
    const struct ana_thread_row *x = a, *y = b;
    if (x->energy_j != y->energy_j)
        return x->energy_j < y->energy_j ? 1 : -1;
    return x->time_s < y->time_s ? 1 : x->time_s > y->time_s ? -1 : 0;
}

void ana_report_more(struct ana_report *r, const struct ana_more_opts *o)
{
    ana_report_more_free(r);              /* rebuilt with the verb's options */
    drop_filtered_rows(r);
    struct ana_more *m = calloc(1, sizeof *m);
    const struct ana_run *run = r->run;
    r->more = m;
    m->per_thread = o ? o->per_thread : 0;
    m->top_layer = m->top_op = -1;
    for (size_t i = 0; i < r->nlayers; i++)
        if (m->top_layer < 0 || r->layers[i].energy_j > r->layers[m->top_layer].energy_j)
            m->top_layer = (int)i;
    for (size_t i = 0; i < r->nops; i++)
        if (m->top_op < 0 || r->ops[i].energy_j > r->ops[m->top_op].energy_j)
            m->top_op = (int)i;
    if (r->total_j > 0) {
        if (m->top_layer >= 0) m->top_layer_share_j = r->layers[m->top_layer].energy_j / r->total_j;
        if (m->top_op >= 0) m->top_op_share_j = r->ops[m->top_op].energy_j / r->total_j;
        m->outside_share_j = r->outside_j / r->total_j;
    }
    m->outside_share_s = r->duration_s > 0 ? r->outside_s / r->duration_s : 0;   /* no call of any process */

    /* carbon: the option, else the environment; never a guessed grid */
    m->carbon_g_kwh = -1;
    if (o && o->carbon_g_kwh >= 0) {
        m->carbon_g_kwh = o->carbon_g_kwh;
        snprintf(m->carbon_src, sizeof m->carbon_src, "%s", o->carbon_src ? o->carbon_src : "given");
    } else {
        const char *e = getenv("GREENSHIM_CARBON_INTENSITY");
        char *end;
        double x = e && *e ? strtod(e, &end) : -1;
        if (e && *e && (end == e || *end || !(x >= 0)))
            ana_warn(r->run, "GREENSHIM_CARBON_INTENSITY='%s' is not grams CO2e per kWh: no CO2e given", e);
        else if (x >= 0) {
            m->carbon_g_kwh = x;
            snprintf(m->carbon_src, sizeof m->carbon_src, "GREENSHIM_CARBON_INTENSITY");
        }
    }

    if (run->filter) {
        m->filtered_calls = run->filter->dropped_calls;
        m->filtered_j = run->filter->dropped_j;
        snprintf(m->filter_desc, sizeof m->filter_desc, "%s", run->filter->desc);
    }

    /* run span, per-thread rows, steady-state span, layer bytes: gathered
     * from the event stream by the "more" stage (more_event) */
    const struct more_acc *acc = ana_report_ext(r, "more");
    double lo = 1e300, hi = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        if ((double)p->t_start < lo) lo = (double)p->t_start;
        if ((double)p->t_end > hi) hi = (double)p->t_end;
    }
    if (!(hi > lo)) { lo = 0; hi = 1; }
    m->layer_bytes = calloc(r->nlayers + 1, sizeof *m->layer_bytes);
    double s0 = acc ? acc->s0 : 1e300, s1 = acc ? acc->s1 : 0;
    size_t nb = MORE_BINS;
    m->nbins = nb;
    m->bin_s = (hi - lo) * 1e-9 / (double)nb;
    m->bin_w = calloc(nb, sizeof *m->bin_w);
    m->bin_layer = malloc(nb * sizeof *m->bin_layer);
    m->freq_mhz = calloc(nb, sizeof *m->freq_mhz);
    double bw = (hi - lo) / (double)nb;
    if (acc) {
        m->threads = malloc((acc->nthreads + 1) * sizeof *m->threads);
        for (size_t t = 0; t < acc->nthreads; t++) {
            m->threads[t] = acc->threads[t];
            m->threads[t].span_s = acc->tl[t] > acc->tf[t] ? (acc->tl[t] - acc->tf[t]) * 1e-9 : 0;
        }
        m->nthreads = acc->nthreads;
        for (size_t l = 0; l < r->nlayer_remap && l < acc->nlb; l++)
            if (r->layer_remap[l] >= 0)
                m->layer_bytes[r->layer_remap[l]] = acc->lbytes[l];
    }
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        /* power per bin: the process's curve at the bin edges */
        double *edge = malloc((nb + 1) * sizeof *edge), *e = calloc(nb + 1, sizeof *e);
        for (size_t k = 0; k <= nb; k++)
            edge[k] = lo + bw * (double)k;
        for (int d = 0; d < p->ndom; d++)
            if (ana_dom_used(p, &p->dom[d]))
                ana_dom_at_many(&p->dom[d], edge, nb + 1, e);
        for (size_t k = 0; k < nb; k++)
            m->bin_w[k] += (e[k + 1] - e[k]) / (bw * 1e-9);
        /* frequency: the mean of the samples in each bin, over every freq domain */
        for (int d = 0; d < p->ndom; d++) {
            const struct ana_domain *dm = &p->dom[d];
            if (strcmp(dm->kind, "freq") != 0 || !dm->n)
                continue;
            m->has_freq = 1;
            double *sum = calloc(nb, sizeof *sum), *cnt = calloc(nb, sizeof *cnt);
            for (size_t i = 0; i < dm->n; i++) {
                double t = (double)dm->t[i];
                if (t < lo || t > hi) continue;
                size_t k = (size_t)((t - lo) / bw);
                if (k >= nb) k = nb - 1;
                sum[k] += (double)dm->v[i] * 1e-3;
                cnt[k]++;
            }
            double last = dm->v[0] * 1e-3;
            for (size_t k = 0; k < nb; k++) {
                if (cnt[k]) last = sum[k] / cnt[k];
                m->freq_mhz[k] += last;          /* held between samples */
            }
            free(sum);
            free(cnt);
        }
        free(edge);
        free(e);
    }
    for (size_t k = 0; k < nb; k++) {
        int best = -1;
        double bv = 0;
        for (size_t l = 0; acc && l < acc->nlt && l < r->nlayer_remap; l++)
            if (r->layer_remap[l] >= 0 && acc->lt[l] && acc->lt[l][k] > 0 && (best < 0 || acc->lt[l][k] > bv)) {
                best = r->layer_remap[l];
                bv = acc->lt[l][k];
            }
        m->bin_layer[k] = best;
    }
    if (m->nthreads > 1)
        qsort(m->threads, m->nthreads, sizeof *m->threads, cmp_thread);

    /* steady state: from the first to the last call of the detected loop
     * (not under a filter: the loop's iterations are the whole run's) */
    if (r->iterations > 0 && s1 > s0 && !(run->filter && run->filter->desc[0])) {
        m->steady_iters = r->iterations;
        m->steady_t0_s = (s0 - lo) * 1e-9;
        m->steady_t1_s = (s1 - lo) * 1e-9;
        for (size_t pi = 0; pi < run->nprocs; pi++)
            m->steady_j += ana_proc_energy_at(run->procs[pi], s1) - ana_proc_energy_at(run->procs[pi], s0);
    }

    /* roofline ceilings: given, else the best this run's shapes reached */
    m->peak_gflops = o && o->peak_gflops > 0 ? o->peak_gflops : 0;
    m->peak_gbs = o && o->peak_gbs > 0 ? o->peak_gbs : 0;
    m->peak_src = m->peak_gflops && m->peak_gbs ? "given" : "observed: the best shape of this run, not the hardware peak";
    double bg = 0, bb = 0;
    for (size_t i = 0; i < r->nshapes; i++) {
        const struct ana_shape_row *s = &r->shapes[i];
        if (s->time_s <= 0 || s->calls == 0)
            continue;
        struct ana_call c = { .m = s->m, .n = s->n, .k = s->k };
        /* op from its name: the dtype letter */
        const char *dt = strchr("sdcz", s->op[0]);
        c.op = GS_OP(strstr(s->op, "gemv") ? GS_R_GEMV : GS_R_GEMM, dt ? (int)(dt - "sdcz") : 0);
        double g = s->flops * 1e-9 / s->time_s, b = call_bytes(&c) * (double)s->calls * 1e-9 / s->time_s;
        if (g > bg) bg = g;
        if (b > bb) bb = b;
    }
    if (!m->peak_gflops) m->peak_gflops = bg;
    if (!m->peak_gbs) m->peak_gbs = bb;
}

static int more_end(struct ana_report *r)
{
    ana_report_more(r, NULL);   /* defaults; a verb with options rebuilds it */
    return 0;
}
const struct ana_stage ana_stage_more = { "more", more_begin, more_event, more_end };

void ana_report_more_free(struct ana_report *r)
{
    struct ana_more *m = r->more;
    if (!m)
        return;
    free(m->threads);
    free(m->bin_w);
    free(m->bin_layer);
    free(m->freq_mhz);
    free(m->layer_bytes);
    free(m->dvfs);
    free(m);
    r->more = NULL;
}

/* modelled energy is CPU time x watts: BLAS threads that spin while they
 * wait for work burn CPU time the model counts as energy (a run of one
 * program varies ~3x with BLAS threads and load).  NULL: nothing to say
 * (measured energy, or one BLAS thread everywhere). */
const char *ana_spin_note(const struct ana_report *r, char *b, size_t n)
{
    if (!r->provenance || strcmp(r->provenance, "modelled"))
        return NULL;
    if (r->blas_threads > 1)
        snprintf(b, n, "modelled energy counts CPU time, BLAS threads spin-waiting for work included (%d BLAS threads, "
                 "%s): it varies with BLAS threads and machine load; compare runs on time and FLOPs (diff does), or "
                 "record with OPENBLAS_NUM_THREADS=1", r->blas_threads, r->blas_threads_how);
    else if (r->blas_threads_unknown)
        snprintf(b, n, "modelled energy counts CPU time, BLAS threads spin-waiting for work included (BLAS threads "
                 "not recorded): with more than one it varies with BLAS threads and machine load; compare runs on "
                 "time and FLOPs (diff does)");
    else
        return NULL;
    return b;
}
