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

void gs_log(const char *fmt, ...)
{
    if (gs_setting_bool("GREENSHIM_QUIET"))
        return;
    va_list ap;
    va_start(ap, fmt);
    gs_vlog(fmt, ap);
    va_end(ap);
}

void gs_dbg(const char *fmt, ...)
{
    if (!gs_setting_bool("GREENSHIM_DEBUG"))
        return;
    va_list ap;
    va_start(ap, fmt);
    gs_vlog(fmt, ap);
    va_end(ap);
}
