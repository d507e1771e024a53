/* dvfs_read.c - read a DVFS recommendation (issue 8's JSON: format_version,
 * objective, max_slowdown_pct, recommendations[] with knob, device, layer,
 * baseline, recommended, predicted_time_s, predicted_energy_j,
 * energy_saving_pct, slowdown_pct, provenance, uncertainty_pct, and an
 * optional curve/points array of {setting, time_s, energy_j}) for the HTML
 * page.  A recommendation without a curve gets one from its fit (the
 * "fits" array: t_scaling_s, t_fixed_s, p_static_w, p_dynamic_w, alpha,
 * reference, power_held_above, time_flat_above) through the DVFS stage's
 * own model (dvfs_predict), for frequency knobs.  A small strict JSON
 * reader: unknown keys are skipped. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ana.h"
#include "stages/dvfs.h"

struct jp { const char *s; const char *err; };

static void ws(struct jp *p) { while (isspace((unsigned char)*p->s)) p->s++; }

static int str(struct jp *p, char *out, size_t len)
{
    size_t n = 0;
    ws(p);
    if (*p->s != '"') { p->err = "a string expected"; return -1; }
    p->s++;
    while (*p->s && *p->s != '"') {
        char c = *p->s++;
        if (c == '\\') {
            c = *p->s++;
            if (c == 'u') {
                /* \uXXXX to UTF-8 (a surrogate half becomes '?') */
                unsigned v = 0;
                for (int i = 0; i < 4; i++, p->s++) {
                    char h = *p->s;
                    if (!isxdigit((unsigned char)h)) { p->err = "bad \\u escape"; return -1; }
                    v = v * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
                }
                char u[4];
                size_t k = 0;
                if (v >= 0xD800 && v < 0xE000) u[k++] = '?';
                else if (v < 0x80) u[k++] = (char)v;
                else if (v < 0x800) { u[k++] = (char)(0xC0 | v >> 6); u[k++] = (char)(0x80 | (v & 63)); }
                else { u[k++] = (char)(0xE0 | v >> 12); u[k++] = (char)(0x80 | (v >> 6 & 63)); u[k++] = (char)(0x80 | (v & 63)); }
                for (size_t i = 0; i < k; i++)
                    if (out && n + 1 < len) out[n++] = u[i];
                continue;
            }
            else if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
            else if (!c) break;
        }
        if (out && n + 1 < len) out[n++] = c;
    }
    if (*p->s != '"') { p->err = "unterminated string"; return -1; }
    p->s++;
    if (out) out[n] = 0;
    return 0;
}

static int num(struct jp *p, double *v)
{
    ws(p);
    char *end;
    errno = 0;
    *v = strtod(p->s, &end);
    if (end == p->s || errno) { p->err = "a number expected"; return -1; }
    p->s = end;
    return 0;
}

static int skip(struct jp *p, int depth);

static int lit(struct jp *p)
{
    ws(p);
    for (const char *w = "true\0false\0null\0"; *w; w += strlen(w) + 1)
        if (!strncmp(p->s, w, strlen(w))) { p->s += strlen(w); return 0; }
    p->err = "unexpected character";
    return -1;
}

static int skip(struct jp *p, int depth)
{
    ws(p);
    if (depth > 64) { p->err = "nested too deep"; return -1; }
    if (*p->s == '"') return str(p, NULL, 0);
    if (*p->s == '{' || *p->s == '[') {
        char close = *p->s == '{' ? '}' : ']';
        int obj = close == '}';
        p->s++; ws(p);
        if (*p->s == close) { p->s++; return 0; }
        for (;;) {
            if (obj) {
                if (str(p, NULL, 0)) return -1;
                ws(p);
                if (*p->s++ != ':') { p->err = "':' expected"; return -1; }
            }
            if (skip(p, depth + 1)) return -1;
            ws(p);
            if (*p->s == ',') { p->s++; continue; }
            if (*p->s == close) { p->s++; return 0; }
            p->err = "',' or a closing bracket expected";
            return -1;
        }
    }
    if (*p->s == '-' || isdigit((unsigned char)*p->s)) { double v; return num(p, &v); }
    return lit(p);
}

/* a number, or null (-> NAN); strings where numbers belong are errors */
static int numornull(struct jp *p, double *v)
{
    ws(p);
    if (!strncmp(p->s, "null", 4)) { p->s += 4; *v = NAN; return 0; }
    return num(p, v);
}

/* iterate the members of an object: calls fn(key) positioned at the value */
#define OBJECT(p, key, ...) do { \
    ws(p); if (*(p)->s++ != '{') { (p)->err = "an object expected"; return -1; } \
    ws(p); if (*(p)->s == '}') { (p)->s++; break; } \
    for (;;) { char key[64]; if (str(p, key, sizeof key)) return -1; ws(p); \
        if (*(p)->s++ != ':') { (p)->err = "':' expected"; return -1; } \
        __VA_ARGS__ \
        ws(p); if (*(p)->s == ',') { (p)->s++; continue; } \
        if (*(p)->s == '}') { (p)->s++; break; } (p)->err = "',' or '}' expected"; return -1; } \
} while (0)

static int point(struct jp *p, struct ana_dvfs_rec *r)
{
    double set = NAN, t = NAN, e = NAN;
    OBJECT(p, k, {
        if (!strcmp(k, "setting")) { if (numornull(p, &set)) return -1; }
        else if (!strcmp(k, "time_s") || !strcmp(k, "predicted_time_s")) { if (numornull(p, &t)) return -1; }
        else if (!strcmp(k, "energy_j") || !strcmp(k, "predicted_energy_j")) { if (numornull(p, &e)) return -1; }
        else if (skip(p, 1)) return -1;
    });
    if (r->npts < 64 && set == set && t == t && e == e) {
        r->pt_set[r->npts] = set; r->pt_time[r->npts] = t; r->pt_energy[r->npts] = e; r->npts++;
    }
    return 0;
}

static int rec(struct jp *p, struct ana_dvfs_rec *r)
{
    memset(r, 0, sizeof *r);
    r->device = -1;
    OBJECT(p, k, {
        double v;
        ws(p);
        if (!strcmp(k, "knob") || !strcmp(k, "provenance")) {
            if (str(p, !strcmp(k, "knob") ? r->knob : r->provenance, !strcmp(k, "knob") ? sizeof r->knob : sizeof r->provenance)) return -1;
        } else if (!strcmp(k, "layer")) {
            if (*p->s == 'n') { if (lit(p)) return -1; } else if (str(p, r->layer, sizeof r->layer)) return -1;
        } else if (!strcmp(k, "device")) {
            if (numornull(p, &v)) return -1;
            r->device = v == v ? (int)v : -1;
        } else if (!strcmp(k, "curve") || !strcmp(k, "points")) {
            if (*p->s++ != '[') { p->err = "an array expected"; return -1; }
            ws(p);
            if (*p->s == ']') p->s++;
            else for (;;) {
                if (point(p, r)) return -1;
                ws(p);
                if (*p->s == ',') { p->s++; continue; }
                if (*p->s++ == ']') break;
                p->err = "',' or ']' expected"; return -1;
            }
        } else {
            static const char *keys[] = { "baseline", "recommended", "predicted_time_s", "predicted_energy_j",
                                          "energy_saving_pct", "slowdown_pct", "uncertainty_pct" };
            double *dst[] = { &r->baseline, &r->recommended, &r->time_s, &r->energy_j, &r->saving_pct,
                              &r->slowdown_pct, &r->uncertainty_pct };
            size_t i;
            for (i = 0; i < 7 && strcmp(k, keys[i]); i++) ;
            if (i < 7) { if (numornull(p, dst[i])) return -1; }
            else if (skip(p, 1)) return -1;
        }
    });
    return 0;
}

/* one entry of "fits": the model of one knob and layer */
struct fit { char knob[32], layer[128]; int whole; struct dvfs_model m; };

static int fit(struct jp *p, struct fit *f)
{
    memset(f, 0, sizeof *f);
    f->whole = 1;
    double held = NAN, flat = NAN;
    OBJECT(p, k, {
        ws(p);
        if (!strcmp(k, "knob")) { if (str(p, f->knob, sizeof f->knob)) return -1; }
        else if (!strcmp(k, "layer")) {
            if (*p->s == 'n') { if (lit(p)) return -1; }
            else { f->whole = 0; if (str(p, f->layer, sizeof f->layer)) return -1; }
        } else {
            static const char *keys[] = { "reference", "t_scaling_s", "t_fixed_s", "p_static_w", "p_dynamic_w", "alpha",
                                          "power_held_above", "time_flat_above" };
            double *dst[] = { &f->m.f_ref, &f->m.t_scaling, &f->m.t_fixed, &f->m.p_static, &f->m.p_dyn, &f->m.alpha,
                              &held, &flat };
            size_t i;
            for (i = 0; i < 8 && strcmp(k, keys[i]); i++) ;
            if (i < 8) { if (numornull(p, dst[i])) return -1; }
            else if (skip(p, 1)) return -1;
        }
    });
    f->m.knob = dvfs_knob_parse(f->knob);
    if (f->m.f_ref > 0) {
        f->m.x_cap = held == held ? held / f->m.f_ref : 0;
        f->m.x_knee = flat == flat ? flat / f->m.f_ref : 0;
    }
    return 0;
}

/* a curve from the fit: 25 settings from 40% of the reference (or below the
 * recommended setting) to the reference, through the stage's model */
static void curve_from_fit(struct ana_dvfs_rec *r, const struct fit *f)
{
    const struct dvfs_model *m = &f->m;
    if (r->npts || m->knob < 0 || m->knob == DVFS_GPU_POWER || !(m->f_ref > 0) || !(m->t_scaling + m->t_fixed > 0))
        return;
    double hi = m->f_ref > r->baseline ? m->f_ref : r->baseline, lo = 0.4 * m->f_ref;
    if (r->recommended > 0 && r->recommended * 0.8 < lo) lo = r->recommended * 0.8;
    for (int k = 0; k < 25; k++) {
        double s = lo + (hi - lo) * k / 24, t, e;
        dvfs_predict(m, s, &t, &e);
        if (!(t > 0) || !(e > 0))
            continue;
        r->pt_set[r->npts] = s; r->pt_time[r->npts] = t; r->pt_energy[r->npts] = e; r->npts++;
    }
    r->curve_from_fit = 1;
}

static int top(struct jp *p, struct ana_dvfs *d)
{
    int have = 0;
    static struct fit fits[64];
    size_t nfits = 0;
    OBJECT(p, k, {
        ws(p);
        if (!strcmp(k, "objective")) { if (str(p, d->objective, sizeof d->objective)) return -1; }
        else if (!strcmp(k, "max_slowdown_pct")) { if (numornull(p, &d->max_slowdown_pct)) return -1; }
        else if (!strcmp(k, "recommendations")) {
            have = 1;
            if (*p->s++ != '[') { p->err = "recommendations: an array expected"; return -1; }
            ws(p);
            if (*p->s == ']') p->s++;
            else for (;;) {
                struct ana_dvfs_rec tmp, *r = d->nrec < 32 ? &d->rec[d->nrec] : &tmp;
                if (rec(p, r)) return -1;
                if (r != &tmp) d->nrec++;
                ws(p);
                if (*p->s == ',') { p->s++; continue; }
                if (*p->s++ == ']') break;
                p->err = "',' or ']' expected"; return -1;
            }
        } else if (!strcmp(k, "fits")) {
            if (*p->s++ != '[') { p->err = "fits: an array expected"; return -1; }
            ws(p);
            if (*p->s == ']') p->s++;
            else for (;;) {
                struct fit tmp, *f = nfits < 64 ? &fits[nfits] : &tmp;
                if (fit(p, f)) return -1;
                if (f != &tmp) nfits++;
                ws(p);
                if (*p->s == ',') { p->s++; continue; }
                if (*p->s++ == ']') break;
                p->err = "',' or ']' expected"; return -1;
            }
        } else if (skip(p, 1)) return -1;
    });
    if (!have) { p->err = "no \"recommendations\" array"; return -1; }
    for (int i = 0; i < d->nrec; i++)
        for (size_t k = 0; k < nfits; k++)
            if (!strcmp(fits[k].knob, d->rec[i].knob) && fits[k].whole == !d->rec[i].layer[0] &&
                !strcmp(fits[k].layer, d->rec[i].layer)) {
                curve_from_fit(&d->rec[i], &fits[k]);
                break;
            }
    return 0;
}

int ana_dvfs_read(const char *path, struct ana_dvfs *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    snprintf(d->file, sizeof d->file, "%s", path);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read (%s)", strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, k;
    char tmp[65536];
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0 && len < (64u << 20)) {
        if (len + k + 1 > cap) { cap = (len + k + 1) * 2; buf = realloc(buf, cap); }
        memcpy(buf + len, tmp, k);
        len += k;
    }
    fclose(f);
    if (!buf) { snprintf(err, errlen, "empty file"); return -1; }
    buf[len] = 0;
    struct jp p = { buf, NULL };
    int rc = top(&p, d);
    if (!rc) { ws(&p); if (*p.s) { p.err = "text after the JSON object"; rc = -1; } }
    if (rc)
        snprintf(err, errlen, "not a DVFS recommendation: %s at byte %zu", p.err ? p.err : "?", (size_t)(p.s - buf));
    free(buf);
    return rc;
}
