/* regions.c - greenshim_region_push/pop: named parts of a training step.
 *
 * A region is identified by its whole path ("model/encoder.3"), interned
 * once per process, so a call record needs only the innermost id to give
 * the stack.  Interning takes a lock, but regions are pushed per layer, not
 * per BLAS call. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "gs.h"


struct gs_region { uint32_t parent; uint32_t id; char *name; char *path; };

static pthread_mutex_t gs_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gs_region *gs_regs;       /* index = id - 1 */
static uint32_t gs_nregs, gs_capregs;
static uint32_t *gs_hash;               /* open addressing: id or 0 */
static uint32_t gs_hashcap;

static uint64_t gs_hash_key(uint32_t parent, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ parent;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static void gs_hash_insert(uint32_t id)
{
    struct gs_region *r = &gs_regs[id - 1];
    uint32_t i = (uint32_t)gs_hash_key(r->parent, r->name) & (gs_hashcap - 1);
    while (gs_hash[i])
        i = (i + 1) & (gs_hashcap - 1);
    gs_hash[i] = id;
}

/* Find or create the id of 'name' under 'parent'; 0 when out of memory. */
static uint32_t gs_intern(uint32_t parent, const char *name, int *created)
{
    *created = 0;
    if (gs_hashcap) {
        uint32_t i = (uint32_t)gs_hash_key(parent, name) & (gs_hashcap - 1);
        for (; gs_hash[i]; i = (i + 1) & (gs_hashcap - 1)) {
            struct gs_region *r = &gs_regs[gs_hash[i] - 1];
            if (r->parent == parent && strcmp(r->name, name) == 0)
                return r->id;
        }
    }
    if (gs_nregs + 1 >= gs_capregs) {
        uint32_t cap = gs_capregs ? gs_capregs * 2 : 64;
        struct gs_region *n = realloc(gs_regs, cap * sizeof *n);
        if (!n)
            return 0;
        gs_regs = n;
        gs_capregs = cap;
    }
    if ((gs_nregs + 1) * 2 >= gs_hashcap) {
        uint32_t cap = gs_hashcap ? gs_hashcap * 2 : 128;
        uint32_t *h = calloc(cap, sizeof *h);
        if (!h)
            return 0;
        free(gs_hash);
        gs_hash = h;
        gs_hashcap = cap;
        for (uint32_t id = 1; id <= gs_nregs; id++)
            gs_hash_insert(id);
    }
    const char *ppath = parent ? gs_regs[parent - 1].path : NULL;
    size_t pl = ppath ? strlen(ppath) + 1 : 0, nl = strlen(name);
    char *path = malloc(pl + nl + 1);
    char *nm = strdup(name);
    if (!path || !nm) {
        free(path);
        free(nm);
        return 0;
    }
    if (ppath) {
        memcpy(path, ppath, pl - 1);
        path[pl - 1] = '/';
    }
    memcpy(path + pl, name, nl + 1);
    struct gs_region *r = &gs_regs[gs_nregs++];
    r->parent = parent;
    r->id = gs_nregs;
    r->name = nm;
    r->path = path;
    gs_hash_insert(r->id);
    *created = 1;
    return r->id;
}

static void gs_region_rec(uint8_t type, struct gs_thread *t, uint32_t id, uint32_t parent, unsigned origin)
{
    struct gs_rec_region r = { .type = type, .origin = (uint8_t)origin, .id = id, .parent = parent,
                               .depth = t->region_depth };
    r.t = gs_now();
    gs_emit(&r);
}

/* origin: who named the region (enum gs_region_origin): the analyzer says
 * where each layer's name came from */
GS_API void greenshim_region_push_from(const char *name, int origin)
{
    struct gs_thread *t = &gs_tls;
    if (!gs_recording(t))
        return;
    if (!name)
        name = "(null)";
    if (t->region_depth >= sizeof t->region_stack / sizeof *t->region_stack) {
        t->region_depth++;              /* counted, so pops still pair */
        return;
    }
    t->busy = 1;
    uint32_t parent = t->region_depth ? t->region_stack[t->region_depth - 1] : 0;
    int created;
    pthread_mutex_lock(&gs_reg_lock);
    uint32_t id = gs_intern(parent, name, &created);
    const char *path = id ? gs_regs[id - 1].path : NULL;
    /* the string goes out before any record that uses the id */
    if (created)
        gs_emit_string(GS_STR_REGION, id, path);
    pthread_mutex_unlock(&gs_reg_lock);
    t->region_stack[t->region_depth++] = id;
    gs_region_rec(GS_REC_REGION_PUSH, t, id, parent, origin >= 0 && origin <= 2 ? (unsigned)origin : 0);
    gs_sampler_boundary();              /* energy exact at the boundary (after its stamp) */
    t->busy = 0;
}

GS_API void greenshim_region_push(const char *name)
{
    greenshim_region_push_from(name, GS_REGION_API);
}

GS_API void greenshim_region_pop(void)
{
    struct gs_thread *t = &gs_tls;
    if (!gs_recording(t))
        return;
    if (t->region_depth == 0) {
        static int warned;
        if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
            gs_log("greenshim_region_pop without a matching push on this thread: ignored");
        return;
    }
    t->busy = 1;
    uint32_t depth = t->region_depth;
    if (depth <= sizeof t->region_stack / sizeof *t->region_stack) {
        uint32_t id = t->region_stack[depth - 1];
        uint32_t parent = depth > 1 ? t->region_stack[depth - 2] : 0;
        gs_region_rec(GS_REC_REGION_POP, t, id, parent, 0);
    }
    gs_sampler_boundary();
    t->region_depth--;
    t->busy = 0;
}

GS_API int greenshim_active(void)
{
    return gs_enabled || gs_armed;
}

/* At a (fork child's) start: the new file needs every path the inherited
 * stacks use. */
static void gs_regions_init(void)
{
    for (uint32_t i = 0; i < gs_nregs; i++)
        gs_emit_string(GS_STR_REGION, gs_regs[i].id, gs_regs[i].path);
}

static void gs_regions_fork_child(void)
{
    pthread_mutex_init(&gs_reg_lock, NULL);
}

GS_MODULE(regions, gs_regions_init, NULL, gs_regions_fork_child, NULL);
