/* report_more.c - the report stage behind the people-facing views: call
 * filters (--pid --tid --region --from --to), the headline (top layer and
 * op, outside share, steady state per iteration), the per-thread view, the
 * power series with layer bands, roofline points and carbon.  Renderers
 * print these numbers; they compute none of their own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"

/* ---- filters ---- */

static int parse_list(const char *s, uint32_t *out, int max)
{
    int n = 0;
    char *end;
    while (*s && n < max) {
        unsigned long v = strtoul(s, &end, 10);
        if (end == s)
            return -1;
        out[n++] = (uint32_t)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

/* --opt VALUE or --opt=VALUE; NULL when argv[*i] is not --opt */
static const char *optval(int argc, char **argv, int *i, const char *opt, int *missing)
{
    size_t l = strlen(opt);
    *missing = 0;
    if (strncmp(argv[*i], opt, l) != 0)
        return NULL;
    if (argv[*i][l] == '=')
        return argv[*i] + l + 1;
    if (argv[*i][l])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int ana_filter_parse(struct ana_filter *f, int argc, char **argv, int *i, const char *verb)
{
    static const char *opts[] = { "--pid", "--tid", "--region", "--from", "--to" };
    for (int k = 0; k < 5; k++) {
        int miss;
        const char *v = optval(argc, argv, i, opts[k], &miss);
        if (miss) {
            fprintf(stderr, "greenshim-analyze %s: %s needs a value (try --help)\n", verb, opts[k]);
            return -1;
        }
        if (!v)
            continue;
        char *end = NULL;
        int bad = 0;
        switch (k) {
        case 0: bad = (f->npid = parse_list(v, f->pid, 32)) <= 0; break;
        case 1: bad = (f->ntid = parse_list(v, f->tid, 64)) <= 0; break;
        case 2: f->region = v; bad = !*v; break;
        case 3: f->from_s = strtod(v, &end); bad = end == v || *end || f->from_s < 0; break;
        case 4: f->to_s = strtod(v, &end); bad = end == v || *end || f->to_s < 0; break;
        }
        if (bad) {
            fprintf(stderr, "greenshim-analyze %s: bad value '%s' for %s (%s)\n", verb, v, opts[k],
                    k < 2 ? "numbers separated by commas" : k == 2 ? "a region path" : "seconds after the run's start");
            return -1;
        }
        size_t l = strlen(f->desc);
        snprintf(f->desc + l, sizeof f->desc - l, "%s%s %s", l ? " " : "", opts[k], v);
        return 1;
    }
    return 0;
}

void ana_filter_procs(struct ana_run *run)
{
    struct ana_filter *f = run->filter;
    if (!f)
        return;
    f->run_start_ns = 0;
    for (size_t i = 0; i < run->nprocs; i++)
        if (!f->run_start_ns || (double)run->procs[i]->hdr.start_mono_ns < f->run_start_ns)
            f->run_start_ns = (double)run->procs[i]->hdr.start_mono_ns;
    if (!f->npid)
        return;
    struct ana_run gone = { 0 };
    gone.procs = malloc((run->nprocs + 1) * sizeof *gone.procs);
    size_t keep = 0;
    for (size_t i = 0; i < run->nprocs; i++) {
        int ok = 0;
        for (int k = 0; k < f->npid; k++)
            ok |= run->procs[i]->hdr.pid == f->pid[k];
        if (ok)
            run->procs[keep++] = run->procs[i];
        else
            gone.procs[gone.nprocs++] = run->procs[i];
    }
    run->nprocs = keep;
    ana_run_free(&gone);
}

/* a region path matches a prefix at a path boundary: "train" matches
 * "train" and "train/fc1", not "training" */
static int region_match(const char *path, const char *want)
{
    size_t l = strlen(want);
    return path && strncmp(path, want, l) == 0 && (path[l] == 0 || path[l] == '/');
}

void ana_filter_proc(struct ana_run *run, struct ana_proc *p)
{
    struct ana_filter *f = run->filter;
    if (!f || (!f->ntid && !f->region && f->from_s <= 0 && f->to_s <= 0))
        return;
    /* region ids that match, looked up once */
    unsigned char *rok = NULL;
    uint32_t maxid = 0;
    if (f->region) {
        for (size_t i = 0; i < p->nstrs; i++)
            if (p->strs[i].id > maxid)
                maxid = p->strs[i].id;
        rok = calloc(maxid + 1, 1);
        for (size_t i = 0; i < p->nstrs; i++)
            rok[p->strs[i].id] = region_match(p->strs[i].text, f->region);
    }
    double lo = f->run_start_ns + f->from_s * 1e9, hi = f->to_s > 0 ? f->run_start_ns + f->to_s * 1e9 : 1e300;
    size_t keep = 0;
    for (size_t i = 0; i < p->ncalls; i++) {
        struct ana_call *c = &p->calls[i];
        int ok = 1;
        if (f->ntid) {
            ok = 0;
            for (int k = 0; k < f->ntid; k++)
                ok |= c->thread < p->nthreads && p->threads[c->thread].tid == f->tid[k];
        }
        if (ok && rok)
            ok = c->region <= maxid && rok[c->region];
        if (ok && ((double)c->t0 < lo || (double)c->t1 > hi))
            ok = 0;
        if (ok) {
            p->calls[keep++] = *c;
        } else {
            /* its energy stays in the run, outside the selected calls */
            f->dropped_calls++;
            f->dropped_j += c->energy_j;
            p->outside_j += c->energy_j;
            p->calls_j -= c->energy_j;
        }
    }
    p->ncalls = keep;
    if (rok) {
        /* gaps inside other regions are no longer a region's: outside */
        for (uint32_t id = 1; id < p->nreg_j; id++)
            if (id > maxid || !rok[id]) {
                p->outside_j += p->reg_j[id];
                f->dropped_j += p->reg_j[id];
                p->reg_j[id] = 0;
                p->reg_s[id] = 0;
            }
        size_t k = 0;
        for (size_t i = 0; i < p->nrev; i++)
            if (p->rev[i].id <= maxid && rok[p->rev[i].id])
                p->rev[k++] = p->rev[i];
        p->nrev = k;
        free(rok);
    }
}

/* ---- the cumulative energy curve of one process (as attribute.c builds it) ---- */

static int dom_used(const struct ana_proc *p, const struct ana_domain *d)
{
    if (d->n < 2 || !p->provenance)
        return 0;
    if (!strcmp(p->provenance, "measured"))
        return d->sum && !strcmp(d->kind, "energy") && strcmp(d->provenance, "modelled") != 0;
    if (!strcmp(p->provenance, "modelled"))
        return !strcmp(d->kind, "cpu") && d->watts_per_core > 0;
    return 0;
}

static double dom_at(const struct ana_domain *d, double t)
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
static void dom_at_many(const struct ana_domain *d, const double *t, size_t n, double *out)
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
        if (dom_used(p, &p->dom[i]))
            e += dom_at(&p->dom[i], t);
    return e;
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
        const char *v = optval(argc, argv, i, opts[k], &miss);
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

static double elem_bytes(uint8_t op)
{
    static const double sz[4] = { 4, 8, 8, 16 };
    return sz[GS_OP_DTYPE(op) & 3];
}

/* each operand read or written once: an estimate, not a measurement */
static double call_bytes(const struct ana_call *c)
{
    double m = c->m, n = c->n, k = c->k;
    if (GS_OP_ROUTINE(c->op) == GS_R_GEMV || k == 0)
        return elem_bytes(c->op) * (m * n + m + n);
    return elem_bytes(c->op) * (m * k + k * n + m * n);
}

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
    m->outside_share_s = r->wall_sum_s > 0 ? r->outside_s / r->wall_sum_s : 0;

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

    /* run span, per-thread rows, steady-state span, layer bytes */
    double lo = 1e300, hi = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        if ((double)p->t_start < lo) lo = (double)p->t_start;
        if ((double)p->t_end > hi) hi = (double)p->t_end;
    }
    if (!(hi > lo)) { lo = 0; hi = 1; }
    m->layer_bytes = calloc(r->nlayers + 1, sizeof *m->layer_bytes);
    int other = -1;
    for (size_t i = 0; i < r->nlayers; i++)
        if (!strcmp(r->layers[i].name, "other"))
            other = (int)i;
    double s0 = 1e300, s1 = 0;
    size_t nb = o && o->nbins ? o->nbins : 200;
    m->nbins = nb;
    m->bin_s = (hi - lo) * 1e-9 / (double)nb;
    m->bin_w = calloc(nb, sizeof *m->bin_w);
    m->bin_layer = malloc(nb * sizeof *m->bin_layer);
    m->freq_mhz = calloc(nb, sizeof *m->freq_mhz);
    size_t nl = r->nlayers <= 4096 ? r->nlayers : 0;
    double *lt = calloc(nb * (nl + 1), sizeof *lt);      /* call time per bin and layer */
    double bw = (hi - lo) / (double)nb;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        size_t first = m->nthreads;
        for (size_t t = 0; t < p->nthreads; t++) {
            m->threads = realloc(m->threads, (m->nthreads + 1) * sizeof *m->threads);
            m->threads[m->nthreads++] = (struct ana_thread_row){ .pid = p->hdr.pid, .tid = p->threads[t].tid };
        }
        double *tf = calloc(p->nthreads + 1, sizeof *tf), *tl = calloc(p->nthreads + 1, sizeof *tl);
        for (size_t i = 0; i < p->ncalls; i++) {
            const struct ana_call *c = &p->calls[i];
            double dt = (double)(c->t1 - c->t0) * 1e-9;
            if (c->thread < p->nthreads) {
                struct ana_thread_row *t = &m->threads[first + c->thread];
                t->calls++; t->time_s += dt; t->energy_j += c->energy_j; t->flops += ana_flops(c);
                if (!tf[c->thread] || (double)c->t0 < tf[c->thread]) tf[c->thread] = (double)c->t0;
                if ((double)c->t1 > tl[c->thread]) tl[c->thread] = (double)c->t1;
            }
            if (c->layer >= 0 && (size_t)c->layer < r->nlayers) {
                m->layer_bytes[c->layer] += call_bytes(c);
                if (c->layer != other) {
                    if ((double)c->t0 < s0) s0 = (double)c->t0;
                    if ((double)c->t1 > s1) s1 = (double)c->t1;
                }
            }
            if (nl && c->layer >= 0 && (size_t)c->layer < nl) {
                /* the call's time, split over the bins it spans */
                double a = (double)c->t0, b = (double)c->t1;
                size_t b0 = (size_t)((a - lo) / bw), b1 = (size_t)((b - lo) / bw);
                if (b0 >= nb) b0 = nb - 1;
                if (b1 >= nb) b1 = nb - 1;
                for (size_t k = b0; k <= b1; k++) {
                    double e0 = lo + bw * (double)k, e1 = e0 + bw;
                    double ov = (b < e1 ? b : e1) - (a > e0 ? a : e0);
                    if (ov > 0 || b0 == b1)
                        lt[k * nl + (size_t)c->layer] += ov > 0 ? ov : 1;
                }
            }
        }
        for (size_t t = 0; t < p->nthreads; t++)
            m->threads[first + t].span_s = tl[t] > tf[t] ? (tl[t] - tf[t]) * 1e-9 : 0;
        free(tf);
        free(tl);
        /* power per bin: the process's curve at the bin edges */
        double *edge = malloc((nb + 1) * sizeof *edge), *e = calloc(nb + 1, sizeof *e);
        for (size_t k = 0; k <= nb; k++)
            edge[k] = lo + bw * (double)k;
        for (int d = 0; d < p->ndom; d++)
            if (dom_used(p, &p->dom[d]))
                dom_at_many(&p->dom[d], edge, nb + 1, e);
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
        for (size_t l = 0; l < nl; l++)
            if (lt[k * nl + l] > 0 && (best < 0 || lt[k * nl + l] > lt[k * nl + (size_t)best]))
                best = (int)l;
        m->bin_layer[k] = best;
    }
    free(lt);
    if (m->nthreads > 1)
        qsort(m->threads, m->nthreads, sizeof *m->threads, cmp_thread);

    /* steady state: from the first to the last call of the detected loop */
    if (r->iterations > 0 && s1 > s0) {
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
const struct ana_stage ana_stage_more = { "more", NULL, NULL, more_end };

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
