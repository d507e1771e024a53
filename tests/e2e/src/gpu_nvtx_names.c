/* gpu_nvtx_names.c - header-only NVTX3 ranges around fixed-shape CPU work:
 * "encoder" (push/pop) around sgemm 128x128x128, "decoder" around sgemm
 * 64x64x64 with "attn" nested in it around sgemm 32x32x32, and a start/end
 * range "tail" around sgemm 48x48x48; each of 4 steps.  The shapes are no
 * network layers: each range is a layer row of its own, by its path. */
#include <cblas.h>
#include <nvtx3/nvToolsExt.h>
#include <stdio.h>

static float a[128 * 128], b[128 * 128], c[128 * 128];

static void sq(int n, int times)
{
    for (int i = 0; i < times; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
}

int main(void)
{
    for (int it = 0; it < 4; it++) {
        nvtxRangePushA("encoder");
        sq(128, 30);
        nvtxRangePop();
        nvtxRangePushA("decoder");
        sq(64, 20);
        nvtxRangePushA("attn");
        sq(32, 10);
        nvtxRangePop();
        nvtxRangePop();
        nvtxRangeId_t r = nvtxRangeStartA("tail");
        sq(48, 5);
        nvtxRangeEnd(r);
    }
    printf("%g\n", (double)c[1]);
    return 0;
}
