/* test_layers.c - layers.c and dnnl.c on synthetic traces: ragged batches
 * and eval passes fold into the weight pairs (row-major and column-major),
 * a lone square GEMM loop is no layer, two models keep their iterations,
 * oneDNN convolutions by channels and kernel with their FLOPs, and damaged
 * DNNL records. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"
#include "tracegen.h"

#define DGEMM GS_OP(GS_R_GEMM, GS_DT_D)
#define SGEMM GS_OP(GS_R_GEMM, GS_DT_S)
#define RM GS_F_ROWMAJOR
#define TA GS_F_MK_TRANSA(1)
#define TB GS_F_MK_TRANSB(1)

static void build(struct ana_run *run, struct ana_report *r, const char *path)
{
    memset(run, 0, sizeof *run);
    ck_assert_int_eq(ana_read_path(run, path), 0);
    ck_assert_int_eq(tg_build(run, r), 0);
}

static const struct ana_layer_row *row(const struct ana_report *r, const char *name)
{
    for (size_t i = 0; i < r->nlayers; i++)
        if (!strcmp(r->layers[i].name, name))
            return &r->layers[i];
    return NULL;
}

/* an sklearn-like trainer (numpy row-major): X.W (N,N), X^T.d (T,N), d.W^T (N,T) */
static void rm_step(struct tg *g, const uint32_t *w, int nl, uint32_t B, uint64_t *t, int train)
{
    for (int l = 0; l < nl; l++) {
        tg_call(g, DGEMM, RM, *t, *t + 10, B, w[l + 1], w[l], 0);
        *t += 20;
    }
    if (!train)
        return;
    for (int l = nl - 1; l >= 0; l--) {
        tg_call(g, DGEMM, RM | TA, *t, *t + 10, w[l], w[l + 1], B, 0);
        *t += 20;
        if (l) {
            tg_call(g, DGEMM, RM | TB, *t, *t + 10, B, w[l], w[l + 1], 0);
            *t += 20;
        }
    }
}

/* 64 -> 64 -> 32 -> 10, 1797 samples in batches of 128 (the last of 5),
 * 3 epochs, then a forward pass over all 1797 */
START_TEST(ragged_rowmajor)
{
    struct tg g;
    tg_open(&g, tg_path("sk.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    uint32_t w[4] = { 64, 64, 32, 10 };
    uint64_t t = 100;
    for (int e = 0; e < 3; e++)
        for (uint32_t s = 0; s < 1797; s += 128)
            rm_step(&g, w, 3, 1797 - s < 128 ? 1797 - s : 128, &t, 1);
    rm_step(&g, w, 3, 1797, &t, 0);
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("sk.gstrace"));
    ck_assert_uint_eq(r.nlayers, 3);
    ck_assert_str_eq(r.layers[0].name, "linear 64\u219264");
    ck_assert_str_eq(r.layers[1].name, "linear 64\u219232");
    ck_assert_str_eq(r.layers[2].name, "linear 32\u219210");
    ck_assert_uint_eq(r.layers[0].calls, 2 * 45 + 1);
    ck_assert_uint_eq(r.layers[1].calls, 3 * 45 + 1);
    ck_assert_uint_eq(r.layers[2].calls, 3 * 45 + 1);
    ck_assert_int_eq(r.iterations, 45);
    ck_assert_int_eq(r.layers[2].iterations, 45);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* torch-like column-major 20 -> 50 -> 3, batch 256: the widths, never the batch */
START_TEST(two_layers_colmajor)
{
    struct tg g;
    tg_open(&g, tg_path("t.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    uint64_t t = 0;
    uint16_t F = GS_F_FORTRAN;
    for (int s = 0; s < 7; s++) {
        tg_call(&g, SGEMM, F | TA, t, t + 5, 50, 256, 20, 0); t += 10;   /* fc1 forward */
        tg_call(&g, SGEMM, F | TA, t, t + 5, 3, 256, 50, 0); t += 10;    /* fc2 forward */
        tg_call(&g, SGEMM, F, t, t + 5, 50, 256, 3, 0); t += 10;         /* fc2 grad input */
        tg_call(&g, SGEMM, F | TB, t, t + 5, 50, 3, 256, 0); t += 10;    /* fc2 grad weight */
        tg_call(&g, SGEMM, F | TB, t, t + 5, 20, 50, 256, 0); t += 10;   /* fc1 grad weight */
    }
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("t.gstrace"));
    ck_assert_uint_eq(r.nlayers, 2);
    ck_assert_ptr_nonnull(row(&r, "linear 20\u219250"));
    ck_assert_ptr_nonnull(row(&r, "linear 50\u21923"));
    ck_assert_uint_eq(row(&r, "linear 20\u219250")->calls, 14);
    ck_assert_uint_eq(row(&r, "linear 50\u21923")->calls, 21);
    ck_assert_int_eq(r.iterations, 7);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* a@a on two threads: one shape, one role: no linear layer */
START_TEST(square_loop_is_no_layer)
{
    struct tg g;
    tg_open(&g, tg_path("a.gstrace"), "host: unit\n");
    uint64_t t = 0;
    for (uint32_t th = 1; th <= 2; th++) {
        tg_thread(&g, th, GS_STREAM_THREAD);
        for (int i = 0; i < 20; i++, t += 10)
            tg_call(&g, DGEMM, RM, t, t + 5, 96, 96, 96, 0);
    }
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("a.gstrace"));
    ck_assert_uint_eq(r.nlayers, 1);
    ck_assert_str_eq(r.layers[0].name, "dgemm 96x96x96");
    ck_assert_uint_eq(r.layers[0].calls, 40);
    ck_assert_int_eq(r.iterations, -1);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* two models one after the other: each layer keeps its model's count */
START_TEST(two_models)
{
    struct tg g;
    tg_open(&g, tg_path("m.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    uint32_t a[3] = { 20, 50, 3 }, b[3] = { 32, 16, 4 };
    uint64_t t = 0;
    for (int s = 0; s < 4; s++)
        rm_step(&g, a, 2, 64, &t, 1);
    for (int s = 0; s < 9; s++)
        rm_step(&g, b, 2, 48, &t, 1);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("m.gstrace"));
    ck_assert_uint_eq(r.nlayers, 4);
    ck_assert_int_eq(row(&r, "linear 20\u219250")->iterations, 4);
    ck_assert_int_eq(row(&r, "linear 50\u21923")->iterations, 4);
    ck_assert_int_eq(row(&r, "linear 32\u219216")->iterations, 9);
    ck_assert_int_eq(row(&r, "linear 16\u21924")->iterations, 9);
    ck_assert_int_eq(r.iterations, 9);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* ---- oneDNN ---- */
static void tg_slots(struct tg *g, const void *rec, unsigned n)
{
    if (g->used && g->used + n * GS_REC_SIZE > TG_CHUNK)
        g->used = TG_CHUNK;            /* the rest of the chunk stays zero: its end */
    for (unsigned i = 0; i < n; i++)
        tg_rec(g, (const uint8_t *)rec + i * GS_REC_SIZE);
}
static void tg_prim(struct tg *g, uint32_t id, uint8_t kind, uint8_t prop, const uint32_t *src, const uint32_t *wei,
                    const uint32_t *dst)
{
    struct gs_rec_dnnl_prim d;
    memset(&d, 0, sizeof d);
    d.type = GS_REC_DNNL; d.nslots = 2; d.what = GS_DNNL_PRIM; d.kind = kind; d.prim = id; d.prop = prop;
    d.ndims[0] = src ? 4 : 0; d.ndims[1] = wei ? 4 : 0; d.ndims[2] = dst ? 4 : 0;
    if (src) memcpy(d.src, src, 4 * sizeof *src);
    if (wei) memcpy(d.wei, wei, 4 * sizeof *wei);
    if (dst) memcpy(d.dst, dst, 4 * sizeof *dst);
    tg_slots(g, &d, 2);
}
static void tg_exec(struct tg *g, uint32_t id, uint64_t t0, uint64_t t1)
{
    struct gs_rec_dnnl_exec e;
    memset(&e, 0, sizeof e);
    e.type = GS_REC_DNNL; e.nslots = 1; e.what = GS_DNNL_EXEC; e.prim = id; e.t0 = t0; e.t1 = t1;
    tg_slots(g, &e, 1);
}

/* conv 1->8 3x3 on 26x26 (batch 32): forward, backward weights; a reorder
 * of its weights; then a Linear 200->10 through BLAS */
START_TEST(dnnl_conv)
{
    struct tg g;
    tg_open(&g, tg_path("d.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    uint32_t src[4] = { 32, 1, 26, 26 }, wei[4] = { 8, 1, 3, 3 }, dst[4] = { 32, 8, 24, 24 };
    tg_prim(&g, 1, GS_DNNL_K_REORDER, 0, wei, NULL, wei);
    tg_prim(&g, 2, GS_DNNL_K_CONV, GS_DNNL_P_FWD_TRAIN, src, wei, dst);
    tg_prim(&g, 3, GS_DNNL_K_CONV, GS_DNNL_P_BWD_WEIGHTS, src, wei, dst);
    uint64_t t = 0;
    for (int s = 0; s < 6; s++) {
        tg_exec(&g, 1, t, t + 5); t += 10;
        tg_exec(&g, 2, t, t + 50); t += 60;
        tg_call(&g, SGEMM, GS_F_FORTRAN | TA, t, t + 5, 10, 32, 200, 0); t += 10;
        tg_call(&g, SGEMM, GS_F_FORTRAN | TB, t, t + 5, 200, 10, 32, 0); t += 10;
        tg_call(&g, SGEMM, GS_F_FORTRAN, t, t + 5, 200, 32, 10, 0); t += 10;
        tg_exec(&g, 3, t, t + 50); t += 60;
    }
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("d.gstrace"));
    const struct ana_layer_row *c = row(&r, "conv 1\u21928 3x3");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->calls, 18);                 /* the reorder joins its convolution */
    ck_assert_double_eq_tol(c->flops, 12.0 * 2 * 8 * (32.0 * 24 * 24) * 9, 1);
    ck_assert_ptr_nonnull(row(&r, "linear 200\u219210"));
    ck_assert_uint_eq(r.nlayers, 2);
    ck_assert_int_eq(r.iterations, 6);
    int conv_op = 0;
    for (size_t i = 0; i < r.nops; i++)
        if (!strcmp(r.ops[i].op, "conv")) {
            conv_op = 1;
            ck_assert_str_eq(r.ops[i].api, "dnnl");
            ck_assert_uint_eq(r.ops[i].calls, 12);
        }
    ck_assert_int_eq(conv_op, 1);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* damage: nslots 0 stops the chunk with an error; an unknown 'what' and an
 * EXEC naming no primitive are read without harm */
START_TEST(dnnl_damage)
{
    struct tg g;
    tg_open(&g, tg_path("x.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    tg_exec(&g, 77, 0, 10);                          /* no PRIM 77 */
    uint8_t odd[GS_REC_SIZE] = { GS_REC_DNNL, 1, 9 };
    tg_slots(&g, odd, 1);                            /* a newer 'what': skipped */
    tg_call(&g, SGEMM, RM, 20, 30, 4, 4, 4, 0);
    uint8_t bad[GS_REC_SIZE] = { GS_REC_DNNL, 0, GS_DNNL_EXEC };
    tg_slots(&g, bad, 1);                            /* nslots 0: damage */
    tg_call(&g, SGEMM, RM, 40, 50, 4, 4, 4, 0);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    memset(&run, 0, sizeof run);
    ck_assert_int_eq(ana_read_path(&run, tg_path("x.gstrace")), 0);
    ck_assert_int_eq(run.damaged, 1);
    ck_assert_int_eq(tg_build(&run, &r), 0);
    ck_assert_uint_eq(r.total_calls, 2);             /* the EXEC and the first CALL */
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

int main(void)
{
    TG_RUN_SUITE("layers", tg_setup, tg_teardown, 0,
                 ragged_rowmajor,
                 two_layers_colmajor,
                 square_loop_is_no_layer,
                 two_models,
                 dnnl_conv,
                 dnnl_damage);
}
