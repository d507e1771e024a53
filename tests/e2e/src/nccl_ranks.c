/* nccl_ranks.c - one rank of a data-parallel step on NCCL, compiled
 * against the real nccl.h (CUDA's), for tests/e2e/test_nccl.sh: rank and
 * size from RANK / WORLD_SIZE (as torchrun sets them), a communicator from
 * a unique id, then STEPS x (one sgemm on the host, ncclAllReduce of 1024
 * floats), one ncclBroadcast of 256 doubles and a send/recv pair in a
 * group.  Linked against libnccl.so.2: the fake one where there is no GPU. */
#include <cblas.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 10;
    int rank = getenv("RANK") ? atoi(getenv("RANK")) : 0, size = getenv("WORLD_SIZE") ? atoi(getenv("WORLD_SIZE")) : 1;
    ncclUniqueId id;
    ncclComm_t comm;
    if (ncclGetUniqueId(&id) != ncclSuccess || ncclCommInitRank(&comm, size, id, rank) != ncclSuccess) {
        fprintf(stderr, "nccl_ranks: no communicator\n");
        return 1;
    }
    static float a[64 * 64], b[64 * 64], c[64 * 64], g[1024];
    static double w[256];
    for (int s = 0; s < steps; s++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 64, 64, 64, 1, a, 64, b, 64, 0, c, 64);
        if (ncclAllReduce(g, g, 1024, ncclFloat32, ncclSum, comm, NULL) != ncclSuccess)
            return 1;
    }
    ncclBroadcast(w, w, 256, ncclFloat64, 0, comm, NULL);
    ncclGroupStart();
    ncclSend(g, 16, ncclFloat32, (rank + 1) % size, comm, NULL);
    ncclRecv(g, 16, ncclFloat32, (rank + size - 1) % size, comm, NULL);
    ncclGroupEnd();
    ncclCommDestroy(comm);
    printf("rank %d of %d: %d steps\n", rank, size, steps);
    return 0;
}
