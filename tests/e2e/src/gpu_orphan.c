/* gpu_orphan.c - kernels whose launch no wrapper saw (a static cudart,
 * cuDNN's or NCCL's own driver pointers, Triton's): only CUPTI's API
 * callback sees them, on the launching thread.  Plays that callback, as
 * CUPTI calls it (greenshim_cupti_callback: real CUpti_CallbackData with the
 * real parameter structs of CUPTI's generated_*_meta.h), for launches inside
 * the program's regions, then delivers the kernels that "ran" as real
 * CUpti_ActivityKernel10 records (greenshim_cupti_buffer).  Run under the
 * shim; exit 2 without it.
 *   region "encoder": 3 cuLaunchKernel (driver domain) of k_enc, corr 501..503
 *   region "decoder": 2 cudaLaunchKernel (runtime domain) of k_dec, each with
 *                     the driver call CUPTI reports inside it (one record each)
 *   no region:        1 cuLaunchKernelEx of k_free */
#define _GNU_SOURCE
#include <cupti.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "greenshim.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(void)
{
    int (*cb)(int, unsigned, int, uint32_t, const void *, int) =
        (int (*)(int, unsigned, int, uint32_t, const void *, int))dlsym(RTLD_DEFAULT, "greenshim_cupti_callback");
    long (*feed)(uint8_t *, size_t) = (long (*)(uint8_t *, size_t))dlsym(RTLD_DEFAULT, "greenshim_cupti_buffer");
    if (!cb || !feed) {
        fprintf(stderr, "gpu_orphan: run me under libgreenshim.so\n");
        return 2;
    }
    if (feed(NULL, 0) < 0) {
        fprintf(stderr, "gpu_orphan: the recorder has no CUPTI\n");
        return 2;
    }
    struct { const char *name; uint32_t corr; } ks[8];
    int nk = 0;
    GREENSHIM_REGION_PUSH("encoder");
    for (uint32_t i = 0; i < 3; i++) {
        cuLaunchKernel_params p = { .f = NULL, .gridDimX = 8, .gridDimY = 1, .gridDimZ = 1,
                                    .blockDimX = 128, .blockDimY = 1, .blockDimZ = 1 };
        cb(CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, 0, 501 + i, &p, 0);
        cb(CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, 1, 501 + i, &p, 0);
        ks[nk].name = "k_enc";
        ks[nk++].corr = 501 + i;
    }
    GREENSHIM_REGION_POP();
    GREENSHIM_REGION_PUSH("decoder");
    for (uint32_t i = 0; i < 2; i++) {
        cudaLaunchKernel_v7000_params rp = { .func = NULL, .gridDim = { 16, 2, 1 }, .blockDim = { 256, 1, 1 } };
        cuLaunchKernel_params dp = { .gridDimX = 16, .gridDimY = 2, .gridDimZ = 1, .blockDimX = 256,
                                     .blockDimY = 1, .blockDimZ = 1 };
        cb(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 0, 601 + 2 * i, &rp, 0);
        cb(CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, 0, 602 + 2 * i, &dp, 0);
        cb(CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, 1, 602 + 2 * i, &dp, 0);
        cb(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 1, 601 + 2 * i, &rp, 0);
        ks[nk].name = "k_dec";
        ks[nk++].corr = 601 + 2 * i;
    }
    GREENSHIM_REGION_POP();
    CUlaunchConfig cfg = { .gridDimX = 4, .gridDimY = 1, .gridDimZ = 1, .blockDimX = 64, .blockDimY = 1,
                           .blockDimZ = 1 };
    cuLaunchKernelEx_params xp = { .config = &cfg };
    cb(CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx, 0, 801, &xp, 0);
    cb(CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx, 1, 801, &xp, 0);
    ks[nk].name = "k_free";
    ks[nk++].corr = 801;

    double t0 = now_ns();               /* the kernels ran after their launches */
    size_t sz = sizeof(CUpti_ActivityKernel10);
    uint8_t *buf = aligned_alloc(8, sz * nk);
    memset(buf, 0, sz * nk);
    for (int i = 0; i < nk; i++) {
        CUpti_ActivityKernel10 *k = (void *)(buf + i * sz);
        k->kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
        k->start = (uint64_t)(t0 + 1e6 * (i + 1));
        k->end = k->start + 500000;
        k->streamId = 7;
        k->correlationId = ks[i].corr;
        k->gridX = 8; k->gridY = 1; k->gridZ = 1;
        k->blockX = 128; k->blockY = 1; k->blockZ = 1;
        k->name = ks[i].name;
    }
    long n = feed(buf, sz * nk);
    free(buf);
    if (n != nk) {
        fprintf(stderr, "gpu_orphan: the recorder took %ld of %d kernel records\n", n, nk);
        return 1;
    }
    return 0;
}
