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
    double wait_q[4];             /* the wait in each quarter of its collectives (in order) */
    uint32_t nq[4];               /* collectives in each quarter */
    uint32_t coll_kept;           /* collectives kept for matching (at most ANA_JOB_COLL_MAX) */
    double t_first, t_last;       /* first call start, last call end (node clock, ns) */
    uint64_t fn_calls[GS_CF_COUNT]; double fn_bytes[GS_CF_COUNT];   /* communication by function */
    /* per layer: time and energy (layer rows of the report, by name in job->layers) */
    double *layer_s, *layer_j; size_t nlayer;
};
struct ana_job_node {
    char name[128]; double energy_j, off_ns, fix_ns; uint32_t nranks; char provenance[16];
    double shift_ns;              /* ana_job_finish: node clock + shift = the job's aligned clock */
};
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
/* DVFS for a job (predicted): per rank the clock fraction x at which its
 * compute (busy time outside communication, t_c) stretches to fill its
 * slack w (its collectives x the mean wait of the quietest quarter of them:
 * slack it has all along, not a straggler's waits at start-up): x = t_c / (t_c + w), no
 * later at the collectives, so no slower step; per node the largest x of
 * its ranks (one clock for the node).  Energy: time(x) = t_c / x, power ~
 * x^alpha (alpha 2: one setting, nothing fitted; no static power in the
 * compute energy), so a rank's compute energy E_c becomes E_c x^(alpha-1)
 * and the slack's share of its wait energy goes.  f_ref_khz > 0: also the
 * caps in kHz. */
struct ana_job_slack { long rank; uint32_t node; double compute_s, slack_s, x, x_node, saving_j, saving_node_j; };
size_t ana_job_slack(const struct ana_job *j, double x_min, struct ana_job_slack **out);   /* one per rank; x >= x_min */
/* caps: x f_ref_khz, no lower than f_min_khz (the lowest supported clock); 0, 0: fractions only */
void ana_job_slack_json(const struct ana_job *j, double f_ref_khz, double f_min_khz, FILE *o);  /* a JSON object */
void ana_job_slack_text(const struct ana_job *j, double f_ref_khz, double f_min_khz, FILE *o);
const struct ana_job *ana_job_of(const struct ana_report *r);   /* NULL: not a job */
/* collectives kept per rank for matching (report and summaries alike, so
 * that both give the same waits): the first ones; later ones are counted in
 * coll_dropped.  Bounds the stage's memory at 48 bytes x this per rank. */
#define ANA_JOB_COLL_MAX 16384

#endif
