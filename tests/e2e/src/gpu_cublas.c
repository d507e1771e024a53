/* gpu_cublas.c - cuBLAS and cuBLASLt GEMMs through the real libraries.
 * Without a GPU every call fails (the handle never initialises): each line
 * printed is "routine status m n k batch", for a test to compare with the
 * recorder's CUBLAS records. */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <stdio.h>

int main(void)
{
    cublasHandle_t h = NULL;
    cublasStatus_t cs = cublasCreate(&h);
    if (cs != CUBLAS_STATUS_SUCCESS)
        h = NULL;
    float fa = 1, fb = 0;
    double da = 1, db = 0;
    float *A = NULL, *B = NULL, *C = NULL;
    printf("cublasSgemm_v2 %d 64 32 16 1\n",
           (int)cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, 64, 32, 16, &fa, A, 64, B, 32, &fb, C, 64));
    printf("cublasDgemm_v2_64 %d 100 200 300 1\n",
           (int)cublasDgemm_64(h, CUBLAS_OP_T, CUBLAS_OP_N, 100, 200, 300, &da, (double *)A, 300,
                               (double *)B, 300, &db, (double *)C, 100));
    printf("cublasGemmEx %d 128 256 512 1\n",
           (int)cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 128, 256, 512, &fa, A, CUDA_R_16F, 128, B,
                             CUDA_R_16F, 512, &fb, C, CUDA_R_32F, 128, CUBLAS_COMPUTE_32F,
                             CUBLAS_GEMM_DEFAULT));
    printf("cublasSgemmStridedBatched %d 8 8 8 12\n",
           (int)cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 8, 8, &fa, A, 8, 64, B, 8, 64, &fb,
                                          C, 8, 64, 12));
    printf("cublasGemmStridedBatchedEx %d 16 16 32 4\n",
           (int)cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_T, 16, 16, 32, &fa, A, CUDA_R_32F, 32, 512,
                                           B, CUDA_R_32F, 16, 512, &fb, C, CUDA_R_32F, 16, 256, 4,
                                           CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    const void *const arr[2] = { 0, 0 };
    void *const carr[2] = { 0, 0 };
    printf("cublasGemmBatchedEx %d 4 4 4 2\n",
           (int)cublasGemmBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &fa, arr, CUDA_R_32F, 4, arr,
                                    CUDA_R_32F, 4, &fb, carr, CUDA_R_32F, 4, 2, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT));

    /* cuBLASLt: descriptors are host objects, they work without a GPU */
    cublasLtHandle_t lt = NULL;
    if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS)
        lt = NULL;
    cublasLtMatmulDesc_t desc = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    cublasOperation_t t = CUBLAS_OP_T;
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t);
    /* op(A) is 96 x 48 stored transposed (48 x 96), B 48 x 80, C 96 x 80 */
    cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, 48, 96, 48);
    cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, 48, 80, 48);
    cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, 96, 80, 96);
    printf("cublasLtMatmul %d 96 80 48 1\n",
           (int)cublasLtMatmul(lt, desc, &fa, A, la, B, lb, &fb, C, lc, C, lc, NULL, NULL, 0, 0));
    return 0;
}
