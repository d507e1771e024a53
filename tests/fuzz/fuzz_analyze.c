/* fuzz_analyze.c - the analyzer's fuzz target: one input is one trace file,
 * run through greenshim-analyze's own verbs (info, dump, and report as text,
 * JSON or CSV by the input's length) exactly as the command line runs them: analyzer/main.c is linked
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

/* greenshim-analyze a1 FILE... [a2 [a3]] */
static void verb(int nfiles, const char *a1, const char *a2, const char *a3)
{
    char v0[] = "greenshim-analyze", v1[16], v2[16], v3[16], file[FUZZ_MAX_FILES][sizeof scratch[0]];
    char *argv[5 + FUZZ_MAX_FILES] = { v0, v1 };
    int argc = 2;
    snprintf(v1, sizeof v1, "%s", a1);
    for (int f = 0; f < nfiles; f++) {
        snprintf(file[f], sizeof file[f], "%s", scratch[f]);
        argv[argc++] = file[f];
    }
    if (a2) {
        snprintf(v2, sizeof v2, "%s", a2);
        argv[argc++] = v2;
    }
    if (a3) {
        snprintf(v3, sizeof v3, "%s", a3);
        argv[argc++] = v3;
    }
    int rc = gs_analyze_main(argc, argv);
    fflush(stdout);
    if (rc != 0 && rc != 2) {           /* 0 ok, 2 damaged/unreadable: nothing else */
        fprintf(stdout, "unexpected exit status %d\n", rc);
        dprintf(2, "fuzz_analyze: greenshim-analyze %s returned %d (want 0 or 2)\n", a1, rc);
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
    verb(1, "info", NULL, NULL);
    verb(1, "dump", NULL, NULL);
    /* one renderer per input, by its length: each sees a third of the inputs,
     * for a third of the cost of all three */
    static const char *const fmt[] = { "text", "json", "csv" };
    verb(nfiles, "report", "--format", fmt[size % 3]);
    return 0;
}
