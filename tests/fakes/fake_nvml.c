/* fake_nvml.c - a scripted stand-in for libnvidia-ml.so.1 (built as
 * build/fakes/nvml/libnvidia-ml.so.1; found through LD_LIBRARY_PATH alone).
 *
 * It serves one GPU whose power follows a script, and an energy counter
 * that integrates it but, like the real one, only moves every quantum
 * (10 ms by default).  Script (FAKE_NVML_SCRIPT, one directive a line):
 *     idle W                 power when no segment is active (default 60)
 *     quantum_ms Q           counter update period (default 10)
 *     counter 0|1            0: no energy counter, power readings only
 *     seg START_MS END_MS W  a segment at W watts; overlapping segments add
 *                            their excess over idle
 * Times are ms after FAKE_NVML_T0_NS (CLOCK_MONOTONIC ns; default: the
 * moment of nvmlInit).  The counter starts at 123456789 mJ. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXSEG 1024
static double idle_w = 60, quantum_ms = 10;
static int has_counter = 1;
static struct { double a, b, w; } seg[MAXSEG];
static int nseg;
static double t0_ns;
static int inited;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* power at t ms */
static double power_at(double t)
{
    double p = idle_w;
    for (int i = 0; i < nseg; i++)
        if (t >= seg[i].a && t < seg[i].b)
            p += seg[i].w - idle_w;
    return p;
}

/* energy in J from 0 to t ms, exact for the piecewise-constant script */
static double energy_to(double t)
{
    if (t <= 0)
        return 0;
    double e = idle_w * t * 1e-3;
    for (int i = 0; i < nseg; i++) {
        double a = seg[i].a, b = seg[i].b < t ? seg[i].b : t;
        if (b > a)
            e += (seg[i].w - idle_w) * (b - a) * 1e-3;
    }
    return e;
}

static void load_script(void)
{
    const char *t0 = getenv("FAKE_NVML_T0_NS");
    t0_ns = t0 && *t0 ? atof(t0) : now_ns();
    const char *path = getenv("FAKE_NVML_SCRIPT");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        double a, b, w;
        if (sscanf(line, "idle %lf", &a) == 1) idle_w = a;
        else if (sscanf(line, "quantum_ms %lf", &a) == 1) quantum_ms = a;
        else if (sscanf(line, "counter %lf", &a) == 1) has_counter = a != 0;
        else if (sscanf(line, "seg %lf %lf %lf", &a, &b, &w) == 3 && nseg < MAXSEG) {
            seg[nseg].a = a; seg[nseg].b = b; seg[nseg].w = w; nseg++;
        }
    }
    fclose(f);
}

typedef int nvmlReturn_t;
typedef void *nvmlDevice_t;
enum { OK = 0, ERR_UNINIT = 1, ERR_INVALID = 2, ERR_NOT_SUPPORTED = 3, ERR_INSUFFICIENT = 7 };
static int the_device;

nvmlReturn_t nvmlInit_v2(void) { if (!inited) load_script(); inited = 1; return OK; }
nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }
nvmlReturn_t nvmlShutdown(void) { return OK; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *n) { if (!inited) return ERR_UNINIT; *n = 1; return OK; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d)
{
    if (!inited) return ERR_UNINIT;
    if (i != 0) return ERR_INVALID;
    *d = &the_device;
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
    return copy(u, len, "GPU-fa4e0000-0000-4000-8000-000000000000");
}
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj)
{
    if (!has_counter) return ERR_NOT_SUPPORTED;
    double t = (now_ns() - t0_ns) * 1e-6;
    double tq = floor(t / quantum_ms) * quantum_ms;
    *mj = 123456789ull + (unsigned long long)llround(energy_to(tq) * 1e3);
    return OK;
}
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned *mw)
{
    *mw = (unsigned)llround(power_at((now_ns() - t0_ns) * 1e-6) * 1e3);
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
