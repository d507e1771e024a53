/* gpu_nvtx.c - NVTX3 (header-only) ranges around CPU BLAS work: push/pop
 * ASCII and wide, a domain range with a registered string, a start/end
 * range and a mark, three iterations.  Under the shim the ranges become
 * regions and name the layers:
 *   encoder/attn: 2 sgemm per iteration, decoder: 1, head: 1, tail: 1. */
#include <cblas.h>
#include <nvtx3/nvToolsExt.h>
#include <stdio.h>
#include <wchar.h>

static float a[64 * 64], b[64 * 64], c[64 * 64];

static void gemm(int n)
{
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
}

int main(void)
{
    nvtxDomainHandle_t dom = nvtxDomainCreateA("greenshim-test");
    nvtxStringHandle_t head = nvtxDomainRegisterStringA(dom, "head");
    for (int it = 0; it < 3; it++) {
        nvtxRangePushA("encoder");
        nvtxRangePushA("attn");
        gemm(16);
        gemm(17);
        nvtxRangePop();
        nvtxRangePop();
        nvtxRangePushW(L"decoder");
        gemm(24);
        nvtxRangePop();
        nvtxEventAttributes_t ea = { 0 };
        ea.version = NVTX_VERSION;
        ea.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
        ea.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
        ea.message.registered = head;
        nvtxDomainRangePushEx(dom, &ea);
        gemm(32);
        nvtxDomainRangePop(dom);
        nvtxRangeId_t r = nvtxRangeStartA("tail");
        gemm(8);
        nvtxRangeEnd(r);
        nvtxMarkA("step");
    }
    printf("%g\n", (double)c[0]);
    return 0;
}
