/* dnnl3_prog.c - executes oneDNN-3-style primitives of the stand-in
 * (dnnl3_standin.c): 3 convolutions forward (prop 64), 2 pooling forward,
 * 1 softmax forward. */
#include <stdint.h>
#include <stdio.h>

struct md3 { int magic; int ndims; int64_t dims[12]; };
struct prim3 { int kind, prop; struct md3 src, wei, dst; };
int dnnl_primitive_execute(const struct prim3 *p, void *stream, int nargs, const void *args);

#define MD(n, ...) { 0x3d3d, n, { __VA_ARGS__ } }
int main(void)
{
    struct prim3 conv = { 5, 64, MD(4, 8, 3, 32, 32), MD(4, 16, 3, 3, 3), MD(4, 8, 16, 30, 30) };
    struct prim3 pool = { 16, 64, MD(4, 8, 16, 30, 30), MD(0, 0), MD(4, 8, 16, 15, 15) };
    struct prim3 soft = { 19, 96, MD(2, 8, 10), MD(0, 0), MD(2, 8, 10) };
    int bad = 0;
    for (int i = 0; i < 3; i++)
        bad |= dnnl_primitive_execute(&conv, NULL, 0, NULL);
    for (int i = 0; i < 2; i++)
        bad |= dnnl_primitive_execute(&pool, NULL, 0, NULL);
    bad |= dnnl_primitive_execute(&soft, NULL, 0, NULL);
    printf("executed, status %d\n", bad);
    return 0;
}
