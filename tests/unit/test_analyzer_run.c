/* test_analyzer_run.c - a run as one unit and hostile input: machine energy
 * of several processes counted once, process energy added up, the run's
 * span and outside time within the wall, run.id mismatch refused, trace
 * format 2 (records skipped by their slot count, the LOST layout), a FIFO
 * refused without blocking, control characters escaped in text, region ids
 * that cannot size an array, and many distinct regions in linear time.
 * Check framework; exit status non-zero on failure. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ana.h"
#include "tracegen.h"

#define tpath tg_path
#define RM GS_F_ROWMAJOR
#define DGEMM GS_OP(GS_R_GEMM, GS_DT_D)
#define RAPL_OLD "domain.0: name=package-0 kind=energy unit=uJ source=rapl provenance=measured sum=1 max_range=262143328850\n"
#define RAPL_NEW "domain.0: name=package-0 kind=energy unit=uJ source=rapl provenance=measured sum=1 max_range=262143328850 component=cpu scope=machine key=intel-rapl:0\n"
#define MODEL "domain.0: name=cpu-model kind=cpu unit=ns source=model provenance=modelled sum=1 watts_per_core=10\n"

static void patch(const char *path, long off, const void *v, size_t n)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, v, n, off), (ssize_t)n);
    close(fd);
}

static void build(struct ana_run *run, struct ana_report *r, const char *path)
{
    memset(run, 0, sizeof *run);
    ck_assert_int_eq(ana_read_path(run, path), 0);
    ck_assert_int_eq(tg_build(run, r), 0);
}

/* one process: a call 0.2-0.4 s (plus t0 offset), samples of the same
 * counter: 10 W from 0 to 1 s, read every 100 ms (from t_first on) */
static void proc_file(const char *name, const char *text, uint64_t off, int with_samples, uint8_t kind)
{
    struct tg g;
    tg_open(&g, tpath(name), text);
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, DGEMM, RM, off + 200000000, off + 400000000, 8, 8, 8, 0);
    tg_end(&g, off + 900000000);
    if (with_samples) {
        tg_thread(&g, 2, GS_STREAM_SAMPLER);
        for (int i = 0; i <= 10; i++)     /* 10 J per s of counter, either unit */
            tg_sample(&g, 0, kind, (uint64_t)i * 100000000,
                      kind == GS_SAMPLE_ENERGY_UJ ? (uint64_t)i * 1000000 : (uint64_t)i * 100000000);
    }
    tg_close(&g);
}

/* Two processes of a run each read the package counter: ONE series, 10 J */
START_TEST(machine_energy_counted_once)
{
    mkdir(tpath("run"), 0700);
    proc_file("run/a.gstrace", "host: u\nrun.id: r1\n" RAPL_NEW, 0, 1, GS_SAMPLE_ENERGY_UJ);
    proc_file("run/b.gstrace", "host: u\nrun.id: r1\n" RAPL_NEW, 300000000, 1, GS_SAMPLE_ENERGY_UJ);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("run"));
    ck_assert_str_eq(r.provenance, "measured");
    ck_assert_double_eq_tol(r.total_j, 10.0, 1e-6);
    ck_assert_int_eq(r.ndom, 1);
    ck_assert_double_eq_tol(r.dom[0].energy_j, 10.0, 1e-6);
    /* a: 0.2-0.4, b: 0.5-0.7, each alone at 10 W: 2 J + 2 J in calls */
    ck_assert_double_eq_tol(r.calls_j, 4.0, 1e-6);
    ck_assert_int_eq(r.reconciled, 1);
    /* the run's span and time outside every call stay within the wall */
    ck_assert_double_eq_tol(r.duration_s, 1.2, 1e-9);        /* a's start to b's END */
    ck_assert(r.outside_s <= r.duration_s + 1e-12);
    ck_assert_double_eq_tol(r.outside_s, 1.2 - 0.4, 1e-9);   /* calls cover 0.2-0.4 and 0.5-0.7 */
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* Traces from before scope/key: RAPL is the machine's, keyed by name */
START_TEST(old_rapl_domains_are_machine_scope)
{
    mkdir(tpath("old"), 0700);
    proc_file("old/a.gstrace", "host: u\n" RAPL_OLD, 0, 1, GS_SAMPLE_ENERGY_UJ);
    proc_file("old/b.gstrace", "host: u\n" RAPL_OLD, 0, 1, GS_SAMPLE_ENERGY_UJ);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("old"));
    ck_assert_double_eq_tol(r.total_j, 10.0, 1e-6);
    ck_assert_double_eq_tol(r.dom[0].energy_j, 10.0, 1e-6);
    /* both calls 0.2-0.4 at once share it: 1 J each */
    ck_assert_uint_eq(tg_ncalls, 2);
    ck_assert_double_eq_tol(tg_calls[0].energy_j, 1.0, 1e-6);
    ck_assert_double_eq_tol(tg_calls[1].energy_j, 1.0, 1e-6);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* The sweep merges the processes by time whatever their order in the run:
 * five processes (read in name order) whose first calls start in another
 * order (p1 p3 p2 p0 p4, the order that once built a bad heap: p3's calls
 * came 40 ms late and got none of its own modelled energy).  Each process's
 * modelled energy is its own: its one call of 0.2 s at 10 W gets 2 J. */
START_TEST(processes_out_of_start_order)
{
    mkdir(tpath("order"), 0700);
    static const uint64_t off_ms[5] = { 78, 0, 53, 12, 102 };
    for (int i = 0; i < 5; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "order/p%d.gstrace", i);
        proc_file(nm, "host: u\nrun.id: r5\n" MODEL, off_ms[i] * 1000000, 1, GS_SAMPLE_CPU_NS);
    }
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("order"));
    ck_assert_str_eq(r.provenance, "modelled");
    ck_assert_uint_eq(tg_ncalls, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(fabs(tg_calls[i].energy_j - 2.0) < 1e-6, "p%d's call: %g J, want 2 J", i, tg_calls[i].energy_j);
    ck_assert_double_eq_tol(r.calls_j, 10.0, 1e-6);
    ck_assert_int_eq(r.reconciled, 1);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* Machine energy between calls belongs to the region open then on any
 * process of the run: A holds region "outer" open, B makes the only call */
START_TEST(gap_energy_to_another_process_region)
{
    mkdir(tpath("gap"), 0700);
    struct tg g;
    tg_open(&g, tpath("gap/a.gstrace"), "host: u\nrun.id: r\n" RAPL_NEW);
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_string(&g, 7, "outer");
    tg_region(&g, 1, 7, 0);
    tg_region(&g, 0, 7, 1000000000);
    tg_end(&g, 1000000000);
    tg_thread(&g, 2, GS_STREAM_SAMPLER);
    for (int i = 0; i <= 10; i++)
        tg_sample(&g, 0, GS_SAMPLE_ENERGY_UJ, (uint64_t)i * 100000000, (uint64_t)i * 1000000);
    tg_close(&g);
    proc_file("gap/b.gstrace", "host: u\nrun.id: r\n", 0, 0, 0);   /* call 0.2-0.4 s */
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("gap"));
    ck_assert_double_eq_tol(r.total_j, 10.0, 1e-6);
    ck_assert_double_eq_tol(r.calls_j, 2.0, 1e-6);
    ck_assert_double_eq_tol(r.outside_j, 0.0, 1e-6);       /* every gap is inside "outer" */
    ck_assert_int_eq(r.reconciled, 1);
    int found = 0;
    for (size_t i = 0; i < r.nregions; i++)
        if (!strcmp(r.regions[i].name, "outer")) {
            found = 1;
            ck_assert_double_eq_tol(r.regions[i].energy_j, 8.0, 1e-6);
            ck_assert_double_eq_tol(r.regions[i].time_s, 1.0, 1e-9);
        }
    ck_assert_int_eq(found, 1);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* Modelled CPU time is each process's own: it adds up */
START_TEST(process_energy_adds_up)
{
    mkdir(tpath("mod"), 0700);
    proc_file("mod/a.gstrace", "host: u\n" MODEL, 0, 1, GS_SAMPLE_CPU_NS);
    proc_file("mod/b.gstrace", "host: u\n" MODEL, 0, 1, GS_SAMPLE_CPU_NS);
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("mod"));
    ck_assert_str_eq(r.provenance, "modelled");
    ck_assert_double_eq_tol(r.total_j, 20.0, 1e-6);
    /* each process's 10 W go to its own call only: 2 J each */
    ck_assert_double_eq_tol(tg_calls[0].energy_j, 2.0, 1e-6);
    ck_assert_double_eq_tol(tg_calls[1].energy_j, 2.0, 1e-6);
    ck_assert_int_eq(r.reconciled, 1);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

START_TEST(different_runs_refused)
{
    mkdir(tpath("two"), 0700);
    proc_file("two/a.gstrace", "host: u\nrun.id: aaa\n", 0, 0, 0);
    proc_file("two/b.gstrace", "host: u\nrun.id: bbb\n", 0, 0, 0);
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_path(&run, tpath("two")), 0);
    FILE *keep = stderr;
    stderr = fopen("/dev/null", "w");
    ck_assert_int_eq(ana_check_runs(&run, 0, "report"), -1);
    fclose(stderr);
    stderr = keep;
    ck_assert_int_eq(ana_check_runs(&run, 1, "report"), 0);
    ck_assert_uint_ge(run.nwarn, 1);
    ana_run_free(&run);
    /* one run in several files is one run */
    mkdir(tpath("one"), 0700);
    proc_file("one/a.gstrace", "host: u\nrun.id: aaa\n", 0, 0, 0);
    proc_file("one/b.gstrace", "host: u\nrun.id: aaa\n", 0, 0, 0);
    memset(&run, 0, sizeof run);
    ck_assert_int_eq(ana_read_path(&run, tpath("one")), 0);
    ck_assert_int_eq(ana_check_runs(&run, 0, "report"), 0);
    ana_run_free(&run);
}
END_TEST

/* Format 2: a record of an unknown type >= 16 is skipped by its slot count
 * (its raw slots may look like anything); slot count 0 is damage; LOST
 * carries calls, records and a reason; readers sum */
START_TEST(format2_skip_and_lost)
{
    const char *p = tpath("v2.gstrace");
    struct tg g;
    tg_open(&g, p, "host: u\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    uint8_t rec[GS_REC_SIZE] = { 29, 3 };          /* type 29, 3 slots */
    tg_rec(&g, rec);
    uint8_t junk[GS_REC_SIZE];
    memset(junk, 7, sizeof junk);                  /* would be a SAMPLE, or damage */
    tg_rec(&g, junk);
    junk[0] = 12;
    tg_rec(&g, junk);
    tg_call(&g, DGEMM, RM, 1000, 2000, 2, 2, 2, 0);
    for (int i = 0; i < 2; i++) {
        uint8_t l[GS_REC_SIZE] = { GS_REC_LOST, 1 };
        uint64_t v[3] = { 3000, 5, 7 };            /* t, calls, records */
        memcpy(l + 8, v, sizeof v);
        tg_rec(&g, l);
    }
    tg_end(&g, 5000);
    tg_close(&g);
    uint32_t two = 2;
    patch(p, 8, &two, 4);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    ck_assert_int_eq(run.damaged, 0);
    ck_assert_uint_eq(r.total_calls, 1);
    ck_assert_uint_eq(r.lost_calls, 10);
    ck_assert_uint_eq(r.lost_records, 14);
    ck_assert_uint_eq(r.lost_reason, 1);
    ck_assert_int_eq(run.procs[0]->clean_exit, 1);   /* losses are not an unclean exit */
    char *buf; size_t len;
    FILE *m = open_memstream(&buf, &len);
    ana_render_json.render(&r, m);
    fclose(m);
    ck_assert_ptr_nonnull(strstr(buf, "\"lost\": {\"calls\": 10, \"records\": 14, \"reason\": \"no space"));
    free(buf);
    m = open_memstream(&buf, &len);
    ana_render_text.render(&r, m);
    fclose(m);
    ck_assert_ptr_nonnull(strstr(buf, "lost 10 calls (14 records): no space"));
    free(buf);
    ana_report_free(&r); ana_run_free(&run);

    /* slot count 0: damage at that record, the call before it kept */
    tg_open(&g, p, "host: u\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_call(&g, DGEMM, RM, 1000, 2000, 2, 2, 2, 0);
    uint8_t z[GS_REC_SIZE] = { 30, 0 };
    tg_rec(&g, z);
    tg_call(&g, DGEMM, RM, 3000, 4000, 2, 2, 2, 0);
    tg_close(&g);
    patch(p, 8, &two, 4);
    memset(&run, 0, sizeof run);
    ck_assert_int_eq(ana_read_file(&run, p), 0);
    ck_assert_int_eq(run.damaged, 1);
    ck_assert_uint_eq(run.procs[0]->ncalls, 1);
    ana_run_free(&run);
}
END_TEST

/* The text lists processes that made calls and folds the rest into one
 * line; the JSON keeps every process */
START_TEST(quiet_processes_folded)
{
    mkdir(tpath("fold"), 0700);
    proc_file("fold/a.gstrace", "host: u\ncmdline: worker\n", 0, 0, 0);
    for (int i = 0; i < 3; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "fold/h%d.gstrace", i);
        struct tg g;
        tg_open(&g, tpath(nm), "host: u\ncmdline: helper\n");
        tg_thread(&g, 1, GS_STREAM_THREAD);
        tg_end(&g, 1000);
        tg_close(&g);
    }
    struct ana_run run; struct ana_report r;
    build(&run, &r, tpath("fold"));
    char *buf; size_t len;
    FILE *m = open_memstream(&buf, &len);
    ana_render_text.render(&r, m);
    fclose(m);
    ck_assert_ptr_nonnull(strstr(buf, ": worker"));
    ck_assert_ptr_null(strstr(buf, ": helper"));
    ck_assert_ptr_nonnull(strstr(buf, "+ 3 processes made no intercepted call (pid"));
    free(buf);
    m = open_memstream(&buf, &len);
    ana_render_json.render(&r, m);
    fclose(m);
    ck_assert_ptr_nonnull(strstr(buf, "\"processes\": 4"));
    ck_assert_ptr_nonnull(strstr(buf, "\"cmdline\": \"helper\""));
    free(buf);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

static void on_alarm(int sig) { (void)sig; _exit(3); }

/* A FIFO named like a trace must not block the analyzer */
START_TEST(fifo_refused)
{
    mkdir(tpath("ff"), 0700);
    ck_assert_int_eq(mkfifo(tpath("ff/x.gstrace"), 0600), 0);
    proc_file("ff/y.gstrace", "host: u\n", 0, 0, 0);
    signal(SIGALRM, on_alarm);
    alarm(10);                                  /* blocking = killed = test fails */
    struct ana_run run = { 0 };
    ck_assert_int_eq(ana_read_path(&run, tpath("ff")), -1);   /* one path bad: exit 2 */
    ck_assert_uint_eq(run.nprocs, 1);                           /* the regular file is read */
    int found = 0;
    for (size_t i = 0; i < run.nerr; i++)
        found |= strstr(run.errors[i], "x.gstrace: not a regular file") != NULL;
    ck_assert_int_eq(found, 1);
    ana_run_free(&run);
    memset(&run, 0, sizeof run);
    ck_assert_int_eq(ana_read_file(&run, tpath("ff/x.gstrace")), -1);
    ana_run_free(&run);
    alarm(0);
}
END_TEST

/* Region names go to the terminal: control characters escaped; a region id
 * near 2^32 sizes nothing */
START_TEST(names_escaped_and_huge_ids)
{
    const char *p = tpath("esc.gstrace");
    struct tg g;
    tg_open(&g, p, "host: u\ncmdline: evil\033]0;title\007\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    tg_string(&g, 4000000000u, "a\033[2Jb\rc");
    tg_region(&g, 1, 4000000000u, 100);
    tg_call(&g, DGEMM, RM, 200, 300, 2, 2, 2, 4000000000u);
    tg_region(&g, 0, 4000000000u, 400);
    tg_call(&g, DGEMM, RM, 500, 600, 2, 2, 2, 0xffffffffu);   /* a name never given */
    tg_end(&g, 1000);
    tg_close(&g);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    ck_assert_uint_eq(r.nregions, 2);
    char *buf; size_t len;
    FILE *m = open_memstream(&buf, &len);
    ana_render_text.render(&r, m);
    fclose(m);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(buf[i] == '\n' || (unsigned char)buf[i] >= 0x20, "raw control byte 0x%02x in text output",
                      (unsigned char)buf[i]);
    ck_assert_ptr_nonnull(strstr(buf, "a\\x1b[2Jb\\x0dc"));
    free(buf);
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

/* 40k distinct regions: linear cost (quadratic took minutes); a generous
 * bound, not a timing */
START_TEST(many_regions_linear)
{
    const char *p = tpath("many.gstrace");
    enum { N = 40000 };
    struct tg g;
    tg_open(&g, p, "host: u\n" MODEL);
    tg_thread(&g, 1, GS_STREAM_THREAD);
    char name[64];
    for (uint32_t i = 1; i <= N; i++) {
        snprintf(name, sizeof name, "model/block%u", i);
        tg_string(&g, i, name);
        uint64_t t = (uint64_t)i * 1000;
        tg_region(&g, 1, i, t);
        tg_call(&g, DGEMM, RM, t + 100, t + 600, 4, 4, 4, i);
        tg_region(&g, 0, i, t + 800);
    }
    tg_end(&g, (uint64_t)(N + 1) * 1000);
    tg_thread(&g, 2, GS_STREAM_SAMPLER);
    for (int i = 0; i <= 10; i++)
        tg_sample(&g, 0, GS_SAMPLE_CPU_NS, (uint64_t)i * (N + 1) * 100, (uint64_t)i * (N + 1) * 100);
    tg_close(&g);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct ana_run run; struct ana_report r;
    build(&run, &r, p);
    char *buf; size_t len;
    FILE *m = open_memstream(&buf, &len);
    ana_render_text.render(&r, m);
    ana_render_json.render(&r, m);
    fclose(m);
    free(buf);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    ck_assert_uint_eq(r.nregions, N);
    ck_assert_uint_ge(r.nlayers, 1);                             /* how layers group them is layers.c's */
    ck_assert_int_eq(r.reconciled, 1);
    ck_assert_str_eq(r.regions[0].name, "model/block1");          /* in order of first appearance */
    ck_assert_str_eq(r.regions[N - 1].name, "model/block40000");
    ck_assert_double_eq_tol(r.regions[7].time_s, 800e-9, 1e-15);   /* push to pop */
    ck_assert_msg(s < 30, "40k regions took %.1f s", s);           /* quadratic: minutes */
    ana_report_free(&r); ana_run_free(&run);
}
END_TEST

int main(void)
{
    TG_RUN_SUITE("analyzer-run", tg_setup, tg_teardown, 120,
                 machine_energy_counted_once,
                 old_rapl_domains_are_machine_scope,
                 processes_out_of_start_order,
                 process_energy_adds_up,
                 gap_energy_to_another_process_region,
                 different_runs_refused,
                 format2_skip_and_lost,
                 fifo_refused,
                 quiet_processes_folded,
                 names_escaped_and_huge_ids,
                 many_regions_linear);
}
