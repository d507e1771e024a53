/* settings.c - every GREENSHIM_* environment variable the recorder reads,
 * in one table, read once when the library loads (LTTng-UST's getenv.c).
 *
 * A module adds a ROW here and reads its value with gs_setting_*(); nothing
 * else in the recorder calls getenv.  Each value is checked against its row:
 * one that makes no sense (GREENSHIM_SAMPLE_HZ=abc, -5, 1e9; a count past
 * its range; a path longer than PATH_MAX allows) gets one line naming the
 * setting and the value, and the default is used - never a silent change.
 * docs/settings.md lists the same rows (tests/e2e/test_settings.sh checks). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include "gs.h"

enum { T_BOOL, T_UINT, T_DOUBLE, T_STR, T_PATH, T_LIST, T_ENUM };

struct gs_setting_row {
    const char *name;
    int         type;
    const char *def;          /* as text; "" = unset (the module decides) */
    double      lo, hi;       /* T_UINT/T_DOUBLE: range; T_LIST: max items; T_PATH/T_STR: max length */
    const char *choices;      /* T_ENUM: "a|b|c"; T_UINT: a word also accepted ("auto") */
    int         setuid_safe;  /* read even in a setuid/setgid program */
    const char *help;
};

/* Keep docs/settings.md in step (a test compares the names). */
static const struct gs_setting_row gs_rows[] = {
    { "GREENSHIM", T_BOOL, "1", 0, 1, NULL, 1,
      "0 turns the recorder off: the interposers only forward" },
    { "GREENSHIM_OUT", T_PATH, "", 0, PATH_MAX - 64, NULL, 0,
      "trace directory of the run (default ./greenshim-YYYYmmdd-HHMMSS-PID); made absolute and passed to child processes" },
    { "GREENSHIM_EVENTS", T_LIST, "", 0, GS_MAX_EVENTS, NULL, 0,
      "perf counter events (libpfm4 names, comma-separated, at most 5), or none" },
    { "GREENSHIM_COUNTER_SAMPLE", T_UINT, "512", 1, 1000000, NULL, 0,
      "tiny calls read the counters 1 in N (long calls always)" },
    { "GREENSHIM_SAMPLE_HZ", T_UINT, "auto", 0, 10000, "auto", 0,
      "energy sampler rate in Hz; 0 turns the sampler off; auto picks 100-1000 Hz from its measured cost" },
    { "GREENSHIM_CPU_WATTS_PER_CORE", T_DOUBLE, "", 0.001, 10000, NULL, 0,
      "watts per busy core for the CPU-time energy model (default from a table of CPU models)" },
    { "GREENSHIM_IDLE_WATTS", T_DOUBLE, "", 0, 1e6, NULL, 0,
      "idle power baseline for the net-energy figures (default: the analyzer's lowest sustained power for measured energy, 0 W for modelled)" },
    { "GREENSHIM_CLOCK", T_ENUM, "auto", 0, 0, "auto|tsc|mono", 0,
      "hot-path clock: auto (the TSC where invariant), tsc, or mono (CLOCK_MONOTONIC)" },
    { "GREENSHIM_MAX_MB", T_UINT, "0", 0, 1048576, NULL, 0,
      "size cap of one process's trace file in MiB; 0: no cap" },
    { "GREENSHIM_QUIET", T_BOOL, "0", 0, 1, NULL, 1,
      "1: no greenshim: lines on stderr" },
    { "GREENSHIM_DEBUG", T_BOOL, "0", 0, 1, NULL, 0,
      "1: also the recorder's debugging lines" },
    { "GREENSHIM_NVML_MS", T_DOUBLE, "5", 0.5, 10000, NULL, 0,
      "GPU energy: NVML sampling period in ms (the energy counter moves about every 10 ms)" },
    { "GREENSHIM_CUPTI", T_BOOL, "1", 0, 1, NULL, 0,
      "0: no CUPTI kernel timing (CUDA calls, cuBLAS, NVTX and NVML energy are still recorded)" },
    { "GREENSHIM_NCCL_PLUGIN", T_BOOL, "1", 0, 1, NULL, 0,
      "0: the shim does not offer itself as NCCL's profiler plugin (NCCL_PROFILER_PLUGIN); the ncclAllReduce & co. interposers record" },
    { "GREENSHIM_APPEND", T_BOOL, "0", 0, 1, NULL, 0,
      "1: a new run may join a directory that holds another without a warning (greenshim record --append)" },
    { "GREENSHIM_NATIVE", T_BOOL, "1", 0, 1, NULL, 0,
      "0: the BLAS and oneDNN interposers forward without recording (the Python helper's ATen fallback records instead; for comparing the two)" },
    { "GREENSHIM_ATEN", T_ENUM, "auto", 0, 0, "auto|on|off", 0,
      "the Python helper's ATen fallback under greenshim record: auto (on until native interception sees a matrix product or convolution), on, off" },
    { "GREENSHIM_RUN_ID", T_STR, "", 0, 32, NULL, 0,
      "set by the recorder: the run's id, shared by every process of the run" },
    { "GREENSHIM_RUN_LEADER", T_UINT, "0", 0, 4194304, NULL, 0,
      "set by the recorder: the pid of the run's first process" },
};
#define GS_NROWS (sizeof gs_rows / sizeof gs_rows[0])

struct gs_setting_val {
    const char *raw;          /* the environment's text, NULL when unset */
    int         set;          /* a valid value was given */
    uint64_t    u;
    double      d;
    const char *s;            /* T_STR/T_PATH/T_LIST/T_ENUM: the text to use */
};
static struct gs_setting_val gs_vals[GS_NROWS];
static char gs_bad[GS_NROWS][160];   /* the complaint, logged by gs_settings_report */

static int gs_row(const char *name)
{
    for (size_t i = 0; i < GS_NROWS; i++)
        if (strcmp(gs_rows[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The value as the user will recognise it: printable, at most 40 bytes. */
static void gs_quote(char *out, size_t n, const char *v)
{
    size_t o = 0, i = 0;
    for (; v[i] && o + 5 < n && i < 40; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (v[i] && o + 4 < n)
        o += (size_t)snprintf(out + o, n - o, "...");
    out[o] = 0;
}

static int gs_parse_uint(const char *v, uint64_t *out)
{
    if (*v < '0' || *v > '9')                 /* no sign, no blank, no empty */
        return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}

static int gs_parse_double(const char *v, double *out)
{
    if (!*v)
        return -1;
    errno = 0;
    char *end;
    double x = strtod(v, &end);
    if (errno || *end || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

/* Check one row's raw value; 0 when valid, else the reason in why. */
static int gs_check(const struct gs_setting_row *r, struct gs_setting_val *v, char *why, size_t n)
{
    const char *s = v->raw;
    switch (r->type) {
    case T_BOOL:
        if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0) {
            v->u = (uint64_t)(s[0] - '0');
            return 0;
        }
        snprintf(why, n, "is not 0 or 1");
        return -1;
    case T_UINT: {
        if (r->choices && strcmp(s, r->choices) == 0) {
            v->s = r->choices;
            return 0;
        }
        uint64_t x;
        if (gs_parse_uint(s, &x) == 0 && x >= (uint64_t)r->lo && x <= (uint64_t)r->hi) {
            v->u = x;
            v->s = s;
            return 0;
        }
        snprintf(why, n, "is not a whole number from %.0f to %.0f%s%s", r->lo, r->hi,
                 r->choices ? " or " : "", r->choices ? r->choices : "");
        return -1;
    }
    case T_DOUBLE: {
        double x;
        if (gs_parse_double(s, &x) == 0 && x >= r->lo && x <= r->hi) {
            v->d = x;
            v->s = s;
            return 0;
        }
        snprintf(why, n, "is not a number from %g to %g", r->lo, r->hi);
        return -1;
    }
    case T_STR:
    case T_PATH:
        if (!*s) {
            snprintf(why, n, "is empty");
            return -1;
        }
        if (strlen(s) > (size_t)r->hi) {
            snprintf(why, n, "is %zu bytes long, more than the %.0f allowed", strlen(s), r->hi);
            return -1;
        }
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(why, n, "holds a control character");
                return -1;
            }
        v->s = s;
        return 0;
    case T_LIST: {
        if (strlen(s) > 1000) {
            snprintf(why, n, "is longer than 1000 bytes");
            return -1;
        }
        unsigned items = 0;
        const char *p = s;
        for (;;) {
            size_t l = strcspn(p, ",");
            if (l == 0) {
                snprintf(why, n, "has an empty item");
                return -1;
            }
            items++;
            if (!p[l])
                break;
            p += l + 1;
        }
        if (items > (unsigned)r->hi) {
            snprintf(why, n, "names %u items, more than the %.0f that can be counted at once",
                     items, r->hi);
            return -1;
        }
        v->s = s;
        v->u = items;
        return 0;
    }
    case T_ENUM: {
        size_t l = strlen(s);
        for (const char *c = r->choices; c && *c;) {
            size_t cl = strcspn(c, "|");
            if (cl == l && strncmp(c, s, l) == 0) {
                v->s = s;
                return 0;
            }
            c += cl + (c[cl] == '|');
        }
        snprintf(why, n, "is not one of %s", r->choices);
        return -1;
    }
    }
    return -1;
}

/* Fill a value from the row's default (which is always valid). */
static void gs_default(const struct gs_setting_row *r, struct gs_setting_val *v)
{
    v->set = 0;
    v->u = 0;
    v->d = 0;
    v->s = r->def;
    if (!*r->def)
        return;
    if (r->type == T_BOOL || (r->type == T_UINT && !(r->choices && strcmp(r->def, r->choices) == 0)))
        gs_parse_uint(r->def, &v->u);
    else if (r->type == T_DOUBLE)
        gs_parse_double(r->def, &v->d);
}

void gs_settings_load(void)
{
    int secure = getauxval(AT_SECURE) != 0;
    for (size_t i = 0; i < GS_NROWS; i++) {
        const struct gs_setting_row *r = &gs_rows[i];
        struct gs_setting_val *v = &gs_vals[i];
        gs_default(r, v);
        gs_bad[i][0] = 0;
        v->raw = secure && !r->setuid_safe ? NULL : getenv(r->name);
        if (!v->raw)
            continue;
        char why[112];
        struct gs_setting_val t = *v;
        if (gs_check(r, &t, why, sizeof why) == 0) {
            *v = t;
            v->set = 1;
        } else {
            char q[200];
            gs_quote(q, sizeof q, v->raw);
            snprintf(gs_bad[i], sizeof gs_bad[i], "%s=%s %s: using the default (%s)", r->name, q,
                     why, *r->def ? r->def : "not set");
        }
    }
    gs_log_configure(gs_setting_bool("GREENSHIM_QUIET"), gs_setting_bool("GREENSHIM_DEBUG"));
}

/* Once per run and setting (the processes of a run share their
 * environment): the first process that starts recording says it, or the
 * run's first process at its exit if none did. */
void gs_settings_report(void (*say)(const char *name, const char *line))
{
    static int done;
    if (done)
        return;
    done = 1;
    for (size_t i = 0; i < GS_NROWS; i++)
        if (gs_bad[i][0]) {
            char line[200];
            snprintf(line, sizeof line, "%s; see docs/settings.md", gs_bad[i]);
            say(gs_rows[i].name, line);
        }
}

static const struct gs_setting_val *gs_val(const char *name)
{
    int i = gs_row(name);
    if (i < 0) {
        /* a module asked for a row that is not in the table: a bug here */
        gs_log("internal: setting %s is not in shim/settings.c", name);
        abort();
    }
    return &gs_vals[i];
}

int gs_setting_is_set(const char *name)  { return gs_val(name)->set; }
uint64_t gs_setting_uint(const char *name) { return gs_val(name)->u; }
double gs_setting_double(const char *name) { return gs_val(name)->d; }
int gs_setting_bool(const char *name)    { return gs_val(name)->u != 0; }
const char *gs_setting_str(const char *name)
{
    const char *s = gs_val(name)->s;
    return s ? s : "";
}
