/* trace_read.c - first stage: map a trace file, check it, decode its
 * records into plain arrays.  Damage (truncation, bad chunk, unknown
 * record) stops the reading of that file at its offset: whole records
 * before it are kept, the run is marked damaged (exit 2). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ana.h"

#define GROW(arr, n, cap)                                                   \
    do {                                                                    \
        if ((n) == (cap)) {                                                 \
            (cap) = (cap) ? (cap) * 2 : 16;                                 \
            (arr) = ana_xrealloc((arr), (cap), sizeof *(arr));              \
        }                                                                   \
    } while (0)

const char *ana_hdr_get(const struct ana_proc *p, const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    const char *s = p->text;
    const char *found = NULL;
    while (s && *s) {
        const char *e = strchr(s, '\n');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l > kl + 1 && strncmp(s, key, kl) == 0 && s[kl] == ':' && s[kl + 1] == ' ') {
            size_t vl = l - kl - 2;
            if (vl >= len)
                vl = len - 1;
            memcpy(buf, s + kl + 2, vl);
            buf[vl] = 0;
            found = buf;                /* the last line of a key wins (fork children) */
        } else if (l == kl + 1 && strncmp(s, key, kl) == 0 && s[kl] == ':') {
            buf[0] = 0;
            found = buf;
        }
        s = e ? e + 1 : NULL;
    }
    return found;
}

/* "name=package-0 kind=energy ..." -> value of one field */
static int kv(const char *line, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key);
    for (const char *s = line; s && *s;) {
        while (*s == ' ')
            s++;
        if (strncmp(s, key, kl) == 0 && s[kl] == '=') {
            s += kl + 1;
            size_t l = strcspn(s, " ");
            if (l >= len)
                l = len - 1;
            memcpy(out, s, l);
            out[l] = 0;
            return 1;
        }
        s = strchr(s, ' ');
    }
    return 0;
}

static void parse_header_text(struct ana_proc *p)
{
    char buf[4096], key[32];
    ana_hdr_get(p, "host", p->host, sizeof p->host) || (p->host[0] = 0);
    ana_hdr_get(p, "cmdline", p->cmdline, sizeof p->cmdline) || (p->cmdline[0] = 0);
    ana_hdr_get(p, "rank", p->rank, sizeof p->rank) || (p->rank[0] = 0);
    ana_hdr_get(p, "run.id", p->run_id, sizeof p->run_id) || (p->run_id[0] = 0);
    ana_hdr_get(p, "run.role", p->run_role, sizeof p->run_role) || (p->run_role[0] = 0);
    if (!ana_hdr_get(p, "events.live", p->events_live, sizeof p->events_live))
        strcpy(p->events_live, "none");
    if (!ana_hdr_get(p, "events.kind", p->events_kind, sizeof p->events_kind))
        strcpy(p->events_kind, "none");
    if (!ana_hdr_get(p, "counters.policy", p->policy, sizeof p->policy))
        p->policy[0] = 0;
    if (!ana_hdr_get(p, "energy.sources", p->energy_sources, sizeof p->energy_sources))
        p->energy_sources[0] = 0;
    p->idle_watts_hdr = ana_hdr_get(p, "idle_watts", buf, sizeof buf) ? atof(buf) : -1;
    if (!(p->idle_watts_hdr >= 0 && p->idle_watts_hdr < 1e9))
        p->idle_watts_hdr = -1;         /* NaN, infinite, negative: not given */
    p->sampler_hz = ana_hdr_get(p, "sampler.hz", buf, sizeof buf) ? (unsigned)atoi(buf) : 0;
    ana_hdr_get(p, "job.id", p->job_id, sizeof p->job_id) || (p->job_id[0] = 0);
    ana_hdr_get(p, "job.launcher", p->job_launcher, sizeof p->job_launcher) || (p->job_launcher[0] = 0);
    ana_hdr_get(p, "job.node", p->job_node, sizeof p->job_node) || (p->job_node[0] = 0);
    static const char *const nk[4] = { "job.rank", "job.local_rank", "job.world_size", "job.node_id" };
    long *nv[4] = { &p->job_rank, &p->job_local_rank, &p->job_world_size, &p->job_node_id };
    for (int i = 0; i < 4; i++) {
        char *e;
        *nv[i] = -1;
        if (ana_hdr_get(p, nk[i], buf, sizeof buf) && buf[0] >= '0' && buf[0] <= '9') {
            long v = strtol(buf, &e, 10);
            if (!*e && v >= 0 && v < (1l << 31))
                *nv[i] = v;             /* a number, else not given */
        }
    }
    p->age_s = ana_hdr_get(p, "process.age_ns", buf, sizeof buf) ? atof(buf) * 1e-9 : -1;
    if (!(p->age_s >= 0 && p->age_s < 1e9))
        p->age_s = -1;
    p->task_clock_idx = -1;
    if (strcmp(p->events_live, "none") != 0) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", p->events_live);
        for (char *s = strtok(tmp, ","); s && p->nevents < GS_MAX_EVENTS; s = strtok(NULL, ",")) {
            if (strcasestr(s, "TASK-CLOCK"))
                p->task_clock_idx = p->nevents;
            p->events[p->nevents++] = strdup(s);
        }
    }
    for (int i = 0; i < ANA_MAX_DOMAINS; i++) {
        snprintf(key, sizeof key, "domain.%d", i);
        if (!ana_hdr_get(p, key, buf, sizeof buf))
            continue;
        struct ana_domain *d = &p->dom[i];
        kv(buf, "name", d->name, sizeof d->name);
        kv(buf, "kind", d->kind, sizeof d->kind);
        kv(buf, "unit", d->unit, sizeof d->unit);
        kv(buf, "source", d->source, sizeof d->source);
        kv(buf, "provenance", d->provenance, sizeof d->provenance);
        kv(buf, "watts_source", d->watts_source, sizeof d->watts_source);
        kv(buf, "component", d->component, sizeof d->component);
        /* before scope/key existed: RAPL is the machine's, keyed by name */
        if (!kv(buf, "scope", d->scope, sizeof d->scope))
            snprintf(d->scope, sizeof d->scope, "%s", strcmp(d->kind, "energy") == 0 ? "machine" : "process");
        if (!kv(buf, "key", d->key, sizeof d->key))
            memcpy(d->key, d->name, sizeof d->key);      /* both 64 bytes, NUL-terminated */
        char v[64];
        d->sum = kv(buf, "sum", v, sizeof v) ? atoi(v) : 0;
        d->max_range = kv(buf, "max_range", v, sizeof v) ? strtoull(v, NULL, 10) : 0;
        d->watts_per_core = kv(buf, "watts_per_core", v, sizeof v) ? atof(v) : 0;
        if (!(d->watts_per_core >= 0 && d->watts_per_core < 1e6))
            d->watts_per_core = 0;
        if (i + 1 > p->ndom)
            p->ndom = i + 1;
    }
}

/* ---- records: every field read with memcpy (chunks need not be aligned) ---- */
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* a chunk as found, with its stream number (v3) for the ordering */
struct chunk_ref { struct ana_chunk c; uint32_t sno, copied; };

static int chunk_cmp(const void *a, const void *b)
{
    const struct chunk_ref *x = a, *y = b;
    if (x->c.tid != y->c.tid)
        return x->c.tid < y->c.tid ? -1 : 1;
    if (x->sno != y->sno)               /* a tid the kernel gave again: the later thread after */
        return x->sno < y->sno ? -1 : 1;
    if (x->c.seq != y->c.seq)
        return x->c.seq < y->c.seq ? -1 : 1;
    if (x->copied != y->copied)         /* of a chunk there twice, the helper's copy first */
        return x->copied ? -1 : 1;
    return x->c.off < y->c.off ? -1 : x->c.off > y->c.off;
}

static void string_add(struct ana_proc *p, uint32_t id, char *text)
{
    if (p->nstrs * 2 + 2 > p->shcap) {          /* rehash: id -> index + 1 */
        size_t cap = p->shcap ? p->shcap * 2 : 64;
        uint32_t *h = ana_xmalloc(cap, sizeof *h);
        memset(h, 0, cap * sizeof *h);
        for (size_t i = 0; i < p->nstrs; i++) {
            size_t j = (p->strs[i].id * 2654435761u) & (cap - 1);
            while (h[j])
                j = (j + 1) & (cap - 1);
            h[j] = (uint32_t)i + 1;
        }
        free(p->shash);
        p->shash = h;
        p->shcap = cap;
    }
    size_t j = (id * 2654435761u) & (p->shcap - 1);
    for (; p->shash[j]; j = (j + 1) & (p->shcap - 1))
        if (p->strs[p->shash[j] - 1].id == id) {
            free(text);                           /* the first definition wins */
            return;
        }
    GROW(p->strs, p->nstrs, p->capstrs);
    p->strs[p->nstrs] = (struct ana_string){ id, text };
    p->shash[j] = (uint32_t)++p->nstrs;
}

/* Drop the pages of [off, off + len) of the mapping once a pass is done with
 * them: the file stays in the page cache, but the process's resident size
 * stays bounded by what it holds, not by the file (they fault back in from
 * the cache when a later pass reads them). */
void ana_release(const struct ana_proc *p, size_t off, size_t len)
{
    static size_t pg;
    if (!pg)
        pg = (size_t)sysconf(_SC_PAGESIZE);
    if (off >= p->map_size)
        return;
    if (len > p->map_size - off)        /* never past the mapping (other memory follows it) */
        len = p->map_size - off;
    uintptr_t a = (uintptr_t)p->map + off, b = a + len;
    a = (a + pg - 1) & ~(uintptr_t)(pg - 1);
    b &= ~(uintptr_t)(pg - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Release the whole extent of chunk i (its slots up to the chunk size, not
 * only the used length: with 4 KiB chunks the used length ends short of the
 * page, and rounding it inward released nothing). */
void ana_release_chunk(const struct ana_proc *p, size_t i)
{
    if (p->hdr.chunk_size < 65536)      /* the kernel maps 64 KiB around a fault: other threads' */
        return;                         /* faults map it back; a madvise per chunk only costs */
    const struct ana_chunk *ch = &p->chunks[i];
    ana_release(p, ch->off, p->hdr.chunk_size > ch->len ? p->hdr.chunk_size : ch->len);
}

/* A pass moving from file offset `from` to `to`: once it leaves a window of
 * ANA_RELEASE_WINDOW bytes, everything from that window's start up to the
 * window it enters goes, other threads' chunks too (the kernel maps pages
 * around each fault, from every thread's chunks: releasing only one's own
 * chunks left the rest mapped, the whole file for interleaved threads).
 * One madvise per window, not per chunk. */
void ana_release_behind(const struct ana_proc *p, size_t from, size_t to)
{
    size_t a = from & ~(size_t)(ANA_RELEASE_WINDOW - 1), b = to & ~(size_t)(ANA_RELEASE_WINDOW - 1);
    if (b > a)
        ana_release(p, a, b - a);
}

static uint32_t shape_hash(const struct ana_shape *x)
{
    uint32_t h = (x->m * 0x9e3779b1u) ^ (x->n * 0x85ebca77u) ^ (x->k * 0xc2b2ae3du) ^ (x->pat << 8) ^ x->op;
    return h ^ (h >> 15);
}

static int shape_eq(const struct ana_shape *a, const struct ana_shape *b)
{
    return a->m == b->m && a->n == b->n && a->k == b->k && a->pat == b->pat && a->op == b->op;
}

/* one BLAS call's shape into the process's table (first calls first) */
static void shape_note(struct ana_proc *p, const uint8_t *rec)
{
    struct gs_rec_call r;
    memcpy(&r, rec, sizeof r);
    struct ana_shape x = { r.op, r.flags & 0x3fu, r.m, r.n, r.k, 1 };
    if (p->shp_last && shape_eq(&p->shp[p->shp_last - 1], &x)) {
        p->shp[p->shp_last - 1].calls++;
        return;
    }
    if ((p->nshp + 1) * 2 > p->shp_cap) {
        size_t cap = p->shp_cap ? p->shp_cap * 2 : 64;
        uint32_t *h = ana_xmalloc(cap, sizeof *h);
        memset(h, 0, cap * sizeof *h);
        for (size_t i = 0; i < p->nshp; i++) {
            size_t j = shape_hash(&p->shp[i]) & (cap - 1);
            while (h[j])
                j = (j + 1) & (cap - 1);
            h[j] = (uint32_t)i + 1;
        }
        free(p->shp_hash);
        p->shp_hash = h;
        p->shp_cap = cap;
    }
    size_t j = shape_hash(&x) & (p->shp_cap - 1);
    for (; p->shp_hash[j]; j = (j + 1) & (p->shp_cap - 1))
        if (shape_eq(&p->shp[p->shp_hash[j] - 1], &x)) {
            p->shp_last = p->shp_hash[j];
            p->shp[p->shp_last - 1].calls++;
            return;
        }
    if (p->nshp == p->capshp) {
        p->capshp = p->capshp ? p->capshp * 2 : 64;
        p->shp = ana_xrealloc(p->shp, p->capshp, sizeof *p->shp);
    }
    p->shp[p->nshp++] = x;
    p->shp_hash[j] = (uint32_t)p->nshp;
    p->shp_last = (uint32_t)p->nshp;
}

/* slots a record takes (>= 1), or 0 when it is damage */
static size_t rec_slots(const struct ana_proc *p, const uint8_t *rec, size_t left)
{
    uint8_t type = rec[0];
    if (type == GS_REC_STRING) {
        size_t len = (size_t)rec[2] | (size_t)rec[3] << 8;
        size_t ncont = len > GS_STRING_HEAD_TEXT ? (len - GS_STRING_HEAD_TEXT + GS_REC_SIZE - 1) / GS_REC_SIZE : 0;
        return 1 + ncont <= left ? 1 + ncont : 0;
    }
    if (type >= 16) {
        if (p->hdr.version < 2 && type != GS_REC_DNNL)
            return 1;                             /* version 1: one slot each (DNNL always says) */
        size_t n = rec[1];
        return n && n <= left ? n : 0;
    }
    return type <= GS_REC_END ? 1 : 0;
}

/* Pass over one chunk: counts, extremes, strings, clock points, samples,
 * losses.  Returns the offset of damage or 0; ch->len is set to the bytes
 * the sweep may read. */
static size_t scan_chunk(struct ana_run *run, struct ana_proc *p, struct ana_thread *th, struct ana_chunk *ch,
                         size_t csize)
{
    const uint8_t *base = p->map;
    size_t end = ch->off + csize;
    for (size_t r = ch->off + GS_REC_SIZE; r + GS_REC_SIZE <= end;) {
        const uint8_t *rec = base + r;
        size_t left = (end - r) / GS_REC_SIZE;
        if (rec[0] == GS_REC_NONE) {
            ch->len = (uint32_t)(r - ch->off);
            return 0;
        }
        size_t ns = rec_slots(p, rec, left);
        if (!ns) {
            ch->len = (uint32_t)(r - ch->off);
            return r;
        }
        if (run->visit)
            run->visit(run->visit_ctx, p, ch->tid, r, rec);
        switch (rec[0]) {
        case GS_REC_DNNL:
            if (rec[2] == GS_DNNL_PRIM) {
                ana_dnnl_prim(p, rec);
                break;
            }
            if (rec[2] != GS_DNNL_EXEC)
                break;
            /* an EXEC counts as a call (t0, t1 at the CALL's offsets) */
            /* fall through */
        case GS_REC_COMM:               /* a communication call: t0, t1, region as DNNL's */
        case GS_REC_CALL: {
            uint64_t t0 = ld64(rec + 8), t1 = ld64(rec + 16);
            if (t1 < t0)
                t1 = t0;
            if (t0 < p->raw_t0_min) p->raw_t0_min = t0;
            if (t1 > p->raw_t1_max) p->raw_t1_max = t1;
            if (rec[0] == GS_REC_CALL ? ld32(rec + 4) : ld32(rec + 24))
                p->any_call_region = 1;
            if (rec[0] == GS_REC_CALL)
                shape_note(p, rec);
            p->ncalls++;
            th->ncalls++;
            break;
        }
        case GS_REC_REGION_PUSH:
        case GS_REC_REGION_POP: {
            uint64_t t = ld64(rec + 8);
            /* who named the region (byte 1 of a push; 0 in older traces); ids are bounded by the records */
            if (rec[0] == GS_REC_REGION_PUSH && rec[1] && rec[1] <= GS_REGION_ANNOTATE &&
                !ana_map_get(&p->rorigin, ld32(rec + 4), 0))
                ana_map_put(&p->rorigin, ld32(rec + 4), (uint32_t)rec[1] + 1);
            if (t > p->raw_rev_max) p->raw_rev_max = t;
            p->nrev++;
            th->nrev++;
            break;
        }
        case GS_REC_STRING: {
            size_t len = (size_t)rec[2] | (size_t)rec[3] << 8;
            char *t = ana_xmalloc(len + 1, 1);
            memcpy(t, rec + 8, len < GS_STRING_HEAD_TEXT ? len : GS_STRING_HEAD_TEXT);
            if (len > GS_STRING_HEAD_TEXT)
                memcpy(t + GS_STRING_HEAD_TEXT, rec + GS_REC_SIZE, len - GS_STRING_HEAD_TEXT);
            t[len] = 0;
            string_add(p, ld32(rec + 4), t);
            break;
        }
        case GS_REC_CLOCK:
        case GS_REC_END:
            if (p->nck == p->capck) {
                p->capck = p->capck ? p->capck * 2 : 64;
                p->ck_raw = ana_xrealloc(p->ck_raw, p->capck, sizeof *p->ck_raw);
                p->ck_ns = ana_xrealloc(p->ck_ns, p->capck, sizeof *p->ck_ns);
            }
            p->ck_raw[p->nck] = ld64(rec + 8);
            p->ck_ns[p->nck++] = ld64(rec + 16);
            if (rec[0] == GS_REC_END)
                p->clean_exit = 1;
            break;
        case GS_REC_SAMPLE: {
            uint16_t dom = (uint16_t)(rec[2] | rec[3] << 8);
            uint64_t t = ld64(rec + 8), v = ld64(rec + 16), tr = ld64(rec + 24);
            if (rec[1] == GS_SAMPLE_SAMPLER_NS) {
                if (v > p->sampler_cpu_ns)
                    p->sampler_cpu_ns = v;
                break;
            }
            if (dom >= ANA_MAX_DOMAINS)
                break;
            /* (reads the scheduler interrupted are sorted out once the
             * clock is fitted: ana_samples_settle, from the timeline) */
            struct ana_domain *d = &p->dom[dom];
            if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 256;
                d->t = ana_xrealloc(d->t, d->cap, sizeof *d->t);
                d->v = ana_xrealloc(d->v, d->cap, sizeof *d->v);
                d->h = ana_xrealloc(d->h, d->cap, sizeof *d->h);
            }
            /* the read happened between t and t_read: take the middle */
            d->t[d->n] = tr > t ? t + (tr - t) / 2 : t;
            d->h[d->n] = tr > t ? ((tr - t) / 2 > UINT32_MAX ? UINT32_MAX : (uint32_t)((tr - t) / 2)) : 0;
            d->v[d->n++] = v;
            if (dom + 1 > p->ndom)
                p->ndom = dom + 1;
            break;
        }
        case GS_REC_LOST:
            if (p->hdr.version >= 2) {
                /* {type, reason, reserved, tid, t, calls, records, t_first} */
                uint64_t calls = ld64(rec + 16), recs = ld64(rec + 24);
                p->lost_calls = calls > UINT64_MAX - p->lost_calls ? UINT64_MAX : p->lost_calls + calls;
                p->lost = recs > UINT64_MAX - p->lost ? UINT64_MAX : p->lost + recs;
                if (!p->lost_reason && rec[1])
                    p->lost_reason = rec[1];
            } else {
                uint64_t n = ld64(rec + 16);
                p->lost = n > UINT64_MAX - p->lost ? UINT64_MAX : p->lost + n;
            }
            break;
        default:
            if (rec[0] >= 16)                   /* the GPU path's kinds (kernels.c); others skipped */
                ana_gpu_read(p, (uint32_t)(th - p->threads), rec, ns);
            break;                              /* counters */
        }
        r += ns * GS_REC_SIZE;
    }
    ch->len = (uint32_t)((end - ch->off) - (end - ch->off - GS_REC_SIZE) % GS_REC_SIZE);
    return 0;
}

int ana_next_call(const struct ana_proc *p, const struct ana_thread *th, size_t *ci, size_t *off,
                  struct ana_call *c)
{
    for (; *ci < th->nch; (*ci)++, *off = 0) {
        const struct ana_chunk *ch = &p->chunks[th->ch0 + *ci];
        if (*ci && *off == 0) {         /* done with the chunk before: its pages go */
            ana_release_chunk(p, th->ch0 + *ci - 1);
            ana_release_behind(p, p->chunks[th->ch0 + *ci - 1].off, ch->off);
        }
        const uint8_t *b = p->map + ch->off;
        if (*off < GS_REC_SIZE)
            *off = GS_REC_SIZE;
        while (*off + GS_REC_SIZE <= ch->len) {
            const uint8_t *rec = b + *off;
            size_t ns = rec_slots(p, rec, (ch->len - *off) / GS_REC_SIZE);
            *off += (ns ? ns : 1) * GS_REC_SIZE;
            if (!ana_rec_is_call(rec))
                continue;
            ana_decode_call(p, rec, b + *off, b + *off, c);    /* no counters: a pass ahead of the sweep */
            return 1;
        }
    }
    if (th->nch) {                      /* the end: the last window goes */
        const struct ana_chunk *l = &p->chunks[th->ch0 + th->nch - 1];
        ana_release_chunk(p, th->ch0 + th->nch - 1);
        ana_release_behind(p, l->off, l->off + ANA_RELEASE_WINDOW);
    }
    return 0;
}

/* ana_next_call for passes that need a call's shape only (op, flags, m,
 * n, k, region, prim): no times, counters or leading dimensions */
int ana_next_call_shape(const struct ana_proc *p, const struct ana_thread *th, size_t *ci, size_t *off,
                        struct ana_call *c)
{
    for (; *ci < th->nch; (*ci)++, *off = 0) {
        const struct ana_chunk *ch = &p->chunks[th->ch0 + *ci];
        if (*ci && *off == 0) {
            ana_release_chunk(p, th->ch0 + *ci - 1);
            ana_release_behind(p, p->chunks[th->ch0 + *ci - 1].off, ch->off);
        }
        const uint8_t *b = p->map + ch->off;
        if (*off < GS_REC_SIZE)
            *off = GS_REC_SIZE;
        while (*off + GS_REC_SIZE <= ch->len) {
            const uint8_t *rec = b + *off;
            if (rec[0] == GS_REC_CALL) {
                struct gs_rec_call r;
                memcpy(&r, rec, sizeof r);
                *off += GS_REC_SIZE;
                c->op = r.op; c->flags = r.flags; c->region = r.region;
                c->m = r.m; c->n = r.n; c->k = r.k;
                c->prim = 0;
                return 1;
            }
            size_t ns = rec_slots(p, rec, (ch->len - *off) / GS_REC_SIZE);
            *off += (ns ? ns : 1) * GS_REC_SIZE;
            if (!ana_rec_is_call(rec))
                continue;
            ana_decode_call(p, rec, b + *off, b + *off, c);
            return 1;
        }
    }
    if (th->nch) {
        const struct ana_chunk *l = &p->chunks[th->ch0 + th->nch - 1];
        ana_release_chunk(p, th->ch0 + th->nch - 1);
        ana_release_behind(p, l->off, l->off + ANA_RELEASE_WINDOW);
    }
    return 0;
}

/* ana_next_call_shape, and in *n how many calls it stands for: it and the
 * CALL records right after it (in its chunk, other kinds of records
 * skipped as ana_next_call_shape skips them) with the same op, flags,
 * region, m, n and k.  A pass that counts calls by shape takes a run at a
 * time. */
int ana_next_call_run(const struct ana_proc *p, const struct ana_thread *th, size_t *ci, size_t *off,
                      struct ana_call *c, size_t *n)
{
    if (!ana_next_call_shape(p, th, ci, off, c))
        return 0;
    *n = 1;
    if (c->prim || *ci >= th->nch || ANA_OP_IS_DNNL(c->op) || ANA_OP_IS_COMM(c->op))
        return 1;
    const struct ana_chunk *ch = &p->chunks[th->ch0 + *ci];
    const uint8_t *b = p->map + ch->off;
    while (*off + GS_REC_SIZE <= ch->len) {
        const uint8_t *rec = b + *off;
        if (rec[0] == GS_REC_CALL) {
            struct gs_rec_call r;
            memcpy(&r, rec, sizeof r);
            if (r.op != c->op || r.flags != c->flags || r.region != c->region || r.m != c->m || r.n != c->n ||
                r.k != c->k)
                break;
            *off += GS_REC_SIZE;
            (*n)++;
            continue;
        }
        if (ana_rec_is_call(rec))
            break;
        size_t ns = rec_slots(p, rec, (ch->len - *off) / GS_REC_SIZE);
        *off += (ns ? ns : 1) * GS_REC_SIZE;
    }
    return 1;
}

/* one CALL record (and the COUNTERS record that follows it before the next
 * call in the same chunk) into c; times stay raw */
void ana_decode_call(const struct ana_proc *p, const uint8_t *rec, const uint8_t *next, const uint8_t *end,
                     struct ana_call *c)
{
    struct gs_rec_call r;
    if (rec[0] == GS_REC_DNNL) {
        ana_dnnl_decode(p, rec, c);
        c->bytes = 0;
        return;
    }
    if (rec[0] == GS_REC_COMM) {
        struct gs_rec_comm m;
        memcpy(&m, rec, sizeof m);
        memset(c, 0, sizeof *c);
        c->t0 = m.t0; c->t1 = m.t1 < m.t0 ? m.t0 : m.t1;
        c->op = ANA_OP_COMM(m.fn < GS_CF_COUNT ? m.fn : 0);
        c->m = m.comm_size;
        c->lda = m.comm_key; c->ldb = m.seq; c->ldc = (uint32_t)m.peer;
        c->flags = (uint16_t)(GS_COMM_LIB(m.libf) << 12 | (GS_COMM_FLAGS(m.libf) & 15u) << 8);
        c->region = m.region;
        c->bytes = m.bytes;
        c->layer = -1;
        return;
    }
    memcpy(&r, rec, sizeof r);
    c->prim = 0;
    c->bytes = 0;
    c->t0 = r.t0; c->t1 = r.t1 < r.t0 ? r.t0 : r.t1;
    c->m = r.m; c->n = r.n; c->k = r.k;
    c->lda = r.lda; c->ldb = r.ldb; c->ldc = r.ldc;
    c->region = r.region; c->flags = r.flags; c->op = r.op;
    c->has_ctr = 0;
    c->energy_j = 0;
    c->wall_s = 0;
    c->layer = -1;
    for (const uint8_t *q = next; q + GS_REC_SIZE <= end;) {
        if (ana_rec_is_call(q) || q[0] == GS_REC_NONE)
            break;
        if (q[0] == GS_REC_COUNTERS) {
            int nv = q[1] < GS_MAX_EVENTS ? q[1] : GS_MAX_EVENTS;
            memset(c->ctr, 0, sizeof c->ctr);
            for (int i = 0; i < nv; i++)
                c->ctr[i] = ld64(q + 8 + 8 * i);
            c->has_ctr = 1;
            break;
        }
        size_t ns = rec_slots(p, q, (size_t)(end - q) / GS_REC_SIZE);
        if (!ns)
            break;
        q += ns * GS_REC_SIZE;
    }
}

/* Samples of one domain in time order.  Besides the sampler's ticks, the
 * recorder reads measured domains at region boundaries on the program's
 * threads (GS_SAMPLE_AT_BOUNDARY), so one domain's points come from several
 * streams.  Sorted here on the raw clock (monotonic in time); what is kept
 * is decided in ns, after the timeline fitted the clock
 * (ana_samples_settle). */
struct tv { uint64_t t, v; uint32_t h; size_t i; };
static int tv_cmp(const void *a, const void *b)
{
    const struct tv *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}
static void samples_in_order(struct ana_domain *d)
{
    size_t i;
    for (i = 1; i < d->n && d->t[i] >= d->t[i - 1]; i++)
        ;
    if (i < d->n) {
        struct tv *a = ana_xmalloc(d->n, sizeof *a);
        for (size_t k = 0; k < d->n; k++)
            a[k] = (struct tv){ d->t[k], d->v[k], d->h[k], k };
        qsort(a, d->n, sizeof *a, tv_cmp);
        for (size_t k = 0; k < d->n; k++) {
            d->t[k] = a[k].t;
            d->v[k] = a[k].v;
            d->h[k] = a[k].h;
        }
        free(a);
    }
}

/* (at most 64 neighbours each side: a file's brackets bound no loop) */
static int loose_covered(const struct ana_domain *d, size_t k)
{
    uint64_t h = d->h[k];
    for (size_t j = k, q = 0; j-- > 0 && q < 64 && d->t[k] - d->t[j] <= h; q++)
        if (d->h[j] < h)
            return 1;
    for (size_t j = k + 1, q = 0; j < d->n && q < 64 && d->t[j] - d->t[k] <= h; j++, q++)
        if (d->h[j] < h)
            return 1;
    return 0;
}

/* Which samples of a domain (times in ns now, ns_per_raw: the fitted
 * clock's slope) are points of the curve.  A read is placed at the middle of
 * its bracket t..t_read.
 *  - An energy read the scheduler interrupted for over 500 us belongs
 *    anywhere in that window: no point (the neighbours bridge it).  In ns
 *    of the fitted clock: the header's tsc_hz, calibrated as the recorder
 *    started, was once 3.5 MHz on a loaded machine (2.1 GHz real), which
 *    made every read look 600 times longer and dropped them all.
 *  - A loose read with a tighter one inside its bracket says nothing that
 *    one does not, and its middle may be on the wrong side of it: its value
 *    looked like a step back of the counter, i.e. a wrap (+1 range on a
 *    small-range counter).  It goes; a loose read with no tighter one
 *    within its bracket stays (a point known to +-250 us beats a long
 *    interpolation when the sampler thread was held up as well).
 *  - Two reads microseconds apart from two streams may come back in the
 *    other order: a step back of a cumulative counter under 1/1000 of its
 *    range is such jitter, not a wrap: the later point keeps the earlier
 *    value. */
void ana_samples_settle(struct ana_domain *d, double ns_per_raw)
{
    int energy = strcmp(d->kind, "energy") == 0;
    if (!d->h || d->n == 0 || (!energy && strcmp(d->kind, "cpu") != 0))
        return;
    if (!(ns_per_raw > 0) || !isfinite(ns_per_raw))
        ns_per_raw = 1;
    for (size_t k = 0; k < d->n; k++) {
        double h = (double)d->h[k] * ns_per_raw;
        d->h[k] = h < 4e9 ? (uint32_t)h : UINT32_MAX;
    }
    uint8_t *drop = calloc(d->n, 1);
    if (!drop)
        exit(3);
    for (size_t k = 0; k < d->n; k++)
        drop[k] = (energy && d->h[k] > 250000) || (d->n > 2 && d->h[k] > 0 && loose_covered(d, k));
    size_t o = 0;
    for (size_t k = 0; k < d->n; k++)
        if (!drop[k]) {
            d->t[o] = d->t[k]; d->v[o] = d->v[k]; d->h[o++] = d->h[k];
        }
    d->n = o;
    free(drop);
    if (!energy)
        return;
    uint64_t tiny = d->max_range ? d->max_range / 1000 : 0;
    for (size_t k = 1; k < d->n; k++)
        if (d->v[k] < d->v[k - 1] && d->v[k - 1] - d->v[k] <= tiny)
            d->v[k] = d->v[k - 1];
}

/* ---- version 3: chunks as found (ring and copies), short calls ---- */

/* slots of a 48-byte-grid record of a version 3 chunk, 0: damage */
static size_t v3_slots(const uint8_t *rec, size_t left)
{
    uint8_t type = rec[0];
    if (type == GS_REC_STRING) {
        size_t len = (size_t)rec[2] | (size_t)rec[3] << 8;
        size_t ncont = len > GS_STRING_HEAD_TEXT ? (len - GS_STRING_HEAD_TEXT + GS_REC_SIZE - 1) / GS_REC_SIZE : 0;
        return 1 + ncont <= left ? 1 + ncont : 0;
    }
    if (type >= 16)
        return rec[1] && rec[1] <= left ? rec[1] : 0;
    return type <= GS_REC_END && left ? 1 : 0;
}

/* Chunks of a version 3 file with their (tid, sno, seq), sorted, the
 * copy of a chunk kept where the ring still holds it too.  Stops at a bad
 * chunk magic (damage); a partial last chunk counts up to its size. */
static struct chunk_ref *v3_chunks(const uint8_t *base, size_t size, const struct gs_file_header *h,
                                   size_t *n, size_t *damage, char *why, size_t wl)
{
    size_t csize = h->chunk_size, nch = (size - h->header_size) / csize;
    size_t tail = (size - h->header_size) % csize;
    struct chunk_ref *cr = ana_xmalloc(nch + 2, sizeof *cr);
    size_t k = 0;
    if (tail) {
        *damage = h->header_size + nch * csize + tail - tail % GS_REC_GRID;
        snprintf(why, wl, "truncated at offset %zu: the file (%zu bytes) ends inside a chunk (chunks are %zu bytes)",
                 *damage, size, csize);
    }
    for (size_t i = 0; i <= nch; i++) {
        size_t off = h->header_size + i * csize, len = i < nch ? csize : tail;
        if (len < GS_REC_SIZE)
            break;
        struct gs_chunk_header ch;
        memcpy(&ch, base + off, sizeof ch);
        if (ch.magic == 0)
            continue;
        if (ch.magic != GS_CHUNK_MAGIC) {
            if (i < nch) {
                *damage = off;
                snprintf(why, wl, "corrupt at offset %zu: bad chunk magic 0x%08x", off, ch.magic);
            }
            break;
        }
        cr[k++] = (struct chunk_ref){ { off, ch.tid, ch.seq, ch.stream, (uint32_t)len }, ch.sno,
                                      (ch.flags & GS_CHUNK_F_COPIED) != 0 };
    }
    if (k)
        qsort(cr, k, sizeof *cr, chunk_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < k; i++)
        if (!(kept && cr[i].c.tid == cr[kept - 1].c.tid && cr[i].sno == cr[kept - 1].sno &&
              cr[i].c.seq == cr[kept - 1].c.seq))
            cr[kept++] = cr[i];
    *n = kept;
    return cr;
}

/* A version 3 file as the stages read every file: its chunks (one of each)
 * one after the other, each short call (SCALL) written out as the CALL it
 * stands for, SHAPE records dropped; chunks grow to 3x their size (a
 * 16-byte record becomes 48).  The image lives in a memfd mapping, so that
 * the passes can drop its pages behind them (ana_release) and read them
 * again.  Damage (an undefined shape, an unknown record) ends the chunk
 * there; *damage and why name the file's own offset. */
static int v3_expand(const char *path, struct ana_run *run, const uint8_t *base, size_t size,
                     struct gs_file_header *h, const uint8_t **nbase, size_t *nsize, size_t *damage,
                     char *why, size_t wl)
{
    size_t n = 0, csize = h->chunk_size, ecs = 3 * csize;
    struct chunk_ref *cr = v3_chunks(base, size, h, &n, damage, why, wl);
    size_t out = h->header_size + n * ecs;
    int fd = memfd_create("greenshim-v3", MFD_CLOEXEC);
    uint8_t *o = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, (off_t)out) == 0)
        o = mmap(NULL, out, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd >= 0)
        close(fd);
    if (o == MAP_FAILED) {
        ana_error(run, "%s: cannot make room to read a version 3 trace (%zu bytes: %s)", path, out, strerror(errno));
        free(cr);
        return -1;
    }
    memcpy(o, base, h->header_size);
    struct gs_rec_shape *shp = NULL;
    size_t capshp = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = base + cr[i].c.off;
        uint8_t *dst = o + h->header_size + i * ecs;
        size_t len = cr[i].c.len, w = GS_REC_SIZE, nshp = 0, bad = 0;
        const char *what = NULL;
        memcpy(dst, src, GS_REC_SIZE);
        for (size_t r = GS_REC_SIZE; r + GS_REC_GRID <= len;) {
            const uint8_t *rec = src + r;
            if (rec[0] == GS_REC_NONE)
                break;
            if (rec[0] == GS_REC_SCALL) {
                struct gs_rec_scall sc;
                memcpy(&sc, rec, sizeof sc);
                if (sc.shape >= nshp) {
                    bad = r, what = "short call of a shape not defined before it";
                    break;
                }
                const struct gs_rec_shape *d = &shp[sc.shape];
                struct gs_rec_call c = { GS_REC_CALL, d->op, d->flags, d->region, sc.t0, sc.t0 + sc.dt,
                                         d->m, d->n, d->k, d->lda, d->ldb, d->ldc };
                memcpy(dst + w, &c, sizeof c);
                w += GS_REC_SIZE;
                r += GS_SCALL_SIZE;
                continue;
            }
            if (rec[0] == GS_REC_SHAPE) {
                if (r + GS_REC_SIZE > len)
                    break;                      /* cut off by the chunk's end: not written */
                struct gs_rec_shape d;
                memcpy(&d, rec, sizeof d);
                if (d.id != nshp) {
                    bad = r, what = "shape id out of order";
                    break;
                }
                if (nshp == capshp) {
                    capshp = capshp ? capshp * 2 : 64;
                    shp = ana_xrealloc(shp, capshp, sizeof *shp);
                }
                shp[nshp++] = d;
                r += GS_REC_SIZE;
                continue;
            }
            size_t ns = v3_slots(rec, (len - r) / GS_REC_SIZE);
            if (!ns) {
                if ((len - r) / GS_REC_SIZE == 0)
                    break;                      /* the partial tail of a cut file */
                bad = r;
                what = rec[0] >= 16 ? "record with a bad slot count" :
                       rec[0] == GS_REC_STRING ? "overlong string record" : "unknown record type";
                break;
            }
            memcpy(dst + w, rec, ns * GS_REC_SIZE);
            w += ns * GS_REC_SIZE;
            r += ns * GS_REC_SIZE;
        }
        if (bad && (!*damage || cr[i].c.off + bad < *damage)) {
            *damage = cr[i].c.off + bad;
            snprintf(why, wl, "corrupt at offset %zu: %s (type %u)", *damage, what, src[bad]);
        }
        /* the image's chunk headers say nothing more: no copies left */
        struct gs_chunk_header ch;
        memcpy(&ch, dst, sizeof ch);
        ch.flags = 0;
        memcpy(dst, &ch, sizeof ch);
    }
    free(shp);
    free(cr);
    h->chunk_size = (uint32_t)ecs;
    memcpy(o, h, sizeof *h);
    *nbase = o;
    *nsize = out;
    return 0;
}

int ana_read_file(struct ana_run *run, const char *path)
{
    /* O_NONBLOCK: a FIFO (or a device) named *.gstrace must not block us */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        ana_error(run, "%s: cannot open (%s)", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ana_error(run, "%s: not a regular file (skipped)", path);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    if (size < sizeof(struct gs_file_header)) {
        ana_error(run, "%s: header too short (%zu bytes, the header needs 256) at offset %zu", path, size, size);
        close(fd);
        return -1;
    }
    const uint8_t *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED) {
        ana_error(run, "%s: cannot map (%s)", path, strerror(errno));
        return -1;
    }
    madvise((void *)base, size, MADV_SEQUENTIAL);
    struct gs_file_header h;
    memcpy(&h, base, sizeof h);
    char why[200] = "";
    size_t at = 0;
    if (memcmp(h.magic, GS_TRACE_MAGIC, 8) != 0)
        snprintf(why, sizeof why, "bad magic (not a greenshim trace)");
    else if (h.version < 1 || h.version > GS_TRACE_VERSION)
        snprintf(why, sizeof why, "unknown trace format version %u (this analyzer reads 1 to %u)", h.version,
                 GS_TRACE_VERSION), at = 8;
    else if (h.rec_size != GS_REC_SIZE)
        snprintf(why, sizeof why, "record size %u, want %u", h.rec_size, GS_REC_SIZE), at = 20;
    else if (h.chunk_size < 2 * GS_REC_SIZE || h.chunk_size > (1u << 30))
        snprintf(why, sizeof why, "chunk size %u out of range (96 B to 1 GiB)", h.chunk_size), at = 16;
    else if (h.header_size < GS_HEADER_TEXT_OFF || h.header_size > (64u << 20) ||
             h.text_len > h.header_size - GS_HEADER_TEXT_OFF)
        snprintf(why, sizeof why, "header size %u / text length %u out of range", h.header_size, h.text_len),
            at = 12;
    else if (size < h.header_size)
        snprintf(why, sizeof why, "header too short (file has %zu bytes, header %u)", size, h.header_size),
            at = size;
    if (why[0]) {
        ana_error(run, "%s: %s at offset %zu", path, why, at);
        munmap((void *)base, size);
        return -1;
    }
    size_t xdamage = 0;
    char xwhy[200] = "";
    if (h.version >= 3) {
        if (h.chunk_size > (1u << 30) / 3 || h.chunk_size % GS_REC_GRID) {
            ana_error(run, "%s: chunk size %u out of range for version 3 (a multiple of 16 up to 341 MiB) at offset 16",
                      path, h.chunk_size);
            munmap((void *)base, size);
            return -1;
        }
        const uint8_t *nb;
        size_t nsz;
        int rc = v3_expand(path, run, base, size, &h, &nb, &nsz, &xdamage, xwhy, sizeof xwhy);
        munmap((void *)base, size);
        if (rc != 0)
            return -1;
        base = nb;
        size = nsz;
    }
    struct ana_proc *p = calloc(1, sizeof *p);
    if (!p) {
        fputs("greenshim-analyze: out of memory\n", stderr);
        exit(3);
    }
    snprintf(p->file, sizeof p->file, "%s", path);
    p->hdr = h;
    p->map = base;
    p->map_size = size;
    p->raw_t0_min = UINT64_MAX;
    p->text = ana_xmalloc(h.text_len + 1, 1);
    memcpy(p->text, base + GS_HEADER_TEXT_OFF, h.text_len);
    p->text[h.text_len] = 0;
    parse_header_text(p);

    /* chunks in file order; a bad chunk magic stops the scan there, a
     * partial last chunk is read up to its last whole record */
    size_t csize = h.chunk_size, nch = (size - h.header_size) / csize;
    size_t damage = 0;
    char dwhy[200] = "";
    struct chunk_ref *cr = ana_xmalloc(nch + 1, sizeof *cr);
    size_t nref = 0;
    for (size_t i = 0; i < nch; i++) {
        size_t off = h.header_size + i * csize;
        struct gs_chunk_header ch;
        memcpy(&ch, base + off, sizeof ch);
        if (ch.magic == 0)
            continue;                   /* allocated, never written */
        if (ch.magic != GS_CHUNK_MAGIC) {
            damage = off;
            snprintf(dwhy, sizeof dwhy, "corrupt at offset %zu: bad chunk magic 0x%08x", off, ch.magic);
            break;
        }
        cr[nref++] = (struct chunk_ref){ { off, ch.tid, ch.seq, ch.stream, (uint32_t)csize },
                                          h.version >= 3 ? ch.sno : 0,
                                          h.version >= 3 && (ch.flags & GS_CHUNK_F_COPIED) };
        /* small chunks: this scan faults in every page; they go behind it */
        ana_release_behind(p, off, i + 1 < nch ? off + csize : off + ANA_RELEASE_WINDOW);
    }
    size_t tail = (size - h.header_size) % csize;
    if (!damage && tail) {
        size_t off = h.header_size + nch * csize;
        struct gs_chunk_header ch = { 0 };
        if (tail >= GS_REC_SIZE)
            memcpy(&ch, base + off, sizeof ch);
        if (tail >= GS_REC_SIZE && ch.magic == GS_CHUNK_MAGIC)
            cr[nref++] = (struct chunk_ref){ { off, ch.tid, ch.seq, ch.stream, (uint32_t)tail },
                                              h.version >= 3 ? ch.sno : 0,
                                              h.version >= 3 && (ch.flags & GS_CHUNK_F_COPIED) };
        damage = off + tail - tail % GS_REC_SIZE;   /* the first cut-off record */
        snprintf(dwhy, sizeof dwhy,
                 "truncated at offset %zu: the file (%zu bytes) ends inside a chunk (chunks are %zu bytes)",
                 damage, size, csize);
    }
    if (nref)
        qsort(cr, nref, sizeof *cr, chunk_cmp);
    /* version 3: a chunk a SIGKILL caught between its copy to the end of
     * the file and the clearing of its ring segment is there twice under
     * the same (tid, sno, seq): the copy (sorted first) is read */
    struct ana_chunk *refs = ana_xmalloc(nref + 1, sizeof *refs);
    size_t nkept = 0;
    for (size_t i = 0; i < nref; i++) {
        if (h.version >= 3 && i > 0 && cr[i].c.tid == cr[i - 1].c.tid && cr[i].sno == cr[i - 1].sno &&
            cr[i].c.seq == cr[i - 1].c.seq)
            continue;
        refs[nkept++] = cr[i].c;
    }
    free(cr);
    nref = nkept;
    /* threads: runs of one tid, in tid order */
    for (size_t i = 0; i < nref; i++)
        if (i == 0 || refs[i].tid != refs[i - 1].tid)
            p->nthreads++;
    p->threads = ana_xmalloc(p->nthreads + 1, sizeof *p->threads);
    memset(p->threads, 0, (p->nthreads + 1) * sizeof *p->threads);
    p->chunks = refs;
    p->nchunks = nref;
    size_t ti = 0;
    for (size_t i = 0; i < nref; i++) {
        if (i > 0 && refs[i].tid != refs[i - 1].tid)
            ti++;
        struct ana_thread *th = &p->threads[ti];
        if (!th->nch) {
            th->tid = refs[i].tid;
            th->stream = refs[i].stream;
            th->ch0 = i;
        }
        th->nch++;
        size_t bad = scan_chunk(run, p, th, &refs[i], refs[i].len);
        ana_release_chunk(p, i);
        ana_release_behind(p, refs[i].off, i + 1 < nref && refs[i + 1].tid == refs[i].tid ? refs[i + 1].off :
                                                                                        refs[i].off + ANA_RELEASE_WINDOW);
        if (bad && (!damage || bad < damage)) {
            damage = bad;
            if (p->map[bad] >= 16)
                snprintf(dwhy, sizeof dwhy, "corrupt at offset %zu: record type %u with slot count %u",
                         bad, p->map[bad], p->map[bad + 1]);
            else
                snprintf(dwhy, sizeof dwhy, "corrupt at offset %zu: %s record type %u inside a chunk", bad,
                         p->map[bad] == GS_REC_STRING ? "overlong string" : "unknown", p->map[bad]);
        }
    }
    if (xwhy[0] && (!dwhy[0] || xdamage < damage)) {   /* version 3: in the file's own offsets */
        damage = xdamage;
        snprintf(dwhy, sizeof dwhy, "%s", xwhy);
    }
    for (size_t t = 0; t < p->nthreads; t++)
        if (p->threads[t].stream == GS_STREAM_THREAD && p->threads[t].ncalls)
            p->active_threads++;
    for (int d = 0; d < p->ndom; d++)
        samples_in_order(&p->dom[d]);
    if (dwhy[0]) {
        p->damage_off = damage;
        ana_error(run, "%s: %s; the %zu calls before it are reported", path, dwhy, p->ncalls);
        ana_warn(run, "%s: %s", path, dwhy);
        run->damaged = 1;
    }
    if (!p->clean_exit)
        ana_warn(run, "%s: process %u did not exit cleanly; trace complete up to its last record",
                 path, p->hdr.pid);
    if (p->lost || p->lost_calls) {
        static const char *const why[] = { "reason not recorded", "no space left", "the size cap",
                                           "an I/O or descriptor error", "out of memory" };
        ana_warn(run, "%s: process %u: %llu calls (%llu records) could not be recorded (%s); the report leaves "
                 "them out", path, p->hdr.pid, (unsigned long long)p->lost_calls, (unsigned long long)p->lost,
                 p->lost_reason < 5 ? why[p->lost_reason] : "unknown reason");
    }
    run->procs = ana_xrealloc(run->procs, run->nprocs + 1, sizeof *run->procs);
    run->procs[run->nprocs++] = p;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ana_read_path(struct ana_run *run, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        ana_error(run, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return ana_read_file(run, path);
    DIR *d = opendir(path);
    if (!d) {
        ana_error(run, "%s: %s", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 8 && strcmp(e->d_name + l - 8, ".gstrace") == 0) {
            GROW(names, n, cap);
            if (asprintf(&names[n], "%s/%s", path, e->d_name) > 0)
                n++;
        }
    }
    closedir(d);
    if (n == 0) {
        ana_error(run, "%s: no .gstrace files in this directory", path);
        free(names);
        return -1;
    }
    qsort(names, n, sizeof *names, name_cmp);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (ana_read_file(run, names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

void ana_run_free(struct ana_run *run)
{
    for (size_t i = 0; i < run->nprocs; i++) {
        struct ana_proc *p = run->procs[i];
        if (p->map)
            munmap((void *)p->map, p->map_size);
        free(p->shp); free(p->shp_hash);
        ana_map_free(&p->rorigin);
        free(p->chunks); free(p->threads); free(p->ck_raw); free(p->ck_ns); free(p->text); free(p->dnnl); free(p->shash);
        for (size_t j = 0; j < p->nstrs; j++) free(p->strs[j].text);
        free(p->strs);
        for (int j = 0; j < p->nevents; j++) free(p->events[j]);
        for (int j = 0; j < ANA_MAX_DOMAINS; j++) { free(p->dom[j].t); free(p->dom[j].v); free(p->dom[j].h); }
        ana_gpu_free(p);
        free(p);
    }
    free(run->procs);
    for (size_t i = 0; i < run->nwarn; i++) free(run->warnings[i]);
    free(run->warnings);
    for (size_t i = 0; i < run->nerr; i++) free(run->errors[i]);
    free(run->errors);
}

/* Runs: processes that share a run id (one traced command) or a job id
 * (one job, whichever directory or node wrote it) are one run: union-find
 * over both keys, linear in processes. */
static const char *run_id_of(void *ctx, uint32_t i) { return ((struct ana_run *)ctx)->procs[i]->run_id; }
static const char *job_id_of(void *ctx, uint32_t i) { return ((struct ana_run *)ctx)->procs[i]->job_id; }
static uint32_t uf_find(uint32_t *up, uint32_t i)
{
    while (up[i] != i)
        i = up[i] = up[up[i]];
    return i;
}

/* distinct runs; the first two runs' ids (a job id where the run has one) */
size_t ana_count_runs(struct ana_run *run, const char **first, const char **other)
{
    struct ana_names rn = { .name_of = run_id_of, .ctx = run }, jn = { .name_of = job_id_of, .ctx = run };
    size_t np = run->nprocs, n = 0;
    uint32_t *up = ana_xmalloc(np + 1, sizeof *up);
    for (size_t i = 0; i < np; i++) {
        up[i] = (uint32_t)i;
        struct ana_proc *p = run->procs[i];
        for (int k = 0; k < 2; k++) {
            const char *id = k ? p->job_id : p->run_id;
            struct ana_names *nm = k ? &jn : &rn;
            if (!id[0])
                continue;
            int j = ana_names_find(nm, id);
            if (j < 0)
                ana_names_add(nm, id, (uint32_t)i);
            else
                up[uf_find(up, (uint32_t)i)] = uf_find(up, (uint32_t)j);
        }
    }
    uint32_t *jid = ana_xmalloc(np + 1, sizeof *jid);      /* root -> a member with a job id + 1 */
    memset(jid, 0, (np + 1) * sizeof *jid);
    for (size_t k = 0; k < np; k++)
        if (run->procs[k]->job_id[0] && !jid[uf_find(up, (uint32_t)k)])
            jid[uf_find(up, (uint32_t)k)] = (uint32_t)k + 1;
    for (size_t i = 0; i < np; i++) {
        struct ana_proc *p = run->procs[i];
        if (!p->run_id[0] && !p->job_id[0])
            continue;                   /* traces from before run ids join any run */
        if (uf_find(up, (uint32_t)i) != i)
            continue;
        /* a root: its run is named by a job id of its members, else its run id */
        const char *id = jid[i] ? run->procs[jid[i] - 1]->job_id : p->run_id;
        if (n == 0 && first) *first = id;
        if (n == 1 && other) *other = id;
        n++;
    }
    free(jid);
    free(up);
    ana_names_free(&rn);
    ana_names_free(&jn);
    return n;
}

int ana_check_runs(struct ana_run *run, int merge, const char *verb)
{
    const char *first = NULL, *other = NULL;
    size_t nids = ana_count_runs(run, &first, &other);
    if (nids <= 1)
        return 0;
    if (!merge) {
        fprintf(stderr, "greenshim-analyze %s: these traces are from %zu different runs (run.id %s and %s%s): "
                "a report covers one run (or one job: the traces of one job's ranks are one run); give one run's "
                "directories, or --merge-runs to report them together\n",
                verb, nids, first, other, nids > 2 ? ", ..." : "");
        return -1;
    }
    ana_warn(run, "%zu different runs merged (--merge-runs): energy of machine domains is merged across them", nids);
    return 0;
}
