/* report.c - run every stage over every process and aggregate into the
 * one struct the renderers print: ops, shapes, regions, layers, outside,
 * energy, counters. */
#include <stdlib.h>
#include <string.h>
#include "ana.h"

static int op_row(struct ana_report *r, const char *op, const char *api)
{
    for (size_t i = 0; i < r->nops; i++)
        if (strcmp(r->ops[i].op, op) == 0 && r->ops[i].api == api)
            return (int)i;
    r->ops = realloc(r->ops, (r->nops + 1) * sizeof *r->ops);
    memset(&r->ops[r->nops], 0, sizeof r->ops[0]);
    snprintf(r->ops[r->nops].op, sizeof r->ops[0].op, "%s", op);
    r->ops[r->nops].api = api;
    return (int)r->nops++;
}

static int shape_row(struct ana_report *r, const char *op, const char *api, const struct ana_call *c)
{
    int ta = GS_F_TRANSA(c->flags), tb = GS_F_TRANSB(c->flags);
    for (size_t i = r->nshapes; i-- > 0;) {
        struct ana_shape_row *s = &r->shapes[i];
        if (s->m == c->m && s->n == c->n && s->k == c->k && s->transa == ta && s->transb == tb &&
            s->api == api && strcmp(s->op, op) == 0)
            return (int)i;
    }
    r->shapes = realloc(r->shapes, (r->nshapes + 1) * sizeof *r->shapes);
    struct ana_shape_row *s = &r->shapes[r->nshapes];
    memset(s, 0, sizeof *s);
    snprintf(s->op, sizeof s->op, "%s", op);
    s->api = api; s->transa = ta; s->transb = tb; s->m = c->m; s->n = c->n; s->k = c->k;
    return (int)r->nshapes++;
}

static int region_row(struct ana_report *r, const char *name)
{
    for (size_t i = 0; i < r->nregions; i++)
        if (strcmp(r->regions[i].name, name) == 0)
            return (int)i;
    r->regions = realloc(r->regions, (r->nregions + 1) * sizeof *r->regions);
    memset(&r->regions[r->nregions], 0, sizeof r->regions[0]);
    r->regions[r->nregions].name = strdup(name);
    return (int)r->nregions++;
}

static int cmp_shape(const void *a, const void *b)
{
    const struct ana_shape_row *x = a, *y = b;
    return x->time_s < y->time_s ? 1 : x->time_s > y->time_s ? -1 : 0;
}
static int cmp_op(const void *a, const void *b)
{
    const struct ana_op_row *x = a, *y = b;
    return x->time_s < y->time_s ? 1 : x->time_s > y->time_s ? -1 : 0;
}

/* region inclusive times from push/pop pairs, per thread */
static void region_times(struct ana_report *r, struct ana_proc *p)
{
    struct fr { uint32_t id, thread; uint64_t t; } *st = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < p->nrev; i++) {
        struct ana_region_ev *e = &p->rev[i];
        if (e->push) {
            if (n == cap) { cap = cap ? cap * 2 : 64; st = realloc(st, cap * sizeof *st); }
            st[n++] = (struct fr){ e->id, e->thread, e->t };
            continue;
        }
        for (size_t j = n; j-- > 0;)
            if (st[j].thread == e->thread && st[j].id == e->id) {
                const char *nm = ana_string(p, e->id);
                int k = region_row(r, nm ? nm : "(unnamed)");
                r->regions[k].time_s += e->t > st[j].t ? (double)(e->t - st[j].t) * 1e-9 : 0;
                memmove(&st[j], &st[j + 1], (n - j - 1) * sizeof *st);
                n--;
                break;
            }
    }
    for (size_t j = 0; j < n; j++) {   /* never popped: open until the end */
        const char *nm = ana_string(p, st[j].id);
        int k = region_row(r, nm ? nm : "(unnamed)");
        r->regions[k].time_s += p->t_end > st[j].t ? (double)(p->t_end - st[j].t) * 1e-9 : 0;
    }
    free(st);
}

/* ---- stages ---- */
static int timeline_begin(struct ana_report *r)
{
    for (size_t pi = 0; pi < r->run->nprocs; pi++)
        ana_timeline(r->run->procs[pi]);
    return 0;
}
const struct ana_stage ana_stage_timeline = { "timeline", timeline_begin, NULL, NULL };

static int energy_begin(struct ana_report *r)
{
    struct ana_run *run = r->run;
    uint64_t t_lo = UINT64_MAX, t_hi = 0;
    r->provenance = "none";
    r->idle_source = "none (no energy source)";
    int nmeas = 0, nmod = 0;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        ana_attribute(p);
        if (run->filter)
            ana_filter_proc(run, p);
        if (p->t_start < t_lo) t_lo = p->t_start;
        if (p->t_end > t_hi) t_hi = p->t_end;
        r->wall_sum_s += (double)(p->t_end - p->t_start) * 1e-9;
        r->outside_s += p->outside_s;
        r->unattributed_s += p->unattributed_s;
        r->outside_j += p->outside_j;
        r->total_j += p->total_j;
        r->calls_j += p->calls_j;
        if (strcmp(p->provenance, "measured") == 0) nmeas++;
        if (strcmp(p->provenance, "modelled") == 0) nmod++;
        if (p->source && !r->source) r->source = p->source;
        const char *how;
        double iw = ana_idle_watts(p, &how);
        r->idle_w += iw;
        r->idle_source = how;
        r->net_j += p->total_j - iw * (double)(p->t_end - p->t_start) * 1e-9;
        for (int d = 0; d < p->ndom; d++) {
            struct ana_domain *dm = &p->dom[d];
            if (strcmp(dm->kind, "cpu") == 0 && !r->watts_per_core) {
                r->watts_per_core = dm->watts_per_core;
                snprintf(r->watts_source, sizeof r->watts_source, "%s", dm->watts_source);
            }
            if ((strcmp(dm->kind, "energy") != 0 && strcmp(dm->kind, "cpu") != 0) || dm->n < 2 ||
                r->ndom >= ANA_MAX_DOMAINS)
                continue;
            int k;
            for (k = 0; k < r->ndom; k++)
                if (strcmp(r->dom[k].name, dm->name) == 0)
                    break;
            if (k == r->ndom) {
                r->ndom++;
                snprintf(r->dom[k].name, sizeof r->dom[k].name, "%s", dm->name);
                snprintf(r->dom[k].source, sizeof r->dom[k].source, "%s", dm->source);
                snprintf(r->dom[k].provenance, sizeof r->dom[k].provenance, "%s", dm->provenance);
            }
            /* domain total, unwrapped */
            double acc = 0;
            for (size_t i = 1; i < dm->n; i++) {
                uint64_t a = dm->v[i - 1], b = dm->v[i];
                double dl = b >= a ? (double)(b - a) : dm->max_range ? (double)(dm->max_range - a + b) : (double)b;
                acc += dl * ana_domain_scale(dm);
            }
            r->dom[k].energy_j += acc;
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
    }
    r->duration_s = run->nprocs && t_hi > t_lo ? (double)(t_hi - t_lo) * 1e-9 : 0;
    if (nmeas && !nmod) r->provenance = "measured";
    else if (nmod && !nmeas) r->provenance = "modelled";
    else if (nmeas && nmod) r->provenance = "mixed";
    return 0;
}
const struct ana_stage ana_stage_energy = { "energy", energy_begin, NULL, NULL };

static int layers_begin(struct ana_report *r)
{
    ana_layers(r);
    return 0;
}
const struct ana_stage ana_stage_layers = { "layers", layers_begin, NULL, NULL };

static void aggregate_event(struct ana_report *r, const struct ana_event *ev)
{
    if (ev->kind != ANA_EV_CALL)
        return;
    const struct ana_proc *p = ev->proc;
    const struct ana_call *c = ev->call;
    char op[16];
    const char *api = c->flags & GS_F_FORTRAN ? "fortran" : "cblas";
    ana_op_name(c->op, op);
    double t = (double)(c->t1 - c->t0) * 1e-9, f = ana_flops(c);
    int oi = op_row(r, op, api);
    struct ana_op_row *o = &r->ops[oi];
    o->calls++; o->flops += f; o->time_s += t; o->energy_j += c->energy_j;
    if (c->has_ctr) {
        o->ctr_calls++;
        r->ctr_calls++;
        for (int e = 0; e < p->nevents; e++) {
            o->ctr[e] += (double)c->ctr[e];
            r->ctr_tot[e] += (double)c->ctr[e];
        }
    }
    int si = shape_row(r, op, api, c);
    struct ana_shape_row *s = &r->shapes[si];
    s->calls++; s->flops += f; s->time_s += t; s->energy_j += c->energy_j;
    r->total_calls++;
    if (c->region) {
        const char *nm = ana_string(p, c->region);
        int gi = region_row(r, nm ? nm : "(unnamed)");
        struct ana_region_row *g = &r->regions[gi];
        g->calls++; g->blas_time_s += t; g->energy_j += c->energy_j;
    }
}

static int aggregate_end(struct ana_report *r)
{
    struct ana_run *run = r->run;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        region_times(r, p);
        for (uint32_t id = 1; id < p->nreg_j; id++) {
            if (p->reg_j[id] == 0)
                continue;
            const char *nm = ana_string(p, id);
            int gi = region_row(r, nm ? nm : "(unnamed)");
            r->regions[gi].energy_j += p->reg_j[id];
        }
    }
    if (r->nops)
        qsort(r->ops, r->nops, sizeof *r->ops, cmp_op);
    if (r->nshapes)
        qsort(r->shapes, r->nshapes, sizeof *r->shapes, cmp_shape);
    double lsum = 0;
    for (size_t i = 0; i < r->nlayers; i++)
        lsum += r->layers[i].energy_j;
    double diff = lsum + r->outside_j - r->total_j;
    r->reconciled = diff < 0 ? -diff <= 1e-9 * (r->total_j > 1 ? r->total_j : 1) + 1e-9
                             : diff <= 1e-9 * (r->total_j > 1 ? r->total_j : 1) + 1e-9;
    if (!r->reconciled)
        ana_warn(run, "energy does not reconcile: layers %.9f J + outside %.9f J != total %.9f J",
                 lsum, r->outside_j, r->total_j);
    return 0;
}
const struct ana_stage ana_stage_aggregate = { "aggregate", NULL, aggregate_event, aggregate_end };

/* ---- the event stream ---- */
int ana_sink_add(struct ana_run *run, void (*event)(void *ctx, const struct ana_event *ev), void *ctx)
{
    if (run->nsinks >= (int)(sizeof run->sinks / sizeof run->sinks[0]))
        return -1;
    run->sinks[run->nsinks].event = event;
    run->sinks[run->nsinks++].ctx = ctx;
    return 0;
}

void ana_emit(struct ana_report *r, const struct ana_event *ev)
{
    for (size_t i = 0; ana_stages[i]; i++)
        if (ana_stages[i]->event)
            ana_stages[i]->event(r, ev);
    for (int i = 0; i < r->run->nsinks; i++)
        r->run->sinks[i].event(r->run->sinks[i].ctx, ev);
}

void ana_report_ext_set(struct ana_report *r, const char *name, void *data, void (*free_fn)(void *))
{
    for (int i = 0; i < r->next; i++)
        if (strcmp(r->ext[i].name, name) == 0) {
            if (r->ext[i].free_fn)
                r->ext[i].free_fn(r->ext[i].data);
            r->ext[i].data = data;
            r->ext[i].free_fn = free_fn;
            return;
        }
    if (r->next >= (int)(sizeof r->ext / sizeof r->ext[0])) {
        if (free_fn)
            free_fn(data);
        return;
    }
    snprintf(r->ext[r->next].name, sizeof r->ext[0].name, "%s", name);
    r->ext[r->next].data = data;
    r->ext[r->next++].free_fn = free_fn;
}

void *ana_report_ext(const struct ana_report *r, const char *name)
{
    for (int i = 0; i < r->next; i++)
        if (strcmp(r->ext[i].name, name) == 0)
            return r->ext[i].data;
    return NULL;
}

static void sweep(struct ana_report *r)
{
    struct ana_run *run = r->run;
    for (size_t pi = 0; pi < run->nprocs; pi++) {
        struct ana_proc *p = run->procs[pi];
        struct ana_event ev = { .kind = ANA_EV_PROC, .proc = p, .t0 = p->t_start, .t1 = p->t_end };
        ana_emit(r, &ev);
        for (int d = 0; d < p->ndom; d++)
            for (size_t i = 0; i < p->dom[d].n; i++) {
                ev = (struct ana_event){ .kind = ANA_EV_SAMPLE, .proc = p, .t0 = p->dom[d].t[i],
                                         .t1 = p->dom[d].t[i], .domain = d, .value = p->dom[d].v[i] };
                ana_emit(r, &ev);
            }
        for (size_t i = 0; i < p->nrev; i++) {
            ev = (struct ana_event){ .kind = ANA_EV_REGION, .proc = p, .thread = p->rev[i].thread,
                                     .t0 = p->rev[i].t, .t1 = p->rev[i].t, .region = p->rev[i].id,
                                     .push = p->rev[i].push, .name = ana_string(p, p->rev[i].id) };
            ana_emit(r, &ev);
        }
        for (size_t i = 0; i < p->ncalls; i++) {
            ev = (struct ana_event){ .kind = ANA_EV_CALL, .proc = p, .thread = p->calls[i].thread,
                                     .t0 = p->calls[i].t0, .t1 = p->calls[i].t1, .call = &p->calls[i] };
            ana_emit(r, &ev);
        }
    }
}

int ana_report_build(struct ana_run *run, struct ana_report *r)
{
    memset(r, 0, sizeof *r);
    r->run = run;
    int rc = 0;
    for (size_t i = 0; ana_stages[i]; i++)
        if (ana_stages[i]->begin && ana_stages[i]->begin(r) != 0)
            rc = -1;
    sweep(r);
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
    for (int i = 0; i < r->next; i++)
        if (r->ext[i].free_fn)
            r->ext[i].free_fn(r->ext[i].data);
}
