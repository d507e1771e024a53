/* trace_read.c - first stage: map a trace file, check it, decode its
 * records into plain arrays.  Damage (truncation, bad chunk, unknown
 * record) stops the reading of that file at its offset: whole records
 * before it are kept, the run is marked damaged (exit 2). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ana.h"

static void add_msg(char ***arr, size_t *n, size_t *cap, const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *arr = realloc(*arr, *cap * sizeof **arr);
    }
    (*arr)[(*n)++] = strdup(buf);
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

#define GROW(arr, n, cap)                                                   \
    do {                                                                    \
        if ((n) == (cap)) {                                                 \
            (cap) = (cap) ? (cap) * 2 : 256;                                \
            (arr) = realloc((arr), (cap) * sizeof *(arr));                  \
            if (!(arr)) { fprintf(stderr, "greenshim-analyze: out of memory\n"); exit(3); } \
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
    if (!ana_hdr_get(p, "events.live", p->events_live, sizeof p->events_live))
        strcpy(p->events_live, "none");
    if (!ana_hdr_get(p, "events.kind", p->events_kind, sizeof p->events_kind))
        strcpy(p->events_kind, "none");
    if (!ana_hdr_get(p, "counters.policy", p->policy, sizeof p->policy))
        p->policy[0] = 0;
    if (!ana_hdr_get(p, "energy.sources", p->energy_sources, sizeof p->energy_sources))
        p->energy_sources[0] = 0;
    p->idle_watts_hdr = ana_hdr_get(p, "idle_watts", buf, sizeof buf) ? atof(buf) : -1;
    p->sampler_hz = ana_hdr_get(p, "sampler.hz", buf, sizeof buf) ? (unsigned)atoi(buf) : 0;
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
        char v[64];
        d->sum = kv(buf, "sum", v, sizeof v) ? atoi(v) : 0;
        d->max_range = kv(buf, "max_range", v, sizeof v) ? strtoull(v, NULL, 10) : 0;
        d->watts_per_core = kv(buf, "watts_per_core", v, sizeof v) ? atof(v) : 0;
        if (i + 1 > p->ndom)
            p->ndom = i + 1;
    }
}

static uint32_t thread_index(struct ana_proc *p, uint32_t tid, uint32_t stream)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (p->threads[i].tid == tid)
            return (uint32_t)i;
    GROW(p->threads, p->nthreads, p->capthreads);
    p->threads[p->nthreads].tid = tid;
    p->threads[p->nthreads].stream = stream;
    return (uint32_t)p->nthreads++;
}

struct chunk_ref { uint32_t tid, seq; size_t off; };

static int chunk_cmp(const void *a, const void *b)
{
    const struct chunk_ref *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Decode one chunk; returns the offset of damage or 0 (*why: what, when
 * it is not an unknown record type).  max_id: the number of record slots in
 * the file, a bound on any region id the recorder can have given out (ids
 * count up from 1, each with its STRING record in the file). */
static size_t read_chunk(struct ana_run *run, struct ana_proc *p, const uint8_t *base, size_t off, size_t csize,
                         uint64_t max_id, const char **why)
{
    const struct gs_chunk_header *ch = (const void *)(base + off);
    uint32_t th = thread_index(p, ch->tid, ch->stream);
    struct ana_call *last = NULL;
    size_t end = off + csize;
    for (size_t r = off + GS_REC_SIZE; r + GS_REC_SIZE <= end; r += GS_REC_SIZE) {
        const uint8_t *rec = base + r;
        if (run->visit && rec[0] != GS_REC_NONE && (rec[0] >= 16 || rec[0] <= GS_REC_END))
            run->visit(run->visit_ctx, p, ch->tid, r, rec);
        switch (rec[0]) {
        case GS_REC_NONE:
            return 0;
        case GS_REC_CALL: {
            const struct gs_rec_call *c = (const void *)rec;
            GROW(p->calls, p->ncalls, p->capcalls);
            struct ana_call *a = &p->calls[p->ncalls++];
            memset(a, 0, sizeof *a);
            a->t0 = c->t0; a->t1 = c->t1 < c->t0 ? c->t0 : c->t1;
            a->m = c->m; a->n = c->n; a->k = c->k;
            a->lda = c->lda; a->ldb = c->ldb; a->ldc = c->ldc;
            a->region = c->region; a->thread = th; a->flags = c->flags; a->op = c->op;
            a->layer = -1;
            last = a;
            break;
        }
        case GS_REC_COUNTERS: {
            const struct gs_rec_counters *c = (const void *)rec;
            if (last && !last->has_ctr) {
                last->has_ctr = 1;
                for (int i = 0; i < GS_MAX_EVENTS && i < c->nvals; i++)
                    last->ctr[i] = c->delta[i];
            }
            break;
        }
        case GS_REC_REGION_PUSH:
        case GS_REC_REGION_POP: {
            const struct gs_rec_region *g = (const void *)rec;
            if (g->id > max_id) {
                *why = "region id out of range (more than the file's record slots)";
                return r;
            }
            GROW(p->rev, p->nrev, p->caprev);
            p->rev[p->nrev++] = (struct ana_region_ev){ g->t, g->id, th, rec[0] == GS_REC_REGION_PUSH };
            break;
        }
        case GS_REC_STRING: {
            const struct gs_rec_string *s = (const void *)rec;
            size_t len = s->len;
            size_t ncont = len > GS_STRING_HEAD_TEXT ? (len - GS_STRING_HEAD_TEXT + GS_REC_SIZE - 1) / GS_REC_SIZE : 0;
            if (r + (1 + ncont) * GS_REC_SIZE > end)
                return r;
            char *t = malloc(len + 1);
            memcpy(t, s->text, len < GS_STRING_HEAD_TEXT ? len : GS_STRING_HEAD_TEXT);
            if (len > GS_STRING_HEAD_TEXT)
                memcpy(t + GS_STRING_HEAD_TEXT, rec + GS_REC_SIZE, len - GS_STRING_HEAD_TEXT);
            t[len] = 0;
            GROW(p->strs, p->nstrs, p->capstrs);
            p->strs[p->nstrs++] = (struct ana_string){ s->id, t };
            r += ncont * GS_REC_SIZE;
            break;
        }
        case GS_REC_CLOCK:
        case GS_REC_END: {
            const struct gs_rec_clock *c = (const void *)rec;
            GROW(p->ck_raw, p->nck, p->capck);
            p->ck_ns = realloc(p->ck_ns, p->capck * sizeof *p->ck_ns);
            p->ck_raw[p->nck] = c->tsc;
            p->ck_ns[p->nck++] = c->mono_ns;
            if (rec[0] == GS_REC_END)
                p->clean_exit = 1;
            break;
        }
        case GS_REC_SAMPLE: {
            const struct gs_rec_sample *s = (const void *)rec;
            if (s->kind == GS_SAMPLE_SAMPLER_NS) {
                if (s->value > p->sampler_cpu_ns)
                    p->sampler_cpu_ns = s->value;
                break;
            }
            if (s->domain >= ANA_MAX_DOMAINS)
                break;
            struct ana_domain *d = &p->dom[s->domain];
            if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 256;
                d->t = realloc(d->t, d->cap * sizeof *d->t);
                d->v = realloc(d->v, d->cap * sizeof *d->v);
            }
            /* the read happened between t and t_read: take the middle */
            d->t[d->n] = s->t_read > s->t ? s->t + (s->t_read - s->t) / 2 : s->t;
            d->v[d->n++] = s->value;
            if (s->domain + 1 > p->ndom)
                p->ndom = s->domain + 1;
            break;
        }
        case GS_REC_LOST: {
            const struct gs_rec_lost *l = (const void *)rec;
            p->lost += p->hdr.version >= 2 ? l->records : l->calls;  /* v1: 'count' of records */
            if (p->hdr.version >= 2) {
                p->lost_calls += l->calls;
                if (!p->lost_reason)
                    p->lost_reason = l->reason;
            }
            break;
        }
        default: {
            if (rec[0] < 16)
                return r;               /* unknown below 16: damage */
            size_t ns = ana_gpu_read(p, th, rec, (end - r) / GS_REC_SIZE);
            if (!ns)
                return r;               /* nslots 0 or past the chunk: damage */
            r += (ns - 1) * GS_REC_SIZE;    /* GPU and newer kinds: skipped by nslots */
            break;
        }
        }
    }
    return 0;
}

int ana_read_file(struct ana_run *run, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ana_error(run, "%s: cannot open (%s)", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ana_error(run, "%s: not a regular file", path);
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
    const struct gs_file_header *h = (const void *)base;
    char why[160] = "";
    size_t at = 0;
    if (memcmp(h->magic, GS_TRACE_MAGIC, 8) != 0)
        snprintf(why, sizeof why, "bad magic (not a greenshim trace)");
    else if (h->version < 1 || h->version > GS_TRACE_VERSION)
        snprintf(why, sizeof why, "unknown trace format version %u (this analyzer reads %u)", h->version,
                 GS_TRACE_VERSION), at = 8;
    else if (h->rec_size != GS_REC_SIZE)
        snprintf(why, sizeof why, "record size %u, want %u", h->rec_size, GS_REC_SIZE), at = 20;
    else if (h->chunk_size < 2 * GS_REC_SIZE)
        snprintf(why, sizeof why, "chunk size %u too small", h->chunk_size), at = 16;
    else if (h->chunk_size % 8 || h->header_size % 8)   /* records hold aligned u64s */
        snprintf(why, sizeof why, "header size %u / chunk size %u not a multiple of 8", h->header_size,
                 h->chunk_size), at = h->header_size % 8 ? 12 : 16;
    else if (h->header_size < GS_HEADER_TEXT_OFF || h->text_len > h->header_size - GS_HEADER_TEXT_OFF)
        snprintf(why, sizeof why, "header size %u / text length %u out of range", h->header_size, h->text_len),
            at = 12;
    else if (size < h->header_size)
        snprintf(why, sizeof why, "header too short (file has %zu bytes, header %u)", size, h->header_size),
            at = size;
    if (why[0]) {
        ana_error(run, "%s: %s at offset %zu", path, why, at);
        munmap((void *)base, size);
        return -1;
    }
    struct ana_proc *p = calloc(1, sizeof *p);
    snprintf(p->file, sizeof p->file, "%s", path);
    p->hdr = *h;
    p->text = calloc(1, h->text_len + 1);
    memcpy(p->text, base + GS_HEADER_TEXT_OFF, h->text_len);
    parse_header_text(p);
    /* room for every slot of the file as a call: untouched pages cost
     * nothing, and no realloc copies a large array while streaming */
    if (size > h->header_size) {
        p->capcalls = (size - h->header_size) / GS_REC_SIZE + 1;
        p->calls = malloc(p->capcalls * sizeof *p->calls);
        if (!p->calls)
            p->capcalls = 0;
    }

    /* chunks in file order; a bad chunk magic stops the scan there, a
     * partial last chunk is read up to its last whole record */
    size_t csize = h->chunk_size, nch = (size - h->header_size) / csize;
    size_t damage = 0;
    char dwhy[160] = "";
    struct chunk_ref *refs = calloc(nch + 1, sizeof *refs);
    size_t nref = 0;
    for (size_t i = 0; i < nch; i++) {
        size_t off = h->header_size + i * csize;
        const struct gs_chunk_header *ch = (const void *)(base + off);
        if (ch->magic == 0)
            continue;                   /* allocated, never written */
        if (ch->magic != GS_CHUNK_MAGIC) {
            damage = off;
            snprintf(dwhy, sizeof dwhy, "corrupt at offset %zu: bad chunk magic 0x%08x", off, ch->magic);
            break;
        }
        refs[nref++] = (struct chunk_ref){ ch->tid, ch->seq, off };
    }
    size_t tail = (size - h->header_size) % csize;
    if (!damage && tail) {
        size_t off = h->header_size + nch * csize;
        const struct gs_chunk_header *ch = (const void *)(base + off);
        if (tail >= GS_REC_SIZE && ch->magic == GS_CHUNK_MAGIC)
            refs[nref++] = (struct chunk_ref){ ch->tid, ch->seq, off };
        damage = off + tail - tail % GS_REC_SIZE;   /* the first cut-off record */
        snprintf(dwhy, sizeof dwhy,
                 "truncated at offset %zu: the file (%zu bytes) ends inside a chunk (chunks are %zu bytes)",
                 damage, size, csize);
    }
    qsort(refs, nref, sizeof *refs, chunk_cmp);
    for (size_t i = 0; i < nref; i++) {
        size_t len = refs[i].off + csize <= size ? csize : size - refs[i].off;
        len -= len % GS_REC_SIZE;
        const char *why_bad = NULL;
        size_t bad = read_chunk(run, p, base, refs[i].off, len, size / GS_REC_SIZE, &why_bad);
        if (bad && (!damage || bad < damage)) {
            damage = bad;
            if (why_bad)
                snprintf(dwhy, sizeof dwhy, "corrupt at offset %zu: %s", bad, why_bad);
            else
                snprintf(dwhy, sizeof dwhy, "corrupt at offset %zu: unknown record type %u inside a chunk", bad,
                         base[bad]);
        }
    }
    free(refs);
    munmap((void *)base, size);
    if (dwhy[0]) {
        p->damage_off = damage;
        ana_error(run, "%s: %s; the %zu calls before it are reported", path, dwhy, p->ncalls);
        ana_warn(run, "%s: %s", path, dwhy);
        run->damaged = 1;
    }
    if (!p->clean_exit)
        ana_warn(run, "%s: process %u did not exit cleanly; trace complete up to its last record",
                 path, p->hdr.pid);
    if (p->lost) {
        static const char *why[] = { "unknown reason", "no space left", "the size cap",
                                     "an I/O error", "no memory" };
        ana_warn(run, "%s: %llu calls (%llu records) could not be recorded (%s)", path,
                 (unsigned long long)p->lost_calls, (unsigned long long)p->lost,
                 why[p->lost_reason >= 0 && p->lost_reason <= 4 ? p->lost_reason : 0]);
    }
    run->procs = realloc(run->procs, (run->nprocs + 1) * sizeof *run->procs);
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

const char *ana_string(const struct ana_proc *p, uint32_t id)
{
    for (size_t i = 0; i < p->nstrs; i++)
        if (p->strs[i].id == id)
            return p->strs[i].text;
    return NULL;
}

void ana_run_free(struct ana_run *run)
{
    for (size_t i = 0; i < run->nprocs; i++) {
        struct ana_proc *p = run->procs[i];
        free(p->calls); free(p->rev); free(p->reg_j); free(p->reg_s); free(p->threads); free(p->ck_raw); free(p->ck_ns); free(p->text);
        for (size_t j = 0; j < p->nstrs; j++) free(p->strs[j].text);
        free(p->strs);
        for (int j = 0; j < p->nevents; j++) free(p->events[j]);
        for (int j = 0; j < ANA_MAX_DOMAINS; j++) { free(p->dom[j].t); free(p->dom[j].v); }
        ana_gpu_free(p);
        free(p);
    }
    free(run->procs);
    for (size_t i = 0; i < run->nwarn; i++) free(run->warnings[i]);
    free(run->warnings);
    for (size_t i = 0; i < run->nerr; i++) free(run->errors[i]);
    free(run->errors);
}
