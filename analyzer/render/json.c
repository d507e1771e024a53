/* render_json.c - the machine-readable report (docs/analyzer.md lists the
 * keys; extend, never break). */
#include <math.h>
#include <string.h>
#include "ana.h"

#define jstr ana_json_str
#define jnum ana_json_num
#define DIV(a, b) ((b) > 0 ? (a) / (b) : 0)

/* report_more.c's numbers: headline, steady state, threads, carbon, filter */
static void more(const struct ana_report *r, FILE *o)
{
    const struct ana_more *m = r->more;
    if (!m)
        return;
    fputs("  \"headline\": {\"top_layer\": ", o);
    jstr(o, m->top_layer >= 0 ? r->layers[m->top_layer].name : NULL);
    fputs(", \"top_layer_share_of_energy\": ", o); jnum(o, m->top_layer_share_j);
    fputs(", \"top_op\": ", o);
    jstr(o, m->top_op >= 0 ? r->ops[m->top_op].op : NULL);
    fputs(", \"top_op_share_of_energy\": ", o); jnum(o, m->top_op_share_j);
    fputs(", \"outside_share_of_wall\": ", o); jnum(o, m->outside_share_s);
    fputs(", \"outside_share_of_energy\": ", o); jnum(o, m->outside_share_j);
    fputs(", \"idle_j\": ", o); jnum(o, r->total_j - r->net_j);
    fputs("},\n  \"steady_state\": ", o);
    if (m->steady_iters > 0) {
        fprintf(o, "{\"iterations\": %ld, \"from_s\": ", m->steady_iters); jnum(o, m->steady_t0_s);
        fputs(", \"to_s\": ", o); jnum(o, m->steady_t1_s);
        fputs(", \"time_s_per_iter\": ", o); jnum(o, (m->steady_t1_s - m->steady_t0_s) / (double)m->steady_iters);
        fputs(", \"energy_j\": ", o); jnum(o, m->steady_j);
        fputs(", \"energy_j_per_iter\": ", o); jnum(o, m->steady_j / (double)m->steady_iters);
        fputs("}", o);
    } else {
        fputs("null", o);
    }
    fputs(",\n  \"threads_view\": [", o);
    for (size_t i = 0; i < m->nthreads; i++) {
        const struct ana_thread_row *t = &m->threads[i];
        fprintf(o, "%s\n    {\"pid\": %u, \"tid\": %u, \"calls\": %llu, \"time_s\": ", i ? "," : "", t->pid, t->tid,
                (unsigned long long)t->calls);
        jnum(o, t->time_s); fputs(", \"span_s\": ", o); jnum(o, t->span_s);
        fputs(", \"flops\": ", o); jnum(o, t->flops); fputs(", \"energy_j\": ", o); jnum(o, t->energy_j);
        fputs("}", o);
    }
    fputs("\n  ],\n  \"carbon\": ", o);
    if (ana_co2_g(r, 1) >= 0) {
        fputs("{\"intensity_g_per_kwh\": ", o); jnum(o, m->carbon_g_kwh);
        fputs(", \"source\": ", o); jstr(o, m->carbon_src);
        fputs(", \"total_g\": ", o); jnum(o, ana_co2_g(r, r->total_j));
        fputs(", \"provenance\": \"estimated\"}", o);
    } else {
        fputs("null", o);
    }
    fputs(",\n  \"filter\": ", o);
    if (m->filter_desc[0]) {
        fputs("{\"options\": ", o); jstr(o, m->filter_desc);
        fprintf(o, ", \"calls_left_out\": %llu, \"energy_left_out_j\": ", (unsigned long long)m->filtered_calls);
        jnum(o, m->filtered_j); fputs("}", o);
    } else {
        fputs("null", o);
    }
    fputs(",\n  \"roofline\": {\"peak_gflops\": ", o); jnum(o, m->peak_gflops);
    fputs(", \"peak_gbs\": ", o); jnum(o, m->peak_gbs);
    fputs(", \"source\": ", o); jstr(o, m->peak_src);
    fputs("},\n", o);
}

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
        fprintf(o, ", \"clean_exit\": %s, \"threads\": %zu, \"sampler_threads\": %zu, \"calls\": %zu, "
                "\"lost\": {\"calls\": %llu, \"records\": %llu, \"reason\": ",
                p->clean_exit ? "true" : "false", nprog, p->nthreads - nprog, p->ncalls,
                (unsigned long long)p->lost_calls, (unsigned long long)p->lost);
        jstr(o, ana_lost_reason(p->lost_reason));
        fputs("}, \"run_id\": ", o);
        jstr(o, p->run_id[0] ? p->run_id : NULL);
        fputs(", \"events_live\": ", o);
        jstr(o, p->events_live);
        fprintf(o, ", \"sources\": %u, \"duration_s\": ", p->hdr.sources);
        jnum(o, (double)(p->t_end - p->t_start) * 1e-9);
        fputs(", \"energy_provenance\": ", o); jstr(o, p->provenance);
        fputs("}", o);
    }
    fprintf(o, "\n  ],\n  \"threads\": {\"program\": %zu, \"sampler\": %zu, \"counted\": \"program threads; the "
            "recorder's sampler threads apart\"},\n  \"lost\": {\"calls\": %llu, \"records\": %llu, \"reason\": ",
            r->threads_program, r->threads_sampler, (unsigned long long)r->lost_calls,
            (unsigned long long)r->lost_records);
    jstr(o, ana_lost_reason(r->lost_reason));
    fputs("},\n  \"run_id\": ", o);
    jstr(o, r->run_id[0] ? r->run_id : NULL);
    fputs(",\n  \"duration_s\": ", o); jnum(o, r->duration_s);
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
        fputs(", \"wall_s\": ", o); jnum(o, x->wall_s);
        fputs(", \"share\": ", o); jnum(o, DIV(x->wall_s, r->duration_s));
        fputs(", \"energy_j\": ", o); jnum(o, x->energy_j);
        if (x->bytes > 0 || !strcmp(x->api, "mpi") || !strcmp(x->api, "nccl") || !strcmp(x->api, "gloo")) {
            fputs(", \"bytes\": ", o); jnum(o, x->bytes);
        }
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
        fprintf(o, ", \"dims\": \"%s%s%s\"", s->dims & 1 ? "m" : "", s->dims & 2 ? "n" : "", s->dims & 4 ? "k" : "");
        fputs(", \"time_s\": ", o); jnum(o, s->time_s);
        fputs(", \"wall_s\": ", o); jnum(o, s->wall_s);
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
    fputs(", \"layers_time_s\": ", o); jnum(o, r->layers_out_s);
    fputs(", \"layers_energy_j\": ", o); jnum(o, r->layers_out_j);
    fputs("},\n  \"energy\": {\"total_j\": ", o); jnum(o, r->total_j);
    fputs(", \"provenance\": ", o); jstr(o, r->provenance);
    fputs(", \"source\": ", o); jstr(o, r->source);
    fputs(", \"idle_w\": ", o); jnum(o, r->idle_w);
    fputs(", \"idle_source\": ", o); jstr(o, r->idle_source);
    fputs(", \"net_j\": ", o); jnum(o, r->net_j);
    fputs(", \"calls_j\": ", o); jnum(o, r->calls_j);
    fputs(", \"regions_between_calls_j\": ", o); jnum(o, r->gap_j);
    fprintf(o, ", \"reconciled\": %s", r->reconciled ? "true" : "false");
    /* each table: its rows and its outside row as summed, against the wall and the total */
    fputs(", \"reconciliation\": {", o);
    const struct { const char *name; const struct ana_recon *x; } rc[] = {
        { "energy_line", &r->rec_energy }, { "routines", &r->rec_ops }, { "shapes", &r->rec_shapes },
        { "layers", &r->rec_layers },
    };
    for (size_t i = 0; i < sizeof rc / sizeof *rc; i++) {
        fprintf(o, "%s\"%s\": {\"rows_time_s\": ", i ? ", " : "", rc[i].name); jnum(o, rc[i].x->rows_s);
        fputs(", \"outside_time_s\": ", o); jnum(o, rc[i].x->out_s);
        fputs(", \"wall_s\": ", o); jnum(o, r->duration_s);
        fputs(", \"rows_energy_j\": ", o); jnum(o, rc[i].x->rows_j);
        fputs(", \"outside_energy_j\": ", o); jnum(o, rc[i].x->out_j);
        fputs(", \"total_j\": ", o); jnum(o, r->total_j);
        fprintf(o, ", \"time_reconciled\": %s, \"energy_reconciled\": %s}", rc[i].x->time_ok ? "true" : "false",
                rc[i].x->energy_ok ? "true" : "false");
    }
    fputs("}", o);
    if (r->watts_per_core > 0) {
        fputs(", \"model\": {\"watts_per_core\": ", o); jnum(o, r->watts_per_core);
        fputs(", \"watts_source\": ", o); jstr(o, r->watts_source);
        fputs(", \"blas_threads\": ", o);
        if (r->blas_threads > 0) fprintf(o, "%d", r->blas_threads); else fputs("null", o);
        char spin[512];
        fputs(", \"spin_note\": ", o); jstr(o, ana_spin_note(r, spin, sizeof spin));
        fputs("}", o);
    }
    fputs(", \"domains\": [", o);
    for (int i = 0; i < r->ndom; i++) {
        fprintf(o, "%s{\"name\": ", i ? ", " : ""); jstr(o, r->dom[i].name);
        fputs(", \"source\": ", o); jstr(o, r->dom[i].source);
        fputs(", \"provenance\": ", o); jstr(o, r->dom[i].provenance);
        fputs(", \"energy_j\": ", o); jnum(o, r->dom[i].energy_j);
        fputs(", \"span_s\": ", o); jnum(o, r->dom[i].span_s);
        fputs("}", o);
    }
    fputs("]},\n  \"layers\": [", o);
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct ana_layer_row *l = &r->layers[i];
        fprintf(o, "%s\n    {\"name\": ", i ? "," : ""); jstr(o, l->name);
        fputs(", \"source\": ", o); jstr(o, l->source ? l->source : "detected");
        fprintf(o, ", \"calls\": %llu, \"time_s\": ", (unsigned long long)l->calls); jnum(o, l->time_s);
        fputs(", \"wall_s\": ", o); jnum(o, l->wall_s);
        fputs(", \"energy_j\": ", o); jnum(o, l->energy_j);
        fputs(", \"energy_j_per_iter\": ", o);
        if (l->iterations > 0) jnum(o, l->energy_j / (double)l->iterations);
        else if (r->iterations > 0) jnum(o, l->energy_j / (double)r->iterations); else fputs("null", o);
        fputs(", \"iterations\": ", o);
        if (l->iterations > 0) fprintf(o, "%ld", l->iterations); else fputs("null", o);
        fputs(", \"power_w\": ", o); jnum(o, DIV(l->energy_j, l->wall_s));
        fputs(", \"flops\": ", o); jnum(o, l->flops);
        fputs(", \"gflops\": ", o); jnum(o, DIV(l->flops * 1e-9, l->time_s));
        fputs(", \"gflops_per_j\": ", o); jnum(o, DIV(l->flops * 1e-9, l->energy_j));
        fputs(", \"share\": ", o); jnum(o, DIV(l->wall_s, r->duration_s));
        fputs(", \"net_energy_j\": ", o); jnum(o, l->energy_j - r->idle_w * l->wall_s);
        fputs(", \"provenance\": ", o); jstr(o, r->provenance);
        fputs(", \"gpu_time_s\": ", o); jnum(o, l->gpu_time_s);
        fputs(", \"gpu_energy_j\": ", o); jnum(o, l->gpu_energy_j);
        fputs("}", o);
    }
    fputs("\n  ]", o);
    ana_gpu_json(r, o);
    ana_job_json(r, o);
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
    fputs("}, \"units\": {", o);
    for (int e = 0; e < r->nctr; e++) {
        if (e) fputs(", ", o);
        jstr(o, r->ctr_names[e]); fputs(": ", o); jstr(o, ana_counter_unit(r->ctr_names[e]));
    }
    fputs("}},\n  \"sampler\": {\"hz\": ", o); jnum(o, r->sampler_hz);
    fputs(", \"cpu_s\": ", o); jnum(o, r->sampler_cpu_s);
    fputs(", \"cpu_share\": ", o); jnum(o, DIV(r->sampler_cpu_s, r->wall_sum_s));
    fputs("},\n", o);
    /* the window: the recorder's, from the first intercepted call */
    fputs("  \"window\": {\"starts_at\": \"first intercepted call\", \"duration_s\": ", o);
    jnum(o, r->duration_s);
    fputs(", \"not_recorded_before_s\": ", o);
    if (r->before_window_s >= 0) jnum(o, r->before_window_s); else fputs("null", o);
    fputs("},\n", o);
    more(r, o);
    fputs("  \"warnings\": [", o);
    for (size_t i = 0; i < run->nwarn; i++) { if (i) fputs(", ", o); jstr(o, run->warnings[i]); }
    fputs("]\n}\n", o);
}

const struct ana_renderer ana_render_json = { "json", render };
