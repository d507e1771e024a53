/* gpu_nvtx_domains.c - NVTX3 ranges of a library domain ("NCCL") and the
 * payload extension around CPU BLAS work, three steps of:
 *   step (default domain)
 *     NCCL domain range "AllReduce" around sgemm 32   -> a mark, no region
 *     "train" domain payload push/pop around sgemm 48 -> region step/train
 *     "train" domain range "fwd" (PushEx) closed by a payload pop, sgemm 64
 *                                                     -> region step/fwd
 *     sgemm 16 after it                               -> in step only */
#include <cblas.h>
#include <nvtx3/nvToolsExt.h>
#include <nvtx3/nvToolsExtPayload.h>
#include <stdio.h>

static float a[64 * 64], b[64 * 64], c[64 * 64];

static void mm(int n)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
}

static nvtxEventAttributes_t named(const char *s)
{
    nvtxEventAttributes_t ea = { 0 };
    ea.version = NVTX_VERSION;
    ea.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    ea.messageType = NVTX_MESSAGE_TYPE_ASCII;
    ea.message.ascii = s;
    return ea;
}

int main(void)
{
    nvtxDomainHandle_t nccl = nvtxDomainCreateA("NCCL");
    nvtxDomainHandle_t train = nvtxDomainCreateA("train");
    uint64_t step_no = 0;
    nvtxPayloadData_t pd = { NVTX_PAYLOAD_ENTRY_TYPE_UINT64, sizeof step_no, &step_no };
    for (int it = 0; it < 3; it++) {
        step_no = (uint64_t)it;
        nvtxRangePushA("step");
        nvtxEventAttributes_t ar = named("AllReduce");
        nvtxDomainRangePushEx(nccl, &ar);
        mm(32);
        nvtxDomainRangePop(nccl);
        nvtxRangePushPayload(train, &pd, 1);
        mm(48);
        nvtxRangePopPayload(train, &pd, 1);
        nvtxEventAttributes_t fwd = named("fwd");
        nvtxDomainRangePushEx(train, &fwd);
        mm(64);
        nvtxRangePopPayload(train, &pd, 1);
        mm(16);
        nvtxRangePop();
    }
    printf("%g\n", (double)c[5]);
    return 0;
}
