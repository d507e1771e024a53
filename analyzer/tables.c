/* tables.c - the analyzer's tables: stages (run in this order), renderers
 * and exporters (looked up by name).  A new stage, renderer or exporter is
 * a file and a row here. */
#include <string.h>
#include "ana.h"

extern const struct ana_stage ana_stage_timeline, ana_stage_energy, ana_stage_layers, ana_stage_aggregate;
extern const struct ana_stage ana_stage_more;
extern const struct ana_stage ana_stage_gpu;
extern const struct ana_stage ana_stage_ranks;

const struct ana_stage *const ana_stages[] = {
    &ana_stage_timeline,          /* clock fit, samples in ns, spans */
    &ana_stage_energy,            /* energy curves of the run, idle baseline */
    &ana_stage_layers,            /* layer detection (before the calls stream by) */
    &ana_stage_aggregate,         /* ops, shapes, regions, layers rows; reconcile */
    &ana_stage_ranks,             /* a job's ranks: communication, waiting, nodes (ranks.c) */
    &ana_stage_gpu,               /* CUDA/cuBLAS ops, kernels, GPU energy, layers' GPU columns (kernels.c) */
    &ana_stage_more,              /* headline, steady state, threads, power bins, roofline (report_more.c) */
    NULL
};

const struct ana_renderer *const ana_renderers[] = {
    &ana_render_text,
    &ana_render_json,
    &ana_render_csv,
    &ana_render_html,
    NULL
};

const struct ana_exporter *const ana_exporters[] = {
    &ana_export_perfetto,         /* Chrome/Perfetto trace-event JSON (export_perfetto.c) */
    NULL
};

const struct ana_renderer *ana_renderer_find(const char *name)
{
    for (size_t i = 0; ana_renderers[i]; i++)
        if (strcmp(ana_renderers[i]->name, name) == 0)
            return ana_renderers[i];
    return NULL;
}

const struct ana_exporter *ana_exporter_find(const char *name)
{
    for (size_t i = 0; ana_exporters[i]; i++)
        if (strcmp(ana_exporters[i]->name, name) == 0)
            return ana_exporters[i];
    return NULL;
}
