/* nvtx.c - NVTX as regions: the shim is the NVTX injection library
 * (NVTX_INJECTION64_PATH, set to our own path in cupti.c unless a tool set
 * it first).  Range push/pop and start/end, ASCII and wide, with and
 * without a domain, become greenshim_region_push/pop, so the same region
 * paths ("decoder/attn") name layers whether a program uses our API,
 * torch.cuda.nvtx.range_push or autograd's emit_nvtx.  Marks are
 * NVTX_MARK records.  The NVTX ABI (frozen, v2) is declared locally.
 *
 * Libraries annotate themselves too: NCCL, cuDNN, cuBLAS, NVSHMEM, CUTLASS,
 * TensorRT push ranges in domains of their own name.  Those ranges are no
 * program names: they become marks ("NCCL: AllReduce"), never regions, so a
 * collective never nests into the user's layer paths.  The payload
 * extension (nvtxRangePushPayload / PopPayload / Start / End, NCCL >= 2.23)
 * is answered too (InitializeInjectionNvtxExtension): a payload pop closes
 * the range its domain opened, whichever form opened it. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <wchar.h>
#include "../gs.h"
#include "gpu.h"
#include "greenshim.h"

/* ---- the NVTX v2 injection ABI ---- */
typedef void (*gs_nvtx_fp)(void);
typedef gs_nvtx_fp **gs_nvtx_table;
struct gs_nvtx_callbacks {
    size_t struct_size;
    int (*get_module_table)(int module, gs_nvtx_table *out, unsigned *size);
};
typedef const void *(*gs_nvtx_get_export)(uint32_t id);
enum { NVTX_ETID_CALLBACKS = 1 };
enum { NVTX_MOD_CORE = 1, NVTX_MOD_CORE2 = 5 };
enum {
    CORE_MarkEx = 1, CORE_MarkA, CORE_MarkW, CORE_RangeStartEx, CORE_RangeStartA,
    CORE_RangeStartW, CORE_RangeEnd, CORE_RangePushEx, CORE_RangePushA, CORE_RangePushW,
    CORE_RangePop,
};
enum {
    CORE2_DomainMarkEx = 1, CORE2_DomainRangeStartEx, CORE2_DomainRangeEnd,
    CORE2_DomainRangePushEx, CORE2_DomainRangePop, CORE2_DomainResourceCreate,
    CORE2_DomainResourceDestroy, CORE2_DomainNameCategoryA, CORE2_DomainNameCategoryW,
    CORE2_DomainRegisterStringA, CORE2_DomainRegisterStringW, CORE2_DomainCreateA,
    CORE2_DomainCreateW, CORE2_DomainDestroy, CORE2_Initialize,
};
enum { MSG_ASCII = 1, MSG_UNICODE = 2, MSG_REGISTERED = 3 };
struct gs_nvtx_attr {                   /* nvtxEventAttributes_v2 */
    uint16_t version, size;
    uint32_t category;
    int32_t  color_type;
    uint32_t color;
    int32_t  payload_type;
    int32_t  reserved0;
    uint64_t payload;
    int32_t  message_type;
    const void *message;
};
/* our registered-string and domain handles: a leading tag, then the text */
struct gs_nvtx_str { uint32_t tag; uint32_t lib; char text[]; };
#define GS_NVTX_TAG 0x67734e56u

/* domains of libraries, by name (case-insensitive prefix) */
static int gs_nvtx_lib_domain(const char *name)
{
    static const char *const libs[] = { "NCCL", "cuDNN", "CUDNN", "cuBLAS", "cublas", "NVSHMEM",
                                        "CUTLASS", "TensorRT", "TRT", "cuFFT", "cuSPARSE", "NPP",
                                        "DALI", "Triton" };
    for (size_t i = 0; name && i < sizeof libs / sizeof *libs; i++)
        if (strncasecmp(name, libs[i], strlen(libs[i])) == 0)
            return 1;
    return 0;
}

static int gs_dom_is_lib(const void *d)
{
    const struct gs_nvtx_str *s = d;
    return s && s->tag == GS_NVTX_TAG && s->lib;
}

static const char *gs_dom_name(const void *d)
{
    const struct gs_nvtx_str *s = d;
    return s && s->tag == GS_NVTX_TAG ? s->text : "(domain)";
}

/* ---- text ---- */

/* wide -> UTF-8 into buf (truncated) */
static const char *gs_wide(const wchar_t *w, char *buf, size_t len)
{
    size_t o = 0;
    for (; w && *w && o + 5 < len; w++) {
        uint32_t c = (uint32_t)*w;
        if (c < 0x80) {
            buf[o++] = (char)c;
        } else if (c < 0x800) {
            buf[o++] = (char)(0xc0 | c >> 6);
            buf[o++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            buf[o++] = (char)(0xe0 | c >> 12);
            buf[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
            buf[o++] = (char)(0x80 | (c & 0x3f));
        } else {
            buf[o++] = (char)(0xf0 | c >> 18);
            buf[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
            buf[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
            buf[o++] = (char)(0x80 | (c & 0x3f));
        }
    }
    buf[o] = 0;
    return buf;
}

static const char *gs_attr_text(const struct gs_nvtx_attr *a, char *buf, size_t len)
{
    if (!a || a->size < offsetof(struct gs_nvtx_attr, message) + sizeof(void *) || !a->message)
        return "(unnamed)";
    switch (a->message_type) {
    case MSG_ASCII:
        return (const char *)a->message;
    case MSG_UNICODE:
        return gs_wide((const wchar_t *)a->message, buf, len);
    case MSG_REGISTERED: {
        const struct gs_nvtx_str *s = a->message;
        return s->tag == GS_NVTX_TAG ? s->text : "(unnamed)";
    }
    default:
        return "(unnamed)";
    }
}

static void *gs_nvtx_handle(const char *text)
{
    size_t l = strlen(text ? text : "");
    struct gs_nvtx_str *s = malloc(sizeof *s + l + 1);
    if (!s)
        return NULL;
    s->tag = GS_NVTX_TAG;
    s->lib = 0;
    memcpy(s->text, text ? text : "", l + 1);
    return s;
}

/* ---- ranges and marks ---- */

/* start/end ranges are not nested and may end on another thread: one that
 * ends on its own thread, innermost first, is a region; others are ignored */
#define GS_NVTX_MAXSTART 64
static __thread uint64_t gs_start_ids[GS_NVTX_MAXSTART];
static __thread unsigned gs_nstart;
static uint64_t gs_next_start = 1;

static int gs_push(const char *name)
{
    greenshim_region_push_from(name, GS_REGION_NVTX);
    return (int)gs_tls.region_depth - 1;
}

static int gs_pop(void)
{
    if (!gs_tls.region_depth)
        return -1;
    greenshim_region_pop();
    return (int)gs_tls.region_depth;
}

static uint64_t gs_start(const char *name)
{
    uint64_t id = __atomic_fetch_add(&gs_next_start, 1, __ATOMIC_RELAXED);
    if (gs_nstart < GS_NVTX_MAXSTART) {
        greenshim_region_push_from(name, GS_REGION_NVTX);
        gs_start_ids[gs_nstart++] = id;
    }
    return id;
}

static void gs_end(uint64_t id)
{
    if (gs_nstart && gs_start_ids[gs_nstart - 1] == id) {
        gs_nstart--;
        greenshim_region_pop();
    }
}

static void gs_mark(const char *text)
{
    struct gs_thread *t = &gs_tls;
    if (!gs_recording(t))
        return;
    t->busy = 1;
    struct gs_rec_nvtx_mark m = { .type = GS_REC_NVTX_MARK, .nslots = 1 };
    m.text = gs_gpu_string(GS_STR_GPU, text);
    m.region = t->region_depth ? t->region_stack[t->region_depth - 1] : 0;
    m.t = gs_now();
    gs_emit(&m);
    t->busy = 0;
}

/* a library domain's range: a mark "DOMAIN: text", no region */
static void gs_lib_mark(const void *d, const char *text)
{
    char b[600];
    snprintf(b, sizeof b, "%s: %s", gs_dom_name(d), text);
    gs_mark(b);
}

#define TXT(a) char b_[512]; const char *s_ = gs_attr_text((a), b_, sizeof b_)
static void n_markex(const struct gs_nvtx_attr *a) { TXT(a); gs_mark(s_); }
static void n_marka(const char *s) { gs_mark(s ? s : "(null)"); }
static void n_markw(const wchar_t *w) { char b[512]; gs_mark(gs_wide(w, b, sizeof b)); }
static uint64_t n_startex(const struct gs_nvtx_attr *a) { TXT(a); return gs_start(s_); }
static uint64_t n_starta(const char *s) { return gs_start(s ? s : "(null)"); }
static uint64_t n_startw(const wchar_t *w) { char b[512]; return gs_start(gs_wide(w, b, sizeof b)); }
static void n_end(uint64_t id) { gs_end(id); }
static int n_pushex(const struct gs_nvtx_attr *a) { TXT(a); return gs_push(s_); }
static int n_pusha(const char *s) { return gs_push(s ? s : "(null)"); }
static int n_pushw(const wchar_t *w) { char b[512]; return gs_push(gs_wide(w, b, sizeof b)); }
static int n_pop(void) { return gs_pop(); }
static void d_markex(void *d, const struct gs_nvtx_attr *a)
{
    if (gs_dom_is_lib(d)) { TXT(a); gs_lib_mark(d, s_); } else n_markex(a);
}
static uint64_t d_startex(void *d, const struct gs_nvtx_attr *a)
{
    if (gs_dom_is_lib(d)) { TXT(a); gs_lib_mark(d, s_); return 0; }
    return n_startex(a);
}
static void d_end(void *d, uint64_t id) { if (!gs_dom_is_lib(d)) gs_end(id); }
static int d_pushex(void *d, const struct gs_nvtx_attr *a)
{
    if (gs_dom_is_lib(d)) { TXT(a); gs_lib_mark(d, s_); return 0; }
    return n_pushex(a);
}
static int d_pop(void *d) { return gs_dom_is_lib(d) ? 0 : gs_pop(); }
static void *d_regstra(void *d, const char *s) { (void)d; return gs_nvtx_handle(s); }
static void *d_regstrw(void *d, const wchar_t *w) { char b[512]; (void)d; return gs_nvtx_handle(gs_wide(w, b, sizeof b)); }
static void *gs_domain(const char *name)
{
    struct gs_nvtx_str *s = gs_nvtx_handle(name);
    if (s)
        s->lib = (uint32_t)gs_nvtx_lib_domain(name);
    return s;
}
static void *d_createa(const char *s) { return gs_domain(s); }
static void *d_createw(const wchar_t *w) { char b[512]; return gs_domain(gs_wide(w, b, sizeof b)); }
static void d_destroy(void *d) { (void)d; }     /* handles may still be in use: kept */
static void d_init(const void *reserved) { (void)reserved; }
#undef TXT

static void gs_nvtx_set(gs_nvtx_table t, unsigned size, unsigned id, gs_nvtx_fp f)
{
    if (id < size && t[id])
        *t[id] = f;
}

/* The NVTX library in the program calls this at its first NVTX call. */
GS_API int InitializeInjectionNvtx2(gs_nvtx_get_export get)
{
    if (!(gs_enabled || gs_armed) || !get)
        return 0;
    const struct gs_nvtx_callbacks *cb = get(NVTX_ETID_CALLBACKS);
    if (!cb || cb->struct_size < sizeof *cb || !cb->get_module_table)
        return 0;
    gs_nvtx_table t;
    unsigned n;
    if (cb->get_module_table(NVTX_MOD_CORE, &t, &n) && t) {
        gs_nvtx_set(t, n, CORE_MarkEx, (gs_nvtx_fp)n_markex);
        gs_nvtx_set(t, n, CORE_MarkA, (gs_nvtx_fp)n_marka);
        gs_nvtx_set(t, n, CORE_MarkW, (gs_nvtx_fp)n_markw);
        gs_nvtx_set(t, n, CORE_RangeStartEx, (gs_nvtx_fp)n_startex);
        gs_nvtx_set(t, n, CORE_RangeStartA, (gs_nvtx_fp)n_starta);
        gs_nvtx_set(t, n, CORE_RangeStartW, (gs_nvtx_fp)n_startw);
        gs_nvtx_set(t, n, CORE_RangeEnd, (gs_nvtx_fp)n_end);
        gs_nvtx_set(t, n, CORE_RangePushEx, (gs_nvtx_fp)n_pushex);
        gs_nvtx_set(t, n, CORE_RangePushA, (gs_nvtx_fp)n_pusha);
        gs_nvtx_set(t, n, CORE_RangePushW, (gs_nvtx_fp)n_pushw);
        gs_nvtx_set(t, n, CORE_RangePop, (gs_nvtx_fp)n_pop);
    }
    if (cb->get_module_table(NVTX_MOD_CORE2, &t, &n) && t) {
        gs_nvtx_set(t, n, CORE2_DomainMarkEx, (gs_nvtx_fp)d_markex);
        gs_nvtx_set(t, n, CORE2_DomainRangeStartEx, (gs_nvtx_fp)d_startex);
        gs_nvtx_set(t, n, CORE2_DomainRangeEnd, (gs_nvtx_fp)d_end);
        gs_nvtx_set(t, n, CORE2_DomainRangePushEx, (gs_nvtx_fp)d_pushex);
        gs_nvtx_set(t, n, CORE2_DomainRangePop, (gs_nvtx_fp)d_pop);
        gs_nvtx_set(t, n, CORE2_DomainRegisterStringA, (gs_nvtx_fp)d_regstra);
        gs_nvtx_set(t, n, CORE2_DomainRegisterStringW, (gs_nvtx_fp)d_regstrw);
        gs_nvtx_set(t, n, CORE2_DomainCreateA, (gs_nvtx_fp)d_createa);
        gs_nvtx_set(t, n, CORE2_DomainCreateW, (gs_nvtx_fp)d_createw);
        gs_nvtx_set(t, n, CORE2_DomainDestroy, (gs_nvtx_fp)d_destroy);
        gs_nvtx_set(t, n, CORE2_Initialize, (gs_nvtx_fp)d_init);
    }
    gs_sources |= GS_SRC_NVTX;
    return 1;
}

/* ---- the payload extension (nvToolsExtPayload.h, module 2) ----
 * Ranges whose attributes travel in payloads: a push names its region after
 * its domain (the payload's layout is the program's schema, not text), a
 * pop closes the range its domain opened.  Library domains: marks only. */
enum { EXT_PAYLOAD_MODULE = 2, EXT_SchemaRegister = 0, EXT_EnumRegister = 1, EXT_MarkPayload = 2,
       EXT_RangePushPayload = 3, EXT_RangePopPayload = 4, EXT_RangeStartPayload = 5,
       EXT_RangeEndPayload = 6, EXT_DomainIsEnabled = 7 };
struct gs_nvtx_ext_segment { size_t id, nslots; intptr_t *slots; };
struct gs_nvtx_ext_module {
    uint16_t nvtx_ver, struct_size, module_id, compat_id;
    size_t nsegments;
    struct gs_nvtx_ext_segment *segments;
    void *get_export;
    const void *ext_info;
};

static uint64_t gs_next_schema = 0x10000;   /* ids past the predefined schemas */
static uint64_t p_schema(void *d, const void *a) { (void)d; (void)a; return __atomic_add_fetch(&gs_next_schema, 1, __ATOMIC_RELAXED); }
static void p_mark(void *d, const void *p, size_t n) { (void)p; (void)n; if (gs_dom_is_lib(d)) gs_lib_mark(d, "(payload)"); else gs_mark(gs_dom_name(d)); }
static int p_push(void *d, const void *p, size_t n)
{
    (void)p; (void)n;
    if (gs_dom_is_lib(d)) { gs_lib_mark(d, "(payload)"); return 0; }
    return gs_push(gs_dom_name(d));
}
static int p_pop(void *d, const void *p, size_t n) { (void)p; (void)n; return gs_dom_is_lib(d) ? 0 : gs_pop(); }
static uint64_t p_start(void *d, const void *p, size_t n)
{
    (void)p; (void)n;
    if (gs_dom_is_lib(d)) { gs_lib_mark(d, "(payload)"); return 0; }
    return gs_start(gs_dom_name(d));
}
static void p_end(void *d, uint64_t id) { if (!gs_dom_is_lib(d)) gs_end(id); }
static uint8_t p_enabled(void *d) { (void)d; return 1; }

GS_API int InitializeInjectionNvtxExtension(struct gs_nvtx_ext_module *m)
{
    if (!(gs_enabled || gs_armed) || !m || m->module_id != EXT_PAYLOAD_MODULE || m->nsegments < 1 ||
        !m->segments || !m->segments[0].slots)
        return 0;
    intptr_t *s = m->segments[0].slots;
    size_t n = m->segments[0].nslots;
#define SET(i, f) do { if ((i) < n) s[i] = (intptr_t)(f); } while (0)
    SET(EXT_SchemaRegister, p_schema);
    SET(EXT_EnumRegister, p_schema);
    SET(EXT_MarkPayload, p_mark);
    SET(EXT_RangePushPayload, p_push);
    SET(EXT_RangePopPayload, p_pop);
    SET(EXT_RangeStartPayload, p_start);
    SET(EXT_RangeEndPayload, p_end);
    SET(EXT_DomainIsEnabled, p_enabled);
#undef SET
    return 1;
}
