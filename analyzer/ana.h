/* ana.h - the analyzer's stages and the plain structs between them:
 * trace_read -> timeline -> attribute -> layers -> report -> renderers. */
#ifndef GS_ANA_H
#define GS_ANA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "greenshim/trace.h"

#define ANA_MAX_DOMAINS 64
#define ANA_VERSION "0.2"

struct ana_event;
struct ana_report;

/* one intercepted call, after trace_read (times still in raw clock) */
struct ana_call {
    uint64_t t0, t1;              /* raw clock, then ns after timeline */
    uint32_t m, n, k, lda, ldb, ldc;
    uint32_t region;              /* innermost region path id */
    uint32_t thread;              /* index into proc->threads */
    uint16_t flags;
    uint8_t  op;
    uint8_t  has_ctr;
    uint64_t ctr[GS_MAX_EVENTS];
    double   energy_j;            /* attribute */
    double   wall_s;              /* attribute: its share of the wall time (calls active at once share it) */
    int32_t  layer;               /* layers: index into report layers, -1 none */
    uint32_t prim;                /* oneDNN: index + 1 into proc->dnnl, 0 for BLAS */
    uint64_t bytes;               /* communication: the message size (trace.h), else 0 */
};

/* Communication calls (GS_REC_COMM: MPI, NCCL, gloo) are calls too: their
 * op is ANA_OP_COMM(fn), m the communicator's size, lda its key, ldb the
 * collective's sequence number, ldc the peer (as int32), flags the library
 * (ANA_COMM_LIB) and the record's GS_COMM_F_* (ANA_COMM_FLAGS), bytes the
 * message size.  They take their share of energy like BLAS calls. */
#define ANA_OP_COMM_BASE 0x40u
#define ANA_OP_COMM(fn) ((uint8_t)(ANA_OP_COMM_BASE | ((fn) & 0x3fu)))
#define ANA_OP_IS_COMM(op) (((op) & 0xc0u) == ANA_OP_COMM_BASE)
#define ANA_COMM_FN(op) ((unsigned)(op) & 0x3fu)
#define ANA_COMM_LIB(flags) (((unsigned)(flags) >> 12) & 15u)
#define ANA_COMM_FLAGS(flags) (((unsigned)(flags) >> 8) & 15u)
const char *ana_comm_fn_name(unsigned fn);      /* "allreduce" */
const char *ana_comm_lib_name(unsigned lib);    /* "mpi", "nccl", "gloo" */

/* oneDNN primitives (dnnl.c).  A DNNL call's op is ANA_OP_DNNL(kind), its
 * m, n, k the implicit GEMM (m = output channels/features, n = batch x
 * output pixels, k = input channels x kernel), so FLOPs and shapes work
 * as for BLAS; its flags hold the propagation (ANA_DNNL_PROP); the details
 * live in its primitive (ana_dnnl_of). */
#define ANA_OP_DNNL_BASE 0x80u
#define ANA_OP_DNNL(kind) ((uint8_t)(ANA_OP_DNNL_BASE | (kind)))
#define ANA_OP_IS_DNNL(op) (((op) & ANA_OP_DNNL_BASE) != 0)
#define ANA_DNNL_PROP(flags) ((unsigned)(flags) >> 12)   /* a DNNL call's enum gs_dnnl_prop */
struct ana_dnnl {
    uint32_t id;
    uint8_t kind, prop, ndims[3];
    uint32_t src[GS_DNNL_MAXDIMS], wei[GS_DNNL_MAXDIMS], dst[GS_DNNL_MAXDIMS];
};

struct ana_domain {
    char name[64], kind[16], unit[16], source[32], provenance[16];
    char component[16], scope[16], key[64];   /* run unit: scope machine|process, machine-wide key */
    int  sum;
    uint64_t max_range;
    double watts_per_core;
    char watts_source[32];
    /* samples (bounded by the run's duration, not by calls) */
    size_t n, cap;
    uint64_t *t;                  /* raw clock, ns after timeline */
    uint64_t *v;                  /* raw value */
    uint32_t *h;                  /* half the read's bracket (t_read - t) / 2, raw clock, saturated */
};

struct ana_string { uint32_t id; char *text; };
/* where a report row first appeared in (process, thread, position) order:
 * rows are sorted by it at the end, so the row order does not depend on
 * the order in which the sweep meets the calls */
struct ana_first { uint32_t a0, a1, a2; uint64_t b; };
static inline int ana_first_cmp(const struct ana_first *x, const struct ana_first *y)
{
    if (x->a0 != y->a0) return x->a0 < y->a0 ? -1 : 1;
    if (x->a1 != y->a1) return x->a1 < y->a1 ? -1 : 1;
    if (x->a2 != y->a2) return x->a2 < y->a2 ? -1 : 1;
    return x->b < y->b ? -1 : x->b > y->b;
}
static inline void ana_first_min(struct ana_first *row, const struct ana_first *at)
{
    int less;                           /* ana_first_cmp(at, row) < 0 */
    if (at->a0 != row->a0) less = at->a0 < row->a0;
    else if (at->a1 != row->a1) less = at->a1 < row->a1;
    else if (at->a2 != row->a2) less = at->a2 < row->a2;
    else less = at->b < row->b;
    if (less)
        *row = *at;
}

/* map.c: u64 -> u32 and name -> index hash maps (O(1) row lookups) */
struct ana_map { uint64_t *key; uint32_t *val; uint8_t *used; size_t cap, n; };
uint32_t ana_map_get(const struct ana_map *m, uint64_t key, uint32_t dflt);
void ana_map_put(struct ana_map *m, uint64_t key, uint32_t val);
void ana_map_free(struct ana_map *m);
struct ana_names {
    uint64_t *hash; uint32_t *idx; size_t cap, n;
    const char *(*name_of)(void *ctx, uint32_t index); void *ctx;
};
int  ana_names_find(const struct ana_names *nm, const char *name);
void ana_names_add(struct ana_names *nm, const char *name, uint32_t index);
void ana_names_free(struct ana_names *nm);
uint64_t ana_hash_bytes(const void *p, size_t n);
/* a chunk of one thread; len: bytes of records to read (up to damage) */
struct ana_chunk { uint64_t off; uint32_t tid, seq, stream; uint32_t len; };
struct ana_thread {
    uint32_t tid; uint32_t stream;
    uint64_t ncalls, nrev;        /* intercepted calls, region events */
    size_t ch0, nch;              /* its chunks: proc->chunks[ch0 ...] (nch of them), in seq order */
};

struct ana_proc {
    char file[4096];
    struct gs_file_header hdr;
    char *text;                   /* header key: value text (owned) */
    char host[256], cmdline[1024], rank[64], events_live[512], events_kind[32], policy[512];
    char energy_sources[64], run_id[128], run_role[16];
    /* the launcher's identity (header job.*; docs/distributed.md): rank -1 none */
    char job_id[160], job_launcher[16], job_node[128];
    long job_rank, job_local_rank, job_world_size, job_node_id;
    double idle_watts_hdr;        /* < 0: not given */
    double age_s;                 /* how long the process had run when its recorder started; < 0: unknown */
    unsigned sampler_hz;
    int clean_exit;
    uint64_t lost;                /* records lost (sum of LOST records) */
    uint64_t lost_calls;          /* calls lost (v2 LOST records) */
    unsigned lost_reason;         /* first nonzero reason (GS LOST reason codes) */
    size_t damage_off;            /* 0: none; else the offset of the damage */
    char *events[GS_MAX_EVENTS];
    int nevents;
    int task_clock_idx;           /* index of task-clock in events, -1 */

    /* the mapped file (streamed again by the sweep) */
    const uint8_t *map; size_t map_size;
    size_t released;              /* the sweep: [0, released) passed by every thread and released */
    /* the distinct BLAS call shapes (op, layout and transposes, m, n, k), in
     * the order of their first call (threads in order): layer detection
     * learns what each GEMM pair shows from them instead of a pass */
    struct ana_shape { uint32_t op, pat, m, n, k; uint64_t calls; } *shp; size_t nshp, capshp;
    uint32_t *shp_hash; size_t shp_cap;      /* open addressing: index + 1 */
    uint32_t shp_last;                       /* the last call's shape index + 1 */
    struct ana_map rorigin;       /* region id -> 1 + who named it (enum gs_region_origin), from its pushes */
    struct ana_chunk *chunks; size_t nchunks;
    size_t ncalls, nrev;          /* counted by the reader */
    int any_call_region;          /* some call names a region */
    uint64_t raw_t0_min, raw_t1_max, raw_rev_max; /* raw clock extremes of calls and regions */
    struct ana_string *strs; size_t nstrs, capstrs;
    uint32_t *shash; size_t shcap;               /* id -> index + 1 into strs */
    struct ana_thread *threads; size_t nthreads;
    uint32_t index;               /* in run->procs */
    struct ana_domain dom[ANA_MAX_DOMAINS]; int ndom;
    /* clock points (raw, mono ns) */
    uint64_t *ck_raw, *ck_ns; size_t nck, capck;
    uint64_t sampler_cpu_ns;
    struct ana_dnnl *dnnl; size_t ndnnl, capdnnl;   /* oneDNN primitives (dnnl.c), one per description */

    /* timeline */
    double clk_a, clk_b;          /* ns = a + b * raw */
    uint64_t t_start, t_end;      /* ns */

    /* attribute */
    const char *provenance;       /* "measured" | "modelled" | "none" */
    const char *source;
    int measured_own;             /* this process's own domains are measured */
    size_t active_threads;        /* program threads with at least one call */
    struct ana_gpu *gpu;          /* GPU records (kernels.c), NULL: none */
};

/* errors: damage in a file; records before it are kept */
struct ana_run {
    struct ana_proc **procs; size_t nprocs;
    char **warnings; size_t nwarn, capwarn;   /* go into the report */
    char **errors; size_t nerr, caperr;       /* main prints them on stderr */
    int damaged;                  /* exit 2 after printing */
    /* optional: called for every record read, in (tid, seq) order (dump) */
    void (*visit)(void *ctx, const struct ana_proc *p, uint32_t tid, size_t off, const uint8_t *rec);
    void *visit_ctx;
    /* consumers of the event stream besides the stages (exporters) */
    struct ana_sink { void (*event)(void *ctx, const struct ana_event *ev); void *ctx; } sinks[8];
    int nsinks;
    struct ana_filter *filter;        /* report_more.c: calls kept (NULL: all) */
};

void ana_warn(struct ana_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ana_error(struct ana_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* trace_read.c: 0 ok (possibly damaged: run->damaged), -1 unreadable.
 * The file stays mapped until ana_run_free; the reader indexes its chunks
 * per thread and keeps what is small (strings, samples, clock points). */
int  ana_read_file(struct ana_run *run, const char *path);
/* which samples of a domain are curve points, once its times are ns (the timeline) */
void ana_samples_settle(struct ana_domain *d, double ns_per_raw);
/* decode the next call of a thread from the position (ci, off) (for passes
 * ahead of the sweep: counters are not attached, has_ctr = 0; the pages of
 * chunks left behind are released); 1 found, 0 none left.  Start with
 * *ci = 0, *off = 0. */
int  ana_next_call(const struct ana_proc *p, const struct ana_thread *th, size_t *ci, size_t *off,
                   struct ana_call *c);
void ana_release(const struct ana_proc *p, size_t off, size_t len);   /* pages no pass needs now */
#define ANA_RELEASE_WINDOW (1u << 20)   /* passes release pages behind them a window at a time */
void ana_release_chunk(const struct ana_proc *p, size_t i);           /* chunk i's whole extent */
void ana_release_behind(const struct ana_proc *p, size_t from, size_t to);
int  ana_next_call_shape(const struct ana_proc *p, const struct ana_thread *th, size_t *ci, size_t *off,
                         struct ana_call *c);
int  ana_next_call_run(const struct ana_proc *p, const struct ana_thread *th, size_t *ci, size_t *off,
                       struct ana_call *c, size_t *n);   /* and how many calls repeat its shape */   /* op, flags, m, n, k, region, prim only */
void ana_decode_call(const struct ana_proc *p, const uint8_t *rec, const uint8_t *next, const uint8_t *end,
                     struct ana_call *c);
/* checked allocation: exits with a message when memory is out */
void *ana_xrealloc(void *p, size_t n, size_t size);
#define ana_xmalloc(n, size) ana_xrealloc(NULL, (n), (size))
int  ana_read_path(struct ana_run *run, const char *path);
const char *ana_string(const struct ana_proc *p, uint32_t id);
const char *ana_hdr_get(const struct ana_proc *p, const char *key, char *buf, size_t len);
void ana_run_free(struct ana_run *run);
/* traces of more than one run (header run.id; processes with one job.id
 * are one run): -1 with a message on stderr unless merge (then a warning in
 * the report); 0 one run */
int  ana_check_runs(struct ana_run *run, int merge, const char *verb);
size_t ana_count_runs(struct ana_run *run, const char **first, const char **other);

/* timeline.c */
void ana_timeline(struct ana_proc *p);
static inline uint64_t ana_ns(const struct ana_proc *p, uint64_t raw)
{
    double v = p->clk_a + p->clk_b * (double)raw;
    if (v > 0 && v < 9.2e18)            /* (one signed conversion: the same value) */
        return (uint64_t)(int64_t)v;
    return !(v > 0) ? 0 : v >= 1.8e19 ? (uint64_t)1.8e19 : (uint64_t)v;
}

/* dnnl.c: oneDNN records (type 21).  ana_dnnl_prim keeps a PRIM record
 * (reader's scan); ana_rec_is_call says whether a record is a call (CALL,
 * or a DNNL EXEC); ana_dnnl_decode turns an EXEC into a call (raw times). */
void ana_dnnl_prim(struct ana_proc *p, const uint8_t *rec);
static inline int ana_rec_is_call(const uint8_t *rec)
{
    return rec[0] == GS_REC_CALL || (rec[0] == GS_REC_DNNL && rec[2] == GS_DNNL_EXEC) || rec[0] == GS_REC_COMM;
}
void ana_dnnl_decode(const struct ana_proc *p, const uint8_t *rec, struct ana_call *c);
const struct ana_dnnl *ana_dnnl_of(const struct ana_proc *p, const struct ana_call *c);
const char *ana_dnnl_kind_name(unsigned kind);
const char *ana_call_api(const struct ana_call *c);    /* "cblas", "fortran", "dnnl" */

/* model.c: names and FLOPs */
const char *ana_op_name(uint8_t op, char *buf);   /* "sgemm" */
double ana_flops(const struct ana_call *c);
unsigned ana_call_dims(const struct ana_proc *p, const struct ana_call *c);   /* 1 m, 2 n, 4 k: those that apply */
const char *ana_counter_unit(const char *ev);      /* "ns", "cycles", ... */
/* control characters as \xNN (text output); out: 4 * max + 1 bytes */
char *ana_text_escape(const char *in, char *out, size_t max);

/* attribute.c: the run's energy curve and the sweep that streams every
 * thread of every process in time order, sharing energy among the calls
 * active in each interval and emitting the event stream */
double ana_domain_scale(const struct ana_domain *d);              /* J per raw unit */
int  ana_energy_setup(struct ana_report *r);
void ana_sweep(struct ana_report *r);
double ana_idle_watts(struct ana_report *r, const char **how);
void ana_domain_totals(struct ana_report *r);
const char *ana_lost_reason(unsigned code);     /* LOST reason code in words */

/* report.c: every number the renderers print */
struct ana_op_row {
    char op[48]; const char *api;
    uint64_t calls, errors;       /* errors: non-success returns (CUDA, cuBLAS) */ double flops, time_s, energy_j;
    double wall_s;                /* the calls' shares of the wall time (ana_call.wall_s) */
    uint64_t ctr_calls; double ctr[GS_MAX_EVENTS];
    struct ana_first first; uint32_t idx0;
    double bytes;                 /* communication ops: bytes moved (message sizes summed) */
};
struct ana_shape_row {
    char op[48]; const char *api; int transa, transb;
    uint32_t m, n, k;
    uint64_t calls; double flops, time_s, energy_j, wall_s;
    unsigned dims;                /* the dimensions that apply to its routine: 1 m, 2 n, 4 k (ana_call_dims) */
    struct ana_first first; uint32_t oi;   /* op row while the sweep runs */
};
struct ana_region_row {
    char *name; uint64_t calls; double time_s, blas_time_s, energy_j;
    struct ana_first first;
};
struct ana_layer_row {
    char name[256]; uint64_t calls; double time_s, energy_j, flops;
    double wall_s;                /* the calls' shares of the wall time, plus the gaps of its regions */
    double gpu_time_s, gpu_energy_j;  /* kernels launched inside the layer (kernels.c) */
    /* detection keys */
    uint32_t dims[3]; int op; int inst;
    struct ana_first first; uint32_t idx0;
    long iterations;              /* this layer's own (its model's) iterations, 0: none */
    const char *source;           /* where its name came from: region, nvtx, annotate, detected */
};
struct ana_report {
    struct ana_run *run;
    double duration_s, wall_sum_s;
    struct ana_op_row *ops; size_t nops;
    struct ana_shape_row *shapes; size_t nshapes;
    struct ana_region_row *regions; size_t nregions;
    struct ana_layer_row *layers; size_t nlayers;
    int layers_from_regions;
    long iterations;              /* -1: none detected */
    double outside_s, outside_j, unattributed_s;
    double total_j, calls_j, idle_w, net_j;
    double gap_s, gap_j;          /* inside regions, between calls (not filtered out) */
    double dropped_wall_s;        /* wall-time shares of the calls a filter left out */
    double gap_layers_s, gap_layers_j;        /* the gaps given to layer rows (regions name layers) */
    double unlayered_wall_s, unlayered_j;     /* calls kept that no layer holds */
    double layers_out_s, layers_out_j;        /* the layers table's outside row */
    /* each table's reconciliation: rows + outside against the run's wall time and energy */
    struct ana_recon {
        double rows_s, out_s, rows_j, out_j;
        int time_ok, energy_ok;
    } rec_energy, rec_ops, rec_shapes, rec_layers;
    const char *provenance, *source, *idle_source;
    int reconciled;               /* every table's, time and energy */
    double watts_per_core; char watts_source[32];
    int blas_threads;             /* the most BLAS threads a calling process had (header blas.threads), 0 unknown */
    int blas_threads_unknown;     /* some calling process did not say */
    char blas_threads_how[48];
    struct { char name[64]; char source[32]; char provenance[16]; double energy_j;
             double span_s; /* time its samples cover (per-process domains: summed) */ } dom[ANA_MAX_DOMAINS];
    int ndom;
    char events[512], events_kind[32], policy[512];
    uint64_t ctr_calls, total_calls;
    double ctr_tot[GS_MAX_EVENTS]; char *ctr_names[GS_MAX_EVENTS]; int nctr;
    double sampler_hz, sampler_cpu_s;
    /* the window: from the first recorder start of the run (its first
     * intercepted call) to the last record; the part of the processes' lives
     * before it is not recorded: how long (< 0: unknown, older traces) */
    double before_window_s;
    struct ana_gpu_report *gpu;   /* kernels.c */
    /* stage results by name (ana_report_ext) */
    struct { char name[32]; const char *key; void *data; void (*free_fn)(void *); } ext[16];
    int next;
    /* the stages' event() with their self, gathered once the stages began */
    struct { void (*event)(struct ana_report *, void *, const struct ana_event *); void *self; } evh[8];
    int nevh;
    /* run as one unit */
    char run_id[128]; int nruns;
    uint64_t lost_calls, lost_records; unsigned lost_reason;
    size_t threads_program, threads_sampler;
    double gap_calls_s;           /* time with at least one call active */
    /* row lookups (report.c) */
    struct ana_names region_names, layer_names;
    struct ana_map region_ids;    /* proc << 32 | region id -> region row */
    uint32_t *shape_hash; size_t shape_cap;
    uint32_t shape_last;          /* the row of the call before + 1 (most calls repeat it) */
    int32_t op_idx[256][2];       /* op byte, api -> op row + 1 while the sweep runs */
    int *op_remap, *layer_remap;  /* row index in the event stream -> row index after the sort */
    size_t nop_remap, nlayer_remap;   /* their lengths: the rows at the sort; rows added after it
                                       * (the GPU stage's) have no stream index, so nops and
                                       * nlayers may exceed them: loops over a remap use these */
    int detected_thread_proc; uint32_t detected_thread;   /* layers: the busiest thread */
    /* report_more.c: what the people-facing renderers need beyond the tables */
    struct ana_more *more;
};
/* rows by key, created on first use (report.c) */
int ana_region_row(struct ana_report *r, const struct ana_proc *p, uint32_t id, const struct ana_first *at);
int ana_layer_add(struct ana_report *r, const char *name, const struct ana_first *at);
int ana_layer_find(const struct ana_report *r, const char *name);
int  ana_report_build(struct ana_run *run, struct ana_report *r);
void ana_report_free(struct ana_report *r);

/* kernels.c: the GPU path (docs/gpu.md) */
struct ana_kernel_row {
    char *name; uint64_t calls, joined, cublas, latency_n;
    double time_s, energy_j, energy_err_j, latency_sum_s;
};
struct ana_gpu_row {
    int index; char name[96], uuid[96]; const char *energy_source;
    double energy_j, window_s, kernels_energy_j, idle_s, idle_energy_j, idle_power_w;
    double idle_gap_s, idle_gap_energy_j, fit_residual;
    double kernels_outside_j;     /* estimated: kernels' time outside the NVML window x fitted power */
    double power_limit_w, power_min_w, power_max_w, power_default_w;
    double *series_t, *series_e, *series_u, *series_ue; size_t series_n;
};
struct ana_gpu_report {
    struct ana_kernel_row *kernels; size_t nkernels;
    struct ana_gpu_row *gpus; size_t ngpus;
    uint64_t dropped; double total_kernel_s;
};
size_t ana_gpu_read(struct ana_proc *p, uint32_t thread, const uint8_t *rec, size_t avail_slots);
int  ana_gpu_dump(const struct ana_proc *p, const uint8_t *rec);
void ana_gpu_free(struct ana_proc *p);
void ana_gpu_report(struct ana_report *r);        /* after ana_layers */
void ana_gpu_report_free(struct ana_report *r);
void ana_gpu_json(const struct ana_report *r, FILE *out);
void ana_gpu_text(const struct ana_report *r, FILE *out);
/* ranks.c: the job's ranks, communication and waiting (docs/distributed.md) */
void ana_job_json(const struct ana_report *r, FILE *out);
void ana_job_text(const struct ana_report *r, FILE *out);
const char *ana_gpu_api_name(unsigned fn);
void ana_gpu_cublas_name(unsigned routine, unsigned flags, char *buf, size_t len);

/* layers.c: plan before the sweep (the busiest thread's first calls),
 * assign each call as it streams by, finish after the sweep */
int  ana_layers_plan(struct ana_report *r);
/* plan: the plan's state, ana_report_ext(r, "layers") (the sweep looks it
 * up once); NULL: no plan, -1 */
int  ana_layers_assign_in(struct ana_report *r, void *plan, const struct ana_proc *p, uint32_t thread,
                          const struct ana_call *c, const struct ana_first *at);
void ana_layers_finish(struct ana_report *r);
/* the layer row that holds the energy between calls inside region id */
int  ana_layers_gap_row(struct ana_report *r, const struct ana_proc *p, uint32_t id, const struct ana_first *at);
/* the row a region's own work (calls, kernels, energy between calls) goes
 * to: a leaf region's row (its calls hold at most one detected layer),
 * else the region's own row, named by its path */
int  ana_layers_region_row(struct ana_report *r, const struct ana_proc *p, uint32_t id, const struct ana_first *at);
const char *ana_layers_region_name(struct ana_report *r, const struct ana_proc *p, uint32_t id, char *out,
                                   size_t len, const char **source);
/* a leaf region's row, -1 for a container (for REGION events) */
int  ana_layers_leaf_row(struct ana_report *r, const struct ana_proc *p, uint32_t id, const struct ana_first *at);

/* ---- the event stream --------------------------------------------------
 * While the report is built, every stage's and exporter's event() sees the
 * run one event at a time (nothing is kept for them): per process a PROC
 * event, its SAMPLEs, then its calls (at their end, energy known), region
 * pushes and pops, and raw records of kinds this analyzer does not decode,
 * in time order per thread.  Pointers are valid during the call only. */
enum ana_ev_kind {
    ANA_EV_PROC = 1,              /* a process starts: t0/t1 its span */
    ANA_EV_CALL,                  /* an intercepted call: call (ns times, energy_j, layer) */
    ANA_EV_REGION,                /* region push (push = 1) or pop: region id, name */
    ANA_EV_SAMPLE,                /* sampler value: domain (index into proc->dom), value */
    ANA_EV_RECORD,                /* a record of type >= 16: rec, nslots (48-byte slots) */
};
struct ana_event {
    int kind;
    const struct ana_proc *proc;
    uint32_t thread;              /* index into proc->threads */
    uint64_t t0, t1;              /* ns (monotonic clock); t1 = t0 for instants */
    const struct ana_call *call;  /* ANA_EV_CALL; pos: its index on its thread; flops: ana_flops(call) */
    uint64_t pos; double flops;
    uint32_t region; int push; const char *name;        /* ANA_EV_REGION */
    int layer;                    /* ANA_EV_REGION push: the leaf region's layer row (stream order), -1 none */
    int domain; uint8_t sample_kind; uint64_t value;    /* ANA_EV_SAMPLE */
    const uint8_t *rec; unsigned nslots;                /* ANA_EV_RECORD */
};

/* Stages run from one table (tables.c), in order: begin() of every stage,
 * then the event stream (event() of every stage, then of every attached
 * sink), then end() of every stage.  A stage keeps its results in the report
 * with ana_report_ext_set(); a stage never prints. 0 ok, -1 failed. */
struct ana_stage {
    const char *name;
    int  (*begin)(struct ana_report *r);
    /* self: what begin() kept under the stage's own name (ana_report_ext
     * (r, name), looked up once, not per event), NULL if nothing */
    void (*event)(struct ana_report *r, void *self, const struct ana_event *ev);
    int  (*end)(struct ana_report *r);
};
extern const struct ana_stage *const ana_stages[];      /* NULL-terminated */

/* results of a stage, by name, owned by the report */
void  ana_report_ext_set(struct ana_report *r, const char *name, void *data, void (*free_fn)(void *));
void *ana_report_ext(const struct ana_report *r, const char *name);

/* Renderers print a finished report; looked up by name. */
struct ana_renderer {
    const char *name;
    void (*render)(const struct ana_report *r, FILE *out);
};
extern const struct ana_renderer ana_render_text, ana_render_json, ana_render_csv;
extern const struct ana_renderer *const ana_renderers[];   /* NULL-terminated */
const struct ana_renderer *ana_renderer_find(const char *name);

/* Exporters see the event stream (e.g. a timeline export): begin() before
 * the report is built, event() per event, end() with the finished report.
 * Attach with ana_sink_add() before ana_report_build(). */
struct ana_exporter {
    const char *name;
    void *(*begin)(struct ana_run *run, FILE *out);
    void  (*event)(void *ctx, const struct ana_event *ev);
    int   (*end)(void *ctx, const struct ana_report *r);   /* 0 ok */
};
extern const struct ana_exporter *const ana_exporters[];   /* NULL-terminated */
const struct ana_exporter *ana_exporter_find(const char *name);
/* any consumer of the event stream (an exporter's event() and its ctx) */
int  ana_sink_add(struct ana_run *run, void (*event)(void *ctx, const struct ana_event *ev), void *ctx);
void ana_emit(struct ana_report *r, const struct ana_event *ev);

/* report_more.c (reports): filters, headline, steady state, per-thread view,
 * power series with layer bands, roofline points, carbon.  Every number the
 * text, HTML, CSV and JSON renderers print beyond the tables is computed here. */
struct ana_filter {
    uint32_t pid[32]; int npid;
    uint32_t tid[64]; int ntid;
    const char *region;           /* a region path prefix, NULL: any */
    double from_s, to_s;          /* seconds after the run's start; to_s < 0: open */
    double run_start_ns;          /* set by ana_filter_procs */
    char desc[256];
    uint64_t dropped_calls; double dropped_j;   /* what the filter left out */
};
struct ana_thread_row { uint32_t pid, tid; uint64_t calls; double time_s, energy_j, flops, span_s; };
struct ana_more {
    /* headline */
    int top_layer, top_op;        /* index or -1 */
    double top_layer_share_j, top_op_share_j;   /* of total energy */
    double outside_share_s, outside_share_j;    /* of the run's wall (no call of any process) / of total energy */
    /* steady state: the detected loop, apart from start-up and tail */
    long steady_iters;            /* <= 0: none */
    double steady_t0_s, steady_t1_s, steady_j;  /* seconds after the run's start */
    /* per-thread view */
    struct ana_thread_row *threads; size_t nthreads;
    /* power over time: bins over the run, the layer with most call time in each */
    size_t nbins; double bin_s; double *bin_w; int *bin_layer;
    double *freq_mhz; int has_freq;             /* mean frequency of the bin (all freq domains) */
    /* roofline: estimated bytes moved per layer (each operand read or written once) */
    double *layer_bytes;
    double peak_gflops, peak_gbs; const char *peak_src;
    /* carbon: grams CO2e per kWh, < 0 none */
    double carbon_g_kwh; char carbon_src[96];
    /* filter */
    uint64_t filtered_calls; double filtered_j;
    char filter_desc[256];
    int per_thread;
    struct ana_dvfs *dvfs;        /* views.c: a DVFS recommendation read with --dvfs, or NULL */
};
struct ana_more_opts {
    double carbon_g_kwh; const char *carbon_src;   /* < 0: none given */
    double peak_gflops, peak_gbs;                  /* <= 0: from the run */
    size_t nbins;
    int per_thread;                                /* text: the per-thread table */
};
int  ana_filter_parse(struct ana_filter *f, int argc, char **argv, int *i, const char *verb); /* 1 consumed, 0 not, -1 bad */
void ana_filter_procs(struct ana_run *run);      /* drop processes by --pid; set the run start */
int  ana_filter_call(struct ana_report *r, const struct ana_proc *p, const struct ana_call *c);  /* 1 kept */
int  ana_filter_region(struct ana_report *r, const struct ana_proc *p, uint32_t id);  /* 1 kept */
int  ana_more_halves(const struct ana_report *r, int is_layer, size_t row, double out[2][3]);  /* [half][s, J, calls] */
void ana_report_more(struct ana_report *r, const struct ana_more_opts *o);
void ana_report_more_free(struct ana_report *r);
double ana_co2_g(const struct ana_report *r, double joules);  /* < 0: no intensity given */
int  ana_carbon_opt(struct ana_more_opts *o, int argc, char **argv, int *i, const char *verb);
double ana_proc_energy_at(const struct ana_proc *p, double t_ns);  /* cumulative J, after attribute */

/* fmt.c: JSON strings and numbers, escaped and formatted the same everywhere */
void ana_json_str(FILE *o, const char *s);
void ana_json_num(FILE *o, double v);
/* fmt.c: numbers for people (significant digits, units, display width) */
const char *ana_sig(double v, int sig, char *b, size_t len);        /* 3 sig: 0.00372 -> "0.00372" */
const char *ana_si(double v, const char *unit, char *b, size_t len);  /* 0.00372 J -> "3.72 mJ" */
const char *ana_dur(double s, char *b, size_t len);                 /* "84.2 us" */
const char *ana_pct(double frac, char *b, size_t len);              /* 0.385 -> "38.5%", 0.00037 -> "0.037%" */
size_t ana_width(const char *s);                                     /* display columns of UTF-8 */
void ana_pad(FILE *o, const char *s, int width, int right);          /* pad to display width */

extern const struct ana_renderer ana_render_html;

/* views.c: options and loading shared by report, html, export and diff */
struct ana_view {
    const char *out;
    const char *paths[256]; int np;
    struct ana_filter filter; int filtering;
    struct ana_more_opts mo;
    const char *dvfs_file;
    const char *perfetto;         /* export --perfetto FILE: written while the report is built */
    int merge_runs;               /* --merge-runs: report processes of different runs together */
};
void ana_view_init(struct ana_view *v);
/* one option at argv[*i]: 1 taken (path or option), 0 not this verb's, -1 bad (message printed) */
int  ana_view_opt(struct ana_view *v, int argc, char **argv, int *i, const char *verb);
/* read every path, build the report and the people-facing stage: 0 ok, 1
 * ok but damaged or a path unreadable (exit 2 after output), -1 nothing read */
int  ana_view_load(struct ana_view *v, struct ana_run *run, struct ana_report *r, const char *verb);
void ana_view_free(struct ana_run *run, struct ana_report *r);
extern const char ana_view_help[];   /* the shared options, for --help texts */
void ana_progress(const char *what, size_t done, size_t total);   /* stderr, only on a terminal, after 1 s */
void ana_progress_attach(struct ana_run *run);   /* a sink that shows the calls analysed so far */
int  cmd_html(int argc, char **argv);
int  cmd_export(int argc, char **argv);
int  cmd_diff(int argc, char **argv);
int  cmd_summarize(int argc, char **argv);      /* summary.c */
int  cmd_merge(int argc, char **argv);
/* report_more.c: the caveat of modelled energy with BLAS threads (NULL: none) */
const char *ana_spin_note(const struct ana_report *r, char *b, size_t n);

/* DVFS recommendation (issue 8's JSON), read with --dvfs FILE */
struct ana_dvfs_rec {
    char knob[32], layer[128], provenance[16];
    int device;                   /* -1: none (CPU) */
    double baseline, recommended, time_s, energy_j, saving_pct, slowdown_pct, uncertainty_pct;
    int npts; double pt_set[64], pt_time[64], pt_energy[64];   /* optional curve */
    int curve_from_fit;           /* the curve was computed from the recommendation's fit */
};
struct ana_dvfs {
    char file[512], objective[32];
    double max_slowdown_pct;
    int nrec; struct ana_dvfs_rec rec[32];
};
int  ana_dvfs_read(const char *path, struct ana_dvfs *d, char *err, size_t errlen);   /* 0 ok */

/* export_csv.c, export_perfetto.c */
int  ana_export_csv(const struct ana_report *r, const char *dir);      /* 0 ok, else errno */
extern const struct ana_exporter ana_export_perfetto;
/* the exporter's context learns the report being built (layer names), when the caller knows it */
void ana_perfetto_set_report(void *ctx, const struct ana_report *r);
#endif
