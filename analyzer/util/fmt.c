/* fmt.c - numbers for people: significant digits instead of fixed
 * decimals (never "0.00000 J/iter"), SI prefixes with units, and padding
 * by display width (a UTF-8 "→" is one column, not three bytes).  Every
 * people-facing renderer (text, HTML) prints through these, so they show
 * the same digits. */
#include <math.h>
#include <string.h>
#include "ana.h"

const char *ana_sig(double v, int sig, char *b, size_t len)
{
    if (!isfinite(v)) {
        snprintf(b, len, "-");
        return b;
    }
    double a = fabs(v);
    if (a == 0) {
        snprintf(b, len, "0");
    } else if (a < 1e-4 || a >= 1e15) {
        snprintf(b, len, "%.*g", sig, v);
    } else {
        int mag = (int)floor(log10(a));
        /* rounding may carry into the next decade (9.996 -> 10.0) */
        double r = a / pow(10, mag - sig + 1);
        if (floor(r + 0.5) >= pow(10, sig))
            mag++;
        int dec = sig - 1 - mag;
        snprintf(b, len, "%.*f", dec > 0 ? dec : 0, v);
    }
    return b;
}

const char *ana_si(double v, const char *unit, char *b, size_t len)
{
    static const struct { double f; const char *p; } pre[] = {
        { 1e12, "T" }, { 1e9, "G" }, { 1e6, "M" }, { 1e3, "k" }, { 1, "" }, { 1e-3, "m" }, { 1e-6, "u" }, { 1e-9, "n" },
    };
    char n[48];
    double a = fabs(v);
    if (!isfinite(v) || a == 0) {
        snprintf(b, len, "%s %s", isfinite(v) ? "0" : "-", unit);
        return b;
    }
    size_t i;
    for (i = 0; i < sizeof pre / sizeof *pre - 1; i++) {
        /* the prefix the value shows with, after rounding to 3 digits */
        if (a / pre[i].f >= 0.9995)
            break;
    }
    snprintf(b, len, "%s %s%s", ana_sig(v / pre[i].f, 3, n, sizeof n), pre[i].p, unit);
    return b;
}

const char *ana_dur(double s, char *b, size_t len)
{
    if (s >= 1000)                       /* long runs: seconds with no prefix */
        return snprintf(b, len, "%.0f s", s), b;
    return ana_si(s, "s", b, len);
}

const char *ana_pct(double frac, char *b, size_t len)
{
    double v = 100 * frac;
    char n[48];
    if (!isfinite(v))
        snprintf(b, len, "-");
    else if (v == 0 || fabs(v) >= 1)
        snprintf(b, len, "%.1f%%", v);
    else                                 /* small shares keep two digits: 0.037%, not 0.0% */
        snprintf(b, len, "%s%%", ana_sig(v, 2, n, sizeof n));
    return b;
}

size_t ana_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        w += (*p & 0xC0) != 0x80;        /* count code points, not bytes */
    return w;
}

void ana_pad(FILE *o, const char *s, int width, int right)
{
    int w = (int)ana_width(s);
    if (right)
        for (int i = w; i < width; i++)
            fputc(' ', o);
    fputs(s, o);
    if (!right)
        for (int i = w; i < width; i++)
            fputc(' ', o);
}

/* JSON: a string with quotes, backslashes and control characters escaped
 * (NULL is null); a number with 9 significant digits, null when not finite.
 * Every JSON writer (report, kernels, dvfs, Perfetto) uses these. */
void ana_json_str(FILE *o, const char *s)
{
    if (!s) {
        fputs("null", o);
        return;
    }
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(o, "\\%c", *p);
        else if (*p < 0x20) fprintf(o, "\\u%04x", *p);
        else fputc(*p, o);
    }
    fputc('"', o);
}

void ana_json_num(FILE *o, double v)
{
    if (!isfinite(v)) fputs("null", o);
    else fprintf(o, "%.9g", v);
}
