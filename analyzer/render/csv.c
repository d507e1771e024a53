/* render_csv.c - one table for spreadsheets: the first column says which
 * part of the report a row belongs to. */
#include <string.h>
#include "ana.h"

static void q(FILE *o, const char *s)
{
    fputc('"', o);
    for (; s && *s; s++) {
        if (*s == '"') fputc('"', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

static void render(const struct ana_report *r, FILE *o)
{
    fputs("table,name,api,m,n,k,calls,flops,time_s,energy_j,provenance,transa,transb\n", o);
    static const char *tr[] = { "N", "T", "C", "?" };
    for (size_t i = 0; i < r->nops; i++) {
        const struct ana_op_row *x = &r->ops[i];
        fputs("op,", o); q(o, x->op);
        fprintf(o, ",%s,,,,%llu,%.9g,%.9g,%.9g,%s\n", x->api, (unsigned long long)x->calls, x->flops, x->time_s,
                x->energy_j, r->provenance);
    }
    for (size_t i = 0; i < r->nshapes; i++) {
        const struct ana_shape_row *s = &r->shapes[i];
        fputs("shape,", o); q(o, s->op);
        fprintf(o, ",%s,%u,%u,%u,%llu,%.9g,%.9g,%.9g,%s,%s,%s\n", s->api, s->m, s->n, s->k, (unsigned long long)s->calls,
                s->flops, s->time_s, s->energy_j, r->provenance, tr[s->transa & 3], tr[s->transb & 3]);
    }
    for (size_t i = 0; i < r->nregions; i++) {
        const struct ana_region_row *g = &r->regions[i];
        fputs("region,", o); q(o, g->name);
        fprintf(o, ",,,,,%llu,,%.9g,%.9g,%s\n", (unsigned long long)g->calls, g->time_s, g->energy_j, r->provenance);
    }
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct ana_layer_row *l = &r->layers[i];
        fputs("layer,", o); q(o, l->name);
        /* the api column of a layer: where its name came from */
        fprintf(o, ",%s,,,,%llu,%.9g,%.9g,%.9g,%s\n", l->source ? l->source : "detected", (unsigned long long)l->calls,
                l->flops, l->time_s, l->energy_j, r->provenance);
    }
    fprintf(o, "outside,\"outside intercepted calls\",,,,,,,%.9g,%.9g,%s\n", r->outside_s, r->outside_j, r->provenance);
    fprintf(o, "energy,\"total\",,,,,,,%.9g,%.9g,%s\n", r->duration_s, r->total_j, r->provenance);
    /* idle: the baseline power over the wall time; net: the rest */
    fprintf(o, "energy,\"idle\",,,,,,,%.9g,%.9g,estimated\n", r->wall_sum_s, r->total_j - r->net_j);
    fprintf(o, "energy,\"net of idle\",,,,,,,%.9g,%.9g,estimated\n", r->wall_sum_s, r->net_j);
    if (ana_co2_g(r, 1) >= 0)
        fprintf(o, "co2e,\"total (g, %s g/kWh from %s)\",,,,,,,,%.9g,estimated\n", ana_sig(r->more->carbon_g_kwh, 9,
                (char[48]){0}, 48), r->more->carbon_src, ana_co2_g(r, r->total_j));
}

const struct ana_renderer ana_render_csv = { "csv", render };
