/* test_analyzer_more.c - the analyzer paths test_analyzer.c leaves out:
 * TSC clock fit, task-clock weights, counters, the idle_watts key, unclean
 * exit, damage kinds (bad chunk, unknown record < 16, unknown version,
 * short header), record types >= 16 skipped, warm-up before the period,
 * several same-shaped layers, no period, the JSON/CSV contract and the
 * dump visitor.  Check framework; exit status non-zero on failure. */
#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
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
#define SGEMM GS_OP(GS_R_GEMM, GS_DT_S)
#define TEXT_MODEL "host: unit\ndomain.0: name=cpu-model kind=cpu unit=ns source=model provenance=modelled sum=1 watts_per_core=10\n"

static void build(struct ana_run *run, struct ana_report *r, const char *path)
{
    memset(run, 0, sizeof *run);
    ck_assert_int_eq(ana_read_path(run, path), 0);
    ck_assert_int_eq(tg_build(run, r), 0);
}

/* overwrite bytes of a written file */
static void patch(const char *path, long off, const void *v, size_t n)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, v, n, off), (ssize_t)n);
    close(fd);
}

static void ten_watts(struct tg *g, uint32_t tid, int n, uint64_t step)
{
    tg_thread(g, tid, GS_STREAM_SAMPLER);
    for (int i = 0; i <= n; i++)      /* 1 busy core at 10 W per core */
        tg_sample(g, 0, GS_SAMPLE_CPU_NS, (uint64_t)i * step, (uint64_t)i * step);
}

/* TSC clock: ticks at 2.5 GHz from tsc 1e6 = mono 5e9 ns; the header's
 * tsc_hz (1 GHz) is wrong on purpose: the fit over CLOCK records wins */
START_TEST(tsc_clock_fit)
{
    const char *p = tpath("c.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    /* 1 ms call = 2.5e6 ticks, starting 1 s after start */
    uint64_t t0 = 1000000 + 2500000000ull;
    tg_call(&g, SGEMM, RM, t0, t0 + 2500000, 4, 4, 4, 0);
    tg_thread(&g, 9, GS_STREAM_SAMPLER);
    for (int i = 1; i <= 4; i++) {
        struct gs_rec_clock c = { .type = i == 4 ? GS_REC_END : GS_REC_CLOCK,
                                  .tsc = 1000000 + (uint64_t)i * 2500000000ull,
                                  .mono_ns = 5000000000ull + (uint64_t)i * 1000000000ull };
        tg_rec(&g, &c);
    }
    tg_close(&g);
    uint32_t clock = GS_CLOCK_TSC;
    uint64_t pair[2] = { 1000000, 5000000000ull };
    patch(p, offsetof(struct gs_file_header, clock), &clock, 4);
    patch(p, offsetof(struct gs_file_header, start_tsc), pair, 16);

    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    struct ana_proc *pr = run.procs[0];
    ck_assert_double_eq_tol(pr->clk_b, 0.4, 1e-9);
    ck_assert_uint_eq(tg_calls[0].t0, 6000000000ull);
    ck_assert_uint_eq(tg_calls[0].t1 - tg_calls[0].t0, 1000000);
    ck_assert_double_eq_tol(r.duration_s, 4.0, 1e-6);
    ck_assert_double_eq_tol(r.ops[0].time_s, 1e-3, 1e-9);
    ck_assert_int_eq(pr->clean_exit, 1);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* With no CLOCK records, the header's tsc_hz converts */
START_TEST(tsc_fallback_to_hz)
{
    const char *p = tpath("h.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, SGEMM, RM, 2000, 4000, 4, 4, 4, 0);
    tg_close(&g);
    uint32_t clock = GS_CLOCK_TSC;
    uint64_t hz = 2000000000ull;         /* 2 ticks per ns */
    patch(p, offsetof(struct gs_file_header, clock), &clock, 4);
    patch(p, offsetof(struct gs_file_header, tsc_hz), &hz, 8);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    ck_assert_uint_eq(tg_calls[0].t1 - tg_calls[0].t0, 1000);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* Two overlapping calls; task-clock says the first used 1 core, the
 * second 1/4 core: the overlap's energy splits 4:1 */
START_TEST(task_clock_weights_and_counters)
{
    const char *p = tpath("k.gstrace");
    struct tg g;
    tg_open(&g, p, TEXT_MODEL "events.live: TASK-CLOCK,page-faults\nevents.kind: software\n"
                             "counters.policy: every call\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, SGEMM, RM | GS_F_COUNTERS, 0, 200000000, 8, 8, 8, 0);
    struct gs_rec_counters c1 = { .type = GS_REC_COUNTERS, .nvals = 2, .delta = { 200000000, 3 } };
    tg_rec(&g, &c1);
    tg_thread(&g, 2, GS_STREAM_THREAD);
    tg_call(&g, GS_OP(GS_R_GEMV, GS_DT_D), RM | GS_F_COUNTERS, 100000000, 300000000, 8, 8, 0, 0);
    struct gs_rec_counters c2 = { .type = GS_REC_COUNTERS, .nvals = 2, .delta = { 50000000, 4 } };
    tg_rec(&g, &c2);
    tg_call(&g, GS_OP(GS_R_GEMV, GS_DT_D), RM, 400000000, 500000000, 8, 8, 0, 0);   /* no counters */
    tg_end(&g, 1000000000);
    ten_watts(&g, 9, 10, 100000000);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    const struct ana_call *a = &tg_calls[0], *b = &tg_calls[1];
    ck_assert_uint_eq(a->op, SGEMM);
    /* 0-0.1 alone: 1 J; 0.1-0.2 shared 1 : 0.25 -> 0.8 / 0.2; 0.2-0.3 b alone */
    ck_assert_double_eq_tol(a->energy_j, 1.8, 1e-9);
    ck_assert_double_eq_tol(b->energy_j, 1.2, 1e-9);
    ck_assert_int_eq(r.reconciled, 1);
    ck_assert_uint_eq(r.ctr_calls, 2);
    ck_assert_int_eq(r.nctr, 2);
    ck_assert_str_eq(r.ctr_names[0], "TASK-CLOCK");
    ck_assert_double_eq(r.ctr_tot[0], 250000000);
    ck_assert_double_eq(r.ctr_tot[1], 7);
    ck_assert_str_eq(r.events_kind, "software");
    ck_assert_str_eq(r.policy, "every call");
    int seen = 0;
    for (size_t i = 0; i < r.nops; i++)
        if (!strcmp(r.ops[i].op, "dgemv")) {
            seen = 1;
            ck_assert_uint_eq(r.ops[i].calls, 2);
            ck_assert_uint_eq(r.ops[i].ctr_calls, 1);
            ck_assert_double_eq(r.ops[i].ctr[1], 4);
            ck_assert_double_eq(r.ops[i].flops, 2 * 2 * 8 * 8);
        }
    ck_assert_int_eq(seen, 1);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* one 0.5 s sgemm in a 1 s process at a modelled 10 W, header text given */
static void idle_run(const char *name, const char *text, struct ana_run *run, struct ana_report *r)
{
    const char *p = tpath(name);
    struct tg g;
    tg_open(&g, p, text);
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, SGEMM, RM, 0, 500000000, 8, 8, 8, 0);
    tg_end(&g, 1000000000);
    ten_watts(&g, 9, 10, 100000000);
    tg_close(&g);
    build(run, r, p);
}

/* idle_watts in the header wins; net = total - idle x duration; per layer too */
START_TEST(idle_from_header)
{
    struct ana_run run; struct ana_report r;
    idle_run("i.gstrace", TEXT_MODEL "idle_watts: 4\n", &run, &r);
    ck_assert_str_eq(r.idle_source, "GREENSHIM_IDLE_WATTS");
    ck_assert_double_eq_tol(r.idle_w, 4, 1e-12);
    ck_assert_double_eq_tol(r.total_j, 10, 1e-9);
    ck_assert_double_eq_tol(r.net_j, 10 - 4 * 1.0, 1e-9);
    ck_assert_double_eq_tol(r.outside_s, 0.5, 1e-9);
    ck_assert_double_eq_tol(r.outside_j, 5, 1e-9);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* modelled energy without idle_watts: 0 W idle (the model draws nothing
 * without CPU time), so net = total; the lowest window of this busy 10 W
 * run is no idle baseline (it made net 0 and outside's net negative) */
START_TEST(idle_modelled_is_zero)
{
    struct ana_run run; struct ana_report r;
    idle_run("im.gstrace", TEXT_MODEL, &run, &r);
    ck_assert_str_eq(r.provenance, "modelled");
    ck_assert_double_eq_tol(r.idle_w, 0, 1e-12);
    ck_assert(strstr(r.idle_source, "model") != NULL);
    ck_assert_double_eq_tol(r.total_j, 10, 1e-9);
    ck_assert_double_eq_tol(r.net_j, 10, 1e-9);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* no END record: valid, noted, not damage */
START_TEST(unclean_exit_is_not_damage)
{
    const char *p = tpath("u.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    for (int i = 0; i < 5; i++)
        tg_call(&g, SGEMM, RM, i * 10, i * 10 + 5, 4, 4, 4, 0);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    ck_assert_int_eq(run.damaged, 0);
    ck_assert_int_eq(run.procs[0]->clean_exit, 0);
    ck_assert_uint_eq(r.total_calls, 5);
    int noted = 0;
    for (size_t i = 0; i < run.nwarn; i++)
        noted |= strstr(run.warnings[i], "did not exit cleanly") != NULL;
    ck_assert_int_eq(noted, 1);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

static void three_calls_then(struct tg *g, const char *p, uint8_t type)
{
    tg_open(g, p, "host: unit\n");
    tg_thread(g, 1, GS_STREAM_THREAD);
    for (int i = 0; i < 3; i++)
        tg_call(g, SGEMM, RM, i * 10, i * 10 + 5, 4, 4, 4, 0);
    uint8_t raw[GS_REC_SIZE] = { type, 1, 2, 3 };
    tg_rec(g, raw);
    for (int i = 3; i < 6; i++)
        tg_call(g, SGEMM, RM, i * 10, i * 10 + 5, 4, 4, 4, 0);
    tg_end(g, 100);
    tg_close(g);
}

/* a GPU record (type 16+) is skipped; a type < 16 the reader does not know
 * is damage at its offset, the calls before it are kept */
START_TEST(unknown_record_types)
{
    struct tg g;
    three_calls_then(&g, tpath("g.gstrace"), GS_REC_KERNEL);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_file(&run, tpath("g.gstrace")), 0);
    ck_assert_int_eq(run.damaged, 0);
    ck_assert_uint_eq(run.procs[0]->ncalls, 6);
    ana_run_free(&run);

    three_calls_then(&g, tpath("b.gstrace"), 12);
    memset(&run, 0, sizeof run);
    ck_assert_int_eq(ana_read_file(&run, tpath("b.gstrace")), 0);
    ck_assert_int_eq(run.damaged, 1);
    ck_assert_uint_eq(run.procs[0]->ncalls, 3);
    size_t off = GS_HEADER_SIZE + 4 * GS_REC_SIZE;
    ck_assert_uint_eq(run.procs[0]->damage_off, off);
    ck_assert_uint_eq(run.nerr, 1);
    char want[64];
    snprintf(want, sizeof want, "corrupt at offset %zu", off);
    ck_assert_ptr_nonnull(strstr(run.errors[0], want));
    ck_assert_ptr_nonnull(strstr(run.errors[0], "b.gstrace"));
    ana_run_free(&run);
}
END_TEST

/* a bad chunk magic: the chunks before it are read, the error names it */
START_TEST(bad_chunk_magic)
{
    const char *p = tpath("m.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    for (int i = 0; i < 200; i++)     /* 84 a chunk: 3 chunks */
        tg_call(&g, SGEMM, RM, i * 10, i * 10 + 5, 4, 4, 4, 0);
    tg_close(&g);
    uint32_t junk = 0xdeadbeef;
    patch(p, GS_HEADER_SIZE + TG_CHUNK, &junk, 4);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_file(&run, p), 0);
    ck_assert_int_eq(run.damaged, 1);
    ck_assert_uint_eq(run.procs[0]->ncalls, 84);
    ck_assert_uint_eq(run.procs[0]->damage_off, GS_HEADER_SIZE + TG_CHUNK);
    ck_assert_ptr_nonnull(strstr(run.errors[0], "bad chunk magic"));
    ana_run_free(&run);
}
END_TEST

/* truncation: the error names the file and the offset of the cut record */
START_TEST(truncated_error_offset)
{
    const char *p = tpath("t.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    for (int i = 0; i < 50; i++)
        tg_call(&g, SGEMM, RM, i * 10, i * 10 + 5, 4, 4, 4, 0);
    tg_close(&g);
    size_t cut = GS_HEADER_SIZE + 21 * GS_REC_SIZE + 7;   /* inside record 21 (call 21) */
    ck_assert_int_eq(truncate(p, (off_t)cut), 0);
    struct ana_run run; struct ana_report r;
    memset(&run, 0, sizeof run);
    ck_assert_int_eq(ana_read_file(&run, p), 0);
    ck_assert_int_eq(run.damaged, 1);
    ck_assert_uint_eq(run.procs[0]->ncalls, 20);
    char want[64];
    snprintf(want, sizeof want, "truncated at offset %zu", cut - 7);
    ck_assert_ptr_nonnull(strstr(run.errors[0], want));
    ck_assert_int_eq(tg_build(&run, &r), 0);
    ck_assert_uint_eq(r.total_calls, 20);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* header-level damage: errors with offsets, no process */
START_TEST(header_errors)
{
    const char *p = tpath("v.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\n");
    tg_close(&g);
    uint32_t v = 99;
    patch(p, 8, &v, 4);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_file(&run, p), -1);
    ck_assert_ptr_nonnull(strstr(run.errors[0], "unknown trace format version 99"));
    ck_assert_ptr_nonnull(strstr(run.errors[0], "at offset 8"));
    ana_run_free(&run);

    FILE *f = fopen(p, "wb");
    fwrite(GS_TRACE_MAGIC, 1, 8, f);
    fclose(f);
    memset(&run, 0, sizeof run);
    ck_assert_int_eq(ana_read_file(&run, p), -1);
    ck_assert_ptr_nonnull(strstr(run.errors[0], "header too short"));
    ana_run_free(&run);

    memset(&run, 0, sizeof run);
    const char *empty = tpath("empty");
    ck_assert_int_eq(mkdir(empty, 0700), 0);
    ck_assert_int_eq(ana_read_path(&run, empty), -1);   /* a directory without traces */
    ck_assert_ptr_nonnull(strstr(run.errors[0], "no .gstrace files"));
    ana_run_free(&run);
}
END_TEST

/* a warm-up call before a periodic stream; two same-shaped 128->128 layers
 * between 64->128 and 128->10 (batch 16) */
START_TEST(layers_warmup_and_repeated_shape)
{
    const char *p = tpath("l.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\n");
    tg_thread(&g, 3, GS_STREAM_THREAD);
    uint32_t d[4][2] = { { 64, 128 }, { 128, 128 }, { 128, 128 }, { 128, 10 } }, B = 16;
    uint64_t t = 0;
    tg_call(&g, GS_OP(GS_R_GEMV, GS_DT_S), RM, t, t + 1, 512, 10, 0, 0);   /* warm-up */
    t += 2;
    for (int s = 0; s < 5; s++) {
        for (int l = 0; l < 4; l++) {
            tg_call(&g, SGEMM, RM | GS_F_MK_TRANSB(1), t, t + 1, B, d[l][1], d[l][0], 0);
            t += 2;
        }
        for (int l = 3; l >= 0; l--) {
            tg_call(&g, SGEMM, RM | GS_F_MK_TRANSA(1), t, t + 1, d[l][1], d[l][0], B, 0);
            t += 2;
            if (l) {
                tg_call(&g, SGEMM, RM, t, t + 1, B, d[l][0], d[l][1], 0);
                t += 2;
            }
        }
    }
    tg_end(&g, t);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    ck_assert_int_eq(r.iterations, 5);
    ck_assert_uint_ge(r.nlayers, 4);
    ck_assert_str_eq(r.layers[0].name, "linear 64\u2192128");
    ck_assert_str_eq(r.layers[1].name, "linear 128\u2192128");      /* equal names: " #2", " #3" */
    ck_assert_str_eq(r.layers[2].name, "linear 128\u2192128 #2");
    ck_assert_str_eq(r.layers[3].name, "linear 128\u219210");
    ck_assert_uint_eq(r.layers[0].calls, 10);
    ck_assert_uint_eq(r.layers[1].calls, 15);
    ck_assert_uint_eq(r.layers[2].calls, 15);
    ck_assert_uint_eq(r.layers[3].calls, 15);
    uint64_t sum = 0;
    for (size_t i = 0; i < r.nlayers; i++)
        sum += r.layers[i].calls;
    ck_assert_uint_eq(sum, 1 + 5 * 11);        /* the warm-up gemv lands somewhere */
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* no repetition: iterations stays unknown (-1, JSON null) */
START_TEST(no_period)
{
    const char *p = tpath("n.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\n");
    tg_thread(&g, 3, GS_STREAM_THREAD);
    for (uint32_t i = 1; i <= 40; i++)
        tg_call(&g, SGEMM, RM, i * 10, i * 10 + 5, i, i + 1, i + 2, 0);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    ck_assert_int_eq(r.iterations, -1);
    char *buf = NULL; size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    ana_render_json.render(&r, o);
    fclose(o);
    ck_assert_ptr_nonnull(strstr(buf, "\"iterations\": null"));
    ck_assert_ptr_nonnull(strstr(buf, "\"energy_j_per_iter\": null"));
    free(buf);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* the JSON and CSV contracts: the keys others build on */
START_TEST(json_and_csv_contract)
{
    const char *p = tpath("j.gstrace");
    struct tg g;
    tg_open(&g, p, TEXT_MODEL "sampler.hz: 100\nevents.live: none\nevents.kind: none\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_string(&g, 5, "model/fc1");
    tg_region(&g, 1, 5, 0);
    tg_call(&g, SGEMM, RM, 100000000, 300000000, 8, 8, 8, 5);
    tg_region(&g, 0, 5, 400000000);
    tg_end(&g, 1000000000);
    ten_watts(&g, 9, 10, 100000000);
    struct gs_rec_sample s = { .type = GS_REC_SAMPLE, .kind = GS_SAMPLE_SAMPLER_NS, .t = 1000000000,
                               .value = 20000000 };
    tg_rec(&g, &s);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tg_dir);                   /* a directory: scanned for *.gstrace */
    char *buf = NULL; size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    ana_render_json.render(&r, o);
    fclose(o);
    static const char *keys[] = {
        "\"format_version\": 1", "\"processes\": 1", "\"process_list\"", "\"pid\": 4242", "\"clean_exit\": true",
        "\"duration_s\"", "\"ops\"", "\"op\": \"sgemm\"", "\"api\": \"cblas\"", "\"mean_s\"", "\"gflops\"",
        "\"share\"", "\"shapes\"", "\"transa\": \"N\"", "\"regions\"", "\"name\": \"model/fc1\"", "\"blas_time_s\"",
        "\"outside\"", "\"energy\"", "\"total_j\"", "\"provenance\": \"modelled\"", "\"source\": \"model\"",
        "\"idle_w\"", "\"idle_source\"", "\"net_j\"", "\"reconciled\": true", "\"domains\"", "\"layers\"",
        "\"energy_j_per_iter\"", "\"power_w\"", "\"gflops_per_j\"", "\"net_energy_j\"", "\"iterations\"",
        "\"counters\"", "\"sampled_calls\": 0", "\"sampler\"", "\"hz\": 100", "\"cpu_s\": 0.02", "\"cpu_share\": 0.02",
        "\"warnings\"",
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        ck_assert_msg(strstr(buf, keys[i]) != NULL, "JSON lacks %s:\n%s", keys[i], buf);
    free(buf);
    buf = NULL;
    o = open_memstream(&buf, &len);
    ana_render_csv.render(&r, o);
    fclose(o);
    ck_assert(strncmp(buf, "table,", 6) == 0);
    ck_assert_ptr_nonnull(strstr(buf, "\nop,"));
    ck_assert_ptr_nonnull(strstr(buf, "\nshape,"));
    ck_assert_ptr_nonnull(strstr(buf, "\nregion,"));
    ck_assert_ptr_nonnull(strstr(buf, "\nlayer,"));
    ck_assert_ptr_nonnull(strstr(buf, "\noutside,"));
    ck_assert_ptr_nonnull(strstr(buf, "\nenergy,"));
    free(buf);
    buf = NULL;
    o = open_memstream(&buf, &len);
    ana_render_text.render(&r, o);
    fclose(o);
    ck_assert_ptr_nonnull(strstr(buf, "modelled"));
    free(buf);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* the dump visitor sees every record, in (tid, seq) order, unknowns too */
static int nvisit, types[32];
static void visit(void *ctx, const struct ana_proc *p, uint32_t tid, size_t off, const uint8_t *rec)
{
    (void)ctx; (void)p; (void)tid; (void)off;
    if (nvisit < 32)
        types[nvisit] = rec[0];
    nvisit++;
}

START_TEST(dump_visits_records)
{
    struct tg g;
    three_calls_then(&g, tpath("d.gstrace"), GS_REC_API);
    struct ana_run run = { 0 };
    run.visit = visit;
    nvisit = 0;
    ck_assert_int_eq(ana_read_file(&run, tpath("d.gstrace")), 0);
    ck_assert_int_eq(nvisit, 8);
    ck_assert_int_eq(types[0], GS_REC_CALL);
    ck_assert_int_eq(types[3], GS_REC_API);
    ck_assert_int_eq(types[7], GS_REC_END);
    ana_run_free(&run);
}
END_TEST

/* A read the scheduler interrupted (bracket 300 us) is placed at its middle,
 * after a tight read taken meanwhile: its value looks like a step back of a
 * 4 J counter (4.5 mJ, over the 1/1000-of-range jitter allowance), which was
 * taken for a wrap (+4 J).  The loose read goes: 45 W over 20 ms = 0.9 J. */
START_TEST(loose_read_is_no_wrap)
{
    const char *p = tpath("loose.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\ndomain.0: name=package-0 kind=energy unit=uJ component=cpu scope=machine "
                   "key=rapl:0:package source=rapl provenance=measured sum=1 max_range=4000000\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, SGEMM, RM, 1000000, 19000000, 8, 8, 8, 0);
    /* the loose read on the program's thread: really at 10.0 ms */
    struct gs_rec_sample loose = { .type = GS_REC_SAMPLE, .kind = GS_SAMPLE_ENERGY_UJ, .domain = 0,
                                   .t = 9990000, .t_read = 10290000, .value = 1000000 + 45 * 10000 };
    loose.reserved0 = GS_SAMPLE_AT_BOUNDARY;
    tg_rec(&g, &loose);
    tg_end(&g, 20000000);
    tg_thread(&g, 9, GS_STREAM_SAMPLER);
    for (uint64_t us = 0; us <= 20000; us += 200)   /* 45 W = 45 uJ per us, from 1 J */
        tg_sample(&g, 0, GS_SAMPLE_ENERGY_UJ, us * 1000, 1000000 + 45 * us);
    tg_sample(&g, 0, GS_SAMPLE_ENERGY_UJ, 10100000, 1000000 + 45 * 10100);   /* tight, inside the bracket */
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    ck_assert_str_eq(r.provenance, "measured");
    ck_assert_double_eq_tol(r.total_j, 0.9, 1e-6);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* A TSC trace whose header tsc_hz was calibrated wrong (3.5 MHz; the
 * clock is 2.5 GHz, as the CLOCK records show): the energy reads, 10 us
 * each, are judged in ns of the fitted clock, not of the header's rate
 * (which made each 7 ms long: all dropped as interrupted, no energy). */
START_TEST(read_brackets_in_fitted_ns)
{
    const char *p = tpath("b.gstrace");
    struct tg g;
    tg_open(&g, p, "host: unit\ndomain.0: name=package-0 kind=energy unit=uJ component=cpu scope=machine "
                   "key=rapl:0:package source=rapl provenance=measured sum=1 max_range=262143328850\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    uint64_t t0 = 1000000 + 2500000000ull;
    tg_call(&g, SGEMM, RM, t0, t0 + 2500000, 4, 4, 4, 0);
    tg_thread(&g, 9, GS_STREAM_SAMPLER);
    for (int i = 1; i <= 4; i++) {
        struct gs_rec_clock c = { .type = i == 4 ? GS_REC_END : GS_REC_CLOCK,
                                  .tsc = 1000000 + (uint64_t)i * 2500000000ull,
                                  .mono_ns = 5000000000ull + (uint64_t)i * 1000000000ull };
        tg_rec(&g, &c);
    }
    for (int i = 0; i <= 40; i++) {     /* every 100 ms, 1 J each (10 W) */
        uint64_t tk = 1000000 + (uint64_t)i * 250000000ull;
        struct gs_rec_sample sm = { .type = GS_REC_SAMPLE, .kind = GS_SAMPLE_ENERGY_UJ, .domain = 0,
                                    .t = tk, .t_read = tk + 25000, .value = 5000000 + (uint64_t)i * 1000000 };
        tg_rec(&g, &sm);
    }
    tg_close(&g);
    uint32_t clock = GS_CLOCK_TSC;
    uint64_t pair[2] = { 1000000, 5000000000ull }, hz = 3502459;
    patch(p, offsetof(struct gs_file_header, clock), &clock, 4);
    patch(p, offsetof(struct gs_file_header, start_tsc), pair, 16);
    patch(p, offsetof(struct gs_file_header, tsc_hz), &hz, 8);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    ck_assert_str_eq(r.provenance, "measured");
    ck_assert_double_eq_tol(r.total_j, 40, 1e-6);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

int main(void)
{
    TG_RUN_SUITE("analyzer-more", setup, teardown, 60,
                 tsc_clock_fit,
                 tsc_fallback_to_hz,
                 task_clock_weights_and_counters,
                 idle_from_header,
                 idle_modelled_is_zero,
                 unclean_exit_is_not_damage,
                 unknown_record_types,
                 bad_chunk_magic,
                 truncated_error_offset,
                 header_errors,
                 layers_warmup_and_repeated_shape,
                 no_period,
                 json_and_csv_contract,
                 dump_visits_records,
                 loose_read_is_no_wrap,
                 read_brackets_in_fitted_ns);
}
