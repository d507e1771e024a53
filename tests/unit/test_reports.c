/* test_reports.c - the pieces behind the people-facing reports: number
 * formatting (significant digits, SI prefixes after rounding, display
 * width), the DVFS recommendation reader (fields, curve, refusals), filter
 * options, and the report_more stage on a synthetic trace (headline shares,
 * steady state, power bins integrating to the energy, carbon) and the
 * Perfetto export of GPU records (launch, kernel track, flow arrow).  Check
 * framework; exit status non-zero on failure. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"
#include "tracegen.h"

static void setup(void) { tg_setup(); }
static void teardown(void) { tg_teardown(); }

START_TEST(significant_digits)
{
    char b[64];
    ck_assert_str_eq(ana_sig(0.00372, 3, b, sizeof b), "0.00372");
    ck_assert_str_eq(ana_sig(9.996, 3, b, sizeof b), "10.0");
    ck_assert_str_eq(ana_sig(123.4, 3, b, sizeof b), "123");
    ck_assert_str_eq(ana_sig(0, 3, b, sizeof b), "0");
    ck_assert_str_eq(ana_sig(-2.5, 3, b, sizeof b), "-2.50");
    ck_assert_str_eq(ana_sig(3.2e-7, 3, b, sizeof b), "3.2e-07");
    ck_assert_str_eq(ana_si(0.00372, "J", b, sizeof b), "3.72 mJ");
    ck_assert_str_eq(ana_si(0.0009996, "J", b, sizeof b), "1.00 mJ");   /* the prefix after rounding */
    ck_assert_str_eq(ana_si(1500, "J", b, sizeof b), "1.50 kJ");
    ck_assert_str_eq(ana_si(0, "J", b, sizeof b), "0 J");
    ck_assert_str_eq(ana_si(4.2e-5, "s", b, sizeof b), "42.0 us");
    ck_assert_str_eq(ana_dur(5000, b, sizeof b), "5000 s");
    ck_assert_uint_eq(ana_width("linear 784\xe2\x86\x92" "128"), 14);
    ck_assert_uint_eq(ana_width(""), 0);
    ck_assert_str_eq(ana_pct(0.385, b, sizeof b), "38.5%");
    ck_assert_str_eq(ana_pct(0.00037, b, sizeof b), "0.037%");   /* not "0.0%" */
    ck_assert_str_eq(ana_pct(0, b, sizeof b), "0.0%");
}
END_TEST

static int dvfs_from(const char *text, struct ana_dvfs *d, char *err)
{
    FILE *f = fopen(tg_path("rec.json"), "w");
    fputs(text, f);
    fclose(f);
    return ana_dvfs_read(tg_path("rec.json"), d, err, 256);
}

START_TEST(dvfs_recommendation)
{
    static struct ana_dvfs d;
    char err[256];
    ck_assert_int_eq(dvfs_from("{\"format_version\": 1, \"objective\": \"energy\", \"max_slowdown_pct\": 5, \"extra\": [1, {\"a\": null}],"
                               " \"recommendations\": [{\"knob\": \"cpu_freq_khz\", \"device\": null, \"layer\": \"fc1\","
                               " \"baseline\": 3000000, \"recommended\": 2200000, \"predicted_time_s\": 0.5,"
                               " \"predicted_energy_j\": 1.5, \"energy_saving_pct\": 12.5, \"slowdown_pct\": 3,"
                               " \"provenance\": \"fitted\", \"uncertainty_pct\": 4,"
                               " \"curve\": [{\"setting\": 2e6, \"time_s\": 0.6, \"energy_j\": 1.6},"
                               " {\"setting\": 3e6, \"time_s\": 0.48, \"energy_j\": 1.7}]},"
                               " {\"knob\": \"gpu_power_limit_w\", \"device\": 0, \"layer\": null, \"baseline\": 300,"
                               " \"recommended\": 250}]}", &d, err), 0);
    ck_assert_int_eq(d.nrec, 2);
    ck_assert_str_eq(d.objective, "energy");
    ck_assert(d.max_slowdown_pct == 5);
    ck_assert_str_eq(d.rec[0].knob, "cpu_freq_khz");
    ck_assert_str_eq(d.rec[0].layer, "fc1");
    ck_assert_int_eq(d.rec[0].device, -1);
    ck_assert(d.rec[0].recommended == 2200000 && d.rec[0].saving_pct == 12.5);
    ck_assert_int_eq(d.rec[0].npts, 2);
    ck_assert(d.rec[0].pt_set[1] == 3e6 && d.rec[0].pt_energy[1] == 1.7);
    ck_assert_int_eq(d.rec[1].device, 0);
    ck_assert_str_eq(d.rec[1].layer, "");
    /* the DVFS stage's own output: no curve, a fit per recommendation -> a curve from the model */
    ck_assert_int_eq(dvfs_from("{\"recommendations\": [{\"knob\": \"cpu_freq_khz\", \"layer\": \"fc1 linear 784\\u2192128\","
                               " \"baseline\": 3000000, \"recommended\": 2000000}],"
                               " \"fits\": [{\"knob\": \"cpu_freq_khz\", \"layer\": \"fc1 linear 784\\u2192128\", \"reference\": 3000000,"
                               " \"t_scaling_s\": 1, \"t_fixed_s\": 1, \"p_static_w\": 10, \"p_dynamic_w\": 20, \"alpha\": 3,"
                               " \"power_held_above\": null, \"time_flat_above\": null}]}", &d, err), 0);
    ck_assert_str_eq(d.rec[0].layer, "fc1 linear 784\xe2\x86\x92" "128");
    ck_assert_int_eq(d.rec[0].npts, 25);
    ck_assert_int_eq(d.rec[0].curve_from_fit, 1);
    /* the last point is the reference: time 1/1 + 1 = 2 s, power 10 + 20 = 30 W, 60 J */
    ck_assert(fabs(d.rec[0].pt_set[24] - 3e6) < 1e-6);
    ck_assert(fabs(d.rec[0].pt_time[24] - 2) < 1e-9 && fabs(d.rec[0].pt_energy[24] - 60) < 1e-9);
    /* at half the clock: 1/0.5 + 1 = 3 s, 10 + 20/8 = 12.5 W */
    for (int k = 0; k < d.rec[0].npts; k++)
        if (fabs(d.rec[0].pt_set[k] - 1.5e6) < 1)
            ck_assert(fabs(d.rec[0].pt_energy[k] - 37.5) < 1e-9);
    /* refusals: a string where a number belongs, no array, trailing text, not JSON */
    ck_assert_int_ne(dvfs_from("{\"recommendations\": [{\"baseline\": \"3000000\"}]}", &d, err), 0);
    ck_assert_ptr_nonnull(strstr(err, "number"));
    ck_assert_int_ne(dvfs_from("{\"objective\": \"energy\"}", &d, err), 0);
    ck_assert_ptr_nonnull(strstr(err, "recommendations"));
    ck_assert_int_ne(dvfs_from("{\"recommendations\": []} x", &d, err), 0);
    ck_assert_int_ne(dvfs_from("not json", &d, err), 0);
    ck_assert_int_ne(ana_dvfs_read(tg_path("missing.json"), &d, err, sizeof err), 0);
}
END_TEST

START_TEST(filter_options)
{
    struct ana_filter f;
    memset(&f, 0, sizeof f);
    char *argv[] = { "report", "--tid", "7,9", "--from=1.5", "--region", "model/fc1", "--to", "x", "--other" };
    int i = 1;
    ck_assert_int_eq(ana_filter_parse(&f, 9, argv, &i, "report"), 1);
    ck_assert_int_eq(i, 2);
    ck_assert_int_eq(f.ntid, 2);
    ck_assert_uint_eq(f.tid[1], 9);
    i = 3;
    ck_assert_int_eq(ana_filter_parse(&f, 9, argv, &i, "report"), 1);
    ck_assert(f.from_s == 1.5);
    i = 4;
    ck_assert_int_eq(ana_filter_parse(&f, 9, argv, &i, "report"), 1);
    ck_assert_str_eq(f.region, "model/fc1");
    i = 6;
    ck_assert_int_eq(ana_filter_parse(&f, 9, argv, &i, "report"), -1);   /* --to x */
    i = 8;
    ck_assert_int_eq(ana_filter_parse(&f, 9, argv, &i, "report"), 0);    /* not a filter option */
    ck_assert_ptr_nonnull(strstr(f.desc, "--tid 7,9"));
}
END_TEST

/* 10 W measured for 1 s; mlp_train's loop (3 linear layers: 3 forward and
 * 5 backward products, as examples/mlp_train.c calls them) x 100 iterations
 * from 0.2 s to ~0.8 s */
START_TEST(more_stage)
{
    struct tg g;
    tg_open(&g, tg_path("m.gstrace"),
            "host: unit\ndomain.0: name=package-0 kind=energy unit=uJ source=rapl provenance=measured sum=1 max_range=1000000000\n");
    tg_thread(&g, 1, GS_STREAM_SAMPLER);
    for (uint64_t t = 0; t <= 1000000000ull; t += 10000000ull)
        tg_sample(&g, 0, GS_SAMPLE_ENERGY_UJ, t, t / 100);   /* 10 W: 10 uJ per us */
    tg_thread(&g, 2, GS_STREAM_THREAD);
    static const struct { uint16_t fl; uint32_t m, n, k; } seq[8] = {
        { 0, 64, 128, 784 }, { 0, 64, 64, 128 }, { 0, 64, 10, 64 },
        { (1 << 2), 64, 10, 64 }, { (1 << 4), 64, 64, 10 }, { (1 << 2), 128, 64, 64 },
        { (1 << 4), 64, 128, 64 }, { (1 << 2), 784, 128, 64 },
    };
    for (int it = 0; it < 100; it++)
        for (int l = 0; l < 8; l++) {
            uint64_t t0 = 200000000ull + (uint64_t)(it * 8 + l) * 750000ull;
            tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_S), seq[l].fl, t0, t0 + 500000, seq[l].m, seq[l].n, seq[l].k, 0);
        }
    tg_end(&g, 1000000000ull);
    tg_close(&g);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_path(&run, tg_path("m.gstrace")), 0);
    struct ana_report r;
    ana_report_build(&run, &r);
    struct ana_more_opts o = { .carbon_g_kwh = 360, .carbon_src = "test" };
    ana_report_more(&r, &o);
    const struct ana_more *m = r.more;
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(fabs(r.total_j - 10) < 1e-6, "total %g", r.total_j);
    /* power bins integrate to the total */
    double e = 0;
    for (size_t k = 0; k < m->nbins; k++)
        e += m->bin_w[k] * m->bin_s;
    ck_assert_msg(fabs(e - r.total_j) < 1e-6, "bins %g J, total %g J", e, r.total_j);
    size_t mid = m->nbins / 2, early = m->nbins / 20;      /* 0.5 s: in the loop; 0.05 s: before it */
    ck_assert_msg(fabs(m->bin_w[mid] - 10) < 1e-6, "bin power %g", m->bin_w[mid]);
    /* bins inside the loop carry a layer, bins before it none */
    ck_assert_int_eq(m->bin_layer[early], -1);
    ck_assert_int_ge(m->bin_layer[mid], 0);
    /* steady state: 100 iterations from 0.2 s to ~0.799 s, 10 W */
    ck_assert_int_eq(m->steady_iters, 100);
    ck_assert_msg(fabs(m->steady_t0_s - 0.2) < 1e-9, "from %g", m->steady_t0_s);
    ck_assert_msg(fabs(m->steady_j - 10 * (m->steady_t1_s - m->steady_t0_s)) < 1e-6, "steady %g J", m->steady_j);
    /* headline shares */
    ck_assert_int_ge(m->top_layer, 0);
    ck_assert_msg(fabs(m->top_layer_share_j - r.layers[m->top_layer].energy_j / r.total_j) < 1e-12, "share");
    ck_assert_msg(fabs(m->outside_share_j - r.outside_j / r.total_j) < 1e-12, "outside share");
    /* carbon: J / 3.6e6 x g/kWh */
    ck_assert_msg(fabs(ana_co2_g(&r, r.total_j) - 10 / 3.6e6 * 360) < 1e-12, "co2");
    ck_assert_str_eq(m->carbon_src, "test");
    ck_assert_uint_eq(m->nthreads, 2);
    ck_assert_uint_eq(m->threads[0].calls, 800);
    ana_report_free(&r);
    ana_run_free(&run);
}
END_TEST

/* Perfetto export of the GPU records: the launch on its thread, the kernel
 * on its GPU stream's track, one flow arrow between them */
START_TEST(perfetto_gpu)
{
    struct tg g;
    tg_open(&g, tg_path("g.gstrace"), "host: unit\n");
    tg_thread(&g, 5, GS_STREAM_THREAD);
    tg_string(&g, GS_STR_ID_GPU + 1, "k_lin");
    for (uint32_t i = 0; i < 3; i++) {
        uint64_t t = 1000000 + i * 1000000ull;
        struct gs_rec_api a = { .type = GS_REC_API, .nslots = 1, .fn = GS_API_cudaLaunchKernel, .t0 = t, .dt = 5000,
                                .corr = 10 + i, .kernel = GS_STR_ID_GPU + 1 };
        tg_rec(&g, &a);
        uint8_t raw[2 * GS_REC_SIZE] = { 0 };
        struct gs_rec_kernel k = { .type = GS_REC_KERNEL, .nslots = 2, .name = GS_STR_ID_GPU + 1, .start = t + 20000,
                                   .end = t + 220000, .corr = 10 + i, .stream = 7, .grid_x = 8, .block_x = 128 };
        memcpy(raw, &k, sizeof k);
        tg_rec(&g, raw);
        tg_rec(&g, raw + GS_REC_SIZE);
    }
    tg_end(&g, 5000000);
    tg_close(&g);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_path(&run, tg_path("g.gstrace")), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    void *ctx = ana_export_perfetto.begin(&run, o);
    ana_sink_add(&run, ana_export_perfetto.event, ctx);
    struct ana_report r;
    ana_report_build(&run, &r);
    ck_assert_int_eq(ana_export_perfetto.end(ctx, &r), 0);
    fclose(o);
    if (getenv("GS_DEBUG_PF")) fputs(buf, stderr);
    int kernels = 0, launches = 0, s = 0, f = 0, track = 0;
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
        kernels += strstr(l, "\"cat\": \"kernel\", \"name\": \"k_lin\"") && strstr(l, "\"tid\": 1073741824") != NULL;
        launches += strstr(l, "\"name\": \"cudaLaunchKernel\"") && strstr(l, "\"tid\": 5,") != NULL;
        s += strstr(l, "\"ph\": \"s\"") && strstr(l, "\"id\": \"4242:11\"") != NULL;
        f += strstr(l, "\"ph\": \"f\"") && strstr(l, "\"id\": \"4242:11\"") != NULL;
        track += strstr(l, "\"GPU 0 stream 7\"") != NULL;
    }
    ck_assert_int_eq(kernels, 3);
    ck_assert_int_eq(launches, 3);
    ck_assert_int_eq(s, 1);
    ck_assert_int_eq(f, 1);
    ck_assert_int_eq(track, 1);
    free(buf);
    ana_report_free(&r);
    ana_run_free(&run);
}
END_TEST

int main(void)
{
    TG_RUN_SUITE("reports", setup, teardown, 0,
                 significant_digits,
                 dvfs_recommendation,
                 filter_options,
                 more_stage,
                 perfetto_gpu);
}
