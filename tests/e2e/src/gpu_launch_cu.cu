// gpu_launch_cu.cu - <<<>>> launches built with nvcc -cudart shared: in
// CUDA 13 they go through __cudaGetKernel and __cudaLaunchKernel.  Prints
// one line per launch with the error it left ("launch G B name"), so a test
// compares the recorder's records with what the program saw.
//   gpu_launch_cu bench [N]   on a GPU: CPU time of one <<<>>> launch of an
//                             empty kernel, median of 7 rounds of N launches
//                             (synchronised every 256 so the queue never
//                             fills; only the launch loops are timed)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_runtime.h>

__global__ void empty_kernel() {}

static int bench(long n)
{
    empty_kernel<<<1, 32>>>();
    if (cudaDeviceSynchronize() != cudaSuccess) {
        std::printf("no GPU: %s\n", cudaGetErrorString(cudaGetLastError()));
        return 77;
    }
    double r[7];
    for (int k = 0; k < 7; k++) {
        double ns = 0;
        for (long done = 0; done < n; done += 256) {
            auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < 256; i++)
                empty_kernel<<<1, 32>>>();
            auto t1 = std::chrono::steady_clock::now();
            ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
            cudaDeviceSynchronize();
        }
        r[k] = ns / (double)((n + 255) / 256 * 256);
    }
    std::sort(r, r + 7);
    std::printf("ns_per_launch %.1f\n", r[3]);
    return 0;
}

__global__ void scale(float *x, float a, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] *= a;
}

int main(int argc, char **argv)
{
    if (argc > 1 && std::strcmp(argv[1], "bench") == 0)
        return bench(argc > 2 ? std::atol(argv[2]) : 20480);
    const int grids[] = { 1, 4, 16, 64 }, blocks[] = { 32, 64, 128, 256 };
    for (int i = 0; i < 4; i++) {
        scale<<<grids[i], blocks[i]>>>(nullptr, 2.0f, 1024);
        cudaError_t e = cudaGetLastError();
        std::printf("launch %d %d %s\n", grids[i], blocks[i], cudaGetErrorName(e));
    }
    return 0;
}
