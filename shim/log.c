/* log.c - the recorder's only output: "greenshim: " lines on stderr.
 * Written with one write(2) so lines from several processes do not mix.
 * The recorder's helper thread and the threads it starts have a descriptor
 * table of their own, without the program's stderr: their lines wait in a
 * buffer until a program thread prints them (gs_log_flush). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "gs.h"

__thread int gs_log_defer __attribute__((tls_model("initial-exec")));
static pthread_mutex_t gs_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char gs_log_buf[8192];
static size_t gs_log_len;

void gs_log_flush(void)
{
    if (gs_log_defer || !__atomic_load_n(&gs_log_len, __ATOMIC_RELAXED))
        return;
    char out[sizeof gs_log_buf];
    pthread_mutex_lock(&gs_log_mu);
    size_t n = gs_log_len;
    memcpy(out, gs_log_buf, n);
    gs_log_len = 0;
    pthread_mutex_unlock(&gs_log_mu);
    for (size_t i = 0; i < n;) {        /* one write per line */
        char *e = memchr(out + i, '\n', n - i);
        size_t l = e ? (size_t)(e - (out + i)) + 1 : n - i;
        ssize_t w = write(STDERR_FILENO, out + i, l);
        (void)w;
        i += l;
    }
}

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
    if (gs_log_defer) {
        pthread_mutex_lock(&gs_log_mu);
        if (gs_log_len + (size_t)n <= sizeof gs_log_buf) {
            memcpy(gs_log_buf + gs_log_len, buf, (size_t)n);
            gs_log_len += (size_t)n;
        }
        pthread_mutex_unlock(&gs_log_mu);
        return;
    }
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
