/* table.c - the renderers and exporters (looked up by name).  A new
 * renderer or exporter is a file and a row here; the stages' table (run in
 * its order) is report/report.c's, which runs them. */
#include <string.h>
#include "ana.h"

const struct ana_renderer *const ana_renderers[] = {
    &ana_render_text,
    &ana_render_json,
    &ana_render_csv,
    &ana_render_html,
    NULL
};

const struct ana_exporter *const ana_exporters[] = {
    &ana_export_perfetto,         /* Chrome/Perfetto trace-event JSON (render/perfetto.c) */
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
