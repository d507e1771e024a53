/* gpu_launch_c.c - CUDA runtime calls from C against the real libcudart:
 * kernel launches in several forms and grids, memcpy/memset, graph launch
 * and synchronisation.  Prints one line per call, "name ret", ret being the
 * cudaError_t the runtime returned (without a driver: an error), so a test
 * can compare the recorder's API records with what the program saw. */
#include <cuda_runtime_api.h>
#include <stdio.h>

/* the per-thread-default-stream entry points, called by name */
extern cudaError_t cudaLaunchKernel_ptsz(const void *, dim3, dim3, void **, size_t, cudaStream_t);
extern cudaError_t cudaMemcpyAsync_ptsz(void *, const void *, size_t, enum cudaMemcpyKind, cudaStream_t);

static void not_a_kernel(void) {}

int main(void)
{
    static char a[4096], b[4096];
    void *args[1] = { a };
    const void *fn = (const void *)not_a_kernel;
    for (int i = 0; i < 3; i++) {
        dim3 g = { 1u << i, 2, 1 }, blk = { 32u << i, 1, 1 };
        printf("cudaLaunchKernel %d\n", (int)cudaLaunchKernel(fn, g, blk, args, 128 * i, 0));
    }
    dim3 g = { 7, 1, 1 }, blk = { 64, 1, 1 };
    printf("cudaLaunchKernel_ptsz %d\n", (int)cudaLaunchKernel_ptsz(fn, g, blk, args, 0, 0));
    cudaLaunchConfig_t cfg = { 0 };
    cfg.gridDim = (dim3){ 3, 3, 1 };
    cfg.blockDim = (dim3){ 128, 1, 1 };
    printf("cudaLaunchKernelExC %d\n", (int)cudaLaunchKernelExC(&cfg, fn, args));
    printf("cudaLaunchCooperativeKernel %d\n", (int)cudaLaunchCooperativeKernel(fn, g, blk, args, 0, 0));
    printf("cudaMemcpy %d\n", (int)cudaMemcpy(b, a, sizeof a, cudaMemcpyHostToHost));
    printf("cudaMemcpyAsync_ptsz %d\n", (int)cudaMemcpyAsync_ptsz(b, a, 1000, cudaMemcpyHostToDevice, 0));
    printf("cudaMemset %d\n", (int)cudaMemset(b, 0, 512));
    printf("cudaGraphLaunch %d\n", (int)cudaGraphLaunch(0, 0));
    printf("cudaStreamSynchronize %d\n", (int)cudaStreamSynchronize(0));
    printf("cudaDeviceSynchronize %d\n", (int)cudaDeviceSynchronize());
    return 0;
}
