/* fuzz_analyze.c - the analyzer's fuzz target: one input is one trace file,
 * run through greenshim-analyze's own verbs (info, dump, report as text, JSON
 * and CSV) exactly as the command line runs them: analyzer/main.c is linked
 * in with its main() renamed (-Dmain=gs_analyze_main), and the input is
 * written to a scratch file on tmpfs, so the target exercises the very code
 * path `greenshim-analyze report/dump/info` takes, whatever the reader's
 * internal API becomes.
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

static char scratch[256];
static int scratch_fd = -1;

static void scratch_remove(void)
{
    if (scratch_fd >= 0)
        unlink(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    const char *dirs[] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs && scratch_fd < 0; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        snprintf(scratch, sizeof scratch, "%s/gs-fuzz.XXXXXX.gstrace", dirs[i]);
        scratch_fd = mkstemps(scratch, 8);
    }
    if (scratch_fd < 0) {
        perror("fuzz_analyze: cannot create a scratch file");
        abort();
    }
    atexit(scratch_remove);
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

static void verb(const char *a1, const char *a2, const char *a3)
{
    char v0[] = "greenshim-analyze", v1[16], v2[16], v3[16], file[sizeof scratch];
    char *argv[6] = { v0, v1, NULL, NULL, NULL, NULL };
    int argc = 2;
    snprintf(v1, sizeof v1, "%s", a1);
    snprintf(file, sizeof file, "%s", scratch);
    argv[argc++] = file;
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
    if (ftruncate(scratch_fd, 0) != 0 || pwrite(scratch_fd, data, size, 0) != (ssize_t)size) {
        perror("fuzz_analyze: scratch file");
        abort();
    }
    verb("info", NULL, NULL);
    verb("dump", NULL, NULL);
    verb("report", "--format", "text");
    verb("report", "--format", "json");
    verb("report", "--format", "csv");
    return 0;
}
