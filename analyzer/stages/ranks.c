/* ranks.c - the stage "ranks": a job of many ranks as one report.
 *
 * Every process whose header names a rank (job.rank: the launcher's RANK,
 * OMPI_COMM_WORLD_RANK, PMI(X)_RANK, SLURM_PROCID) is a rank row; others
 * (mpirun, a shell, helpers) are counted, not shown.  From the event stream
 * each row gets its calls, busy time and attributed energy, its
 * communication (MPI, NCCL, gloo calls: calls, bytes, time, energy) and its
 * collectives, which ana_job_finish matches across ranks by communicator
 * key and sequence number: a rank's wait in a collective is the time from
 * its own arrival to the last rank's (capped by its own exit), the slack a
 * slower clock on that rank could use.  Node clocks are aligned on the
 * realtime clock read with each process's monotonic one at its start, then
 * refined on collective exits (all ranks leave a collective together); the
 * residual is reported.  Energy stays one stream per machine: a node's
 * energy is its processes' own domains (ana_proc_energy_at), nodes add up.
 * docs/distributed.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "stages/ranks.h"

#define DIV(a, b) ((b) > 0 ? (a) / (b) : 0)

static int is_comm_api(const char *api)
{
    return !strcmp(api, "mpi") || !strcmp(api, "nccl") || !strcmp(api, "gloo") || !strcmp(api, "comm");
}

/* ---- rows ---- */
int ana_job_node_of(struct ana_job *j, const char *name)
{
    for (size_t i = 0; i < j->nnodes; i++)
        if (!strcmp(j->nodes[i].name, name))
            return (int)i;
    j->nodes = ana_xrealloc(j->nodes, j->nnodes + 1, sizeof *j->nodes);
    struct ana_job_node *n = &j->nodes[j->nnodes];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    return (int)j->nnodes++;
}

int ana_job_rank_of(struct ana_job *j, long rank, uint32_t node, uint32_t pid)
{
    for (size_t i = 0; i < j->nranks; i++)
        if (j->ranks[i].rank == rank) {
            j->ranks[i].nprocs++;
            return (int)i;
        }
    j->ranks = ana_xrealloc(j->ranks, j->nranks + 1, sizeof *j->ranks);
    struct ana_job_rank *k = &j->ranks[j->nranks];
    memset(k, 0, sizeof *k);
    k->rank = rank;
    k->local_rank = -1;
    k->node = node;
    k->pid = pid;
    k->nprocs = 1;
    k->t_first = INFINITY;
    k->t_last = -INFINITY;
    j->nodes[node].nranks++;
    return (int)j->nranks++;
}

int ana_job_layer_of(struct ana_job *j, const char *name)
{
    for (size_t i = 0; i < j->nlayers; i++)
        if (!strcmp(j->layers[i].name, name))
            return (int)i;
    j->layers = ana_xrealloc(j->layers, j->nlayers + 1, sizeof *j->layers);
    snprintf(j->layers[j->nlayers].name, sizeof j->layers[0].name, "%s", name);
    return (int)j->nlayers++;
}

void ana_job_layer_add(struct ana_job *j, struct ana_job_rank *k, int layer, double s, double e)
{
    if (layer < 0)
        return;
    if ((size_t)layer >= k->nlayer) {
        size_t n = (size_t)layer + 1 > j->nlayers ? (size_t)layer + 1 : j->nlayers;
        k->layer_s = ana_xrealloc(k->layer_s, n, sizeof *k->layer_s);
        k->layer_j = ana_xrealloc(k->layer_j, n, sizeof *k->layer_j);
        for (size_t i = k->nlayer; i < n; i++)
            k->layer_s[i] = k->layer_j[i] = 0;
        k->nlayer = n;
    }
    k->layer_s[layer] += s;
    k->layer_j[layer] += e;
}

void ana_job_op_add(struct ana_job *j, const char *op, const char *api, uint64_t calls, double bytes,
                    double time_s, double energy_j)
{
    size_t i;
    for (i = 0; i < j->nops; i++)
        if (!strcmp(j->ops[i].op, op) && !strcmp(j->ops[i].api, api))
            break;
    if (i == j->nops) {
        j->ops = ana_xrealloc(j->ops, j->nops + 1, sizeof *j->ops);
        memset(&j->ops[i], 0, sizeof j->ops[i]);
        snprintf(j->ops[i].op, sizeof j->ops[i].op, "%s", op);
        snprintf(j->ops[i].api, sizeof j->ops[i].api, "%s", api);
        j->nops++;
    }
    j->ops[i].calls += calls;
    j->ops[i].bytes += bytes;
    j->ops[i].time_s += time_s;
    j->ops[i].energy_j += energy_j;
}

void ana_job_coll_add(struct ana_job *j, const struct ana_job_coll *c)
{
    if (j->ncoll == j->capcoll) {
        j->capcoll = j->capcoll ? j->capcoll * 2 : 1024;
        j->coll = ana_xrealloc(j->coll, j->capcoll, sizeof *j->coll);
    }
    j->coll[j->ncoll++] = *c;
}

void ana_job_free(struct ana_job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->nranks; i++) {
        free(j->ranks[i].layer_s);
        free(j->ranks[i].layer_j);
    }
    free(j->ranks); free(j->nodes); free(j->ops); free(j->layers); free(j->coll);
    free(j);
}

/* ---- matching ---- */
static int coll_cmp(const void *a, const void *b)
{
    const struct ana_job_coll *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return x->rank_row < y->rank_row ? -1 : x->rank_row > y->rank_row;
}
static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static const struct ana_job_rank *rank_sort_base;
static int rank_idx_cmp(const void *a, const void *b)
{
    long x = rank_sort_base[*(const uint32_t *)a].rank, y = rank_sort_base[*(const uint32_t *)b].rank;
    return x < y ? -1 : x > y;
}

void ana_job_finish(struct ana_job *j)
{
    /* ranks in rank order; collectives follow their rows */
    uint32_t *ord = ana_xmalloc(j->nranks + 1, sizeof *ord), *to = ana_xmalloc(j->nranks + 1, sizeof *to);
    for (size_t i = 0; i < j->nranks; i++)
        ord[i] = (uint32_t)i;
    rank_sort_base = j->ranks;
    qsort(ord, j->nranks, sizeof *ord, rank_idx_cmp);
    struct ana_job_rank *nr = ana_xmalloc(j->nranks + 1, sizeof *nr);
    for (size_t i = 0; i < j->nranks; i++) {
        nr[i] = j->ranks[ord[i]];
        to[ord[i]] = (uint32_t)i;
    }
    free(j->ranks);
    j->ranks = nr;
    for (size_t i = 0; i < j->ncoll; i++)
        j->coll[i].rank_row = to[j->coll[i].rank_row];
    free(ord);
    free(to);

    /* node clocks: realtime offsets (less the smallest: doubles keep their
     * nanoseconds), then the median exit difference to node 0.  The
     * collectives keep their node-clock times (summaries write them). */
    double off0 = INFINITY;
    for (size_t n = 0; n < j->nnodes; n++) {
        j->nodes[n].fix_ns = 0;
        if (j->nodes[n].off_ns < off0)
            off0 = j->nodes[n].off_ns;
    }
    double *sh = ana_xmalloc(j->nnodes + 1, sizeof *sh);
    for (size_t n = 0; n < j->nnodes; n++)
        sh[n] = j->nodes[n].off_ns - off0;
#define SH(c) sh[j->ranks[(c)->rank_row].node]
    if (j->ncoll)
        qsort(j->coll, j->ncoll, sizeof *j->coll, coll_cmp);
    j->clock_how = j->nnodes > 1 ? "each node's realtime clock at its processes' start, refined on collective exits"
                                 : "one node: one clock";
    j->clock_residual_s = 0;
    if (j->nnodes > 1 && j->ncoll) {
        double **d = calloc(j->nnodes, sizeof *d);
        size_t *nd = calloc(j->nnodes, sizeof *nd), *cap = calloc(j->nnodes, sizeof *cap);
        if (!d || !nd || !cap) {
            fputs("greenshim-analyze: out of memory\n", stderr);
            exit(3);
        }
        for (size_t a = 0, b; a < j->ncoll; a = b) {
            for (b = a; b < j->ncoll && j->coll[b].key == j->coll[a].key && j->coll[b].seq == j->coll[a].seq; b++)
                ;
            double ref = NAN;
            for (size_t i = a; i < b && isnan(ref); i++)
                if (j->ranks[j->coll[i].rank_row].node == 0)
                    ref = j->coll[i].t1 + SH(&j->coll[i]);
            if (isnan(ref))
                continue;
            for (size_t i = a; i < b; i++) {
                uint32_t n = j->ranks[j->coll[i].rank_row].node;
                if (n == 0)
                    continue;
                if (nd[n] == cap[n]) {
                    cap[n] = cap[n] ? cap[n] * 2 : 64;
                    d[n] = ana_xrealloc(d[n], cap[n], sizeof *d[n]);
                }
                d[n][nd[n]++] = ref - (j->coll[i].t1 + SH(&j->coll[i]));
            }
        }
        double *res = NULL;
        size_t nres = 0;
        for (size_t n = 1; n < j->nnodes; n++) {
            if (!nd[n])
                continue;
            qsort(d[n], nd[n], sizeof *d[n], dbl_cmp);
            j->nodes[n].fix_ns = d[n][nd[n] / 2];
            res = ana_xrealloc(res, nres + nd[n], sizeof *res);
            for (size_t i = 0; i < nd[n]; i++)
                res[nres++] = fabs(d[n][i] - j->nodes[n].fix_ns);
            free(d[n]);
        }
        if (nres) {
            qsort(res, nres, sizeof *res, dbl_cmp);
            j->clock_residual_s = res[nres / 2] * 1e-9;
        }
        free(res);
        free(d); free(nd); free(cap);
        for (size_t n = 0; n < j->nnodes; n++)
            sh[n] += j->nodes[n].fix_ns;
    }

    /* wait: from a rank's arrival to the last arrival, within its own call;
     * also per quarter of the rank's collectives (in sequence order) */
    size_t *cnt = ana_xmalloc(j->nranks + 1, sizeof *cnt), *seen = ana_xmalloc(j->nranks + 1, sizeof *seen);
    for (size_t i = 0; i < j->nranks; i++) {
        j->ranks[i].wait_s = j->ranks[i].wait_j = 0;
        memset(j->ranks[i].wait_q, 0, sizeof j->ranks[i].wait_q);
        memset(j->ranks[i].nq, 0, sizeof j->ranks[i].nq);
        cnt[i] = seen[i] = 0;
    }
    for (size_t i = 0; i < j->ncoll; i++)
        cnt[j->coll[i].rank_row]++;
    j->instances = j->incomplete = 0;
    for (size_t a = 0, b; a < j->ncoll; a = b) {
        double last = -INFINITY;
        uint32_t size = 0;
        for (b = a; b < j->ncoll && j->coll[b].key == j->coll[a].key && j->coll[b].seq == j->coll[a].seq; b++) {
            if (j->coll[b].t0 + SH(&j->coll[b]) > last)
                last = j->coll[b].t0 + SH(&j->coll[b]);
            if (j->coll[b].size > size)
                size = j->coll[b].size;
        }
        j->instances++;
        if (b - a < size)
            j->incomplete++;            /* some ranks' traces are not here: the last arrival may be later */
        for (size_t i = a; i < b; i++) {
            const struct ana_job_coll *c = &j->coll[i];
            double t0 = c->t0 + SH(c), t1 = c->t1 + SH(c);
            double end = t1 < last ? t1 : last, w = end > t0 ? end - t0 : 0;
            struct ana_job_rank *k = &j->ranks[c->rank_row];
            k->wait_s += w * 1e-9;
            size_t q = 4 * seen[c->rank_row]++ / cnt[c->rank_row];
            k->wait_q[q] += w * 1e-9;
            k->nq[q]++;
            k->wait_j += c->t1 > c->t0 ? c->e * w / (c->t1 - c->t0) : 0;
        }
    }
#undef SH
    double lo = INFINITY;               /* the aligned clock from the job's first call */
    for (size_t i = 0; i < j->nranks; i++)
        if (j->ranks[i].t_first + sh[j->ranks[i].node] < lo)
            lo = j->ranks[i].t_first + sh[j->ranks[i].node];
    for (size_t n = 0; n < j->nnodes; n++)
        j->nodes[n].shift_ns = sh[n] - (isfinite(lo) ? lo : 0);
    free(sh);
    free(cnt);
    free(seen);
    j->energy_j = 0;
    for (size_t n = 0; n < j->nnodes; n++)
        j->energy_j += j->nodes[n].energy_j;
}

/* ---- the stage ---- */
struct rstate {
    struct ana_job *job;
    int *row_of;                  /* proc index -> rank row, -1 */
    size_t nprocs;
};

static void rstate_free(void *v)
{
    struct rstate *s = v;
    ana_job_free(s->job);
    free(s->row_of);
    free(s);
}

static int ranks_begin(struct ana_report *r)
{
    struct ana_run *run = r->run;
    size_t nrank = 0;
    for (size_t i = 0; i < run->nprocs; i++)
        nrank += run->procs[i]->job_rank >= 0;
    if (!nrank)
        return 0;                       /* not a job: no rank rows */
    struct rstate *s = calloc(1, sizeof *s);
    struct ana_job *j = calloc(1, sizeof *j);
    if (!s || !j) {
        fputs("greenshim-analyze: out of memory\n", stderr);
        exit(3);
    }
    s->job = j;
    s->nprocs = run->nprocs;
    s->row_of = ana_xmalloc(run->nprocs + 1, sizeof *s->row_of);
    j->world_size = -1;
    for (size_t i = 0; i < run->nprocs; i++) {
        const struct ana_proc *p = run->procs[i];
        s->row_of[i] = -1;
        if (p->job_id[0] && !j->id[0])
            snprintf(j->id, sizeof j->id, "%s", p->job_id);
        if (p->job_launcher[0] && !j->launcher[0])
            snprintf(j->launcher, sizeof j->launcher, "%s", p->job_launcher);
        if (p->job_world_size > j->world_size)
            j->world_size = p->job_world_size;
        int n = ana_job_node_of(j, p->job_node[0] ? p->job_node : p->host[0] ? p->host : "?");
        if (j->nodes[n].off_ns == 0)      /* realtime - monotonic at the node's first process's start */
            j->nodes[n].off_ns = (double)(int64_t)(p->hdr.start_real_ns - p->hdr.start_mono_ns);
        if (p->job_rank < 0) {
            j->procs_no_rank++;
            continue;
        }
        s->row_of[i] = ana_job_rank_of(j, p->job_rank, (uint32_t)n, p->hdr.pid);
        if (p->job_local_rank >= 0)
            j->ranks[s->row_of[i]].local_rank = p->job_local_rank;
    }
    ana_report_ext_set(r, "ranks", s, rstate_free);
    return 0;
}

static void ranks_event(struct ana_report *r, void *self, const struct ana_event *ev)
{
    struct rstate *s = self;
    if (!s || ev->kind != ANA_EV_CALL || ev->proc->index >= s->nprocs)
        return;
    int row = s->row_of[ev->proc->index];
    if (row < 0)
        return;
    struct ana_job *j = s->job;
    struct ana_job_rank *k = &j->ranks[row];
    const struct ana_call *c = ev->call;
    double t0 = (double)ev->t0, t1 = (double)(ev->t1 > ev->t0 ? ev->t1 : ev->t0), dt = (t1 - t0) * 1e-9;
    k->calls++;
    k->busy_s += dt;
    k->energy_j += c->energy_j;
    if (t0 < k->t_first) k->t_first = t0;
    if (t1 > k->t_last) k->t_last = t1;
    ana_job_layer_add(j, k, c->layer, dt, c->energy_j);   /* by the stream's layer index; renamed at the end */
    if (!ANA_OP_IS_COMM(c->op))
        return;
    k->comm_calls++;
    k->comm_bytes += (double)c->bytes;
    k->comm_s += dt;
    k->comm_j += c->energy_j;
    unsigned fn = ANA_COMM_FN(c->op);
    if (fn < GS_CF_COUNT) {
        k->fn_calls[fn]++;
        k->fn_bytes[fn] += (double)c->bytes;
    }
    /* collectives matched across ranks; not NCCL's, whose host time is only the enqueue */
    if (fn > GS_CF_NONE && fn < GS_CF_P2P && c->ldb && c->lda < UINT32_MAX - 1 &&
        !(ANA_COMM_FLAGS(c->flags) & GS_COMM_F_ASYNC)) {
        if (k->coll_kept >= ANA_JOB_COLL_MAX) {
            j->coll_dropped++;          /* past the bound: communication time, not matched */
            return;
        }
        k->coll_kept++;
        struct ana_job_coll e = { (uint32_t)row, c->lda, c->ldb, fn, c->m, t0, t1, c->energy_j };
        ana_job_coll_add(j, &e);
    }
}

static int ranks_end(struct ana_report *r)
{
    struct rstate *s = ana_report_ext(r, "ranks");
    if (!s)
        return 0;
    struct ana_job *j = s->job;
    /* layers: the stream's row indices -> the report's rows, by name */
    for (size_t i = 0; i < r->nlayers; i++)
        ana_job_layer_of(j, r->layers[i].name);
    for (size_t i = 0; i < j->nranks; i++) {
        struct ana_job_rank *k = &j->ranks[i];
        size_t n = j->nlayers ? j->nlayers : 1;
        double *ls = ana_xmalloc(n, sizeof *ls), *lj = ana_xmalloc(n, sizeof *lj);
        for (size_t l = 0; l < n; l++)
            ls[l] = lj[l] = 0;
        for (size_t l = 0; l < k->nlayer && l < r->nlayers; l++) {
            int to = r->layer_remap ? r->layer_remap[l] : (int)l;
            if (to >= 0 && (size_t)to < j->nlayers) {
                ls[to] += k->layer_s[l];
                lj[to] += k->layer_j[l];
            }
        }
        free(k->layer_s);
        free(k->layer_j);
        k->layer_s = ls;
        k->layer_j = lj;
        k->nlayer = j->nlayers;
    }
    for (size_t i = 0; i < r->nops; i++)
            ana_job_op_add(j, r->ops[i].op, r->ops[i].api, r->ops[i].calls, r->ops[i].bytes, r->ops[i].time_s,
                           r->ops[i].energy_j);
    /* energy: each process's own domains (the machine's once per run), added per node */
    for (size_t i = 0; i < r->run->nprocs; i++) {
        const struct ana_proc *p = r->run->procs[i];
        int n = ana_job_node_of(j, p->job_node[0] ? p->job_node : p->host[0] ? p->host : "?");
        j->nodes[n].energy_j += ana_proc_energy_at(p, 1.8e19);
        /* the node's provenance: measured over modelled over none (a process too
         * short for a sample has none) */
        char *nv = j->nodes[n].provenance;
        if (p->provenance && (!nv[0] || !strcmp(nv, "none") ||
                              (!strcmp(nv, "modelled") && !strcmp(p->provenance, "measured"))))
            snprintf(nv, sizeof j->nodes[n].provenance, "%s", p->provenance);
    }
    snprintf(j->provenance, sizeof j->provenance, "%s", r->provenance ? r->provenance : "none");
    j->calls = r->total_calls;
    ana_job_finish(j);
    return 0;
}

const struct ana_stage ana_stage_ranks = { "ranks", ranks_begin, ranks_event, ranks_end };

const struct ana_job *ana_job_of(const struct ana_report *r)
{
    const struct rstate *s = ana_report_ext(r, "ranks");
    return s ? s->job : NULL;
}

/* ---- output ---- */
#define jstr ana_json_str
#define jnum ana_json_num

void ana_job_json_members(const struct ana_job *j, FILE *o)
{
    fputs(",\n  \"job\": ", o);
    if (!j) {
        fputs("null,\n  \"ranks\": [],\n  \"layers_across_ranks\": []", o);
        return;
    }
    fputs("{\"id\": ", o); jstr(o, j->id[0] ? j->id : NULL);
    fputs(", \"launcher\": ", o); jstr(o, j->launcher[0] ? j->launcher : NULL);
    fputs(", \"world_size\": ", o);
    if (j->world_size >= 0) fprintf(o, "%ld", j->world_size); else fputs("null", o);
    fprintf(o, ", \"ranks_seen\": %zu, \"processes_without_rank\": %zu, \"nodes\": %zu, \"node_list\": [", j->nranks,
            j->procs_no_rank, j->nnodes);
    for (size_t i = 0; i < j->nnodes; i++) {
        fputs(i ? ", {\"name\": " : "{\"name\": ", o); jstr(o, j->nodes[i].name);
        fprintf(o, ", \"ranks\": %u, \"energy_j\": ", j->nodes[i].nranks); jnum(o, j->nodes[i].energy_j);
        fputs(", \"provenance\": ", o); jstr(o, j->nodes[i].provenance[0] ? j->nodes[i].provenance : "none");
        fputs(", \"clock_fix_s\": ", o); jnum(o, j->nodes[i].fix_ns * 1e-9);
        fputs("}", o);
    }
    fprintf(o, "], \"calls\": %llu, \"energy_j\": ", (unsigned long long)j->calls); jnum(o, j->energy_j);
    fputs(", \"energy_provenance\": ", o); jstr(o, j->provenance);
    fputs(", \"clock\": {\"aligned_by\": ", o); jstr(o, j->clock_how);
    fputs(", \"residual_s\": ", o); jnum(o, j->clock_residual_s);
    fprintf(o, "}, \"collectives\": {\"matched\": %zu, \"incomplete\": %zu, \"not_matched\": %llu}",
            j->instances, j->incomplete, (unsigned long long)j->coll_dropped);
    double comm_s = 0, comm_j = 0, wait_s = 0, wait_j = 0, bytes = 0;
    for (size_t i = 0; i < j->nranks; i++) {
        comm_s += j->ranks[i].comm_s; comm_j += j->ranks[i].comm_j; bytes += j->ranks[i].comm_bytes;
        wait_s += j->ranks[i].wait_s; wait_j += j->ranks[i].wait_j;
    }
    fputs(", \"comm\": {\"bytes\": ", o); jnum(o, bytes);
    fputs(", \"time_s\": ", o); jnum(o, comm_s);
    fputs(", \"energy_j\": ", o); jnum(o, comm_j);
    fputs("}, \"wait_s\": ", o); jnum(o, wait_s);
    fputs(", \"wait_j\": ", o); jnum(o, wait_j);
    fputs(", \"dvfs\": ", o);
    ana_job_slack_json(j, 0, 0, o);
    fputs("},\n  \"ranks\": [", o);
    for (size_t i = 0; i < j->nranks; i++) {
        const struct ana_job_rank *k = &j->ranks[i];
        fprintf(o, "%s\n    {\"rank\": %ld, \"local_rank\": ", i ? "," : "", k->rank);
        if (k->local_rank >= 0) fprintf(o, "%ld", k->local_rank); else fputs("null", o);
        fputs(", \"node\": ", o); jstr(o, j->nodes[k->node].name);
        fprintf(o, ", \"pid\": %u, \"processes\": %u, \"calls\": %llu, \"busy_s\": ", k->pid, k->nprocs,
                (unsigned long long)k->calls);
        jnum(o, k->busy_s);
        fputs(", \"energy_j\": ", o); jnum(o, k->energy_j);
        fprintf(o, ", \"comm\": {\"calls\": %llu, \"bytes\": ", (unsigned long long)k->comm_calls);
        jnum(o, k->comm_bytes);
        fputs(", \"time_s\": ", o); jnum(o, k->comm_s);
        fputs(", \"energy_j\": ", o); jnum(o, k->comm_j);
        fputs(", \"ops\": {", o);
        for (unsigned f = 0, first = 1; f < GS_CF_COUNT; f++)
            if (k->fn_calls[f]) {
                fputs(first ? "" : ", ", o);
                first = 0;
                jstr(o, ana_comm_fn_name(f));
                fprintf(o, ": {\"calls\": %llu, \"bytes\": ", (unsigned long long)k->fn_calls[f]);
                jnum(o, k->fn_bytes[f]);
                fputs("}", o);
            }
        fputs("}}, \"wait_s\": ", o); jnum(o, k->wait_s);
        fputs(", \"wait_j\": ", o); jnum(o, k->wait_j);
        fputs(", \"span_s\": ", o); jnum(o, k->t_last > k->t_first ? (k->t_last - k->t_first) * 1e-9 : 0);
        fputs("}", o);
    }
    fputs("\n  ],\n  \"layers_across_ranks\": [", o);
    for (size_t l = 0; l < j->nlayers; l++) {
        double st[2][3] = { { 0, INFINITY, -INFINITY }, { 0, INFINITY, -INFINITY } };   /* sum, min, max */
        size_t n = 0;
        for (size_t i = 0; i < j->nranks; i++) {
            const struct ana_job_rank *k = &j->ranks[i];
            double v[2] = { l < k->nlayer ? k->layer_s[l] : 0, l < k->nlayer ? k->layer_j[l] : 0 };
            if (v[0] <= 0 && v[1] <= 0)
                continue;
            n++;
            for (int q = 0; q < 2; q++) {
                st[q][0] += v[q];
                if (v[q] < st[q][1]) st[q][1] = v[q];
                if (v[q] > st[q][2]) st[q][2] = v[q];
            }
        }
        fprintf(o, "%s\n    {\"name\": ", l ? "," : ""); jstr(o, j->layers[l].name);
        fprintf(o, ", \"ranks\": %zu", n);
        for (int q = 0; q < 2; q++) {
            fputs(q ? ", \"energy_j\": {\"mean\": " : ", \"time_s\": {\"mean\": ", o);
            jnum(o, DIV(st[q][0], (double)n));
            fputs(", \"min\": ", o); jnum(o, n ? st[q][1] : 0);
            fputs(", \"max\": ", o); jnum(o, n ? st[q][2] : 0);
            fputs(", \"total\": ", o); jnum(o, st[q][0]);
            fputs("}", o);
        }
        fputs("}", o);
    }
    fputs("\n  ]", o);
}

/* ---- DVFS for a job: the waiting ranks' slack (predicted) ---- */
#define SLACK_ALPHA 2.0

size_t ana_job_slack(const struct ana_job *j, double x_min, struct ana_job_slack **out)
{
    struct ana_job_slack *s = ana_xmalloc(j->nranks + 1, sizeof *s);
    double *xn = ana_xmalloc(j->nnodes + 1, sizeof *xn);
    for (size_t n = 0; n < j->nnodes; n++)
        xn[n] = 0;
    for (size_t i = 0; i < j->nranks; i++) {
        const struct ana_job_rank *k = &j->ranks[i];
        /* slack it has all along: its collectives times the smallest mean
         * wait of a quarter of them (a straggler's waits at start-up are no
         * slack in its steps) */
        double tc = k->busy_s - k->comm_s, w = INFINITY;
        uint32_t nc = 0;
        for (int q = 0; q < 4; q++) {
            nc += k->nq[q];
            if (k->nq[q] && k->wait_q[q] / k->nq[q] < w)
                w = k->wait_q[q] / k->nq[q];
        }
        w = nc ? w * nc : 0;
        if (tc < 0)
            tc = 0;
        s[i] = (struct ana_job_slack){ k->rank, k->node, tc, w, tc > 0 && w > 0 ? tc / (tc + w) : 1, 1, 0, 0 };
        if (s[i].x < x_min)
            s[i].x = x_min;             /* the lowest supported clock */
        if (s[i].x < 0.05)
            s[i].x = 0.05;              /* no clock goes lower than 5 % of its top */
        if (s[i].x > xn[k->node])
            xn[k->node] = s[i].x;
    }
    for (size_t i = 0; i < j->nranks; i++) {
        const struct ana_job_rank *k = &j->ranks[i];
        double ec = k->energy_j - k->comm_j;
        if (ec < 0)
            ec = 0;
        s[i].x_node = xn[k->node] > 0 ? xn[k->node] : 1;
        /* the slack is spent computing at x (its share of the wait's energy
         * goes); at x_node a rank fills part of its slack */
        double wj = k->wait_s > 0 ? k->wait_j * s[i].slack_s / k->wait_s : 0;
        double fill = s[i].x < 1 && s[i].slack_s > 0 ? (s[i].compute_s / s[i].x - s[i].compute_s) / s[i].slack_s : 0;
        s[i].saving_j = s[i].x < 1 ? wj * (fill > 1 ? 1 : fill) + ec * (1 - pow(s[i].x, SLACK_ALPHA - 1)) : 0;
        double used = s[i].x_node < 1 && s[i].slack_s > 0 ? (s[i].compute_s / s[i].x_node - s[i].compute_s) / s[i].slack_s : 0;
        s[i].saving_node_j = s[i].x_node < 1 ? wj * (used > 1 ? 1 : used) +
                                               ec * (1 - pow(s[i].x_node, SLACK_ALPHA - 1)) : 0;
    }
    free(xn);
    *out = s;
    return j->nranks;
}

static const char slack_model[] = "x = t_compute / (t_compute + slack), slack = the rank's collectives x the mean wait "
                                  "of its quietest quarter of them: the compute stretches into the wait, no later at the "
                                  "collectives; power ~ x^2 (alpha 2, not fitted: one setting)";

static double slack_cap(double x, double f_ref, double f_min)
{
    return x * f_ref > f_min ? x * f_ref : f_min;
}

void ana_job_slack_json(const struct ana_job *j, double f_ref_khz, double f_min_khz, FILE *o)
{
    struct ana_job_slack *s;
    size_t n = ana_job_slack(j, f_ref_khz > 0 ? f_min_khz / f_ref_khz : 0, &s);
    double tot = 0, totn = 0;
    fputs("{\"provenance\": \"predicted\", \"model\": ", o); jstr(o, slack_model);
    fputs(", \"ranks\": [", o);
    for (size_t i = 0; i < n; i++) {
        fprintf(o, "%s{\"rank\": %ld, \"node\": ", i ? ", " : "", s[i].rank); jstr(o, j->nodes[s[i].node].name);
        fputs(", \"compute_s\": ", o); jnum(o, s[i].compute_s);
        fputs(", \"slack_s\": ", o); jnum(o, s[i].slack_s);
        fputs(", \"clock_fraction\": ", o); jnum(o, s[i].x);
        fputs(", \"cpu_freq_khz\": ", o);
        if (f_ref_khz > 0) jnum(o, slack_cap(s[i].x, f_ref_khz, f_min_khz)); else fputs("null", o);
        fputs(", \"predicted_saving_j\": ", o); jnum(o, s[i].saving_j);
        fputs("}", o);
        tot += s[i].saving_j;
        totn += s[i].saving_node_j;
    }
    fputs("], \"nodes\": [", o);
    for (size_t nd = 0; nd < j->nnodes; nd++) {
        double x = 1, e = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i].node == nd) {
                x = s[i].x_node;
                e += s[i].saving_node_j;
            }
        fprintf(o, "%s{\"node\": ", nd ? ", " : ""); jstr(o, j->nodes[nd].name);
        fputs(", \"clock_fraction\": ", o); jnum(o, x);
        fputs(", \"cpu_freq_khz\": ", o);
        if (f_ref_khz > 0) jnum(o, slack_cap(x, f_ref_khz, f_min_khz)); else fputs("null", o);
        fputs(", \"predicted_saving_j\": ", o); jnum(o, e);
        fputs("}", o);
    }
    fputs("], \"predicted_saving_j\": ", o); jnum(o, tot);
    fputs(", \"predicted_saving_per_node_caps_j\": ", o); jnum(o, totn);
    fputs("}", o);
    free(s);
}

void ana_job_slack_text(const struct ana_job *j, double f_ref_khz, double f_min_khz, FILE *o)
{
    struct ana_job_slack *s;
    size_t n = ana_job_slack(j, f_ref_khz > 0 ? f_min_khz / f_ref_khz : 0, &s);
    char b[4][64];
    fprintf(o, "\nDVFS for the job (predicted): ranks with slack can run slower at no cost to the step time\n"
               "  model: %s\n  rank  node              compute    slack      clock    %ssaving\n", slack_model,
            f_ref_khz > 0 ? "cap kHz    " : "");
    double tot = 0;
    for (size_t i = 0; i < n; i++) {
        fprintf(o, "  %-5ld ", s[i].rank);
        ana_pad(o, j->nodes[s[i].node].name, 17, 0);
        fprintf(o, " %-10s %-10s %-8.3f ", ana_dur(s[i].compute_s, b[0], 64), ana_dur(s[i].slack_s, b[1], 64), s[i].x);
        if (f_ref_khz > 0)
            fprintf(o, "%-10.0f ", slack_cap(s[i].x, f_ref_khz, f_min_khz));
        fprintf(o, "%s\n", ana_si(s[i].saving_j, "J", b[2], 64));
        tot += s[i].saving_j;
    }
    fprintf(o, "  predicted saving with per-rank caps: %s of the job's %s (per-rank clocks need each rank "
               "pinned to cores of its own)\n", ana_si(tot, "J", b[3], 64), ana_si(j->energy_j, "J", b[2], 64));
    free(s);
}

void ana_job_json(const struct ana_report *r, FILE *o)
{
    ana_job_json_members(ana_job_of(r), o);
}

static const char *fmt_bytes(double b, char *buf, size_t n)
{
    return ana_si(b, "B", buf, n);
}

void ana_job_text_table(const struct ana_job *j, FILE *o)
{
    char b[16][64];
    fprintf(o, "\njob %s (%s): %zu rank%s", j->id[0] ? j->id : "(no id)", j->launcher[0] ? j->launcher : "?",
            j->nranks, j->nranks == 1 ? "" : "s");
    if (j->world_size >= 0)
        fprintf(o, " of world size %ld", j->world_size);
    fprintf(o, " on %zu node%s", j->nnodes, j->nnodes == 1 ? "" : "s");
    if (j->procs_no_rank)
        fprintf(o, "; %zu process%s without a rank (launchers, helpers) not shown", j->procs_no_rank,
                j->procs_no_rank == 1 ? "" : "es");
    fputs("\n  wait: time in collectives after the rank arrived, until the last rank arrived (its slack)\n", o);
    fputs("  rank  local  node              pid      calls      busy      energy    comm calls  comm bytes  "
          "comm time  comm energy  wait       wait energy\n", o);
    for (size_t i = 0; i < j->nranks; i++) {
        const struct ana_job_rank *k = &j->ranks[i];
        char lr[16] = "-";
        if (k->local_rank >= 0)
            snprintf(lr, sizeof lr, "%ld", k->local_rank);
        fprintf(o, "  %-5ld %-6s ", k->rank, lr);
        ana_pad(o, j->nodes[k->node].name, 17, 0);
        fprintf(o, " %-8u %-10llu %-9s %-9s %-11llu %-11s %-10s %-12s %-10s %s\n", k->pid,
                (unsigned long long)k->calls, ana_dur(k->busy_s, b[0], 64), ana_si(k->energy_j, "J", b[1], 64),
                (unsigned long long)k->comm_calls, fmt_bytes(k->comm_bytes, b[2], 64), ana_dur(k->comm_s, b[3], 64),
                ana_si(k->comm_j, "J", b[4], 64), ana_dur(k->wait_s, b[5], 64), ana_si(k->wait_j, "J", b[6], 64));
    }
    for (size_t n = 0; n < j->nnodes; n++) {
        fputs("  node ", o);
        ana_pad(o, j->nodes[n].name, 17, 0);
        fprintf(o, " %u rank%s, energy %s (%s)\n", j->nodes[n].nranks, j->nodes[n].nranks == 1 ? "" : "s",
                ana_si(j->nodes[n].energy_j, "J", b[7], 64),
                j->nodes[n].provenance[0] ? j->nodes[n].provenance : "none");
    }
    fprintf(o, "  job energy %s (%s: one stream per machine, nodes added); clocks: %s, residual %s\n",
            ana_si(j->energy_j, "J", b[8], 64), j->provenance, j->clock_how, ana_dur(j->clock_residual_s, b[9], 64));
    fprintf(o, "  collectives matched across ranks: %zu", j->instances);
    if (j->incomplete)
        fprintf(o, " (%zu seen on fewer ranks than their communicator has: their wait is a lower bound)",
                j->incomplete);
    if (j->coll_dropped)
        fprintf(o, "; %llu past the bound of %u per rank not matched (their wait is not counted)",
                (unsigned long long)j->coll_dropped, (unsigned)ANA_JOB_COLL_MAX);
    fputs("\n", o);
    ana_job_slack_text(j, 0, 0, o);
    for (size_t i = 0; i < j->nops; i++)
        if (is_comm_api(j->ops[i].api))
            fprintf(o, "  %-22s %-5s %10llu calls  %-11s %s\n", j->ops[i].op, j->ops[i].api,
                (unsigned long long)j->ops[i].calls, fmt_bytes(j->ops[i].bytes, b[10], 64),
                ana_dur(j->ops[i].time_s, b[11], 64));
}

void ana_job_text(const struct ana_report *r, FILE *o)
{
    const struct ana_job *j = ana_job_of(r);
    if (j)
        ana_job_text_table(j, o);
}
