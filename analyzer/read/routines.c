/* routines.c - what the recorder leaves out on purpose: routine names (BLAS,
 * LAPACK, communication calls and their library) and floating-point
 * operation counts (LAPACK working-note conventions; a complex multiply-add
 * is 4 real ones of each kind, so x4). */
#include <stdio.h>
#include <string.h>
#include "ana.h"

static const char *routine_names[GS_R_COUNT] = {
    "gemm", "symm", "hemm", "syrk", "herk", "syr2k", "her2k", "trmm", "trsm", "gemv"
};

const char *ana_op_name(uint8_t op, char *buf)
{
    unsigned r = GS_OP_ROUTINE(op);
    if (ANA_OP_IS_DNNL(op)) {
        snprintf(buf, 16, "%s", ana_dnnl_kind_name(op & ~ANA_OP_DNNL_BASE));
        return buf;
    }
    if (ANA_OP_IS_COMM(op)) {
        snprintf(buf, 16, "%s", ana_comm_fn_name(ANA_COMM_FN(op)));
        return buf;
    }
    snprintf(buf, 16, "%c%s", "sdcz"[GS_OP_DTYPE(op)], r < GS_R_COUNT ? routine_names[r] : "unknown");
    return buf;
}

double ana_flops(const struct ana_call *c)
{
    double m = c->m, n = c->n, k = c->k, f;
    int right = (c->flags & GS_F_SIDE_R) != 0;
    if (ANA_OP_IS_COMM(c->op))
        return 0;                       /* communication: bytes, no FLOPs */
    if (ANA_OP_IS_DNNL(c->op)) {        /* m, n, k: the implicit GEMM (dnnl.c) */
        unsigned kd = c->op & ~ANA_OP_DNNL_BASE;
        return kd == GS_DNNL_K_CONV || kd == GS_DNNL_K_DECONV || kd == GS_DNNL_K_IP ||
               kd == GS_DNNL_K_MATMUL ? 2 * m * n * k : 0;
    }
    switch (GS_OP_ROUTINE(c->op)) {
    case GS_R_GEMM:  f = 2 * m * n * k; break;
    case GS_R_SYMM:
    case GS_R_HEMM:  f = right ? 2 * m * n * n : 2 * m * m * n; break;
    case GS_R_SYRK:
    case GS_R_HERK:  f = k * n * (n + 1); break;
    case GS_R_SYR2K:
    case GS_R_HER2K: f = 2 * k * n * n + n; break;
    case GS_R_TRMM:
    case GS_R_TRSM:  f = right ? m * n * n : m * m * n; break;
    case GS_R_GEMV:  f = 2 * m * n; break;
    default:         f = 0;
    }
    return GS_OP_DTYPE(c->op) >= GS_DT_C ? 4 * f : f;
}

/* which of m, n, k a routine has (the others are recorded as 0): gemm all
 * three; symm, hemm, trmm, trsm, gemv m and n; the rank-k updates n and k;
 * oneDNN: the implicit GEMM of conv, deconv, inner product and matmul, else
 * as many as the tensor has dimensions (dnnl.c) */
unsigned ana_call_dims(const struct ana_proc *p, const struct ana_call *c)
{
    if (ANA_OP_IS_DNNL(c->op)) {
        unsigned kd = c->op & ~ANA_OP_DNNL_BASE;
        if (kd == GS_DNNL_K_CONV || kd == GS_DNNL_K_DECONV || kd == GS_DNNL_K_IP || kd == GS_DNNL_K_MATMUL)
            return 7;
        const struct ana_dnnl *x = p ? ana_dnnl_of(p, c) : NULL;
        int nn = x ? (x->ndims[0] ? x->ndims[0] : x->ndims[2]) : 0;
        return nn >= 3 ? 7 : nn == 2 ? 3 : nn == 1 ? 1 : 0;
    }
    switch (GS_OP_ROUTINE(c->op)) {
    case GS_R_GEMM:  return 7;
    case GS_R_SYRK: case GS_R_HERK: case GS_R_SYR2K: case GS_R_HER2K: return 6;
    case GS_R_SYMM: case GS_R_HEMM: case GS_R_TRMM: case GS_R_TRSM: case GS_R_GEMV: return 3;
    default:         return 7;
    }
}

/* the unit of a counter's total ("ns" for the clocks, else what it counts) */
const char *ana_counter_unit(const char *ev)
{
    static const struct { const char *key, *unit; } u[] = {
        { "TASK-CLOCK", "ns" }, { "CPU-CLOCK", "ns" }, { "CYCLES", "cycles" }, { "INSTRUCTIONS", "instructions" },
        { "CACHE-MISSES", "misses" }, { "CACHE-REFERENCES", "references" }, { "CONTEXT-SWITCHES", "switches" },
        { "PAGE-FAULTS", "faults" }, { "BRANCH-MISSES", "misses" }, { "MIGRATIONS", "migrations" },
    };
    char up[128];
    size_t i = 0;
    for (; ev[i] && i < sizeof up - 1; i++)
        up[i] = (char)(ev[i] >= 'a' && ev[i] <= 'z' ? ev[i] - 32 : ev[i]);
    up[i] = 0;
    for (size_t k = 0; k < sizeof u / sizeof *u; k++)
        if (strstr(up, u[k].key))
            return u[k].unit;
    return "events";
}

/* a name for a terminal: control characters (and DEL, and bytes that are
 * not valid UTF-8 lead/continuation) as \xNN, at most max bytes of input
 * shown; out holds 4 * max + 1 bytes */
char *ana_text_escape(const char *in, char *out, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; in && in[i] && i < max; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c == 0x7f)
            o += (size_t)sprintf(out + o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = 0;
    return out;
}

/* ---- communication calls (MPI, NCCL, gloo): the routine and the library ---- */

static const char *const fn_names[GS_CF_COUNT] = {
    [GS_CF_NONE] = "comm?",
    [GS_CF_ALLREDUCE] = "allreduce", [GS_CF_REDUCE] = "reduce", [GS_CF_BCAST] = "bcast",
    [GS_CF_ALLGATHER] = "allgather", [GS_CF_ALLGATHERV] = "allgatherv",
    [GS_CF_REDUCE_SCATTER] = "reduce_scatter", [GS_CF_REDUCE_SCATTER_BLOCK] = "reduce_scatter_block",
    [GS_CF_ALLTOALL] = "alltoall", [GS_CF_ALLTOALLV] = "alltoallv", [GS_CF_BARRIER] = "barrier",
    [GS_CF_GATHER] = "gather", [GS_CF_SCATTER] = "scatter",
    [GS_CF_SEND] = "send", [GS_CF_RECV] = "recv", [GS_CF_ISEND] = "isend", [GS_CF_IRECV] = "irecv",
    [GS_CF_SENDRECV] = "sendrecv", [GS_CF_WAIT] = "wait", [GS_CF_WAITALL] = "waitall",
    [GS_CF_WAITANY] = "waitany", [GS_CF_WAITSOME] = "waitsome",
};

const char *ana_comm_fn_name(unsigned fn)
{
    return fn < GS_CF_COUNT && fn_names[fn] ? fn_names[fn] : "comm?";
}

const char *ana_comm_lib_name(unsigned lib)
{
    return lib == GS_COMM_MPI ? "mpi" : lib == GS_COMM_NCCL ? "nccl" : lib == GS_COMM_GLOO ? "gloo" : "comm";
}

/* the API a call went through: mpi/nccl/gloo, dnnl, fortran or cblas */
const char *ana_call_api(const struct ana_call *c)
{
    if (ANA_OP_IS_COMM(c->op))
        return ana_comm_lib_name(ANA_COMM_LIB(c->flags));
    return ANA_OP_IS_DNNL(c->op) ? "dnnl" : c->flags & GS_F_FORTRAN ? "fortran" : "cblas";
}
