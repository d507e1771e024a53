/* blas_lib.c - which library a BLAS name resolved to, and the width of its
 * integers (LP64: 32-bit, ILP64: 64-bit), found once per library when the
 * first of its routines is resolved; and, at exit, the one line for a
 * process that loaded a BLAS or DNN library but made no call we intercept.
 *
 * The width decides how shapes are read, never how arguments are passed
 * (blas.c forwards every integer bit for bit).  Evidence, in order:
 *   the name's scheme: a 64_ suffix is ILP64 by definition;
 *   OpenBLAS: openblas_get_config() names USE64BITINT;
 *   BLIS: bli_info_get_blas_int_type_size() is 64;
 *   MKL: the interface layer libmkl_intel_ilp64 / _lp64, or for the single
 *        dynamic library (libmkl_rt) MKL_INTERFACE_LAYER=ILP64;
 *   the file name: Debian's ILP64 builds are libopenblas64, libblas64,
 *        libblis64 (plain names, 64-bit integers);
 *   else LP64, the reference ABI. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../gs.h"

GS_HIDDEN void *gs_resolve_quiet(void **slot, const char *name);   /* resolve.c */
static void gs_blas_report_unseen(void);

GS_HIDDEN void *gs_resolve(void **slot, const char *name);

#define GS_BLAS_MAX_LIBS 16
struct gs_blas_lib {
    const void *base;             /* dli_fbase of the object */
    int         w8;
    const char *why;
    char        path[256];
    int         listed;           /* in this process's header */
};
static struct gs_blas_lib gs_libs[GS_BLAS_MAX_LIBS];
static int gs_nlibs;
static pthread_mutex_t gs_libs_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *gs_base(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* "libopenblas64.so.0", "libblas64.so.3", "libblis64.so.4": 64 right after
 * the library's stem (not the "x86_64" of a directory: basename only) */
static int gs_name_says_64(const char *base)
{
    static const char *const stems[] = { "libopenblas64", "libblas64", "libblis64",
                                         "libcblas64", "libflexiblas64" };
    for (size_t i = 0; i < sizeof stems / sizeof *stems; i++)
        if (strncmp(base, stems[i], strlen(stems[i])) == 0)
            return 1;
    return 0;
}

static void gs_lib_width(struct gs_blas_lib *l, const char *path, int scheme)
{
    const char *base = gs_base(path);
    l->w8 = 0;
    l->why = "LP64 (no sign of 64-bit integers)";
    if (scheme == GS_BLAS_SUFFIX64 || scheme == GS_BLAS_SCIPY64) {
        l->w8 = 1;
        l->why = "ILP64 (64_ names)";
        return;
    }
    void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    if (h) {
        const char *(*cfg)(void) = (const char *(*)(void))dlsym(h, "openblas_get_config");
        if (!cfg)
            cfg = (const char *(*)(void))dlsym(h, "scipy_openblas_get_config");
        long (*bli)(void) = (long (*)(void))dlsym(h, "bli_info_get_blas_int_type_size");
        dlclose(h);
        if (cfg) {
            const char *c = cfg();
            l->w8 = c && strstr(c, "USE64BITINT") != NULL;
            l->why = l->w8 ? "ILP64 (openblas_get_config: USE64BITINT)"
                           : "LP64 (openblas_get_config: no USE64BITINT)";
            return;
        }
        if (bli) {
            l->w8 = bli() == 64;
            l->why = l->w8 ? "ILP64 (bli_info_get_blas_int_type_size: 64)"
                           : "LP64 (bli_info_get_blas_int_type_size: 32)";
            return;
        }
    }
    if (strstr(base, "mkl_intel_ilp64") || strstr(base, "mkl_gf_ilp64")) {
        l->w8 = 1;
        l->why = "ILP64 (MKL's ILP64 interface layer)";
    } else if (strstr(base, "mkl_intel_lp64") || strstr(base, "mkl_gf_lp64")) {
        l->why = "LP64 (MKL's LP64 interface layer)";
    } else if (strstr(base, "mkl_rt")) {
        const char *e = getenv("MKL_INTERFACE_LAYER");
        l->w8 = e && strstr(e, "ILP64") != NULL;
        l->why = l->w8 ? "ILP64 (MKL_INTERFACE_LAYER)" : "LP64 (MKL's default interface layer)";
    } else if (gs_name_says_64(base)) {
        l->w8 = 1;
        l->why = "ILP64 (library name)";
    }
}

/* The library defining fn: found once, then by its base address. */
static int gs_blas_width(const void *fn, int scheme)
{
    Dl_info di;
    if (!dladdr(fn, &di) || !di.dli_fname)
        return scheme == GS_BLAS_SUFFIX64 || scheme == GS_BLAS_SCIPY64;
    pthread_mutex_lock(&gs_libs_mu);
    int w8 = -1;
    for (int i = 0; i < gs_nlibs; i++)
        if (gs_libs[i].base == di.dli_fbase) {
            w8 = gs_libs[i].w8;
            break;
        }
    if (w8 < 0) {
        struct gs_blas_lib l = { .base = di.dli_fbase };
        snprintf(l.path, sizeof l.path, "%s", di.dli_fname);
        gs_lib_width(&l, di.dli_fname, scheme);
        w8 = l.w8;
        if (gs_nlibs < GS_BLAS_MAX_LIBS) {
            gs_libs[gs_nlibs++] = l;
            gs_dbg("BLAS %s: %s", l.path, l.why);
        }
    }
    pthread_mutex_unlock(&gs_libs_mu);
    return w8;
}

/* The real routine and its library's width; the width is stored before
 * the pointer is published (release), so a wrapper that sees the pointer
 * sees the width. */
void *gs_blas_resolve(void **slot, int *w8, const char *name, int scheme)
{
    void *tmp = NULL;
    void *p = gs_resolve(&tmp, name);
    if (!p)
        return NULL;
    __atomic_store_n(w8, gs_blas_width(p, scheme), __ATOMIC_RELAXED);
    __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    return p;
}

/* Header lines for the libraries known when the recorder starts (the first
 * call resolves its routine before that). */
/* after the settings (lifecycle.c's constructor, priority 101) */
__attribute__((constructor(103)))
static void gs_blas_settings(void)
{
    gs_native = gs_setting_bool("GREENSHIM_NATIVE");
}

/* BLAS threads: the analyzer says that modelled energy (CPU time x watts)
 * counts their spin-waiting.  Asked of OpenBLAS when it is loaded (a getter
 * of a global), else what the environment asks for; "unknown" otherwise. */
static void *gs_real_openblas_threads;
static void gs_describe_blas_threads(void)
{
    typedef int (*gs_fn_threads)(void);
    gs_fn_threads f = (gs_fn_threads)gs_resolve_quiet(&gs_real_openblas_threads, "openblas_get_num_threads");
    if (f) {
        gs_header_add("blas.threads", "%d (openblas_get_num_threads)", f());
        return;
    }
    static const char *const env[] = { "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS" };
    for (size_t i = 0; i < sizeof env / sizeof *env; i++) {
        const char *v = getenv(env[i]);
        if (v && *v >= '1' && *v <= '9') {
            gs_header_add("blas.threads", "%d (%s)", atoi(v), env[i]);
            return;
        }
    }
    gs_header_add("blas.threads", "unknown");
}

static void gs_blas_init(void)
{
    gs_describe_blas_threads();
    if (!gs_native)
        gs_header_add("native", "off (GREENSHIM_NATIVE=0: BLAS and oneDNN calls forwarded, not recorded)");
    pthread_mutex_lock(&gs_libs_mu);
    for (int i = 0; i < gs_nlibs; i++) {
        char key[32];
        snprintf(key, sizeof key, "blas.lib.%d", i);
        gs_header_add(key, "%s; %s", gs_libs[i].path, gs_libs[i].why);
        gs_libs[i].listed = 1;
    }
    pthread_mutex_unlock(&gs_libs_mu);
}

static void gs_blas_fork_child(void)
{
    pthread_mutex_init(&gs_libs_mu, NULL);
    for (int i = 0; i < gs_nlibs; i++)
        gs_libs[i].listed = 0;
}

GS_MODULE_IDLE(blas, gs_blas_init, NULL, gs_blas_fork_child, NULL, gs_blas_report_unseen);

/* ---- a process that loaded a math library but made no intercepted call ---- */

struct gs_known { const char *stem; const char *what; };
static const struct gs_known gs_known_libs[] = {
    { "libtorch_cpu", "PyTorch's CPU library: its BLAS (MKL) and oneDNN may be linked into it, "
                      "where no preload sees them" },
    { "libmkl_", "MKL: calls made inside MKL's own libraries, or through its internal names, are "
                 "not seen" },
    { "libopenblas", "OpenBLAS" }, { "libscipy_openblas", "scipy-openblas" },
    { "libblis", "BLIS" }, { "libblas", "a BLAS" }, { "libflexiblas", "FlexiBLAS" },
    { "libdnnl", "oneDNN" }, { "libmkldnn", "oneDNN" },
};

struct gs_seen { const char *path; const struct gs_known *k; };

static int gs_known_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct gs_seen *s = data;
    if (!info->dlpi_name || !info->dlpi_name[0])
        return 0;
    const char *base = gs_base(info->dlpi_name);
    for (size_t i = 0; i < sizeof gs_known_libs / sizeof *gs_known_libs; i++)
        if (strncmp(base, gs_known_libs[i].stem, strlen(gs_known_libs[i].stem)) == 0) {
            /* the first found, except that libtorch_cpu's explanation wins */
            if (!s->k || gs_known_libs[i].stem[3] == 't') {
                s->path = info->dlpi_name;
                s->k = &gs_known_libs[i];
            }
            break;
        }
    return 0;
}

/* At the exit of a process whose recorder never started (no intercepted
 * call): one line when a BLAS or DNN library was loaded all the same, so
 * an empty run is never silent.  Loaded objects only; no system call. */
static void gs_blas_report_unseen(void)
{
    struct gs_seen s = { NULL, NULL };
    dl_iterate_phdr(gs_known_cb, &s);
    if (!s.k)
        return;
    gs_warn_once("blas-unseen",
                 "%s was loaded (%s) but this process made no BLAS or oneDNN call that greenshim "
                 "intercepts, so it has no trace: %s",
                 gs_base(s.path), s.k->what,
                 s.k->stem[3] == 't' ? "see docs/stacks.md"
                                     : "its calls, if any, went through names or libraries "
                                       "greenshim does not interpose (docs/stacks.md)");
}
