/* log.c - the recorder's only output: "greenshim: " lines on stderr.
 * Written with one write(2) so lines from several processes do not mix. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "gs.h"

static void gs_vlog(const char *fmt, va_list ap)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "greenshim: ");
    int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
    if (m < 0)
        return;
    n += m;
    if (n > (int)sizeof buf - 2)
        n = sizeof buf - 2;
    if (buf[n - 1] != '\n')
        buf[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
}

/* GREENSHIM_QUIET and GREENSHIM_DEBUG, told by settings.c when it reads them */
static int gs_log_quiet, gs_log_debug;
void gs_log_configure(int quiet, int debug)
{
    gs_log_quiet = quiet;
    gs_log_debug = debug;
}

void gs_log(const char *fmt, ...)
{
    if (gs_log_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    gs_vlog(fmt, ap);
    va_end(ap);
}

void gs_dbg(const char *fmt, ...)
{
    if (!gs_log_debug)
        return;
    va_list ap;
    va_start(ap, fmt);
    gs_vlog(fmt, ap);
    va_end(ap);
}
