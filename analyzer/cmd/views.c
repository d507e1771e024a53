/* views.c - what the report, html, export and diff verbs share: their
 * options (filters, carbon intensity, roofline ceilings, per-thread view,
 * DVFS recommendation), reading the runs and building the report plus the
 * people-facing stage (report_more.c), and progress on a terminal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ana.h"

const char ana_view_help[] =
    "  --pid N[,N..]        only these processes\n"
    "  --tid N[,N..]        only calls of these threads\n"
    "  --region PATH        only calls inside this region (and the regions below it)\n"
    "  --from S, --to S     only calls between S seconds after the run's start and --to\n"
    "                       (the energy of calls left out is counted outside the selected calls)\n"
    "  --per-thread         a table per process and thread (text; always in JSON/CSV/HTML)\n"
    "  --carbon-intensity G grid intensity in g CO2e per kWh: CO2e next to joules (also\n"
    "                       GREENSHIM_CARBON_INTENSITY); none given: no CO2e\n"
    "  --peak-gflops X, --peak-gbs X   roofline ceilings (default: the best of this run)\n"
    "  --dvfs FILE          a DVFS recommendation (greenshim-analyze dvfs -o FILE) for the HTML\n"
    "  --merge-runs         report traces of different runs (run.id) together (else refused)\n";

void ana_view_init(struct ana_view *v)
{
    memset(v, 0, sizeof *v);
    v->mo.carbon_g_kwh = -1;
    v->filter.to_s = -1;
}

int ana_view_opt(struct ana_view *v, int argc, char **argv, int *i, const char *verb)
{
    const char *a = argv[*i];
    int k;
    if ((k = ana_filter_parse(&v->filter, argc, argv, i, verb)) != 0) {
        v->filtering = 1;
        return k;
    }
    if ((k = ana_carbon_opt(&v->mo, argc, argv, i, verb)) != 0)
        return k;
    if (!strcmp(a, "--merge-runs")) {
        v->merge_runs = 1;
        return 1;
    }
    if (!strcmp(a, "--per-thread")) {
        v->mo.per_thread = 1;
        return 1;
    }
    if (!strcmp(a, "-o") || !strcmp(a, "--dvfs")) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "greenshim-analyze %s: %s needs a file name\n", verb, a);
            return -1;
        }
        if (a[1] == 'o') v->out = argv[++*i];
        else v->dvfs_file = argv[++*i];
        return 1;
    }
    if (a[0] == '-' && a[1])
        return 0;
    if (v->np >= 256) {
        fprintf(stderr, "greenshim-analyze %s: more than 256 paths\n", verb);
        return -1;
    }
    v->paths[v->np++] = a;
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* after how many seconds progress shows (GREENSHIM_PROGRESS_AFTER, for tests) */
static double progress_after(void)
{
    const char *e = getenv("GREENSHIM_PROGRESS_AFTER");
    char *end;
    double v = e && *e ? strtod(e, &end) : 1;
    return e && *e && !*end && v >= 0 ? v : 1;
}

void ana_progress(const char *what, size_t done, size_t total)
{
    static double t0, after = -1;
    static int shown, tty = -1;
    if (tty < 0) {
        tty = isatty(2);
        after = progress_after();
    }
    if (!t0)
        t0 = now_s();
    if (!tty)
        return;
    if (done >= total && total) {
        if (shown)
            fputs("\r\033[K", stderr);
        shown = 0;
        return;
    }
    if (now_s() - t0 < after)
        return;
    shown = 1;
    if (total)
        fprintf(stderr, "\r\033[Kgreenshim-analyze: %s %zu/%zu", what, done, total);
    else
        fprintf(stderr, "\r\033[Kgreenshim-analyze: %s", what);
    fflush(stderr);
}

/* a sink on the event stream: every 2^16 calls, the count on a terminal */
static void progress_event(void *ctx, const struct ana_event *ev)
{
    size_t *n = ctx;
    if (ev->kind == ANA_EV_CALL && !(++*n & ((1u << 16) - 1))) {
        char b[64];
        snprintf(b, sizeof b, "analysing: %zu calls", *n);
        ana_progress(b, 0, 0);
    }
}

void ana_progress_attach(struct ana_run *run)
{
    static size_t ncalls;
    if (isatty(2))
        ana_sink_add(run, progress_event, &ncalls);
}

int ana_view_load(struct ana_view *v, struct ana_run *run, struct ana_report *r, const char *verb)
{
    memset(run, 0, sizeof *run);
    memset(r, 0, sizeof *r);
    if (!v->np) {
        fprintf(stderr, "greenshim-analyze %s: no trace directory or file given (try --help)\n", verb);
        return -1;
    }
    ana_progress("reading", 0, (size_t)v->np);
    int bad = 0;
    for (int i = 0; i < v->np; i++) {
        ana_progress("reading", (size_t)i, (size_t)v->np);
        if (ana_read_path(run, v->paths[i]) != 0)
            bad = 1;
    }
    for (size_t i = 0; i < run->nerr; i++)
        fprintf(stderr, "greenshim-analyze: %s\n", run->errors[i]);
    if (!run->nprocs) {
        ana_progress("", 1, 1);
        ana_run_free(run);
        return -1;
    }
    if (ana_check_runs(run, v->merge_runs, verb) != 0) {
        ana_run_free(run);
        return -1;
    }
    if (v->filtering) {
        run->filter = &v->filter;
        ana_filter_procs(run);
        if (!run->nprocs) {
            ana_progress("", 1, 1);
            fprintf(stderr, "greenshim-analyze %s: no process matches --pid\n", verb);
            ana_run_free(run);
            return -1;
        }
    }
    ana_progress("analysing", 0, 0);
    ana_progress_attach(run);
    FILE *pf = NULL;
    void *pctx = NULL;
    if (v->perfetto) {
        pf = strcmp(v->perfetto, "-") ? fopen(v->perfetto, "w") : stdout;
        if (!pf) {
            fprintf(stderr, "greenshim-analyze %s: cannot write %s (%s)\n", verb, v->perfetto, strerror(errno));
            bad = 1;
        } else {
            pctx = ana_export_perfetto.begin(run, pf);
            ana_perfetto_set_report(pctx, r);
            ana_sink_add(run, ana_export_perfetto.event, pctx);
        }
    }
    ana_report_build(run, r);
    if (pf) {
        int e = ana_export_perfetto.end(pctx, r);
        if ((pf != stdout && fclose(pf) != 0) || e) {
            fprintf(stderr, "greenshim-analyze %s: writing %s failed (%s)\n", verb, v->perfetto, strerror(errno));
            bad = 1;
        }
    }
    ana_report_more(r, &v->mo);
    ana_progress("", 1, 1);
    if (v->dvfs_file) {
        char err[256];
        struct ana_dvfs *d = calloc(1, sizeof *d);
        if (ana_dvfs_read(v->dvfs_file, d, err, sizeof err) != 0) {
            fprintf(stderr, "greenshim-analyze %s: %s: %s; the report leaves the DVFS section out\n", verb,
                    v->dvfs_file, err);
            free(d);
            bad = 1;
        } else {
            r->more->dvfs = d;
        }
    }
    return bad || run->damaged ? 1 : 0;
}

void ana_view_free(struct ana_run *run, struct ana_report *r)
{
    ana_report_free(r);
    ana_run_free(run);
}

static int view_verb(int argc, char **argv, const char *verb, const char *usage, int export)
{
    struct ana_view v;
    ana_view_init(&v);
    const char *csv = NULL, *perfetto = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s%s", usage, ana_view_help);
            return 0;
        }
        if (export && (!strcmp(argv[i], "--csv") || !strcmp(argv[i], "--perfetto"))) {
            if (i + 1 >= argc) {
                fprintf(stderr, "greenshim-analyze export: %s needs a %s\n", argv[i],
                        argv[i][2] == 'c' ? "directory" : "file name");
                return 2;
            }
            if (argv[i][2] == 'c') csv = argv[++i];
            else perfetto = argv[++i];
            continue;
        }
        int k = ana_view_opt(&v, argc, argv, &i, verb);
        if (k < 0)
            return 2;
        if (k == 0) {
            fprintf(stderr, "greenshim-analyze %s: unknown option '%s' (try --help)\n", verb, argv[i]);
            return 2;
        }
    }
    if (export && v.out) {
        fprintf(stderr, "greenshim-analyze export: -o is not an export option: --perfetto FILE writes "
                "the timeline, --csv DIR the tables\n");
        return 2;
    }
    if (export && !csv && !perfetto) {
        fprintf(stderr, "greenshim-analyze export: say what to write: --perfetto FILE and/or --csv DIR\n");
        return 2;
    }
    if (!export && !v.out) {
        fprintf(stderr, "greenshim-analyze %s: -o FILE is required (the page is one self-contained file)\n", verb);
        return 2;
    }
    struct ana_run run;
    struct ana_report r;
    v.perfetto = perfetto;
    int lrc = ana_view_load(&v, &run, &r, verb);
    if (lrc < 0)
        return 2;
    int rc = lrc ? 2 : 0;
    if (!export) {
        FILE *o = fopen(v.out, "w");
        if (!o) {
            fprintf(stderr, "greenshim-analyze %s: cannot write %s (%s)\n", verb, v.out, strerror(errno));
            rc = 2;
        } else {
            ana_render_html.render(&r, o);
            if (fclose(o) != 0) {
                fprintf(stderr, "greenshim-analyze %s: writing %s failed (%s)\n", verb, v.out, strerror(errno));
                rc = 2;
            }
        }
    }
    if (csv) {
        int e = ana_export_csv(&r, csv);
        if (e) {
            fprintf(stderr, "greenshim-analyze export: cannot write CSV files in %s (%s)\n", csv, strerror(e));
            rc = 2;
        }
    }
    ana_view_free(&run, &r);
    return rc;
}

int cmd_html(int argc, char **argv)
{
    return view_verb(argc, argv, "html",
                     "usage: greenshim-analyze html <dir|file>... -o report.html [options]\n\n"
                     "One self-contained page (inline SVG and CSS, no scripts, no network): run\n"
                     "summary with the provenance of every figure, energy per layer, power over time\n"
                     "with the layers underneath, a roofline of the layers, the DVFS curves when a\n"
                     "recommendation is given, and the top routines and shapes.\n\n"
                     "  -o FILE              the page to write (required)\n", 0);
}

int cmd_export(int argc, char **argv)
{
    return view_verb(argc, argv, "export",
                     "usage: greenshim-analyze export [--perfetto FILE] [--csv DIR] <dir|file>... [options]\n\n"
                     "  --perfetto FILE      Chrome/Perfetto trace-event JSON (open in ui.perfetto.dev):\n"
                     "                       a track per process and thread, one slice per intercepted\n"
                     "                       call (shape, FLOPs and joules as args), regions as enclosing\n"
                     "                       slices, power and frequency as counter tracks\n"
                     "  --csv DIR            one CSV per table: ops, shapes, regions, layers, threads,\n"
                     "                       samples, power, kernels, summary (header row; pandas-ready)\n", 1);
}
