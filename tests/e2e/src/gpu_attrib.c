/* gpu_attrib.c - per-kernel energy attribution against a scripted GPU.
 *
 *   gpu_attrib SCRIPT EXPECTED
 *
 * Writes a power script for the fake NVML (tests/fakes/fake_nvml.c; the
 * caller points FAKE_NVML_SCRIPT at SCRIPT and LD_LIBRARY_PATH at it), starts
 * the recorder's GPU side, lives through the script in real time while the
 * recorder samples the fake counter, then hands the recorder the kernels
 * that "ran" - real CUpti_ActivityKernel10 structs - through the same path
 * CUPTI's buffer-complete callback takes (greenshim_cupti_buffer).  EXPECTED
 * gets, per kernel name, the energy the script gives it (overlapping
 * kernels share each instant equally), the idle energy and the total, as
 * "name calls joules" lines.  Run under the shim; exit 2 without it.
 * With GPU_ATTRIB_LIBCUDA set it first dlopen()s that file as the CUDA
 * driver (tests/fakes/fake_cuda.c), as libcudart would before its first
 * call, so the recorder can match CUDA ordinals to NVML indices.
 * GPU_ATTRIB_SCRIPT_EXTRA: more script lines, separated by ',' (the fake's
 * power readings: "instant 1", "average_ms 1000" ...); GPU_ATTRIB_TAIL_MS:
 * idle time to live through after the script (default 0). */
#define _GNU_SOURCE
#include <cupti.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDLE_W 60.0

struct kern { const char *name; double a, b, w; };   /* ms, ms, watts while it runs */
static struct kern ks[128];
static int nk;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* script power at t (the fake's rule: overlapping segments add their excess) */
static double power(double t)
{
    double p = IDLE_W;
    for (int i = 0; i < nk; i++)
        if (t >= ks[i].a && t < ks[i].b)
            p += ks[i].w - IDLE_W;
    return p;
}

static int active(double t)
{
    int n = 0;
    for (int i = 0; i < nk; i++)
        n += t >= ks[i].a && t < ks[i].b;
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gpu_attrib SCRIPT EXPECTED\n");
        return 2;
    }
    long (*feed)(uint8_t *, size_t) = (long (*)(uint8_t *, size_t))dlsym(RTLD_DEFAULT, "greenshim_cupti_buffer");
    if (!feed) {
        fprintf(stderr, "gpu_attrib: run me under libgreenshim.so\n");
        return 2;
    }
    /* the script: one long GEMM, 60 short kernels, two overlapping ones */
    ks[nk++] = (struct kern){ "gemm_big", 100, 400, 300 };
    for (int i = 0; i < 60; i++)
        ks[nk++] = (struct kern){ "relu_small", 450 + 7 * i, 453 + 7 * i, 250 };
    ks[nk++] = (struct kern){ "attn_a", 900, 1000, 280 };
    ks[nk++] = (struct kern){ "attn_b", 950, 1050, 280 };
    const double end_ms = 1250;
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 2;
    fprintf(f, "idle %g\nquantum_ms 10\ncounter %s\n", IDLE_W, getenv("GPU_ATTRIB_POWER_ONLY") ? "0" : "1");
    for (int i = 0; i < nk; i++)
        fprintf(f, "seg %g %g %g\n", ks[i].a, ks[i].b, ks[i].w);
    /* "A B[,A B...]": the NVML reader held up (any thread; or the sampling
     * thread only, as when a loaded machine starts it late) */
    const char *const stalls[2][2] = { { "GPU_ATTRIB_STALL", "stall" }, { "GPU_ATTRIB_STALL_OTHERS", "stall_others" } };
    for (int w = 0; w < 2; w++)
        for (const char *q = getenv(stalls[w][0]); q && *q;) {
            double a, b;
            if (sscanf(q, "%lf %lf", &a, &b) == 2)
                fprintf(f, "%s %g %g\n", stalls[w][1], a, b);
            q = strchr(q, ',');
            if (q) q++;
        }
    for (const char *q = getenv("GPU_ATTRIB_SCRIPT_EXTRA"); q && *q;) {
        const char *c = strchr(q, ',');
        fprintf(f, "%.*s\n", c ? (int)(c - q) : (int)strlen(q), q);
        q = c ? c + 1 : NULL;
    }
    fclose(f);

    /* the script starts 50 ms from now, so that the NVML sampler (started
     * next) covers it; a kernel it misses the start of is estimated */
    double t0 = now_ns() + 50e6;
    char v[64];
    snprintf(v, sizeof v, "%.0f", t0);
    setenv("FAKE_NVML_T0_NS", v, 1);
    const char *cu = getenv("GPU_ATTRIB_LIBCUDA");
    if (cu && *cu && !dlopen(cu, RTLD_NOW | RTLD_GLOBAL)) {
        fprintf(stderr, "gpu_attrib: %s\n", dlerror());
        return 2;
    }
    if (feed(NULL, 0) < 0) {            /* starts NVML, as InitializeInjection would */
        fprintf(stderr, "gpu_attrib: the recorder has no CUPTI\n");
        return 2;
    }
    /* live through the script */
    const char *tail = getenv("GPU_ATTRIB_TAIL_MS");
    double until = t0 + (end_ms + (tail && *tail ? atof(tail) : 0)) * 1e6;
    while (now_ns() < until) {
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }

    /* the kernels, as CUPTI would deliver them */
    size_t sz = sizeof(CUpti_ActivityKernel10);
    uint8_t *buf = aligned_alloc(8, sz * nk);
    memset(buf, 0, sz * nk);
    for (int i = 0; i < nk; i++) {
        CUpti_ActivityKernel10 *k = (void *)(buf + i * sz);
        k->kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
        k->start = (uint64_t)(t0 + ks[i].a * 1e6);
        k->end = (uint64_t)(t0 + ks[i].b * 1e6);
        k->deviceId = 0;
        k->streamId = strcmp(ks[i].name, "attn_b") == 0 ? 14 : 7;
        k->correlationId = 1000 + i;
        k->gridX = 128; k->gridY = 1; k->gridZ = 1;
        k->blockX = 256; k->blockY = 1; k->blockZ = 1;
        k->name = ks[i].name;
    }
    long n = feed(buf, sz * nk);
    free(buf);
    if (n != nk) {
        fprintf(stderr, "gpu_attrib: the recorder took %ld of %d kernel records\n", n, nk);
        return 1;
    }

    /* what the script says each kernel used: integrate at 0.01 ms */
    const char *names[] = { "gemm_big", "relu_small", "attn_a", "attn_b" };
    double e[4] = { 0 }, idle = 0, total = 0;
    int calls[4] = { 0 };
    for (int i = 0; i < nk; i++)
        for (int j = 0; j < 4; j++)
            calls[j] += strcmp(ks[i].name, names[j]) == 0;
    const double dt = 0.01;
    for (double t = 0; t < end_ms; t += dt) {
        double tm = t + dt / 2, p = power(tm), de = p * dt * 1e-3;
        int na = active(tm);
        total += de;
        if (!na) {
            idle += de;
            continue;
        }
        for (int i = 0; i < nk; i++)
            if (tm >= ks[i].a && tm < ks[i].b)
                for (int j = 0; j < 4; j++)
                    if (strcmp(ks[i].name, names[j]) == 0)
                        e[j] += de / na;
    }
    f = fopen(argv[2], "w");
    if (!f)
        return 2;
    for (int j = 0; j < 4; j++)
        fprintf(f, "%s %d %.6f\n", names[j], calls[j], e[j]);
    fprintf(f, "(idle) 0 %.6f\n(total) 0 %.6f\n", idle, total);
    fclose(f);
    return 0;
}
