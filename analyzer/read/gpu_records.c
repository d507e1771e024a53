/* gpu_records.c - the reader's half of the GPU records (types 16-27):
 * their names, decoding them into the process's struct ana_gpu
 * (read/gpu_records.h), freeing them, and the dump verb's lines.  The GPU
 * stage that turns them into rows is stages/kernels.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "read/gpu_records.h"

#define GROW(arr, n, cap)                                                    \
    do {                                                                     \
        if ((n) == (cap)) {                                                  \
            (cap) = (cap) ? (cap) * 2 : 64;                                  \
            void *np_ = realloc((arr), (cap) * sizeof *(arr));               \
            if (!np_) { fprintf(stderr, "greenshim-analyze: out of memory\n"); exit(3); } \
            (arr) = np_;                                                     \
        }                                                                    \
    } while (0)

/* ---- names ---- */

static const char *const api_names[GS_API_COUNT] = {
#define N(x) [GS_API_##x] = #x
    N(cudaLaunchKernel), N(cudaLaunchKernel_ptsz), N(cudaLaunchKernelExC), N(cudaLaunchKernelExC_ptsz),
    N(cudaLaunchCooperativeKernel), N(cudaLaunchCooperativeKernel_ptsz), N(__cudaLaunchKernel),
    N(__cudaLaunchKernel_ptsz), N(__cudaGetKernel), N(cuLaunchKernel), N(cuLaunchKernelEx),
    N(cudaGraphLaunch), N(cudaGraphLaunch_ptsz), N(cudaMemcpy), N(cudaMemcpy_ptds), N(cudaMemcpyAsync),
    N(cudaMemcpyAsync_ptsz), N(cudaMemset), N(cudaMemset_ptds), N(cudaMemsetAsync), N(cudaMemsetAsync_ptsz),
    N(cudaDeviceSynchronize), N(cudaStreamSynchronize), N(cudaStreamSynchronize_ptsz),
    N(cudaEventSynchronize), N(cuCtxSynchronize), N(cuStreamSynchronize), N(cuStreamSynchronize_ptsz),
    N(cuLaunchKernel_ptsz), N(cuLaunchKernelEx_ptsz),
#undef N
};

const char *ana_gpu_api_name(unsigned fn)
{
    return fn < GS_API_COUNT && api_names[fn] ? api_names[fn] : "cuda?";
}

const char *ana_gpu_api_kind(unsigned fn)
{
    const char *n = ana_gpu_api_name(fn);
    return n[0] == 'c' && n[1] == 'u' && n[2] != 'd' ? "cu" : "cuda";
}

/* "cublasSgemm_v2", "cublasSgemm_v2_64", "cublasLtMatmul" */
void ana_gpu_cublas_name(unsigned routine, unsigned flags, char *buf, size_t len)
{
    static const char *const base[GS_CB_COUNT] = {
        [GS_CB_Sgemm] = "cublasSgemm_v2", [GS_CB_Dgemm] = "cublasDgemm_v2", [GS_CB_Hgemm] = "cublasHgemm",
        [GS_CB_GemmEx] = "cublasGemmEx", [GS_CB_SgemmStridedBatched] = "cublasSgemmStridedBatched",
        [GS_CB_DgemmStridedBatched] = "cublasDgemmStridedBatched",
        [GS_CB_HgemmStridedBatched] = "cublasHgemmStridedBatched",
        [GS_CB_GemmStridedBatchedEx] = "cublasGemmStridedBatchedEx", [GS_CB_GemmBatchedEx] = "cublasGemmBatchedEx",
        [GS_CB_LtMatmul] = "cublasLtMatmul",
    };
    const char *b = routine < GS_CB_COUNT && base[routine] ? base[routine] : "cublas?";
    snprintf(buf, len, "%s%s", b, flags & GS_CB_F_64 ? "_64" : "");
}

/* ---- reading ---- */

static struct ana_gpu *gpu_of(struct ana_proc *p)
{
    if (!p->gpu && !(p->gpu = calloc(1, sizeof *p->gpu))) {
        fprintf(stderr, "greenshim-analyze: out of memory\n");
        exit(3);
    }
    return p->gpu;
}

/* One GPU record at rec with 'avail' slots left in the chunk.  Returns the
 * slots it takes, 0 when it is damaged (nslots 0 or past the chunk). */
size_t ana_gpu_read(struct ana_proc *p, uint32_t thread, const uint8_t *rec_in, size_t avail)
{
    size_t ns = rec_in[1];
    if (ns == 0 || ns > avail)
        return 0;
    /* chunks need not be aligned (damaged files): decode from a copy */
    uint64_t slot[2 * GS_REC_SIZE / 8];
    memcpy(slot, rec_in, (ns < 2 ? ns : 2) * GS_REC_SIZE);
    const uint8_t *rec = (const uint8_t *)slot;
    struct ana_gpu *g;
    switch (rec[0]) {
    case GS_REC_API: {
        const struct gs_rec_api *a = (const void *)rec;
        g = gpu_of(p);
        GROW(g->api, g->napi, g->capapi);
        uint64_t dt = a->flags & GS_API_F_DT_SHIFT ? (uint64_t)a->dt << 16 : a->dt;
        g->api[g->napi++] = (struct g_api){ a->t0, a->t0 + dt, a->corr, a->kernel, a->region, thread,
                                             a->ret, a->fn };
        break;
    }
    case GS_REC_CUBLAS: {
        if (ns < 2) break;              /* too short for this kind: skipped */
        const struct gs_rec_cublas *c = (const void *)rec;
        g = gpu_of(p);
        GROW(g->cb, g->ncb, g->capcb);
        g->cb[g->ncb++] = (struct g_cublas){ c->t0, c->t1 < c->t0 ? c->t0 : c->t1, c->m, c->n, c->k,
                                              c->batch ? c->batch : 1, c->ext, c->region, c->status,
                                              c->routine, c->flags, c->transa, c->transb, -1, -1, 0, 0 };
        break;
    }
    case GS_REC_KERNEL: {
        if (ns < 2) break;              /* too short for this kind: skipped */
        const struct gs_rec_kernel *k = (const void *)rec;
        g = gpu_of(p);
        GROW(g->k, g->nk, g->capk);
        g->k[g->nk++] = (struct g_kernel){ k->start, k->end < k->start ? k->start : k->end, k->name,
                                            k->corr, k->stream, k->device };
        break;
    }
    case GS_REC_MEMCPY: {
        const struct gs_rec_memcpy *m = (const void *)rec;
        g = gpu_of(p);
        GROW(g->mc, g->nmc, g->capmc);
        g->mc[g->nmc++] = (struct g_memcpy){ m->start, m->end < m->start ? m->start : m->end, m->bytes,
                                              m->corr, m->device, m->kind };
        break;
    }
    case GS_REC_NVML: {
        const struct gs_rec_nvml *s = (const void *)rec;
        g = gpu_of(p);
        GROW(g->nv, g->nnv, g->capnv);
        uint64_t t = s->t_read > s->t ? s->t + (s->t_read - s->t) / 2 : s->t;
        g->nv[g->nnv++] = (struct g_nvml){ t, s->energy_mj, s->power_mw, s->device, s->t,
                                           s->t_read > s->t ? s->t_read : s->t };
        break;
    }
    case GS_REC_GPU_INFO: {
        if (ns < 2) break;              /* too short for this kind: skipped */
        const struct gs_rec_gpu_info *i = (const void *)rec;
        g = gpu_of(p);
        GROW(g->info, g->ninfo, g->capinfo);
        g->info[g->ninfo++] = (struct g_info){ i->device, i->name, i->uuid, i->energy, i->power_limit_mw,
                                                i->power_min_mw, i->power_max_mw, i->power_default_mw,
                                                i->sm_max_mhz, i->mem_max_mhz, i->power_src };
        break;
    }
    case GS_REC_EXTCORR: {
        const struct gs_rec_extcorr *e = (const void *)rec;
        g = gpu_of(p);
        GROW(g->ext, g->next, g->capext);
        g->ext[g->next++] = (struct g_ext){ e->ext, e->corr };
        break;
    }
    case GS_REC_GPU_LOST: {
        const struct gs_rec_gpu_lost *l = (const void *)rec;
        gpu_of(p)->dropped += l->dropped;
        break;
    }
    case GS_REC_GPU_DEV: {
        const struct gs_rec_gpu_dev *d = (const void *)rec;
        g = gpu_of(p);
        for (size_t i = 0; i < g->ndev; i++)
            if (g->dev[i].ordinal == d->cuda_ordinal)
                return ns;              /* one per ordinal: the first counts */
        GROW(g->dev, g->ndev, g->capdev);
        g->dev[g->ndev++] = (struct g_dev){ d->cuda_ordinal, d->nvml_index };
        break;
    }
    default:
        break;                          /* NVTX marks, clocks, newer kinds: skipped by size */
    }
    return ns;
}

void ana_gpu_free(struct ana_proc *p)
{
    struct ana_gpu *g = p->gpu;
    if (!g)
        return;
    free(g->api); free(g->cb); free(g->k); free(g->mc); free(g->nv); free(g->info); free(g->ext);
    free(g->dev);
    free(g);
    p->gpu = NULL;
}

/* dump: one line per GPU record; 0 when rec is not one */
int ana_gpu_dump(const struct ana_proc *p, const uint8_t *rec_in)
{
    char nm[64];
    /* the reader checked that the record's nslots fit in its chunk; a
     * version-1 file has one slot per record whatever byte 1 says (the
     * reader reads it so: the fuzzer found the overread) */
    size_t ns = p->hdr.version >= 2 && rec_in[0] >= 16 && rec_in[1] ? rec_in[1] : 1;
    uint64_t slot[255 * GS_REC_SIZE / 8];
    if (ns == 1)
        memset(slot, 0, 8 * GS_REC_SIZE);         /* fields past the one slot read as 0 */
    memcpy(slot, rec_in, ns * GS_REC_SIZE);
    const uint8_t *rec = (const uint8_t *)slot;
    switch (rec[0]) {
    case GS_REC_API: {
        const struct gs_rec_api *a = (const void *)rec;
        uint64_t dt = a->flags & GS_API_F_DT_SHIFT ? (uint64_t)a->dt << 16 : a->dt;
        int launch = a->block != 0 || a->u.g.grid_x != 0;
        int mem = a->fn >= GS_API_cudaMemcpy && a->fn <= GS_API_cudaMemsetAsync_ptsz;
        const char *kn = launch && a->kernel ? ana_string(p, a->kernel) : NULL;
        printf("API fn=%s ret=%d corr=%u", ana_gpu_api_name(a->fn), a->ret, a->corr);
        if (launch)
            printf(" grid=%ux%ux%u block=%ux%ux%u kernel=%s", a->u.g.grid_x, a->u.g.grid_y, a->grid_z,
                   GS_API_BLOCK_X(a->block), GS_API_BLOCK_Y(a->block), GS_API_BLOCK_Z(a->block), kn ? kn : "-");
        if (mem)
            printf(" bytes=%llu kind=%u", (unsigned long long)a->u.bytes, a->kernel);
        printf(" stream=0x%x region=%u t0=%llu t1=%llu\n", a->stream, a->region, (unsigned long long)a->t0,
               (unsigned long long)(a->t0 + dt));
        return 1;
    }
    case GS_REC_CUBLAS: {
        const struct gs_rec_cublas *c = (const void *)rec;
        static const char tr[] = "NTC?";
        ana_gpu_cublas_name(c->routine, c->flags, nm, sizeof nm);
        printf("CUBLAS fn=%s status=%d tr=%c%c m=%llu n=%llu k=%llu batch=%llu atype=%d ctype=%d compute=%d "
               "ext=%u region=%u t0=%llu t1=%llu\n", nm, c->status, tr[c->transa & 3], tr[c->transb & 3],
               (unsigned long long)c->m, (unsigned long long)c->n, (unsigned long long)c->k,
               (unsigned long long)c->batch, c->atype, c->ctype, c->compute, c->ext, c->region,
               (unsigned long long)c->t0, (unsigned long long)c->t1);
        return 1;
    }
    case GS_REC_KERNEL: {
        const struct gs_rec_kernel *k = (const void *)rec;
        const char *kn = ana_string(p, k->name);
        printf("KERNEL name=%s device=%u stream=%u corr=%u grid=%ux%ux%u block=%ux%ux%u start=%llu end=%llu\n",
               kn ? kn : "-", k->device, k->stream, k->corr, k->grid_x, k->grid_y, k->grid_z, k->block_x,
               k->block_y, k->block_z, (unsigned long long)k->start, (unsigned long long)k->end);
        return 1;
    }
    case GS_REC_MEMCPY: {
        const struct gs_rec_memcpy *m = (const void *)rec;
        printf("MEMCPY device=%u kind=%u bytes=%llu corr=%u start=%llu end=%llu\n", m->device, m->kind,
               (unsigned long long)m->bytes, m->corr, (unsigned long long)m->start, (unsigned long long)m->end);
        return 1;
    }
    case GS_REC_NVTX_MARK: {
        const struct gs_rec_nvtx_mark *m = (const void *)rec;
        const char *tx = ana_string(p, m->text);
        printf("NVTX_MARK text=%s region=%u t=%llu\n", tx ? tx : "-", m->region, (unsigned long long)m->t);
        return 1;
    }
    case GS_REC_GPU_INFO: {
        const struct gs_rec_gpu_info *i = (const void *)rec;
        const char *n = ana_string(p, i->name), *u = ana_string(p, i->uuid);
        printf("GPU_INFO device=%u name=\"%s\" uuid=%s energy=%s power_limit_mw=%u range_mw=%u..%u "
               "default_mw=%u sm_max_mhz=%u mem_max_mhz=%u sm_mhz=%u mem_mhz=%u", i->device, n ? n : "-",
               u ? u : "-", i->energy == GS_GPU_E_COUNTER ? "counter" : i->energy == GS_GPU_E_POWER ? "power" : "none",
               i->power_limit_mw, i->power_min_mw, i->power_max_mw, i->power_default_mw, i->sm_max_mhz,
               i->mem_max_mhz, i->sm_mhz, i->mem_mhz);
        if (i->pci_bus)                 /* older traces: the line as it was */
            printf(" pci=%04x:%02x:%02x", i->pci_bus >> 16, (i->pci_bus >> 8) & 0xff, i->pci_bus & 0xff);
        if (i->power_src)
            printf(" power_src=%s", i->power_src == GS_GPU_P_INSTANT ? "instant" :
                                    i->power_src == GS_GPU_P_AVERAGE ? "average" : "?");
        putchar('\n');
        return 1;
    }
    case GS_REC_NVML: {
        const struct gs_rec_nvml *s = (const void *)rec;
        printf("NVML device=%u energy_mj=%llu power_mw=%u sm_mhz=%u mem_mhz=%u t=%llu t_read=%llu\n", s->device,
               (unsigned long long)s->energy_mj, s->power_mw, s->sm_mhz, s->mem_mhz, (unsigned long long)s->t,
               (unsigned long long)s->t_read);
        return 1;
    }
    case GS_REC_EXTCORR: {
        const struct gs_rec_extcorr *e = (const void *)rec;
        printf("EXTCORR kind=%u ext=%llu corr=%u\n", e->ext_kind, (unsigned long long)e->ext, e->corr);
        return 1;
    }
    case GS_REC_GPU_CLOCKS: {
        const struct gs_rec_gpu_clocks *c = (const void *)rec;
        const uint16_t *v = (const uint16_t *)(rec + GS_REC_SIZE);
        printf("GPU_CLOCKS device=%u mem_mhz=%u n=%u sm_mhz=%u..%u\n", c->device, c->mem_mhz, c->nvals,
               c->nvals && (ns - 1) * GS_REC_SIZE >= (size_t)c->nvals * 2 ? v[c->nvals - 1] : 0,
               c->nvals && (ns - 1) * GS_REC_SIZE >= (size_t)c->nvals * 2 ? v[0] : 0);
        return 1;
    }
    case GS_REC_GPU_DEV: {
        const struct gs_rec_gpu_dev *d = (const void *)rec;
        const char *b = d->busid ? ana_string(p, d->busid) : NULL;
        printf("GPU_DEV cuda_ordinal=%u nvml_index=", d->cuda_ordinal);
        if (d->nvml_index == GS_GPU_DEV_NONE)
            printf("none");
        else
            printf("%u", d->nvml_index);
        printf(" pci=%04x:%02x:%02x busid=%s\n", d->pci >> 16, (d->pci >> 8) & 0xff, d->pci & 0xff, b ? b : "-");
        return 1;
    }
    case GS_REC_GPU_LOST: {
        const struct gs_rec_gpu_lost *l = (const void *)rec;
        printf("GPU_LOST dropped=%llu t=%llu\n", (unsigned long long)l->dropped, (unsigned long long)l->t);
        return 1;
    }
    default:
        return 0;
    }
}
