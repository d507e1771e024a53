/* mpi_train.c - a data-parallel trainer in C with MPI and BLAS, for the
 * distributed tests (tests/e2e/test_mpi.sh): every rank runs the same
 * two-layer network on its own batch (6 sgemm per step), then averages the
 * gradients with two MPI_Allreduce, passes a token round a ring (Isend,
 * Irecv, Waitall) and, at the end, reduces the loss and meets at a barrier.
 * One rank, the straggler, sleeps DELAY ms per step before its allreduce
 * (a slower GPU, a busier node): the others wait for it there.
 *
 *   mpi_train STEPS STRAGGLER_RANK DELAY_MS
 * Per rank: 6*STEPS sgemm; 2*STEPS Allreduce; STEPS Isend, Irecv, Waitall;
 * 2 Bcast, 1 Reduce, 1 Barrier. */
#include <cblas.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define B 32
#define D 64

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 20, straggler = argc > 2 ? atoi(argv[2]) : 1;
    double delay_ms = argc > 3 ? atof(argv[3]) : 20;
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    static float x[B * D], w1[D * D], w2[D * D], h[B * D], y[B * D], g1[D * D], g2[D * D], dh[B * D];
    srand(7 + rank);
    for (int i = 0; i < B * D; i++)
        x[i] = (float)rand() / RAND_MAX - 0.5f;
    if (rank == 0)
        for (int i = 0; i < D * D; i++) {
            w1[i] = (float)rand() / RAND_MAX * 0.1f;
            w2[i] = (float)rand() / RAND_MAX * 0.1f;
        }
    MPI_Bcast(w1, D * D, MPI_FLOAT, 0, MPI_COMM_WORLD);
    MPI_Bcast(w2, D * D, MPI_FLOAT, 0, MPI_COMM_WORLD);
    float token[16] = { 0 }, in[16];
    double loss = 0;
    for (int s = 0; s < steps; s++) {
        /* forward */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, D, D, 1, x, D, w1, D, 0, h, D);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, D, D, 1, h, D, w2, D, 0, y, D);
        /* backward (dy = y) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, D, B, 1, h, D, y, D, 0, g2, D);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, D, D, 1, y, D, w2, D, 0, dh, D);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, D, B, 1, x, D, dh, D, 0, g1, D);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, D, D, 1, dh, D, w1, D, 0, h, D);
        if (rank == straggler && delay_ms > 0) {
            struct timespec ts = { (time_t)(delay_ms / 1000), (long)((delay_ms - (long)(delay_ms / 1000) * 1000) * 1e6) };
            nanosleep(&ts, NULL);
        }
        MPI_Allreduce(MPI_IN_PLACE, g1, D * D, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, g2, D * D, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        for (int i = 0; i < D * D; i++) {
            w1[i] -= 1e-4f * g1[i] / size;
            w2[i] -= 1e-4f * g2[i] / size;
        }
        MPI_Request rq[2];
        MPI_Irecv(in, 16, MPI_FLOAT, (rank + size - 1) % size, 5, MPI_COMM_WORLD, &rq[0]);
        MPI_Isend(token, 16, MPI_FLOAT, (rank + 1) % size, 5, MPI_COMM_WORLD, &rq[1]);
        MPI_Waitall(2, rq, MPI_STATUSES_IGNORE);
        token[0] = in[0] + 1;
        loss += y[0] * y[0];
    }
    double total = 0;
    MPI_Reduce(&loss, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        printf("steps %d ranks %d loss %g token %g\n", steps, size, total, (double)token[0]);
    MPI_Finalize();
    return 0;
}
