/* dnnl.c - oneDNN records (type 21): primitives and their executions.
 *
 * A PRIM record describes a primitive (one per distinct description and
 * process); the reader keeps them (bounded by the model's distinct layer
 * shapes, not by calls).  An EXEC record is one dnnl_primitive_execute and
 * is decoded as a call whose op is ANA_OP_DNNL(kind) and whose m, n, k are
 * its primitive's implicit GEMM:
 *   convolution / deconvolution: m = output channels (all groups),
 *     n = batch x output pixels, k = input channels per group x kernel
 *     (2mnk = the direct convolution's multiply-adds x 2, for the forward
 *     and each backward pass alike);
 *   inner product: m = output features, n = batch, k = input features x
 *     spatial;  matmul: m = batch x rows, n = columns, k = inner;
 *   anything else (pooling, normalisation, eltwise, reorder): m = channels,
 *     n = batch, k = spatial size, and no FLOPs (model.c). */
#include <stdlib.h>
#include <string.h>
#include "ana.h"

static const char *kind_names[GS_DNNL_K_COUNT] = {
    "dnnl", "conv", "deconv", "ip", "matmul", "pool", "bnorm", "lnorm", "eltwise", "softmax",
    "reorder", "binary", "sum", "concat", "lrn", "rnn", "reduction", "resampling", "prelu", "shuffle",
};

const char *ana_dnnl_kind_name(unsigned kind)
{
    return kind < GS_DNNL_K_COUNT ? kind_names[kind] : "dnnl";
}

static const struct ana_dnnl *find(const struct ana_proc *p, uint32_t id)
{
    /* ids are handed out in order from 1: usually at index id - 1 */
    if (id && id <= p->ndnnl && p->dnnl[id - 1].id == id)
        return &p->dnnl[id - 1];
    for (size_t i = 0; i < p->ndnnl; i++)
        if (p->dnnl[i].id == id)
            return &p->dnnl[i];
    return NULL;
}

void ana_dnnl_prim(struct ana_proc *p, const uint8_t *rec)
{
    struct gs_rec_dnnl_prim d;
    if (rec[2] != GS_DNNL_PRIM || rec[1] < 2)
        return;
    memcpy(&d, rec, sizeof d);
    struct ana_dnnl *x = (struct ana_dnnl *)find(p, d.prim);
    if (!x) {
        if (p->ndnnl == p->capdnnl) {
            p->capdnnl = p->capdnnl ? p->capdnnl * 2 : 64;
            p->dnnl = ana_xrealloc(p->dnnl, p->capdnnl, sizeof *p->dnnl);
        }
        x = &p->dnnl[p->ndnnl++];
    }
    memset(x, 0, sizeof *x);
    x->id = d.prim;
    x->kind = d.kind < GS_DNNL_K_COUNT ? d.kind : GS_DNNL_K_OTHER;
    x->prop = d.prop;
    for (int j = 0; j < 3; j++)
        x->ndims[j] = d.ndims[j] <= GS_DNNL_MAXDIMS ? d.ndims[j] : GS_DNNL_MAXDIMS;
    memcpy(x->src, d.src, sizeof x->src);
    memcpy(x->wei, d.wei, sizeof x->wei);
    memcpy(x->dst, d.dst, sizeof x->dst);
}

static uint64_t prod(const uint32_t *d, int from, int to)
{
    uint64_t v = 1;
    for (int i = from; i < to; i++)
        v *= d[i] ? d[i] : 1;
    return v;
}

static uint32_t clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void implicit_gemm(const struct ana_dnnl *x, uint32_t *m, uint32_t *n, uint32_t *k)
{
    int ns = x->ndims[0], nw = x->ndims[1], nd = x->ndims[2];
    *m = *n = *k = 0;
    switch (x->kind) {
    case GS_DNNL_K_CONV:
    case GS_DNNL_K_DECONV:
        if (ns >= 3 && nd >= 3 && nw >= ns) {
            int g = nw > ns;            /* grouped: {G, O, I, kernel} */
            uint64_t groups = g ? x->wei[0] : 1;
            *m = clamp32(groups * x->wei[g]);
            *n = clamp32(prod(x->dst, 0, 1) * prod(x->dst, 2, nd));
            *k = clamp32(prod(x->wei, g + 1, nw));
        }
        return;
    case GS_DNNL_K_IP:
        if (ns >= 2 && nw >= 2) {
            *m = x->wei[0];
            *n = x->src[0];
            *k = clamp32(prod(x->wei, 1, nw));
        }
        return;
    case GS_DNNL_K_MATMUL:
        if (ns >= 2 && nw >= 2 && nd >= 2) {
            *m = clamp32(prod(x->dst, 0, nd - 1));
            *n = x->dst[nd - 1];
            *k = x->src[ns - 1];
        }
        return;
    default: {
        const uint32_t *d = ns ? x->src : x->dst;
        int nn = ns ? ns : nd;
        if (nn >= 2) {
            *m = d[1];
            *n = d[0];
            *k = clamp32(prod(d, 2, nn));
        } else if (nn == 1) {
            *m = d[0];
        }
        return;
    }
    }
}

void ana_dnnl_decode(const struct ana_proc *p, const uint8_t *rec, struct ana_call *c)
{
    struct gs_rec_dnnl_exec e;
    memcpy(&e, rec, sizeof e);
    memset(c, 0, sizeof *c);
    c->t0 = e.t0;
    c->t1 = e.t1 < e.t0 ? e.t0 : e.t1;
    c->region = e.region;
    c->layer = -1;
    c->op = ANA_OP_DNNL(GS_DNNL_K_OTHER);
    const struct ana_dnnl *x = find(p, e.prim);
    if (!x)                             /* its PRIM record was lost */
        return;
    c->prim = (uint32_t)(x - p->dnnl) + 1;
    c->op = ANA_OP_DNNL(x->kind);
    c->flags = (uint16_t)(x->prop << 12);
    implicit_gemm(x, &c->m, &c->n, &c->k);
}

const struct ana_dnnl *ana_dnnl_of(const struct ana_proc *p, const struct ana_call *c)
{
    return c->prim && c->prim <= p->ndnnl ? &p->dnnl[c->prim - 1] : NULL;
}
