/* resolve.c - find the real BLAS routine behind an interposed name.
 *
 * dlsym(RTLD_NEXT) finds libraries in the global scope.  Python loads
 * extension modules (and the BLAS they bring) RTLD_LOCAL, and programs may
 * dlopen a BLAS after start-up; for those, walk the loaded objects and ask
 * each one (dlopen RTLD_NOLOAD gives a handle without loading anything),
 * never accepting an address inside this library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include "../gs.h"

static uintptr_t gs_self_lo, gs_self_hi, gs_self_base;

static int gs_self_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    uintptr_t probe = (uintptr_t)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (probe >= lo && probe < hi) {
            /* the whole object: from its first to its last PT_LOAD */
            uintptr_t a = UINTPTR_MAX, b = 0;
            for (int j = 0; j < info->dlpi_phnum; j++) {
                const ElfW(Phdr) *q = &info->dlpi_phdr[j];
                if (q->p_type != PT_LOAD)
                    continue;
                uintptr_t l = info->dlpi_addr + q->p_vaddr;
                if (l < a) a = l;
                if (l + q->p_memsz > b) b = l + q->p_memsz;
            }
            gs_self_base = info->dlpi_addr;
            gs_self_lo = a;
            gs_self_hi = b;
            return 1;
        }
    }
    return 0;
}

GS_HIDDEN int gs_is_self(const void *p)
{
    if (!gs_self_hi)
        dl_iterate_phdr(gs_self_cb, (void *)(uintptr_t)&gs_self_cb);
    return (uintptr_t)p >= gs_self_lo && (uintptr_t)p < gs_self_hi;
}

struct gs_find { const char *name; void *found; };

static int gs_find_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct gs_find *f = data;
    if (!info->dlpi_name || !info->dlpi_name[0])
        return 0;                       /* the main program: RTLD_NEXT saw it */
    if (info->dlpi_addr == gs_self_base)
        return 0;                       /* ourselves */
    void *h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
    if (!h)
        return 0;
    void *p = dlsym(h, f->name);
    dlclose(h);
    if (p && !gs_is_self(p)) {
        f->found = p;
        return 1;
    }
    return 0;
}

static void *gs_resolve_how(void **slot, const char *name, int quiet)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p || gs_is_self(p)) {
        struct gs_find f = { name, NULL };
        dl_iterate_phdr(gs_find_cb, &f);
        p = f.found;
    }
    if (p)
        __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    else if (!quiet)
        gs_log("no library in this process defines %s: the call was not made; "
               "please report this with the program's library list (ldd)", name);
    return p;
}

void *gs_resolve(void **slot, const char *name)
{
    return gs_resolve_how(slot, name, 0);
}

/* for optional helpers (cudaFuncGetName): absence is not an error */
GS_HIDDEN void *gs_resolve_quiet(void **slot, const char *name)
{
    return gs_resolve_how(slot, name, 1);
}
