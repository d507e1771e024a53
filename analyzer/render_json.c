/* render_json.c - the machine-readable report (docs/analyzer.md lists the
 * keys; extend, never break). */
#include <math.h>
#include <string.h>
#include "ana.h"

static void jstr(FILE *o, const char *s)
{
    if (!s) { fputs("null", o); return; }
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(o, "\\%c", *p);
        else if (*p < 0x20) fprintf(o, "\\u%04x", *p);
        else fputc(*p, o);
    }
    fputc('"', o);
}
static void jnum(FILE *o, double v)
{
    if (!isfinite(v)) fputs("null", o);
    else fprintf(o, "%.9g", v);
}
#define DIV(a, b) ((b) > 0 ? (a) / (b) : 0)

static void render(const struct ana_report *r, FILE *o)
{
    const struct ana_run *run = r->run;
    fprintf(o, "{\n  \"format_version\": 1,\n  \"processes\": %zu,\n  \"process_list\": [", run->nprocs);
    for (size_t i = 0; i < run->nprocs; i++) {
        const struct ana_proc *p = run->procs[i];
        size_t nprog = 0;
        for (size_t t = 0; t < p->nthreads; t++)
            nprog += p->threads[t].stream == GS_STREAM_THREAD;
        fprintf(o, "%s\n    {\"pid\": %u, \"ppid\": %u, \"host\": ", i ? "," : "", p->hdr.pid, p->hdr.ppid);
        jstr(o, p->host); fputs(", \"rank\": ", o); jstr(o, p->rank[0] ? p->rank : NULL);
        fputs(", \"cmdline\": ", o); jstr(o, p->cmdline);
        fputs(", \"file\": ", o); jstr(o, p->file);
        fprintf(o, ", \"clean_exit\": %s, \"threads\": %zu, \"calls\": %zu, \"events_live\": ",
                p->clean_exit ? "true" : "false", nprog, p->ncalls);
        jstr(o, p->events_live);
        fprintf(o, ", \"sources\": %u, \"duration_s\": ", p->hdr.sources);
        jnum(o, (double)(p->t_end - p->t_start) * 1e-9);
        fputs(", \"energy_provenance\": ", o); jstr(o, p->provenance);
        fputs("}", o);
    }
    fputs("\n  ],\n  \"duration_s\": ", o); jnum(o, r->duration_s);
    fprintf(o, ",\n  \"calls\": %llu,\n  \"ops\": [", (unsigned long long)r->total_calls);
    for (size_t i = 0; i < r->nops; i++) {
        const struct ana_op_row *x = &r->ops[i];
        fprintf(o, "%s\n    {\"op\": ", i ? "," : ""); jstr(o, x->op);
        fputs(", \"api\": ", o); jstr(o, x->api);
        fprintf(o, ", \"calls\": %llu, \"errors\": %llu, \"flops\": ", (unsigned long long)x->calls,
                (unsigned long long)x->errors); jnum(o, x->flops);
        fputs(", \"time_s\": ", o); jnum(o, x->time_s);
        fputs(", \"mean_s\": ", o); jnum(o, DIV(x->time_s, (double)x->calls));
        fputs(", \"gflops\": ", o); jnum(o, DIV(x->flops * 1e-9, x->time_s));
        fputs(", \"share\": ", o); jnum(o, DIV(x->time_s, r->wall_sum_s));
        fputs(", \"energy_j\": ", o); jnum(o, x->energy_j);
        if (x->ctr_calls) {
            fprintf(o, ", \"counters\": {\"sampled_calls\": %llu", (unsigned long long)x->ctr_calls);
            for (int e = 0; e < r->nctr; e++) {
                fputs(", ", o); jstr(o, r->ctr_names[e]); fputs(": ", o); jnum(o, x->ctr[e]);
            }
            fputs("}", o);
        }
        fputs("}", o);
    }
    fputs("\n  ],\n  \"shapes\": [", o);
    for (size_t i = 0; i < r->nshapes; i++) {
        const struct ana_shape_row *s = &r->shapes[i];
        static const char *tr[] = { "N", "T", "C", "?" };
        fprintf(o, "%s\n    {\"op\": ", i ? "," : ""); jstr(o, s->op);
        fputs(", \"api\": ", o); jstr(o, s->api);
        fprintf(o, ", \"transa\": \"%s\", \"transb\": \"%s\", \"m\": %u, \"n\": %u, \"k\": %u, \"calls\": %llu, \"flops\": ",
                tr[s->transa & 3], tr[s->transb & 3], s->m, s->n, s->k, (unsigned long long)s->calls);
        jnum(o, s->flops);
        fputs(", \"time_s\": ", o); jnum(o, s->time_s);
        fputs(", \"gflops\": ", o); jnum(o, DIV(s->flops * 1e-9, s->time_s));
        fputs(", \"energy_j\": ", o); jnum(o, s->energy_j);
        fputs("}", o);
    }
    fputs("\n  ],\n  \"regions\": [", o);
    for (size_t i = 0; i < r->nregions; i++) {
        const struct ana_region_row *g = &r->regions[i];
        fprintf(o, "%s\n    {\"name\": ", i ? "," : ""); jstr(o, g->name);
        fprintf(o, ", \"calls\": %llu, \"time_s\": ", (unsigned long long)g->calls); jnum(o, g->time_s);
        fputs(", \"blas_time_s\": ", o); jnum(o, g->blas_time_s);
        fputs(", \"energy_j\": ", o); jnum(o, g->energy_j);
        fputs("}", o);
    }
    fputs("\n  ],\n  \"outside\": {\"time_s\": ", o); jnum(o, r->outside_s);
    fputs(", \"energy_j\": ", o); jnum(o, r->outside_j);
    fputs(", \"unattributed_time_s\": ", o); jnum(o, r->unattributed_s);
    fputs("},\n  \"energy\": {\"total_j\": ", o); jnum(o, r->total_j);
    fputs(", \"provenance\": ", o); jstr(o, r->provenance);
    fputs(", \"source\": ", o); jstr(o, r->source);
    fputs(", \"idle_w\": ", o); jnum(o, r->idle_w);
    fputs(", \"idle_source\": ", o); jstr(o, r->idle_source);
    fputs(", \"net_j\": ", o); jnum(o, r->net_j);
    fputs(", \"calls_j\": ", o); jnum(o, r->calls_j);
    fprintf(o, ", \"reconciled\": %s", r->reconciled ? "true" : "false");
    if (r->watts_per_core > 0) {
        fputs(", \"model\": {\"watts_per_core\": ", o); jnum(o, r->watts_per_core);
        fputs(", \"watts_source\": ", o); jstr(o, r->watts_source); fputs("}", o);
    }
    fputs(", \"domains\": [", o);
    for (int i = 0; i < r->ndom; i++) {
        fprintf(o, "%s{\"name\": ", i ? ", " : ""); jstr(o, r->dom[i].name);
        fputs(", \"source\": ", o); jstr(o, r->dom[i].source);
        fputs(", \"provenance\": ", o); jstr(o, r->dom[i].provenance);
        fputs(", \"energy_j\": ", o); jnum(o, r->dom[i].energy_j);
        fputs("}", o);
    }
    fputs("]},\n  \"layers\": [", o);
    double lt = 0;
    for (size_t i = 0; i < r->nlayers; i++)
        lt += r->layers[i].time_s;
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct ana_layer_row *l = &r->layers[i];
        fprintf(o, "%s\n    {\"name\": ", i ? "," : ""); jstr(o, l->name);
        fprintf(o, ", \"calls\": %llu, \"time_s\": ", (unsigned long long)l->calls); jnum(o, l->time_s);
        fputs(", \"energy_j\": ", o); jnum(o, l->energy_j);
        fputs(", \"energy_j_per_iter\": ", o);
        if (r->iterations > 0) jnum(o, l->energy_j / (double)r->iterations); else fputs("null", o);
        fputs(", \"power_w\": ", o); jnum(o, DIV(l->energy_j, l->time_s));
        fputs(", \"flops\": ", o); jnum(o, l->flops);
        fputs(", \"gflops\": ", o); jnum(o, DIV(l->flops * 1e-9, l->time_s));
        fputs(", \"gflops_per_j\": ", o); jnum(o, DIV(l->flops * 1e-9, l->energy_j));
        fputs(", \"share\": ", o); jnum(o, DIV(l->time_s, lt));
        fputs(", \"net_energy_j\": ", o); jnum(o, l->energy_j - r->idle_w * l->time_s);
        fputs(", \"provenance\": ", o); jstr(o, r->provenance);
        fputs(", \"gpu_time_s\": ", o); jnum(o, l->gpu_time_s);
        fputs(", \"gpu_energy_j\": ", o); jnum(o, l->gpu_energy_j);
        fputs("}", o);
    }
    fputs("\n  ]", o);
    ana_gpu_json(r, o);
    fputs(",\n  \"layers_from\": ", o);
    jstr(o, r->layers_from_regions ? "regions" : "detected");
    fputs(",\n  \"iterations\": ", o);
    if (r->iterations > 0) fprintf(o, "%ld", r->iterations); else fputs("null", o);
    fputs(",\n  \"counters\": {\"events\": [", o);
    for (int e = 0; e < r->nctr; e++) { if (e) fputs(", ", o); jstr(o, r->ctr_names[e]); }
    fputs("], \"kind\": ", o); jstr(o, r->events_kind);
    fputs(", \"policy\": ", o); jstr(o, r->policy);
    fprintf(o, ", \"sampled_calls\": %llu, \"totals\": {", (unsigned long long)r->ctr_calls);
    for (int e = 0; e < r->nctr; e++) {
        if (e) fputs(", ", o);
        jstr(o, r->ctr_names[e]); fputs(": ", o); jnum(o, r->ctr_tot[e]);
    }
    fputs("}},\n  \"sampler\": {\"hz\": ", o); jnum(o, r->sampler_hz);
    fputs(", \"cpu_s\": ", o); jnum(o, r->sampler_cpu_s);
    fputs(", \"cpu_share\": ", o); jnum(o, DIV(r->sampler_cpu_s, r->wall_sum_s));
    fputs("},\n  \"warnings\": [", o);
    for (size_t i = 0; i < run->nwarn; i++) { if (i) fputs(", ", o); jstr(o, run->warnings[i]); }
    fputs("]\n}\n", o);
}

const struct ana_renderer ana_render_json = { "json", render };
