/* test_gpu.c - the analyzer's GPU path on synthetic traces: kernels joined
 * to their launches (correlation id) and to cuBLAS calls (external
 * correlation), per-kernel energy from an NVML counter, layers gaining
 * gpu_time_s / gpu_energy_j, launch latency, op rows with errors, one
 * device counted once across processes, kernels charged through the
 * GPU_DEV map (CUDA ordinal -> NVML index), and the nslots rules (skip an
 * unknown kind whole, nslots 0 is damage).  Check framework. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"
#include "tracegen.h"

#define MS 1000000ull
#define K_LIN (GS_STR_ID_GPU + 1)
#define K_BWD (GS_STR_ID_GPU + 2)
#define G_NAME (GS_STR_ID_GPU + 3)
#define G_UUID (GS_STR_ID_GPU + 4)

static void api(struct tg *g, uint8_t fn, uint64_t t0, uint64_t t1, uint32_t corr, uint32_t region, int ret)
{
    struct gs_rec_api a = { .type = GS_REC_API, .nslots = 1, .fn = fn, .region = region, .t0 = t0,
                            .dt = (uint32_t)(t1 - t0), .corr = corr, .kernel = K_LIN, .ret = (int16_t)ret };
    a.u.g.grid_x = 8; a.u.g.grid_y = 1; a.grid_z = 1; a.block = GS_API_BLOCK(128, 1, 1);
    tg_rec(g, &a);
}

static void kernel(struct tg *g, uint32_t name, uint64_t a, uint64_t b, uint32_t corr)
{
    uint8_t raw[2 * GS_REC_SIZE] = { 0 };
    struct gs_rec_kernel *k = (void *)raw;
    k->type = GS_REC_KERNEL; k->nslots = 2; k->name = name; k->start = a; k->end = b; k->corr = corr;
    k->stream = 7;
    tg_rec(g, raw);
    tg_rec(g, raw + GS_REC_SIZE);
}

/* power: 100 W idle, 300 W while any kernel of ks runs; a counter read
 * every ms, exact (quantum 1 ms) */
static int busy(uint64_t t) { return (t >= 100 * MS && t < 200 * MS) || (t >= 300 * MS && t < 400 * MS) ||
                                     (t >= 500 * MS && t < 700 * MS); }
static void nvml_series(struct tg *g, uint64_t from, uint64_t to)
{
    double e = 0;
    for (uint64_t t = 0; t <= 1000 * MS; t += MS) {
        if (t >= from && t <= to) {
            struct gs_rec_nvml s = { .type = GS_REC_NVML, .nslots = 1, .t = t, .t_read = t,
                                     .energy_mj = 5000000 + (uint64_t)llround(e * 1e3) };
            tg_rec(g, &s);
        }
        e += (busy(t) ? 300.0 : 100.0) * 1e-3;
    }
}

static void gpu_info(struct tg *g)
{
    tg_string(g, G_NAME, "Test GPU");
    tg_string(g, G_UUID, "GPU-test-1");
    uint8_t raw[2 * GS_REC_SIZE] = { 0 };
    struct gs_rec_gpu_info *i = (void *)raw;
    i->type = GS_REC_GPU_INFO; i->nslots = 2; i->name = G_NAME; i->uuid = G_UUID; i->energy = GS_GPU_E_COUNTER;
    i->power_min_mw = 100000; i->power_max_mw = 700000; i->power_limit_mw = 700000;
    tg_rec(g, raw);
    tg_rec(g, raw + GS_REC_SIZE);
}

static void write_run_from(const char *path, int with_series, uint64_t series_from);
static void write_run(const char *path, int with_series)
{
    write_run_from(path, with_series, 0);
}

static void write_run_from(const char *path, int with_series, uint64_t series_from)
{
    struct tg g;
    tg_open(&g, path, "host: unit\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_string(&g, 1, "fwd");
    tg_string(&g, 2, "fwd/linear");
    tg_string(&g, 3, "bwd");
    tg_string(&g, K_LIN, "k_lin");
    tg_string(&g, K_BWD, "k_bwd");
    tg_region(&g, 1, 1, 50 * MS);
    tg_region(&g, 1, 2, 60 * MS);
    api(&g, GS_API_cudaLaunchKernel, 90 * MS, 91 * MS, 1, 2, 0);
    api(&g, GS_API_cudaLaunchKernel, 290 * MS, 291 * MS, 2, 2, 0);
    api(&g, GS_API_cudaMemcpy, 292 * MS, 293 * MS, 0, 2, 1);
    tg_region(&g, 0, 2, 450 * MS);
    tg_region(&g, 0, 1, 451 * MS);
    tg_region(&g, 1, 3, 460 * MS);
    struct gs_rec_cublas c = { .type = GS_REC_CUBLAS, .nslots = 2, .routine = GS_CB_Sgemm, .region = 3,
                               .t0 = 470 * MS, .t1 = 471 * MS, .m = 64, .n = 32, .k = 16, .batch = 1, .ext = 7,
                               .transa = 1 };
    tg_rec(&g, &c);
    tg_rec(&g, (uint8_t *)&c + GS_REC_SIZE);
    tg_region(&g, 0, 3, 800 * MS);
    tg_end(&g, 1000 * MS);
    /* the CUPTI thread */
    tg_thread(&g, 2, GS_STREAM_THREAD);
    kernel(&g, K_LIN, 100 * MS, 200 * MS, 1);
    kernel(&g, K_LIN, 300 * MS, 400 * MS, 2);
    kernel(&g, K_BWD, 500 * MS, 700 * MS, 50);
    struct gs_rec_extcorr x = { .type = GS_REC_EXTCORR, .nslots = 1, .corr = 50, .ext = 7 };
    tg_rec(&g, &x);
    /* the NVML thread */
    tg_thread(&g, 3, GS_STREAM_SAMPLER);
    gpu_info(&g);
    if (with_series)
        nvml_series(&g, series_from, 1000 * MS);
    else
        nvml_series(&g, 400 * MS, 600 * MS);   /* a member process: a shorter series of the same GPU */
    tg_close(&g);
}

static const struct ana_kernel_row *krow(const struct ana_report *r, const char *name)
{
    for (size_t i = 0; i < r->gpu->nkernels; i++)
        if (!strcmp(r->gpu->kernels[i].name, name))
            return &r->gpu->kernels[i];
    return NULL;
}

static const struct ana_layer_row *lrow(const struct ana_report *r, const char *name)
{
    for (size_t i = 0; i < r->nlayers; i++)
        if (!strcmp(r->layers[i].name, name))
            return &r->layers[i];
    return NULL;
}

START_TEST(kernels_layers_energy)
{
    write_run(tg_path("a.gstrace"), 1);
    struct ana_run run = { 0 };
    struct ana_report r;
    ck_assert_int_eq(ana_read_path(&run, tg_path("a.gstrace")), 0);
    ck_assert_int_eq(run.damaged, 0);
    ck_assert_int_eq(ana_report_build(&run, &r), 0);
    ck_assert_ptr_nonnull(r.gpu);
    ck_assert_uint_eq(r.gpu->ngpus, 1);
    const struct ana_gpu_row *gr = &r.gpu->gpus[0];
    /* 0.4 s at 300 W + 0.6 s at 100 W */
    ck_assert_double_eq_tol(gr->energy_j, 180.0, 0.5);
    ck_assert_double_eq_tol(gr->kernels_energy_j + gr->idle_energy_j, gr->energy_j, 1e-6);
    ck_assert_double_eq_tol(gr->idle_power_w, 100.0, 2.0);
    const struct ana_kernel_row *kl = krow(&r, "k_lin"), *kb = krow(&r, "k_bwd");
    ck_assert_ptr_nonnull(kl);
    ck_assert_ptr_nonnull(kb);
    ck_assert_uint_eq(kl->calls, 2);
    ck_assert_double_eq_tol(kl->time_s, 0.2, 1e-9);
    ck_assert_double_eq_tol(kl->energy_j, 60.0, 1.0);
    ck_assert_double_eq_tol(kb->energy_j, 60.0, 1.0);
    ck_assert(fabs(kl->energy_j - 60.0) <= kl->energy_err_j + 1e-9 || kl->energy_err_j == 0);
    /* launch -> start: 10 ms each */
    ck_assert_uint_eq(kl->latency_n, 2);
    ck_assert_double_eq_tol(kl->latency_sum_s / 2, 0.010, 1e-9);
    ck_assert_uint_eq(kb->cublas, 1);
    /* idle gaps inside the kernels' span: 200-300, 400-500 ms */
    ck_assert_double_eq_tol(gr->idle_gap_s, 0.2, 0.002);
    /* layers: the launching call's region; cuBLAS via external correlation */
    ck_assert_int_eq(r.layers_from_regions, 1);
    const struct ana_layer_row *lf = lrow(&r, "fwd/linear"), *lb = lrow(&r, "bwd");
    ck_assert_ptr_nonnull(lf);
    ck_assert_ptr_nonnull(lb);
    ck_assert_double_eq_tol(lf->gpu_time_s, 0.2, 1e-9);
    ck_assert_double_eq_tol(lf->gpu_energy_j, 60.0, 1.0);
    ck_assert_double_eq_tol(lb->gpu_energy_j, 60.0, 1.0);
    /* ops: launches, a failed memcpy, the cuBLAS call with its FLOPs */
    int seen = 0;
    for (size_t i = 0; i < r.nops; i++) {
        const struct ana_op_row *o = &r.ops[i];
        if (!strcmp(o->op, "cudaLaunchKernel")) {
            ck_assert_str_eq(o->api, "cuda");
            ck_assert_uint_eq(o->calls, 2);
            ck_assert_uint_eq(o->errors, 0);
            seen |= 1;
        } else if (!strcmp(o->op, "cudaMemcpy")) {
            ck_assert_uint_eq(o->errors, 1);
            seen |= 2;
        } else if (!strcmp(o->op, "cublasSgemm_v2")) {
            ck_assert_str_eq(o->api, "cublas");
            ck_assert_double_eq_tol(o->flops, 2.0 * 64 * 32 * 16, 1e-9);
            ck_assert_double_eq_tol(o->time_s, 0.2, 1e-9);   /* its kernel's GPU time, not the 1 ms call */
            seen |= 4;
        }
    }
    ck_assert_int_eq(seen, 7);
    /* the JSON carries it */
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    ana_render_json.render(&r, o);
    fclose(o);
    const char *keys[] = { "\"gpus\"", "\"kernels\"", "\"energy_err_j\"", "\"gpu_time_s\"", "\"gpu_energy_j\"",
                           "\"energy_source\": \"nvml-energy-counter\"", "\"errors\": 1", "\"api\": \"cublas\"" };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        ck_assert_msg(strstr(buf, keys[i]), "JSON lacks %s", keys[i]);
    free(buf);
    ana_report_free(&r);
    ana_run_free(&run);
}
END_TEST

/* two processes sample the same GPU: its energy counts once, from the
 * longer series */
START_TEST(one_device_across_processes)
{
    write_run(tg_path("a.gstrace"), 1);
    write_run(tg_path("b.gstrace"), 0);
    struct ana_run run = { 0 };
    struct ana_report r;
    ck_assert_int_eq(ana_read_path(&run, tg_dir), 0);
    ck_assert_int_eq(ana_report_build(&run, &r), 0);
    ck_assert_uint_eq(r.gpu->ngpus, 1);
    ck_assert_double_eq_tol(r.gpu->gpus[0].energy_j, 180.0, 0.5);
    ana_report_free(&r);
    ana_run_free(&run);
}
END_TEST

/* NVML starts after the first kernel began (150 ms, the kernel ran from
 * 100 ms): the part outside the window is estimated from the fitted power,
 * reported apart, and the measured closure still holds */
START_TEST(kernel_before_the_window)
{
    write_run_from(tg_path("w.gstrace"), 1, 150 * MS);
    struct ana_run run = { 0 };
    struct ana_report r;
    ck_assert_int_eq(ana_read_path(&run, tg_path("w.gstrace")), 0);
    ck_assert_int_eq(ana_report_build(&run, &r), 0);
    const struct ana_gpu_row *gr = &r.gpu->gpus[0];
    ck_assert_double_eq_tol(gr->kernels_outside_j, 15.0, 0.5);       /* 50 ms at 300 W */
    ck_assert_double_eq_tol(gr->kernels_energy_j + gr->idle_energy_j, gr->energy_j, 1e-6);
    const struct ana_kernel_row *kl = krow(&r, "k_lin");
    ck_assert_double_eq_tol(kl->energy_j, 60.0, 1.0);
    ck_assert(kl->energy_err_j >= 0.25 * 15.0);
    ana_report_free(&r);
    ana_run_free(&run);
}
END_TEST

/* an unknown kind >= 16 is skipped whole by nslots (its later slots may
 * look like anything); nslots 0 is damage */
START_TEST(nslots_rules)
{
    struct tg g;
    tg_open(&g, tg_path("n.gstrace"), "host: unit\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_S), 0, 0, 10, 4, 4, 4, 0);
    uint8_t unk[GS_REC_SIZE] = { 31, 3 }, junk[GS_REC_SIZE] = { 7, 0 };
    tg_rec(&g, unk);
    tg_rec(&g, junk);                   /* would be a SAMPLE if read as a record */
    tg_rec(&g, junk);
    tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_S), 0, 20, 30, 4, 4, 4, 0);
    tg_end(&g, 100);
    tg_close(&g);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_file(&run, tg_path("n.gstrace")), 0);
    ck_assert_int_eq(run.damaged, 0);
    ck_assert_uint_eq(run.procs[0]->ncalls, 2);
    ana_run_free(&run);

    tg_open(&g, tg_path("z.gstrace"), "host: unit\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_S), 0, 0, 10, 4, 4, 4, 0);
    uint8_t zero[GS_REC_SIZE] = { GS_REC_KERNEL, 0 };
    tg_rec(&g, zero);
    tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_S), 0, 20, 30, 4, 4, 4, 0);
    tg_end(&g, 100);
    tg_close(&g);
    memset(&run, 0, sizeof run);
    ck_assert_int_eq(ana_read_file(&run, tg_path("z.gstrace")), 0);
    ck_assert_int_eq(run.damaged, 1);
    ck_assert_uint_eq(run.procs[0]->ncalls, 1);
    ana_run_free(&run);
}
END_TEST

/* Two NVML GPUs, index 0 flat at 100 W and index 1 with the busy() script;
 * k_lin on CUDA device 0 from 100 to 200 ms.  map: 0 no GPU_DEV record,
 * 1 ordinal 0 -> index 1, 2 ordinal 0 -> not found by NVML. */
static void write_two_gpus(const char *path, int map)
{
    struct tg g;
    tg_open(&g, path, "host: unit\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_string(&g, K_LIN, "k_lin");
    kernel(&g, K_LIN, 100 * MS, 200 * MS, 0);
    tg_end(&g, 1000 * MS);
    tg_thread(&g, 3, GS_STREAM_SAMPLER);
    tg_string(&g, G_NAME, "Test GPU");
    for (unsigned dev = 0; dev < 2; dev++) {
        uint32_t uuid = G_UUID + 10 + dev;
        tg_string(&g, uuid, dev ? "GPU-test-1" : "GPU-test-0");
        uint8_t raw[2 * GS_REC_SIZE] = { 0 };
        struct gs_rec_gpu_info *i = (void *)raw;
        i->type = GS_REC_GPU_INFO; i->nslots = 2; i->device = (uint16_t)dev; i->name = G_NAME; i->uuid = uuid;
        i->energy = GS_GPU_E_COUNTER; i->pci_bus = (dev + 1) << 8;
        tg_rec(&g, raw);
        tg_rec(&g, raw + GS_REC_SIZE);
    }
    if (map) {
        struct gs_rec_gpu_dev d = { .type = GS_REC_GPU_DEV, .nslots = 1, .cuda_ordinal = 0,
                                    .nvml_index = map == 1 ? 1 : GS_GPU_DEV_NONE, .pci = 2 << 8 };
        tg_rec(&g, &d);
    }
    double e0 = 0, e1 = 0;
    for (uint64_t t = 0; t <= 1000 * MS; t += MS) {
        struct gs_rec_nvml s = { .type = GS_REC_NVML, .nslots = 1, .t = t, .t_read = t };
        s.device = 0; s.energy_mj = 5000000 + (uint64_t)llround(e0 * 1e3);
        tg_rec(&g, &s);
        s.device = 1; s.energy_mj = 7000000 + (uint64_t)llround(e1 * 1e3);
        tg_rec(&g, &s);
        e0 += 100.0 * 1e-3;
        e1 += (t >= 100 * MS && t < 200 * MS ? 300.0 : 100.0) * 1e-3;
    }
    tg_close(&g);
}

START_TEST(cuda_ordinal_to_nvml_index)
{
    for (int map = 0; map < 3; map++) {
        char name[32];
        snprintf(name, sizeof name, "map%d.gstrace", map);
        write_two_gpus(tg_path(name), map);
        struct ana_run run = { 0 };
        struct ana_report r;
        ck_assert_int_eq(ana_read_path(&run, tg_path(name)), 0);
        ck_assert_int_eq(run.damaged, 0);
        ck_assert_int_eq(ana_report_build(&run, &r), 0);
        ck_assert_uint_eq(r.gpu->ngpus, 2);
        const struct ana_gpu_row *g0 = NULL, *g1 = NULL;
        for (size_t i = 0; i < 2; i++)
            if (r.gpu->gpus[i].index == 0) g0 = &r.gpu->gpus[i];
            else if (r.gpu->gpus[i].index == 1) g1 = &r.gpu->gpus[i];
        ck_assert_ptr_nonnull(g0);
        ck_assert_ptr_nonnull(g1);
        ck_assert_str_eq(g1->uuid, "GPU-test-1");
        const struct ana_kernel_row *kl = krow(&r, "k_lin");
        ck_assert_ptr_nonnull(kl);
        ck_assert_double_eq_tol(kl->time_s, 0.1, 1e-9);
        int warned = 0;
        for (size_t i = 0; i < run.nwarn; i++)
            warned |= strstr(run.warnings[i], "not matched to NVML indices") != NULL;
        if (map == 1) {                 /* ordinal 0 is index 1: 0.1 s at 300 W */
            ck_assert_double_eq_tol(kl->energy_j, 30.0, 0.5);
            ck_assert_double_eq_tol(g1->kernels_energy_j, 30.0, 0.5);
            ck_assert_double_eq(g0->kernels_energy_j, 0);
            ck_assert_int_eq(warned, 0);
        } else if (map == 2) {          /* NVML did not find it: time, no energy */
            ck_assert_double_eq(kl->energy_j, 0);
            ck_assert_double_eq(g0->kernels_energy_j + g1->kernels_energy_j, 0);
            ck_assert_int_eq(warned, 0);
        } else {                        /* no map: ordinal = index, said so */
            ck_assert_double_eq(g1->kernels_energy_j, 0);
            ck_assert(g0->kernels_energy_j > 0);
            ck_assert_int_eq(warned, 1);
        }
        ana_report_free(&r);
        ana_run_free(&run);
    }
}
END_TEST

/* diff of a GPU trace with itself: the GPU stage adds op and layer rows
 * after the sort (kernels.c op_row, layer_row), rows with no stream index;
 * the even/odd halves must be looked up within the remaps' own lengths
 * (report_more.c ana_more_halves read op_remap, sized at the sort, up to
 * the grown row count: a heap overread, caught by the san_gpu build, and
 * rows from whatever lay there in the release build).  Every row of a
 * trace against itself is within noise, and a row's halves hold its calls. */
START_TEST(diff_gpu_trace_with_itself)
{
    write_run(tg_path("a.gstrace"), 1);
    char *argv[] = { "diff", (char *)tg_path("a.gstrace"), (char *)tg_path("a.gstrace"), "--format", "json",
                     "-o", (char *)tg_path("diff.json"), NULL };
    ck_assert_int_eq(cmd_diff(7, argv), 0);
    FILE *f = fopen(tg_path("diff.json"), "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int rows = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "\"kind\": ")) {
            rows++;
            ck_assert_msg(strstr(line, "\"verdict\": \"within noise\""), "not within noise: %s", line);
        }
    fclose(f);
    ck_assert_int_ge(rows, 4);

    struct ana_run run = { 0 };
    struct ana_report r;
    ck_assert_int_eq(ana_read_path(&run, tg_path("a.gstrace")), 0);
    ck_assert_int_eq(ana_report_build(&run, &r), 0);
    struct ana_more_opts mo = { .carbon_g_kwh = -1 };
    ana_report_more(&r, &mo);
    /* the premise: the GPU stage added op rows (the CUDA API's) after the sort */
    ck_assert_uint_gt(r.nops, r.nop_remap);
    for (int is_layer = 0; is_layer < 2; is_layer++)
        for (size_t i = 0; i < (is_layer ? r.nlayers : r.nops); i++) {
            double h[2][3];
            ana_more_halves(&r, is_layer, i, h);
            uint64_t calls = is_layer ? r.layers[i].calls : r.ops[i].calls;
            if (!is_layer && i >= r.nop_remap)
                calls = 0;              /* not in the call stream: no halves */
            ck_assert_double_eq(h[0][2] + h[1][2], (double)calls);
        }
    ana_report_free(&r);
    ana_run_free(&run);
}
END_TEST

int main(void)
{
    TG_RUN_SUITE("gpu", tg_setup, tg_teardown, 0,
                 kernels_layers_energy,
                 one_device_across_processes,
                 nslots_rules,
                 kernel_before_the_window,
                 cuda_ordinal_to_nvml_index,
                 diff_gpu_trace_with_itself);
}
