/* rows.c - the rows the stages share: a region row per region id of a
 * process, a layer row per layer name (found by hash, in first-seen order),
 * the report's side tables by name (ana_report_ext), and the event stream's
 * delivery to the stages' handlers and the verbs' sinks (ana_emit).  The
 * stages (attribute, layers, kernels, ranks) call these; report/report.c
 * assembles and frees what they fill. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"
#include "stages/rows.h"

/* rows grow by doubling (capacity: the power of two >= n), so adding
 * n rows costs O(n) copies, not O(n^2) */
void *ana_row_grow(void *rows, size_t n, size_t size)
{
    if (n && (n & (n - 1)))
        return rows;                    /* room left below the next power of two */
    return ana_xrealloc(rows, n ? 2 * n : 8, size);
}

const struct ana_first ana_first_none = { UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT64_MAX };

static int region_row_named(struct ana_report *r, const char *name, const struct ana_first *at)
{
    int i = ana_names_find(&r->region_names, name);
    if (i < 0) {
        r->regions = ana_row_grow(r->regions, r->nregions, sizeof *r->regions);
        memset(&r->regions[r->nregions], 0, sizeof r->regions[0]);
        r->regions[r->nregions].name = strdup(name);
        if (!r->regions[r->nregions].name) {
            fputs("greenshim-analyze: out of memory\n", stderr);
            exit(3);
        }
        r->regions[r->nregions].first = ana_first_none;
        i = (int)r->nregions++;
        ana_names_add(&r->region_names, name, (uint32_t)i);
    }
    ana_first_min(&r->regions[i].first, at);
    return i;
}

int ana_region_row(struct ana_report *r, const struct ana_proc *p, uint32_t id, const struct ana_first *at)
{
    uint64_t key = (uint64_t)p->index << 32 | id;
    uint32_t i = ana_map_get(&r->region_ids, key, UINT32_MAX);
    if (i == UINT32_MAX) {
        const char *nm = ana_string(p, id);
        i = (uint32_t)region_row_named(r, nm ? nm : "(unnamed)", at);
        ana_map_put(&r->region_ids, key, i);
    }
    ana_first_min(&r->regions[i].first, at);
    return (int)i;
}

int ana_layer_find(const struct ana_report *r, const char *name)
{
    return ana_names_find(&r->layer_names, name);
}

int ana_layer_add(struct ana_report *r, const char *name, const struct ana_first *at)
{
    int i = ana_names_find(&r->layer_names, name);
    if (i < 0) {
        r->layers = ana_row_grow(r->layers, r->nlayers, sizeof *r->layers);
        memset(&r->layers[r->nlayers], 0, sizeof r->layers[0]);
        snprintf(r->layers[r->nlayers].name, sizeof r->layers[0].name, "%s", name);
        r->layers[r->nlayers].first = ana_first_none;
        i = (int)r->nlayers++;
        ana_names_add(&r->layer_names, r->layers[i].name, (uint32_t)i);
    }
    ana_first_min(&r->layers[i].first, at);
    return i;
}

/* ---- the event stream and side tables ---- */
int ana_sink_add(struct ana_run *run, void (*event)(void *ctx, const struct ana_event *ev), void *ctx)
{
    if (run->nsinks >= (int)(sizeof run->sinks / sizeof run->sinks[0]))
        return -1;
    run->sinks[run->nsinks].event = event;
    run->sinks[run->nsinks++].ctx = ctx;
    return 0;
}

void ana_emit(struct ana_report *r, const struct ana_event *ev)
{
    for (int i = 0; i < r->nevh; i++)
        r->evh[i].event(r, r->evh[i].self, ev);
    for (int i = 0; i < r->run->nsinks; i++)
        r->run->sinks[i].event(r->run->sinks[i].ctx, ev);
}

void ana_report_ext_set(struct ana_report *r, const char *name, void *data, void (*free_fn)(void *))
{
    for (int i = 0; i < r->next; i++)
        if (strcmp(r->ext[i].name, name) == 0) {
            if (r->ext[i].free_fn)
                r->ext[i].free_fn(r->ext[i].data);
            r->ext[i].data = data;
            r->ext[i].free_fn = free_fn;
            r->ext[i].key = name;
            return;
        }
    if (r->next >= (int)(sizeof r->ext / sizeof r->ext[0])) {
        if (free_fn)
            free_fn(data);
        return;
    }
    snprintf(r->ext[r->next].name, sizeof r->ext[0].name, "%s", name);
    r->ext[r->next].key = name;
    r->ext[r->next].data = data;
    r->ext[r->next++].free_fn = free_fn;
}

void *ana_report_ext(const struct ana_report *r, const char *name)
{
    for (int i = 0; i < r->next; i++)   /* per call in the sweep: the same literal first */
        if (r->ext[i].key == name)
            return r->ext[i].data;
    for (int i = 0; i < r->next; i++)
        if (strcmp(r->ext[i].name, name) == 0)
            return r->ext[i].data;
    return NULL;
}

