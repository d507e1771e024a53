// gpu_launch_cu.cu - <<<>>> launches built with nvcc -cudart shared: in
// CUDA 13 they go through __cudaGetKernel and __cudaLaunchKernel.  Prints
// one line per launch with the error it left ("launch G B name"), so a test
// compares the recorder's records with what the program saw.
#include <cstdio>
#include <cuda_runtime.h>

__global__ void scale(float *x, float a, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] *= a;
}

int main()
{
    const int grids[] = { 1, 4, 16, 64 }, blocks[] = { 32, 64, 128, 256 };
    for (int i = 0; i < 4; i++) {
        scale<<<grids[i], blocks[i]>>>(nullptr, 2.0f, 1024);
        cudaError_t e = cudaGetLastError();
        std::printf("launch %d %d %s\n", grids[i], blocks[i], cudaGetErrorName(e));
    }
    return 0;
}
