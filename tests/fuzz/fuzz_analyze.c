/* fuzz_analyze.c - the analyzer's fuzz target: one input is one trace file,
 * or several (an input holding another "GRNSHIM\0" magic further on, as in
 * the concatenated traces of one run's processes, is split there, up to
 * FUZZ_MAX_FILES files), run through one of greenshim-analyze's own verbs,
 * chosen by the input's length: every verb of analyzer/main.c's table,
 * the two-run ones included (the VERBS table below):
 *   report (text with --per-thread, JSON and CSV with --merge-runs, text
 *   under the --from/--to/--carbon-intensity filters), info, dump, html,
 *   export (--perfetto and --csv), dvfs (estimate from the traces, and fitted
 *   over tagged run directories: each part in a run directory of its own
 *   with a dvfs-setting file, at least three runs, a CPU frequency, GPU
 *   clock or power-limit sweep by the input's length), diff of the first
 *   part against the last (text; JSON under --region, which drops rows),
 *   summarize (a node's summary of a job, to /dev/null), and merge of the
 *   parts as node summaries (the corpus holds summaries: text, no magic,
 *   so one part each).
 * exactly as the command line runs them: analyzer/main.c is linked
 * in with its main() renamed (-Dmain=gs_analyze_main), and the parts are
 * written to scratch files on tmpfs, so the target exercises the very code
 * path `greenshim-analyze VERB` takes, whatever the reader's internal API
 * becomes.  A single-part input meets the two-run verbs against itself
 * (diff T T; a sweep of three runs of T).
 *
 * Built two ways (Makefile):
 *   make fuzz       clang -fsanitize=fuzzer,address,undefined: libFuzzer
 *   make check      gcc -fsanitize=address,undefined + tests/fuzz/replay.c:
 *                   replays the regression inputs and the seed corpus
 * GS_FUZZ_VERBOSE=1 keeps the analyzer's own output (normally /dev/null;
 * sanitizer reports write to descriptor 2 directly and are never hidden). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

int gs_analyze_main(int argc, char **argv);
/* replay.c sets it: every verb on every input (a regression input must meet
 * the verb it crashed, whatever its length) */
int gs_fuzz_all_verbs;
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs above this are not tried: the analyzer's cost grows with the file,
 * and libFuzzer's -max_len keeps mutants far below it anyway. */
#define FUZZ_MAX_INPUT (4u << 20)

#define FUZZ_MAX_FILES 4
#define FUZZ_MIN_RUNS 3                 /* the fitted dvfs: runs at three settings at least */

/* run directory f holds part f as p.gstrace (and, for the fitted dvfs, a
 * dvfs-setting file); csv_dir takes export --csv */
static char base[256], run_dir[FUZZ_MAX_FILES][300], scratch[FUZZ_MAX_FILES][320], csv_dir[300];
static int scratch_fd[FUZZ_MAX_FILES] = { -1, -1, -1, -1 };

static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
}

static void scratch_remove(void)
{
    if (!base[0])
        return;
    for (int i = 0; i < FUZZ_MAX_FILES; i++) {
        empty_dir(run_dir[i]);
        rmdir(run_dir[i]);
    }
    empty_dir(csv_dir);
    rmdir(csv_dir);
    rmdir(base);
}

static void need(int ok, const char *what)
{
    if (!ok) {
        perror(what);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    const char *dirs[] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs && !base[0]; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        snprintf(base, sizeof base, "%s/gs-fuzz.XXXXXX", dirs[i]);
        if (!mkdtemp(base))
            base[0] = 0;
    }
    need(base[0] != 0, "fuzz_analyze: cannot create a scratch directory");
    atexit(scratch_remove);
    for (int f = 0; f < FUZZ_MAX_FILES; f++) {
        snprintf(run_dir[f], sizeof run_dir[f], "%s/run%d", base, f);
        snprintf(scratch[f], sizeof scratch[f], "%s/p.gstrace", run_dir[f]);
        need(mkdir(run_dir[f], 0700) == 0, "fuzz_analyze: scratch run directory");
        scratch_fd[f] = open(scratch[f], O_RDWR | O_CREAT | O_TRUNC, 0600);
        need(scratch_fd[f] >= 0, "fuzz_analyze: scratch file");
    }
    snprintf(csv_dir, sizeof csv_dir, "%s/csv", base);
    need(mkdir(csv_dir, 0700) == 0, "fuzz_analyze: scratch CSV directory");
    if (!getenv("GS_FUZZ_VERBOSE") || !*getenv("GS_FUZZ_VERBOSE")) {
        FILE *null = fopen("/dev/null", "w");
        need(null && freopen("/dev/null", "w", stdout), "fuzz_analyze: /dev/null");
        stderr = null;                  /* the analyzer's messages; fd 2 stays */
    }
    return 0;
}

static void put(int fd, const void *p, size_t n)
{
    need(ftruncate(fd, 0) == 0 && pwrite(fd, p, n, 0) == (ssize_t)n, "fuzz_analyze: scratch file");
}

/* the fitted dvfs: nruns tagged run directories, part k % nfiles in run k,
 * at settings of one knob (by the input's length) */
static int tag_runs(const uint8_t *data, const size_t *at, int nfiles, size_t size)
{
    static const char *const knob[3] = { "cpu_freq_khz", "gpu_sm_clock_mhz", "gpu_power_limit_w" };
    static const double first[3] = { 1200000, 900, 150 }, step[3] = { 600000, 300, 100 };
    int k = (int)(size / 16 % 3);
    int nruns = nfiles > FUZZ_MIN_RUNS ? nfiles : FUZZ_MIN_RUNS;
    for (int r = 0; r < nruns; r++) {
        if (r >= nfiles) {
            int f = r % nfiles;
            put(scratch_fd[r], data + at[f], at[f + 1] - at[f]);
        }
        char path[400], text[256];
        snprintf(path, sizeof path, "%s/dvfs-setting", run_dir[r]);
        int n = snprintf(text, sizeof text, "knob=%s\nsetting=%.0f\n%sstatus=0\n", knob[k],
                         first[k] + step[k] * r, k ? "device=0\n" : "");
        FILE *t = fopen(path, "w");
        need(t && fwrite(text, 1, (size_t)n, t) == (size_t)n && fclose(t) == 0, "fuzz_analyze: dvfs-setting");
    }
    return nruns;
}

static void untag_runs(void)
{
    char path[400];
    for (int r = 0; r < FUZZ_MAX_FILES; r++) {
        snprintf(path, sizeof path, "%s/dvfs-setting", run_dir[r]);
        unlink(path);
    }
}

/* greenshim-analyze ARGS..., where "@all" stands for every part, "@1" for
 * the first, "@last" for the last, "@runs" for the tagged run directories
 * (nruns of them) and "@csv" for the CSV directory */
static void verb(int nfiles, int nruns, const char *const *args)
{
    char store[24][sizeof scratch[0]];
    char *argv[24] = { store[0] };
    int argc = 1;
    snprintf(store[0], sizeof store[0], "greenshim-analyze");
    for (; *args && argc < 23 - FUZZ_MAX_FILES; args++) {
        int from = 0, to = 0;           /* files [from, to) or the word itself */
        const char *word = *args;
        if (!strcmp(*args, "@all")) from = 0, to = nfiles;
        else if (!strcmp(*args, "@1")) from = 0, to = 1;
        else if (!strcmp(*args, "@last")) from = nfiles - 1, to = nfiles;
        else if (!strcmp(*args, "@runs")) from = 0, to = nruns;
        else if (!strcmp(*args, "@csv")) word = csv_dir;
        if (from == to) {
            snprintf(store[argc], sizeof store[argc], "%s", word);
            argv[argc] = store[argc];
            argc++;
            continue;
        }
        for (int f = from; f < to; f++) {
            snprintf(store[argc], sizeof store[argc], "%s", !strcmp(*args, "@runs") ? run_dir[f] : scratch[f]);
            argv[argc] = store[argc];
            argc++;
        }
    }
    argv[argc] = NULL;
    int rc = gs_analyze_main(argc, argv);
    fflush(stdout);
    if (rc != 0 && rc != 2) {           /* 0 ok, 2 damaged/unreadable: nothing else */
        fprintf(stdout, "unexpected exit status %d\n", rc);
        dprintf(2, "fuzz_analyze: greenshim-analyze %s returned %d (want 0 or 2)\n", argv[1], rc);
        abort();
    }
}

/* every verb of analyzer/main.c, the two-run ones (diff, the fitted dvfs,
 * report --merge-runs of several parts) included; one per input, in turn
 * by the input's length: a campaign of 10^6 inputs runs each 7*10^4 times */
#define NVERBS 16
static const char *const verbs[NVERBS][12] = {
    { "report", "@all", "--format", "text", "--per-thread", NULL },
    { "report", "@all", "--format", "json", "--merge-runs", NULL },
    { "report", "@all", "--format", "csv", "--merge-runs", NULL },
    { "report", "@all", "--merge-runs", "--from", "0.001", "--to", "100", "--carbon-intensity", "400", NULL },
    { "info", "@1", NULL },
    { "dump", "@1", NULL },
    { "html", "@all", "--merge-runs", "-o", "/dev/null", NULL },
    { "export", "--perfetto", "/dev/null", "--csv", "@csv", "@all", "--merge-runs", NULL },
    { "dvfs", "@all", "--candidates", "1000000:3000000:500000", NULL },
    { "dvfs", "@runs", "--format", "json", NULL },
    { "diff", "@1", "@last", NULL },
    { "diff", "@1", "@last", "--format", "json", "--region", "model", NULL },
    { "diff", "@1", "@last", "--per-thread", "--tid", "1,2,3", NULL },
    { "report", "@all", "--region", "fwd", "--pid", "1,100,1000", "--merge-runs", NULL },
    { "summarize", "@all", "-o", "/dev/null", NULL },
    { "merge", "@all", "--format", "json", NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return -1;                      /* not added to the corpus */
    int nfiles = 0;
    size_t at[FUZZ_MAX_FILES + 1] = { 0 };
    while (nfiles < FUZZ_MAX_FILES) {
        /* this part ends where the next trace's magic starts (8-aligned) */
        size_t end = size;
        if (nfiles + 1 < FUZZ_MAX_FILES)
            for (size_t m = at[nfiles] + 256; m + 8 <= size; m += 8)
                if (memcmp(data + m, "GRNSHIM", 8) == 0) {
                    end = m;
                    break;
                }
        put(scratch_fd[nfiles], data + at[nfiles], end - at[nfiles]);
        at[++nfiles] = end;
        if (end == size)
            break;
    }
    for (int v = gs_fuzz_all_verbs ? 0 : (int)(size % NVERBS); v < NVERBS; v++) {
        int runs = 0;
        for (int a = 0; verbs[v][a]; a++)
            if (!strcmp(verbs[v][a], "@runs"))
                runs = tag_runs(data, at, nfiles, size);
        verb(nfiles, runs, verbs[v]);
        if (runs)
            untag_runs();
        if (!gs_fuzz_all_verbs)
            break;
    }
    return 0;
}
