/* fdgames.c - a program that treats descriptors as its own, as daemons do:
 * makes N/2 tiny cblas_dgemm calls, closes every descriptor from 3 up
 * (close-all), opens 250 files (they get the numbers 3..252, the recorder's
 * old high numbers among them), dup2s one onto 255, makes N/2 more calls
 * while appending a line to one of its files every 100 calls, then checks
 * that every file holds exactly what it wrote.  Prints "files intact" and
 * exits 0, or names the first damaged file and exits 1.
 *   fdgames DIR N */
#include <cblas.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NFILES 250

static char want[NFILES][8192];
static size_t wlen[NFILES];

static void put(int *fds, int i, const char *s)
{
    size_t l = strlen(s);
    if (write(fds[i], s, l) != (ssize_t)l) {
        fprintf(stderr, "write to file %d failed\n", i);
        exit(2);
    }
    if (wlen[i] + l < sizeof want[i]) {
        memcpy(want[i] + wlen[i], s, l);
        wlen[i] += l;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *dir = argv[1];
    long n = atol(argv[2]);
    double a[4] = { 1, 2, 3, 4 }, b[4] = { 5, 6, 7, 8 }, c[4];
    for (long i = 0; i < n / 2; i++)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0, a, 2, b, 2, 0.0, c, 2);
    for (int fd = 3; fd < 1024; fd++)    /* close-all, as daemons do */
        close(fd);
    int fds[NFILES + 1];
    char path[4096], line[128];
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof path, "%s/f%03d", dir, i);
        fds[i] = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fds[i] < 0) {
            perror(path);
            return 2;
        }
        snprintf(line, sizeof line, "file %d opened as fd %d\n", i, fds[i]);
        put(fds, i, line);
    }
    if (dup2(fds[0], 255) < 0)          /* dup2 onto a high number */
        return 2;
    for (long i = n / 2; i < n; i++) {
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0, a, 2, b, 2, 0.0, c, 2);
        if (i % 100 == 0) {
            snprintf(line, sizeof line, "call %ld\n", i);
            put(fds, (int)(i / 100 % NFILES), line);
        }
    }
    for (int i = 0; i < NFILES; i++)
        close(fds[i]);
    close(255);
    static char got[16384];
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof path, "%s/f%03d", dir, i);
        int fd = open(path, O_RDONLY);
        ssize_t r = fd >= 0 ? read(fd, got, sizeof got) : -1;
        if (fd >= 0)
            close(fd);
        if (r != (ssize_t)wlen[i] || memcmp(got, want[i], wlen[i]) != 0) {
            printf("file %s damaged: %zd bytes, want %zu\n", path, r, wlen[i]);
            return 1;
        }
    }
    /* sizes, for the test to check again once the process (and the
     * recorder's exit work) is over */
    snprintf(path, sizeof path, "%s/sizes", dir);
    FILE *m = fopen(path, "w");
    if (!m)
        return 2;
    for (int i = 0; i < NFILES; i++)
        fprintf(m, "f%03d %zu\n", i, wlen[i]);
    fclose(m);
    printf("files intact\n");
    return c[0] == 23 ? 0 : 1;
}
