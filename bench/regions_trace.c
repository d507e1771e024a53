/* regions_trace.c - write a synthetic trace with N distinct regions (one
 * push, one call, one pop each, 10 W modelled) for the analyzer's scaling
 * figure:  regions_trace N FILE */
#include <stdio.h>
#include <stdlib.h>
#include "../tests/unit/tracegen.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: regions_trace N FILE\n");
        return 2;
    }
    uint32_t n = (uint32_t)strtoul(argv[1], NULL, 10);
    struct tg g;
    tg_open(&g, argv[2], "host: bench\ndomain.0: name=cpu-model kind=cpu unit=ns source=model "
                         "provenance=modelled sum=1 watts_per_core=10\n");
    tg_thread(&g, 1, GS_STREAM_THREAD);
    char name[64];
    for (uint32_t i = 1; i <= n; i++) {
        snprintf(name, sizeof name, "model/block%u", i);
        tg_string(&g, i, name);
        uint64_t t = (uint64_t)i * 1000;
        tg_region(&g, 1, i, t);
        tg_call(&g, GS_OP(GS_R_GEMM, GS_DT_D), GS_F_ROWMAJOR, t + 100, t + 600, 4, 4, 4, i);
        tg_region(&g, 0, i, t + 800);
    }
    tg_end(&g, (uint64_t)(n + 1) * 1000);
    tg_thread(&g, 2, GS_STREAM_SAMPLER);
    for (int i = 0; i <= 10; i++)
        tg_sample(&g, 0, GS_SAMPLE_CPU_NS, (uint64_t)i * (n + 1) * 100, (uint64_t)i * (n + 1) * 100);
    tg_close(&g);
    return 0;
}
