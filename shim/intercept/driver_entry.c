/* driver_entry.c - CUDA driver launches that no symbol interposition sees:
 * a program (Triton, torch.compile, a static cudart, NCCL) that does
 *     h = dlopen("libcuda.so.1"); f = dlsym(h, "cuLaunchKernelEx");
 * or asks the driver for its entry points (cuGetProcAddress, and through it
 * cudart's cudaGetDriverEntryPoint(ByVersion)) calls libcuda directly.
 *
 * dlsym is interposed by a stub that must keep the caller's return address
 * (glibc's RTLD_NEXT is relative to the object that called dlsym), so it is
 * a few instructions of assembly: it asks gs_dlsym_hook whether the lookup
 * is one of ours and otherwise jumps to the real dlsym with the registers
 * and stack as the caller left them.  The hook answers only for the names
 * in gs_drv_table looked up on a real handle, by a caller outside this
 * library, when the real answer exists: then the answer is our wrapper
 * (cuda.c), which finds the same driver function itself.  Every other
 * lookup, RTLD_NEXT and RTLD_DEFAULT included, is the real dlsym's.
 *
 * cuGetProcAddress(_v2) is forwarded, and a launch entry point it returns
 * is swapped for our wrapper of the same function when the pointers match
 * (the per-thread-stream variant is cuLaunchKernel_ptsz: matched, not
 * assumed); an entry point we do not know is returned untouched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include "../gs.h"
#include "gpu.h"

GS_HIDDEN int gs_is_self(const void *p);

#if defined(__x86_64__)
typedef void *(*gs_fn_dlsym)(void *, const char *);
GS_HIDDEN gs_fn_dlsym gs_real_dlsym;
GS_HIDDEN void *gs_dlsym_hook(void *handle, const char *name, const void *caller);

__asm__(
    ".text\n"
    ".globl dlsym\n"
    ".type dlsym, @function\n"
    ".p2align 4\n"
    "dlsym:\n"
    "    .cfi_startproc\n"
    "    mov (%rsp), %rdx\n"              /* the caller's return address */
    "    push %rdi\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    push %rsi\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    sub $8, %rsp\n"                  /* 16-byte aligned at the call */
    "    .cfi_adjust_cfa_offset 8\n"
    "    call gs_dlsym_hook\n"
    "    add $8, %rsp\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    pop %rsi\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    pop %rdi\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    test %rax, %rax\n"
    "    jnz 1f\n"
    "    jmp *gs_real_dlsym(%rip)\n"      /* as if the caller had called it */
    "1:  ret\n"
    "    .cfi_endproc\n"
    ".size dlsym, .-dlsym\n");

/* the launch wrappers of cuda.c, and ours of cuGetProcAddress below */
GS_API int cuLaunchKernel();
GS_API int cuLaunchKernel_ptsz();
GS_API int cuLaunchKernelEx();
GS_API int cuLaunchKernelEx_ptsz();
GS_API int cuGetProcAddress(const char *, void **, int, uint64_t);
GS_API int cuGetProcAddress_v2(const char *, void **, int, uint64_t, void *);

struct gs_drv {
    const char *name;
    void       *wrapper;
    void       *real;             /* the driver's, found on first need */
};
static struct gs_drv gs_drv_table[] = {
    { "cuLaunchKernel", (void *)cuLaunchKernel, NULL },
    { "cuLaunchKernel_ptsz", (void *)cuLaunchKernel_ptsz, NULL },
    { "cuLaunchKernelEx", (void *)cuLaunchKernelEx, NULL },
    { "cuLaunchKernelEx_ptsz", (void *)cuLaunchKernelEx_ptsz, NULL },
    { "cuGetProcAddress", (void *)cuGetProcAddress, NULL },
    { "cuGetProcAddress_v2", (void *)cuGetProcAddress_v2, NULL },
};
#define GS_NDRV (sizeof gs_drv_table / sizeof *gs_drv_table)

static void gs_dlsym_init(void)
{
    void *p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (!p)
        p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
    __atomic_store_n(&gs_real_dlsym, (gs_fn_dlsym)p, __ATOMIC_RELEASE);
}

static const struct gs_drv *gs_drv_find(const char *name)
{
    if (!name || name[0] != 'c' || name[1] != 'u')
        return NULL;
    for (size_t i = 0; i < GS_NDRV; i++)
        if (strcmp(name, gs_drv_table[i].name) == 0)
            return &gs_drv_table[i];
    return NULL;
}

void *gs_dlsym_hook(void *handle, const char *name, const void *caller)
{
    if (GS_UNLIKELY(!__atomic_load_n(&gs_real_dlsym, __ATOMIC_ACQUIRE)))
        gs_dlsym_init();
    const struct gs_drv *d = gs_drv_find(name);
    if (GS_LIKELY(!d) || handle == RTLD_NEXT || handle == RTLD_DEFAULT || gs_is_self(caller) ||
        !gs_setting_bool("GREENSHIM"))
        return NULL;
    void *p = gs_real_dlsym(handle, name);
    if (!p || gs_is_self(p))
        return NULL;                    /* the real dlsym answers the same (NULL, or us) */
    return d->wrapper;
}

/* Our wrapper for a driver entry point the driver handed out, or p. */
static void *gs_drv_swap(const char *sym, void *p)
{
    if (!sym || !p || gs_is_self(p) || !gs_setting_bool("GREENSHIM"))
        return p;
    if (strncmp(sym, "cuLaunchKernel", 14) != 0 && strncmp(sym, "cuGetProcAddress", 16) != 0)
        return p;
    for (size_t i = 0; i < GS_NDRV; i++) {
        struct gs_drv *d = &gs_drv_table[i];
        void *real = __atomic_load_n(&d->real, __ATOMIC_ACQUIRE);
        if (!real)
            real = gs_resolve_quiet(&d->real, d->name);
        if (real == p)
            return d->wrapper;
    }
    return p;
}

typedef int (*gs_fn_gpa1)(const char *, void **, int, uint64_t);
typedef int (*gs_fn_gpa2)(const char *, void **, int, uint64_t, void *);

GS_API int cuGetProcAddress(const char *sym, void **pfn, int ver, uint64_t flags)
{
    static void *real_;
    gs_fn_gpa1 fn = (gs_fn_gpa1)__atomic_load_n(&real_, __ATOMIC_ACQUIRE);
    if (!fn && !(fn = (gs_fn_gpa1)gs_resolve(&real_, "cuGetProcAddress")))
        return 999;                     /* CUDA_ERROR_UNKNOWN: no driver defines it */
    int ret = fn(sym, pfn, ver, flags);
    if (ret == 0 && pfn)
        *pfn = gs_drv_swap(sym, *pfn);
    return ret;
}

GS_API int cuGetProcAddress_v2(const char *sym, void **pfn, int ver, uint64_t flags, void *status)
{
    static void *real_;
    gs_fn_gpa2 fn = (gs_fn_gpa2)__atomic_load_n(&real_, __ATOMIC_ACQUIRE);
    if (!fn && !(fn = (gs_fn_gpa2)gs_resolve(&real_, "cuGetProcAddress_v2")))
        return 999;
    int ret = fn(sym, pfn, ver, flags, status);
    if (ret == 0 && pfn)
        *pfn = gs_drv_swap(sym, *pfn);
    return ret;
}
#endif
