/* dnnl3_standin.c - a stand-in for oneDNN 3.x's C API, as far as the
 * recorder asks it (tests/e2e/test_dnnl3.sh): dnnl_version() says 3.3.0,
 * memory descriptors are opaque (dims only through dnnl_memory_desc_query),
 * primitive kinds carry 3.x's numbers (5 convolution, 16 pooling, 19
 * softmax: in 2.x 16 is binary and 19 resampling).  A "primitive" is a
 * struct the test program fills; executing it does nothing and succeeds.
 * Built as libdnnl.so.3. */
#include <stdint.h>
#include <string.h>

typedef struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } dnnl_version_t;
struct md3 { int magic; int ndims; int64_t dims[12]; };    /* nothing like 2.x's dnnl_memory_desc_t */
struct prim3 { int kind, prop; struct md3 src, wei, dst; };

static const dnnl_version_t ver = { 3, 3, 0, "stand-in", 1, 0 };
const dnnl_version_t *dnnl_version(void) { return &ver; }

int dnnl_primitive_execute(const struct prim3 *p, void *stream, int nargs, const void *args)
{
    (void)stream; (void)nargs; (void)args;
    return p ? 0 : 2;
}
int dnnl_primitive_destroy(struct prim3 *p) { (void)p; return 0; }
int dnnl_primitive_get_primitive_desc(const struct prim3 *p, const void **pd)
{
    *pd = p;
    return 0;
}
int dnnl_primitive_desc_query(const void *pd, int what, int index, void *result)
{
    const struct prim3 *p = pd;
    (void)index;
    if (what == 2) { *(int *)result = p->kind; return 0; }          /* dnnl_query_primitive_kind */
    if (what == 11) { *(int *)result = p->prop; return 0; }         /* dnnl_query_prop_kind */
    return 3;                                                       /* dnnl_unimplemented */
}
const void *dnnl_primitive_desc_query_md(const void *pd, int what, int index)
{
    const struct prim3 *p = pd;
    (void)index;
    const struct md3 *m = what == 129 || what == 130 ? &p->src : what == 131 || what == 132 ? &p->wei
                        : what == 133 || what == 134 ? &p->dst : NULL;
    return m && m->ndims ? m : NULL;
}
int dnnl_memory_desc_query(const void *md, int what, void *result)
{
    const struct md3 *m = md;
    if (!m || m->magic != 0x3d3d)
        return 2;
    if (what == 256) { *(int *)result = m->ndims; return 0; }
    if (what == 257) { *(const int64_t **)result = m->dims; return 0; }
    return 3;
}
