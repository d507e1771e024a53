/* main.c - greenshim-analyze: one table of verbs, each a cmd_<verb>(). */
#include <stdlib.h>
#include <string.h>
#include "ana.h"

static int usage_main(FILE *o)
{
    fputs("usage: greenshim-analyze <verb> [options]\n\n"
          "verbs:\n"
          "  report <dir|file>... [--format text|json|csv] [-o FILE]\n"
          "                       per routine, shape, region and layer: calls, FLOPs, time, energy\n"
          "  dump <file>          every record of one trace file, one line each\n"
          "  info <file>          the header of one trace file\n"
          "  help                 this text\n\n"
          "Exit status: 0 ok, 2 bad usage or damaged/unreadable input (a damaged trace is\n"
          "still reported up to the damage).\n", o);
    return o == stdout ? 0 : 2;
}

static int cmd_report(int argc, char **argv)
{
    const struct ana_renderer *rend = &ana_render_text;
    const char *out = NULL;
    const char *paths[256];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: greenshim-analyze report <dir|file>... [--format text|json|csv] [-o FILE]\n\n"
                 "Reads every .gstrace file of the given directories (or the given files) and\n"
                 "prints per-routine, per-shape, per-region and per-layer calls, FLOPs, time and\n"
                 "energy, the time and energy outside intercepted calls, and where each energy\n"
                 "figure came from (measured, modelled).\n\n"
                 "  --format FMT   text (default), json or csv\n"
                 "  -o FILE        write the report to FILE instead of standard output");
            return 0;
        } else if (!strcmp(argv[i], "--format") || !strncmp(argv[i], "--format=", 9)) {
            const char *f = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : "");
            if (!strcmp(f, "text")) rend = &ana_render_text;
            else if (!strcmp(f, "json")) rend = &ana_render_json;
            else if (!strcmp(f, "csv")) rend = &ana_render_csv;
            else {
                fprintf(stderr, "greenshim-analyze report: unknown format '%s' (text, json or csv)\n", f);
                return 2;
            }
        } else if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "greenshim-analyze report: -o needs a file name\n");
                return 2;
            }
            out = argv[++i];
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
    if (!run.nprocs) {
        ana_run_free(&run);
        return 2;
    }
    struct ana_report r;
    ana_report_build(&run, &r);
    FILE *o = out ? fopen(out, "w") : stdout;
    if (!o) {
        perror(out);
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

static int one_file(int argc, char **argv, const char *verb, struct ana_run *run)
{
    if (argc != 2 || argv[1][0] == '-') {
        if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            printf("usage: greenshim-analyze %s <file>\n", verb);
            return 1;
        }
        fprintf(stderr, "usage: greenshim-analyze %s <file>\n", verb);
        return 2;
    }
    memset(run, 0, sizeof *run);
    if (ana_read_file(run, argv[1]) != 0)
        return 2;
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    struct ana_run run;
    int rc = one_file(argc, argv, "info", &run);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct ana_proc *p = run.procs[0];
    const struct gs_file_header *h = &p->hdr;
    printf("file: %s\nversion: %u\nheader_size: %u\nchunk_size: %u\nrec_size: %u\nclock: %s\ntsc_hz: %llu\n"
           "pid: %u\nppid: %u\nsources: 0x%x\nnevents: %u\n",
           p->file, h->version, h->header_size, h->chunk_size, h->rec_size,
           h->clock == GS_CLOCK_TSC ? "tsc" : "mono", (unsigned long long)h->tsc_hz, h->pid, h->ppid, h->sources,
           h->nevents);
    fputs(p->text, stdout);
    printf("threads: %zu\ncalls: %zu\nclean_exit: %s\n", p->nthreads, p->ncalls, p->clean_exit ? "yes" : "no");
    rc = run.damaged ? 2 : 0;
    ana_run_free(&run);
    return rc;
}

static int cmd_dump(int argc, char **argv)
{
    struct ana_run run;
    int rc = one_file(argc, argv, "dump", &run);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct ana_proc *p = run.procs[0];
    ana_timeline(p);
    char op[16];
    static const char tr[] = "NTC?";
    for (size_t i = 0; i < p->ncalls; i++) {
        const struct ana_call *c = &p->calls[i];
        const char *rg = c->region ? ana_string(p, c->region) : NULL;
        printf("call tid=%u t0=%llu dur_ns=%llu op=%s api=%s tr=%c%c m=%u n=%u k=%u lda=%u ldb=%u ldc=%u region=%s",
               p->threads[c->thread].tid, (unsigned long long)c->t0, (unsigned long long)(c->t1 - c->t0),
               ana_op_name(c->op, op), c->flags & GS_F_FORTRAN ? "fortran" : "cblas",
               tr[GS_F_TRANSA(c->flags)], tr[GS_F_TRANSB(c->flags)], c->m, c->n, c->k, c->lda, c->ldb, c->ldc,
               rg ? rg : "-");
        if (c->has_ctr)
            for (int e = 0; e < p->nevents; e++)
                printf(" %s=%llu", p->events[e], (unsigned long long)c->ctr[e]);
        putchar('\n');
    }
    for (size_t i = 0; i < p->nrev; i++)
        printf("region-%s tid=%u t=%llu path=%s\n", p->rev[i].push ? "push" : "pop",
               p->threads[p->rev[i].thread].tid, (unsigned long long)p->rev[i].t,
               ana_string(p, p->rev[i].id) ? ana_string(p, p->rev[i].id) : "?");
    for (int d = 0; d < p->ndom; d++)
        for (size_t i = 0; i < p->dom[d].n; i++)
            printf("sample domain=%s t=%llu value=%llu\n", p->dom[d].name, (unsigned long long)p->dom[d].t[i],
                   (unsigned long long)p->dom[d].v[i]);
    for (size_t i = 0; i < run.nwarn; i++)
        printf("warning: %s\n", run.warnings[i]);
    rc = run.damaged ? 2 : 0;
    ana_run_free(&run);
    return rc;
}

static const struct { const char *name; int (*fn)(int, char **); } verbs[] = {
    { "report", cmd_report },
    { "dump", cmd_dump },
    { "info", cmd_info },
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_main(stderr);
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return usage_main(stdout);
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        if (!strcmp(argv[1], verbs[i].name))
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "greenshim-analyze: unknown verb '%s' (try greenshim-analyze help)\n", argv[1]);
    return 2;
}
