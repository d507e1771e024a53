/* fake_cuda.c - a stand-in for the CUDA driver (libcuda.so.1) that answers
 * the four calls greenshim's NVML thread makes to match CUDA device
 * ordinals to NVML indices: cuInit, cuDeviceGetCount, cuDeviceGet,
 * cuDeviceGetPCIBusId.  Nothing else (no contexts, no launches).  Built as
 * build/fakes/cuda/libcuda.so.1; a test program dlopen()s it before its
 * first CUDA call, as libcudart loads the real one.
 *
 *     FAKE_CUDA_PCI="0000:02:00.0,0000:01:00.0"
 * the visible devices' PCI bus ids in CUDA order (what CUDA_VISIBLE_DEVICES
 * and CUDA_DEVICE_ORDER leave); unset or empty: no device.
 *
 * For the driver-lookup test (tests/e2e/test_driver_lookup.sh) it also has
 * the launch entry points (cuLaunchKernel, cuLaunchKernelEx and their
 * _ptsz forms: each counts its calls in fake_cuda_launches[] and returns
 * success), cuFuncGetName (a fake CUfunction is a pointer to its name) and
 * cuGetProcAddress(_v2), which hands out the _ptsz forms for
 * CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM as the real driver does.
 * Linked -Bsymbolic: like the real driver, its table points at its own
 * functions, never at a preloaded library's of the same name. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
enum { CU_OK = 0, CU_INVALID_VALUE = 1, CU_NOT_INITIALIZED = 3, CU_NO_DEVICE = 100, CU_INVALID_DEVICE = 101 };

#define MAXDEV 16
static char busid[MAXDEV][32];
static int ndev, inited;

CUresult cuInit(unsigned int flags)
{
    if (flags != 0)
        return CU_INVALID_VALUE;
    if (inited)
        return CU_OK;
    const char *l = getenv("FAKE_CUDA_PCI");
    while (l && *l && ndev < MAXDEV) {
        size_t n = strcspn(l, ",");
        if (n && n < sizeof busid[0]) {
            memcpy(busid[ndev], l, n);
            busid[ndev++][n] = 0;
        }
        l += n + (l[n] == ',');
    }
    inited = 1;
    return ndev ? CU_OK : CU_NO_DEVICE;
}

CUresult cuDeviceGetCount(int *count)
{
    if (!inited)
        return CU_NOT_INITIALIZED;
    if (!count)
        return CU_INVALID_VALUE;
    *count = ndev;
    return CU_OK;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    if (!inited)
        return CU_NOT_INITIALIZED;
    if (!device)
        return CU_INVALID_VALUE;
    if (ordinal < 0 || ordinal >= ndev)
        return CU_INVALID_DEVICE;
    *device = ordinal;
    return CU_OK;
}

CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev)
{
    if (!inited)
        return CU_NOT_INITIALIZED;
    if (dev < 0 || dev >= ndev)
        return CU_INVALID_DEVICE;
    if (!pciBusId || len <= 0 || strlen(busid[dev]) + 1 > (size_t)len)
        return CU_INVALID_VALUE;
    memcpy(pciBusId, busid[dev], strlen(busid[dev]) + 1);
    return CU_OK;
}

/* ---- launches, by every way a program can reach them ---- */
unsigned long fake_cuda_launches[4];   /* cuLaunchKernel, _ptsz, Ex, Ex_ptsz */

CUresult cuLaunchKernel(const void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned shmem, void *stream, void **params, void **extra)
{
    fake_cuda_launches[0]++;
    return f ? CU_OK : CU_INVALID_VALUE;
}
CUresult cuLaunchKernel_ptsz(const void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                             unsigned bz, unsigned shmem, void *stream, void **params, void **extra)
{
    fake_cuda_launches[1]++;
    return f ? CU_OK : CU_INVALID_VALUE;
}
CUresult cuLaunchKernelEx(const void *cfg, const void *f, void **params, void **extra)
{
    fake_cuda_launches[2]++;
    return f && cfg ? CU_OK : CU_INVALID_VALUE;
}
CUresult cuLaunchKernelEx_ptsz(const void *cfg, const void *f, void **params, void **extra)
{
    fake_cuda_launches[3]++;
    return f && cfg ? CU_OK : CU_INVALID_VALUE;
}

CUresult cuFuncGetName(const char **name, const void *f)
{
    if (!name || !f)
        return CU_INVALID_VALUE;
    *name = (const char *)f;
    return CU_OK;
}

enum { GPA_PER_THREAD = 1 << 1 };
enum { GPA_FOUND = 0, GPA_NOT_FOUND = 1 };
CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, uint64_t flags, int *status);
CUresult cuGetProcAddress(const char *sym, void **pfn, int ver, uint64_t flags)
{
    return cuGetProcAddress_v2(sym, pfn, ver, flags, NULL);
}
CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, uint64_t flags, int *status)
{
    static const struct { const char *name; void *fn, *ptsz; } tab[] = {
        { "cuInit", (void *)cuInit, NULL },
        { "cuDeviceGetCount", (void *)cuDeviceGetCount, NULL },
        { "cuLaunchKernel", (void *)cuLaunchKernel, (void *)cuLaunchKernel_ptsz },
        { "cuLaunchKernelEx", (void *)cuLaunchKernelEx, (void *)cuLaunchKernelEx_ptsz },
        { "cuFuncGetName", (void *)cuFuncGetName, NULL },
        { "cuGetProcAddress", (void *)cuGetProcAddress_v2, NULL },
    };
    if (!sym || !pfn)
        return CU_INVALID_VALUE;
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
        if (strcmp(sym, tab[i].name) == 0) {
            *pfn = (flags & GPA_PER_THREAD) && tab[i].ptsz ? tab[i].ptsz : tab[i].fn;
            if (status)
                *status = GPA_FOUND;
            return CU_OK;
        }
    *pfn = NULL;
    if (status)
        *status = GPA_NOT_FOUND;
    return 500;                         /* CUDA_ERROR_NOT_FOUND */
}
