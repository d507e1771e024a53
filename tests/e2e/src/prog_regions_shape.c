/* prog_regions_shape.c - the same sgemm 96x96x96 in two regions of a C
 * program (GREENSHIM_REGION_PUSH "phaseA" and "phaseB"), plus calls outside
 * every region (sgemm 64x64x64).  Each region is a layer row of its own:
 * the program's names win over the shape.
 *   prog_regions_shape [A B OUT [R]]   calls in phaseA, phaseB, outside (30 50 10);
 *                                      R more regions "step0".. of one call each (0) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include "greenshim.h"

static float a[96 * 96], b[96 * 96], c[96 * 96];

static void sq(int n, int times)
{
    for (int i = 0; i < times; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
}

int main(int argc, char **argv)
{
    int na = argc > 1 ? atoi(argv[1]) : 30, nb = argc > 2 ? atoi(argv[2]) : 50, no = argc > 3 ? atoi(argv[3]) : 10;
    int nr = argc > 4 ? atoi(argv[4]) : 0;
    for (int i = 0; i < 96 * 96; i++) {
        a[i] = (float)(i % 7) * 0.01f;
        b[i] = (float)(i % 5) * 0.02f;
    }
    GREENSHIM_REGION_PUSH("phaseA");
    sq(96, na);
    GREENSHIM_REGION_POP();
    GREENSHIM_REGION_PUSH("phaseB");
    sq(96, nb);
    GREENSHIM_REGION_POP();
    sq(64, no);
    for (int i = 0; i < nr; i++) {
        char name[32];
        snprintf(name, sizeof name, "step%d", i);
        GREENSHIM_REGION_PUSH(name);
        sq(64, 1);
        GREENSHIM_REGION_POP();
    }
    printf("%g\n", (double)c[5]);
    return 0;
}
