/* model.c - what the recorder leaves out on purpose: routine names and
 * floating-point operation counts (LAPACK working-note conventions; a
 * complex multiply-add is 4 real ones of each kind, so x4). */
#include <stdio.h>
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
    snprintf(buf, 16, "%c%s", "sdcz"[GS_OP_DTYPE(op)], r < GS_R_COUNT ? routine_names[r] : "unknown");
    return buf;
}

double ana_flops(const struct ana_call *c)
{
    double m = c->m, n = c->n, k = c->k, f;
    int right = (c->flags & GS_F_SIDE_R) != 0;
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
