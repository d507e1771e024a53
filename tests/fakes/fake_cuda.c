/* fake_cuda.c - a stand-in for the CUDA driver (libcuda.so.1) that answers
 * the four calls greenshim's NVML thread makes to match CUDA device
 * ordinals to NVML indices: cuInit, cuDeviceGetCount, cuDeviceGet,
 * cuDeviceGetPCIBusId.  Nothing else (no contexts, no launches).  Built as
 * build/fakes/cuda/libcuda.so.1; a test program dlopen()s it before its
 * first CUDA call, as libcudart loads the real one.
 *
 *     FAKE_CUDA_PCI="0000:02:00.0,0000:01:00.0"
 * the visible devices' PCI bus ids in CUDA order (what CUDA_VISIBLE_DEVICES
 * and CUDA_DEVICE_ORDER leave); unset or empty: no device. */
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
