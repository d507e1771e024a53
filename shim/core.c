/* core.c - the trace header of this process: the fixed fields and the
 * "key: value" text the modules add while they start (gs_header_add).
 * lifecycle.c begins it when the process starts recording and writes it
 * through the writer (writer.c: the file, chunks, LOST, END); this file
 * calls neither. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "gs.h"

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

/* The events counted per call (counters.c says, at its start). */
static uint32_t gs_hdr_nevents;
void gs_header_set_nevents(uint32_t n) { gs_hdr_nevents = n; }

/* A new header for this process's file (PATH, chunks of CHUNK_SIZE bytes):
 * fixed fields and start times. */
void gs_header_begin(uint64_t tsc_hz, uint32_t chunk_size, const char *path)
{
    gs_text_len = 0;
    gs_sources = 0;
    memset(&gs_hdr, 0, sizeof gs_hdr);
    memcpy(gs_hdr.magic, GS_TRACE_MAGIC, 8);
    gs_hdr.version = GS_TRACE_VERSION;
    gs_hdr.header_size = GS_HEADER_SIZE;
    gs_hdr.chunk_size = chunk_size;
    gs_hdr.rec_size = GS_REC_SIZE;
    gs_hdr.pid = (uint32_t)getpid();
    gs_hdr.ppid = (uint32_t)getppid();
    gs_hdr.clock = gs_clock_is_tsc ? GS_CLOCK_TSC : GS_CLOCK_MONO;
    gs_hdr.tsc_hz = tsc_hz;
    gs_hdr.start_real_ns = gs_real_ns();
    gs_hdr.start_mono_ns = gs_mono_ns();
    gs_hdr.start_tsc = gs_now();
    gs_header_add("output", "%s", path);
}

/* The header as it stands, GS_HEADER_SIZE bytes into BUF (lifecycle.c
 * hands it to the writer). */
void gs_header_image(uint8_t *buf)
{
    gs_hdr.sources = gs_sources;
    gs_hdr.nevents = gs_hdr_nevents;
    gs_hdr.text_len = (uint32_t)gs_text_len;
    memset(buf, 0, GS_HEADER_SIZE);
    memcpy(buf, &gs_hdr, sizeof gs_hdr);
    memcpy(buf + GS_HEADER_TEXT_OFF, gs_text, gs_text_len);
}
