/* filter.c - the call filters of the report verbs (--pid --tid --region
 * --from --to): parsing them, dropping the processes --pid leaves out, and
 * whether one region or call passes.  The stages ask these while the event
 * stream goes by (attribute.c per region, report.c per call). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"
#include "read/filter.h"

/* ---- filters ---- */

static int parse_list(const char *s, uint32_t *out, int max)
{
    int n = 0;
    char *end;
    while (*s && n < max) {
        unsigned long v = strtoul(s, &end, 10);
        if (end == s)
            return -1;
        out[n++] = (uint32_t)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

/* --opt VALUE or --opt=VALUE; NULL when argv[*i] is not --opt */
const char *ana_optval(int argc, char **argv, int *i, const char *opt, int *missing)
{
    size_t l = strlen(opt);
    *missing = 0;
    if (strncmp(argv[*i], opt, l) != 0)
        return NULL;
    if (argv[*i][l] == '=')
        return argv[*i] + l + 1;
    if (argv[*i][l])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int ana_filter_parse(struct ana_filter *f, int argc, char **argv, int *i, const char *verb)
{
    static const char *opts[] = { "--pid", "--tid", "--region", "--from", "--to" };
    for (int k = 0; k < 5; k++) {
        int miss;
        const char *v = ana_optval(argc, argv, i, opts[k], &miss);
        if (miss) {
            fprintf(stderr, "greenshim-analyze %s: %s needs a value (try --help)\n", verb, opts[k]);
            return -1;
        }
        if (!v)
            continue;
        char *end = NULL;
        int bad = 0;
        switch (k) {
        case 0: bad = (f->npid = parse_list(v, f->pid, 32)) <= 0; break;
        case 1: bad = (f->ntid = parse_list(v, f->tid, 64)) <= 0; break;
        case 2: f->region = v; bad = !*v; break;
        case 3: f->from_s = strtod(v, &end); bad = end == v || *end || f->from_s < 0; break;
        case 4: f->to_s = strtod(v, &end); bad = end == v || *end || f->to_s < 0; break;
        }
        if (bad) {
            fprintf(stderr, "greenshim-analyze %s: bad value '%s' for %s (%s)\n", verb, v, opts[k],
                    k < 2 ? "numbers separated by commas" : k == 2 ? "a region path" : "seconds after the run's start");
            return -1;
        }
        size_t l = strlen(f->desc);
        snprintf(f->desc + l, sizeof f->desc - l, "%s%s %s", l ? " " : "", opts[k], v);
        return 1;
    }
    return 0;
}

void ana_filter_procs(struct ana_run *run)
{
    struct ana_filter *f = run->filter;
    if (!f)
        return;
    f->run_start_ns = 0;
    for (size_t i = 0; i < run->nprocs; i++)
        if (!f->run_start_ns || (double)run->procs[i]->hdr.start_mono_ns < f->run_start_ns)
            f->run_start_ns = (double)run->procs[i]->hdr.start_mono_ns;
    if (!f->npid)
        return;
    struct ana_run gone = { 0 };
    gone.procs = malloc((run->nprocs + 1) * sizeof *gone.procs);
    size_t keep = 0;
    for (size_t i = 0; i < run->nprocs; i++) {
        int ok = 0;
        for (int k = 0; k < f->npid; k++)
            ok |= run->procs[i]->hdr.pid == f->pid[k];
        if (ok)
            run->procs[keep++] = run->procs[i];
        else
            gone.procs[gone.nprocs++] = run->procs[i];
    }
    run->nprocs = keep;
    ana_run_free(&gone);
}

/* a region path matches a prefix at a path boundary: "train" matches
 * "train" and "train/fc1", not "training" */
int ana_region_match(const char *path, const char *want)
{
    size_t l = strlen(want);
    return path && strncmp(path, want, l) == 0 && (path[l] == 0 || path[l] == '/');
}

static int filter_on(const struct ana_filter *f)
{
    return f && (f->ntid || f->region || f->from_s > 0 || f->to_s > 0);
}

/* a region id of a process passes --region */
int ana_filter_region(struct ana_report *r, const struct ana_proc *p, uint32_t id)
{
    const struct ana_filter *f = r->run->filter;
    if (!f || !f->region)
        return 1;
    return ana_region_match(ana_string(p, id), f->region);
}

/* one call passes --tid, --region, --from/--to (its energy is already known) */
int ana_filter_call(struct ana_report *r, const struct ana_proc *p, const struct ana_call *c)
{
    const struct ana_filter *f = r->run->filter;
    if (!filter_on(f))
        return 1;
    int ok = 1;
    if (f->ntid) {
        ok = 0;
        for (int k = 0; k < f->ntid; k++)
            ok |= c->thread < p->nthreads && p->threads[c->thread].tid == f->tid[k];
    }
    if (ok && f->region)
        ok = c->region && ana_filter_region(r, p, c->region);
    double lo = f->run_start_ns + f->from_s * 1e9, hi = f->to_s > 0 ? f->run_start_ns + f->to_s * 1e9 : 1e300;
    if (ok && ((double)c->t0 < lo || (double)c->t1 > hi))
        ok = 0;
    return ok;
}

