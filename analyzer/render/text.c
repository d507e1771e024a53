/* render_text.c - the report for people: a headline first (energy and its
 * provenance, where most of it went, the share outside intercepted calls,
 * the steady state per iteration), then tables aligned by display width,
 * every share with its base, every figure with significant digits and a
 * unit.  Numbers come from report.c and report_more.c; this file formats. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"

#define ANA_TEXT_LAYERS 30      /* layer rows shown; the rest in one "(N more layers)" row */

#define DIV(a, b) ((b) > 0 ? (a) / (b) : 0)
#define MAXC 14

/* a table of strings, printed with columns padded to display width */
struct tab {
    int nc;
    const char *head[MAXC];
    int right[MAXC];
    char (*cell)[MAXC][96];
    size_t nr, cap;
};

static void tab_cols(struct tab *t, const char *spec)
{
    /* "name,<num,..."  '<' = left aligned, default right */
    memset(t, 0, sizeof *t);
    static char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *s = strtok(buf, "|"); s && t->nc < MAXC; s = strtok(NULL, "|")) {
        t->right[t->nc] = *s != '<';
        t->head[t->nc++] = *s == '<' ? s + 1 : s;
    }
}

static void tab_row(struct tab *t, ...)
{
    va_list ap;
    if (t->nr == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cell = realloc(t->cell, t->cap * sizeof *t->cell);
    }
    va_start(ap, t);
    for (int c = 0; c < t->nc; c++) {
        const char *s = va_arg(ap, const char *);
        char esc[4 * 95 + 1];           /* names from the trace: control characters escaped */
        ana_text_escape(s ? s : "", esc, sizeof t->cell[0][0] - 1);
        snprintf(t->cell[t->nr][c], sizeof t->cell[0][0], "%s", esc);
    }
    va_end(ap);
    t->nr++;
}

static void tab_print(struct tab *t, FILE *o)
{
    int w[MAXC];
    for (int c = 0; c < t->nc; c++) {
        w[c] = (int)ana_width(t->head[c]);
        for (size_t r = 0; r < t->nr; r++)
            if ((int)ana_width(t->cell[r][c]) > w[c])
                w[c] = (int)ana_width(t->cell[r][c]);
    }
    for (int c = 0; c < t->nc; c++) {
        if (c) fputs("  ", o);
        ana_pad(o, t->head[c], c == t->nc - 1 && !t->right[c] ? 0 : w[c], t->right[c]);
    }
    fputc('\n', o);
    for (size_t r = 0; r < t->nr; r++) {
        for (int c = 0; c < t->nc; c++) {
            if (c) fputs("  ", o);
            ana_pad(o, t->cell[r][c], c == t->nc - 1 && !t->right[c] ? 0 : w[c], t->right[c]);
        }
        fputc('\n', o);
    }
    free(t->cell);
    t->cell = NULL;
}

/* small per-call buffers for one row */
static char bufs[32][64];
static int nb;
static char *B(void) { return bufs[nb++ % 32]; }
static char *B256(void) { static char b[4][256]; static int i; return b[i++ % 4]; }
static const char *S(double v) { return ana_sig(v, 3, B(), 64); }
static const char *J(double v) { return ana_si(v, "J", B(), 64); }
static const char *T(double v) { return ana_dur(v, B(), 64); }
static const char *P(double v) { return ana_pct(v, B(), 64); }
static const char *U(unsigned long long v) { char *b = B(); snprintf(b, 64, "%llu", v); return b; }
static const char *CO2(const struct ana_report *r, double j)
{
    double g = ana_co2_g(r, j);
    return g < 0 ? "" : ana_si(g, "g", B(), 64);
}

static const char *ctr_unit(const char *ev)
{
    static const struct { const char *key, *unit; } u[] = {
        { "TASK-CLOCK", "ns" }, { "CPU-CLOCK", "ns" }, { "CYCLES", "cycles" }, { "INSTRUCTIONS", "instructions" },
        { "CACHE-MISSES", "misses" }, { "CACHE-REFERENCES", "references" }, { "CONTEXT-SWITCHES", "switches" },
        { "PAGE-FAULTS", "faults" }, { "BRANCH-MISSES", "misses" }, { "MIGRATIONS", "migrations" },
    };
    for (size_t i = 0; i < sizeof u / sizeof *u; i++)
        if (strstr(ev, u[i].key))
            return u[i].unit;
    return "events";
}

/* a table's rows + outside against the run's wall and energy, as summed */
static void recon_line(const struct ana_report *r, const struct ana_recon *x, const char *table, FILE *o)
{
    fprintf(o, "\n  %s + outside: wall %s + %s = %s of %s", table, T(x->rows_s), T(x->out_s), T(x->rows_s + x->out_s),
            T(r->duration_s));
    if (strcmp(r->provenance, "none"))
        fprintf(o, ", energy %s + %s = %s of %s", J(x->rows_j), J(x->out_j), J(x->rows_j + x->out_j), J(r->total_j));
    fprintf(o, "; reconciled: %s\n", x->time_ok && (x->energy_ok || !strcmp(r->provenance, "none")) ? "yes" : "NO");
}

static void headline(const struct ana_report *r, FILE *o)
{
    const struct ana_more *m = r->more;
    const char *outside = m->filter_desc[0] ? "outside the selected calls" : "outside intercepted calls";
    char co2[96] = "";
    if (ana_co2_g(r, r->total_j) >= 0)
        snprintf(co2, sizeof co2, ", %s CO2e (at %s g/kWh, %s)", ana_si(ana_co2_g(r, r->total_j), "g", B(), 64),
                 S(m->carbon_g_kwh), m->carbon_src);
    if (!strcmp(r->provenance, "none")) {
        fprintf(o, "  no energy recorded (sampler off); %s wall\n", T(r->duration_s));
    } else {
        fprintf(o, "  %s %s", J(r->total_j), !strcmp(r->provenance, "modelled") ? "MODELLED, not measured" : r->provenance);
        if (!strcmp(r->provenance, "modelled"))
            fprintf(o, " (CPU time x %s W per busy core, %s)", S(r->watts_per_core),
                    r->watts_source[0] ? r->watts_source : "model");
        else if (r->source)
            fprintf(o, " (%s)", r->source);
        fprintf(o, " over %s%s\n", T(r->duration_s), co2);
    }
    /* the window is the recorder's, not the process's whole life */
    if (r->before_window_s > 0)
        fprintf(o, "  window: from the first intercepted call to exit (%s); the %s the process ran before "
                   "its first intercepted call is not recorded\n", T(r->duration_s), T(r->before_window_s));
    else if (r->before_window_s < 0)
        fprintf(o, "  window: from the first intercepted call to exit (%s); how long the process ran before "
                   "it is not in the trace\n", T(r->duration_s));
    if (m->top_layer >= 0 || m->top_op >= 0) {
        int out = strcmp(r->provenance, "none") && m->outside_share_j > m->top_layer_share_j &&
                  m->outside_share_j > m->top_op_share_j;
        if (out)
            fprintf(o, "  most went %s: %s (%s of energy); of the calls, the top", outside, J(r->outside_j),
                    P(m->outside_share_j));
        else
            fputs("  most went to", o);
        if (m->top_layer >= 0)
            fprintf(o, " layer %s: %s (%s of energy)", ana_text_escape(r->layers[m->top_layer].name, B256(), 63), J(r->layers[m->top_layer].energy_j),
                    P(m->top_layer_share_j));
        if (m->top_op >= 0)
            fprintf(o, "%s routine %s: %s (%s)", m->top_layer >= 0 ? ";" : "", r->ops[m->top_op].op,
                    J(r->ops[m->top_op].energy_j), P(m->top_op_share_j));
        fputc('\n', o);
    }
    /* time outside is outside every call; under a filter the energy of the
     * calls left out joins the outside energy, not its time */
    fprintf(o, "  outside intercepted calls: %s of wall time", P(m->outside_share_s));
    if (strcmp(r->provenance, "none"))
        fprintf(o, "%s%s of energy", m->filter_desc[0] ? "; outside the selected calls: " : ", ", P(m->outside_share_j));
    fputc('\n', o);
    if (m->steady_iters > 0) {
        double span = m->steady_t1_s - m->steady_t0_s;
        fprintf(o, "  steady state: %ld iterations from %s to %s: %s", m->steady_iters, T(m->steady_t0_s),
                T(m->steady_t1_s), T(span / (double)m->steady_iters));
        if (strcmp(r->provenance, "none"))
            fprintf(o, " and %s (%s) per iteration", J(m->steady_j / (double)m->steady_iters), r->provenance);
        fputc('\n', o);
    }
}

static void render(const struct ana_report *r, FILE *o)
{
    const struct ana_run *run = r->run;
    const struct ana_more *m = r->more;
    struct tab t;
    int carbon = ana_co2_g(r, 1) >= 0;
    fprintf(o, "greenshim report: %zu process%s, %llu intercepted calls, %s wall\n", run->nprocs,
            run->nprocs == 1 ? "" : "es", (unsigned long long)r->total_calls, T(r->duration_s));
    /* processes that made intercepted calls; the others in one line */
    size_t nquiet = 0, nshown = 0;
    char quiet[160] = "";
    for (size_t i = 0; i < run->nprocs; i++) {
        const struct ana_proc *p = run->procs[i];
        size_t nprog = 0, nsamp = 0;
        for (size_t t = 0; t < p->nthreads; t++) {
            nprog += p->threads[t].stream == GS_STREAM_THREAD;
            nsamp += p->threads[t].stream == GS_STREAM_SAMPLER;
        }
        if (!p->ncalls && !p->lost_calls && !p->lost) {
            size_t l = strlen(quiet);
            if (l < sizeof quiet - 16)
                snprintf(quiet + l, sizeof quiet - l, "%s%u", nquiet ? ", " : "", p->hdr.pid);
            else if (quiet[l - 1] != '.')
                snprintf(quiet + l, sizeof quiet - l, ", ...");
            nquiet++;
            continue;
        }
        nshown++;
        char name[256], lost[200] = "";
        ana_text_escape(p->cmdline, name, 60);
        if (p->lost_calls || p->lost)
            snprintf(lost, sizeof lost, ", lost %llu calls (%llu records): %s",
                     (unsigned long long)p->lost_calls, (unsigned long long)p->lost,
                     p->lost_reason ? ana_lost_reason(p->lost_reason) : "reason not recorded");
        fprintf(o, "  pid %u%s%s: %s  (%zu thread%s%s, %zu calls%s%s)\n", p->hdr.pid, p->rank[0] ? " rank " : "",
                p->rank, name, nprog, nprog == 1 ? "" : "s", nsamp ? " + sampler" : "", p->ncalls, lost,
                p->clean_exit ? "" : ", did not exit cleanly");
    }
    if (nquiet)
        fprintf(o, "  %s%zu process%s made no intercepted call (pid %s)\n", nshown ? "+ " : "", nquiet,
                nquiet == 1 ? "" : "es", quiet);
    if (r->lost_calls || r->lost_records)
        fprintf(o, "  the recorder lost %llu calls (%llu records) it could not write: %s; the figures below "
                "leave them out\n", (unsigned long long)r->lost_calls, (unsigned long long)r->lost_records,
                r->lost_reason ? ana_lost_reason(r->lost_reason) : "reason not recorded");
    if (m && m->filter_desc[0])
        fprintf(o, "  filter: %s: %llu calls left out; their %s count as outside the selected calls\n",
                m->filter_desc, (unsigned long long)m->filtered_calls, J(m->filtered_j));
    if (m) {
        fputs("\n", o);
        headline(r, o);
    }
    fputc('\n', o);
    if (!strcmp(r->provenance, "none")) {
        fprintf(o, "energy: none recorded (sampler off)\n");
    } else {
        fprintf(o, "energy: %s %s", J(r->total_j), r->provenance);
        if (r->source)
            fprintf(o, " (%s)", r->source);
        fprintf(o, "; in intercepted calls %s", J(r->calls_j));
        if (r->nregions)
            fprintf(o, ", in regions between calls %s", J(r->gap_j));
        fprintf(o, ", outside %s; reconciled: %s\n", J(r->outside_j),
                r->rec_energy.energy_ok ? "yes" : "NO (see the warnings)");
        fprintf(o, "        idle baseline %s W (%s): idle %s, net of idle %s\n", S(r->idle_w), r->idle_source,
                J(r->total_j - r->net_j), J(r->net_j));
        char spin[512];
        if (ana_spin_note(r, spin, sizeof spin))
            fprintf(o, "        %s\n", spin);
        for (int d = 0; d < r->ndom; d++)
            fprintf(o, "        domain %s: %s %s (%s)\n", ana_text_escape(r->dom[d].name, B256(), 63), J(r->dom[d].energy_j), r->dom[d].provenance,
                    r->dom[d].source);
    }
    fprintf(o, "time outside intercepted calls: %s (%s of wall time: no call of any process active)\n\n",
            T(r->outside_s), P(DIV(r->outside_s, r->duration_s)));

    const char *out_name = m && m->filter_desc[0] ? "outside the selected calls" : "outside intercepted calls";
    fputs("routines  (time: in the calls; %wall: of the wall time, calls active at once share it; "
          "%energy: of the total energy)\n", o);
    tab_cols(&t, carbon ? "<op|<api|calls|GFLOP|time|mean|GFLOP/s|%wall|energy|%energy|CO2e"
                        : "<op|<api|calls|GFLOP|time|mean|GFLOP/s|%wall|energy|%energy");
    for (size_t i = 0; i < r->nops; i++) {
        const struct ana_op_row *x = &r->ops[i];
        tab_row(&t, x->op, x->api, U(x->calls), S(x->flops * 1e-9), T(x->time_s), T(DIV(x->time_s, (double)x->calls)),
                S(DIV(x->flops * 1e-9, x->time_s)), P(DIV(x->wall_s, r->duration_s)), J(x->energy_j),
                P(DIV(x->energy_j, r->total_j)), CO2(r, x->energy_j));
    }
    if (strcmp(r->provenance, "none"))
        tab_row(&t, out_name, "", "", "", T(r->rec_ops.out_s), "", "", P(DIV(r->rec_ops.out_s, r->duration_s)),
                J(r->rec_ops.out_j), P(DIV(r->rec_ops.out_j, r->total_j)), CO2(r, r->rec_ops.out_j));
    tab_print(&t, o);
    recon_line(r, &r->rec_ops, "routines", o);

    size_t ns = r->nshapes < 20 ? r->nshapes : 20;
    fprintf(o, "\nshapes (top %zu of %zu by time; tr: transposes of A and B, N none, T transposed, C conjugate)\n", ns,
            r->nshapes);
    static const char tr[] = "NTC?";
    tab_cols(&t, "<op|<api|<tr|m|n|k|calls|time|GFLOP/s|energy|%energy");
    for (size_t i = 0; i < ns; i++) {
        const struct ana_shape_row *s = &r->shapes[i];
        char trs[3] = { tr[s->transa & 3], tr[s->transb & 3], 0 };
        tab_row(&t, s->op, s->api, trs, s->dims & 1 ? U(s->m) : "-", s->dims & 2 ? U(s->n) : "-",
                s->dims & 4 ? U(s->k) : "-", U(s->calls), T(s->time_s),
                S(DIV(s->flops * 1e-9, s->time_s)), J(s->energy_j), P(DIV(s->energy_j, r->total_j)));
    }
    if (ns < r->nshapes) {
        double mt = 0, mj = 0, mf = 0;
        uint64_t mc = 0;
        for (size_t i = ns; i < r->nshapes; i++) {
            mt += r->shapes[i].time_s; mj += r->shapes[i].energy_j;
            mf += r->shapes[i].flops; mc += r->shapes[i].calls;
        }
        char more[64];
        snprintf(more, sizeof more, "%zu more shapes", r->nshapes - ns);
        tab_row(&t, more, "", "", "", "", "", U(mc), T(mt), S(DIV(mf * 1e-9, mt)), J(mj), P(DIV(mj, r->total_j)));
    }
    if (strcmp(r->provenance, "none"))
        tab_row(&t, out_name, "", "", "", "", "", "", T(r->rec_shapes.out_s), "", J(r->rec_shapes.out_j),
                P(DIV(r->rec_shapes.out_j, r->total_j)));
    tab_print(&t, o);
    recon_line(r, &r->rec_shapes, "shapes", o);

    if (r->nregions) {
        fputs("\nregions (time: inclusive, from push to pop; in BLAS: inside intercepted calls)\n", o);
        tab_cols(&t, "<name|calls|time|in BLAS|energy|%energy");
        for (size_t i = 0; i < r->nregions; i++) {
            const struct ana_region_row *g = &r->regions[i];
            tab_row(&t, g->name, U(g->calls), T(g->time_s), T(g->blas_time_s), J(g->energy_j),
                    P(DIV(g->energy_j, r->total_j)));
        }
        tab_print(&t, o);
    }
    fprintf(o, "\nlayers (%s; ", r->layers_from_regions ? "regions holding at most one layer are rows of their own, detected from the call stream inside the others" : "detected from the call stream");
    if (r->iterations > 0)
        fprintf(o, "%ld iterations", r->iterations);
    else
        fprintf(o, "no repeating iteration found");
    fprintf(o, "; energy %s; wall: its calls' share of the wall time (calls active at once share it)%s; "
               "%%wall: of the wall time; net: less idle power x wall; %%energy: of the total)\n",
            r->provenance, r->layers_from_regions ? " and its regions' time between calls" : "");
    tab_cols(&t, carbon ? "<layer|<from|calls|wall|%wall|J/iter|energy|%energy|net|W|GFLOP/s|GFLOP/J|CO2e"
                        : "<layer|<from|calls|wall|%wall|J/iter|energy|%energy|net|W|GFLOP/s|GFLOP/J");
    /* at most ANA_TEXT_LAYERS rows in their order; the rest summed in one
     * row, so that the rows still add up to the total (JSON and CSV: all) */
    size_t nl = r->nlayers <= ANA_TEXT_LAYERS ? r->nlayers : ANA_TEXT_LAYERS - 1;
    for (size_t i = 0; i < nl; i++) {
        const struct ana_layer_row *l = &r->layers[i];
        tab_row(&t, l->name, l->source ? l->source : "detected", U(l->calls), T(l->wall_s), P(DIV(l->wall_s, r->duration_s)),
                l->iterations > 0 ? J(l->energy_j / (double)l->iterations) :
                r->iterations > 0 ? J(l->energy_j / (double)r->iterations) : "-", J(l->energy_j),
                P(DIV(l->energy_j, r->total_j)), J(l->energy_j - r->idle_w * l->wall_s), S(DIV(l->energy_j, l->wall_s)),
                S(DIV(l->flops * 1e-9, l->time_s)), S(DIV(l->flops * 1e-9, l->energy_j)), CO2(r, l->energy_j));
    }
    if (nl < r->nlayers) {
        struct ana_layer_row rest = { .calls = 0 };
        for (size_t i = nl; i < r->nlayers; i++) {
            rest.calls += r->layers[i].calls;
            rest.time_s += r->layers[i].time_s;
            rest.wall_s += r->layers[i].wall_s;
            rest.energy_j += r->layers[i].energy_j;
            rest.flops += r->layers[i].flops;
        }
        char more[64];
        snprintf(more, sizeof more, "(%zu more layers)", r->nlayers - nl);
        tab_row(&t, more, "", U(rest.calls), T(rest.wall_s), P(DIV(rest.wall_s, r->duration_s)), "-", J(rest.energy_j),
                P(DIV(rest.energy_j, r->total_j)), J(rest.energy_j - r->idle_w * rest.wall_s),
                S(DIV(rest.energy_j, rest.wall_s)), S(DIV(rest.flops * 1e-9, rest.time_s)),
                S(DIV(rest.flops * 1e-9, rest.energy_j)), CO2(r, rest.energy_j));
    }
    tab_row(&t, r->layers_from_regions ? (m && m->filter_desc[0] ? "outside the selected calls and layers"
                                                                  : "outside layers (no call, no layer's region)")
                                       : out_name, "", "",
            T(r->layers_out_s), P(DIV(r->layers_out_s, r->duration_s)), "", J(r->layers_out_j),
            P(DIV(r->layers_out_j, r->total_j)), J(r->layers_out_j - r->idle_w * r->layers_out_s), "", "", "",
            CO2(r, r->layers_out_j));
    tab_print(&t, o);
    recon_line(r, &r->rec_layers, "layers", o);

    if (m && m->per_thread) {
        fputs("\nthreads (time and energy in intercepted calls; span: first call to last)\n", o);
        tab_cols(&t, "pid|tid|calls|time|span|GFLOP/s|energy|%energy");
        for (size_t i = 0; i < m->nthreads; i++) {
            const struct ana_thread_row *x = &m->threads[i];
            tab_row(&t, U(x->pid), U(x->tid), U(x->calls), T(x->time_s), T(x->span_s),
                    S(DIV(x->flops * 1e-9, x->time_s)), J(x->energy_j), P(DIV(x->energy_j, r->total_j)));
        }
        tab_print(&t, o);
    }

    fprintf(o, "\ncounters: %s (%s); %llu of %llu calls sampled; policy: %s\n", r->events, r->events_kind,
            (unsigned long long)r->ctr_calls, (unsigned long long)r->total_calls, r->policy[0] ? r->policy : "-");
    for (int e = 0; e < r->nctr; e++) {
        fputs("  ", o);
        ana_pad(o, r->ctr_names[e], 28, 0);
        fprintf(o, " %.0f %s (over the sampled calls)\n", r->ctr_tot[e], ctr_unit(r->ctr_names[e]));
    }
    if (r->sampler_hz > 0)
        fprintf(o, "sampler: %s Hz, its own CPU time %s (%s of one core over the run)\n", S(r->sampler_hz),
                T(r->sampler_cpu_s), P(DIV(r->sampler_cpu_s, r->wall_sum_s)));
    if (carbon)
        fprintf(o, "CO2e: energy x %s g/kWh grid intensity from %s (estimated; the grid's, not measured here)\n",
                S(m->carbon_g_kwh), m->carbon_src);
    ana_gpu_text(r, o);
    ana_job_text(r, o);
    for (size_t i = 0; i < run->nwarn; i++)
    {
        char w[4 * 2048 + 1];
        fprintf(o, "warning: %s\n", ana_text_escape(run->warnings[i], w, 2048));
    }
}

const struct ana_renderer ana_render_text = { "text", render };
