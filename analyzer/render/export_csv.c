/* export_csv.c - `export --csv DIR`: one CSV per table of the report, a
 * header row each, numbers as the JSON report prints them (%.9g) so the
 * two agree digit for digit: summary, ops, shapes (with transposes),
 * regions, layers, threads, samples (every energy/CPU/frequency sample of
 * every process), power (the binned series the HTML draws) and kernels
 * (kernels.c's rows: GPU time measured, energy estimated from NVML by the
 * fit; header only when the run has no GPU kernels). */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include "ana.h"

#define DIV(a, b) ((b) > 0 ? (a) / (b) : 0)

static void q(FILE *o, const char *s)
{
    fputc('"', o);
    for (; s && *s; s++) {
        if (*s == '"') fputc('"', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

/* a number as render_json.c writes it; empty when not finite */
static void n(FILE *o, double v)
{
    if (isfinite(v))
        fprintf(o, "%.9g", v);
}

static FILE *open_in(const char *dir, const char *name, const char *header, int *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *o = fopen(path, "w");
    if (!o) {
        if (!*err) *err = errno ? errno : EIO;
        return NULL;
    }
    fputs(header, o);
    fputc('\n', o);
    return o;
}

static void done(FILE *o, int *err)
{
    if (o && (ferror(o) | fclose(o)) && !*err)
        *err = errno ? errno : EIO;
}

int ana_export_csv(const struct ana_report *r, const char *dir)
{
    const struct ana_run *run = r->run;
    const struct ana_more *m = r->more;
    int err = 0;
    errno = 0;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return errno;
    static const char *tr[] = { "N", "T", "C", "?" };
    FILE *o;

    if ((o = open_in(dir, "summary.csv", "key,value,unit,provenance", &err))) {
        const char *pv = r->provenance;
#define ROW(k, v, u, p) do { fputs(k ",", o); n(o, v); fprintf(o, ",%s,%s\n", u, p); } while (0)
        ROW("duration", r->duration_s, "s", "measured");
        ROW("calls", (double)r->total_calls, "calls", "measured");
        ROW("total_energy", r->total_j, "J", pv);
        ROW("calls_energy", r->calls_j, "J", pv);
        ROW("outside_energy", r->outside_j, "J", pv);
        ROW("outside_time", r->outside_s, "s", "measured");
        ROW("idle_power", r->idle_w, "W", "estimated");
        ROW("idle_energy", r->total_j - r->net_j, "J", "estimated");
        ROW("net_energy", r->net_j, "J", "estimated");
        ROW("iterations", r->iterations > 0 ? (double)r->iterations : NAN, "iterations", "detected");
        if (m && m->steady_iters > 0) {
            ROW("steady_time_per_iter", (m->steady_t1_s - m->steady_t0_s) / (double)m->steady_iters, "s", "measured");
            ROW("steady_energy_per_iter", m->steady_j / (double)m->steady_iters, "J", pv);
        }
        if (ana_co2_g(r, 1) >= 0) {
            ROW("carbon_intensity", m->carbon_g_kwh, "g/kWh", m->carbon_src);
            ROW("total_co2e", ana_co2_g(r, r->total_j), "g", "estimated");
        }
        if (m) {
            ROW("roofline_peak_gflops", m->peak_gflops, "GFLOP/s", m->peak_src);
            ROW("roofline_peak_gbs", m->peak_gbs, "GB/s", m->peak_src);
        }
#undef ROW
        done(o, &err);
    }
    if ((o = open_in(dir, "ops.csv", "op,api,calls,flops,time_s,mean_s,gflops,share_of_wall,energy_j,share_of_energy,provenance", &err))) {
        for (size_t i = 0; i < r->nops; i++) {
            const struct ana_op_row *x = &r->ops[i];
            fprintf(o, "%s,%s,%llu,", x->op, x->api, (unsigned long long)x->calls);
            n(o, x->flops); fputc(',', o); n(o, x->time_s); fputc(',', o); n(o, DIV(x->time_s, (double)x->calls));
            fputc(',', o); n(o, DIV(x->flops * 1e-9, x->time_s)); fputc(',', o); n(o, DIV(x->time_s, r->wall_sum_s));
            fputc(',', o); n(o, x->energy_j); fputc(',', o); n(o, DIV(x->energy_j, r->total_j));
            fprintf(o, ",%s\n", r->provenance);
        }
        done(o, &err);
    }
    if ((o = open_in(dir, "shapes.csv", "op,api,transa,transb,m,n,k,calls,flops,time_s,gflops,energy_j,provenance", &err))) {
        for (size_t i = 0; i < r->nshapes; i++) {
            const struct ana_shape_row *s = &r->shapes[i];
            fprintf(o, "%s,%s,%s,%s,%u,%u,%u,%llu,", s->op, s->api, tr[s->transa & 3], tr[s->transb & 3], s->m, s->n,
                    s->k, (unsigned long long)s->calls);
            n(o, s->flops); fputc(',', o); n(o, s->time_s); fputc(',', o); n(o, DIV(s->flops * 1e-9, s->time_s));
            fputc(',', o); n(o, s->energy_j);
            fprintf(o, ",%s\n", r->provenance);
        }
        done(o, &err);
    }
    if ((o = open_in(dir, "regions.csv", "name,calls,time_s,blas_time_s,energy_j,provenance", &err))) {
        for (size_t i = 0; i < r->nregions; i++) {
            const struct ana_region_row *g = &r->regions[i];
            q(o, g->name);
            fprintf(o, ",%llu,", (unsigned long long)g->calls);
            n(o, g->time_s); fputc(',', o); n(o, g->blas_time_s); fputc(',', o); n(o, g->energy_j);
            fprintf(o, ",%s\n", r->provenance);
        }
        done(o, &err);
    }
    if ((o = open_in(dir, "layers.csv", "name,calls,time_s,energy_j,energy_j_per_iter,net_energy_j,power_w,flops,"
                                        "gflops,gflops_per_j,bytes_estimated,co2e_g,provenance,source,wall_s", &err))) {
        for (size_t i = 0; i <= r->nlayers; i++) {
            /* the last row: outside the layers (no call, no layer's region), so the rows add up to
             * the total (energy, and wall_s to the wall time) */
            int out = i == r->nlayers;
            const struct ana_layer_row *l = out ? NULL : &r->layers[i];
            double e = out ? r->layers_out_j : l->energy_j, t = out ? r->layers_out_s : l->time_s;
            double wall = out ? r->layers_out_s : l->wall_s;
            q(o, out ? "outside intercepted calls" : l->name);
            fprintf(o, ",%llu,", out ? 0ull : (unsigned long long)l->calls);
            n(o, t); fputc(',', o); n(o, e); fputc(',', o);
            if (!out && r->iterations > 0) n(o, e / (double)r->iterations);
            fputc(',', o); n(o, e - r->idle_w * t); fputc(',', o); n(o, DIV(e, t)); fputc(',', o);
            if (!out) {
                n(o, l->flops); fputc(',', o); n(o, DIV(l->flops * 1e-9, t)); fputc(',', o);
                n(o, DIV(l->flops * 1e-9, e)); fputc(',', o); if (m) n(o, m->layer_bytes[i]);
            } else {
                fputs(",,,", o);
            }
            fputc(',', o);
            if (ana_co2_g(r, e) >= 0) n(o, ana_co2_g(r, e));
            fprintf(o, ",%s,%s,", r->provenance, out ? "" : l->source ? l->source : "detected");
            n(o, wall);
            fputc('\n', o);
        }
        done(o, &err);
    }
    if (m && (o = open_in(dir, "threads.csv", "pid,tid,calls,time_s,span_s,flops,energy_j,provenance", &err))) {
        for (size_t i = 0; i < m->nthreads; i++) {
            const struct ana_thread_row *x = &m->threads[i];
            fprintf(o, "%u,%u,%llu,", x->pid, x->tid, (unsigned long long)x->calls);
            n(o, x->time_s); fputc(',', o); n(o, x->span_s); fputc(',', o); n(o, x->flops); fputc(',', o);
            n(o, x->energy_j);
            fprintf(o, ",%s\n", r->provenance);
        }
        done(o, &err);
    }
    if ((o = open_in(dir, "samples.csv", "pid,domain,kind,unit,source,provenance,t_s,value", &err))) {
        double lo = 1e300;
        for (size_t pi = 0; pi < run->nprocs; pi++)
            if ((double)run->procs[pi]->t_start < lo) lo = (double)run->procs[pi]->t_start;
        for (size_t pi = 0; pi < run->nprocs; pi++) {
            const struct ana_proc *p = run->procs[pi];
            for (int d = 0; d < p->ndom; d++) {
                const struct ana_domain *dm = &p->dom[d];
                for (size_t i = 0; i < dm->n; i++) {
                    fprintf(o, "%u,", p->hdr.pid); q(o, dm->name);
                    fprintf(o, ",%s,%s,%s,%s,", dm->kind, dm->unit, dm->source, dm->provenance);
                    n(o, ((double)dm->t[i] - lo) * 1e-9);
                    fprintf(o, ",%llu\n", (unsigned long long)dm->v[i]);
                }
            }
        }
        done(o, &err);
    }
    if (m && (o = open_in(dir, "power.csv", "t0_s,t1_s,power_w,freq_mhz,layer,provenance", &err))) {
        for (size_t k = 0; k < m->nbins; k++) {
            n(o, m->bin_s * (double)k); fputc(',', o); n(o, m->bin_s * (double)(k + 1)); fputc(',', o);
            n(o, m->bin_w[k]); fputc(',', o);
            if (m->has_freq) n(o, m->freq_mhz[k]);
            fputc(',', o);
            if (m->bin_layer[k] >= 0) q(o, r->layers[m->bin_layer[k]].name);
            fprintf(o, ",%s\n", r->provenance);
        }
        done(o, &err);
    }
    if ((o = open_in(dir, "kernels.csv", "name,calls,time_s,energy_j,energy_err_j,power_w,launch_latency_s,"
                                         "joined_launches,cublas_calls,time_provenance,energy_provenance", &err))) {
        const struct ana_gpu_report *G = r->gpu;
        for (size_t i = 0; G && i < G->nkernels; i++) {
            const struct ana_kernel_row *k = &G->kernels[i];
            q(o, k->name);
            fprintf(o, ",%llu,", (unsigned long long)k->calls);
            n(o, k->time_s); fputc(',', o); n(o, k->energy_j); fputc(',', o); n(o, k->energy_err_j);
            fputc(',', o); n(o, DIV(k->energy_j, k->time_s)); fputc(',', o);
            if (k->latency_n) n(o, k->latency_sum_s / (double)k->latency_n);
            fprintf(o, ",%llu,%llu,measured,estimated\n", (unsigned long long)k->joined,
                    (unsigned long long)k->cublas);
        }
        done(o, &err);
    }
    return err;
}
