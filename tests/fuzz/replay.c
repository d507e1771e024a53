/* replay.c - a main() for the fuzz target without libFuzzer: runs every
 * input file given (a directory: every file in it, sorted) through
 * LLVMFuzzerTestOneInput once, with every verb (libFuzzer runs one verb per
 * input).  Built with gcc and ASan+UBSan by `make check` (no clang
 * needed), and run there with no arguments: it then replays
 * tests/fuzz/regressions/ and tests/fuzz/corpus/.  A sanitizer report aborts
 * (-fno-sanitize-recover); exit 0 and "replayed N inputs" otherwise. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int gs_fuzz_all_verbs;

static size_t replayed;

static void one(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dprintf(2, "replay: cannot open %s\n", path);
        exit(1);
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) {
        dprintf(2, "replay: out of memory reading %s\n", path);
        exit(1);
    }
    dprintf(2, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    replayed++;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void walk(const char *path, int must)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (must) {
            dprintf(2, "replay: %s: no such file or directory\n", path);
            exit(1);
        }
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        one(path);
        return;
    }
    struct dirent **e;
    int n = scandir(path, &e, NULL, by_name);
    for (int i = 0; i < n; i++) {
        char sub[4096];
        /* notes (*.txt, README*) and hidden files are not inputs */
        size_t l = strlen(e[i]->d_name);
        if (e[i]->d_name[0] != '.' && strncmp(e[i]->d_name, "README", 6) != 0 &&
            !(l > 4 && strcmp(e[i]->d_name + l - 4, ".txt") == 0)) {
            snprintf(sub, sizeof sub, "%s/%s", path, e[i]->d_name);
            walk(sub, 1);
        }
        free(e[i]);
    }
    free(e);
}

int main(int argc, char **argv)
{
    gs_fuzz_all_verbs = 1;              /* every verb on every input */
    LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        walk("tests/fuzz/regressions", 1);
        walk("tests/fuzz/corpus", 1);
    }
    for (int i = 1; i < argc; i++)
        walk(argv[i], 1);
    if (!replayed) {
        dprintf(2, "replay: no inputs found\n");
        return 1;
    }
    dprintf(2, "replay: replayed %zu inputs, no sanitizer report\n", replayed);
    return 0;
}
