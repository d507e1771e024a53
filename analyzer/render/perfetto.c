/* export_perfetto.c - `export --perfetto FILE` (and `report --export
 * perfetto=FILE`): Chrome/Perfetto trace-event JSON written while the event
 * stream goes by, one event at a time; memory is per process and thread
 * (open regions, the previous sample of each domain), never per call.
 *   - a track per process (pid) and thread (tid), named by metadata events;
 *   - one complete slice ("X") per intercepted call, its shape, FLOPs, joules
 *     and layer as args;
 *   - regions as begin/end slices on their thread, enclosing the calls;
 *     regions still open at the end are closed at the process's end;
 *   - counter tracks: power per energy domain (W, from consecutive samples,
 *     measured or modelled as the domain is), frequency per domain (MHz);
 *   - timestamps in microseconds after the run's start, on the one monotonic
 *     clock every process of the run shares, so processes line up;
 *   - GPU (records of type >= 16 as the sweep passes them on): CUDA API
 *     calls as slices on their thread, kernels as slices on a track per GPU
 *     and stream (grid, block, correlation id as args), and a flow arrow
 *     from each launch to its kernel (id "pid:correlation id"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"

struct pthr { uint32_t depth; };              /* open regions of one thread */
struct gtrack { uint16_t device; uint32_t stream; };
struct pproc {
    const struct ana_proc *p;
    struct gtrack *gt; size_t ngt;               /* GPU tracks named so far (few) */
    uint32_t *depth; size_t nthreads;
    uint64_t *last_t, *last_v; int *have;        /* per domain: the previous sample */
};
struct pctx {
    FILE *o;
    const struct ana_report *r;
    uint64_t base_ns;                         /* the run's start */
    struct pproc *procs; size_t nprocs;
    struct pproc *cur;
    uint64_t nevents;
    char **lname; size_t nlname;              /* layer names, JSON-escaped once (by the stream's index) */
};

static void jstr(FILE *o, const char *s) { ana_json_str(o, s ? s : ""); }

/* "name" of a layer, escaped once: the layers are few, the calls many */
static const char *layer_json(struct pctx *c, size_t l)
{
    if (l >= c->nlname) {
        size_t n = l + 16;
        c->lname = ana_xrealloc(c->lname, n, sizeof *c->lname);
        memset(c->lname + c->nlname, 0, (n - c->nlname) * sizeof *c->lname);
        c->nlname = n;
    }
    if (!c->lname[l]) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        jstr(m, c->r->layers[l].name);
        fclose(m);
        c->lname[l] = buf;
    }
    return c->lname[l];
}

static void ev_sep(struct pctx *c)
{
    fputs(c->nevents++ ? ",\n" : "\n", c->o);
}

static double us(const struct pctx *c, uint64_t t_ns)
{
    return t_ns > c->base_ns ? (double)(t_ns - c->base_ns) * 1e-3 : 0;
}

/* the hot path, one call: integers by hand (printf costs ~5 us a slice) */
static char *put_u(char *p, uint64_t v)
{
    char t[24];
    int n = 0;
    do t[n++] = (char)('0' + v % 10); while (v /= 10);
    while (n) *p++ = t[--n];
    return p;
}
/* ns as microseconds with three decimals, exactly */
static char *put_us(char *p, uint64_t ns)
{
    p = put_u(p, ns / 1000);
    uint64_t f = ns % 1000;
    *p++ = '.';
    *p++ = (char)('0' + f / 100);
    *p++ = (char)('0' + f / 10 % 10);
    *p++ = (char)('0' + f % 10);
    return p;
}
static char *put_s(char *p, const char *s)
{
    while (*s) *p++ = *s++;
    return p;
}

static uint32_t tid_of(const struct ana_proc *p, uint32_t thread)
{
    return thread < p->nthreads ? p->threads[thread].tid : p->hdr.pid;
}

/* the track of one GPU stream: a tid of its own, named on first use */
static uint32_t gpu_tid(struct pctx *c, struct pproc *pp, uint16_t device, uint32_t stream)
{
    size_t i;
    for (i = 0; i < pp->ngt; i++)
        if (pp->gt[i].device == device && pp->gt[i].stream == stream)
            break;
    if (i == pp->ngt) {
        pp->gt = ana_xrealloc(pp->gt, pp->ngt + 1, sizeof *pp->gt);
        pp->gt[pp->ngt++] = (struct gtrack){ device, stream };
        ev_sep(c);
        fprintf(c->o, "{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": %u, \"tid\": %u, \"args\": {\"name\": "
                      "\"GPU %u stream %u\"}}", pp->p->hdr.pid, 0x40000000u + (uint32_t)i, device, stream);
        ev_sep(c);
        fprintf(c->o, "{\"ph\": \"M\", \"name\": \"thread_sort_index\", \"pid\": %u, \"tid\": %u, \"args\": "
                      "{\"sort_index\": %u}}", pp->p->hdr.pid, 0x40000000u + (uint32_t)i, 1000000u + (uint32_t)i);
    }
    return 0x40000000u + (uint32_t)i;
}

static void gpu_record(struct pctx *c, struct pproc *pp, const struct ana_event *ev)
{
    const struct ana_proc *p = pp->p;
    FILE *o = c->o;
    uint8_t raw[8 * GS_REC_SIZE];
    if (!ev->rec || ev->nslots * (size_t)GS_REC_SIZE > sizeof raw)
        return;
    memcpy(raw, ev->rec, ev->nslots * (size_t)GS_REC_SIZE);   /* aligned copy */
    if (raw[0] == GS_REC_KERNEL && ev->nslots >= 2) {
        struct gs_rec_kernel k;
        memcpy(&k, raw, sizeof k);
        uint64_t t0 = ana_ns(p, k.start), t1 = ana_ns(p, k.end);
        uint32_t tid = gpu_tid(c, pp, k.device, k.stream);
        const char *nm = k.name ? ana_string(p, k.name) : NULL;
        ev_sep(c);
        fputs("{\"ph\": \"X\", \"cat\": \"kernel\", \"name\": ", o);
        jstr(o, nm ? nm : "kernel");
        fprintf(o, ", \"pid\": %u, \"tid\": %u, \"ts\": %.3f, \"dur\": %.3f, \"args\": {\"device\": %u, \"stream\": %u, "
                   "\"corr\": %u, \"grid\": [%u, %u, %u], \"block\": [%u, %u, %u], \"regs\": %u}}",
                p->hdr.pid, tid, us(c, t0), t1 > t0 ? (double)(t1 - t0) * 1e-3 : 0, k.device, k.stream, k.corr,
                k.grid_x, k.grid_y, k.grid_z, k.block_x, k.block_y, k.block_z, k.regs);
        if (k.corr) {
            /* the arrow's head: bound to the kernel slice that starts here */
            ev_sep(c);
            fprintf(o, "{\"ph\": \"f\", \"bp\": \"e\", \"cat\": \"launch\", \"name\": \"launch\", \"id\": \"%u:%u\", "
                       "\"pid\": %u, \"tid\": %u, \"ts\": %.3f}",
                    p->hdr.pid, k.corr, p->hdr.pid, tid, us(c, t0));
        }
    } else if (raw[0] == GS_REC_API) {
        struct gs_rec_api a;
        memcpy(&a, raw, sizeof a);
        uint64_t dt = a.flags & GS_API_F_DT_SHIFT ? (uint64_t)a.dt << 16 : a.dt;
        uint64_t t0 = ana_ns(p, a.t0), t1 = ana_ns(p, a.t0 + dt);
        uint32_t tid = tid_of(p, ev->thread);
        const char *kn = a.kernel ? ana_string(p, a.kernel) : NULL;
        ev_sep(c);
        fputs("{\"ph\": \"X\", \"cat\": \"cuda\", \"name\": ", o);
        jstr(o, ana_gpu_api_name(a.fn));
        fprintf(o, ", \"pid\": %u, \"tid\": %u, \"ts\": %.3f, \"dur\": %.3f, \"args\": {\"corr\": %u, \"ret\": %d",
                p->hdr.pid, tid, us(c, t0), t1 > t0 ? (double)(t1 - t0) * 1e-3 : 0, a.corr, a.ret);
        if (kn) {
            fputs(", \"kernel\": ", o);
            jstr(o, kn);
        }
        fputs("}}", o);
        if (a.corr && kn) {
            /* the arrow's tail, inside the launch slice */
            ev_sep(c);
            fprintf(o, "{\"ph\": \"s\", \"cat\": \"launch\", \"name\": \"launch\", \"id\": \"%u:%u\", \"pid\": %u, "
                       "\"tid\": %u, \"ts\": %.3f}",
                    p->hdr.pid, a.corr, p->hdr.pid, tid, us(c, t0));
        }
    }
}

static void *begin(struct ana_run *run, FILE *out)
{
    struct pctx *c = calloc(1, sizeof *c);
    c->o = out;
    c->base_ns = 0;
    for (size_t i = 0; i < run->nprocs; i++)
        if (!c->base_ns || run->procs[i]->hdr.start_mono_ns < c->base_ns)
            c->base_ns = run->procs[i]->hdr.start_mono_ns;
    fputs("{\"displayTimeUnit\": \"ms\",\n \"otherData\": {\"generator\": \"greenshim-analyze export --perfetto\", "
          "\"time\": \"microseconds after the run's start (monotonic clock)\"},\n \"traceEvents\": [", out);
    c->procs = calloc(run->nprocs + 1, sizeof *c->procs);
    return c;
}

void ana_perfetto_set_report(void *ctx, const struct ana_report *r)
{
    ((struct pctx *)ctx)->r = r;
}

static struct pproc *proc_of(struct pctx *c, const struct ana_proc *p)
{
    if (c->cur && c->cur->p == p)
        return c->cur;
    for (size_t i = 0; i < c->nprocs; i++)
        if (c->procs[i].p == p)
            return c->cur = &c->procs[i];
    return NULL;
}

static void close_regions(struct pctx *c, struct pproc *pp)
{
    const struct ana_proc *p = pp->p;
    for (size_t t = 0; t < pp->nthreads; t++)
        for (; pp->depth[t]; pp->depth[t]--) {
            ev_sep(c);
            fprintf(c->o, "{\"ph\": \"E\", \"pid\": %u, \"tid\": %u, \"ts\": %.3f}", p->hdr.pid, tid_of(p, (uint32_t)t),
                    us(c, p->t_end));
        }
}

static void proc_start(struct pctx *c, const struct ana_proc *p)
{
    struct pproc *pp = &c->procs[c->nprocs++];
    c->cur = pp;
    pp->p = p;
    pp->nthreads = p->nthreads;
    pp->depth = calloc(p->nthreads + 1, sizeof *pp->depth);
    pp->last_t = calloc((size_t)p->ndom + 1, sizeof *pp->last_t);
    pp->last_v = calloc((size_t)p->ndom + 1, sizeof *pp->last_v);
    pp->have = calloc((size_t)p->ndom + 1, sizeof *pp->have);
    char name[1400];
    if (p->job_rank >= 0)                 /* a job's rank: one process group per rank, in rank order */
        snprintf(name, sizeof name, "rank %ld on %s: %s (pid %u)", p->job_rank, p->job_node[0] ? p->job_node : p->host,
                 p->cmdline[0] ? p->cmdline : "process", p->hdr.pid);
    else
        snprintf(name, sizeof name, "%s%s%s (pid %u)", p->cmdline[0] ? p->cmdline : "process",
                 p->rank[0] ? " rank " : "", p->rank, p->hdr.pid);
    ev_sep(c);
    fprintf(c->o, "{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": %u, \"args\": {\"name\": ", p->hdr.pid);
    jstr(c->o, name);
    fputs("}}", c->o);
    if (p->job_rank >= 0) {
        ev_sep(c);
        fprintf(c->o, "{\"ph\": \"M\", \"name\": \"process_sort_index\", \"pid\": %u, \"args\": {\"sort_index\": %ld}}",
                p->hdr.pid, p->job_rank);
    }
    for (size_t t = 0; t < p->nthreads; t++) {
        ev_sep(c);
        fprintf(c->o, "{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": %u, \"tid\": %u, \"args\": {\"name\": \"%s %u\"}}",
                p->hdr.pid, p->threads[t].tid, p->threads[t].stream == GS_STREAM_THREAD ? "thread" : "stream",
                p->threads[t].tid);
    }
}

static void sample(struct pctx *c, struct pproc *pp, const struct ana_event *ev)
{
    const struct ana_proc *p = pp->p;
    int d = ev->domain;
    if (d < 0 || d >= p->ndom)
        return;
    const struct ana_domain *dm = &p->dom[d];
    if (!strcmp(dm->kind, "freq")) {
        ev_sep(c);
        fprintf(c->o, "{\"ph\": \"C\", \"name\": ");
        char nm[96];
        snprintf(nm, sizeof nm, "frequency %s (MHz)", dm->name);
        jstr(c->o, nm);
        fprintf(c->o, ", \"pid\": %u, \"ts\": %.3f, \"args\": {\"MHz\": %.6g}}", p->hdr.pid, us(c, ev->t0),
                (double)ev->value * 1e-3);
        return;
    }
    if (strcmp(dm->kind, "energy") && strcmp(dm->kind, "cpu"))
        return;
    if (pp->have[d] && ev->t0 > pp->last_t[d]) {
        uint64_t a = pp->last_v[d], b = ev->value;
        double dl = b >= a ? (double)(b - a) : dm->max_range && a <= dm->max_range ? (double)(dm->max_range - a + b) : (double)b;
        double w = dl * ana_domain_scale(dm) / ((double)(ev->t0 - pp->last_t[d]) * 1e-9);
        if (isfinite(w)) {
            /* the mean power of the interval, drawn from its start */
            char nm[128];
            snprintf(nm, sizeof nm, "power %s (W, %s)", dm->name, dm->provenance[0] ? dm->provenance : "measured");
            ev_sep(c);
            fputs("{\"ph\": \"C\", \"name\": ", c->o);
            jstr(c->o, nm);
            fprintf(c->o, ", \"pid\": %u, \"ts\": %.3f, \"args\": {\"W\": %.6g}}", p->hdr.pid, us(c, pp->last_t[d]), w);
        }
    }
    if (!pp->have[d] || ev->t0 >= pp->last_t[d]) {
        pp->have[d] = 1;
        pp->last_t[d] = ev->t0;
        pp->last_v[d] = ev->value;
    }
}

static void event(void *ctx, const struct ana_event *ev)
{
    struct pctx *c = ctx;
    if (ev->kind == ANA_EV_PROC) {
        if (c->cur)
            close_regions(c, c->cur);
        proc_start(c, ev->proc);
        return;
    }
    struct pproc *pp = proc_of(c, ev->proc);
    if (!pp)
        return;
    const struct ana_proc *p = pp->p;
    FILE *o = c->o;
    switch (ev->kind) {
    case ANA_EV_SAMPLE:
        sample(c, pp, ev);
        break;
    case ANA_EV_RECORD:
        gpu_record(c, pp, ev);
        break;
    case ANA_EV_REGION:
        if (ev->thread >= pp->nthreads)
            break;
        if (!ev->push && !pp->depth[ev->thread])
            break;                      /* a pop with no push: nothing to close */
        ev_sep(c);
        if (ev->push) {
            pp->depth[ev->thread]++;
            fprintf(o, "{\"ph\": \"B\", \"cat\": \"region\", \"name\": ");
            jstr(o, ev->name ? ev->name : "(unnamed region)");
            fprintf(o, ", \"pid\": %u, \"tid\": %u, \"ts\": %.3f", p->hdr.pid, tid_of(p, ev->thread), us(c, ev->t0));
            if (ev->layer >= 0 && c->r && (size_t)ev->layer < c->r->nlayers) {
                fputs(", \"args\": {\"layer\": ", o);   /* a leaf region: the layer row it is */
                fputs(layer_json(c, (size_t)ev->layer), o);
                fputc('}', o);
            }
            fputc('}', o);
        } else {
            pp->depth[ev->thread]--;
            fprintf(o, "{\"ph\": \"E\", \"pid\": %u, \"tid\": %u, \"ts\": %.3f}", p->hdr.pid, tid_of(p, ev->thread),
                    us(c, ev->t0));
        }
        break;
    case ANA_EV_CALL: {
        const struct ana_call *cl = ev->call;
        static const char tr[] = "NTC?";
        char op[16], line[512], *q = line;
        ev_sep(c);
        q = put_s(q, "{\"ph\": \"X\", \"cat\": \"blas\", \"name\": \"");
        q = put_s(q, ana_op_name(cl->op, op));
        q = put_s(q, "\", \"pid\": ");
        q = put_u(q, p->hdr.pid);
        q = put_s(q, ", \"tid\": ");
        q = put_u(q, tid_of(p, cl->thread));
        q = put_s(q, ", \"ts\": ");
        q = put_us(q, cl->t0 > c->base_ns ? cl->t0 - c->base_ns : 0);
        q = put_s(q, ", \"dur\": ");
        q = put_us(q, cl->t1 > cl->t0 ? cl->t1 - cl->t0 : 0);
        q = put_s(q, ", \"args\": {\"api\": \"");
        q = put_s(q, ana_call_api(cl));
        q = put_s(q, "\", \"tr\": \"");
        *q++ = tr[GS_F_TRANSA(cl->flags) & 3];
        *q++ = tr[GS_F_TRANSB(cl->flags) & 3];
        q = put_s(q, "\", \"m\": ");
        q = put_u(q, cl->m);
        q = put_s(q, ", \"n\": ");
        q = put_u(q, cl->n);
        q = put_s(q, ", \"k\": ");
        q = put_u(q, cl->k);
        q = put_s(q, ", \"flops\": ");
        double f = ana_flops(cl);
        if (f >= 0 && f < 9e15 && f == (double)(uint64_t)f)
            q = put_u(q, (uint64_t)f);      /* whole numbers exactly */
        else
            q += snprintf(q, 32, "%.9g", f);
        q = put_s(q, ", \"energy_j\": ");
        q += snprintf(q, 32, "%.9g", cl->energy_j);
        fwrite(line, 1, (size_t)(q - line), o);
        if (cl->layer >= 0) {
            if (c->r && (size_t)cl->layer < c->r->nlayers) {
                fputs(", \"layer\": ", o);
                fputs(layer_json(c, (size_t)cl->layer), o);
            } else {
                fprintf(o, ", \"layer\": %d", cl->layer);
            }
        }
        fputs("}}", o);
        break;
    }
    default:
        break;
    }
}

static int end(void *ctx, const struct ana_report *r)
{
    struct pctx *c = ctx;
    for (size_t i = 0; i < c->nprocs; i++)
        close_regions(c, &c->procs[i]);
    fprintf(c->o, "\n ],\n \"metadata\": {\"energy_provenance\": ");
    jstr(c->o, r ? r->provenance : "none");
    fprintf(c->o, ", \"total_energy_j\": %.9g, \"calls\": %llu}\n}\n", r ? r->total_j : 0,
            r ? (unsigned long long)r->total_calls : 0ull);
    int rc = ferror(c->o) ? -1 : 0;
    for (size_t i = 0; i < c->nprocs; i++) {
        free(c->procs[i].depth);
        free(c->procs[i].last_t);
        free(c->procs[i].last_v);
        free(c->procs[i].have);
        free(c->procs[i].gt);
    }
    free(c->procs);
    for (size_t i = 0; i < c->nlname; i++)
        free(c->lname[i]);
    free(c->lname);
    free(c);
    return rc;
}

const struct ana_exporter ana_export_perfetto = { "perfetto", begin, event, end };
