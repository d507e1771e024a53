/* render_text.c - the report for people: aligned tables, every energy
 * figure with its provenance in words. */
#include <string.h>
#include "ana.h"

#define DIV(a, b) ((b) > 0 ? (a) / (b) : 0)

static const char *si_time(double s, char *b)
{
    if (s >= 1) snprintf(b, 32, "%.3f s", s);
    else if (s >= 1e-3) snprintf(b, 32, "%.3f ms", s * 1e3);
    else snprintf(b, 32, "%.3f us", s * 1e6);
    return b;
}

static void render(const struct ana_report *r, FILE *o)
{
    const struct ana_run *run = r->run;
    char b1[32], b2[32];
    fprintf(o, "greenshim report: %zu process%s, %llu intercepted calls, %.3f s wall\n",
            run->nprocs, run->nprocs == 1 ? "" : "es", (unsigned long long)r->total_calls, r->duration_s);
    for (size_t i = 0; i < run->nprocs; i++) {
        const struct ana_proc *p = run->procs[i];
        fprintf(o, "  pid %u%s%s: %.60s  (%zu threads, %zu calls%s)\n", p->hdr.pid, p->rank[0] ? " rank " : "",
                p->rank, p->cmdline, p->nthreads, p->ncalls, p->clean_exit ? "" : ", did not exit cleanly");
    }
    fputc('\n', o);
    if (!strcmp(r->provenance, "measured"))
        fprintf(o, "energy: %.3f J measured (%s), idle baseline %.2f W (%s), net %.3f J\n", r->total_j,
                r->source ? r->source : "?", r->idle_w, r->idle_source, r->net_j);
    else if (!strcmp(r->provenance, "modelled"))
        fprintf(o, "energy: %.3f J MODELLED, not measured (no RAPL; CPU time x %.2f W per busy core, %s)\n",
                r->total_j, r->watts_per_core, r->watts_source[0] ? r->watts_source : "model");
    else if (!strcmp(r->provenance, "none"))
        fprintf(o, "energy: none recorded (sampler off)\n");
    else
        fprintf(o, "energy: %.3f J, %s sources\n", r->total_j, r->provenance);
    if (strcmp(r->provenance, "none"))
        fprintf(o, "        in intercepted calls %.3f J, outside %.3f J; reconciled: %s\n", r->calls_j,
                r->outside_j, r->reconciled ? "yes" : "NO");
    fprintf(o, "time outside intercepted calls: %s (%.1f%% of wall)\n\n", si_time(r->outside_s, b1),
            100 * DIV(r->outside_s, r->wall_sum_s));

    fprintf(o, "%-8s %-7s %10s %12s %12s %12s %9s %7s %12s\n", "op", "api", "calls", "GFLOP", "time", "mean",
            "GFLOP/s", "share", "energy J");
    for (size_t i = 0; i < r->nops; i++) {
        const struct ana_op_row *x = &r->ops[i];
        fprintf(o, "%-8s %-7s %10llu %12.3f %12s %12s %9.2f %6.1f%% %12.4f\n", x->op, x->api,
                (unsigned long long)x->calls, x->flops * 1e-9, si_time(x->time_s, b1),
                si_time(DIV(x->time_s, (double)x->calls), b2), DIV(x->flops * 1e-9, x->time_s),
                100 * DIV(x->time_s, r->wall_sum_s), x->energy_j);
    }
    fprintf(o, "\nshapes (top %zu by time)\n", r->nshapes < 20 ? r->nshapes : (size_t)20);
    fprintf(o, "%-8s %-7s %3s %8s %8s %8s %10s %12s %9s %12s\n", "op", "api", "tr", "m", "n", "k", "calls", "time",
            "GFLOP/s", "energy J");
    static const char tr[] = "NTC?";
    for (size_t i = 0; i < r->nshapes && i < 20; i++) {
        const struct ana_shape_row *s = &r->shapes[i];
        fprintf(o, "%-8s %-7s %c%c  %8u %8u %8u %10llu %12s %9.2f %12.4f\n", s->op, s->api, tr[s->transa & 3],
                tr[s->transb & 3], s->m, s->n, s->k, (unsigned long long)s->calls, si_time(s->time_s, b1),
                DIV(s->flops * 1e-9, s->time_s), s->energy_j);
    }
    if (r->nregions) {
        fprintf(o, "\nregions\n%-40s %10s %12s %12s %12s\n", "name", "calls", "time", "in BLAS", "energy J");
        for (size_t i = 0; i < r->nregions; i++) {
            const struct ana_region_row *g = &r->regions[i];
            fprintf(o, "%-40s %10llu %12s %12s %12.4f\n", g->name, (unsigned long long)g->calls,
                    si_time(g->time_s, b1), si_time(g->blas_time_s, b2), g->energy_j);
        }
    }
    double lt = 0;
    for (size_t i = 0; i < r->nlayers; i++)
        lt += r->layers[i].time_s;
    fprintf(o, "\nlayers (%s; ", r->layers_from_regions ? "from regions" : "detected from the call stream");
    if (r->iterations > 0)
        fprintf(o, "%ld iterations)\n", r->iterations);
    else
        fprintf(o, "no repeating iteration found)\n");
    fprintf(o, "%-28s %8s %12s %11s %11s %8s %9s %8s %6s  %s\n", "layer", "calls", "time", "J/iter", "J total", "W",
            "GFLOP/s", "GFLOP/J", "share", "energy");
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct ana_layer_row *l = &r->layers[i];
        char per[32];
        if (r->iterations > 0) snprintf(per, sizeof per, "%.5f", l->energy_j / (double)r->iterations);
        else snprintf(per, sizeof per, "-");
        fprintf(o, "%-28s %8llu %12s %11s %11.4f %8.2f %9.2f %8.2f %5.1f%%  %s\n", l->name,
                (unsigned long long)l->calls, si_time(l->time_s, b1), per, l->energy_j, DIV(l->energy_j, l->time_s),
                DIV(l->flops * 1e-9, l->time_s), DIV(l->flops * 1e-9, l->energy_j), 100 * DIV(l->time_s, lt),
                r->provenance);
    }
    fprintf(o, "%-28s %8s %12s %11s %11.4f\n", "outside intercepted calls", "", si_time(r->outside_s, b1), "",
            r->outside_j);
    fprintf(o, "\ncounters: %s (%s); %llu of %llu calls sampled; policy: %s\n", r->events, r->events_kind,
            (unsigned long long)r->ctr_calls, (unsigned long long)r->total_calls, r->policy[0] ? r->policy : "-");
    for (int e = 0; e < r->nctr; e++)
        fprintf(o, "  %-28s %.0f (over the sampled calls)\n", r->ctr_names[e], r->ctr_tot[e]);
    if (r->sampler_hz > 0)
        fprintf(o, "sampler: %.0f Hz, its own CPU time %.4f s (%.3f%% of one core over the run)\n", r->sampler_hz,
                r->sampler_cpu_s, 100 * DIV(r->sampler_cpu_s, r->wall_sum_s));
    ana_gpu_text(r, o);
    for (size_t i = 0; i < run->nwarn; i++)
        fprintf(o, "warning: %s\n", run->warnings[i]);
}

const struct ana_renderer ana_render_text = { "text", render };
