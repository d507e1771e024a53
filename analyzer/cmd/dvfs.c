/* dvfs_cmd.c - `greenshim-analyze dvfs`: gathers measurements (a sweep
 * directory whose runs carry a dvfs-setting file, run directories, a
 * --profile CSV), fits the model of dvfs.c per layer and knob, or estimates
 * it from one trace, and renders the recommendation as text or JSON. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "ana.h"
#include "stages/dvfs.h"
#include "stages/ranks.h"

#define DVFS_SETTING_FILE "dvfs-setting"
#define MAX_SERIES 4096

struct hw { double min, max; double *avail; size_t navail; };

struct opts {
    double max_slowdown;
    int objective, knob;          /* knob -1: any */
    double *cand; size_t ncand;   /* --candidates */
    double peak_gflops, mem_gbs;
    const char *profile, *out;
    int json;
};

/* one fitted or estimated layer/job */
struct rec {
    char layer[256]; int whole;
    int knob, device;
    const char *provenance;       /* "fitted" | "estimated" */
    struct dvfs_model m;
    struct dvfs_choice c;
    double unc_pct;
    double loo_e, loo_t;          /* -1: not available */
    size_t npts;
};

struct state {
    struct dvfs_series *ser; size_t nser;
    struct hw hw[DVFS_NKNOBS];
    struct rec *recs; size_t nrecs;
    char **warn; size_t nwarn;
    struct { int knob, device; double setting, static_j, sched_j; int ok; } gap[DVFS_NKNOBS];
    char *job_text, *job_json;    /* a job's per-rank slack caps (ranks.c), printed as they are */
};

static void warnf(struct state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct state *st, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    st->warn = realloc(st->warn, (st->nwarn + 1) * sizeof *st->warn);
    st->warn[st->nwarn++] = strdup(buf);
}

static struct dvfs_series *series_get(struct state *st, const char *layer, int knob, int device)
{
    for (size_t i = 0; i < st->nser; i++)
        if (st->ser[i].knob == knob && st->ser[i].device == device && strcmp(st->ser[i].layer, layer) == 0)
            return &st->ser[i];
    if (st->nser >= MAX_SERIES)
        return NULL;
    st->ser = realloc(st->ser, (st->nser + 1) * sizeof *st->ser);
    struct dvfs_series *s = &st->ser[st->nser++];
    memset(s, 0, sizeof *s);
    snprintf(s->layer, sizeof s->layer, "%s", layer);
    s->knob = knob;
    s->device = device;
    return s;
}

static int parse_num(const char *s, double *v)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return -1;
    *v = strtod(s, &e);
    while (*e == ' ' || *e == '\t' || *e == '\r' || *e == '\n')
        e++;
    return *e || !isfinite(*v) ? -1 : 0;
}

static void hw_merge(struct hw *h, double lo, double hi)
{
    if (lo > 0 && (!(h->min > 0) || lo < h->min)) h->min = lo;
    if (hi > 0 && hi > h->max) h->max = hi;
}

static void hw_avail(struct hw *h, const char *list)
{
    char *tmp = strdup(list);
    for (char *t = strtok(tmp, " ,"); t; t = strtok(NULL, " ,")) {
        double v;
        if (parse_num(t, &v) || !(v > 0))
            continue;
        h->avail = realloc(h->avail, (h->navail + 1) * sizeof *h->avail);
        h->avail[h->navail++] = v;
        hw_merge(h, v, v);
    }
    free(tmp);
}

/* ---- profile CSV: layer,knob,setting,time_s,energy_j ---- */
static int read_profile(struct state *st, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "greenshim-analyze dvfs: cannot read profile %s (%s)\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    long ln = 0;
    int rc = 0, rows = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "greenshim-analyze dvfs: %s:%ld: line too long\n", path, ln);
            rc = -1;
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (ln == 1) {
            if (strcmp(line, "layer,knob,setting,time_s,energy_j") != 0) {
                fprintf(stderr, "greenshim-analyze dvfs: %s:1: header must be "
                        "'layer,knob,setting,time_s,energy_j', found '%.80s'\n", path, line);
                rc = -1;
                break;
            }
            continue;
        }
        if (!len || line[0] == '#')
            continue;
        char *fld[6];
        int nf = 0;
        for (char *p = line; nf < 6;) {
            fld[nf++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = 0;
            p = c + 1;
        }
        double set, t, e;
        int knob = nf == 5 ? dvfs_knob_parse(fld[1]) : -2;
        if (nf != 5) {
            fprintf(stderr, "greenshim-analyze dvfs: %s:%ld: want 5 fields "
                    "(layer,knob,setting,time_s,energy_j), found %d\n", path, ln, nf);
            rc = -1;
            break;
        }
        if (knob < 0) {
            fprintf(stderr, "greenshim-analyze dvfs: %s:%ld: unknown knob '%.64s' (cpu_freq_khz, "
                    "gpu_sm_clock_mhz or gpu_power_limit_w)\n", path, ln, fld[1]);
            rc = -1;
            break;
        }
        if (parse_num(fld[2], &set) || !(set > 0) || parse_num(fld[3], &t) || !(t > 0) ||
            parse_num(fld[4], &e) || !(e > 0)) {
            fprintf(stderr, "greenshim-analyze dvfs: %s:%ld: setting, time_s and energy_j must be "
                    "positive numbers\n", path, ln);
            rc = -1;
            break;
        }
        const char *layer = strcmp(fld[0], "*") == 0 ? "" : fld[0];
        if (!*layer && strcmp(fld[0], "*") != 0) {
            fprintf(stderr, "greenshim-analyze dvfs: %s:%ld: empty layer name ('*' is the whole run)\n",
                    path, ln);
            rc = -1;
            break;
        }
        struct dvfs_series *s = series_get(st, layer, knob, knob == DVFS_CPU_FREQ ? -1 : 0);
        if (!s || s->n >= 500) {
            fprintf(stderr, "greenshim-analyze dvfs: %s:%ld: too many layers or settings\n", path, ln);
            rc = -1;
            break;
        }
        dvfs_series_add(s, set, t, e);
        rows++;
    }
    if (ln == 0) {
        fprintf(stderr, "greenshim-analyze dvfs: %s: empty profile (want a header line)\n", path);
        rc = -1;
    } else if (!rc && !rows) {
        fprintf(stderr, "greenshim-analyze dvfs: %s: no measurements after the header\n", path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

/* ---- the dvfs-setting file a sweep writes into each run directory ---- */
struct tag { int knob, device, status; double setting, hw_min, hw_max; char avail[2048]; };

static int read_tag(const char *dir, struct tag *t, char *err, size_t errlen)
{
    char path[4200], line[2200];
    snprintf(path, sizeof path, "%s/%s", dir, DVFS_SETTING_FILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;                 /* not a tagged run */
    memset(t, 0, sizeof *t);
    t->knob = -1;
    t->device = -1;
    t->setting = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq || line[0] == '#')
            continue;
        *eq = 0;
        const char *k = line, *v = eq + 1;
        double d;
        if (strcmp(k, "knob") == 0)
            t->knob = dvfs_knob_parse(v);
        else if (strcmp(k, "setting") == 0)
            t->setting = parse_num(v, &d) ? -1 : d;
        else if (strcmp(k, "device") == 0)
            t->device = parse_num(v, &d) || d < 0 ? -1 : (int)d;
        else if (strcmp(k, "status") == 0 && !parse_num(v, &d))
            t->status = d != 0;
        else if (strcmp(k, "hw_min") == 0 && !parse_num(v, &d))
            t->hw_min = d;
        else if (strcmp(k, "hw_max") == 0 && !parse_num(v, &d))
            t->hw_max = d;
        else if (strcmp(k, "available") == 0)
            snprintf(t->avail, sizeof t->avail, "%s", v);
    }
    fclose(f);
    if (t->knob < 0 || !(t->setting > 0)) {
        snprintf(err, errlen, "%s: want knob=<cpu_freq_khz|gpu_sm_clock_mhz|gpu_power_limit_w> and "
                 "setting=<positive number>", path);
        return -1;
    }
    return 0;
}

/* supported CPU frequencies, where the recorder wrote them into a trace
 * header (the GPU's come from NVML records: gpu_visit) */
static void hw_from_header(struct state *st, const struct ana_proc *p)
{
    char buf[4096];
    double a, b;
    if (ana_hdr_get(p, "cpufreq.available_khz", buf, sizeof buf))
        hw_avail(&st->hw[DVFS_CPU_FREQ], buf);
    if (ana_hdr_get(p, "cpufreq.min_khz", buf, sizeof buf) && !parse_num(buf, &a))
        hw_merge(&st->hw[DVFS_CPU_FREQ], a, 0);
    if (ana_hdr_get(p, "cpufreq.max_khz", buf, sizeof buf) && !parse_num(buf, &b))
        hw_merge(&st->hw[DVFS_CPU_FREQ], 0, b);
}

/* supported GPU values from the NVML source's records (GPU_INFO: power-limit
 * range and maximum SM clock; GPU_CLOCKS: the SM clocks of each memory clock,
 * of which the highest memory clock's are kept), read as trace_read meets
 * them; bounded by the record's chunk */
struct gpu_seen { struct state *st; unsigned best_mem; };

static void gpu_visit(void *ctx, const struct ana_proc *p, uint32_t tid, size_t off, const uint8_t *rec)
{
    struct gpu_seen *g = ctx;
    (void)tid;
    if (rec[0] != GS_REC_GPU_INFO && rec[0] != GS_REC_GPU_CLOCKS)
        return;
    size_t cs = p->hdr.chunk_size, hs = p->hdr.header_size;
    if (!cs || off < hs)
        return;
    size_t chunk_end = hs + ((off - hs) / cs + 1) * cs;
    size_t slots = rec[1], avail = (chunk_end - off) / GS_REC_SIZE;
    if (!slots || slots > avail)
        return;                   /* damage: trace_read says so */
    struct state *st = g->st;
    /* chunks need not be aligned (damaged files): decode from a copy, as
     * kernels.c does (the fuzzer's fitted-dvfs verb found the misaligned read) */
    uint64_t slot[2 * GS_REC_SIZE / 8];
    _Static_assert(sizeof(struct gs_rec_gpu_info) <= sizeof slot && sizeof(struct gs_rec_gpu_clocks) <= GS_REC_SIZE,
                   "the GPU records decoded here fit the copy");
    memcpy(slot, rec, (slots < 2 ? slots : 2) * GS_REC_SIZE);
    if (rec[0] == GS_REC_GPU_INFO) {
        if (slots * GS_REC_SIZE < sizeof(struct gs_rec_gpu_info))
            return;
        const struct gs_rec_gpu_info *i = (const void *)slot;
        if (i->power_min_mw && i->power_max_mw >= i->power_min_mw)
            hw_merge(&st->hw[DVFS_GPU_POWER], i->power_min_mw * 1e-3, i->power_max_mw * 1e-3);
        if (i->sm_max_mhz)
            hw_merge(&st->hw[DVFS_GPU_CLOCK], 0, i->sm_max_mhz);
        return;
    }
    const struct gs_rec_gpu_clocks *c = (const void *)slot;
    if (!c->nvals || (size_t)c->nvals * 2 > (slots - 1) * GS_REC_SIZE || c->mem_mhz < g->best_mem)
        return;
    const uint8_t *v = rec + GS_REC_SIZE;
    struct hw *h = &st->hw[DVFS_GPU_CLOCK];
    if (c->mem_mhz > g->best_mem) {   /* a higher memory clock: its SM clocks replace the list */
        h->navail = 0;
        g->best_mem = c->mem_mhz;
    }
    for (unsigned i = 0; i < c->nvals && h->navail < 4096; i++) {
        uint16_t mhz;
        memcpy(&mhz, v + 2 * i, 2);
        if (!mhz)
            continue;
        h->avail = realloc(h->avail, (h->navail + 1) * sizeof *h->avail);
        h->avail[h->navail++] = mhz;
        hw_merge(h, mhz, mhz);
    }
}

static void print_run_errors(const struct ana_run *run)
{
    for (size_t i = 0; i < run->nerr; i++)
        fprintf(stderr, "greenshim-analyze: %s\n", run->errors[i]);
}

/* the GPUs' measured energy (NVML), which the CPU-side total leaves out */
static double gpu_energy(const struct ana_report *r)
{
    double e = 0;
    if (r->gpu)
        for (size_t i = 0; i < r->gpu->ngpus; i++)
            if (r->gpu->gpus[i].energy_j > 0)
                e += r->gpu->gpus[i].energy_j;
    return e;
}

/* one tagged run directory -> a point of the whole job and of each layer;
 * energy is the whole machine's (CPU side + GPUs), a layer's includes the
 * kernels it launched; for a GPU knob a layer's time is its kernels' time */
static int add_tagged(struct state *st, const char *dir, const struct tag *t)
{
    if (t->status) {
        warnf(st, "%s: the command failed at this setting (status in %s): not used", dir, DVFS_SETTING_FILE);
        return 0;
    }
    struct ana_run run = { 0 };
    struct gpu_seen gs = { st, 0 };
    run.visit = gpu_visit;
    run.visit_ctx = &gs;
    int rc = ana_read_path(&run, dir);
    print_run_errors(&run);
    if (rc != 0 || !run.nprocs) {
        fprintf(stderr, "greenshim-analyze dvfs: %s: no readable trace in this run\n", dir);
        ana_run_free(&run);
        return -1;
    }
    struct ana_report r;
    ana_report_build(&run, &r);
    for (size_t i = 0; i < run.nprocs; i++)
        hw_from_header(st, run.procs[i]);
    if (t->hw_min > 0 || t->hw_max > 0)
        hw_merge(&st->hw[t->knob], t->hw_min, t->hw_max);
    if (t->avail[0])
        hw_avail(&st->hw[t->knob], t->avail);
    double total = r.total_j + gpu_energy(&r);
    if (!(r.duration_s > 0) || !(total > 0)) {
        fprintf(stderr, "greenshim-analyze dvfs: %s: the run has no duration or no energy "
                "(time %.6f s, energy %.6f J)\n", dir, r.duration_s, total);
        ana_report_free(&r);
        ana_run_free(&run);
        return -1;
    }
    struct dvfs_series *s = series_get(st, "", t->knob, t->device);
    if (s)
        dvfs_series_add(s, t->setting, r.duration_s, total);
    for (size_t i = 0; i < r.nlayers; i++) {
        const struct ana_layer_row *l = &r.layers[i];
        double lt = t->knob != DVFS_CPU_FREQ && l->gpu_time_s > 0 ? l->gpu_time_s : l->time_s;
        double le = l->energy_j + (l->gpu_energy_j > 0 ? l->gpu_energy_j : 0);
        if (!(lt > 0) || !(le > 0))
            continue;
        struct dvfs_series *ls = series_get(st, l->name, t->knob, t->device);
        if (ls)
            dvfs_series_add(ls, t->setting, lt, le);
    }
    ana_report_free(&r);
    ana_run_free(&run);
    return 0;
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* a path: a tagged run, a sweep directory of tagged runs, or an untagged
 * run (kept for the single-trace estimate) */
static int gather(struct state *st, const char *path, const char **untagged, int *nun)
{
    struct tag t;
    char err[512];
    int rc = is_dir(path) ? read_tag(path, &t, err, sizeof err) : 1;
    if (rc < 0) {
        fprintf(stderr, "greenshim-analyze dvfs: %s\n", err);
        return -1;
    }
    if (rc == 0)
        return add_tagged(st, path, &t);
    if (is_dir(path)) {
        DIR *d = opendir(path);
        if (!d) {
            fprintf(stderr, "greenshim-analyze dvfs: cannot open %s (%s)\n", path, strerror(errno));
            return -1;
        }
        char **subs = NULL;
        size_t ns = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char sub[4200];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            struct tag tt;
            if (is_dir(sub) && read_tag(sub, &tt, err, sizeof err) != 1) {
                subs = realloc(subs, (ns + 1) * sizeof *subs);
                subs[ns++] = strdup(sub);
            }
        }
        closedir(d);
        if (ns) {
            qsort(subs, ns, sizeof *subs, cmp_str);
            int bad = 0;
            for (size_t i = 0; i < ns; i++) {
                int r2 = read_tag(subs[i], &t, err, sizeof err);
                if (r2 < 0) {
                    fprintf(stderr, "greenshim-analyze dvfs: %s\n", err);
                    bad = 1;
                } else if (add_tagged(st, subs[i], &t) != 0) {
                    bad = 1;
                }
                free(subs[i]);
            }
            free(subs);
            return bad ? -1 : 0;
        }
    }
    if (*nun < 256)
        untagged[(*nun)++] = path;
    return 0;
}

/* ---- single-trace estimate (CPU frequency) ---- */
struct split { double tc, tm, calls_s; };

static double elt_size(uint8_t op)
{
    static const double sz[4] = { 4, 8, 8, 16 };
    return sz[GS_OP_DTYPE(op)];
}

/* per layer and shape: time of the calls, gathered from the event stream
 * (the analyzer keeps no call list); bounded by layers x shapes */
struct est_row { int layer; uint8_t op; uint32_t m, n, k; double t, flops; };
struct est_acc { struct est_row *rows; size_t n, cap; size_t last; };

static void est_event(void *ctx, const struct ana_event *ev)
{
    struct est_acc *a = ctx;
    if (ev->kind != ANA_EV_CALL || !ev->call)
        return;
    const struct ana_call *c = ev->call;
    size_t i = a->last;
    if (!(i < a->n && a->rows[i].layer == c->layer && a->rows[i].op == c->op && a->rows[i].m == c->m &&
          a->rows[i].n == c->n && a->rows[i].k == c->k)) {
        for (i = 0; i < a->n; i++)
            if (a->rows[i].layer == c->layer && a->rows[i].op == c->op && a->rows[i].m == c->m &&
                a->rows[i].n == c->n && a->rows[i].k == c->k)
                break;
        if (i == a->n) {
            if (a->n == a->cap) {
                a->cap = a->cap ? a->cap * 2 : 64;
                a->rows = realloc(a->rows, a->cap * sizeof *a->rows);
            }
            a->rows[a->n++] = (struct est_row){ c->layer, c->op, c->m, c->n, c->k, 0, 0 };
        }
        a->last = i;
    }
    a->rows[i].t += (double)(c->t1 - c->t0) * 1e-9;
    a->rows[i].flops += ev->flops;
}

/* additive roofline: a call's time splits between compute (F / peak) and
 * memory (bytes / bandwidth) in proportion */
static void row_split(const struct est_row *r, double peak, double bw, struct split *s)
{
    double m = r->m, n = r->n, k = r->k;
    struct ana_call one = { .m = r->m, .n = r->n, .k = r->k, .op = r->op };
    double f1 = ana_flops(&one);                 /* FLOPs of one call */
    double bytes = elt_size(r->op) * (m * k + k * n + 2 * m * n);
    double tc = f1 / peak, tm = bytes / bw;
    s->calls_s += r->t;
    if (tc + tm > 0) {
        s->tc += r->t * tc / (tc + tm);
        s->tm += r->t * tm / (tc + tm);
    }
}

struct est_job {
    char name[256];
    double time_s, energy_j;
    struct split sp;
};

static int estimate(struct state *st, const char **paths, int np, const struct opts *o)
{
    struct ana_run run = { 0 };
    struct est_acc acc = { 0 };
    struct gpu_seen gs = { st, 0 };
    run.visit = gpu_visit;
    run.visit_ctx = &gs;
    int bad = 0;
    for (int i = 0; i < np; i++)
        if (ana_read_path(&run, paths[i]) != 0)
            bad = 1;
    print_run_errors(&run);
    if (!run.nprocs) {
        ana_run_free(&run);
        return -1;
    }
    ana_sink_add(&run, est_event, &acc);
    struct ana_report r;
    ana_report_build(&run, &r);
    for (size_t i = 0; i < run.nprocs; i++)
        hw_from_header(st, run.procs[i]);
    int knob = DVFS_CPU_FREQ;
    struct hw *h = &st->hw[knob];
    /* the frequency the trace ran at: its cpufreq samples, else the maximum */
    double fsum = 0, fn = 0;
    for (size_t pi = 0; pi < run.nprocs; pi++) {
        const struct ana_proc *p = run.procs[pi];
        for (int d = 0; d < p->ndom; d++)
            if (strcmp(p->dom[d].kind, "freq") == 0)
                for (size_t i = 0; i < p->dom[d].n; i++) {
                    fsum += (double)p->dom[d].v[i];
                    fn++;
                }
    }
    double cmax = 0;
    for (size_t i = 0; i < o->ncand; i++)
        if (o->cand[i] > cmax)
            cmax = o->cand[i];
    double fbase = h->max > 0 ? h->max : cmax;
    double f_ref = fn > 0 ? fsum / fn : fbase;
    const struct ana_job *job = ana_job_of(&r);
    if (job && !st->job_text) {
        /* a job: the per-rank caps its slack allows (caps in kHz of the uncapped clock, when known) */
        size_t len;
        double cmin = h->min > 0 ? h->min : 0;
        for (size_t i = 0; !cmin && i < o->ncand; i++)
            if (o->cand[i] > 0 && (!cmin || o->cand[i] < cmin))
                cmin = o->cand[i];
        for (size_t i = 0; i < o->ncand; i++)
            if (o->cand[i] > 0 && o->cand[i] < cmin)
                cmin = o->cand[i];
        FILE *m = open_memstream(&st->job_text, &len);
        if (m) {
            ana_job_slack_text(job, fbase, cmin, m);
            fclose(m);
        }
        m = open_memstream(&st->job_json, &len);
        if (m) {
            ana_job_slack_json(job, fbase, cmin, m);
            fclose(m);
        }
    }
    if (!(fbase > 0)) {
        fprintf(stderr, "greenshim-analyze dvfs: the trace records no supported CPU frequencies "
                "(no cpufreq on the machine it ran on): give --candidates LIST or MIN:MAX:STEP "
                "in kHz, the highest being the uncapped clock\n");
        free(acc.rows);
        ana_report_free(&r);
        ana_run_free(&run);
        return -1;
    }
    if (fn == 0)
        warnf(st, "no cpufreq samples in the trace: assumed it ran at the uncapped %.0f kHz", fbase);
    /* ceilings: the best rate any shape reached (a measured lower bound of
     * the peak) unless given; bandwidth from a ridge of 8 FLOP/byte unless given */
    double peak = o->peak_gflops * 1e9;
    if (!(peak > 0))
        for (size_t i = 0; i < r.nshapes; i++)
            if (r.shapes[i].time_s > 0 && r.shapes[i].flops / r.shapes[i].time_s > peak)
                peak = r.shapes[i].flops / r.shapes[i].time_s;
    if (!(peak > 0))
        peak = 1e9;
    double bw = o->mem_gbs > 0 ? o->mem_gbs * 1e9 : peak / 8;
    /* static share: from the idle baseline when power was measured or given */
    double static_share = 0.3;
    if (r.idle_w > 0 && r.total_j > 0 && r.duration_s > 0 &&
        (strcmp(r.provenance, "measured") == 0 || strcmp(r.idle_source, "GREENSHIM_IDLE_WATTS") == 0)) {
        double s = r.idle_w / (r.total_j / r.duration_s);
        if (s > 0.02 && s < 0.95)
            static_share = s;
    }
    size_t nj = 1 + r.nlayers;
    struct est_job *jobs = calloc(nj, sizeof *jobs);
    double *share = calloc(nj, sizeof *share);
    /* the GPUs' energy does not follow the CPU clock: it joins the static part */
    double eg = gpu_energy(&r);
    jobs[0].time_s = r.duration_s;
    jobs[0].energy_j = r.total_j + eg;
    share[0] = jobs[0].energy_j > 0 ? (static_share * r.total_j + eg) / jobs[0].energy_j : static_share;
    for (size_t i = 0; i < r.nlayers; i++) {
        const struct ana_layer_row *l = &r.layers[i];
        double lg = l->gpu_energy_j > 0 ? l->gpu_energy_j : 0;
        snprintf(jobs[1 + i].name, sizeof jobs[1 + i].name, "%s", l->name);
        jobs[1 + i].time_s = l->time_s;
        jobs[1 + i].energy_j = l->energy_j + lg;
        share[1 + i] = jobs[1 + i].energy_j > 0 ? (static_share * l->energy_j + lg) / jobs[1 + i].energy_j
                                                : static_share;
    }
    /* the ridge is uncertain: split again at half and twice the bandwidth */
    struct split *lo = calloc(nj, sizeof *lo), *hi = calloc(nj, sizeof *hi);
    for (size_t i = 0; i < acc.n; i++) {
        const struct est_row *c = &acc.rows[i];
        row_split(c, peak, bw, &jobs[0].sp);
        row_split(c, peak, bw * 0.5, &lo[0]);
        row_split(c, peak, bw * 2, &hi[0]);
        if (c->layer >= 0 && (size_t)c->layer < r.nlayers) {
            row_split(c, peak, bw, &jobs[1 + c->layer].sp);
            row_split(c, peak, bw * 0.5, &lo[1 + c->layer]);
            row_split(c, peak, bw * 2, &hi[1 + c->layer]);
        }
    }
    free(acc.rows);
    double *cand = o->cand;
    size_t ncand = o->ncand;
    if (!ncand && h->navail) { cand = h->avail; ncand = h->navail; }
    double *grid = NULL;
    if (!ncand && h->min > 0 && h->max > h->min) {
        size_t g = 20;
        grid = malloc((g + 1) * sizeof *grid);
        for (size_t i = 0; i <= g; i++)
            grid[i] = h->min + (h->max - h->min) * (double)i / (double)g;
        cand = grid;
        ncand = g + 1;
    }
    for (size_t j = 0; j < nj; j++) {
        struct est_job *e = &jobs[j];
        if (!(e->time_s > 0) || !(e->energy_j > 0))
            continue;
        /* for a layer, its time is its calls' time; for the job the rest is host time */
        double host = j == 0 ? e->time_s - e->sp.calls_s : 0;
        if (host < 0)
            host = 0;
        struct dvfs_estimate_in in = { e->time_s, e->energy_j, e->sp.tc, e->sp.tm, host, 0.5,
                                       share[j], 3 };
        struct rec rc0;
        memset(&rc0, 0, sizeof rc0);
        snprintf(rc0.layer, sizeof rc0.layer, "%s", e->name);
        rc0.whole = j == 0;
        rc0.knob = knob;
        rc0.device = -1;
        rc0.provenance = "estimated";
        rc0.loo_e = rc0.loo_t = -1;
        rc0.npts = 1;
        dvfs_estimate(&in, knob, f_ref, &rc0.m);
        if (dvfs_choose(&rc0.m, cand, ncand, fbase, o->objective, o->max_slowdown, &rc0.c) != 0)
            continue;
        /* uncertainty: the energy at the recommended setting under the
         * corners of the assumptions (host share 0..1, static share x0.5..x1.7,
         * exponent 2..3, ridge /2..x2) */
        double worst = 0;
        for (int a = 0; a < 16; a++) {
            struct dvfs_estimate_in v = in;
            const struct split *sp = a & 8 ? &hi[j] : &lo[j];
            v.t_compute_s = sp->tc;
            v.t_memory_s = sp->tm;
            v.host_scaling = a & 1 ? 1 : 0;
            v.static_share = a & 2 ? fmin(0.95, share[j] * 1.7) : share[j] * 0.5;
            v.alpha = a & 4 ? 3 : 2;
            struct dvfs_model mv;
            dvfs_estimate(&v, knob, f_ref, &mv);
            double tb, eb, tv, ev;
            dvfs_predict(&mv, fbase, &tb, &eb);
            dvfs_predict(&mv, rc0.c.recommended, &tv, &ev);
            /* compare savings, which is what the recommendation promises */
            double sv = 1 - ev / eb, s0 = 1 - rc0.c.energy_j / rc0.c.base_energy_j;
            double d = fabs(sv - s0) * 100;
            if (d > worst)
                worst = d;
        }
        rc0.unc_pct = worst;
        st->recs = realloc(st->recs, (st->nrecs + 1) * sizeof *st->recs);
        st->recs[st->nrecs++] = rc0;
    }
    warnf(st, "estimated from one trace: compute/memory split of each BLAS call from its arithmetic "
          "intensity against a peak of %.2f GFLOP/s (%s) and %.2f GB/s (%s); static power %.0f%% "
          "of average (%s); host time half frequency-bound",
          peak * 1e-9, o->peak_gflops > 0 ? "given" : "best rate measured in the trace",
          bw * 1e-9, o->mem_gbs > 0 ? "given" : "assumed ridge 8 FLOP/byte", static_share * 100,
          static_share != 0.3 ? "idle baseline" : "assumed");
    free(grid);
    free(lo);
    free(hi);
    free(jobs);
    free(share);
    ana_report_free(&r);
    ana_run_free(&run);
    return bad ? 1 : 0;
}

/* ---- fitted recommendations ---- */
static void fit_all(struct state *st, const struct opts *o)
{
    for (size_t i = 0; i < st->nser; i++) {
        struct dvfs_series *s = &st->ser[i];
        if (o->knob >= 0 && s->knob != o->knob)
            continue;
        if (s->n < 2) {
            warnf(st, "%s %s: one setting only, nothing to fit", dvfs_knob_name(s->knob),
                  s->layer[0] ? s->layer : "(whole job)");
            continue;
        }
        struct hw *h = &st->hw[s->knob];
        double *cand = o->cand;
        size_t ncand = o->ncand;
        double *own = NULL;
        if (!ncand && h->navail) {
            cand = h->avail;
            ncand = h->navail;
        } else if (!ncand) {
            ncand = dvfs_default_candidates(s, &own);
            cand = own;
        }
        double mx = 0;
        for (size_t k = 0; k < s->n; k++)
            if (s->pts[k].setting > mx)
                mx = s->pts[k].setting;
        for (size_t k = 0; k < ncand; k++)
            if (cand[k] > mx)
                mx = cand[k];
        double base = h->max > 0 ? h->max : mx;
        struct rec rc0;
        memset(&rc0, 0, sizeof rc0);
        snprintf(rc0.layer, sizeof rc0.layer, "%s", s->layer);
        rc0.whole = !s->layer[0];
        rc0.knob = s->knob;
        rc0.device = s->device;
        rc0.provenance = "fitted";
        rc0.npts = s->n;
        if (dvfs_fit(s, base, &rc0.m) != 0 ||
            dvfs_choose(&rc0.m, cand, ncand, base, o->objective, o->max_slowdown, &rc0.c) != 0) {
            warnf(st, "%s %s: the fit failed", dvfs_knob_name(s->knob), s->layer[0] ? s->layer : "(whole job)");
            free(own);
            continue;
        }
        if (dvfs_loo(s, base, &rc0.loo_e, &rc0.loo_t) != 0) {
            rc0.loo_e = rc0.loo_t = -1;
            rc0.unc_pct = rc0.m.rms_energy_pct;
            warnf(st, "%s %s: %zu settings: no leave-one-out check (needs 3); uncertainty is the "
                  "in-sample error", dvfs_knob_name(s->knob), s->layer[0] ? s->layer : "(whole job)", s->n);
        } else {
            rc0.unc_pct = rc0.loo_e;
        }
        free(own);
        st->recs = realloc(st->recs, (st->nrecs + 1) * sizeof *st->recs);
        st->recs[st->nrecs++] = rc0;
    }
}

/* what switching per layer would gain over the best static cap */
static void gaps(struct state *st)
{
    for (int k = 0; k < DVFS_NKNOBS; k++) {
        const struct rec *whole = NULL;
        for (size_t i = 0; i < st->nrecs; i++)
            if (st->recs[i].knob == k && st->recs[i].whole)
                whole = &st->recs[i];
        if (!whole)
            continue;
        double delta = 0;
        int nl = 0;
        for (size_t i = 0; i < st->nrecs; i++) {
            const struct rec *l = &st->recs[i];
            if (l->knob != k || l->whole)
                continue;
            double t, e;
            dvfs_predict(&l->m, whole->c.recommended, &t, &e);
            delta += l->c.energy_j - e;
            nl++;
        }
        if (!nl)
            continue;
        st->gap[k].ok = 1;
        st->gap[k].knob = k;
        st->gap[k].device = whole->device;
        st->gap[k].setting = whole->c.recommended;
        st->gap[k].static_j = whole->c.energy_j;
        st->gap[k].sched_j = whole->c.energy_j + delta;
    }
}

/* ---- renderers ---- */
#define jstr ana_json_str

static void jnum(FILE *o, double v)
{
    if (isfinite(v)) fprintf(o, "%.10g", v);
    else fputs("null", o);
}

static void render_json(const struct state *st, const struct opts *o, FILE *f)
{
    fprintf(f, "{\n  \"format_version\": 1,\n  \"objective\": \"%s\",\n  \"max_slowdown_pct\": ",
            dvfs_objective_name(o->objective));
    jnum(f, o->max_slowdown);
    fputs(",\n  \"recommendations\": [", f);
    for (size_t i = 0; i < st->nrecs; i++) {
        const struct rec *r = &st->recs[i];
        fprintf(f, "%s\n    {\"knob\": \"%s\", \"device\": ", i ? "," : "", dvfs_knob_name(r->knob));
        if (r->device < 0) fputs("null", f); else fprintf(f, "%d", r->device);
        fputs(", \"layer\": ", f);
        if (r->whole) fputs("null", f); else jstr(f, r->layer);
        fputs(", \"baseline\": ", f); jnum(f, r->c.baseline);
        fputs(", \"recommended\": ", f); jnum(f, r->c.recommended);
        fputs(", \"predicted_time_s\": ", f); jnum(f, r->c.time_s);
        fputs(", \"predicted_energy_j\": ", f); jnum(f, r->c.energy_j);
        fputs(", \"energy_saving_pct\": ", f); jnum(f, r->c.saving_pct);
        fputs(", \"slowdown_pct\": ", f); jnum(f, r->c.slowdown_pct);
        fprintf(f, ", \"provenance\": \"%s\", \"uncertainty_pct\": ", r->provenance);
        jnum(f, r->unc_pct);
        fputc('}', f);
    }
    fputs("\n  ],\n  \"per_layer_gap\": [", f);
    int first = 1;
    for (int k = 0; k < DVFS_NKNOBS; k++) {
        if (!st->gap[k].ok)
            continue;
        fprintf(f, "%s\n    {\"knob\": \"%s\", \"static_setting\": ", first ? "" : ",", dvfs_knob_name(k));
        jnum(f, st->gap[k].setting);
        fputs(", \"static_energy_j\": ", f); jnum(f, st->gap[k].static_j);
        fputs(", \"per_layer_energy_j\": ", f); jnum(f, st->gap[k].sched_j);
        fputs(", \"gap_pct\": ", f);
        jnum(f, 100 * (1 - st->gap[k].sched_j / st->gap[k].static_j));
        fputc('}', f);
        first = 0;
    }
    fputs("\n  ],\n  \"fits\": [", f);
    for (size_t i = 0; i < st->nrecs; i++) {
        const struct rec *r = &st->recs[i];
        fprintf(f, "%s\n    {\"knob\": \"%s\", \"layer\": ", i ? "," : "", dvfs_knob_name(r->knob));
        if (r->whole) fputs("null", f); else jstr(f, r->layer);
        fprintf(f, ", \"provenance\": \"%s\", \"settings\": %zu", r->provenance, r->npts);
        fputs(", \"reference\": ", f); jnum(f, r->m.f_ref);
        fputs(", \"t_scaling_s\": ", f); jnum(f, r->m.t_scaling);
        fputs(", \"t_fixed_s\": ", f); jnum(f, r->m.t_fixed);
        fputs(", \"p_static_w\": ", f); jnum(f, r->m.p_static);
        fputs(", \"p_dynamic_w\": ", f); jnum(f, r->m.p_dyn);
        fputs(", \"alpha\": ", f); jnum(f, r->m.alpha);
        /* the clock (as a setting) where the board's power limit holds it, and
         * above which time stops falling; null: none seen */
        fputs(", \"power_held_above\": ", f);
        if (r->m.x_cap > 0) jnum(f, r->m.x_cap * r->m.f_ref); else fputs("null", f);
        fputs(", \"time_flat_above\": ", f);
        if (r->m.x_knee > 0) jnum(f, r->m.x_knee * r->m.f_ref); else fputs("null", f);
        /* power caps: the cap where the voltage reaches its floor (power
         * linear in the clock below it) and the lowest draw the board came
         * down to (caps below it not honoured); null: none */
        fputs(", \"voltage_floor_at_w\": ", f);
        if (r->knob == DVFS_GPU_POWER && r->m.x_vfloor > 0)
            jnum(f, r->m.p_static + r->m.p_dyn * pow(r->m.x_vfloor, r->m.alpha));
        else
            fputs("null", f);
        fputs(", \"power_floor_w\": ", f);
        if (r->knob == DVFS_GPU_POWER && r->m.p_floor > 0) jnum(f, r->m.p_floor); else fputs("null", f);
        fputs(", \"loo_energy_error_pct\": ", f);
        if (r->loo_e < 0) fputs("null", f); else jnum(f, r->loo_e);
        fputs(", \"loo_time_error_pct\": ", f);
        if (r->loo_t < 0) fputs("null", f); else jnum(f, r->loo_t);
        fputc('}', f);
    }
    fputs("\n  ],\n  \"job\": ", f);
    fputs(st->job_json ? st->job_json : "null", f);
    fputs(",\n  \"warnings\": [", f);
    for (size_t i = 0; i < st->nwarn; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        jstr(f, st->warn[i]);
    }
    fputs("\n  ]\n}\n", f);
}

/* a knob's setting as people write it: kHz, MHz and W are whole numbers
 * (3000000, not 3e+06) */
static const char *setting_str(double v, char *b, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(b, n, "%.0f", v);
    else
        snprintf(b, n, "%.4g", v);
    return b;
}

/* a prediction to the digits it deserves: 3 significant (an estimate from
 * one trace, or a fit, is not good to 6); the JSON keeps every digit */
static const char *pred_str(double v, char *b, size_t n)
{
    snprintf(b, n, "%.3g", v);
    return b;
}

static void render_text(const struct state *st, const struct opts *o, FILE *f)
{
    char b1[32], b2[32], b3[32], b4[32];
    fprintf(f, "DVFS recommendation: objective %s", dvfs_objective_name(o->objective));
    if (o->objective == DVFS_ENERGY)
        fprintf(f, ", slowdown at most %.3g%% against the uncapped baseline", o->max_slowdown);
    fputs("\n(predicted: from the fitted or estimated model; energy of the whole machine as recorded)\n\n", f);
    fprintf(f, "%-18s %-20s %12s %12s %12s %12s %9s %9s %-9s %6s\n", "knob", "layer", "baseline",
            "recommended", "pred time s", "pred energy J", "saving %", "slower %", "source", "+-%");
    for (size_t i = 0; i < st->nrecs; i++) {
        const struct rec *r = &st->recs[i];
        fprintf(f, "%-18s %-20.20s %12s %12s %12s %12s %9.2f %9.2f %-9s %6.2f\n",
                dvfs_knob_name(r->knob), r->whole ? "(whole job)" : r->layer, setting_str(r->c.baseline, b1, sizeof b1),
                setting_str(r->c.recommended, b2, sizeof b2), pred_str(r->c.time_s, b3, sizeof b3),
                pred_str(r->c.energy_j, b4, sizeof b4), r->c.saving_pct, r->c.slowdown_pct, r->provenance, r->unc_pct);
    }
    for (int k = 0; k < DVFS_NKNOBS; k++)
        if (st->gap[k].ok)
            fprintf(f, "\n%s: best static cap %s: %s J predicted; per-layer settings: %s J "
                    "(switching per phase would save %.2f%%)\n", dvfs_knob_name(k),
                    setting_str(st->gap[k].setting, b1, sizeof b1), pred_str(st->gap[k].static_j, b2, sizeof b2),
                    pred_str(st->gap[k].sched_j, b3, sizeof b3),
                    100 * (1 - st->gap[k].sched_j / st->gap[k].static_j));
    fputs("\nmodel per layer (time = t_scaling*f_ref/f + t_fixed; power = P_static + P_dyn*(f/f_ref)^alpha):\n", f);
    for (size_t i = 0; i < st->nrecs; i++) {
        const struct rec *r = &st->recs[i];
        fprintf(f, "  %-18s %-20.20s %s from %zu setting%s: t_scaling %.4g s, t_fixed %.4g s, P_static %.4g W, "
                "P_dyn %.4g W, alpha %.2f", dvfs_knob_name(r->knob), r->whole ? "(whole job)" : r->layer,
                r->provenance, r->npts, r->npts == 1 ? "" : "s", r->m.t_scaling, r->m.t_fixed,
                r->m.p_static, r->m.p_dyn, r->m.alpha);
        if (r->m.x_cap > 0)
            fprintf(f, "; the board's power limit holds the clock above %s", setting_str(rint(r->m.x_cap * r->m.f_ref), b1, sizeof b1));
        else if (r->m.x_knee > 0)
            fprintf(f, "; time flat above %s", setting_str(rint(r->m.x_knee * r->m.f_ref), b1, sizeof b1));
        if (r->knob == DVFS_GPU_POWER && r->m.x_vfloor > 0)
            fprintf(f, "; voltage at its floor below %.4g W (%.0f%% of the clock)",
                    r->m.p_static + r->m.p_dyn * pow(r->m.x_vfloor, r->m.alpha), 100 * r->m.x_vfloor);
        if (r->knob == DVFS_GPU_POWER && r->m.p_floor > 0)
            fprintf(f, "; draws no less than %.4g W", r->m.p_floor);
        if (r->loo_e >= 0)
            fprintf(f, "; leave-one-out error: energy %.2f%%, time %.2f%%", r->loo_e, r->loo_t);
        fputc('\n', f);
    }
    if (st->job_text)
        fputs(st->job_text, f);
    for (size_t i = 0; i < st->nwarn; i++)
        fprintf(f, "note: %s\n", st->warn[i]);
}

static int usage_dvfs(void)
{
    puts("usage: greenshim-analyze dvfs [<run|sweep dir>...] [--profile FILE.csv] [--max-slowdown PCT]\n"
         "                              [--objective energy|edp|ed2p] [--candidates LIST|MIN:MAX:STEP]\n"
         "                              [--knob KNOB] [--peak-gflops G] [--mem-gbs B]\n"
         "                              [--format text|json] [-o FILE]\n\n"
         "Frequency or power caps that minimise energy (CPU package + GPU, the whole machine)\n"
         "within a slowdown against the uncapped baseline, per layer and for the whole job.\n\n"
         "Inputs: a sweep directory (`greenshim sweep` output: runs each with a dvfs-setting file)\n"
         "or tagged run directories -> the model is FITTED (least squares, leave-one-out checked);\n"
         "untagged run directories -> ESTIMATED from the one trace (BLAS arithmetic intensity vs\n"
         "the machine's compute and bandwidth ceilings), CPU frequency only;\n"
         "--profile FILE.csv with header layer,knob,setting,time_s,energy_j ('*' = whole run).\n\n"
         "  --max-slowdown PCT  allowed slowdown, %, >= 0 (default 5; objective energy)\n"
         "  --objective OBJ     energy (default), edp (energy x delay), ed2p (energy x delay^2)\n"
         "  --candidates C      settings to consider: a,b,c or MIN:MAX:STEP (kHz, MHz or W);\n"
         "                      default: the supported values recorded in the trace, else the\n"
         "                      measured settings and a grid between them\n"
         "  --knob KNOB         only cpu_freq_khz, gpu_sm_clock_mhz or gpu_power_limit_w\n"
         "  --peak-gflops G     compute ceiling for estimates (default: best rate in the trace)\n"
         "  --mem-gbs B         bandwidth ceiling for estimates (default: peak / 8 FLOP/byte)\n"
         "  --format FMT        text (default) or json\n"
         "  -o FILE             write there (the JSON is what scripts/apply-caps reads)");
    return 0;
}

static int bad_arg(const char *fmt, const char *a)
{
    fputs("greenshim-analyze dvfs: ", stderr);
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    return 2;
}

#define BAD(...) do { free(o.cand); return bad_arg(__VA_ARGS__); } while (0)

int ana_cmd_dvfs(int argc, char **argv)
{
    struct opts o = { .max_slowdown = 5, .objective = DVFS_ENERGY, .knob = -1 };
    const char *paths[256];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        const char *eq = strchr(a, '=');
        char name[32];
        if (a[0] == '-' && a[1] == '-' && eq && (size_t)(eq - a) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            v = eq + 1;
            a = name;
        }
        int needs = !strcmp(a, "--profile") || !strcmp(a, "--max-slowdown") || !strcmp(a, "--objective") ||
                    !strcmp(a, "--candidates") || !strcmp(a, "--format") || !strcmp(a, "-o") ||
                    !strcmp(a, "--knob") || !strcmp(a, "--peak-gflops") || !strcmp(a, "--mem-gbs");
        if (needs && !v) {
            if (i + 1 >= argc)
                BAD("%s needs a value (try --help)", a);
            v = argv[++i];
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            free(o.cand);
            return usage_dvfs();
        } else if (!strcmp(a, "--profile")) {
            o.profile = v;
        } else if (!strcmp(a, "--max-slowdown")) {
            char *e;
            o.max_slowdown = strtod(v, &e);
            if (e == v || *e || !isfinite(o.max_slowdown) || o.max_slowdown < 0)
                BAD("--max-slowdown wants a percentage >= 0, not '%s'", v);
        } else if (!strcmp(a, "--objective")) {
            if ((o.objective = dvfs_objective_parse(v)) < 0)
                BAD("unknown objective '%s' (energy, edp or ed2p)", v);
        } else if (!strcmp(a, "--knob")) {
            if ((o.knob = dvfs_knob_parse(v)) < 0)
                BAD("unknown knob '%s' (cpu_freq_khz, gpu_sm_clock_mhz or gpu_power_limit_w)", v);
        } else if (!strcmp(a, "--candidates")) {
            char err[256];
            free(o.cand);
            o.cand = NULL;
            if (dvfs_parse_candidates(v, &o.cand, &o.ncand, err, sizeof err) != 0)
                BAD("--candidates: %s", err);
        } else if (!strcmp(a, "--peak-gflops") || !strcmp(a, "--mem-gbs")) {
            char *e;
            double d = strtod(v, &e);
            if (e == v || *e || !isfinite(d) || !(d > 0))
                BAD("--peak-gflops and --mem-gbs want a positive number, not '%s'", v);
            if (a[2] == 'p') o.peak_gflops = d; else o.mem_gbs = d;
        } else if (!strcmp(a, "--format")) {
            if (!strcmp(v, "json")) o.json = 1;
            else if (!strcmp(v, "text")) o.json = 0;
            else BAD("unknown format '%s' (text or json)", v);
        } else if (!strcmp(a, "-o")) {
            o.out = v;
        } else if (a[0] == '-' && a[1]) {
            BAD("unknown option '%s' (try --help)", a);
        } else if (np < 256) {
            paths[np++] = a;
        } else {
            BAD("too many paths (at most 256): '%s'", a);
        }
    }
    if (!np && !o.profile) {
        fprintf(stderr, "greenshim-analyze dvfs: give run or sweep directories, or --profile FILE.csv "
                "(try --help)\n");
        free(o.cand);
        return 2;
    }
    struct state st;
    memset(&st, 0, sizeof st);
    int rc = 0;
    if (o.profile && read_profile(&st, o.profile) != 0)
        rc = 2;
    const char *untagged[256];
    int nun = 0;
    for (int i = 0; i < np && !rc; i++)
        if (gather(&st, paths[i], untagged, &nun) != 0)
            rc = 2;
    if (!rc) {
        fit_all(&st, &o);
        if (nun && st.nser)
            warnf(&st, "%d untagged run(s) ignored: the fit uses the tagged runs of the sweep", nun);
        else if (nun) {
            if (o.knob >= 0 && o.knob != DVFS_CPU_FREQ) {
                fprintf(stderr, "greenshim-analyze dvfs: a single-trace estimate covers cpu_freq_khz "
                        "only; for %s measure a sweep (greenshim sweep) or give --profile\n",
                        dvfs_knob_name(o.knob));
                rc = 2;
            } else {
                int e = estimate(&st, untagged, nun, &o);
                if (e < 0) rc = 2;
                else if (e > 0) rc = 2;   /* damaged input: reported up to the damage */
            }
        }
        if (!rc && !st.nrecs) {
            fprintf(stderr, "greenshim-analyze dvfs: nothing to recommend: need at least two settings "
                    "of one knob%s\n", o.knob >= 0 ? " (of the --knob given)" : "");
            rc = 2;
        }
    }
    if (st.nrecs) {
        gaps(&st);
        FILE *f = o.out ? fopen(o.out, "w") : stdout;
        if (!f) {
            fprintf(stderr, "greenshim-analyze dvfs: cannot write %s (%s)\n", o.out, strerror(errno));
            rc = 2;
        } else {
            if (o.json) render_json(&st, &o, f);
            else render_text(&st, &o, f);
            if (o.out && fclose(f) != 0) {
                fprintf(stderr, "greenshim-analyze dvfs: cannot write %s (%s)\n", o.out, strerror(errno));
                rc = 2;
            }
        }
    }
    for (size_t i = 0; i < st.nser; i++)
        dvfs_series_free(&st.ser[i]);
    free(st.ser);
    for (size_t i = 0; i < st.nwarn; i++)
        free(st.warn[i]);
    free(st.warn);
    free(st.recs);
    free(st.job_text);
    free(st.job_json);
    for (int k = 0; k < DVFS_NKNOBS; k++)
        free(st.hw[k].avail);
    free(o.cand);
    return rc;
}
