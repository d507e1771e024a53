/* main.c - greenshim-analyze: one table of verbs, each a cmd_<verb>(). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "ana.h"
#include "stages/dvfs.h"

static int cmd_report(int argc, char **argv);
static int cmd_dump(int argc, char **argv);
static int cmd_info(int argc, char **argv);

/* the verbs: a new verb is a cmd_<verb>() and a row here */
static const struct verb {
    const char *name, *args, *help;
    int (*fn)(int, char **);
} verbs[] = {
    { "report", "<dir|file>... [--format text|json|csv] [-o FILE]",
      "per routine, shape, region and layer: calls, FLOPs, time, energy", cmd_report },
    { "dump", "<file>", "every record of one trace file, one line each", cmd_dump },
    { "info", "<file>", "the header of one trace file", cmd_info },
    { "dvfs", "[<runs|sweep>...] [--profile CSV] [--max-slowdown PCT] [--objective energy|edp|ed2p]",
      "frequency/power caps that cut energy, per layer and job, with predicted savings", ana_cmd_dvfs },
    { "html", "<dir|file>... -o FILE",
      "one self-contained page: energy per layer, power over time, roofline, DVFS, top routines", cmd_html },
    { "export", "--perfetto FILE | --csv DIR <dir|file>...",
      "a timeline for ui.perfetto.dev; one CSV per table", cmd_export },
    { "diff", "<runA> <runB>", "per layer and routine: time, energy, GFLOP/J, change vs noise", cmd_diff },
    { "summarize", "<dir|file>... -o FILE", "one node's summary of a job (bounded, no per-call data), for merge",
      cmd_summarize },
    { "merge", "FILE... [--format text|json] [-o FILE]", "the job report from the nodes' summaries", cmd_merge },
};

static int usage_main(FILE *o)
{
    fputs("usage: greenshim-analyze <verb> [options]\n\nverbs:\n", o);
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        fprintf(o, "  %s %s\n      %s\n", verbs[i].name, verbs[i].args, verbs[i].help);
    fputs("  help                 this text\n\n"
          "'greenshim-analyze <verb> --help' describes one verb; --version prints the version.\n"
          "Exit status: 0 ok, 2 bad usage or damaged/unreadable input (a damaged trace is\n"
          "still reported up to the damage).\n", o);
    return o == stdout ? 0 : 2;
}

static void print_errors(const struct ana_run *run);

static int cmd_report(int argc, char **argv)
{
    const struct ana_renderer *rend = &ana_render_text;
    const char *out = NULL;
    const char *paths[256];
    int np = 0, nexp = 0, k;
    struct ana_view v;
    ana_view_init(&v);
    const struct ana_exporter *exps[8];
    const char *expfile[8];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: greenshim-analyze report <dir|file>... [--format text|json|csv] [-o FILE]\n\n"
                 "Reads every .gstrace file of the given directories (or the given files) and\n"
                 "prints per-routine, per-shape, per-region and per-layer calls, FLOPs, time and\n"
                 "energy, the time and energy outside intercepted calls, and where each energy\n"
                 "figure came from (measured, modelled).\n\n"
                 "  --format FMT   text (default), json or csv\n"
                 "  -o FILE        write the report to FILE instead of standard output\n"
                 "  --export NAME=FILE  also write the event stream with exporter NAME\n"
                 "  --version      print the version");
            fputs(ana_view_help, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--format") || !strncmp(argv[i], "--format=", 9)) {
            const char *f = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : "");
            rend = ana_renderer_find(f);
            if (!rend) {
                fprintf(stderr, "greenshim-analyze report: unknown format '%s' (", f);
                for (size_t k = 0; ana_renderers[k]; k++)
                    fprintf(stderr, "%s%s", k ? ", " : "", ana_renderers[k]->name);
                fprintf(stderr, ")\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--export")) {
            /* --export NAME=FILE: an exporter of the event stream */
            const char *a = i + 1 < argc ? argv[++i] : "", *eq = strchr(a, '=');
            char nm[64];
            snprintf(nm, sizeof nm, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
            const struct ana_exporter *x = ana_exporter_find(nm);
            if (!x || !eq || !eq[1] || nexp >= 8) {
                fprintf(stderr, "greenshim-analyze report: --export wants NAME=FILE with NAME one of:");
                for (size_t k = 0; ana_exporters[k]; k++)
                    fprintf(stderr, " %s", ana_exporters[k]->name);
                fprintf(stderr, "%s\n", ana_exporters[0] ? "" : " (none built in)");
                return 2;
            }
            exps[nexp] = x;
            expfile[nexp++] = eq + 1;
        } else if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "greenshim-analyze report: -o needs a file name\n");
                return 2;
            }
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] && (k = ana_view_opt(&v, argc, argv, &i, "report")) != 0) {
            if (k < 0)
                return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "greenshim-analyze report: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        } else if (np < 256) {
            paths[np++] = argv[i];
        }
    }
    if (!np) {
        fprintf(stderr, "greenshim-analyze report: no trace directory or file given (try --help)\n");
        return 2;
    }
    struct ana_run run = { 0 };
    int bad = 0;
    for (int i = 0; i < np; i++)
        if (ana_read_path(&run, paths[i]) != 0)
            bad = 1;
    print_errors(&run);
    if (ana_check_runs(&run, v.merge_runs, "report") != 0) {
        ana_run_free(&run);
        return 2;
    }
    if (run.nprocs && v.filtering) {
        run.filter = &v.filter;
        ana_filter_procs(&run);
    }
    if (!run.nprocs) {
        ana_run_free(&run);
        return 2;
    }
    FILE *ef[8] = { 0 };
    void *ectx[8] = { 0 };
    for (int i = 0; i < nexp; i++) {
        ef[i] = fopen(expfile[i], "w");
        if (!ef[i]) {
            fprintf(stderr, "greenshim-analyze report: cannot write %s (%s)\n", expfile[i], strerror(errno));
            bad = 1;
            continue;
        }
        ectx[i] = exps[i]->begin(&run, ef[i]);
        ana_sink_add(&run, exps[i]->event, ectx[i]);
    }
    struct ana_report r;
    ana_progress_attach(&run);
    ana_report_build(&run, &r);
    ana_progress("", 1, 1);
    ana_report_more(&r, &v.mo);
    for (int i = 0; i < nexp; i++)
        if (ef[i]) {
            if (exps[i]->end(ectx[i], &r) != 0)
                bad = 1;
            if (fclose(ef[i]) != 0)
                bad = 1;
        }
    FILE *o = out ? fopen(out, "w") : stdout;
    if (!o) {
        fprintf(stderr, "greenshim-analyze report: cannot write %s (%s)\n", out, strerror(errno));
        ana_report_free(&r);
        ana_run_free(&run);
        return 2;
    }
    rend->render(&r, o);
    if (out)
        fclose(o);
    ana_report_free(&r);
    int rc = bad || run.damaged ? 2 : 0;
    ana_run_free(&run);
    return rc;
}

static void print_errors(const struct ana_run *run)
{
    for (size_t i = 0; i < run->nerr; i++)
        fprintf(stderr, "greenshim-analyze: %s\n", run->errors[i]);
}

/* info and dump: exactly one file. 1: --help printed */
static int one_file(int argc, char **argv, const char *verb, const char *what, struct ana_run *run)
{
    memset(run, 0, sizeof *run);
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: greenshim-analyze %s <file>\n\n%s\n", verb, what);
        return 1;
    }
    if (argc != 2 || argv[1][0] == '-') {
        if (argc >= 2 && argv[1][0] == '-')
            fprintf(stderr, "greenshim-analyze %s: unknown option '%s' (try --help)\n", verb, argv[1]);
        else
            fprintf(stderr, "greenshim-analyze %s: want exactly one trace file (try --help)\n", verb);
        return 2;
    }
    struct stat st;
    if (stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode)) {
        /* a run directory: name one of its files for the user */
        char first[256] = "";
        DIR *d = opendir(argv[1]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n > 8 && !strcmp(e->d_name + n - 8, ".gstrace")) {
                snprintf(first, sizeof first, "%s", e->d_name);
                break;
            }
        }
        if (d)
            closedir(d);
        fprintf(stderr, "greenshim-analyze %s: %s is a directory; %s reads one trace file%s%s%s%s\n", verb,
                argv[1], verb, first[0] ? ", e.g. " : " (it holds no .gstrace file)", first[0] ? argv[1] : "",
                first[0] ? "/" : "", first);
        return 2;
    }
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    struct ana_run run;
    int rc = one_file(argc, argv, "info",
                      "Prints the binary header fields of one trace file, its key: value text, and\n"
                      "how many threads and calls it holds.", &run);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (ana_read_file(&run, argv[1]) != 0) {
        print_errors(&run);
        ana_run_free(&run);
        return 2;
    }
    print_errors(&run);
    struct ana_proc *p = run.procs[0];
    const struct gs_file_header *h = &p->hdr;
    printf("file: %s\nversion: %u\nheader_size: %u\nchunk_size: %u\nrec_size: %u\nclock: %s\ntsc_hz: %llu\n"
           "start_tsc: %llu\nstart_mono_ns: %llu\nstart_real_ns: %llu\n"
           "pid: %u\nppid: %u\nsources: 0x%x\nnevents: %u\ntext_len: %u\n--\n",
           p->file, h->version, h->header_size, h->chunk_size, h->rec_size,
           h->clock == GS_CLOCK_TSC ? "tsc" : h->clock == GS_CLOCK_MONO ? "mono" : "unknown",
           (unsigned long long)h->tsc_hz, (unsigned long long)h->start_tsc, (unsigned long long)h->start_mono_ns,
           (unsigned long long)h->start_real_ns, h->pid, h->ppid, h->sources, h->nevents, h->text_len);
    fputs(p->text, stdout);
    if (p->text[0] && p->text[strlen(p->text) - 1] != '\n')
        putchar('\n');
    size_t nhelp = 0, nsamp = 0;
    for (size_t t = 0; t < p->nthreads; t++) {
        nhelp += p->threads[t].stream == GS_STREAM_RECORDER;
        nsamp += p->threads[t].stream == GS_STREAM_SAMPLER;
    }
    printf("--\nthreads: %zu (program threads; the recorder's sampler threads: %zu%s)\ncalls: %zu\nclean_exit: %s\n",
           p->nthreads - nsamp - nhelp, nsamp, nhelp ? "; its helper thread: 1" : "", p->ncalls, p->clean_exit ? "yes" : "no");
    if (p->lost || p->lost_calls)
        printf("lost: %llu calls, %llu records (%s)\n", (unsigned long long)p->lost_calls,
               (unsigned long long)p->lost, ana_lost_reason(p->lost_reason));
    rc = run.damaged ? 2 : 0;
    ana_run_free(&run);
    return rc;
}

/* dump: one line per record as trace_read meets it (raw clock values) */
static void dump_rec(void *ctx, const struct ana_proc *p, uint32_t tid, size_t off, const uint8_t *rec_in)
{
    static const char tr[] = "NTC?";
    char op[16];
    (void)ctx;
    uint64_t slot[GS_REC_SIZE / 8];      /* chunks need not be aligned: read the slot from a copy */
    memcpy(slot, rec_in, GS_REC_SIZE);
    const uint8_t *rec = (const uint8_t *)slot;
    printf("%10zu tid=%-7u ", off, tid);
    switch (rec[0]) {
    case GS_REC_CALL: {
        const struct gs_rec_call *c = (const void *)rec;
        printf("CALL op=%s api=%s tr=%c%c m=%u n=%u k=%u lda=%u ldb=%u ldc=%u region=%u t0=%llu t1=%llu "
               "flags=0x%x\n", ana_op_name(c->op, op), c->flags & GS_F_FORTRAN ? "fortran" : "cblas",
               tr[GS_F_TRANSA(c->flags)], tr[GS_F_TRANSB(c->flags)], c->m, c->n, c->k, c->lda, c->ldb, c->ldc,
               c->region, (unsigned long long)c->t0, (unsigned long long)c->t1, c->flags);
        break;
    }
    case GS_REC_COUNTERS: {
        const struct gs_rec_counters *c = (const void *)rec;
        printf("COUNTERS n=%u", c->nvals);
        for (int i = 0; i < c->nvals && i < GS_MAX_EVENTS; i++)
            printf(" %s=%llu", i < p->nevents ? p->events[i] : "?", (unsigned long long)c->delta[i]);
        printf(" via=%s\n", c->flags & 1 ? "rdpmc" : "read");
        break;
    }
    case GS_REC_REGION_PUSH:
    case GS_REC_REGION_POP: {
        const struct gs_rec_region *g = (const void *)rec;
        printf("%s id=%u parent=%u depth=%u t=%llu\n", rec[0] == GS_REC_REGION_PUSH ? "PUSH" : "POP", g->id,
               g->parent, g->depth, (unsigned long long)g->t);
        break;
    }
    case GS_REC_STRING: {
        const struct gs_rec_string *s = (const void *)rec;
        char head[GS_STRING_HEAD_TEXT + 1], esc[4 * GS_STRING_HEAD_TEXT + 1];
        size_t hl = s->len < GS_STRING_HEAD_TEXT ? s->len : GS_STRING_HEAD_TEXT;
        memcpy(head, s->text, hl);
        head[hl] = 0;
        printf("STRING kind=%u id=%u len=%u text=\"%s%s\"\n", s->kind, s->id, s->len,
               ana_text_escape(head, esc, GS_STRING_HEAD_TEXT), s->len > GS_STRING_HEAD_TEXT ? "..." : "");
        break;
    }
    case GS_REC_CLOCK:
    case GS_REC_END: {
        const struct gs_rec_clock *c = (const void *)rec;
        printf("%s tsc=%llu mono_ns=%llu real_ns=%llu\n", rec[0] == GS_REC_END ? "END" : "CLOCK",
               (unsigned long long)c->tsc, (unsigned long long)c->mono_ns, (unsigned long long)c->real_ns);
        break;
    }
    case GS_REC_SAMPLE: {
        const struct gs_rec_sample *s = (const void *)rec;
        printf("SAMPLE kind=%u domain=%u(%s) t=%llu t_read=%llu value=%llu\n", s->kind, s->domain,
               s->domain < p->ndom && p->dom[s->domain].name[0] ? p->dom[s->domain].name : "-",
               (unsigned long long)s->t, (unsigned long long)s->t_read, (unsigned long long)s->value);
        break;
    }
    case GS_REC_LOST: {
        const struct gs_rec_lost *l = (const void *)rec;
        if (p->hdr.version < 2)
            printf("LOST records=%llu t=%llu\n", (unsigned long long)l->calls, (unsigned long long)l->t);
        else
            printf("LOST calls=%llu records=%llu reason=%u tid=%u t=%llu t_first=%llu\n",
                   (unsigned long long)l->calls, (unsigned long long)l->records, l->reason, l->tid,
                   (unsigned long long)l->t, (unsigned long long)l->t_first);
        break;
    }
    case GS_REC_DNNL:
        if (rec[2] == GS_DNNL_EXEC) {
            const struct gs_rec_dnnl_exec *e = (const void *)rec;
            printf("DNNL exec prim=%u status=%u region=%u t0=%llu t1=%llu\n", e->prim, e->status, e->region,
                   (unsigned long long)e->t0, (unsigned long long)e->t1);
        } else if (rec[2] == GS_DNNL_PRIM && rec[1] >= 2) {
            struct gs_rec_dnnl_prim d;   /* two slots: the reader checked both are in the chunk */
            memcpy(&d, rec_in, sizeof d);
            printf("DNNL prim=%u kind=%s prop=%u", d.prim, ana_dnnl_kind_name(d.kind), d.prop);
            const uint32_t *t[3] = { d.src, d.wei, d.dst };
            for (int j = 0; j < 3; j++) {
                printf(" %s=", j == 0 ? "src" : j == 1 ? "wei" : "dst");
                for (int i = 0; i < d.ndims[j] && i < GS_DNNL_MAXDIMS; i++)
                    printf("%s%u", i ? "x" : "", t[j][i]);
            }
            printf("\n");
        } else {
            printf("DNNL what=%u nslots=%u (skipped)\n", rec[2], rec[1]);
        }
        break;
    case GS_REC_COMM: {
        const struct gs_rec_comm *c = (const void *)rec;
        unsigned f = GS_COMM_FLAGS(c->libf);
        printf("COMM fn=%s lib=%s size=%u key=%u seq=%u peer=%d bytes=%llu region=%u t0=%llu t1=%llu flags=%s%s%s\n",
               ana_comm_fn_name(c->fn), ana_comm_lib_name(GS_COMM_LIB(c->libf)), c->comm_size, c->comm_key, c->seq,
               c->peer, (unsigned long long)c->bytes, c->region, (unsigned long long)c->t0,
               (unsigned long long)c->t1, f & GS_COMM_F_ASYNC ? "async," : "", f & GS_COMM_F_PLUGIN ? "plugin," : "",
               f & GS_COMM_F_ERROR ? "error," : "");
        break;
    }
    default:
        if (!ana_gpu_dump(p, rec_in))
            printf("UNKNOWN type=%u (skipped)\n", rec[0]);
    }
}

static int cmd_dump(int argc, char **argv)
{
    struct ana_run run;
    int rc = one_file(argc, argv, "dump",
                      "Prints every record of one trace file, one line each: file offset, thread,\n"
                      "record type and fields, timestamps in the file's raw clock; chunks in\n"
                      "(thread, sequence) order.", &run);
    if (rc)
        return rc == 1 ? 0 : rc;
    run.visit = dump_rec;
    rc = ana_read_file(&run, argv[1]) != 0 || run.damaged ? 2 : 0;
    print_errors(&run);
    for (size_t i = 0; i < run.nwarn; i++)
        printf("warning: %s\n", run.warnings[i]);
    ana_run_free(&run);
    return rc;
}


static int version(void)
{
    printf("greenshim-analyze %s (reads trace format versions 1 to %u)\n", ANA_VERSION, GS_TRACE_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_main(stderr);
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return usage_main(stdout);
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
        return version();
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        if (!strcmp(argv[1], verbs[i].name)) {
            for (int a = 2; a < argc; a++)
                if (!strcmp(argv[a], "--version"))
                    return version();
            return verbs[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "greenshim-analyze: unknown verb '%s' (try greenshim-analyze help)\n", argv[1]);
    return 2;
}
