/* ranks.h - a job of many ranks as one report (ranks.c): per rank the
 * calls, busy time, energy, communication and the time spent waiting in
 * collectives for the slowest rank; per node the energy (one stream per
 * machine); per layer the spread across ranks.  Built either from the event
 * stream of a report (the stage "ranks") or from node summaries (summary.c:
 * summarize / merge); both end in ana_job_finish and print the same keys. */
#ifndef GS_ANA_RANKS_H
#define GS_ANA_RANKS_H

#include "ana.h"

struct ana_job_rank {
    long rank, local_rank;
    uint32_t node;                /* index into job->nodes */
    uint32_t pid;                 /* its (first) process */
    uint32_t nprocs;              /* processes that carry this rank (fork children: > 1) */
    uint64_t calls, comm_calls;
    double busy_s, energy_j;      /* intercepted calls: time, attributed energy */
    double comm_bytes, comm_s, comm_j;
    double wait_s, wait_j;        /* in collectives after its own arrival, before the last rank's */
    double t_first, t_last;       /* first call start, last call end (node clock, ns) */
    uint64_t fn_calls[GS_CF_COUNT]; double fn_bytes[GS_CF_COUNT];   /* communication by function */
    /* per layer: time and energy (layer rows of the report, by name in job->layers) */
    double *layer_s, *layer_j; size_t nlayer;
};
struct ana_job_node { char name[128]; double energy_j, off_ns, fix_ns; uint32_t nranks; char provenance[16]; };
struct ana_job_op { char op[48], api[16]; uint64_t calls; double bytes, time_s, energy_j; };
struct ana_job_layer { char name[256]; };
/* one collective of one rank: matched across ranks by (key, seq) */
struct ana_job_coll { uint32_t rank_row, key, seq, fn, size; double t0, t1, e; };

struct ana_job {
    char id[160], launcher[16];
    long world_size;              /* the launcher's, -1: not given */
    struct ana_job_rank *ranks; size_t nranks;
    struct ana_job_node *nodes; size_t nnodes;
    struct ana_job_op *ops; size_t nops;
    struct ana_job_layer *layers; size_t nlayers;
    struct ana_job_coll *coll; size_t ncoll, capcoll;
    uint64_t coll_dropped;        /* collectives past a summary's bound: not matched */
    size_t procs_no_rank;         /* processes no launcher numbered (mpirun, a shell) */
    uint64_t calls;               /* every call of the job */
    double energy_j;              /* the nodes' energy added up */
    char provenance[16];
    size_t instances, incomplete; /* collectives matched; of them, seen on fewer ranks than the communicator */
    double clock_residual_s;      /* node clocks after alignment: median remaining offset */
    const char *clock_how;
};

/* rows by key (created on first use) */
int  ana_job_node_of(struct ana_job *j, const char *name);
int  ana_job_rank_of(struct ana_job *j, long rank, uint32_t node, uint32_t pid);
int  ana_job_layer_of(struct ana_job *j, const char *name);
void ana_job_layer_add(struct ana_job *j, struct ana_job_rank *k, int layer, double s, double e);
void ana_job_op_add(struct ana_job *j, const char *op, const char *api, uint64_t calls, double bytes,
                    double time_s, double energy_j);
void ana_job_coll_add(struct ana_job *j, const struct ana_job_coll *c);
/* rank order, node clocks aligned (refined on collective exits), wait */
void ana_job_finish(struct ana_job *j);
void ana_job_free(struct ana_job *j);
/* the job's keys (job, ranks, job_ops, job_layers, job_clock) as JSON
 * members, each line starting ",\n  " */
void ana_job_json_members(const struct ana_job *j, FILE *o);
void ana_job_text_table(const struct ana_job *j, FILE *o);
const struct ana_job *ana_job_of(const struct ana_report *r);   /* NULL: not a job */
#define ANA_JOB_COLL_MAX 65536    /* per rank in a summary (summary.c) */

#endif
