/* test_analyzer.c - unit tests of the analyzer's stages on synthetic
 * traces (tracegen.h), with the Check framework. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ana.h"
#include "tracegen.h"

#define tpath tg_path
#define setup tg_setup
#define teardown tg_teardown

#define RM GS_F_ROWMAJOR
#define TEXT_MODEL "host: unit\ndomain.0: name=cpu-model kind=cpu unit=ns source=model provenance=modelled sum=1 watts_per_core=10 watts_source=env\n"
#define TEXT_RAPL "host: unit\ndomain.0: name=package-0 kind=energy unit=uJ source=rapl provenance=measured sum=1 max_range=1000000\n"

/* ---- model.c ---- */
START_TEST(flops_and_names)
{
    char b[16];
    struct ana_call c = { .op = GS_OP(GS_R_GEMM, GS_DT_S), .m = 2, .n = 3, .k = 4 };
    ck_assert_str_eq(ana_op_name(c.op, b), "sgemm");
    ck_assert_double_eq(ana_flops(&c), 48);
    c.op = GS_OP(GS_R_GEMM, GS_DT_Z);
    ck_assert_str_eq(ana_op_name(c.op, b), "zgemm");
    ck_assert_double_eq(ana_flops(&c), 4 * 48);
    c.op = GS_OP(GS_R_SYRK, GS_DT_D); c.n = 10; c.k = 5;
    ck_assert_str_eq(ana_op_name(c.op, b), "dsyrk");
    ck_assert_double_eq(ana_flops(&c), 5 * 10 * 11);
    c.op = GS_OP(GS_R_TRSM, GS_DT_D); c.m = 4; c.n = 6; c.flags = 0;
    ck_assert_double_eq(ana_flops(&c), 4 * 4 * 6);
    c.flags = GS_F_SIDE_R;
    ck_assert_double_eq(ana_flops(&c), 4 * 6 * 6);
    c.op = GS_OP(GS_R_HEMM, GS_DT_C); c.flags = 0;
    ck_assert_str_eq(ana_op_name(c.op, b), "chemm");
    ck_assert_double_eq(ana_flops(&c), 4 * 2.0 * 4 * 4 * 6);
    c.op = GS_OP(GS_R_GEMV, GS_DT_S);
    ck_assert_str_eq(ana_op_name(c.op, b), "sgemv");
    ck_assert_double_eq(ana_flops(&c), 2 * 4 * 6);
    c.op = GS_OP(GS_R_SYR2K, GS_DT_S); c.n = 3; c.k = 2;
    ck_assert_double_eq(ana_flops(&c), 2 * 2 * 9 + 3);
}
END_TEST

static void build(struct ana_run *run, struct ana_report *r, const char *path, int want_ok)
{
    memset(run, 0, sizeof *run);
    ck_assert_int_eq(ana_read_path(run, path), want_ok ? 0 : -1);
    ck_assert_int_eq(tg_build(run, r), 0);
}

/* ---- attribute.c: a constant 10 W model (1 core busy, 10 W per core) ---- */
START_TEST(energy_split_between_threads)
{
    struct tg g;
    tg_open(&g, tpath("a.gstrace"), TEXT_MODEL);
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_D), RM, 100000000, 300000000, 8, 8, 8, 0);    /* 0.1-0.3 s */
    tg_end(&g, 1000000000);
    tg_thread(&g, 2, GS_STREAM_THREAD);
    tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_D), RM, 200000000, 400000000, 8, 8, 8, 0);    /* 0.2-0.4 s */
    tg_thread(&g, 3, GS_STREAM_SAMPLER);
    for (int i = 0; i <= 10; i++)     /* CPU time grows 1 s per s: 10 W */
        tg_sample(&g, 0, GS_SAMPLE_CPU_NS, (uint64_t)i * 100000000, (uint64_t)i * 100000000);
    tg_close(&g);

    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("a.gstrace"), 1);
    ck_assert_str_eq(r.provenance, "modelled");
    ck_assert_double_eq_tol(r.total_j, 10.0, 1e-9);
    /* each call: 0.1 s alone (1 J) + half of the 0.1 s overlap (0.5 J) */
    ck_assert_double_eq_tol(tg_calls[0].energy_j, 1.5, 1e-9);
    ck_assert_double_eq_tol(tg_calls[1].energy_j, 1.5, 1e-9);
    ck_assert_double_eq_tol(r.outside_j, 7.0, 1e-9);
    ck_assert_int_eq(r.reconciled, 1);
    ck_assert_double_eq_tol(r.outside_s, 1.0 - 0.3, 1e-9);
    ck_assert_uint_eq(r.total_calls, 2);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* measured RAPL counter that wraps at 1 J (max_range 1e6 uJ), 2 W */
START_TEST(energy_wrap_and_idle)
{
    struct tg g;
    tg_open(&g, tpath("w.gstrace"), TEXT_RAPL);
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_S), RM, 500000000, 1500000000, 4, 4, 4, 0);
    tg_end(&g, 2000000000);
    tg_thread(&g, 9, GS_STREAM_SAMPLER);
    uint64_t uj = 900000;                      /* starts near the wrap */
    for (int i = 0; i <= 20; i++) {            /* 0.1 s apart, 0.2 J each = 2 W */
        tg_sample(&g, 0, GS_SAMPLE_ENERGY_UJ, (uint64_t)i * 100000000, uj % 1000000);
        uj += 200000;
    }
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("w.gstrace"), 1);
    ck_assert_str_eq(r.provenance, "measured");
    ck_assert_str_eq(r.source, "rapl");
    ck_assert_double_eq_tol(r.total_j, 4.0, 1e-9);
    ck_assert_double_eq_tol(r.calls_j, 2.0, 1e-9);
    ck_assert_double_eq_tol(r.idle_w, 2.0, 1e-9);
    ck_assert_str_eq(r.idle_source, "lowest sustained power");
    ck_assert_double_eq_tol(r.net_j, 0.0, 1e-6);
    ck_assert_int_eq(r.reconciled, 1);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* ---- regions: names, nesting, gaps between calls belong to the region ---- */
START_TEST(regions_and_gaps)
{
    struct tg g;
    tg_open(&g, tpath("r.gstrace"), TEXT_MODEL);
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_string(&g, 1, "model");
    tg_string(&g, 2, "model/a-region-name-longer-than-forty-characters-to-continue");
    tg_region(&g, 1, 1, 0);
    tg_region(&g, 1, 2, 100000000);
    tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_S), RM, 200000000, 300000000, 4, 4, 4, 2);
    tg_region(&g, 0, 2, 400000000);
    tg_region(&g, 0, 1, 500000000);
    tg_end(&g, 1000000000);
    tg_thread(&g, 9, GS_STREAM_SAMPLER);
    for (int i = 0; i <= 10; i++)
        tg_sample(&g, 0, GS_SAMPLE_CPU_NS, (uint64_t)i * 100000000, (uint64_t)i * 100000000);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("r.gstrace"), 1);
    ck_assert_int_eq(r.layers_from_regions, 1);
    int found = 0;
    for (size_t i = 0; i < r.nregions; i++) {
        if (!strcmp(r.regions[i].name, "model/a-region-name-longer-than-forty-characters-to-continue")) {
            found = 1;
            ck_assert_uint_eq(r.regions[i].calls, 1);
            ck_assert_double_eq_tol(r.regions[i].time_s, 0.3, 1e-9);
            /* 0.1-0.4 s inside the inner region: 3 J */
            ck_assert_double_eq_tol(r.regions[i].energy_j, 3.0, 1e-9);
        }
        if (!strcmp(r.regions[i].name, "model")) {
            ck_assert_double_eq_tol(r.regions[i].time_s, 0.5, 1e-9);
            ck_assert_double_eq_tol(r.regions[i].energy_j, 2.0, 1e-9);   /* 0-0.1 and 0.4-0.5 */
        }
    }
    ck_assert_int_eq(found, 1);
    double lsum = 0;
    for (size_t i = 0; i < r.nlayers; i++)
        lsum += r.layers[i].energy_j;
    ck_assert_double_eq_tol(lsum + r.outside_j, r.total_j, 1e-9);
    ck_assert_double_eq_tol(r.outside_j, 5.0, 1e-9);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* ---- layers.c: a 784-128-64-10 MLP, batch 32, 4 steps ---- */
static void mlp_stream(struct tg *g, int fortran)
{
    uint32_t dims[3][2] = { { 784, 128 }, { 128, 64 }, { 64, 10 } }, B = 32;
    uint64_t t = 1000;
    uint8_t op = GS_OP(GS_R_GEMM, GS_DT_S);
    for (int step = 0; step < 4; step++) {
        for (int l = 0; l < 3; l++) {      /* forward: y = x W^T */
            uint32_t in = dims[l][0], out = dims[l][1];
            if (fortran)   /* torch: C(out x B) = W^T(out x in) x(in x B), 'T','N' */
                tg_call(g, op, GS_F_FORTRAN | GS_F_MK_TRANSA(1), t, t + 100, out, B, in, 0);
            else
                tg_call(g, op, RM | GS_F_MK_TRANSB(1), t, t + 100, B, out, in, 0);
            t += 200;
        }
        for (int l = 2; l >= 0; l--) {     /* backward: dW, then dX except layer 0 */
            uint32_t in = dims[l][0], out = dims[l][1];
            if (fortran) {
                tg_call(g, op, GS_F_FORTRAN | GS_F_MK_TRANSB(1), t, t + 100, in, out, B, 0);
                t += 200;
                if (l) { tg_call(g, op, GS_F_FORTRAN, t, t + 100, in, B, out, 0); t += 200; }
            } else {
                tg_call(g, op, RM | GS_F_MK_TRANSA(1), t, t + 100, out, in, B, 0);
                t += 200;
                if (l) { tg_call(g, op, RM, t, t + 100, B, in, out, 0); t += 200; }
            }
        }
    }
    tg_end(g, t);
}

static void check_mlp(int fortran)
{
    struct tg g;
    tg_open(&g, tpath("m.gstrace"), "host: unit\n");
    tg_thread(&g, 7, GS_STREAM_THREAD);
    mlp_stream(&g, fortran);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("m.gstrace"), 1);
    ck_assert_int_eq(r.layers_from_regions, 0);
    ck_assert_int_eq(r.iterations, 4);
    ck_assert_uint_eq(r.nlayers, 3);
    ck_assert_str_eq(r.layers[0].name, "linear 784\u2192128");
    ck_assert_str_eq(r.layers[1].name, "linear 128\u219264");
    ck_assert_str_eq(r.layers[2].name, "linear 64\u219210");
    ck_assert_uint_eq(r.layers[0].calls, 8);
    ck_assert_uint_eq(r.layers[1].calls, 12);
    ck_assert_uint_eq(r.layers[2].calls, 12);
    ck_assert_str_eq(r.provenance, "none");
    ana_report_free(&r); ana_run_free(&run);
}

START_TEST(layers_rowmajor) { check_mlp(0); }
END_TEST
START_TEST(layers_fortran) { check_mlp(1); }
END_TEST

/* same-shaped layers 64->128 and 128->64 stay two layers */
START_TEST(layers_same_dims)
{
    struct tg g;
    tg_open(&g, tpath("s.gstrace"), "host: unit\n");
    tg_thread(&g, 7, GS_STREAM_THREAD);
    uint8_t op = GS_OP(GS_R_GEMM, GS_DT_S);
    uint64_t t = 0;
    for (int s = 0; s < 3; s++) {
        tg_call(&g, op, RM, t, t + 1, 32, 128, 64, 0); t += 2;    /* fwd 64->128 */
        tg_call(&g, op, RM, t, t + 1, 32, 64, 128, 0); t += 2;    /* fwd 128->64 */
        /* backward as numpy writes it: dW = X^T.delta (T,N), dX = delta.W^T (N,T) */
        tg_call(&g, op, RM | GS_F_MK_TRANSA(1), t, t + 1, 128, 64, 32, 0); t += 2;    /* dW 2 */
        tg_call(&g, op, RM | GS_F_MK_TRANSB(1), t, t + 1, 32, 128, 64, 0); t += 2;    /* dX 2 */
        tg_call(&g, op, RM | GS_F_MK_TRANSA(1), t, t + 1, 64, 128, 32, 0); t += 2;    /* dW 1 */
    }
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("s.gstrace"), 1);
    ck_assert_int_eq(r.iterations, 3);
    ck_assert_uint_eq(r.nlayers, 2);
    ck_assert_str_eq(r.layers[0].name, "linear 64\u2192128");
    ck_assert_str_eq(r.layers[1].name, "linear 128\u219264");
    ck_assert_uint_eq(r.layers[0].calls, 6);
    ck_assert_uint_eq(r.layers[1].calls, 9);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* ---- trace_read.c: damage ---- */
START_TEST(truncated_keeps_whole_records)
{
    struct tg g;
    tg_open(&g, tpath("t.gstrace"), "host: unit\n");
    tg_thread(&g, 7, GS_STREAM_THREAD);
    for (int i = 0; i < 100; i++)      /* 84 records a chunk: two chunks */
        tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_D), 0, (uint64_t)i * 10, (uint64_t)i * 10 + 5, 2, 2, 2, 0);
    tg_close(&g);
    /* cut inside the 11th record of the second chunk */
    ck_assert_int_eq(truncate(tpath("t.gstrace"), GS_HEADER_SIZE + TG_CHUNK + 11 * GS_REC_SIZE + 20), 0);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_file(&run, tpath("t.gstrace")), 0);
    ck_assert_int_eq(run.damaged, 1);
    ck_assert_uint_eq(run.procs[0]->ncalls, 84 + 10);
    ck_assert_ptr_nonnull(strstr(run.warnings[0], "offset"));
    ana_run_free(&run);
}
END_TEST

/* ana_next_call_run: a call and the calls right after it of the same op,
 * flags, region and shape, skipping other records; a run ends at another
 * shape, region or chunk; the runs add up to every call, in order */
START_TEST(call_runs)
{
    struct tg g;
    tg_open(&g, tpath("runs.gstrace"), "host: unit\n");
    tg_thread(&g, 7, GS_STREAM_THREAD);
    uint8_t D = GS_OP(GS_R_GEMM, GS_DT_D);
    uint64_t t = 0;
    for (int i = 0; i < 3; i++, t += 10)            /* A x3 */
        tg_call(&g, D, 0, t, t + 5, 4, 4, 4, 0);
    tg_sample(&g, 0, GS_SAMPLE_ENERGY_UJ, t, 1);   /* skipped inside the run */
    for (int i = 0; i < 2; i++, t += 10)            /* A x2 more: run of 5 */
        tg_call(&g, D, 0, t, t + 5, 4, 4, 4, 0);
    tg_call(&g, D, 0, t, t + 5, 4, 4, 8, 0), t += 10;           /* B x1 */
    tg_call(&g, D, GS_F_FORTRAN, t, t + 5, 4, 4, 4, 0), t += 10; /* other flags, then A */
    tg_call(&g, D, 0, t, t + 5, 4, 4, 4, 0), t += 10;
    tg_call(&g, D, 0, t, t + 5, 4, 4, 4, 3), t += 10;           /* A in region 3, then A outside */
    for (int i = 0; i < 100; i++, t += 10)          /* A x100: spans two chunks (84 records each) */
        tg_call(&g, D, 0, t, t + 5, 4, 4, 4, 0);
    tg_close(&g);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_file(&run, tpath("runs.gstrace")), 0);
    const struct ana_proc *p = run.procs[0];
    ck_assert_uint_eq(p->nthreads, 1);
    size_t ci = 0, off = 0, n, total = 0, k = 0;
    struct ana_call c;
    struct { uint32_t kk, region; uint16_t flags; size_t n; } got[16];
    while (k < 16 && ana_next_call_run(p, &p->threads[0], &ci, &off, &c, &n)) {
        got[k].kk = c.k; got[k].region = c.region; got[k].flags = c.flags; got[k].n = n;
        total += n;
        k++;
    }
    ck_assert_uint_eq(total, 109);
    ck_assert_uint_eq(total, p->ncalls);
    ck_assert_uint_ge(k, 6);
    ck_assert_uint_eq(got[0].n, 5); ck_assert_uint_eq(got[0].kk, 4);
    ck_assert_uint_eq(got[1].n, 1); ck_assert_uint_eq(got[1].kk, 8);
    ck_assert_uint_eq(got[2].n, 1); ck_assert(got[2].flags & GS_F_FORTRAN);
    ck_assert_uint_eq(got[3].n, 1); ck_assert(!(got[3].flags & GS_F_FORTRAN));
    ck_assert_uint_eq(got[4].n, 1); ck_assert_uint_eq(got[4].region, 3);
    /* the last 100: one run per chunk they touch, in order */
    size_t rest = 0;
    for (size_t i = 5; i < k; i++) {
        ck_assert_uint_eq(got[i].kk, 4);
        ck_assert_uint_eq(got[i].region, 0);
        ck_assert(got[i].n >= 1);
        rest += got[i].n;
    }
    ck_assert_uint_eq(rest, 100);
    ck_assert_uint_le(k, 5 + 2);
    ana_run_free(&run);
}
END_TEST

START_TEST(bad_magic_is_an_error)
{
    FILE *f = fopen(tpath("x.gstrace"), "wb");
    char junk[400] = "this is not a trace";
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_file(&run, tpath("x.gstrace")), -1);
    ck_assert_uint_eq(run.nprocs, 0);
    ana_run_free(&run);
}
END_TEST

/* random damage never crashes the reader or the stages */
START_TEST(fuzz_no_crash)
{
    struct tg g;
    tg_open(&g, tpath("f.gstrace"), TEXT_MODEL);
    tg_thread(&g, 7, GS_STREAM_THREAD);
    tg_string(&g, 1, "fc1");
    tg_region(&g, 1, 1, 5);
    mlp_stream(&g, 0);
    tg_region(&g, 0, 1, 999999);
    tg_thread(&g, 9, GS_STREAM_SAMPLER);
    for (int i = 0; i < 50; i++)
        tg_sample(&g, 0, GS_SAMPLE_CPU_NS, (uint64_t)i * 1000, (uint64_t)i * 700);
    tg_close(&g);
    FILE *f = fopen(tpath("f.gstrace"), "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    uint8_t *orig = malloc(n), *buf = malloc(n);
    fseek(f, 0, SEEK_SET);
    ck_assert_int_eq(fread(orig, 1, n, f), n);
    fclose(f);
    srand(12345);
    for (int it = 0; it < 300; it++) {
        memcpy(buf, orig, n);
        long len = n;
        int flips = 1 + rand() % 16;
        for (int k = 0; k < flips; k++) {
            long at = it % 3 == 0 ? rand() % 400 : GS_HEADER_SIZE + rand() % (n - GS_HEADER_SIZE);
            buf[at] = (uint8_t)rand();
        }
        if (it % 4 == 0)
            len = GS_HEADER_SIZE + rand() % (n - GS_HEADER_SIZE);
        f = fopen(tpath("z.gstrace"), "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        struct ana_run run = { 0 };
        if (ana_read_file(&run, tpath("z.gstrace")) == 0) {
            struct ana_report r;
            tg_build(&run, &r);
            FILE *null = fopen("/dev/null", "w");
            ana_render_json.render(&r, null);
            ana_render_text.render(&r, null);
            fclose(null);
            ana_report_free(&r);
        }
        ana_run_free(&run);
    }
    free(orig);
    free(buf);
}
END_TEST

int main(void)
{
    TG_RUN_SUITE("analyzer", setup, teardown, 60,
                 flops_and_names,
                 energy_split_between_threads,
                 energy_wrap_and_idle,
                 regions_and_gaps,
                 layers_rowmajor,
                 layers_fortran,
                 layers_same_dims,
                 truncated_keeps_whole_records,
                 bad_magic_is_an_error,
                 call_runs,
                 fuzz_no_crash);
}
