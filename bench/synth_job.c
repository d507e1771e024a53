/* synth_job.c - synthetic traces of a data-parallel job, for the summarize
 * + merge figure (bench/job_merge.sh) and the node-clock test: NRANKS ranks
 * over NNODES nodes (OUT/node-N/, one trace per rank, as the recorder
 * writes them: header, one chunk, END), STEPS steps of 4 sgemm then one
 * MPI allreduce on the world.  Every 7th rank computes 3 ms longer (a
 * straggler); every rank leaves the allreduce 0.2 ms after the last one
 * arrives.  Each node has its own monotonic clock (boot time), and its
 * realtime reading at start is off by SKEW_US x node (a clock not yet
 * synchronised): the analyzer's alignment on collective exits must remove
 * it.  Expected waits: straggler 0; others 3 ms x STEPS.
 *
 *   synth_job OUT NRANKS NNODES STEPS [SKEW_US] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "greenshim/trace.h"

#define CHUNK0 262144u             /* the recorder's chunk; more steps: one larger chunk */

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: synth_job OUT NRANKS NNODES STEPS [SKEW_US]\n");
        return 2;
    }
    const char *out = argv[1];
    int nr = atoi(argv[2]), nn = atoi(argv[3]), steps = atoi(argv[4]);
    double skew_us = argc > 5 ? atof(argv[5]) : 0;
    if (nr < 1 || nn < 1 || nn > nr || steps < 1 || steps > 1000000) {
        fprintf(stderr, "synth_job: bad sizes (1 to 1000000 steps, 1 <= NNODES <= NRANKS)\n");
        return 2;
    }
    size_t need = ((size_t)steps * 5 + 4) * GS_REC_SIZE;
    uint32_t CHUNK = need <= CHUNK0 ? CHUNK0 : (uint32_t)((need + 65535) & ~(size_t)65535);
    mkdir(out, 0700);
    uint8_t *buf = malloc(GS_HEADER_SIZE + (size_t)CHUNK);
    if (!buf) {
        perror("synth_job");
        return 1;
    }
    const uint64_t real0 = 1765000000000000000ull;          /* the job's start, realtime ns */
    const uint64_t step_ns = 10000000, comp_ns = 5000000, slow_ns = 3000000, xfer_ns = 200000;
    int per = (nr + nn - 1) / nn;
    for (int r = 0; r < nr; r++) {
        int node = r / per;
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/node-%d", out, node);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            perror(dir);
            return 1;
        }
        snprintf(path, sizeof path, "%s/node-%d-%d-r%d.gstrace", dir, node, 1000 + r, r);
        memset(buf, 0, GS_HEADER_SIZE + (size_t)CHUNK);
        /* this node's monotonic clock: boot time differs per node */
        uint64_t mono0 = 50000000000ull + (uint64_t)node * 3700000000ull;
        struct gs_file_header h = { .version = GS_TRACE_VERSION, .header_size = GS_HEADER_SIZE, .chunk_size = CHUNK,
                                    .rec_size = GS_REC_SIZE, .clock = GS_CLOCK_MONO, .sources = GS_SRC_CBLAS,
                                    .tsc_hz = 0, .start_tsc = mono0, .start_mono_ns = mono0,
                                    .start_real_ns = real0 + (uint64_t)(skew_us * 1000 * node), .pid = (uint32_t)(1000 + r),
                                    .ppid = 1 };
        memcpy(h.magic, GS_TRACE_MAGIC, 8);
        int tl = snprintf((char *)buf + GS_HEADER_TEXT_OFF, GS_HEADER_SIZE - GS_HEADER_TEXT_OFF,
                          "host: node-%d\ncmdline: synth_job rank %d\nrank: %d\nrun.id: synth%08x\nrun.role: leader\n"
                          "clock: mono\nevents.live: none\njob.launcher: slurm\njob.id: slurm:999.0\njob.rank: %d\n"
                          "job.local_rank: %d\njob.world_size: %d\njob.node: node-%d\njob.node_id: %d\n",
                          node, r, r, (unsigned)r, r, r % per, nr, node, node);
        h.text_len = (uint32_t)tl;
        memcpy(buf, &h, sizeof h);
        uint8_t *c = buf + GS_HEADER_SIZE;
        struct gs_chunk_header ch = { .magic = GS_CHUNK_MAGIC, .tid = (uint32_t)(1000 + r), .seq = 0,
                                      .stream = GS_STREAM_THREAD, .first_tsc = mono0 };
        memcpy(c, &ch, sizeof ch);
        size_t off = GS_REC_SIZE;
        for (int s = 0; s < steps; s++) {
            uint64_t t = mono0 + 1000000 + (uint64_t)s * step_ns;
            uint64_t mine = comp_ns + (r % 7 == 0 ? slow_ns : 0), last = comp_ns + slow_ns;   /* rank 0 is slow */
            for (int g = 0; g < 4; g++) {
                struct gs_rec_call k = { .type = GS_REC_CALL, .op = GS_OP(GS_R_GEMM, GS_DT_S), .flags = GS_F_ROWMAJOR,
                                         .t0 = t + (uint64_t)g * mine / 4, .t1 = t + (uint64_t)(g + 1) * mine / 4 - 1000,
                                         .m = 64, .n = 64, .k = 64, .lda = 64, .ldb = 64, .ldc = 64 };
                memcpy(c + off, &k, sizeof k);
                off += GS_REC_SIZE;
            }
            struct gs_rec_comm m = { .type = GS_REC_COMM, .nslots = 1, .fn = GS_CF_ALLREDUCE,
                                     .libf = GS_COMM_LIBF(GS_COMM_MPI, 0), .comm_size = (uint32_t)nr,
                                     .t0 = t + mine, .t1 = t + last + xfer_ns, .peer = -1, .bytes = 64 * 64 * 4,
                                     .comm_key = 0, .seq = (uint32_t)s + 1 };
            memcpy(c + off, &m, sizeof m);
            off += GS_REC_SIZE;
        }
        uint64_t tend = mono0 + 2000000 + (uint64_t)steps * step_ns;
        struct gs_rec_clock e = { .type = GS_REC_END, .tsc = tend, .mono_ns = tend,
                                  .real_ns = tend - mono0 + h.start_real_ns };
        memcpy(c + off, &e, sizeof e);
        off += GS_REC_SIZE;
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, GS_HEADER_SIZE + CHUNK, f) != GS_HEADER_SIZE + CHUNK || fclose(f) != 0) {
            perror(path);
            return 1;
        }
    }
    free(buf);
    return 0;
}
