/* shim/intercept/gpu.h - what the GPU modules (cuda.c, cublas.c, cupti.c, nvtx.c,
 * sources/nvml.c) share; nothing outside them includes it. */
#ifndef GS_GPU_H
#define GS_GPU_H

#include <stdint.h>
#include "../gs.h"

/* cuda.c */
GS_HIDDEN uint32_t gs_gpu_string(int kind, const char *text);   /* GS_STR_KERNEL / GS_STR_GPU id */
GS_HIDDEN void gs_gpu_first_call(void);       /* the process's first CUDA call: start NVML */
/* cuda.c: one API record on this thread (region, corr = gs_gpu_corr, dt from t1) */
struct gs_thread;
struct gs_rec_api;
GS_HIDDEN void gs_gpu_api_record(struct gs_thread *t, struct gs_rec_api *a, uint64_t t1);
extern int gs_gpu_started;
/* CUPTI correlation id of the outermost CUDA API call the current wrapper
 * made (set by cupti.c's callback, read by the wrapper) */
extern __thread uint32_t gs_gpu_corr __attribute__((tls_model("initial-exec")));

/* resolve.c */
GS_HIDDEN void *gs_resolve(void **slot, const char *name);
GS_HIDDEN void *gs_resolve_quiet(void **slot, const char *name);   /* no message when absent */

/* cupti.c: external correlation around a cuBLAS call (no-ops without CUPTI) */
GS_HIDDEN uint32_t gs_cupti_ext_push(void);   /* the pushed id, 0: none */
GS_HIDDEN void gs_cupti_ext_pop(uint32_t id);

/* sources/nvml.c */
GS_HIDDEN void gs_nvml_start(void);           /* idempotent; from any thread */
GS_HIDDEN void gs_nvml_stop(void);
GS_HIDDEN void gs_nvml_fork_child(void);

#endif
