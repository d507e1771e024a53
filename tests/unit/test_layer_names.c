/* test_layer_names.c - the program's names win (layers.c): on synthetic
 * traces, a region whose calls hold at most one detected layer is a layer
 * row of its own named by its path (same shape in sibling regions: two
 * rows; nested regions: each its own calls), a region holding several
 * detected layers stays a container with detection inside it, a region
 * inside a detected layer takes its part of that layer, calls outside every
 * region keep their detected rows; where each name came from; rows add up
 * to every call.  Also: R-style column-major callers, shapes of a loop
 * folded by routine, no "linear" where nothing trains. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"
#include "tracegen.h"

#define DGEMM GS_OP(GS_R_GEMM, GS_DT_D)
#define SGEMM GS_OP(GS_R_GEMM, GS_DT_S)
#define DGEMV GS_OP(GS_R_GEMV, GS_DT_D)
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

/* the rows hold every call once */
static void all_calls(const struct ana_report *r)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->nlayers; i++)
        n += r->layers[i].calls;
    ck_assert_uint_eq(n, tg_ncalls);
}

static void sq(struct tg *g, uint32_t n, int times, uint32_t region, uint64_t *t)
{
    for (int i = 0; i < times; i++, *t += 20)
        tg_call(g, SGEMM, RM, *t, *t + 10, n, n, n, region);
}

/* one row-major training step of IN -> HID -> OUT at batch B; each layer's
 * calls in region ids[l] (0: none) */
static void mlp_step(struct tg *g, uint32_t B, const uint32_t *w, const uint32_t *ids, uint64_t *t)
{
    tg_call(g, DGEMM, RM, *t, *t + 10, B, w[1], w[0], ids[0]); *t += 20;
    tg_call(g, DGEMM, RM, *t, *t + 10, B, w[2], w[1], ids[1]); *t += 20;
    tg_call(g, DGEMM, RM | TA, *t, *t + 10, w[1], w[2], B, ids[1]); *t += 20;
    tg_call(g, DGEMM, RM | TB, *t, *t + 10, B, w[1], w[2], ids[1]); *t += 20;
    tg_call(g, DGEMM, RM | TA, *t, *t + 10, w[0], w[1], B, ids[0]); *t += 20;
}

/* the same shape in two sibling regions, and calls outside every region */
START_TEST(same_shape_sibling_regions)
{
    struct tg g;
    tg_open(&g, tg_path("s.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    tg_string(&g, 1, "phaseA");
    tg_string(&g, 2, "phaseB");
    uint64_t t = 100;
    tg_region(&g, 1, 1, t++);
    sq(&g, 96, 3, 1, &t);
    tg_region(&g, 0, 1, t++);
    tg_region(&g, 1, 2, t++);
    sq(&g, 96, 5, 2, &t);
    tg_region(&g, 0, 2, t++);
    sq(&g, 64, 2, 0, &t);
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("s.gstrace"));
    ck_assert_ptr_nonnull(row(&r, "phaseA"));
    ck_assert_ptr_nonnull(row(&r, "phaseB"));
    ck_assert_uint_eq(row(&r, "phaseA")->calls, 3);
    ck_assert_uint_eq(row(&r, "phaseB")->calls, 5);
    ck_assert_str_eq(row(&r, "phaseA")->source, "region");
    ck_assert_ptr_null(row(&r, "sgemm 96x96x96"));
    ck_assert_ptr_nonnull(row(&r, "sgemm 64x64x64"));
    ck_assert_uint_eq(row(&r, "sgemm 64x64x64")->calls, 2);
    ck_assert_str_eq(row(&r, "sgemm 64x64x64")->source, "detected");
    ck_assert_double_eq_tol(row(&r, "phaseA")->flops, 3 * 2.0 * 96 * 96 * 96, 1);
    all_calls(&r);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* NVTX ranges nested: "enc" with calls before and after "enc/attn" */
START_TEST(nested_regions)
{
    struct tg g;
    tg_open(&g, tg_path("n.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    tg_string(&g, 1, "enc");
    tg_string(&g, 2, "enc/attn");
    uint64_t t = 100;
    for (int it = 0; it < 3; it++) {
        tg_region_from(&g, 1, t++, GS_REGION_NVTX);
        sq(&g, 128, 2, 1, &t);
        tg_region_from(&g, 2, t++, GS_REGION_NVTX);
        sq(&g, 32, 4, 2, &t);
        tg_region(&g, 0, 2, t++);
        sq(&g, 128, 1, 1, &t);
        tg_region(&g, 0, 1, t++);
    }
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("n.gstrace"));
    ck_assert_uint_eq(r.nlayers, 2);
    ck_assert_uint_eq(row(&r, "enc")->calls, 9);
    ck_assert_uint_eq(row(&r, "enc/attn")->calls, 12);
    ck_assert_str_eq(row(&r, "enc")->source, "nvtx");
    ck_assert_str_eq(row(&r, "enc/attn")->source, "nvtx");
    all_calls(&r);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* a region holding two detected layers ("train_step") is a container:
 * detection runs inside it and its own row keeps the time between calls */
START_TEST(container_region)
{
    struct tg g;
    tg_open(&g, tg_path("c.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    tg_string(&g, 1, "train_step");
    uint32_t w[3] = { 20, 50, 3 }, ids[2] = { 1, 1 };
    uint64_t t = 100;
    for (int s = 0; s < 6; s++) {
        tg_region(&g, 1, 1, t++);
        mlp_step(&g, s < 5 ? 64 : 16, w, ids, &t);
        tg_region(&g, 0, 1, t++);
    }
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("c.gstrace"));
    const struct ana_layer_row *a = row(&r, "linear 20\u219250"), *b = row(&r, "linear 50\u21923"),
                               *c = row(&r, "train_step");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(a->calls, 12);
    ck_assert_uint_eq(b->calls, 18);
    ck_assert_str_eq(a->source, "detected");
    ck_assert_ptr_nonnull(c);                 /* the time between its calls */
    ck_assert_uint_eq(c->calls, 0);
    ck_assert_str_eq(c->source, "region");
    ck_assert_int_eq(r.iterations, 6);
    all_calls(&r);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* module regions (annotate): each holds one layer, forward and ".backward"
 * one row; a region inside a detected layer (fc2's forward only) takes its
 * part, the layer's other calls keep the detected row */
START_TEST(regions_inside_a_layer)
{
    struct tg g;
    tg_open(&g, tg_path("m.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    tg_string(&g, 1, "fc1:Linear");
    tg_string(&g, 2, "fc1:Linear.backward");
    tg_string(&g, 3, "fwd2");
    uint32_t w[3] = { 20, 50, 3 };
    uint64_t t = 100;
    for (int s = 0; s < 4; s++) {
        uint32_t B = s < 3 ? 64 : 8;
        tg_region_from(&g, 1, t++, GS_REGION_ANNOTATE);
        tg_call(&g, DGEMM, RM, t, t + 10, B, w[1], w[0], 1); t += 20;
        tg_region(&g, 0, 1, t++);
        tg_region(&g, 1, 3, t++);
        tg_call(&g, DGEMM, RM, t, t + 10, B, w[2], w[1], 3); t += 20;
        tg_region(&g, 0, 3, t++);
        tg_call(&g, DGEMM, RM | TA, t, t + 10, w[1], w[2], B, 0); t += 20;
        tg_call(&g, DGEMM, RM | TB, t, t + 10, B, w[1], w[2], 0); t += 20;
        tg_region_from(&g, 2, t++, GS_REGION_ANNOTATE);
        tg_call(&g, DGEMM, RM | TA, t, t + 10, w[0], w[1], B, 2); t += 20;
        tg_region(&g, 0, 2, t++);
    }
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("m.gstrace"));
    const struct ana_layer_row *a = row(&r, "fc1:Linear linear 20\u219250"), *b = row(&r, "fwd2 linear 50\u21923"),
                               *c = row(&r, "linear 50\u21923");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(a->calls, 8);
    ck_assert_str_eq(a->source, "annotate");
    ck_assert_uint_eq(b->calls, 4);
    ck_assert_str_eq(b->source, "region");
    ck_assert_uint_eq(c->calls, 8);
    ck_assert_str_eq(c->source, "detected");
    ck_assert_int_eq(a->iterations, 4);
    all_calls(&r);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* R: column-major data, samples as rows (dgemm_ N,N / T,N / N,T as %*%,
 * crossprod, tcrossprod call it): the weight pairs and one iteration a step */
START_TEST(r_style_colmajor)
{
    struct tg g;
    tg_open(&g, tg_path("r.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    uint16_t F = GS_F_FORTRAN;
    uint64_t t = 0;
    for (int s = 0; s < 20; s++) {
        tg_call(&g, DGEMM, F, t, t + 5, 50, 64, 100, 0); t += 10;       /* H = X W1 */
        tg_call(&g, DGEMM, F, t, t + 5, 50, 10, 64, 0); t += 10;        /* Y = H W2 */
        tg_call(&g, DGEMM, F | TA, t, t + 5, 64, 10, 50, 0); t += 10;   /* dW2 = H^T dY */
        tg_call(&g, DGEMM, F | TB, t, t + 5, 50, 64, 10, 0); t += 10;   /* dH = dY W2^T */
        tg_call(&g, DGEMM, F | TA, t, t + 5, 100, 64, 50, 0); t += 10;  /* dW1 = X^T dH */
    }
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("r.gstrace"));
    ck_assert_uint_eq(r.nlayers, 2);
    ck_assert_ptr_nonnull(row(&r, "linear 100\u219264"));
    ck_assert_uint_eq(row(&r, "linear 100\u219264")->calls, 40);
    ck_assert_uint_eq(row(&r, "linear 64\u219210")->calls, 60);
    ck_assert_int_eq(r.iterations, 20);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* a QR-like loop (dgemv on shrinking panels, one call each) and a chunked
 * distance GEMM with two batch sizes, nothing trains: the loop is one row
 * by routine, the GEMM no "linear" */
START_TEST(loop_shapes_fold)
{
    struct tg g;
    tg_open(&g, tg_path("q.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    uint64_t t = 0;
    for (uint32_t j = 0; j < 28; j++) {
        tg_call(&g, DGEMV, RM | TA, t, t + 5, 4999 - j, 28 - j, 0, 0); t += 10;
    }
    for (int s = 0; s < 9; s++) {                 /* X chunk . C^T, 8 centroids */
        uint32_t B = s < 8 ? 256 : 40;
        tg_call(&g, DGEMM, RM | TB, t, t + 5, B, 8, 200, 0); t += 10;
    }
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_path("q.gstrace"));
    ck_assert_ptr_nonnull(row(&r, "dgemv (28 shapes)"));
    ck_assert_uint_eq(row(&r, "dgemv (28 shapes)")->calls, 28);
    for (size_t i = 0; i < r.nlayers; i++)
        ck_assert_msg(strncmp(r.layers[i].name, "linear", 6), "no training, yet %s", r.layers[i].name);
    ck_assert_uint_eq(r.nlayers, 3);          /* the loop, dgemm 256x8x200, dgemm 40x8x200 */
    ck_assert_int_le(r.iterations, 0);
    all_calls(&r);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

int main(void)
{
    TG_RUN_SUITE("layer_names", tg_setup, tg_teardown, 0, same_shape_sibling_regions, nested_regions,
                 container_region, regions_inside_a_layer, r_style_colmajor, loop_shapes_fold);
}
