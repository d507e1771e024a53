/* gpu_nvtx.c - NVTX3 (header-only) ranges around CPU BLAS training work:
 * four fully connected layers (forward, weight-gradient and input-gradient
 * products, row-major), each inside a range of another NVTX form: push/pop
 * ASCII ("encoder/attn": two nested ranges), push/pop wide ("decoder"), a
 * domain range with a registered string ("head"), a start/end range
 * ("tail"); a mark per step.  Four steps, the last with a smaller batch.
 * Under the shim the ranges become regions and name the layers. */
#include <cblas.h>
#include <nvtx3/nvToolsExt.h>
#include <stdio.h>
#include <wchar.h>

static float x[64 * 256], w[256 * 256], y[64 * 256];

/* one layer IN->OUT at batch b: forward, then its two backward products */
static void layer(int b, int in, int out)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, out, in, 1, x, in, w, out, 0, y, out);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, b, 1, x, in, y, out, 0, w, out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, in, out, 1, y, out, w, out, 0, x, in);
}

int main(void)
{
    nvtxDomainHandle_t dom = nvtxDomainCreateA("greenshim-test");
    nvtxStringHandle_t head = nvtxDomainRegisterStringA(dom, "head");
    for (int it = 0; it < 4; it++) {
        int b = it < 3 ? 64 : 16;
        nvtxRangePushA("encoder");
        nvtxRangePushA("attn");
        layer(b, 64, 128);
        nvtxRangePop();
        nvtxRangePop();
        nvtxRangePushW(L"decoder");
        layer(b, 128, 96);
        nvtxRangePop();
        nvtxEventAttributes_t ea = { 0 };
        ea.version = NVTX_VERSION;
        ea.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
        ea.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
        ea.message.registered = head;
        nvtxDomainRangePushEx(dom, &ea);
        layer(b, 96, 32);
        nvtxDomainRangePop(dom);
        nvtxRangeId_t r = nvtxRangeStartA("tail");
        layer(b, 32, 16);
        nvtxRangeEnd(r);
        nvtxMarkA("step");
    }
    printf("%g\n", (double)y[0]);
    return 0;
}
