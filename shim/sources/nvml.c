/* sources/nvml.c - GPU energy from NVML: per device the total-energy counter
 * (Volta and later), else the power reading to integrate, plus SM and
 * memory clocks; the supported clocks and the power-limit range once
 * (GPU_INFO and GPU_CLOCKS records: DVFS needs them).
 *
 * NVML is dlopen()ed as "libnvidia-ml.so.1" through the normal loader path
 * (the tests put a scripted fake there with LD_LIBRARY_PATH), prototypes
 * declared here.  It starts at the process's first intercepted CUDA call or
 * at InitializeInjection, whichever comes first - under nsys or ncu the
 * injection slot is taken and the energy must still be measured - and
 * samples in its own thread, so a process that never touches CUDA never
 * loads NVML.  H100-class power readings (nvmlDeviceGetPowerUsage) are 1 s
 * averages: the counter is preferred whenever it answers; without it the
 * instant power field (NVML_FI_DEV_POWER_INSTANT, through
 * nvmlDeviceGetFieldValues) where the driver has it, else the average,
 * and GPU_INFO's power_src says which.
 *
 * Kernel records carry CUDA device ordinals (after CUDA_VISIBLE_DEVICES and
 * CUDA_DEVICE_ORDER), samples NVML indices: the sampling thread matches
 * the two by PCI bus id through the CUDA driver already in the process
 * (GPU_DEV records), so the analyzer charges a kernel to its own GPU. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../gs.h"
#include "../intercept/gpu.h"
#if __has_include(<cuda.h>)
#include <cuda.h>
#else
typedef int CUresult;                   /* the four driver calls below, as cuda.h declares them */
typedef int CUdevice;
CUresult cuInit(unsigned int Flags);
CUresult cuDeviceGetCount(int *count);
CUresult cuDeviceGet(CUdevice *device, int ordinal);
CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev);
#endif

typedef void *nvmlDevice_t;
typedef int nvmlReturn_t;
enum { NVML_OK = 0, NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2 };
enum { NVML_FI_DEV_POWER_INSTANT = 186 };   /* mW, "current GPU power" (185: the 1 s average) */
typedef enum { NVML_VALUE_TYPE_DOUBLE = 0, NVML_VALUE_TYPE_UNSIGNED_INT = 1, NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
               NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3, NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4,
               NVML_VALUE_TYPE_SIGNED_INT = 5 } nvmlValueType_t;
typedef struct {                        /* nvmlFieldValue_t, as nvml.h lays it out: 40 bytes */
    unsigned int fieldId, scopeId;
    long long timestamp, latencyUsec;   /* us since 1970; the driver's update latency */
    nvmlValueType_t valueType;
    nvmlReturn_t nvmlReturn;            /* this field's own status (3: not supported) */
    union { double dVal; unsigned int uiVal; unsigned long ulVal; unsigned long long ullVal;
            signed long long sllVal; int siVal; } value;
} nvmlFieldValue_t;
_Static_assert(sizeof(nvmlFieldValue_t) == 40, "nvmlFieldValue_t layout");
typedef struct {                        /* nvmlPciInfo_t (v3: nvmlDeviceGetPciInfo_v3) */
    char busIdLegacy[16];
    unsigned domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;
#define GS_NVML_FNS(X)                                                                  \
    X(nvmlInit_v2, (void))                                                              \
    X(nvmlShutdown, (void))                                                             \
    X(nvmlDeviceGetCount_v2, (unsigned *))                                              \
    X(nvmlDeviceGetHandleByIndex_v2, (unsigned, nvmlDevice_t *))                        \
    X(nvmlDeviceGetName, (nvmlDevice_t, char *, unsigned))                              \
    X(nvmlDeviceGetUUID, (nvmlDevice_t, char *, unsigned))                              \
    X(nvmlDeviceGetTotalEnergyConsumption, (nvmlDevice_t, unsigned long long *))        \
    X(nvmlDeviceGetPowerUsage, (nvmlDevice_t, unsigned *))                              \
    X(nvmlDeviceGetFieldValues, (nvmlDevice_t, int, nvmlFieldValue_t *))                \
    X(nvmlDeviceGetClockInfo, (nvmlDevice_t, int, unsigned *))                          \
    X(nvmlDeviceGetMaxClockInfo, (nvmlDevice_t, int, unsigned *))                       \
    X(nvmlDeviceGetSupportedMemoryClocks, (nvmlDevice_t, unsigned *, unsigned *))       \
    X(nvmlDeviceGetSupportedGraphicsClocks, (nvmlDevice_t, unsigned, unsigned *, unsigned *)) \
    X(nvmlDeviceGetPowerManagementLimitConstraints, (nvmlDevice_t, unsigned *, unsigned *)) \
    X(nvmlDeviceGetPowerManagementDefaultLimit, (nvmlDevice_t, unsigned *))             \
    X(nvmlDeviceGetEnforcedPowerLimit, (nvmlDevice_t, unsigned *))                     \
    X(nvmlDeviceGetPciInfo_v3, (nvmlDevice_t, nvmlPciInfo_t *))                         \
    X(nvmlDeviceGetHandleByPciBusId_v2, (const char *, nvmlDevice_t *))                 \
    X(nvmlDeviceGetIndex, (nvmlDevice_t, unsigned *))
#define GS_NVML_DECL(name, P) static nvmlReturn_t (*p_##name) P;
GS_NVML_FNS(GS_NVML_DECL)

#define GS_NVML_MAXDEV 16
struct gs_nvdev { nvmlDevice_t h; unsigned index; uint8_t energy, power_src; };   /* index: NVML's */
static struct gs_nvdev gs_dev[GS_NVML_MAXDEV];
static unsigned gs_ndev;
static int gs_nvml_state;               /* 0 not tried, 1 running, -1 unavailable/stopped */
static pthread_t gs_nvml_thread;
static pthread_mutex_t gs_nvml_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gs_nvml_cv;
static int gs_nvml_quit;
static uint64_t gs_nvml_period_ns = 5000000;   /* the counter moves about every 10 ms */
#define GS_NVML_TIGHT_NS 1000000ull              /* a read bracketed within 1 ms is taken as is */
static void *gs_nvml_lib;

static int gs_nvml_load(void)
{
    void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        gs_dbg("NVML not available (%s): no GPU energy", dlerror());
        return -1;
    }
    int ok = 1;
#define GS_NVML_LOAD(name, P) p_##name = (nvmlReturn_t(*) P)dlsym(h, #name);
    GS_NVML_FNS(GS_NVML_LOAD)
    if (!p_nvmlInit_v2 || !p_nvmlDeviceGetCount_v2 || !p_nvmlDeviceGetHandleByIndex_v2)
        ok = 0;
    if (!ok || p_nvmlInit_v2() != NVML_OK) {
        gs_log("libnvidia-ml.so.1 loaded but NVML did not initialise (driver not running?): "
               "no GPU energy");
        dlclose(h);
        return -1;
    }
    gs_nvml_lib = h;
    return 0;
}

#define GS_CALL(name, ...) (p_##name && p_##name(__VA_ARGS__) == NVML_OK)

/* the instant power field in mW: 1 when the driver answers it */
static int gs_nvml_instant(nvmlDevice_t h, unsigned *mw)
{
    nvmlFieldValue_t f;
    memset(&f, 0, sizeof f);
    f.fieldId = NVML_FI_DEV_POWER_INSTANT;
    if (!GS_CALL(nvmlDeviceGetFieldValues, h, 1, &f) || f.nvmlReturn != NVML_OK)
        return 0;
    switch (f.valueType) {
    case NVML_VALUE_TYPE_UNSIGNED_INT: *mw = f.value.uiVal; return 1;
    case NVML_VALUE_TYPE_UNSIGNED_LONG: *mw = (unsigned)f.value.ulVal; return 1;
    case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: *mw = (unsigned)f.value.ullVal; return 1;
    case NVML_VALUE_TYPE_SIGNED_LONG_LONG: *mw = f.value.sllVal > 0 ? (unsigned)f.value.sllVal : 0; return 1;
    case NVML_VALUE_TYPE_SIGNED_INT: *mw = f.value.siVal > 0 ? (unsigned)f.value.siVal : 0; return 1;
    case NVML_VALUE_TYPE_DOUBLE: *mw = f.value.dVal > 0 ? (unsigned)(f.value.dVal + 0.5) : 0; return 1;
    default: return 0;
    }
}

static void gs_put(const void *rec, unsigned nslots)
{
    uint8_t *s = gs_rec_slot(&gs_tls, nslots);
    if (!s)
        return;
    memcpy(s + 1, (const uint8_t *)rec + 1, nslots * GS_REC_SIZE - 1);
    gs_rec_commit(s, *(const uint8_t *)rec);
}

/* Describe one device: GPU_INFO (its supported clocks follow from the
 * sampling thread). */
static void gs_nvml_describe(unsigned i)
{
    nvmlDevice_t h = gs_dev[i].h;
    char name[96] = "unknown GPU", uuid[96] = "";
    (void)GS_CALL(nvmlDeviceGetName, h, name, sizeof name);
    (void)GS_CALL(nvmlDeviceGetUUID, h, uuid, sizeof uuid);
    if (!uuid[0])
        snprintf(uuid, sizeof uuid, "nvml-index-%u", gs_dev[i].index);
    struct gs_rec_gpu_info g = { .type = GS_REC_GPU_INFO, .nslots = 2, .device = (uint16_t)gs_dev[i].index };
    g.name = gs_gpu_string(GS_STR_GPU, name);
    g.uuid = gs_gpu_string(GS_STR_GPU, uuid);
    unsigned long long mj;
    unsigned mw, a, b;
    /* no counter: the instant field, probed once, else the 1 s average */
    if (GS_CALL(nvmlDeviceGetTotalEnergyConsumption, h, &mj))
        gs_dev[i].energy = GS_GPU_E_COUNTER;
    else if (gs_nvml_instant(h, &mw))
        gs_dev[i].energy = GS_GPU_E_POWER, gs_dev[i].power_src = GS_GPU_P_INSTANT;
    else if (GS_CALL(nvmlDeviceGetPowerUsage, h, &mw)) {
        gs_dev[i].energy = GS_GPU_E_POWER, gs_dev[i].power_src = GS_GPU_P_AVERAGE;
        gs_warn_once("nvml-power-average", "GPU %u: no energy counter and no instant power field: integrating "
               "nvmlDeviceGetPowerUsage, a 1 s average (kernels shorter than that get wide bounds)",
               gs_dev[i].index);
    }
    g.energy = gs_dev[i].energy;
    g.power_src = gs_dev[i].power_src;
    if (GS_CALL(nvmlDeviceGetEnforcedPowerLimit, h, &a))
        g.power_limit_mw = a;
    if (GS_CALL(nvmlDeviceGetPowerManagementLimitConstraints, h, &a, &b))
        g.power_min_mw = a, g.power_max_mw = b;
    if (GS_CALL(nvmlDeviceGetPowerManagementDefaultLimit, h, &a))
        g.power_default_mw = a;
    if (GS_CALL(nvmlDeviceGetMaxClockInfo, h, NVML_CLOCK_SM, &a))
        g.sm_max_mhz = a;
    if (GS_CALL(nvmlDeviceGetMaxClockInfo, h, NVML_CLOCK_MEM, &a))
        g.mem_max_mhz = a;
    if (GS_CALL(nvmlDeviceGetClockInfo, h, NVML_CLOCK_SM, &a))
        g.sm_mhz = a;
    if (GS_CALL(nvmlDeviceGetClockInfo, h, NVML_CLOCK_MEM, &a))
        g.mem_mhz = a;
    nvmlPciInfo_t pci;
    memset(&pci, 0, sizeof pci);
    if (GS_CALL(nvmlDeviceGetPciInfo_v3, h, &pci))
        g.pci_bus = (pci.domain & 0xffff) << 16 | (pci.bus & 0xff) << 8 | (pci.device & 0xff);
    gs_put(&g, 2);
}

static void gs_nvml_clocks(unsigned i)
{
    nvmlDevice_t h = gs_dev[i].h;
    unsigned mem[64], nmem = 64;
    if (!GS_CALL(nvmlDeviceGetSupportedMemoryClocks, h, &nmem, mem))
        return;
    for (unsigned m = 0; m < nmem && m < 64; m++) {
        unsigned sm[512], nsm = 512;
        if (!GS_CALL(nvmlDeviceGetSupportedGraphicsClocks, h, mem[m], &nsm, sm))
            continue;
        if (nsm > 512)
            nsm = 512;
        uint8_t buf[GS_REC_SIZE * (1 + (512 * 2 + GS_REC_SIZE - 1) / GS_REC_SIZE)];
        memset(buf, 0, sizeof buf);
        struct gs_rec_gpu_clocks *c = (void *)buf;
        unsigned nslots = 1 + (nsm * 2 + GS_REC_SIZE - 1) / GS_REC_SIZE;
        c->type = GS_REC_GPU_CLOCKS;
        c->nslots = (uint8_t)nslots;
        c->device = (uint16_t)gs_dev[i].index;
        c->mem_mhz = (uint16_t)mem[m];
        c->nvals = (uint16_t)nsm;
        uint16_t *v = (uint16_t *)(buf + GS_REC_SIZE);
        for (unsigned k = 0; k < nsm; k++)
            v[k] = (uint16_t)sm[k];
        gs_put(buf, nslots);
    }
}

static void gs_nvml_sample(void)
{
    for (unsigned i = 0; i < gs_ndev; i++) {
        nvmlDevice_t h = gs_dev[i].h;
        struct gs_rec_nvml s = { .type = GS_REC_NVML, .nslots = 1, .device = (uint16_t)gs_dev[i].index };
        unsigned a;
        int got = 0;
        /* the value belongs somewhere between the stamps around the read: a
         * read the scheduler (or the driver) held up brackets it loosely,
         * and its value may be from the end of the wait; read again, up to
         * 3 times, for one within GS_NVML_TIGHT_NS, and keep the tightest */
        uint64_t best = UINT64_MAX;
        for (int k = 0; k < 3 && best > GS_NVML_TIGHT_NS; k++) {
            uint64_t m0 = gs_mono_ns(), t0 = gs_now();
            unsigned long long mj = 0;
            unsigned mw = 0;
            int ok = 0;
            if (gs_dev[i].energy == GS_GPU_E_COUNTER && GS_CALL(nvmlDeviceGetTotalEnergyConsumption, h, &mj))
                ok = 1;
            if (gs_dev[i].energy == GS_GPU_E_POWER &&
                (gs_dev[i].power_src == GS_GPU_P_INSTANT ? gs_nvml_instant(h, &mw)
                                                          : GS_CALL(nvmlDeviceGetPowerUsage, h, &mw)))
                ok = 1;
            uint64_t t1 = gs_now(), m1 = gs_mono_ns();
            if (!ok)
                break;
            if (m1 - m0 < best) {
                best = m1 - m0;
                s.t = t0;
                s.t_read = t1;
                s.energy_mj = mj;
                s.power_mw = mw;
                got = 1;
            }
        }
        if (!got)
            continue;                   /* a failed read is a missing point, not a zero */
        if (GS_CALL(nvmlDeviceGetClockInfo, h, NVML_CLOCK_SM, &a))
            s.sm_mhz = (uint16_t)a;
        if (GS_CALL(nvmlDeviceGetClockInfo, h, NVML_CLOCK_MEM, &a))
            s.mem_mhz = (uint16_t)a;
        gs_put(&s, 1);
    }
}

/* CUDA ordinal -> NVML index, by PCI bus id: one GPU_DEV record per CUDA
 * device.  The driver's own functions, from the libcuda.so.1 the program
 * already loaded (RTLD_NOLOAD: never load a driver into a process that has
 * none; the handle, not RTLD_NEXT: the shim interposes some cu* names).
 * Returns 1 when done (mapped, or nothing to map), 0 to try again later:
 * the first CUDA call may come before libcudart has loaded the driver. */
static int gs_nvml_map_cuda(void)
{
    void *cu = dlopen("libcuda.so.1", RTLD_NOLOAD | RTLD_LAZY);
    if (!cu)
        return 0;
    __typeof__(&cuInit) init = (__typeof__(&cuInit))dlsym(cu, "cuInit");
    __typeof__(&cuDeviceGetCount) count = (__typeof__(&cuDeviceGetCount))dlsym(cu, "cuDeviceGetCount");
    __typeof__(&cuDeviceGet) get = (__typeof__(&cuDeviceGet))dlsym(cu, "cuDeviceGet");
    __typeof__(&cuDeviceGetPCIBusId) busid = (__typeof__(&cuDeviceGetPCIBusId))dlsym(cu, "cuDeviceGetPCIBusId");
    int n = 0;
    if (!init || !count || !get || !busid || init(0) != 0 || count(&n) != 0 || n <= 0) {
        gs_dbg("CUDA driver gives no devices: CUDA ordinals not matched to NVML indices");
        dlclose(cu);
        return 1;
    }
    for (int o = 0; o < n && o <= UINT16_MAX; o++) {
        CUdevice d;
        char id[64] = "";
        if (get(&d, o) != 0 || busid(id, (int)sizeof id - 1, d) != 0 || !id[0])
            continue;
        struct gs_rec_gpu_dev r = { .type = GS_REC_GPU_DEV, .nslots = 1, .cuda_ordinal = (uint16_t)o,
                                    .nvml_index = GS_GPU_DEV_NONE };
        unsigned dom = 0, bus = 0, dev = 0, fn = 0;
        if (sscanf(id, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) >= 3)
            r.pci = (dom & 0xffff) << 16 | (bus & 0xff) << 8 | (dev & 0xff);
        r.busid = gs_gpu_string(GS_STR_GPU, id);
        nvmlDevice_t h;
        unsigned idx;
        if (GS_CALL(nvmlDeviceGetHandleByPciBusId_v2, id, &h) && GS_CALL(nvmlDeviceGetIndex, h, &idx))
            r.nvml_index = idx;
        else
            gs_dbg("CUDA device %d (%s) not found by NVML", o, id);
        gs_put(&r, 1);
    }
    dlclose(cu);
    return 1;
}

static void *gs_nvml_main(void *arg)
{
    (void)arg;
    gs_tls.stream = GS_STREAM_SAMPLER;
    gs_tls.busy = 1;
    for (unsigned i = 0; i < gs_ndev; i++)
        gs_nvml_clocks(i);
    /* the mapping: now, else again with a growing wait until the driver is in */
    int mapped = gs_nvml_map_cuda();
    uint64_t map_wait = 5000000, map_at = (uint64_t)gs_mono_ns() + map_wait;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&gs_nvml_mu);
    while (!gs_nvml_quit) {
        pthread_mutex_unlock(&gs_nvml_mu);
        gs_nvml_sample();
        if (!mapped && (uint64_t)gs_mono_ns() >= map_at) {
            mapped = gs_nvml_map_cuda();
            map_wait = map_wait < 1000000000 ? map_wait * 2 : map_wait;
            map_at = (uint64_t)gs_mono_ns() + map_wait;
        }
        pthread_mutex_lock(&gs_nvml_mu);
        next.tv_nsec += (long)gs_nvml_period_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (!gs_nvml_quit && pthread_cond_timedwait(&gs_nvml_cv, &gs_nvml_mu, &next) == 0)
            ;
    }
    pthread_mutex_unlock(&gs_nvml_mu);
    gs_nvml_sample();                   /* the last point closes the window */
    return NULL;
}

void gs_nvml_start(void)
{
    pthread_mutex_lock(&gs_nvml_mu);
    if (gs_nvml_state != 0) {
        pthread_mutex_unlock(&gs_nvml_mu);
        return;
    }
    gs_nvml_state = -1;
    gs_nvml_period_ns = (uint64_t)(gs_setting_double("GREENSHIM_NVML_MS") * 1e6);
    if (gs_nvml_load() != 0) {
        pthread_mutex_unlock(&gs_nvml_mu);
        return;
    }
    unsigned n = 0;
    (void)GS_CALL(nvmlDeviceGetCount_v2, &n);
    gs_ndev = 0;
    for (unsigned i = 0; i < n && gs_ndev < GS_NVML_MAXDEV; i++)
        if (GS_CALL(nvmlDeviceGetHandleByIndex_v2, i, &gs_dev[gs_ndev].h))
            gs_dev[gs_ndev++].index = i;
    for (unsigned i = 0; i < gs_ndev; i++)
        gs_nvml_describe(i);
    if (!gs_ndev) {
        gs_log("NVML sees no GPU: no GPU energy");
        pthread_mutex_unlock(&gs_nvml_mu);
        return;
    }
    /* the series starts now, on the caller's thread: a sampling thread
     * that a loaded machine runs late left the kernels before its first
     * reading outside the measured window */
    gs_nvml_sample();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&gs_nvml_cv, &ca);
    gs_nvml_quit = 0;
    if (pthread_create(&gs_nvml_thread, NULL, gs_nvml_main, NULL) == 0) {
        gs_nvml_state = 1;
        gs_sources |= GS_SRC_NVML;
    }
    pthread_mutex_unlock(&gs_nvml_mu);
}

void gs_nvml_stop(void)
{
    pthread_mutex_lock(&gs_nvml_mu);
    if (gs_nvml_state != 1) {
        pthread_mutex_unlock(&gs_nvml_mu);
        return;
    }
    gs_nvml_state = -1;
    gs_nvml_quit = 1;
    pthread_cond_signal(&gs_nvml_cv);
    pthread_mutex_unlock(&gs_nvml_mu);
    pthread_join(gs_nvml_thread, NULL);
}

/* A fork child has no sampling thread; the parent's series covers the
 * device (NVML energy is machine-wide). */
void gs_nvml_fork_child(void)
{
    pthread_mutex_init(&gs_nvml_mu, NULL);
    gs_nvml_state = -1;
}
