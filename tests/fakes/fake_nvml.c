/* fake_nvml.c - a scripted stand-in for libnvidia-ml.so.1 (built as
 * build/fakes/nvml/libnvidia-ml.so.1; found through LD_LIBRARY_PATH alone).
 *
 * It serves one GPU whose power follows a script, and an energy counter
 * that integrates it but, like the real one, only moves every quantum
 * (10 ms by default).  Script (FAKE_NVML_SCRIPT, one directive a line):
 *     idle W                 power when no segment is active (default 60)
 *     quantum_ms Q           counter update period (default 10)
 *     counter 0|1            0: no energy counter, power readings only
 *     instant 0|1            1: nvmlDeviceGetFieldValues answers
 *                            NVML_FI_DEV_POWER_INSTANT (default 0: the
 *                            field's nvmlReturn is NOT_SUPPORTED, as on
 *                            drivers without it)
 *     instant_ms U           the instant field's update period: it holds the
 *                            power at the last multiple of U (default 20)
 *     average_ms A           nvmlDeviceGetPowerUsage is the mean power over
 *                            the last A ms (Ampere and later: 1000); default
 *                            0, the power at the moment of the read
 *     seg START_MS END_MS W  a segment at W watts; overlapping segments add
 *                            their excess over idle
 *     stall START_MS END_MS  a reading asked for in [START, END) returns at END
 *                            (the reader held up, as a loaded machine does)
 *     stall_others START_MS END_MS  the same for threads other than the one
 *                            that called nvmlInit (a sampling thread that a
 *                            loaded machine runs late; START may be < 0)
 * Times are ms after FAKE_NVML_T0_NS (CLOCK_MONOTONIC ns; default: the
 * moment of nvmlInit).  The counter starts at 123456789 mJ.
 *
 * Several GPUs: FAKE_NVML_DEVICES=N (default 1, at most 8).  Device k sits
 * at PCI bus id 0000:0(k+1):00.0 (so a fake CUDA driver can name it), has
 * UUID GPU-fa4e0000-0000-4000-8000-00000000000k and follows its own script,
 * FAKE_NVML_SCRIPT_k (device 0: FAKE_NVML_SCRIPT_0, else FAKE_NVML_SCRIPT;
 * none: idle at 60 W).  nvmlDeviceGetPciInfo_v3,
 * nvmlDeviceGetHandleByPciBusId_v2 and nvmlDeviceGetIndex answer for them. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define MAXSEG 1024
#define MAXDEV 8
struct fdev {
    double idle_w, quantum_ms, instant_ms, average_ms;
    int has_counter, has_instant;
    struct { double a, b, w; } seg[MAXSEG];
    int nseg;
    struct { double a, b; int others; } stall[16];
    int nstall;
};
static struct fdev devs[MAXDEV];
static unsigned ndevs = 1;
static double t0_ns;
static int inited;
static pid_t init_tid;                  /* the thread that called nvmlInit */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* power of device d at t ms */
static double power_at(const struct fdev *d, double t)
{
    double p = d->idle_w;
    for (int i = 0; i < d->nseg; i++)
        if (t >= d->seg[i].a && t < d->seg[i].b)
            p += d->seg[i].w - d->idle_w;
    return p;
}

/* energy in J from 0 to t ms, exact for the piecewise-constant script
 * (negative before 0: the device idles before the script too) */
static double energy_to(const struct fdev *d, double t)
{
    if (t <= 0)
        return d->idle_w * t * 1e-3;
    double e = d->idle_w * t * 1e-3;
    for (int i = 0; i < d->nseg; i++) {
        double a = d->seg[i].a, b = d->seg[i].b < t ? d->seg[i].b : t;
        if (b > a)
            e += (d->seg[i].w - d->idle_w) * (b - a) * 1e-3;
    }
    return e;
}

static void load_script(struct fdev *d, const char *path)
{
    d->idle_w = 60;
    d->quantum_ms = 10;
    d->has_counter = 1;
    d->has_instant = 0;
    d->instant_ms = 20;
    d->average_ms = 0;
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        double a, b, w;
        if (sscanf(line, "idle %lf", &a) == 1) d->idle_w = a;
        else if (sscanf(line, "quantum_ms %lf", &a) == 1) d->quantum_ms = a;
        else if (sscanf(line, "counter %lf", &a) == 1) d->has_counter = a != 0;
        else if (sscanf(line, "instant_ms %lf", &a) == 1 && a > 0) d->instant_ms = a;
        else if (sscanf(line, "instant %lf", &a) == 1) d->has_instant = a != 0;
        else if (sscanf(line, "average_ms %lf", &a) == 1 && a >= 0) d->average_ms = a;
        else if (sscanf(line, "stall %lf %lf", &a, &b) == 2 && d->nstall < 16) {
            d->stall[d->nstall].a = a; d->stall[d->nstall].b = b; d->stall[d->nstall++].others = 0;
        }
        else if (sscanf(line, "stall_others %lf %lf", &a, &b) == 2 && d->nstall < 16) {
            d->stall[d->nstall].a = a; d->stall[d->nstall].b = b; d->stall[d->nstall++].others = 1;
        }
        else if (sscanf(line, "seg %lf %lf %lf", &a, &b, &w) == 3 && d->nseg < MAXSEG) {
            d->seg[d->nseg].a = a; d->seg[d->nseg].b = b; d->seg[d->nseg].w = w; d->nseg++;
        }
    }
    fclose(f);
}

static void load_scripts(void)
{
    const char *t0 = getenv("FAKE_NVML_T0_NS");
    t0_ns = t0 && *t0 ? atof(t0) : now_ns();
    const char *n = getenv("FAKE_NVML_DEVICES");
    if (n && atoi(n) >= 1)
        ndevs = atoi(n) > MAXDEV ? MAXDEV : (unsigned)atoi(n);
    for (unsigned k = 0; k < ndevs; k++) {
        char var[32];
        snprintf(var, sizeof var, "FAKE_NVML_SCRIPT_%u", k);
        const char *path = getenv(var);
        if (k == 0 && !path)
            path = getenv("FAKE_NVML_SCRIPT");
        load_script(&devs[k], path);
    }
}

typedef int nvmlReturn_t;
typedef void *nvmlDevice_t;
enum { OK = 0, ERR_UNINIT = 1, ERR_INVALID = 2, ERR_NOT_SUPPORTED = 3, ERR_NOT_FOUND = 6, ERR_INSUFFICIENT = 7 };
#define DEV(d) ((struct fdev *)(d))
static unsigned index_of(nvmlDevice_t d) { return (unsigned)(DEV(d) - devs); }

nvmlReturn_t nvmlInit_v2(void)
{
    if (!inited) {
        load_scripts();
        init_tid = (pid_t)syscall(SYS_gettid);
    }
    inited = 1;
    return OK;
}
nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }
nvmlReturn_t nvmlShutdown(void) { return OK; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *n) { if (!inited) return ERR_UNINIT; *n = ndevs; return OK; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d)
{
    if (!inited) return ERR_UNINIT;
    if (i >= ndevs) return ERR_INVALID;
    *d = &devs[i];
    return OK;
}
nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t d, unsigned *i)
{
    if (!inited) return ERR_UNINIT;
    *i = index_of(d);
    return OK;
}
/* "0000:02:00.0" or NVML's own "00000000:02:00.0": device k is on bus k+1 */
nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *id, nvmlDevice_t *d)
{
    unsigned dom, bus, dev, fn;
    if (!inited) return ERR_UNINIT;
    if (!id || sscanf(id, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4) return ERR_INVALID;
    if (dom != 0 || dev != 0 || fn != 0 || bus < 1 || bus > ndevs) return ERR_NOT_FOUND;
    *d = &devs[bus - 1];
    return OK;
}
typedef struct {
    char busIdLegacy[16];
    unsigned domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p)
{
    if (!inited) return ERR_UNINIT;
    memset(p, 0, sizeof *p);
    p->domain = 0;
    p->bus = index_of(d) + 1;
    p->device = 0;
    p->pciDeviceId = 0x233510de;        /* H200 */
    snprintf(p->busIdLegacy, sizeof p->busIdLegacy, "0000:%02x:00.0", p->bus);
    snprintf(p->busId, sizeof p->busId, "00000000:%02x:00.0", p->bus);
    return OK;
}
static nvmlReturn_t copy(char *dst, unsigned len, const char *s)
{
    if (strlen(s) + 1 > len) return ERR_INSUFFICIENT;
    memcpy(dst, s, strlen(s) + 1);
    return OK;
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *n, unsigned len)
{
    return copy(n, len, "NVIDIA H200 (greenshim fake NVML)");
}
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *u, unsigned len)
{
    char uuid[64];
    snprintf(uuid, sizeof uuid, "GPU-fa4e0000-0000-4000-8000-%012u", index_of(d));
    return copy(u, len, uuid);
}
/* script ms now, after any stall the script holds the reader in */
static double read_ms(const struct fdev *d)
{
    double t = (now_ns() - t0_ns) * 1e-6;
    for (int i = 0; i < d->nstall; i++)
        if (t >= d->stall[i].a && t < d->stall[i].b &&
            (!d->stall[i].others || (pid_t)syscall(SYS_gettid) != init_tid)) {
            double until = t0_ns + d->stall[i].b * 1e6;
            struct timespec ts = { (time_t)(until / 1e9), (long)fmod(until, 1e9) };
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
                ;
            t = (now_ns() - t0_ns) * 1e-6;
        }
    return t;
}
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj)
{
    if (!DEV(d)->has_counter) return ERR_NOT_SUPPORTED;
    double t = read_ms(DEV(d));
    double tq = floor(t / DEV(d)->quantum_ms) * DEV(d)->quantum_ms;
    *mj = 123456789ull + (unsigned long long)llround(energy_to(DEV(d), tq) * 1e3);
    return OK;
}
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned *mw)
{
    double t = read_ms(DEV(d)), a = DEV(d)->average_ms;
    double w = a > 0 ? (energy_to(DEV(d), t) - energy_to(DEV(d), t - a)) / (a * 1e-3) : power_at(DEV(d), t);
    *mw = (unsigned)llround(w * 1e3);
    return OK;
}
/* nvmlFieldValue_t as nvml.h lays it out (40 bytes) */
typedef struct {
    unsigned int fieldId, scopeId;
    long long timestamp, latencyUsec;
    int valueType;                      /* nvmlValueType_t: 1 unsigned int */
    nvmlReturn_t nvmlReturn;
    union { double dVal; unsigned int uiVal; unsigned long ulVal; unsigned long long ullVal; long long sllVal; } value;
} nvmlFieldValue_t;
_Static_assert(sizeof(nvmlFieldValue_t) == 40, "nvmlFieldValue_t layout");
/* field 186 (NVML_FI_DEV_POWER_INSTANT) where the script has "instant 1",
 * held at the last multiple of instant_ms; every other field NOT_SUPPORTED */
nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int n, nvmlFieldValue_t *v)
{
    if (!inited) return ERR_UNINIT;
    if (n < 0 || (n && !v)) return ERR_INVALID;
    for (int i = 0; i < n; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v[i].timestamp = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        v[i].latencyUsec = 0;
        if (v[i].fieldId != 186 || !DEV(d)->has_instant) {
            v[i].nvmlReturn = ERR_NOT_SUPPORTED;
            continue;
        }
        double t = read_ms(DEV(d)), u = DEV(d)->instant_ms;
        v[i].valueType = 1;
        v[i].value.uiVal = (unsigned)llround(power_at(DEV(d), floor(t / u) * u) * 1e3);
        v[i].nvmlReturn = OK;
    }
    return OK;
}
nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned *mhz)
{
    *mhz = type == 2 ? 3201 : 1980;
    return OK;
}
nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t d, int type, unsigned *mhz)
{
    *mhz = type == 2 ? 3201 : 1980;
    return OK;
}
nvmlReturn_t nvmlDeviceGetSupportedMemoryClocks(nvmlDevice_t d, unsigned *n, unsigned *clocks)
{
    if (*n < 1) { *n = 1; return ERR_INSUFFICIENT; }
    *n = 1;
    clocks[0] = 3201;
    return OK;
}
nvmlReturn_t nvmlDeviceGetSupportedGraphicsClocks(nvmlDevice_t d, unsigned mem, unsigned *n, unsigned *clocks)
{
    unsigned want = (1980 - 345) / 15 + 1;
    if (*n < want) { *n = want; return ERR_INSUFFICIENT; }
    for (unsigned i = 0; i < want; i++)
        clocks[i] = 1980 - 15 * i;
    *n = want;
    return OK;
}
nvmlReturn_t nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t d, unsigned *lo, unsigned *hi)
{
    *lo = 200000; *hi = 700000;
    return OK;
}
nvmlReturn_t nvmlDeviceGetPowerManagementDefaultLimit(nvmlDevice_t d, unsigned *mw) { *mw = 700000; return OK; }
nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned *mw) { *mw = 700000; return OK; }
