/* dnnl.c - oneDNN records (type 21): primitives and their executions.
 *
 * A PRIM record describes a primitive once per process; an EXEC record is
 * one dnnl_primitive_execute and becomes an ana_call whose op is
 * ANA_OP_DNNL(kind).  Once the file is read, every such call gets its
 * primitive's implicit GEMM in m, n, k:
 *   convolution / deconvolution: m = output channels (all groups),
 *     n = batch x output pixels, k = input channels per group x kernel
 *     (2mnk = the direct convolution's multiply-adds x 2, for the forward
 *     and each backward pass alike);
 *   inner product: m = output features, n = batch, k = input features x
 *     spatial;  matmul: m = batch x rows, n = columns, k = inner;
 *   anything else (pooling, normalisation, eltwise, reorder): m = channels,
 *     n = batch, k = spatial size, and no FLOPs. */
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

static struct ana_dnnl *find(struct ana_proc *p, uint32_t id)
{
    /* ids are handed out in order from 1: usually at index id - 1 */
    if (id && id <= p->ndnnl && p->dnnl[id - 1].id == id)
        return &p->dnnl[id - 1];
    for (size_t i = 0; i < p->ndnnl; i++)
        if (p->dnnl[i].id == id)
            return &p->dnnl[i];
    return NULL;
}

size_t ana_dnnl_record(struct ana_proc *p, const uint8_t *rec, size_t avail, uint32_t thread)
{
    unsigned nslots = rec[1];
    if (nslots == 0 || nslots > avail)
        return 0;
    if (rec[2] == GS_DNNL_EXEC && nslots >= 1) {
        const struct gs_rec_dnnl_exec *e = (const void *)rec;
        if (p->ncalls == p->capcalls) {
            size_t cap = p->capcalls ? p->capcalls * 2 : 1024;
            struct ana_call *n = realloc(p->calls, cap * sizeof *n);
            if (!n)
                return 0;
            p->calls = n;
            p->capcalls = cap;
        }
        struct ana_call *a = &p->calls[p->ncalls++];
        memset(a, 0, sizeof *a);
        a->t0 = e->t0;
        a->t1 = e->t1 < e->t0 ? e->t0 : e->t1;
        a->region = e->region;
        a->thread = thread;
        a->op = ANA_OP_DNNL(GS_DNNL_K_OTHER);
        a->prim = e->prim;              /* an id until ana_dnnl_finish */
        a->layer = -1;
    } else if (rec[2] == GS_DNNL_PRIM && nslots >= 2) {
        struct gs_rec_dnnl_prim d;
        memcpy(&d, rec, sizeof d);
        struct ana_dnnl *x = find(p, d.prim);
        if (!x) {
            if (p->ndnnl == p->capdnnl) {
                size_t cap = p->capdnnl ? p->capdnnl * 2 : 64;
                struct ana_dnnl *n = realloc(p->dnnl, cap * sizeof *n);
                if (!n)
                    return 0;
                p->dnnl = n;
                p->capdnnl = cap;
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
    /* other 'what' values: a newer recorder; skipped by nslots */
    return nslots;
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
        }
        return;
    }
    }
}

void ana_dnnl_finish(struct ana_proc *p)
{
    for (size_t i = 0; i < p->ncalls; i++) {
        struct ana_call *c = &p->calls[i];
        if (!ANA_OP_IS_DNNL(c->op) || !c->prim)
            continue;
        struct ana_dnnl *x = find(p, c->prim);
        if (!x) {                       /* its PRIM record was lost */
            c->prim = 0;
            continue;
        }
        c->prim = (uint32_t)(x - p->dnnl) + 1;
        c->op = ANA_OP_DNNL(x->kind);
        c->flags = (uint16_t)(x->prop << 12);
        implicit_gemm(x, &c->m, &c->n, &c->k);
    }
}

const struct ana_dnnl *ana_dnnl_of(const struct ana_proc *p, const struct ana_call *c)
{
    return c->prim && c->prim <= p->ndnnl ? &p->dnnl[c->prim - 1] : NULL;
}
