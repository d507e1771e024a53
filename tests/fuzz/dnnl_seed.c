/* dnnl_seed.c - a small real oneDNN program for the fuzz seeds
 * (tests/fuzz/make_seeds.sh): a convolution, a ReLU, an inner product and
 * a matmul through oneDNN 2.x's C API (libdnnl-dev), inside greenshim
 * regions, a few steps, so that a trace recorded under the shim holds
 * DNNL records (and the primitive shapes the analyzer names layers by).
 *   cc -o dnnl_seed dnnl_seed.c -Iinclude -ldnnl;  dnnl_seed [STEPS]
 * Exit 0, or 1 with a line on stderr when oneDNN refuses a descriptor. */
#include <stdio.h>
#include <stdlib.h>
#include <oneapi/dnnl/dnnl.h>
#include "greenshim.h"

#define CK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { \
    fprintf(stderr, "dnnl_seed: %s failed (status %d)\n", #x, (int)s_); exit(1); } } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t strm;

static dnnl_memory_t mem(const dnnl_memory_desc_t *md)
{
    dnnl_memory_t m;
    CK(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    return m;
}

static dnnl_primitive_t prim(const void *desc)
{
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    CK(dnnl_primitive_desc_create(&pd, desc, NULL, eng, NULL));
    CK(dnnl_primitive_create(&p, pd));
    CK(dnnl_primitive_desc_destroy(pd));
    return p;
}

static void run(dnnl_primitive_t p, int n, const dnnl_exec_arg_t *a)
{
    CK(dnnl_primitive_execute(p, strm, n, a));
    CK(dnnl_stream_wait(strm));
}

static void region(const char *name)
{
    if (greenshim_region_push)
        greenshim_region_push(name);
}

static void end_region(void)
{
    if (greenshim_region_pop)
        greenshim_region_pop();
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 3;
    CK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    dnnl_memory_desc_t src, wei, dst, ipw, ipd, ma, mb, mc;
    dnnl_dims_t sd = { 4, 3, 12, 12 }, wd = { 8, 3, 3, 3 }, dd = { 4, 8, 10, 10 };
    dnnl_dims_t iwd = { 10, 8, 10, 10 }, idd = { 4, 10 };
    dnnl_dims_t ad = { 16, 32 }, bd = { 32, 24 }, cd = { 16, 24 };
    dnnl_dims_t one = { 1, 1 }, zero = { 0, 0 };
    CK(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, dnnl_nchw));
    CK(dnnl_memory_desc_init_by_tag(&wei, 4, wd, dnnl_f32, dnnl_oihw));
    CK(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_nchw));
    CK(dnnl_memory_desc_init_by_tag(&ipw, 4, iwd, dnnl_f32, dnnl_oihw));
    CK(dnnl_memory_desc_init_by_tag(&ipd, 2, idd, dnnl_f32, dnnl_nc));
    CK(dnnl_memory_desc_init_by_tag(&ma, 2, ad, dnnl_f32, dnnl_ab));
    CK(dnnl_memory_desc_init_by_tag(&mb, 2, bd, dnnl_f32, dnnl_ab));
    CK(dnnl_memory_desc_init_by_tag(&mc, 2, cd, dnnl_f32, dnnl_ab));

    dnnl_convolution_desc_t conv_d;
    dnnl_eltwise_desc_t relu_d;
    dnnl_inner_product_desc_t ip_d;
    dnnl_matmul_desc_t mm_d;
    CK(dnnl_convolution_forward_desc_init(&conv_d, dnnl_forward_training, dnnl_convolution_direct, &src, &wei,
                                          NULL, &dst, one, zero, zero));
    CK(dnnl_eltwise_forward_desc_init(&relu_d, dnnl_forward_training, dnnl_eltwise_relu, &dst, 0, 0));
    CK(dnnl_inner_product_forward_desc_init(&ip_d, dnnl_forward_training, &dst, &ipw, NULL, &ipd));
    CK(dnnl_matmul_desc_init(&mm_d, &ma, &mb, NULL, &mc));
    dnnl_primitive_t conv = prim(&conv_d), relu = prim(&relu_d), ip = prim(&ip_d), mm = prim(&mm_d);

    dnnl_memory_t msrc = mem(&src), mwei = mem(&wei), mdst = mem(&dst), mrelu = mem(&dst);
    dnnl_memory_t mipw = mem(&ipw), mipd = mem(&ipd), mma = mem(&ma), mmb = mem(&mb), mmc = mem(&mc);
    dnnl_exec_arg_t conv_a[] = { { DNNL_ARG_SRC, msrc }, { DNNL_ARG_WEIGHTS, mwei }, { DNNL_ARG_DST, mdst } };
    dnnl_exec_arg_t relu_a[] = { { DNNL_ARG_SRC, mdst }, { DNNL_ARG_DST, mrelu } };
    dnnl_exec_arg_t ip_a[] = { { DNNL_ARG_SRC, mrelu }, { DNNL_ARG_WEIGHTS, mipw }, { DNNL_ARG_DST, mipd } };
    dnnl_exec_arg_t mm_a[] = { { DNNL_ARG_SRC, mma }, { DNNL_ARG_WEIGHTS, mmb }, { DNNL_ARG_DST, mmc } };
    for (int i = 0; i < steps; i++) {
        region("features");
        run(conv, 3, conv_a);
        run(relu, 2, relu_a);
        end_region();
        region("classifier");
        run(ip, 3, ip_a);
        end_region();
        run(mm, 3, mm_a);                 /* outside any region: named by its shape */
    }
    dnnl_primitive_t ps[] = { conv, relu, ip, mm };
    for (int i = 0; i < 4; i++)
        CK(dnnl_primitive_destroy(ps[i]));
    dnnl_memory_t ms[] = { msrc, mwei, mdst, mrelu, mipw, mipd, mma, mmb, mmc };
    for (int i = 0; i < 9; i++)
        CK(dnnl_memory_destroy(ms[i]));
    CK(dnnl_stream_destroy(strm));
    CK(dnnl_engine_destroy(eng));
    return 0;
}
