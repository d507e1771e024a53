/* core.c - the trace header of this process: the fixed fields and the
 * "key: value" text the modules add while they start (gs_header_add).
 * lifecycle.c begins it when the process starts recording and writes it
 * through the writer (writer.c: the file, chunks, LOST, END). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "gs.h"

__thread struct gs_thread gs_tls __attribute__((tls_model("initial-exec")));
int gs_gen = 1;
uint32_t gs_sources;

static struct gs_file_header gs_hdr;
static char gs_text[GS_HEADER_SIZE - GS_HEADER_TEXT_OFF];
static size_t gs_text_len;

void gs_header_add(const char *key, const char *fmt, ...)
{
    char val[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    for (char *p = val; *p; p++)        /* one line per key */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    int n = snprintf(gs_text + gs_text_len, sizeof gs_text - gs_text_len - 1,
                     "%s: %s\n", key, val);
    if (n > 0 && gs_text_len + n < sizeof gs_text - 1)
        gs_text_len += n;
}

/* A new header for this process's file: fixed fields and start times. */
void gs_header_begin(uint64_t tsc_hz)
{
    gs_text_len = 0;
    gs_sources = 0;
    memset(&gs_hdr, 0, sizeof gs_hdr);
    memcpy(gs_hdr.magic, GS_TRACE_MAGIC, 8);
    gs_hdr.version = GS_TRACE_VERSION;
    gs_hdr.header_size = GS_HEADER_SIZE;
    gs_hdr.chunk_size = gs_writer_chunk_size();
    gs_hdr.rec_size = GS_REC_SIZE;
    gs_hdr.pid = (uint32_t)getpid();
    gs_hdr.ppid = (uint32_t)getppid();
    gs_hdr.clock = gs_clock_is_tsc ? GS_CLOCK_TSC : GS_CLOCK_MONO;
    gs_hdr.tsc_hz = tsc_hz;
    gs_hdr.start_real_ns = gs_real_ns();
    gs_hdr.start_mono_ns = gs_mono_ns();
    gs_hdr.start_tsc = gs_now();
    gs_header_add("output", "%s", gs_writer_path());
}

void gs_header_write(void)
{
    gs_hdr.sources = gs_sources;
    gs_hdr.nevents = (uint32_t)gs_nevents;
    gs_hdr.text_len = (uint32_t)gs_text_len;
    uint8_t buf[GS_HEADER_SIZE];
    memset(buf, 0, sizeof buf);
    memcpy(buf, &gs_hdr, sizeof gs_hdr);
    memcpy(buf + GS_HEADER_TEXT_OFF, gs_text, gs_text_len);
    if (gs_writer_put_header(buf, sizeof buf) != 0)
        gs_log("cannot write the header of %s: the trace will be unreadable", gs_writer_path());
}
