/* gpu_driver_lookup.c - reaches the CUDA driver's launch entry points the
 * ways that no symbol interposition sees (Triton, torch.compile, NCCL, a
 * static cudart): dlsym on its own handle of libcuda, and cuGetProcAddress
 * (default and per-thread-stream flavours).  Also looks up other symbols,
 * which must come back untouched.  Prints what it did and the driver's own
 * launch counts: the same bytes with and without the recorder.
 *   gpu_driver_lookup LIBCUDA */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef int (*launch_fn)(const void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                         unsigned, void *, void **, void **);
typedef int (*launch_ex_fn)(const void *, const void *, void **, void **);
typedef int (*gpa_fn)(const char *, void **, int, uint64_t, int *);
struct cu_cfg { unsigned gx, gy, gz, bx, by, bz, shmem; void *stream; void *attrs; unsigned nattrs; };

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    int bad = 0;
    launch_fn l = (launch_fn)dlsym(h, "cuLaunchKernel");
    launch_ex_fn lx = (launch_ex_fn)dlsym(h, "cuLaunchKernelEx");
    gpa_fn gpa = (gpa_fn)dlsym(h, "cuGetProcAddress_v2");
    if (!l || !lx || !gpa)
        return 1;
    for (int i = 0; i < 3; i++)
        bad |= l("kern_dlsym", 2, 1, 1, 64, 1, 1, 0, NULL, NULL, NULL);
    struct cu_cfg cfg = { 4, 2, 1, 128, 1, 1, 0, NULL, NULL, 0 };
    for (int i = 0; i < 2; i++)
        bad |= lx(&cfg, "kern_dlsym_ex", NULL, NULL);
    void *p = NULL;
    int st = -1;
    bad |= gpa("cuLaunchKernel", &p, 13000, 0, &st);
    for (int i = 0; i < 4 && p; i++)
        bad |= ((launch_fn)p)("kern_gpa", 8, 1, 1, 32, 1, 1, 0, NULL, NULL, NULL);
    bad |= gpa("cuLaunchKernel", &p, 13000, 2, &st);       /* per-thread default stream */
    for (int i = 0; i < 5 && p; i++)
        bad |= ((launch_fn)p)("kern_gpa_ptsz", 16, 1, 1, 256, 1, 1, 0, NULL, NULL, NULL);
    bad |= gpa("cuLaunchKernelEx", &p, 13000, 2, &st);
    if (p)
        bad |= ((launch_ex_fn)p)(&cfg, "kern_gpa_ex_ptsz", NULL, NULL);
    /* other lookups: the driver's own functions, errors as the library gives them */
    void *cnt = dlsym(h, "cuDeviceGetCount");
    Dl_info di;
    int own = cnt && dladdr(cnt, &di) && di.dli_fname && strstr(di.dli_fname, "libcuda") != NULL;
    void *gp = NULL;
    int r_nf = gpa("cuNoSuchFunction", &gp, 13000, 0, &st);
    void *none = dlsym(h, "cuNoSuchFunction");
    int (*p_puts)(const char *) = (int (*)(const char *))dlsym(RTLD_NEXT, "puts");
    void *dflt = dlsym(RTLD_DEFAULT, "printf");
    unsigned long *n = (unsigned long *)dlsym(h, "fake_cuda_launches");
    printf("errors %d; other symbols: own %d, not found %d/%d/%s, RTLD_NEXT %d, RTLD_DEFAULT %d\n", bad, own,
           r_nf, gp == NULL, none == NULL ? "null" : "set", p_puts != NULL, dflt != NULL);
    if (p_puts)
        p_puts("puts through dlsym(RTLD_NEXT)");
    if (n)
        printf("driver saw: cuLaunchKernel %lu, _ptsz %lu, Ex %lu, Ex_ptsz %lu\n", n[0], n[1], n[2], n[3]);
    return 0;
}
