/* fake_nccl.c - a stand-in libnccl.so.2 for machines without a GPU (the
 * shim's NCCL interposers are tested through it: tests/e2e/test_nccl.sh).
 * It has NCCL 2's entry points with NCCL's types (own declarations: no
 * CUDA header needed) and does what a one-GPU-per-rank NCCL would do to
 * host-visible state: nothing to the buffers (they would be device
 * memory), success, and a communicator that knows its size and rank.
 * ncclGetUniqueId returns the same id in every process (the test's ranks
 * do not exchange it).  Nothing here measures anything. */
#include <stdlib.h>
#include <string.h>

typedef enum { ncclSuccess = 0, ncclInvalidArgument = 4 } ncclResult_t;
typedef struct { char internal[128]; } ncclUniqueId;
struct fake_comm { int nranks, rank; };
typedef struct fake_comm *ncclComm_t;
typedef void *cudaStream_t;

ncclResult_t ncclGetVersion(int *v) { *v = 22800; return ncclSuccess; }
ncclResult_t ncclGetUniqueId(ncclUniqueId *id)
{
    memset(id, 0, sizeof *id);
    memcpy(id->internal, "fake-nccl-unique-id", 19);
    return ncclSuccess;
}
ncclResult_t ncclCommInitRank(ncclComm_t *c, int nranks, ncclUniqueId id, int rank)
{
    (void)id;
    if (!c || nranks < 1 || rank < 0 || rank >= nranks)
        return ncclInvalidArgument;
    *c = calloc(1, sizeof **c);
    (*c)->nranks = nranks;
    (*c)->rank = rank;
    return ncclSuccess;
}
ncclResult_t ncclCommDestroy(ncclComm_t c) { free(c); return ncclSuccess; }
ncclResult_t ncclCommCount(const ncclComm_t c, int *n) { *n = c->nranks; return ncclSuccess; }
ncclResult_t ncclCommUserRank(const ncclComm_t c, int *r) { *r = c->rank; return ncclSuccess; }
ncclResult_t ncclGroupStart(void) { return ncclSuccess; }
ncclResult_t ncclGroupEnd(void) { return ncclSuccess; }
#define OK return c ? ncclSuccess : ncclInvalidArgument
ncclResult_t ncclAllReduce(const void *s, void *r, size_t n, int t, int op, ncclComm_t c, cudaStream_t st) { OK; }
ncclResult_t ncclBroadcast(const void *s, void *r, size_t n, int t, int root, ncclComm_t c, cudaStream_t st) { OK; }
ncclResult_t ncclReduce(const void *s, void *r, size_t n, int t, int op, int root, ncclComm_t c, cudaStream_t st) { OK; }
ncclResult_t ncclAllGather(const void *s, void *r, size_t n, int t, ncclComm_t c, cudaStream_t st) { OK; }
ncclResult_t ncclReduceScatter(const void *s, void *r, size_t n, int t, int op, ncclComm_t c, cudaStream_t st) { OK; }
ncclResult_t ncclSend(const void *s, size_t n, int t, int peer, ncclComm_t c, cudaStream_t st) { OK; }
ncclResult_t ncclRecv(void *r, size_t n, int t, int peer, ncclComm_t c, cudaStream_t st) { OK; }
