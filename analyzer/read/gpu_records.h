/* gpu_records.h - the GPU records of one process as the reader keeps them
 * (types 16-27: CUDA API calls, cuBLAS calls, kernels, copies, NVML
 * samples and device rows, external correlations, device maps): the
 * reader's result that the GPU stage (stages/kernels.c) consumes. */
#ifndef GS_ANA_GPU_RECORDS_H
#define GS_ANA_GPU_RECORDS_H
#include "ana.h"

struct g_api { uint64_t t0, t1; uint32_t corr, kernel, region, thread; int32_t ret; uint16_t fn; };
struct g_cublas {
    uint64_t t0, t1, m, n, k, batch;
    uint32_t ext, region; int32_t status; uint16_t routine, flags; uint8_t ta, tb;
    /* report scratch: its rows, the CPU time counted there, its kernels' GPU time */
    int oi, si; double cpu_s, gpu_s;
};
struct g_kernel { uint64_t start, end; uint32_t name, corr, stream; uint16_t device; };
struct g_memcpy { uint64_t start, end, bytes; uint32_t corr; uint16_t device; uint8_t kind; };
struct g_nvml { uint64_t t; uint64_t mj; uint32_t mw; uint16_t device; uint64_t t_before, t_after; };
struct g_info { uint16_t device; uint32_t name, uuid; uint8_t energy; uint32_t plim, pmin, pmax, pdef, smmax, memmax;
                uint8_t power_src; };
struct g_ext { uint64_t ext; uint32_t corr; };
struct g_dev { uint16_t ordinal; uint32_t nvml; };      /* GPU_DEV: CUDA ordinal -> NVML index */

struct ana_gpu {
    struct g_api *api; size_t napi, capapi;
    struct g_cublas *cb; size_t ncb, capcb;
    struct g_kernel *k; size_t nk, capk;
    struct g_memcpy *mc; size_t nmc, capmc;
    struct g_nvml *nv; size_t nnv, capnv;
    struct g_info *info; size_t ninfo, capinfo;
    struct g_ext *ext; size_t next, capext;
    struct g_dev *dev; size_t ndev, capdev;
    uint64_t dropped;
    int with_names;               /* kernel names known to ana_string */
};

/* the API's kind ("cuda", "cublas", ...) of a recorded CUDA/cuBLAS function */
const char *ana_gpu_api_kind(unsigned fn);

#endif
