/* tracegen.h - write synthetic trace files for the analyzer's unit tests:
 * exactly the format of include/greenshim/trace.h, with small chunks so
 * that multi-chunk paths are exercised. */
#ifndef GS_TRACEGEN_H
#define GS_TRACEGEN_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "greenshim/trace.h"

#define TG_CHUNK 4096u

/* a scratch directory per test (Check fixture) */
static char tg_dir[256];
static inline const char *tg_path(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", tg_dir, name);
    return buf[i];
}
static inline void tg_setup(void)
{
    snprintf(tg_dir, sizeof tg_dir, "/tmp/gs-unit.XXXXXX");
    if (!mkdtemp(tg_dir))
        abort();
}
static inline void tg_teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tg_dir);
    if (system(cmd) != 0)
        abort();
}

struct tg {
    FILE *f;
    uint8_t chunk[TG_CHUNK];
    size_t used;                  /* bytes used in the open chunk, 0 = none */
    uint32_t tid, stream, seq[64];
};

static inline void tg_flush(struct tg *g)
{
    if (g->used) {
        fwrite(g->chunk, 1, TG_CHUNK, g->f);
        g->used = 0;
    }
}

/* clock GS_CLOCK_MONO: every timestamp is in ns already */
static inline void tg_open(struct tg *g, const char *path, const char *text)
{
    memset(g, 0, sizeof *g);
    g->f = fopen(path, "wb");
    uint8_t hdr[GS_HEADER_SIZE];
    memset(hdr, 0, sizeof hdr);
    struct gs_file_header *h = (struct gs_file_header *)hdr;
    memcpy(h->magic, GS_TRACE_MAGIC, 8);
    h->version = GS_TRACE_VERSION;
    h->header_size = GS_HEADER_SIZE;
    h->chunk_size = TG_CHUNK;
    h->rec_size = GS_REC_SIZE;
    h->clock = GS_CLOCK_MONO;
    h->tsc_hz = 1000000000ull;
    h->pid = 4242;
    h->ppid = 1;
    h->text_len = (uint32_t)strlen(text);
    memcpy(hdr + GS_HEADER_TEXT_OFF, text, strlen(text));
    fwrite(hdr, 1, sizeof hdr, g->f);
}

static inline void tg_thread(struct tg *g, uint32_t tid, uint32_t stream)
{
    tg_flush(g);
    g->tid = tid;
    g->stream = stream;
}

static inline void tg_rec(struct tg *g, const void *rec)
{
    if (!g->used || g->used + GS_REC_SIZE > TG_CHUNK) {
        tg_flush(g);
        memset(g->chunk, 0, TG_CHUNK);
        struct gs_chunk_header *c = (struct gs_chunk_header *)g->chunk;
        c->magic = GS_CHUNK_MAGIC;
        c->tid = g->tid;
        c->seq = g->seq[g->tid % 64]++;
        c->stream = g->stream;
        g->used = GS_REC_SIZE;
    }
    memcpy(g->chunk + g->used, rec, GS_REC_SIZE);
    g->used += GS_REC_SIZE;
}

static inline void tg_call(struct tg *g, uint8_t op, uint16_t flags, uint64_t t0, uint64_t t1,
                           uint32_t m, uint32_t n, uint32_t k, uint32_t region)
{
    struct gs_rec_call c = { .type = GS_REC_CALL, .op = op, .flags = flags, .region = region,
                             .t0 = t0, .t1 = t1, .m = m, .n = n, .k = k, .lda = m, .ldb = k, .ldc = m };
    tg_rec(g, &c);
}

static inline void tg_sample(struct tg *g, uint16_t domain, uint8_t kind, uint64_t t, uint64_t v)
{
    struct gs_rec_sample s = { .type = GS_REC_SAMPLE, .kind = kind, .domain = domain, .t = t, .value = v, .t_read = t };
    tg_rec(g, &s);
}

static inline void tg_string(struct tg *g, uint32_t id, const char *text)
{
    struct gs_rec_string s = { .type = GS_REC_STRING, .kind = GS_STR_REGION, .id = id };
    size_t len = strlen(text);
    size_t ncont = len > GS_STRING_HEAD_TEXT ? (len - GS_STRING_HEAD_TEXT + GS_REC_SIZE - 1) / GS_REC_SIZE : 0;
    if (g->used && g->used + (1 + ncont) * GS_REC_SIZE > TG_CHUNK)
        tg_flush(g);                /* a string never spans chunks */
    s.len = (uint16_t)len;
    memcpy(s.text, text, len < GS_STRING_HEAD_TEXT ? len : GS_STRING_HEAD_TEXT);
    tg_rec(g, &s);
    for (size_t off = GS_STRING_HEAD_TEXT; off < len; off += GS_REC_SIZE) {
        uint8_t raw[GS_REC_SIZE] = { 0 };
        memcpy(raw, text + off, len - off < GS_REC_SIZE ? len - off : GS_REC_SIZE);
        tg_rec(g, raw);
    }
}

static inline void tg_region(struct tg *g, int push, uint32_t id, uint64_t t)
{
    struct gs_rec_region r = { .type = push ? GS_REC_REGION_PUSH : GS_REC_REGION_POP, .id = id, .t = t };
    tg_rec(g, &r);
}

/* a push that says who named the region (enum gs_region_origin) */
static inline void tg_region_from(struct tg *g, uint32_t id, uint64_t t, unsigned origin)
{
    struct gs_rec_region r = { .type = GS_REC_REGION_PUSH, .origin = (uint8_t)origin, .id = id, .t = t };
    tg_rec(g, &r);
}

static inline void tg_end(struct tg *g, uint64_t t)
{
    struct gs_rec_clock c = { .type = GS_REC_END, .tsc = t, .mono_ns = t };
    tg_rec(g, &c);
}

/* ---- the analyzer side: every call of a report, caught from the event
 * stream, in (process, thread, position) order ---- */
#ifdef GS_ANA_H
#define TG_MAXCALLS 4096
static struct tg_call { uint32_t proc, thread; uint64_t pos; struct ana_call c; } tg_calls_buf[TG_MAXCALLS];
static struct ana_call tg_calls[TG_MAXCALLS];
static size_t tg_ncalls;
static void tg_catch(void *ctx, const struct ana_event *ev)
{
    (void)ctx;
    if (ev->kind != ANA_EV_CALL || tg_ncalls >= TG_MAXCALLS)
        return;
    tg_calls_buf[tg_ncalls++] = (struct tg_call){ ev->proc->index, ev->thread, ev->pos, *ev->call };
}
static int tg_call_cmp(const void *a, const void *b)
{
    const struct tg_call *x = a, *y = b;
    if (x->proc != y->proc) return x->proc < y->proc ? -1 : 1;
    if (x->thread != y->thread) return x->thread < y->thread ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}
/* ana_report_build with the calls caught into tg_calls[] */
static inline int tg_build(struct ana_run *run, struct ana_report *r)
{
    tg_ncalls = 0;
    run->nsinks = 0;
    ana_sink_add(run, tg_catch, NULL);
    int rc = ana_report_build(run, r);
    qsort(tg_calls_buf, tg_ncalls, sizeof *tg_calls_buf, tg_call_cmp);
    for (size_t i = 0; i < tg_ncalls; i++)
        tg_calls[i] = tg_calls_buf[i].c;
    return rc;
}
#endif

static inline void tg_close(struct tg *g)
{
    tg_flush(g);
    fclose(g->f);
}

/* Every unit suite's main: one test case of TESTS with a fixture, an
 * optional timeout (0: Check's default), exit status 1 when any failed. */
#define TG_RUN_SUITE(name, setup, teardown, timeout_s, ...)                           \
    do {                                                                                \
        const TTest *const tg_tests_[] = { __VA_ARGS__ };                               \
        Suite *s_ = suite_create(name);                                                 \
        TCase *tc_ = tcase_create(name);                                                \
        tcase_add_checked_fixture(tc_, setup, teardown);                                \
        if (timeout_s) tcase_set_timeout(tc_, timeout_s);                               \
        for (size_t i_ = 0; i_ < sizeof tg_tests_ / sizeof *tg_tests_; i_++)            \
            tcase_add_test(tc_, tg_tests_[i_]);                                         \
        suite_add_tcase(s_, tc_);                                                       \
        SRunner *sr_ = srunner_create(s_);                                              \
        srunner_run_all(sr_, CK_NORMAL);                                                \
        int failed_ = srunner_ntests_failed(sr_);                                       \
        srunner_free(sr_);                                                              \
        return failed_ ? 1 : 0;                                                         \
    } while (0)

#endif
