/* fuzz_analyze.c - the analyzer's fuzz target: one input is one trace file,
 * run through one of greenshim-analyze's own verbs (report as text, JSON or
 * CSV, info, dump, html, export --perfetto, dvfs, diff: by the input's length)
 * exactly as the command line runs them: analyzer/main.c is linked
 * in with its main() renamed (-Dmain=gs_analyze_main), and the input is
 * written to a scratch file on tmpfs, so the target exercises the very code
 * path `greenshim-analyze report/dump/info` takes, whatever the reader's
 * internal API becomes.  An input holding more than one trace (another
 * "GRNSHIM\0" magic further on, as in the concatenated traces of one run's
 * processes) is split there, up to FUZZ_MAX_FILES files: `report` then reads
 * them all as one run (merged energy series, several processes); `info` and
 * `dump` read the first.
 *
 * Built two ways (Makefile):
 *   make fuzz       clang -fsanitize=fuzzer,address,undefined: libFuzzer
 *   make check      gcc -fsanitize=address,undefined + tests/fuzz/replay.c:
 *                   replays the regression inputs and the seed corpus
 * GS_FUZZ_VERBOSE=1 keeps the analyzer's own output (normally /dev/null;
 * sanitizer reports write to descriptor 2 directly and are never hidden). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static char scratch[FUZZ_MAX_FILES][256];
static int scratch_fd[FUZZ_MAX_FILES] = { -1, -1, -1, -1 };

static void scratch_remove(void)
{
    for (int i = 0; i < FUZZ_MAX_FILES; i++)
        if (scratch_fd[i] >= 0)
            unlink(scratch[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    const char *dirs[] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };
    atexit(scratch_remove);
    for (int f = 0; f < FUZZ_MAX_FILES; f++) {
        for (size_t i = 0; i < sizeof dirs / sizeof *dirs && scratch_fd[f] < 0; i++) {
            if (!dirs[i] || !*dirs[i])
                continue;
            snprintf(scratch[f], sizeof scratch[f], "%s/gs-fuzz.XXXXXX.gstrace", dirs[i]);
            scratch_fd[f] = mkstemps(scratch[f], 8);
        }
        if (scratch_fd[f] < 0) {
            perror("fuzz_analyze: cannot create a scratch file");
            abort();
        }
    }
    if (!getenv("GS_FUZZ_VERBOSE") || !*getenv("GS_FUZZ_VERBOSE")) {
        FILE *null = fopen("/dev/null", "w");
        if (!null || !freopen("/dev/null", "w", stdout)) {
            perror("fuzz_analyze: /dev/null");
            abort();
        }
        stderr = null;                  /* the analyzer's messages; fd 2 stays */
    }
    return 0;
}

/* greenshim-analyze ARGS..., where "@all" stands for every scratch file,
 * "@1" for the first and "@last" for the last */
static void verb(int nfiles, const char *const *args)
{
    char store[16][sizeof scratch[0]];
    char *argv[20] = { store[0] };
    int argc = 1;
    snprintf(store[0], sizeof store[0], "greenshim-analyze");
    for (; *args && argc < 16 - FUZZ_MAX_FILES; args++) {
        int from = 0, to = 0;           /* files [from, to) or the word itself */
        if (!strcmp(*args, "@all")) from = 0, to = nfiles;
        else if (!strcmp(*args, "@1")) from = 0, to = 1;
        else if (!strcmp(*args, "@last")) from = nfiles - 1, to = nfiles;
        else {
            snprintf(store[argc], sizeof store[argc], "%s", *args);
            argv[argc] = store[argc];
            argc++;
            continue;
        }
        for (int f = from; f < to; f++) {
            snprintf(store[argc], sizeof store[argc], "%s", scratch[f]);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return -1;                      /* not added to the corpus */
    int nfiles = 0;
    size_t at = 0;
    while (nfiles < FUZZ_MAX_FILES) {
        /* this part ends where the next trace's magic starts (8-aligned) */
        size_t end = size;
        if (nfiles + 1 < FUZZ_MAX_FILES)
            for (size_t m = at + 256; m + 8 <= size; m += 8)
                if (memcmp(data + m, "GRNSHIM", 8) == 0) {
                    end = m;
                    break;
                }
        if (ftruncate(scratch_fd[nfiles], 0) != 0 ||
            pwrite(scratch_fd[nfiles], data + at, end - at, 0) != (ssize_t)(end - at)) {
            perror("fuzz_analyze: scratch file");
            abort();
        }
        nfiles++;
        at = end;
        if (at == size)
            break;
    }
    /* one analyzer verb per input, in turn by the input's length: a campaign
     * of 10^6 inputs then runs each verb 10^5 times or more, at the cost of
     * one run per input */
    static const char *const verbs[9][6] = {
        { "report", "@all", "--format", "text", NULL },
        { "report", "@all", "--format", "json", NULL },
        { "report", "@all", "--format", "csv", NULL },
        { "info", "@1", NULL },
        { "dump", "@1", NULL },
        { "html", "@all", "-o", "/dev/null", NULL },
        { "export", "--perfetto", "/dev/null", "@all", NULL },
        { "dvfs", "@all", NULL },
        { "diff", "@1", "@last", NULL },
    };
    if (gs_fuzz_all_verbs)
        for (int v = 0; v < 9; v++)
            verb(nfiles, verbs[v]);
    else
        verb(nfiles, verbs[size % 9]);
    return 0;
}
