/* report.c - the stages' glue and the one struct the renderers print:
 * ops, shapes, regions, layers, outside, energy, counters.  Rows are found
 * by hash (cost linear in calls, whatever the number of regions, layers or
 * shapes) and ordered at the end by where they first appeared. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"
#include "stages/rows.h"

static const char *region_name_of(void *ctx, uint32_t i) { return ((struct ana_report *)ctx)->regions[i].name; }
static const char *layer_name_of(void *ctx, uint32_t i) { return ((struct ana_report *)ctx)->layers[i].name; }

static int op_row(struct ana_report *r, const struct ana_call *c, const struct ana_first *at)
{
    int api = (c->flags & GS_F_FORTRAN) != 0;
    if (ANA_OP_IS_DNNL(c->op))
        api = 0;                        /* the op byte alone says dnnl */
    else if (ANA_OP_IS_COMM(c->op))
        api = ANA_COMM_LIB(c->flags) == GS_COMM_NCCL;   /* MPI and NCCL in one process (Horovod) */
    int32_t i = r->op_idx[c->op][api] - 1;
    if (i < 0) {
        char op[16];
        ana_op_name(c->op, op);
        for (size_t k = 0; k < r->nops && i < 0; k++)   /* unknown routines share "unknown" names */
            if (strcmp(r->ops[k].op, op) == 0 && !strcmp(r->ops[k].api, ana_call_api(c)))
                i = (int32_t)k;
        if (i < 0) {
            r->ops = ana_row_grow(r->ops, r->nops, sizeof *r->ops);
            memset(&r->ops[r->nops], 0, sizeof r->ops[0]);
            snprintf(r->ops[r->nops].op, sizeof r->ops[0].op, "%s", op);
            r->ops[r->nops].api = ana_call_api(c);
            r->ops[r->nops].first = ana_first_none;
            i = (int32_t)r->nops++;
        }
        r->op_idx[c->op][api] = i + 1;
    }
    ana_first_min(&r->ops[i].first, at);
    return i;
}

/* shapes: (op row = op name and api, transposes, m, n, k) */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}
static inline uint64_t shape_hash(uint32_t oi, int ta, int tb, uint32_t m, uint32_t n, uint32_t k)
{
    return mix64(mix64((uint64_t)m << 32 | n) ^ ((uint64_t)k << 24 | (uint64_t)oi << 4 | (uint64_t)ta << 2 | (uint64_t)tb));
}

static int shape_row(struct ana_report *r, int oi, const struct ana_call *c, const struct ana_first *at)
{
    int ta = GS_F_TRANSA(c->flags), tb = GS_F_TRANSB(c->flags);
    if (r->shape_last) {
        struct ana_shape_row *s = &r->shapes[r->shape_last - 1];
        if (s->m == c->m && s->n == c->n && s->k == c->k && s->transa == ta && s->transb == tb &&
            s->oi == (uint32_t)oi) {
            ana_first_min(&s->first, at);
            return (int)r->shape_last - 1;
        }
    }
    uint64_t h = shape_hash((uint32_t)oi, ta, tb, c->m, c->n, c->k);
    if ((r->nshapes + 1) * 2 > r->shape_cap) {
        size_t cap = r->shape_cap ? r->shape_cap * 2 : 256;
        uint32_t *t = ana_xmalloc(cap, sizeof *t);
        memset(t, 0, cap * sizeof *t);
        for (size_t i = 0; i < r->nshapes; i++) {
            const struct ana_shape_row *s = &r->shapes[i];
            size_t j = shape_hash(s->oi, s->transa, s->transb, s->m, s->n, s->k) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = (uint32_t)i + 1;
        }
        free(r->shape_hash);
        r->shape_hash = t;
        r->shape_cap = cap;
    }
    size_t j = h & (r->shape_cap - 1);
    for (; r->shape_hash[j]; j = (j + 1) & (r->shape_cap - 1)) {
        struct ana_shape_row *s = &r->shapes[r->shape_hash[j] - 1];
        if (s->m == c->m && s->n == c->n && s->k == c->k && s->transa == ta && s->transb == tb &&
            s->oi == (uint32_t)oi) {
            ana_first_min(&s->first, at);
            r->shape_last = r->shape_hash[j];
            return (int)(r->shape_hash[j] - 1);
        }
    }
    r->shapes = ana_row_grow(r->shapes, r->nshapes, sizeof *r->shapes);
    struct ana_shape_row *s = &r->shapes[r->nshapes];
    memset(s, 0, sizeof *s);
    snprintf(s->op, sizeof s->op, "%s", r->ops[oi].op);
    s->dims = ana_call_dims(at->a0 < r->run->nprocs ? r->run->procs[at->a0] : NULL, c);
    s->api = r->ops[oi].api; s->transa = ta; s->transb = tb; s->m = c->m; s->n = c->n; s->k = c->k;
    s->oi = (uint32_t)oi;
    s->first = *at;
    r->shape_hash[j] = (uint32_t)++r->nshapes;
    r->shape_last = (uint32_t)r->nshapes;
    return (int)r->nshapes - 1;
}

/* ---- stages ---- */
static int timeline_begin(struct ana_report *r)
{
    for (size_t pi = 0; pi < r->run->nprocs; pi++) {
        r->run->procs[pi]->index = (uint32_t)pi;
        ana_timeline(r->run->procs[pi]);
    }
    return 0;
}
const struct ana_stage ana_stage_timeline = { "timeline", timeline_begin, NULL, NULL };

static const char *lost_reason(unsigned code)
{
    switch (code) {
    case 0: return "";
    case 1: return "no space left on the file system";
    case 2: return "size cap (GREENSHIM_MAX_MB) reached";
    case 3: return "I/O or descriptor error";
    case 4: return "out of memory";
    default: return "unknown reason";
    }
}
const char *ana_lost_reason(unsigned code) { return lost_reason(code); }

static int energy_begin(struct ana_report *r)
{
    struct ana_run *run = r->run;
    r->idle_source = "none (no energy source)";
    if (ana_energy_setup(r) != 0)
        return -1;
    ana_domain_totals(r);
    /* the window starts at the run's first recorder start; how much of the
     * processes' lives came before it (not recorded) */
    double t_lo = 0, born = 0;
    int have_lo = 0, have_born = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        const struct ana_proc *p = run->procs[pi];
        if (!have_lo || (double)p->t_start < t_lo)
            t_lo = (double)p->t_start, have_lo = 1;
        if (p->age_s >= 0 && (!have_born || (double)p->t_start - p->age_s * 1e9 < born))
            born = (double)p->t_start - p->age_s * 1e9, have_born = 1;
    }
    r->before_window_s = have_born ? (t_lo > born ? (t_lo - born) * 1e-9 : 0) : -1;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        for (int d = 0; d < p->ndom; d++) {
            struct ana_domain *dm = &p->dom[d];
            if (strcmp(dm->kind, "cpu") == 0 && !r->watts_per_core) {
                r->watts_per_core = dm->watts_per_core;
                snprintf(r->watts_source, sizeof r->watts_source, "%s", dm->watts_source);
            }
        }
        snprintf(r->events, sizeof r->events, "%s", p->events_live);
        snprintf(r->events_kind, sizeof r->events_kind, "%s", p->events_kind);
        snprintf(r->policy, sizeof r->policy, "%s", p->policy);
        if (p->nevents > r->nctr) {
            r->nctr = p->nevents;
            for (int i = 0; i < p->nevents; i++)
                r->ctr_names[i] = p->events[i];
        }
        /* the rate the samples show (the header says "auto" when the
         * sampler chose it from its own measured cost) */
        double hz = p->sampler_hz;
        for (int d = 0; d < p->ndom && !hz; d++)
            if (p->dom[d].n >= 3 && p->dom[d].t[p->dom[d].n - 1] > p->dom[d].t[0])
                hz = (double)(p->dom[d].n - 2) * 1e9 /
                     (double)(p->dom[d].t[p->dom[d].n - 2] - p->dom[d].t[0]); /* last is the exit point */
        if (hz > r->sampler_hz) r->sampler_hz = hz;
        r->sampler_cpu_s += (double)p->sampler_cpu_ns * 1e-9;
        r->lost_calls += p->lost_calls;
        r->lost_records += p->lost;
        if (!r->lost_reason)
            r->lost_reason = p->lost_reason;
        for (size_t t = 0; t < p->nthreads; t++) {
            r->threads_program += p->threads[t].stream == GS_STREAM_THREAD;
            r->threads_sampler += p->threads[t].stream == GS_STREAM_SAMPLER;
        }
        if (p->run_id[0] && !r->run_id[0])
            snprintf(r->run_id, sizeof r->run_id, "%s", p->run_id);
        /* BLAS threads (header blas.threads: "N (how)"): the most any calling process had */
        char bt[128];
        if (p->ncalls && ana_hdr_get(p, "blas.threads", bt, sizeof bt)) {
            int n = atoi(bt);
            if (n > 0) {
                if (n > r->blas_threads) {
                    r->blas_threads = n;
                    const char *how = strchr(bt, '(');
                    snprintf(r->blas_threads_how, sizeof r->blas_threads_how, "%.*s", how ? (int)strcspn(how + 1, ")") : 0,
                             how ? how + 1 : "");
                }
            } else {
                r->blas_threads_unknown = 1;
            }
        } else if (p->ncalls) {
            r->blas_threads_unknown = 1;
        }
    }
    /* distinct run ids among the processes */
    r->nruns = (int)ana_count_runs(run, NULL, NULL);
    return 0;
}

static int energy_end(struct ana_report *r)
{
    const char *how;
    r->idle_w = ana_idle_watts(r, &how);
    r->idle_source = how;
    if (strcmp(r->provenance, "none") == 0 && strcmp(how, "GREENSHIM_IDLE_WATTS") != 0)
        r->idle_source = "none (no energy source)";
    r->net_j = r->total_j - r->idle_w * r->duration_s;
    return 0;
}
const struct ana_stage ana_stage_energy = { "energy", energy_begin, NULL, energy_end };

static int layers_begin(struct ana_report *r)
{
    return ana_layers_plan(r);
}
static int layers_end(struct ana_report *r)
{
    ana_layers_finish(r);
    return 0;
}
const struct ana_stage ana_stage_layers = { "layers", layers_begin, NULL, layers_end };

static void aggregate_event(struct ana_report *r, void *self, const struct ana_event *ev)
{
    (void)self;
    if (ev->kind != ANA_EV_CALL)
        return;
    const struct ana_proc *p = ev->proc;
    const struct ana_call *c = ev->call;
    if (r->run->filter && !ana_filter_call(r, p, c)) {
        /* its energy stays in the run, outside the selected calls */
        r->run->filter->dropped_calls++;
        r->run->filter->dropped_j += c->energy_j;
        r->outside_j += c->energy_j;
        r->calls_j -= c->energy_j;
        r->dropped_wall_s += c->wall_s;
        return;
    }
    struct ana_first at = { p->index, 0, ev->thread, ev->pos };
    double t = (double)(c->t1 - c->t0) * 1e-9, f = ev->flops;
    int oi = op_row(r, c, &at);
    struct ana_op_row *o = &r->ops[oi];
    o->calls++; o->flops += f; o->time_s += t; o->energy_j += c->energy_j; o->wall_s += c->wall_s;
    o->bytes += (double)c->bytes;
    if (c->has_ctr) {
        o->ctr_calls++;
        r->ctr_calls++;
        for (int e = 0; e < p->nevents; e++) {
            o->ctr[e] += (double)c->ctr[e];
            r->ctr_tot[e] += (double)c->ctr[e];
        }
    }
    int si = shape_row(r, oi, c, &at);
    struct ana_shape_row *s = &r->shapes[si];
    s->calls++; s->flops += f; s->time_s += t; s->energy_j += c->energy_j; s->wall_s += c->wall_s;
    r->total_calls++;
    if (c->region) {
        int gi = ana_region_row(r, p, c->region, &at);
        struct ana_region_row *g = &r->regions[gi];
        g->calls++; g->blas_time_s += t; g->energy_j += c->energy_j;
    }
    if (c->layer >= 0 && (size_t)c->layer < r->nlayers) {
        struct ana_layer_row *l = &r->layers[c->layer];
        l->calls++;
        l->time_s += t;
        l->wall_s += c->wall_s;
        l->energy_j += c->energy_j;
        l->flops += f;
    } else {
        r->unlayered_wall_s += c->wall_s;
        r->unlayered_j += c->energy_j;
    }
}

/* order: where a row first appeared, then (ops, shapes) by time, stably */
#define SORT_BY_FIRST(arr, n, type)                                                 \
    do {                                                                            \
        for (size_t i_ = 1; i_ < (n); i_++) {                                       \
            if (ana_first_cmp(&(arr)[i_ - 1].first, &(arr)[i_].first) <= 0)         \
                continue;                                                           \
            qsort((arr), (n), sizeof(type), cmp_first_##type);                      \
            break;                                                                  \
        }                                                                           \
    } while (0)
static int cmp_first_ana_region_row(const void *a, const void *b)
{ return ana_first_cmp(&((const struct ana_region_row *)a)->first, &((const struct ana_region_row *)b)->first); }
static int cmp_first_ana_layer_row(const void *a, const void *b)
{ return ana_first_cmp(&((const struct ana_layer_row *)a)->first, &((const struct ana_layer_row *)b)->first); }
static int cmp_shape(const void *a, const void *b)
{
    const struct ana_shape_row *x = a, *y = b;
    if (x->time_s != y->time_s)
        return x->time_s < y->time_s ? 1 : -1;
    return ana_first_cmp(&x->first, &y->first);
}
static int cmp_op(const void *a, const void *b)
{
    const struct ana_op_row *x = a, *y = b;
    if (x->time_s != y->time_s)
        return x->time_s < y->time_s ? 1 : -1;
    return ana_first_cmp(&x->first, &y->first);
}

/* a and b agree to rounding (sums of many shares) */
static int agrees(double a, double b)
{
    double d = a - b, m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(d) <= 1e-9 * (m > 1 ? m : 1) + 1e-12;
}
static void recon_check(struct ana_report *r, struct ana_recon *x, const char *table)
{
    x->time_ok = agrees(x->rows_s + x->out_s, r->duration_s);
    x->energy_ok = agrees(x->rows_j + x->out_j, r->total_j);
    if (!x->energy_ok)
        ana_warn(r->run, "energy does not reconcile in the %s: rows %.9f J + outside %.9f J != total %.9f J",
                 table, x->rows_j, x->out_j, r->total_j);
    if (!x->time_ok)
        ana_warn(r->run, "time does not reconcile in the %s: rows %.9f s + outside %.9f s != wall %.9f s",
                 table, x->rows_s, x->out_s, r->duration_s);
}
/* every table that shows an "outside" row: its rows plus outside against
 * the run's wall time and total energy, summed from what the table shows */
static void reconcile(struct ana_report *r)
{
    /* the energy line: in calls, in regions between calls, outside both */
    struct ana_recon *e = &r->rec_energy;
    memset(e, 0, sizeof *e);
    e->rows_j = r->calls_j + r->gap_j;
    e->out_j = r->outside_j;
    for (size_t i = 0; i < r->nops; i++)
        e->rows_s += r->ops[i].wall_s;
    e->rows_s += r->gap_s;
    e->out_s = r->outside_s - r->gap_s + r->dropped_wall_s;
    recon_check(r, e, "energy line");
    /* routines: every intercepted call is in one; outside = no call active */
    struct ana_recon *o = &r->rec_ops;
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < r->nops; i++) {
        o->rows_s += r->ops[i].wall_s;
        o->rows_j += r->ops[i].energy_j;
    }
    o->out_s = r->outside_s + r->dropped_wall_s;
    o->out_j = r->outside_j + r->gap_j;
    recon_check(r, o, "routines table");
    /* shapes: a partition of the calls, like the routines */
    struct ana_recon *sh = &r->rec_shapes;
    memset(sh, 0, sizeof *sh);
    for (size_t i = 0; i < r->nshapes; i++) {
        sh->rows_s += r->shapes[i].wall_s;
        sh->rows_j += r->shapes[i].energy_j;
    }
    sh->out_s = o->out_s;
    sh->out_j = o->out_j;
    recon_check(r, sh, "shapes table");
    /* layers: calls with a layer, and the gaps of the regions that name
     * one; outside = the rest */
    struct ana_recon *l = &r->rec_layers;
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < r->nlayers; i++) {
        l->rows_s += r->layers[i].wall_s;
        l->rows_j += r->layers[i].energy_j;
    }
    r->layers_out_s = r->outside_s - r->gap_layers_s + r->dropped_wall_s + r->unlayered_wall_s;
    r->layers_out_j = r->outside_j + (r->gap_j - r->gap_layers_j) + r->unlayered_j;
    l->out_s = r->layers_out_s;
    l->out_j = r->layers_out_j;
    recon_check(r, l, "layers table");
    r->reconciled = e->time_ok && e->energy_ok && o->time_ok && o->energy_ok && sh->time_ok && sh->energy_ok &&
                    l->time_ok && l->energy_ok;
}

static int aggregate_end(struct ana_report *r)
{
    typedef struct ana_region_row ana_region_row;
    typedef struct ana_layer_row ana_layer_row;
    for (size_t i = 0; i < r->nops; i++)
        r->ops[i].idx0 = (uint32_t)i;
    for (size_t i = 0; i < r->nlayers; i++)
        r->layers[i].idx0 = (uint32_t)i;
    SORT_BY_FIRST(r->regions, r->nregions, ana_region_row);
    SORT_BY_FIRST(r->layers, r->nlayers, ana_layer_row);
    if (r->nops)
        qsort(r->ops, r->nops, sizeof *r->ops, cmp_op);
    /* indices the event stream gave (c->layer, op rows) -> rows now */
    r->op_remap = ana_xmalloc(r->nops + 1, sizeof *r->op_remap);
    r->layer_remap = ana_xmalloc(r->nlayers + 1, sizeof *r->layer_remap);
    r->nop_remap = r->nops;
    r->nlayer_remap = r->nlayers;
    for (size_t i = 0; i < r->nops; i++)
        r->op_remap[r->ops[i].idx0] = (int)i;
    for (size_t i = 0; i < r->nlayers; i++)
        r->layer_remap[r->layers[i].idx0] = (int)i;
    if (r->nshapes)
        qsort(r->shapes, r->nshapes, sizeof *r->shapes, cmp_shape);
    /* the lookups are stale after the sorts */
    ana_names_free(&r->region_names);
    ana_names_free(&r->layer_names);
    ana_map_free(&r->region_ids);
    free(r->shape_hash);
    r->shape_hash = NULL;
    r->shape_cap = 0;
    reconcile(r);
    return 0;
}
const struct ana_stage ana_stage_aggregate = { "aggregate", NULL, aggregate_event, aggregate_end };

/* ---- the stages, run in this order: a new stage is a file and a row here ---- */
extern const struct ana_stage ana_stage_timeline, ana_stage_energy, ana_stage_layers, ana_stage_aggregate;
extern const struct ana_stage ana_stage_more;
extern const struct ana_stage ana_stage_gpu;
extern const struct ana_stage ana_stage_ranks;

const struct ana_stage *const ana_stages[] = {
    &ana_stage_timeline,          /* clock fit, samples in ns, spans */
    &ana_stage_energy,            /* energy curves of the run, idle baseline */
    &ana_stage_layers,            /* layer detection (before the calls stream by) */
    &ana_stage_aggregate,         /* ops, shapes, regions, layers rows; reconcile */
    &ana_stage_ranks,             /* a job's ranks: communication, waiting, nodes (stages/ranks.c) */
    &ana_stage_gpu,               /* CUDA/cuBLAS ops, kernels, GPU energy, layers' GPU columns (stages/kernels.c) */
    &ana_stage_more,              /* headline, steady state, threads, power bins, roofline (report/report_more.c) */
    NULL
};

/* begin() of every stage, the sweep (the event stream), end() of every stage */
int ana_report_build(struct ana_run *run, struct ana_report *r)
{
    memset(r, 0, sizeof *r);
    r->run = run;
    r->provenance = "none";
    r->iterations = -1;
    r->region_names.name_of = region_name_of;
    r->region_names.ctx = r;
    r->layer_names.name_of = layer_name_of;
    r->layer_names.ctx = r;
    int rc = 0;
    for (size_t i = 0; ana_stages[i]; i++)
        if (ana_stages[i]->begin && ana_stages[i]->begin(r) != 0)
            rc = -1;
    for (size_t i = 0; ana_stages[i]; i++)
        if (ana_stages[i]->event && r->nevh < (int)(sizeof r->evh / sizeof r->evh[0])) {
            r->evh[r->nevh].event = ana_stages[i]->event;
            r->evh[r->nevh++].self = ana_report_ext(r, ana_stages[i]->name);
        }
    ana_sweep(r);
    for (size_t i = 0; ana_stages[i]; i++)
        if (ana_stages[i]->end && ana_stages[i]->end(r) != 0)
            rc = -1;
    return rc;
}

void ana_report_free(struct ana_report *r)
{
    ana_report_more_free(r);
    free(r->ops);
    free(r->shapes);
    for (size_t i = 0; i < r->nregions; i++)
        free(r->regions[i].name);
    free(r->regions);
    free(r->layers);
    ana_gpu_report_free(r);
    ana_names_free(&r->region_names);
    ana_names_free(&r->layer_names);
    ana_map_free(&r->region_ids);
    free(r->shape_hash);
    free(r->op_remap);
    free(r->layer_remap);
    for (int i = 0; i < r->next; i++)
        if (r->ext[i].free_fn)
            r->ext[i].free_fn(r->ext[i].data);
}
