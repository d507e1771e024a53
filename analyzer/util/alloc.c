/* alloc.c - what every file of the analyzer may call: allocation that
 * stops the analyzer with exit 3 on overflow or exhaustion (never a NULL to
 * check), and the run's warnings and errors (collected, printed by main).
 * It calls nothing of the analyzer (util/ is below read/). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"

static void add_msg(char ***arr, size_t *n, size_t *cap, const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (*n >= 10000)
        return;                         /* a hostile file does not fill memory with warnings */
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *arr = ana_xrealloc(*arr, *cap, sizeof **arr);
    }
    char *d = strdup(buf);
    if (!d) {
        fputs("greenshim-analyze: out of memory\n", stderr);
        exit(3);
    }
    (*arr)[(*n)++] = d;
}

void ana_warn(struct ana_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_msg(&run->warnings, &run->nwarn, &run->capwarn, fmt, ap);
    va_end(ap);
}

/* an error for stderr ("greenshim-analyze: " is added by main) */
void ana_error(struct ana_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_msg(&run->errors, &run->nerr, &run->caperr, fmt, ap);
    va_end(ap);
}

void *ana_xrealloc(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        fprintf(stderr, "greenshim-analyze: allocation of %zu x %zu bytes overflows\n", n, size);
        exit(3);
    }
    void *q = realloc(p, n && size ? n * size : 1);
    if (!q) {
        fprintf(stderr, "greenshim-analyze: out of memory (%zu bytes)\n", n * size);
        exit(3);
    }
    return q;
}

