/* summary.c - the verbs summarize and merge: a job past one machine.
 *
 * `summarize RUN... -o FILE` builds the report of one node's traces and
 * writes what the job report needs of it, no per-call data: the job's
 * identity, each node's energy (one stream per machine), each rank's row
 * (calls, busy time, energy, communication by function, time per layer),
 * every op row, and each rank's collectives (arrival and exit, the first
 * ANA_JOB_COLL_MAX of each rank, as the report keeps them: the cross-node
 * wait needs them).  `merge
 * FILE...` reads the summaries of every node and gives the job report
 * (ranks.c: the same keys and totals as a report over all the traces).
 * The job's own launcher runs summarize on each node (docs/distributed.md).
 *
 * The file is text, one record a line, fields separated by tabs, numbers
 * written to round-trip ("%.17g"); the first line names the format. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "stages/ranks.h"

#define SUM_MAGIC "greenshim-summary 1"

/* a name on one line with no tab */
static void put_name(FILE *o, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, o);
}

static int write_summary(const struct ana_job *j, FILE *o)
{
    fprintf(o, SUM_MAGIC "\njob\t");
    put_name(o, j->id);
    fputc('\t', o);
    put_name(o, j->launcher);
    fprintf(o, "\t%ld\t%llu\t%zu\t%s\n", j->world_size, (unsigned long long)j->calls, j->procs_no_rank,
            j->provenance[0] ? j->provenance : "none");
    for (size_t n = 0; n < j->nnodes; n++) {
        fprintf(o, "node\t%.17g\t%.17g\t%s\t", j->nodes[n].energy_j, j->nodes[n].off_ns,
                j->nodes[n].provenance[0] ? j->nodes[n].provenance : "none");
        put_name(o, j->nodes[n].name);
        fputc('\n', o);
    }
    for (size_t l = 0; l < j->nlayers; l++) {
        fputs("layer\t", o);
        put_name(o, j->layers[l].name);
        fputc('\n', o);
    }
    for (size_t i = 0; i < j->nops; i++) {
        const struct ana_job_op *x = &j->ops[i];
        fprintf(o, "op\t%llu\t%.17g\t%.17g\t%.17g\t", (unsigned long long)x->calls, x->bytes, x->time_s, x->energy_j);
        put_name(o, x->op);
        fputc('\t', o);
        put_name(o, x->api);
        fputc('\n', o);
    }
    uint64_t dropped = j->coll_dropped;
    for (size_t i = 0; i < j->nranks; i++) {
        const struct ana_job_rank *k = &j->ranks[i];
        fprintf(o, "rank\t%ld\t%ld\t%u\t%u\t%u\t%llu\t%llu\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\n",
                k->rank, k->local_rank, k->node, k->pid, k->nprocs, (unsigned long long)k->calls,
                (unsigned long long)k->comm_calls, k->busy_s, k->energy_j, k->comm_bytes, k->comm_s, k->comm_j,
                k->t_first, k->t_last);
        for (unsigned f = 0; f < GS_CF_COUNT; f++)
            if (k->fn_calls[f])
                fprintf(o, "rfn\t%u\t%llu\t%.17g\n", f, (unsigned long long)k->fn_calls[f], k->fn_bytes[f]);
        for (size_t l = 0; l < k->nlayer; l++)
            if (k->layer_s[l] > 0 || k->layer_j[l] > 0)
                fprintf(o, "rlayer\t%zu\t%.17g\t%.17g\n", l, k->layer_s[l], k->layer_j[l]);
        size_t kept = 0;
        for (size_t c = 0; c < j->ncoll; c++) {
            const struct ana_job_coll *x = &j->coll[c];
            if (x->rank_row != i)
                continue;
            if (kept++ >= ANA_JOB_COLL_MAX) {
                dropped++;
                continue;
            }
            fprintf(o, "coll\t%u\t%u\t%u\t%u\t%.17g\t%.17g\t%.17g\n", x->key, x->seq, x->fn, x->size, x->t0, x->t1,
                    x->e);
        }
    }
    fprintf(o, "dropped\t%llu\nend\n", (unsigned long long)dropped);
    return ferror(o) ? -1 : 0;
}

/* split a line at tabs: at most max fields; the line is modified */
static int fields(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\n")] = 0;
    for (char *s = line; n < max;) {
        f[n++] = s;
        char *t = strchr(s, '\t');
        if (!t)
            break;
        *t = 0;
        s = t + 1;
    }
    return n;
}

static int num(const char *s, double *v)
{
    char *e;
    errno = 0;
    *v = strtod(s, &e);
    return !*s || *e || errno || !isfinite(*v) ? -1 : 0;
}

/* one summary into the job; node, layer and rank rows joined by name and
 * number.  0 ok; -1 with the message in err */
static int read_summary(struct ana_job *j, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lno = 0;
    int rc = 0, ended = 0;
    uint32_t node_map[4096], layer_map[65536];
    size_t nnode = 0, nlayer = 0;
    struct ana_job_rank *k = NULL;
    int krow = -1;
    while (getline(&line, &cap, f) > 0) {
        lno++;
        char *fl[20];
        double v[16];
        if (lno == 1) {
            line[strcspn(line, "\n")] = 0;
            if (strcmp(line, SUM_MAGIC) != 0) {
                snprintf(err, errlen, "%s: not a greenshim summary (first line is not \"" SUM_MAGIC "\")", path);
                rc = -1;
                break;
            }
            continue;
        }
        int n = fields(line, fl, 20);
#define BAD(what) do { snprintf(err, errlen, "%s:%zu: %s", path, lno, what); rc = -1; goto done; } while (0)
#define NUMS(from, count) for (int q = 0; q < (count); q++) if (num(fl[(from) + q], &v[q]) != 0) BAD("a number is not one")
        if (!strcmp(fl[0], "job")) {
            if (n != 7) BAD("job line: want 7 fields");
            if (!j->id[0]) snprintf(j->id, sizeof j->id, "%s", fl[1]);
            else if (strcmp(j->id, fl[1]) != 0) BAD("a summary of another job (job ids differ)");
            if (!j->launcher[0]) snprintf(j->launcher, sizeof j->launcher, "%s", fl[2]);
            NUMS(3, 3);
            if (v[0] > j->world_size) j->world_size = (long)v[0];
            j->calls += (uint64_t)v[1];
            j->procs_no_rank += (size_t)v[2];
            if (!j->provenance[0] || !strcmp(j->provenance, "none"))
                snprintf(j->provenance, sizeof j->provenance, "%s", fl[6]);
        } else if (!strcmp(fl[0], "node")) {
            if (n != 5 || nnode >= sizeof node_map / sizeof *node_map) BAD("node line");
            NUMS(1, 2);
            int x = ana_job_node_of(j, fl[4]);
            j->nodes[x].energy_j += v[0];
            if (j->nodes[x].off_ns == 0) j->nodes[x].off_ns = v[1];
            if (!j->nodes[x].provenance[0]) snprintf(j->nodes[x].provenance, sizeof j->nodes[x].provenance, "%s", fl[3]);
            node_map[nnode++] = (uint32_t)x;
        } else if (!strcmp(fl[0], "layer")) {
            if (n != 2 || nlayer >= sizeof layer_map / sizeof *layer_map) BAD("layer line");
            layer_map[nlayer++] = (uint32_t)ana_job_layer_of(j, fl[1]);
        } else if (!strcmp(fl[0], "op")) {
            if (n != 7) BAD("op line: want 7 fields");
            NUMS(1, 4);
            ana_job_op_add(j, fl[5], fl[6], (uint64_t)v[0], v[1], v[2], v[3]);
        } else if (!strcmp(fl[0], "rank")) {
            if (n != 15) BAD("rank line: want 15 fields");
            NUMS(1, 14);
            if (v[2] < 0 || (size_t)v[2] >= nnode || v[0] < 0) BAD("rank line: no such node, or no rank");
            uint32_t node = node_map[(size_t)v[2]];
            size_t before = j->nranks;
            krow = ana_job_rank_of(j, (long)v[0], node, (uint32_t)v[3]);   /* counts one process */
            k = &j->ranks[krow];
            if (j->nranks == before && k->node != node)
                BAD("one rank on two nodes");
            if (v[4] >= 1)
                k->nprocs += (uint32_t)v[4] - 1;
            if (v[1] >= 0) k->local_rank = (long)v[1];
            k->calls += (uint64_t)v[5]; k->comm_calls += (uint64_t)v[6];
            k->busy_s += v[7]; k->energy_j += v[8]; k->comm_bytes += v[9]; k->comm_s += v[10]; k->comm_j += v[11];
            if (v[12] < k->t_first) k->t_first = v[12];
            if (v[13] > k->t_last) k->t_last = v[13];
        } else if (!strcmp(fl[0], "rfn")) {
            if (n != 4 || !k) BAD("rfn line");
            NUMS(1, 3);
            if (v[0] < 0 || v[0] >= GS_CF_COUNT) BAD("rfn line: unknown function");
            k->fn_calls[(unsigned)v[0]] += (uint64_t)v[1];
            k->fn_bytes[(unsigned)v[0]] += v[2];
        } else if (!strcmp(fl[0], "rlayer")) {
            if (n != 4 || !k) BAD("rlayer line");
            NUMS(1, 3);
            if (v[0] < 0 || (size_t)v[0] >= nlayer) BAD("rlayer line: no such layer");
            ana_job_layer_add(j, k, (int)layer_map[(size_t)v[0]], v[1], v[2]);
        } else if (!strcmp(fl[0], "coll")) {
            if (n != 8 || !k) BAD("coll line");
            NUMS(1, 7);
            struct ana_job_coll c = { (uint32_t)krow, (uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2], (uint32_t)v[3],
                                      v[4], v[5], v[6] };
            ana_job_coll_add(j, &c);
        } else if (!strcmp(fl[0], "dropped")) {
            if (n != 2) BAD("dropped line");
            NUMS(1, 1);
            j->coll_dropped += (uint64_t)v[0];
        } else if (!strcmp(fl[0], "end")) {
            ended = 1;
        } else {
            BAD("unknown line");
        }
    }
    if (!rc && lno == 0) {
        snprintf(err, errlen, "%s: empty", path);
        rc = -1;
    } else if (!rc && !ended) {
        snprintf(err, errlen, "%s: truncated (no end line)", path);
        rc = -1;
    }
done:
#undef BAD
#undef NUMS
    free(line);
    fclose(f);
    return rc;
}

int cmd_summarize(int argc, char **argv)
{
    const char *out = NULL;
    struct ana_view v;
    ana_view_init(&v);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: greenshim-analyze summarize <dir|file>... -o FILE\n\n"
                 "Writes the summary of one node's traces of a job: the job's identity, the node's\n"
                 "energy (one stream per machine), each rank's calls, busy time, energy,\n"
                 "communication and time per layer, the op rows, and each rank's collectives\n"
                 "(arrival and exit, at most 16384 per rank, for the wait across nodes); no\n"
                 "per-call data.  `greenshim-analyze merge` joins the summaries of every node into\n"
                 "the job report.  Run it on each node with the job's own launcher (docs/distributed.md).\n\n"
                 "  -o FILE        the summary file (required)");
            return 0;
        } else if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "greenshim-analyze summarize: -o needs a file name\n");
                return 2;
            }
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "greenshim-analyze summarize: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        } else if (v.np < 256) {
            v.paths[v.np++] = argv[i];
        }
    }
    if (!v.np || !out) {
        fprintf(stderr, "greenshim-analyze summarize: want trace directories or files and -o FILE (try --help)\n");
        return 2;
    }
    struct ana_run run = { 0 };
    struct ana_report r;
    int rc = ana_view_load(&v, &run, &r, "summarize");
    if (rc < 0)
        return 2;
    const struct ana_job *j = ana_job_of(&r);
    if (!j) {
        fprintf(stderr, "greenshim-analyze summarize: no process of these traces has a rank (job.rank: started "
                "by torchrun, mpirun, srun or a PMI launcher): nothing to summarize as a job; "
                "`greenshim-analyze report` reports them\n");
        ana_view_free(&run, &r);
        return 2;
    }
    FILE *o = fopen(out, "w");
    if (!o || write_summary(j, o) != 0 || fclose(o) != 0) {
        fprintf(stderr, "greenshim-analyze summarize: cannot write %s (%s)\n", out, strerror(errno));
        ana_view_free(&run, &r);
        return 2;
    }
    ana_view_free(&run, &r);
    return rc ? 2 : 0;
}

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL, *fmt = "text";
    const char *paths[4096];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: greenshim-analyze merge FILE... [--format text|json] [-o FILE]\n\n"
                 "Joins the summaries of a job's nodes (greenshim-analyze summarize) into the job\n"
                 "report: the job (id, launcher, world size, nodes and their energy), one row per\n"
                 "rank (calls, busy time, energy, communication, wait), the op rows and the layers\n"
                 "across ranks; the same keys and totals as `report --format json` over all the\n"
                 "traces.  Node clocks are aligned again on the collectives' exits.\n\n"
                 "  --format FMT   text (default) or json\n"
                 "  -o FILE        write the report to FILE instead of standard output");
            return 0;
        } else if (!strcmp(argv[i], "--format") || !strncmp(argv[i], "--format=", 9)) {
            fmt = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : "");
            if (strcmp(fmt, "text") && strcmp(fmt, "json")) {
                fprintf(stderr, "greenshim-analyze merge: unknown format '%s' (text, json)\n", fmt);
                return 2;
            }
        } else if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "greenshim-analyze merge: -o needs a file name\n");
                return 2;
            }
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "greenshim-analyze merge: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        } else if (np < 4096) {
            paths[np++] = argv[i];
        } else {
            fprintf(stderr, "greenshim-analyze merge: more than 4096 summaries\n");
            return 2;
        }
    }
    if (!np) {
        fprintf(stderr, "greenshim-analyze merge: no summary given (try --help)\n");
        return 2;
    }
    struct ana_job *j = calloc(1, sizeof *j);
    if (!j) {
        fputs("greenshim-analyze: out of memory\n", stderr);
        return 3;
    }
    j->world_size = -1;
    char err[600];
    for (int i = 0; i < np; i++)
        if (read_summary(j, paths[i], err, sizeof err) != 0) {
            fprintf(stderr, "greenshim-analyze merge: %s\n", err);
            ana_job_free(j);
            return 2;
        }
    ana_job_finish(j);
    FILE *o = out ? fopen(out, "w") : stdout;
    if (!o) {
        fprintf(stderr, "greenshim-analyze merge: cannot write %s (%s)\n", out, strerror(errno));
        ana_job_free(j);
        return 2;
    }
    if (!strcmp(fmt, "json")) {
        fprintf(o, "{\n  \"format_version\": 1,\n  \"merged_summaries\": %d", np);
        ana_job_json_members(j, o);
        fputs(",\n  \"ops\": [", o);
        for (size_t i = 0; i < j->nops; i++) {
            const struct ana_job_op *x = &j->ops[i];
            fprintf(o, "%s\n    {\"op\": ", i ? "," : "");
            ana_json_str(o, x->op);
            fputs(", \"api\": ", o);
            ana_json_str(o, x->api);
            fprintf(o, ", \"calls\": %llu, \"bytes\": ", (unsigned long long)x->calls);
            ana_json_num(o, x->bytes);
            fputs(", \"time_s\": ", o);
            ana_json_num(o, x->time_s);
            fputs(", \"energy_j\": ", o);
            ana_json_num(o, x->energy_j);
            fputs("}", o);
        }
        fputs("\n  ]\n}\n", o);
    } else {
        fprintf(o, "greenshim merge: %d node summar%s\n", np, np == 1 ? "y" : "ies");
        ana_job_text_table(j, o);
    }
    int rc = ferror(o) ? 2 : 0;
    if (out && fclose(o) != 0)
        rc = 2;
    ana_job_free(j);
    return rc;
}
