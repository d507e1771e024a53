/* ana.h - the analyzer's stages and the plain structs between them:
 * trace_read -> timeline -> attribute -> layers -> report -> renderers. */
#ifndef GS_ANA_H
#define GS_ANA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "greenshim/trace.h"

#define ANA_MAX_DOMAINS 64

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
    int32_t  layer;               /* layers: index into report layers, -1 none */
};

struct ana_region_ev { uint64_t t; uint32_t id, thread; uint8_t push; };

struct ana_domain {
    char name[64], kind[16], unit[16], source[32], provenance[16];
    int  sum;
    uint64_t max_range;
    double watts_per_core;
    char watts_source[32];
    /* samples */
    size_t n, cap;
    uint64_t *t;                  /* raw clock, ns after timeline */
    uint64_t *v;                  /* raw value (unwrapped after attribute) */
};

struct ana_string { uint32_t id; char *text; };
struct ana_thread { uint32_t tid; uint32_t stream; };

struct ana_proc {
    char file[4096];
    struct gs_file_header hdr;
    char *text;                   /* header key: value text (owned) */
    char host[256], cmdline[1024], rank[64], events_live[512], events_kind[32], policy[512];
    char energy_sources[64];
    double idle_watts_hdr;        /* < 0: not given */
    unsigned sampler_hz;
    int clean_exit;
    uint64_t lost;
    size_t damage_off;            /* 0: none; else the offset of the damage */
    char *events[GS_MAX_EVENTS];
    int nevents;
    int task_clock_idx;           /* index of task-clock in events, -1 */

    struct ana_call *calls; size_t ncalls, capcalls;
    struct ana_region_ev *rev; size_t nrev, caprev;
    struct ana_string *strs; size_t nstrs, capstrs;
    struct ana_thread *threads; size_t nthreads, capthreads;
    struct ana_domain dom[ANA_MAX_DOMAINS]; int ndom;
    /* clock points (raw, mono ns) */
    uint64_t *ck_raw, *ck_ns; size_t nck, capck;
    uint64_t sampler_cpu_ns;

    /* timeline */
    double clk_a, clk_b;          /* ns = a + b * raw */
    uint64_t t_start, t_end;      /* ns */

    /* attribute */
    const char *provenance;       /* "measured" | "modelled" | "none" */
    const char *source;
    double total_j, calls_j, outside_j, outside_s;
    double *reg_j, *reg_s; uint32_t nreg_j;
    double unattributed_s;            /* outside calls and regions */
    struct ana_gpu *gpu;          /* GPU records (kernels.c), NULL: none */   /* energy between calls inside region id (innermost) */
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
};

void ana_warn(struct ana_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ana_error(struct ana_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* trace_read.c: 0 ok (possibly damaged: run->damaged), -1 unreadable */
int  ana_read_file(struct ana_run *run, const char *path);
int  ana_read_path(struct ana_run *run, const char *path);
const char *ana_string(const struct ana_proc *p, uint32_t id);
const char *ana_hdr_get(const struct ana_proc *p, const char *key, char *buf, size_t len);
void ana_run_free(struct ana_run *run);

/* timeline.c */
void ana_timeline(struct ana_proc *p);
static inline uint64_t ana_ns(const struct ana_proc *p, uint64_t raw)
{
    double v = p->clk_a + p->clk_b * (double)raw;
    return !(v > 0) ? 0 : v >= 1.8e19 ? (uint64_t)1.8e19 : (uint64_t)v;
}

/* model.c: names and FLOPs */
const char *ana_op_name(uint8_t op, char *buf);   /* "sgemm" */
double ana_flops(const struct ana_call *c);

/* attribute.c */
double ana_domain_scale(const struct ana_domain *d);              /* J per raw unit */
void ana_attribute(struct ana_proc *p);
double ana_energy_at(const struct ana_proc *p, double t_ns); /* cumulative J */
double ana_idle_watts(const struct ana_proc *p, const char **how);

/* report.c: every number the renderers print */
struct ana_op_row {
    char op[48]; const char *api;
    uint64_t calls, errors;       /* errors: non-success returns (CUDA, cuBLAS) */ double flops, time_s, energy_j;
    uint64_t ctr_calls; double ctr[GS_MAX_EVENTS];
};
struct ana_shape_row {
    char op[48]; const char *api; int transa, transb;
    uint32_t m, n, k;
    uint64_t calls; double flops, time_s, energy_j;
};
struct ana_region_row {
    char *name; uint64_t calls; double time_s, blas_time_s, energy_j;
};
struct ana_layer_row {
    char name[256]; uint64_t calls; double time_s, energy_j, flops;
    double gpu_time_s, gpu_energy_j;  /* kernels launched inside the layer (kernels.c) */
    /* detection keys */
    uint32_t dims[3]; int op; int inst;
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
    const char *provenance, *source, *idle_source;
    int reconciled;
    double watts_per_core; char watts_source[32];
    struct { char name[64]; char source[32]; char provenance[16]; double energy_j; } dom[ANA_MAX_DOMAINS];
    int ndom;
    char events[512], events_kind[32], policy[512];
    uint64_t ctr_calls, total_calls;
    double ctr_tot[GS_MAX_EVENTS]; char *ctr_names[GS_MAX_EVENTS]; int nctr;
    double sampler_hz, sampler_cpu_s;
    struct ana_gpu_report *gpu;   /* kernels.c */
};
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
const char *ana_gpu_api_name(unsigned fn);
void ana_gpu_cublas_name(unsigned routine, unsigned flags, char *buf, size_t len);

/* layers.c */
void ana_layers(struct ana_report *r);

/* renderers */
struct ana_renderer {
    const char *name;
    void (*render)(const struct ana_report *r, FILE *out);
};
extern const struct ana_renderer ana_render_text, ana_render_json, ana_render_csv;

#endif
