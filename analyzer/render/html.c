/* render_html.c - `greenshim-analyze html`: one self-contained page (inline
 * CSS and SVG, no script, no network), readable on a laptop and printable.
 * Sections: run summary with the provenance of every figure; energy per
 * layer (CPU and GPU stacked, with "outside"); power over time with the
 * layers as bands underneath; a roofline of the layers; the DVFS curves when
 * a recommendation is given (--dvfs FILE); the top routines, shapes,
 * regions and threads.  Every number comes from the report (report.c,
 * report_more.c) and prints through fmt.c, as in the text report. */
#include <math.h>
#include <string.h>
#include "ana.h"
#include "stages/ranks.h"

#define DIV(a, b) ((b) > 0 ? (a) / (b) : 0)

static const char *pal[] = { "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                             "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };
#define NPAL (sizeof pal / sizeof *pal)

static char bufs[32][96];
static int nb;
static char *B(void) { return bufs[nb++ % 32]; }
static const char *S(double v) { return ana_sig(v, 3, B(), 96); }
static const char *J(double v) { return ana_si(v, "J", B(), 96); }
static const char *T(double v) { return ana_dur(v, B(), 96); }
static const char *P(double v) { return ana_pct(v, B(), 96); }

static void esc(FILE *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '&': fputs("&amp;", o); break;
        case '"': fputs("&quot;", o); break;
        default: fputc(*s, o);
        }
    }
}

static void co2(FILE *o, const struct ana_report *r, double j)
{
    double g = ana_co2_g(r, j);
    if (g >= 0)
        fprintf(o, " <span class=co2>(%s CO2e)</span>", ana_si(g, "g", B(), 96));
}

static const char css[] =
    "body{font:14px/1.45 'DejaVu Sans',system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #ddd;padding-bottom:3px}"
    ".sub{color:#555;margin:0 0 12px}.head{font-size:16px;background:#f4f7f2;border-left:4px solid #59a14f;padding:8px 12px}"
    ".head p{margin:3px 0}table{border-collapse:collapse;margin:6px 0;font-size:13px}"
    "th,td{padding:3px 9px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}"
    "th{background:#f6f6f6;font-weight:600}td.l,th.l{text-align:left}.kv td{text-align:left;white-space:normal}"
    ".kv td:first-child{color:#555;padding-right:18px}.prov{font-size:11px;padding:1px 5px;border-radius:3px;"
    "background:#e8eef7;color:#2a4d7a}.prov.modelled,.prov.estimated{background:#fbeee0;color:#8a4b0f}"
    ".prov.predicted,.prov.fitted{background:#efe6f5;color:#5c2d7a}.co2{color:#2f6b2f}"
    "svg{display:block;margin:6px 0;font:12px 'DejaVu Sans',sans-serif}svg text{fill:#333}"
    ".note{color:#666;font-size:12px;margin:2px 0 8px}.warn{color:#a33}.legend span{display:inline-block;"
    "margin-right:14px;font-size:12px}.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;"
    "vertical-align:-1px}@media print{body{margin:0;max-width:none}h2{break-after:avoid}svg{break-inside:avoid}}";

/* axis labels: plain %g (0.01, 1000), not significant digits */
static const char *G(double v) { char *b = B(); snprintf(b, 96, "%g", v); return b; }

static void prov(FILE *o, const char *p)
{
    fprintf(o, " <span class=\"prov %s\">", p);
    esc(o, p);
    fputs("</span>", o);
}

/* ---- run summary ---- */

static void summary(const struct ana_report *r, FILE *o)
{
    const struct ana_run *run = r->run;
    const struct ana_more *m = r->more;
    fputs("<div class=head>", o);
    if (!strcmp(r->provenance, "none"))
        fprintf(o, "<p>No energy recorded (the sampler was off); %s wall.</p>", T(r->duration_s));
    else {
        fprintf(o, "<p><b>%s</b>", J(r->total_j));
        prov(o, r->provenance);
        fprintf(o, " over %s", T(r->duration_s));
        co2(o, r, r->total_j);
        fputs("</p>", o);
    }
    if (m->top_layer >= 0 || m->top_op >= 0) {
        if (strcmp(r->provenance, "none") && m->outside_share_j > m->top_layer_share_j &&
            m->outside_share_j > m->top_op_share_j)
            fprintf(o, "<p>Most went outside %s: %s (%s of energy); of the calls, the top ",
                    m->filter_desc[0] ? "the selected calls" : "intercepted calls", J(r->outside_j), P(m->outside_share_j));
        else
            fputs("<p>Most went to ", o);
        if (m->top_layer >= 0) {
            fputs("layer <b>", o);
            esc(o, r->layers[m->top_layer].name);
            fprintf(o, "</b>: %s (%s of energy)", J(r->layers[m->top_layer].energy_j), P(m->top_layer_share_j));
        }
        if (m->top_op >= 0)
            fprintf(o, "%s routine <b>%s</b>: %s (%s)", m->top_layer >= 0 ? "; " : "", r->ops[m->top_op].op,
                    J(r->ops[m->top_op].energy_j), P(m->top_op_share_j));
        fputs(".</p>", o);
    }
    fprintf(o, "<p>Outside intercepted calls: %s of wall time", P(m->outside_share_s));
    if (strcmp(r->provenance, "none"))
        fprintf(o, "%s%s of energy", m->filter_desc[0] ? "; outside the selected calls: " : ", ", P(m->outside_share_j));
    fputs(".</p>", o);
    if (m->steady_iters > 0) {
        fprintf(o, "<p>Steady state: %ld iterations from %s to %s: %s", m->steady_iters, T(m->steady_t0_s),
                T(m->steady_t1_s), T((m->steady_t1_s - m->steady_t0_s) / (double)m->steady_iters));
        if (strcmp(r->provenance, "none"))
            fprintf(o, " and %s per iteration", J(m->steady_j / (double)m->steady_iters));
        fputs(".</p>", o);
    }
    fputs("</div>\n<h2>Run</h2><table class=kv>", o);
    fprintf(o, "<tr><td>wall time</td><td>%s", T(r->duration_s));
    prov(o, "measured");
    fprintf(o, "</td></tr><tr><td>intercepted calls</td><td>%llu in %zu process%s</td></tr>",
            (unsigned long long)r->total_calls, run->nprocs, run->nprocs == 1 ? "" : "es");
    if (strcmp(r->provenance, "none")) {
        fprintf(o, "<tr><td>energy</td><td>%s", J(r->total_j));
        prov(o, r->provenance);
        fputs(" from ", o);
        esc(o, r->source ? r->source : "?");
        if (!strcmp(r->provenance, "modelled"))
            fprintf(o, " (CPU time x %s W per busy core, %s)", S(r->watts_per_core), r->watts_source);
        fprintf(o, "</td></tr><tr><td>in calls / in regions between calls / outside</td><td>%s / %s / %s "
                   "(reconciled: %s)</td></tr>", J(r->calls_j), J(r->gap_j), J(r->outside_j),
                r->rec_energy.energy_ok ? "yes" : "NO");
        char spin[512];
        if (ana_spin_note(r, spin, sizeof spin)) {
            fputs("<tr><td>modelled energy</td><td>", o);
            esc(o, spin);
            fputs("</td></tr>", o);
        }
        fprintf(o, "<tr><td>idle baseline</td><td>%s W", S(r->idle_w));
        prov(o, "estimated");
        fputs(" (", o);
        esc(o, r->idle_source);
        fprintf(o, "): idle %s, net of idle %s</td></tr>", J(r->total_j - r->net_j), J(r->net_j));
        for (int d = 0; d < r->ndom; d++) {
            fputs("<tr><td>domain ", o);
            esc(o, r->dom[d].name);
            fprintf(o, "</td><td>%s", J(r->dom[d].energy_j));
            prov(o, r->dom[d].provenance);
            fputs(" ", o);
            esc(o, r->dom[d].source);
            fputs("</td></tr>", o);
        }
    }
    if (ana_co2_g(r, 1) >= 0) {
        fprintf(o, "<tr><td>CO2e</td><td>%s", ana_si(ana_co2_g(r, r->total_j), "g", B(), 96));
        prov(o, "estimated");
        fprintf(o, " at %s g CO2e/kWh from ", S(m->carbon_g_kwh));
        esc(o, m->carbon_src);
        fputs("</td></tr>", o);
    }
    for (size_t i = 0; i < run->nprocs; i++) {
        const struct ana_proc *p = run->procs[i];
        char cpu[128] = "", ncpu[16] = "";
        ana_hdr_get(p, "cpu_model", cpu, sizeof cpu);
        ana_hdr_get(p, "ncpu", ncpu, sizeof ncpu);
        fprintf(o, "<tr><td>pid %u%s", p->hdr.pid, p->rank[0] ? " rank " : "");
        esc(o, p->rank);
        fputs("</td><td>", o);
        esc(o, p->cmdline);
        fprintf(o, " &middot; %zu threads, %zu calls &middot; host ", p->nthreads, p->ncalls);
        esc(o, p->host);
        fputs(" (", o);
        esc(o, cpu[0] ? cpu : "cpu ?");
        fprintf(o, ", %s CPUs) &middot; energy sources: ", ncpu[0] ? ncpu : "?");
        esc(o, p->energy_sources[0] ? p->energy_sources : "none");
        fprintf(o, " &middot; %s%s</td></tr>", p->provenance ? p->provenance : "none",
                p->clean_exit ? "" : " &middot; <span class=warn>did not exit cleanly</span>");
    }
    fputs("<tr><td>counters</td><td>", o);
    esc(o, r->events[0] ? r->events : "none");
    fprintf(o, " (%s); %llu of %llu calls sampled</td></tr>", r->events_kind, (unsigned long long)r->ctr_calls,
            (unsigned long long)r->total_calls);
    if (r->sampler_hz > 0)
        fprintf(o, "<tr><td>sampler</td><td>%s Hz, its own CPU time %s</td></tr>", S(r->sampler_hz), T(r->sampler_cpu_s));
    if (m->filter_desc[0]) {
        fputs("<tr><td>filter</td><td>", o);
        esc(o, m->filter_desc);
        fprintf(o, ": %llu calls left out (%s counted outside the selected calls)</td></tr>",
                (unsigned long long)m->filtered_calls, J(m->filtered_j));
    }
    fputs("</table>\n", o);
}

/* ---- energy per layer: horizontal bars, CPU and GPU stacked ---- */

static void layer_bars(const struct ana_report *r, FILE *o)
{
    size_t n = r->nlayers + 1;          /* + outside */
    double mx = r->layers_out_j, gsum = 0;
    for (size_t i = 0; i < r->nlayers; i++) {
        double e = r->layers[i].energy_j + r->layers[i].gpu_energy_j;
        if (e > mx) mx = e;
        gsum += r->layers[i].gpu_energy_j;
    }
    int W = 1100, rowh = 24, left = 230, right = 190, H = (int)n * rowh + 36;
    fprintf(o, "<h2>Energy per layer</h2><p class=note>%s CPU energy of each layer (calls and the program's own work "
               "inside its region), and of the time outside intercepted calls; %s</p>\n", r->provenance,
            gsum > 0 ? "GPU energy of the kernels each layer launched stacked on it (kernels.c)."
                     : "GPU energy: none recorded in this run.");
    fprintf(o, "<svg class=chart id=layers data-points=\"%zu\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=img aria-label=\"energy per layer\">", n, W, H, W, H);
    double scale = mx > 0 ? (W - left - right) / mx : 0;
    for (size_t i = 0; i < n; i++) {
        int out = i == r->nlayers;
        const char *name = out ? "outside intercepted calls" : r->layers[i].name;
        double e = out ? r->layers_out_j : r->layers[i].energy_j, t = out ? r->layers_out_s : r->layers[i].wall_s;
        int y = 8 + (int)i * rowh;
        fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=end>", left - 8, y + 15);
        char nm[44];
        snprintf(nm, sizeof nm, "%.40s%s", name, strlen(name) > 40 ? "…" : "");
        esc(o, nm);
        fputs("</text>", o);
        double ge = out ? 0 : r->layers[i].gpu_energy_j;
        double w = e * scale, gw = ge * scale;
        fprintf(o, "<rect class=bar x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>", left, y + 3,
                w > 0 ? (w < 1 ? 1 : w) : 0, rowh - 6, out ? "#bab0ac" : pal[0]);
        esc(o, name);
        fprintf(o, ": CPU %s, %s</title></rect>", J(e), T(t));
        if (ge > 0) {
            fprintf(o, "<rect class=bar x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#e15759\"><title>", left + w,
                    y + 3, gw < 1 ? 1 : gw, rowh - 6);
            esc(o, name);
            fprintf(o, ": GPU %s</title></rect>", J(ge));
            fprintf(o, "<text x=\"%.1f\" y=\"%d\">CPU %s (%s of CPU energy) + GPU %s</text>", left + w + gw + 6, y + 15,
                    J(e), P(DIV(e, r->total_j)), J(ge));
        } else {
            fprintf(o, "<text x=\"%.1f\" y=\"%d\">%s &middot; %s</text>", left + w + 6, y + 15, J(e),
                    P(DIV(e, r->total_j)));
        }
    }
    fprintf(o, "<line x1=\"%d\" y1=\"4\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", left, left, H - 26);
    fprintf(o, "</svg><div class=legend><span><i style=\"background:%s\"></i>CPU (the run's energy domains, %s)</span>"
               "<span><i style=\"background:#e15759\"></i>GPU%s</span>"
               "<span><i style=\"background:#bab0ac\"></i>outside intercepted calls</span></div>\n",
            pal[0], r->provenance, gsum > 0 ? " (the layer's kernels)" : " (none recorded)");
}

/* ---- power over time, layers as bands underneath ---- */

static void power_chart(const struct ana_report *r, FILE *o)
{
    const struct ana_more *m = r->more;
    if (!m->nbins)
        return;
    int W = 1100, H = 330, l = 60, rt = m->has_freq ? 70 : 20, top = 12, ph = 220, band = 26;
    double mx = 0, fmx = 0;
    for (size_t k = 0; k < m->nbins; k++) {
        if (m->bin_w[k] > mx) mx = m->bin_w[k];
        if (m->has_freq && m->freq_mhz[k] > fmx) fmx = m->freq_mhz[k];
    }
    if (!(mx > 0)) mx = 1;
    double pw = W - l - rt, bw = pw / (double)m->nbins, dur = m->bin_s * (double)m->nbins;
    fprintf(o, "<h2>Power over time</h2><p class=note>%s power of the run in %zu bins of %s (all processes added); "
               "the band underneath shows the layer with the most call time in each bin.</p>\n",
            r->provenance, m->nbins, T(m->bin_s));
    fprintf(o, "<svg class=chart id=power data-points=\"%zu\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=img "
               "aria-label=\"power over time\">", m->nbins, W, H, W, H);
    for (int g = 0; g <= 4; g++) {
        double v = mx * g / 4;
        double y = top + ph - ph * g / 4.0;
        fprintf(o, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%d\" y=\"%.1f\" "
                   "text-anchor=end>%s</text>", l, l + pw, y, y, l - 6, y + 4, S(v));
    }
    fprintf(o, "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=middle>W</text>", top + ph / 2,
            top + ph / 2);
    fputs("<polyline class=series fill=\"none\" stroke=\"#e15759\" stroke-width=\"1.6\" points=\"", o);
    for (size_t k = 0; k < m->nbins; k++) {
        double y = top + ph - ph * (m->bin_w[k] > 0 ? m->bin_w[k] : 0) / mx;
        fprintf(o, "%.1f,%.1f %.1f,%.1f ", l + bw * (double)k, y, l + bw * (double)(k + 1), y);
    }
    fputs("\"/>", o);
    if (m->has_freq && fmx > 0) {
        fputs("<polyline class=series fill=\"none\" stroke=\"#4e79a7\" stroke-dasharray=\"4 3\" points=\"", o);
        for (size_t k = 0; k < m->nbins; k++)
            fprintf(o, "%.1f,%.1f ", l + bw * ((double)k + 0.5), top + ph - ph * m->freq_mhz[k] / fmx);
        fprintf(o, "\"/><text x=\"%.1f\" y=\"%d\">%s MHz</text>", l + pw + 6, top + 10, S(fmx));
    }
    /* layer bands */
    int by = top + ph + 8;
    for (size_t k = 0; k < m->nbins; k++) {
        int L = m->bin_layer[k];
        if (L < 0)
            continue;
        fprintf(o, "<rect class=band x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\"><title>", l + bw * (double)k,
                by, bw + 0.3, band, pal[(size_t)L % NPAL]);
        esc(o, r->layers[L].name);
        fputs("</title></rect>", o);
    }
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"none\" stroke=\"#ccc\"/>", l, by, pw, band);
    for (int g = 0; g <= 5; g++)
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=middle>%s</text>", l + pw * g / 5, by + band + 16,
                T(dur * g / 5));
    fputs("</svg><div class=legend><span><i style=\"background:#e15759\"></i>power</span>", o);
    if (m->has_freq)
        fputs("<span><i style=\"background:#4e79a7\"></i>CPU frequency (dashed, right)</span>", o);
    for (size_t i = 0; i < r->nlayers && i < 24; i++) {
        fprintf(o, "<span><i style=\"background:%s\"></i>", pal[i % NPAL]);
        esc(o, r->layers[i].name);
        fputs("</span>", o);
    }
    fputs("</div>\n", o);
}

/* ---- roofline: log-log, GFLOP/s vs FLOP per byte ---- */

static void roofline(const struct ana_report *r, FILE *o)
{
    const struct ana_more *m = r->more;
    int W = 760, H = 380, l = 70, b = 44, top = 14, rt = 20;
    double x0 = 0.01, x1 = 1000, y0 = 0.01, y1 = 1000;
    size_t np = 0;
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct ana_layer_row *L = &r->layers[i];
        if (L->flops > 0 && L->time_s > 0 && m->layer_bytes[i] > 0)
            np++;
    }
    double peak = m->peak_gflops > 0 ? m->peak_gflops : 1, bwp = m->peak_gbs > 0 ? m->peak_gbs : 1;
    y1 = pow(10, ceil(log10(peak * 2)));
    y0 = y1 / 1e5;
    fprintf(o, "<h2>Roofline</h2><p class=note>Each layer at its arithmetic intensity (FLOPs per byte, bytes "
               "<span class=\"prov estimated\">estimated</span>: each operand read or written once) and its "
               "GFLOP/s <span class=\"prov measured\">measured</span>. Ceilings: %s GFLOP/s and %s GB/s (%s).</p>\n",
            S(m->peak_gflops), S(m->peak_gbs), m->peak_src);
    fprintf(o, "<svg class=chart id=roofline data-points=\"%zu\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=img aria-label=roofline>", np, W, H, W, H);
    double pw = W - l - rt, ph = H - top - b;
#define X(v) (l + pw * (log10(v) - log10(x0)) / (log10(x1) - log10(x0)))
#define Y(v) (top + ph - ph * (log10(v) - log10(y0)) / (log10(y1) - log10(y0)))
    for (double v = x0; v <= x1 * 1.001; v *= 10)
        fprintf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=middle>%s</text>", X(v), X(v), top, top + ph, X(v), top + ph + 16, G(v));
    for (double v = y0; v <= y1 * 1.001; v *= 10)
        fprintf(o, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%d\" y=\"%.1f\" "
                   "text-anchor=end>%s</text>", l, l + pw, Y(v), Y(v), l - 6, Y(v) + 4, G(v));
    fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=middle>FLOP per byte</text>", l + pw / 2, H - 6);
    fprintf(o, "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" text-anchor=middle>GFLOP/s</text>",
            top + ph / 2, top + ph / 2);
    /* the roof: bandwidth slope up to the ridge, then flat */
    double ridge = peak / bwp, xs = x0;
    if (bwp * xs < y0) xs = y0 / bwp;
    fputs("<polyline class=roof fill=\"none\" stroke=\"#333\" stroke-width=\"2\" points=\"", o);
    if (ridge > x0)
        fprintf(o, "%.1f,%.1f ", X(xs), Y(bwp * xs));
    fprintf(o, "%.1f,%.1f %.1f,%.1f\"/>", X(ridge > x0 ? (ridge < x1 ? ridge : x1) : x0), Y(ridge < x1 ? peak : bwp * x1),
            X(x1), Y(peak));
    /* labels placed where they overlap no earlier label (a few tries) */
    struct box { double x0, y0, x1, y1; } placed[64];
    size_t nplaced = 0;
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct ana_layer_row *L = &r->layers[i];
        if (!(L->flops > 0 && L->time_s > 0 && m->layer_bytes[i] > 0))
            continue;
        double ai = L->flops / m->layer_bytes[i], g = L->flops * 1e-9 / L->time_s;
        if (ai < x0) ai = x0;
        if (ai > x1) ai = x1;
        if (g < y0) g = y0;
        fprintf(o, "<circle class=pt cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\" stroke=\"#fff\"><title>", X(ai), Y(g),
                pal[i % NPAL]);
        esc(o, L->name);
        fprintf(o, ": %s FLOP/byte, %s GFLOP/s</title></circle>", S(ai), S(g));
        char nm[40];
        snprintf(nm, sizeof nm, "%.32s", L->name);
        double w = 7.0 * (double)ana_width(nm), px = X(ai), py = Y(g), bx = px + 9, by = py + 4;
        static const double off[][2] = { { 9, 4 }, { 9, -10 }, { 9, 18 }, { -9, 4 }, { 9, -24 }, { 9, 32 }, { -9, -10 }, { -9, 18 } };
        for (size_t t = 0; t < sizeof off / sizeof *off; t++) {
            double x0 = off[t][0] > 0 ? px + off[t][0] : px + off[t][0] - w, y0 = py + off[t][1];
            int hit = 0;
            for (size_t q = 0; q < nplaced && !hit; q++)
                hit = x0 < placed[q].x1 && x0 + w > placed[q].x0 && y0 - 11 < placed[q].y1 && y0 + 2 > placed[q].y0;
            if (!hit) { bx = x0; by = y0; break; }
        }
        if (nplaced < 64)
            placed[nplaced++] = (struct box){ bx, by - 11, bx + w, by + 2 };
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\">", bx, by);
        esc(o, nm);
        fputs("</text>", o);
    }
#undef X
#undef Y
    fputs("</svg>\n", o);
}

/* ---- DVFS: energy and time vs setting ---- */

static void dvfs(const struct ana_report *r, FILE *o)
{
    const struct ana_dvfs *d = r->more->dvfs;
    if (!d)
        return;
    fputs("<h2>DVFS</h2><p class=note>From ", o);
    esc(o, d->file);
    fprintf(o, ": objective %s, slowdown limit %s%%. Predictions are <span class=\"prov predicted\">predicted</span> "
               "by the DVFS model, not measured.</p>\n", d->objective[0] ? d->objective : "?", S(d->max_slowdown_pct));
    fputs("<table><tr><th class=l>knob</th><th class=l>layer</th><th>baseline</th><th>recommended</th><th>time</th>"
          "<th>energy</th><th>saving</th><th>slowdown</th><th>±</th><th class=l>provenance</th></tr>", o);
    for (int i = 0; i < d->nrec; i++) {
        const struct ana_dvfs_rec *x = &d->rec[i];
        fputs("<tr><td class=l>", o);
        esc(o, x->knob);
        fputs("</td><td class=l>", o);
        esc(o, x->layer[0] ? x->layer : "whole job");
        fprintf(o, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s%%</td><td>%s%%</td><td>%s%%</td><td class=l>",
                S(x->baseline), S(x->recommended), T(x->time_s), J(x->energy_j), S(x->saving_pct), S(x->slowdown_pct),
                S(x->uncertainty_pct));
        esc(o, x->provenance);
        fputs("</td></tr>", o);
    }
    fputs("</table>\n", o);
    for (int i = 0; i < d->nrec; i++) {
        const struct ana_dvfs_rec *x = &d->rec[i];
        /* the curve when the recommendation carries one, else its two points */
        double st[66], tm[66], en[66];
        int n = 0;
        for (int k = 0; k < x->npts; k++, n++) { st[n] = x->pt_set[k]; tm[n] = x->pt_time[k]; en[n] = x->pt_energy[k]; }
        if (!n) continue;
        double sx0 = st[0], sx1 = st[0], t1 = 0, e1 = 0;
        for (int k = 0; k < n; k++) {
            if (st[k] < sx0) sx0 = st[k];
            if (st[k] > sx1) sx1 = st[k];
            if (tm[k] > t1) t1 = tm[k];
            if (en[k] > e1) e1 = en[k];
        }
        if (x->baseline < sx0) sx0 = x->baseline;
        if (x->baseline > sx1) sx1 = x->baseline;
        if (!(sx1 > sx0)) sx1 = sx0 + 1;
        double tbase = 0, ebase = 0;
        for (int k = 0; k < n; k++)
            if (st[k] == x->baseline) { tbase = tm[k]; ebase = en[k]; }
        double tlim = tbase > 0 ? tbase * (1 + d->max_slowdown_pct / 100) : 0;
        if (tlim > t1) t1 = tlim;
        int W = 1100, H = 300, l = 70, rt = 70, top = 14, b = 44;
        double pw = W - l - rt, ph = H - top - b;
        fprintf(o, "<h3 style=\"font-size:14px;margin:12px 0 0\">");
        esc(o, x->knob);
        fputs(" &middot; ", o);
        esc(o, x->layer[0] ? x->layer : "whole job");
        if (x->curve_from_fit)
            fputs(" <span class=note>(curve: the recommendation's fit, time = t<sub>scaling</sub>/x + t<sub>fixed</sub>, "
                  "power = p<sub>static</sub> + p<sub>dyn</sub>&middot;x<sup>&alpha;</sup>, x = setting/reference)</span>", o);
        fprintf(o, "</h3><svg class=chart id=dvfs%d data-points=\"%d\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                   "role=img aria-label=\"energy and time vs setting\">", i, n, W, H, W, H);
#define X(v) (l + pw * ((v) - sx0) / (sx1 - sx0))
#define YE(v) (top + ph - ph * (v) / (e1 > 0 ? e1 * 1.1 : 1))
#define YT(v) (top + ph - ph * (v) / (t1 > 0 ? t1 * 1.1 : 1))
        for (int g = 0; g <= 4; g++) {
            double y = top + ph - ph * g / 4.0;
            fprintf(o, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%d\" y=\"%.1f\" "
                       "text-anchor=end fill=\"#e15759\">%s</text><text x=\"%.1f\" y=\"%.1f\" fill=\"#4e79a7\">%s</text>",
                    l, l + pw, y, y, l - 6, y + 4, J(e1 * 1.1 * g / 4), l + pw + 6, y + 4, T(t1 * 1.1 * g / 4));
            fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=middle>%s</text>", X(sx0 + (sx1 - sx0) * g / 4),
                    top + ph + 16, S(sx0 + (sx1 - sx0) * g / 4));
        }
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=middle>setting (", l + pw / 2, H - 6);
        esc(o, x->knob);
        fputs(")</text>", o);
        /* sort by setting for the lines */
        for (int a = 1; a < n; a++)
            for (int c = a; c > 0 && st[c] < st[c - 1]; c--) {
                double t;
                t = st[c]; st[c] = st[c - 1]; st[c - 1] = t;
                t = tm[c]; tm[c] = tm[c - 1]; tm[c - 1] = t;
                t = en[c]; en[c] = en[c - 1]; en[c - 1] = t;
            }
        fputs("<polyline class=series fill=none stroke=\"#e15759\" stroke-width=2 points=\"", o);
        for (int k = 0; k < n; k++) fprintf(o, "%.1f,%.1f ", X(st[k]), YE(en[k]));
        fputs("\"/><polyline class=series fill=none stroke=\"#4e79a7\" stroke-width=2 points=\"", o);
        for (int k = 0; k < n; k++) fprintf(o, "%.1f,%.1f ", X(st[k]), YT(tm[k]));
        fputs("\"/>", o);
        if (tlim > 0)
            fprintf(o, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#4e79a7\" stroke-dasharray=\"5 4\"/>"
                       "<text x=\"%d\" y=\"%.1f\" fill=\"#4e79a7\" dx=\"4\">slowdown limit +%s%%</text>",
                    l, l + pw, YT(tlim), YT(tlim), l, YT(tlim) - 4, S(d->max_slowdown_pct));
        /* the label left of the point in the chart's right part, so it stays inside */
        int lft = X(x->recommended) > l + pw * 0.7;
        fprintf(o, "<circle class=pt cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"#59a14f\"><title>recommended %s: %s, %s"
                   "</title></circle><text x=\"%.1f\" y=\"%.1f\" fill=\"#2f6b2f\"%s>recommended %s</text>",
                X(x->recommended), YE(x->energy_j), S(x->recommended), J(x->energy_j), T(x->time_s),
                X(x->recommended) + (lft ? -9 : 9), YE(x->energy_j) - 8, lft ? " text-anchor=end" : "", S(x->recommended));
        if (ebase > 0)
            fprintf(o, "<circle class=pt cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#fff\" stroke=\"#333\"><title>baseline"
                       "</title></circle>", X(x->baseline), YE(ebase));
#undef X
#undef YE
#undef YT
        fputs("</svg><div class=legend><span><i style=\"background:#e15759\"></i>energy (left)</span><span><i "
              "style=\"background:#4e79a7\"></i>time (right)</span><span><i style=\"background:#59a14f\"></i>"
              "recommended</span></div>\n", o);
    }
}

/* ---- tables ---- */

static void tables(const struct ana_report *r, FILE *o)
{
    const struct ana_more *m = r->more;
    static const char tr[] = "NTC?";
    int carbon = ana_co2_g(r, 1) >= 0;
    fputs("<h2>Top routines</h2><p class=note>%wall: of the wall time (calls active at once share it); %energy: of the run's "
          "total energy.</p><table><tr><th class=l>routine</th><th class=l>api</th><th>calls</th><th>GFLOP</th>"
          "<th>time</th><th>mean</th><th>GFLOP/s</th><th>%wall</th><th>energy</th><th>%energy</th><th>GFLOP/J</th>", o);
    if (carbon) fputs("<th>CO2e</th>", o);
    fputs("</tr>", o);
    for (size_t i = 0; i < r->nops && i < 30; i++) {
        const struct ana_op_row *x = &r->ops[i];
        fprintf(o, "<tr><td class=l>%s</td><td class=l>%s</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%s</td><td>%s</td><td>%s</td><td>%s</td>",
                x->op, x->api, (unsigned long long)x->calls, S(x->flops * 1e-9), T(x->time_s),
                T(DIV(x->time_s, (double)x->calls)), S(DIV(x->flops * 1e-9, x->time_s)), P(DIV(x->wall_s, r->duration_s)),
                J(x->energy_j), P(DIV(x->energy_j, r->total_j)), S(DIV(x->flops * 1e-9, x->energy_j)));
        if (carbon) fprintf(o, "<td>%s</td>", ana_si(ana_co2_g(r, x->energy_j), "g", B(), 96));
        fputs("</tr>", o);
    }
    fputs("</table>\n<h2>Top shapes</h2><table><tr><th class=l>routine</th><th class=l>api</th><th class=l>tr</th>"
          "<th>m</th><th>n</th><th>k</th><th>calls</th><th>time</th><th>GFLOP/s</th><th>energy</th><th>%energy</th></tr>", o);
    for (size_t i = 0; i < r->nshapes && i < 20; i++) {
        const struct ana_shape_row *s = &r->shapes[i];
        char dm[3][16];
        const uint32_t dv[3] = { s->m, s->n, s->k };
        for (int d = 0; d < 3; d++)
            snprintf(dm[d], sizeof dm[d], s->dims >> d & 1 ? "%u" : "-", dv[d]);
        fprintf(o, "<tr><td class=l>%s</td><td class=l>%s</td><td class=l>%c%c</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%llu</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
                s->op, s->api, tr[s->transa & 3], tr[s->transb & 3], dm[0], dm[1], dm[2], (unsigned long long)s->calls,
                T(s->time_s), S(DIV(s->flops * 1e-9, s->time_s)), J(s->energy_j), P(DIV(s->energy_j, r->total_j)));
    }
    fputs("</table>\n<h2>Layers</h2><table><tr><th class=l>layer</th><th>calls</th><th>wall</th><th>J/iter</th>"
          "<th>energy</th><th>%energy</th><th>net of idle</th><th>W</th><th>GFLOP/s</th><th>GFLOP/J</th></tr>", o);
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct ana_layer_row *L = &r->layers[i];
        fputs("<tr><td class=l>", o);
        esc(o, L->name);
        fprintf(o, "</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%s</td></tr>",
                (unsigned long long)L->calls, T(L->wall_s), r->iterations > 0 ? J(L->energy_j / (double)r->iterations) : "-",
                J(L->energy_j), P(DIV(L->energy_j, r->total_j)), J(L->energy_j - r->idle_w * L->wall_s),
                S(DIV(L->energy_j, L->wall_s)), S(DIV(L->flops * 1e-9, L->time_s)), S(DIV(L->flops * 1e-9, L->energy_j)));
    }
    fprintf(o, "<tr><td class=l>%s</td><td></td><td>%s</td><td></td><td>%s</td><td>%s</td>"
               "<td>%s</td><td></td><td></td><td></td></tr></table>\n",
            r->layers_from_regions ? "outside layers (no call, no layer&#39;s region)" : "outside intercepted calls",
            T(r->layers_out_s), J(r->layers_out_j), P(DIV(r->layers_out_j, r->total_j)),
            J(r->layers_out_j - r->idle_w * r->layers_out_s));
    fprintf(o, "<p class=note>layers + outside: wall %s of %s, energy %s of %s; reconciled: %s</p>\n",
            T(r->rec_layers.rows_s + r->rec_layers.out_s), T(r->duration_s),
            J(r->rec_layers.rows_j + r->rec_layers.out_j), J(r->total_j),
            r->rec_layers.time_ok && r->rec_layers.energy_ok ? "yes" : "NO");
    if (r->nregions) {
        fputs("<h2>Regions</h2><table><tr><th class=l>region</th><th>calls</th><th>time</th><th>in BLAS</th>"
              "<th>energy</th></tr>", o);
        for (size_t i = 0; i < r->nregions && i < 50; i++) {
            const struct ana_region_row *g = &r->regions[i];
            fputs("<tr><td class=l>", o);
            esc(o, g->name);
            fprintf(o, "</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td></tr>", (unsigned long long)g->calls,
                    T(g->time_s), T(g->blas_time_s), J(g->energy_j));
        }
        fputs("</table>\n", o);
    }
    fputs("<h2>Threads</h2><table><tr><th>pid</th><th>tid</th><th>calls</th><th>time in calls</th><th>span</th>"
          "<th>energy</th><th>%energy</th></tr>", o);
    for (size_t i = 0; i < m->nthreads && i < 64; i++) {
        const struct ana_thread_row *x = &m->threads[i];
        fprintf(o, "<tr><td>%u</td><td>%u</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", x->pid,
                x->tid, (unsigned long long)x->calls, T(x->time_s), T(x->span_s), J(x->energy_j),
                P(DIV(x->energy_j, r->total_j)));
    }
    fputs("</table>\n", o);
}

/* a job: the per-rank table and a rank x time timeline (busy span, each
 * collective: waiting for the last rank, then the transfer) */
static void job(const struct ana_report *r, FILE *o)
{
    const struct ana_job *j = ana_job_of(r);
    if (!j)
        return;
    fputs("<h2>Ranks</h2><p class=note>Job ", o);
    esc(o, j->id[0] ? j->id : "(no id)");
    fprintf(o, " (%s): %zu ranks on %zu node%s; wait: time in collectives after the rank arrived, until the last "
               "rank arrived (its slack); energy %s, one stream per machine, nodes added.</p>",
            j->launcher[0] ? j->launcher : "?", j->nranks, j->nnodes, j->nnodes == 1 ? "" : "s", j->provenance);
    fputs("<table><tr><th>rank</th><th class=l>node</th><th>pid</th><th>calls</th><th>busy</th><th>energy</th>"
          "<th>comm calls</th><th>comm bytes</th><th>comm time</th><th>wait</th><th>wait energy</th></tr>", o);
    for (size_t i = 0; i < j->nranks && i < 256; i++) {
        const struct ana_job_rank *k = &j->ranks[i];
        fprintf(o, "<tr><td>%ld</td><td class=l>", k->rank);
        esc(o, j->nodes[k->node].name);
        fprintf(o, "</td><td>%u</td><td>%llu</td><td>%s</td><td>%s</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%s</td></tr>", k->pid, (unsigned long long)k->calls, T(k->busy_s), J(k->energy_j),
                (unsigned long long)k->comm_calls, ana_si(k->comm_bytes, "B", B(), 96), T(k->comm_s), T(k->wait_s),
                J(k->wait_j));
    }
    fputs("</table>\n", o);
    double t1 = 0;
    for (size_t i = 0; i < j->nranks; i++) {
        double e = j->ranks[i].t_last + j->nodes[j->ranks[i].node].shift_ns;
        if (e > t1) t1 = e;
    }
    size_t nr = j->nranks < 64 ? j->nranks : 64;
    if (!(t1 > 0) || !nr)
        return;
    const double W = 900, L = 60, H = 14;
    fprintf(o, "<p class=note>Rank x time (first %zu ranks; clocks aligned: %s): grey from a rank's first call to its "
               "last, <span style=\"color:%s\">waiting for the last rank</span>, <span style=\"color:%s\">in the "
               "collective after it</span>.</p><svg width=\"%.0f\" height=\"%.0f\" role=img>", nr, j->clock_how, pal[1],
            pal[0], W + L + 10, H * (double)nr + 20);
    for (size_t i = 0; i < nr; i++) {
        const struct ana_job_rank *k = &j->ranks[i];
        double sh = j->nodes[k->node].shift_ns, y = H * (double)i + 2;
        fprintf(o, "<text x=\"0\" y=\"%.1f\" font-size=\"10\">rank %ld</text><rect x=\"%.1f\" y=\"%.1f\" "
                   "width=\"%.1f\" height=\"%.0f\" fill=\"#ddd\"/>", y + 10, k->rank, L + W * (k->t_first + sh) / t1,
                y, W * (k->t_last - k->t_first) / t1, H - 3);
    }
    /* collectives, grouped by instance (sorted by key, seq): the last arrival splits each bar */
    size_t drawn = 0;
    for (size_t a = 0, b; a < j->ncoll && drawn < 20000; a = b) {
        double last = -INFINITY;
        for (b = a; b < j->ncoll && j->coll[b].key == j->coll[a].key && j->coll[b].seq == j->coll[a].seq; b++) {
            double t = j->coll[b].t0 + j->nodes[j->ranks[j->coll[b].rank_row].node].shift_ns;
            if (t > last) last = t;
        }
        for (size_t i = a; i < b; i++) {
            const struct ana_job_coll *c = &j->coll[i];
            if (c->rank_row >= nr)
                continue;
            double sh = j->nodes[j->ranks[c->rank_row].node].shift_ns, t0 = c->t0 + sh, t1c = c->t1 + sh;
            double mid = last < t1c ? (last > t0 ? last : t0) : t1c, y = H * (double)c->rank_row + 2;
            if (mid > t0)
                fprintf(o, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" fill=\"%s\"/>",
                        L + W * t0 / t1, y, W * (mid - t0) / t1 + 0.3, H - 3, pal[1]);
            fprintf(o, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" fill=\"%s\"/>", L + W * mid / t1,
                    y, W * (t1c - mid) / t1 + 0.3, H - 3, pal[0]);
            drawn++;
        }
    }
    fprintf(o, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\">%s</text></svg>\n", L, H * (double)nr + 16, T(t1 * 1e-9));
}

static void render(const struct ana_report *r, FILE *o)
{
    const struct ana_run *run = r->run;
    fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=\"utf-8\"><meta name=viewport "
          "content=\"width=device-width,initial-scale=1\"><title>greenshim report</title><style>", o);
    fputs(css, o);
    fputs("</style></head><body>\n<h1>greenshim report</h1><p class=sub>", o);
    for (size_t i = 0; i < run->nprocs && i < 4; i++) {
        if (i) fputs(" &middot; ", o);
        esc(o, run->procs[i]->cmdline);
    }
    if (run->nprocs > 4) fprintf(o, " and %zu more", run->nprocs - 4);
    fputs("</p>\n", o);
    if (!r->more) {
        fputs("<p class=warn>report built without its summary stage</p></body></html>\n", o);
        return;
    }
    summary(r, o);
    job(r, o);
    layer_bars(r, o);
    power_chart(r, o);
    roofline(r, o);
    dvfs(r, o);
    tables(r, o);
    if (run->nwarn) {
        fputs("<h2>Warnings</h2><ul>", o);
        for (size_t i = 0; i < run->nwarn; i++) {
            fputs("<li class=warn>", o);
            esc(o, run->warnings[i]);
            fputs("</li>", o);
        }
        fputs("</ul>", o);
    }
    fprintf(o, "<p class=note>greenshim-analyze %s &middot; provenance: measured (read from a meter or clock), "
               "modelled (computed from CPU time), estimated (derived with stated assumptions), predicted "
               "(a model's forecast).</p></body></html>\n", ANA_VERSION);
}

const struct ana_renderer ana_render_html = { "html", render };
