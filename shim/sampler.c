/* sampler.c - the recorder's one background thread, and the driver of the
 * energy-source registry (sources/: GS_SOURCE).  At start-up it probes every
 * registered source and numbers their domains into the header's "domain.N"
 * lines; then, at GREENSHIM_SAMPLE_HZ (or a rate it picks from its own
 * measured tick cost), it reads them into the trace as a time series, each
 * source at most every period_ms.  Every 100 ms it writes a clock
 * correlation point, every second its own CPU time (its cost is measured).
 *
 * A run is one unit: machine-scope domains (RAPL, cpufreq, GPUs) are read
 * by one process of the run at a time, the holder of the run's lock
 * (run.c); the others try again every 100 ms and take over when it exits.
 * Process-scope domains (the CPU-time model) are read by every process. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gs.h"
#include "run.h"
#include "sources/source.h"

extern const struct gs_esource *const __start_gs_sources[] __attribute__((weak, visibility("hidden")));
extern const struct gs_esource *const __stop_gs_sources[] __attribute__((weak, visibility("hidden")));


#define GS_MAX_DOMAINS 512
#define GS_MAX_SOURCES 16
#define GS_HANDOVER    8192

struct gs_live_src {
    const struct gs_esource *src;
    uint64_t next_ns;             /* period-limited: next mono ns it is read */
    int      first, n;            /* its domains in gs_dom[] */
    int      skip;                /* this tick */
};

struct gs_live_dom {
    struct gs_domain d;
    uint16_t id;                  /* header domain.N */
    int      have_prev;
    uint64_t prev;                /* last value read */
    double   joules;              /* this process's tally */
    uint64_t t0_ns, t1_ns;        /* mono span of the tally */
};

static struct gs_live_src gs_src[GS_MAX_SOURCES];
static int gs_nsrc;
static struct gs_live_dom gs_dom[GS_MAX_DOMAINS];
static int gs_ndom;
static int gs_machine_held;       /* this process samples the machine-scope domains */
static int gs_have_machine;       /* some domain is machine-scope */

static pthread_t gs_sampler;
/* the sampler sleeps on this, so that stopping it at exit is immediate
 * instead of waiting out the current period */
static pthread_mutex_t gs_sampler_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gs_sampler_cv;
static int gs_sampler_running;
static volatile int gs_sampler_stop_flag;
static int gs_sampler_primed;     /* the thread's first reads are in (under gs_sampler_mu) */
static unsigned gs_hz;

static const char *gs_kind_name(int kind)
{
    switch (kind) {
    case GS_SAMPLE_ENERGY_UJ: return "energy";
    case GS_SAMPLE_CPU_NS:    return "cpu";
    case GS_SAMPLE_FREQ_KHZ:  return "freq";
    default:                  return "other";
    }
}

static const char *gs_kind_unit(int kind)
{
    switch (kind) {
    case GS_SAMPLE_ENERGY_UJ: return "uJ";
    case GS_SAMPLE_CPU_NS:    return "ns";
    case GS_SAMPLE_FREQ_KHZ:  return "kHz";
    default:                  return "-";
    }
}

static const char *gs_comp_name(int c)
{
    static const char *const names[] = { "other", "cpu", "dram", "gpu" };
    return c >= 0 && c < 4 ? names[c] : "other";
}

/* ---- the registry ---- */

static const char *gs_prov(const struct gs_live_src *s, const struct gs_live_dom *l)
{
    return l->d.provenance ? l->d.provenance : s->src->provenance;
}

/* an energy domain that adds into the total */
static int gs_adds_energy(const struct gs_live_dom *l)
{
    return l->d.sum && l->d.joules_per_unit > 0;
}

static int gs_has_sum(int component)
{
    for (int i = 0; i < gs_ndom; i++)
        if (gs_dom[i].d.sum && gs_dom[i].d.component == component &&
            gs_dom[i].d.kind == GS_SAMPLE_ENERGY_UJ)
            return 1;
    return 0;
}

static void gs_add_source(const struct gs_esource *src)
{
    if (gs_nsrc >= GS_MAX_SOURCES || gs_ndom >= GS_MAX_DOMAINS)
        return;
    struct gs_domain tmp[64];
    int max = GS_MAX_DOMAINS - gs_ndom < 64 ? GS_MAX_DOMAINS - gs_ndom : 64;
    memset(tmp, 0, sizeof tmp);
    int n = src->probe(tmp, max);
    if (n <= 0)
        return;
    struct gs_live_src *s = &gs_src[gs_nsrc++];
    s->src = src;
    s->next_ns = 0;
    s->first = gs_ndom;
    s->n = n;
    for (int i = 0; i < n; i++) {
        struct gs_live_dom *l = &gs_dom[gs_ndom];
        memset(l, 0, sizeof *l);
        l->d = tmp[i];
        l->id = (uint16_t)gs_ndom;
        gs_have_machine |= l->d.scope == GS_SCOPE_MACHINE;
        char key[24], range[40] = "";
        snprintf(key, sizeof key, "domain.%d", gs_ndom);
        if (l->d.max_range)
            snprintf(range, sizeof range, " max_range=%llu", (unsigned long long)l->d.max_range);
        gs_header_add(key, "name=%s kind=%s unit=%s component=%s scope=%s key=%s source=%s "
                      "provenance=%s sum=%d%s%s%s",
                      l->d.name, gs_kind_name(l->d.kind), gs_kind_unit(l->d.kind),
                      gs_comp_name(l->d.component),
                      l->d.scope == GS_SCOPE_MACHINE ? "machine" : "process",
                      l->d.key[0] ? l->d.key : l->d.name, src->name,
                      gs_prov(s, l), l->d.sum,
                      range, l->d.extra[0] ? " " : "", l->d.extra);
        gs_ndom++;
    }
}

#define GS_FOR_SOURCES(p) \
    for (const struct gs_esource *const *p = __start_gs_sources; p && p < __stop_gs_sources; p++)

static void gs_sources_probe(void)
{
    gs_nsrc = 0;
    gs_ndom = 0;
    gs_have_machine = 0;
    /* measured first; a fallback (the model) only for a component nothing
     * measures, so the analyzer never mixes the two in one total */
    GS_FOR_SOURCES(p)
        if (!(*p)->fallback)
            gs_add_source(*p);
    GS_FOR_SOURCES(p)
        if ((*p)->fallback && !gs_has_sum((*p)->fallback))
            gs_add_source(*p);
    char names[128] = "";
    int meas = 0, model = 0;
    for (int s = 0; s < gs_nsrc; s++) {
        int sums = 0;
        for (int i = 0; i < gs_src[s].n; i++) {
            const struct gs_live_dom *l = &gs_dom[gs_src[s].first + i];
            if (!gs_adds_energy(l))
                continue;
            sums = 1;
            if (strcmp(gs_prov(&gs_src[s], l), "measured") == 0)
                meas = 1;
            else
                model = 1;
        }
        size_t l = strlen(names);
        if (sums)
            snprintf(names + l, sizeof names - l, "%s%s", l ? " " : "", gs_src[s].src->name);
    }
    if (meas)
        gs_sources |= GS_SRC_ENERGY_MEAS;
    if (model)
        gs_sources |= GS_SRC_ENERGY_MODEL;
    if (names[0])
        gs_header_add("energy.sources", "%s", names);
}

/* ---- sampling ---- */

static void gs_tally(struct gs_live_dom *l, uint64_t v, uint64_t now_ns)
{
    if (l->have_prev && l->d.joules_per_unit > 0) {
        uint64_t d = v >= l->prev ? v - l->prev
                     : l->d.max_range && l->prev <= l->d.max_range ? l->d.max_range - l->prev + v : 0;
        l->joules += (double)d * l->d.joules_per_unit;
    }
    if (!l->have_prev && !l->t0_ns)
        l->t0_ns = now_ns;
    l->have_prev = 1;
    l->prev = v;
    l->t1_ns = now_ns;
}

/* The previous holder's last values: the series goes on from them. */
static void gs_take_handover(const char *h)
{
    uint64_t now = gs_mono_ns();
    for (const char *p = h; p && *p;) {
        char key[64];
        unsigned long long v, t;
        if (sscanf(p, "%63s %llu %llu", key, &v, &t) == 3 && now >= t && now - t < 1000000000ull)
            for (int i = 0; i < gs_ndom; i++) {
                struct gs_live_dom *l = &gs_dom[i];
                if (l->d.scope == GS_SCOPE_MACHINE && strcmp(l->d.key, key) == 0) {
                    l->have_prev = 1;
                    l->prev = v;
                    if (!l->t0_ns)
                        l->t0_ns = t;
                }
            }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
}

static void gs_sample_all(void)
{
    uint64_t now = gs_mono_ns();
    for (int s = 0; s < gs_nsrc; s++) {
        struct gs_live_src *ls = &gs_src[s];
        uint64_t p = (uint64_t)ls->src->period_ms * 1000000ull;
        ls->skip = p && now < ls->next_ns;
        if (p && !ls->skip)
            ls->next_ns = now + p;
        for (int i = 0; i < ls->n && !ls->skip; i++) {
            struct gs_live_dom *l = &gs_dom[ls->first + i];
            if (l->d.scope == GS_SCOPE_MACHINE && !gs_machine_held)
                continue;
            struct gs_rec_sample r = { .type = GS_REC_SAMPLE, .kind = l->d.kind, .domain = l->id };
            r.t = gs_now();
            if (ls->src->sample(i, &r.value) != 0)
                continue;               /* a failed read is a missing point, not a zero */
            r.t_read = gs_now();
            gs_emit(&r);
            gs_tally(l, r.value, now);
        }
    }
}

/* A region boundary (regions.c calls this at every push and pop): read the
 * energy domains (measured, and the CPU-time model) now.  Linear interpolation across a sample interval that straddles
 * a boundary spreads the step in power over the whole interval (a region
 * loses P_step x dt / 6 at each boundary on average), and a sampler thread
 * that a busy machine runs late stretches the interval: a point at the
 * boundary makes region energy exact there at any sampler rate.
 *
 * The reads are rate-limited to one per GS_BOUNDARY_NS on average in the
 * process, with bursts of up to GS_BOUNDARY_BURST: a pop and the next push
 * a few microseconds apart both get their point (a plain "at most once per
 * millisecond" gave the push none, and a sampler stalled by load left that
 * region's start to a long interpolation: a phase charged 0 J or +170%),
 * while regions pushed at 100 kHz still cost one read per millisecond.
 * The sources' descriptors are in the recorder's own descriptor table (the
 * sampler's), not the program's: the program's thread wakes the sampler,
 * which reads at once, and waits for the read (at most 2 ms), so the point
 * stays at the boundary.  The tally (exit summary) stays the sampler's
 * tick's alone. */
#define GS_BOUNDARY_NS    1000000ull
#define GS_BOUNDARY_BURST 8ull
#define GS_BOUNDARY_LOOSE 500000ull   /* the analyzer drops reads bracketed looser than this */
static int gs_boundary_on;        /* sources open and the sampler running */
static int gs_boundary_busy;      /* boundary reads in progress (fini waits) */
static uint64_t gs_boundary_tat;  /* the rate limit's theoretical arrival time (mono ns) */
static unsigned gs_boundary_asked, gs_boundary_served, gs_boundary_done;   /* under gs_sampler_mu */
static pthread_cond_t gs_boundary_cv = PTHREAD_COND_INITIALIZER;        /* CLOCK_MONOTONIC */

static int gs_boundary_kind(int kind)
{
    return kind == GS_SAMPLE_ENERGY_UJ || kind == GS_SAMPLE_CPU_NS;
}

/* the rate limit (a generic cell rate: one per period, bursts of BURST) */
static int gs_boundary_admit(uint64_t now)
{
    uint64_t tat = __atomic_load_n(&gs_boundary_tat, __ATOMIC_RELAXED);
    for (;;) {
        uint64_t base = tat > now ? tat : now;
        if (base - now > (GS_BOUNDARY_BURST - 1) * GS_BOUNDARY_NS)
            return 0;
        if (__atomic_compare_exchange_n(&gs_boundary_tat, &tat, base + GS_BOUNDARY_NS, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return 1;
    }
}

/* on the sampler thread */
static void gs_boundary_read(void)
{
    __atomic_add_fetch(&gs_boundary_busy, 1, __ATOMIC_ACQ_REL);
    if (__atomic_load_n(&gs_boundary_on, __ATOMIC_ACQUIRE))
        for (int s = 0; s < gs_nsrc; s++) {
            struct gs_live_src *ls = &gs_src[s];
            for (int i = 0; i < ls->n; i++) {
                struct gs_live_dom *l = &gs_dom[ls->first + i];
                if (!gs_boundary_kind(l->d.kind))
                    continue;
                if (l->d.scope == GS_SCOPE_MACHINE && !__atomic_load_n(&gs_machine_held, __ATOMIC_RELAXED))
                    continue;
                struct gs_rec_sample r = { .type = GS_REC_SAMPLE, .kind = l->d.kind, .domain = l->id };
                r.reserved0 = GS_SAMPLE_AT_BOUNDARY;
                /* a read the scheduler interrupted brackets its value loosely:
                 * up to 3 tries for one within 20 us, the tightest kept if the
                 * analyzer will take it (a loose point beats none: the sampler
                 * thread may be stalled by the same load) */
                uint64_t best = UINT64_MAX;
                for (int k = 0; k < 3 && best >= 20000; k++) {
                    uint64_t m0 = gs_mono_ns(), t0 = gs_now(), v;
                    if (ls->src->sample(i, &v) != 0)
                        break;
                    uint64_t t1 = gs_now(), m1 = gs_mono_ns();
                    if (m1 - m0 < best) {
                        best = m1 - m0;
                        r.t = t0;
                        r.t_read = t1;
                        r.value = v;
                    }
                }
                if (best < GS_BOUNDARY_LOOSE)
                    gs_emit(&r);
            }
        }
    __atomic_sub_fetch(&gs_boundary_busy, 1, __ATOMIC_ACQ_REL);
}

void gs_sampler_boundary(void)
{
    if (!__atomic_load_n(&gs_boundary_on, __ATOMIC_ACQUIRE) || !gs_boundary_admit(gs_mono_ns()))
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 2000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&gs_sampler_mu);
    unsigned mine = ++gs_boundary_asked;
    pthread_cond_signal(&gs_sampler_cv);
    while ((int)(gs_boundary_done - mine) < 0 && __atomic_load_n(&gs_boundary_on, __ATOMIC_ACQUIRE) &&
           pthread_cond_timedwait(&gs_boundary_cv, &gs_sampler_mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&gs_sampler_mu);
}

/* Not the holder: try to take the machine lock (10 Hz).  The holder: check
 * it still is (the program may have closed the descriptor). */
static void gs_try_machine(void)
{
    if (!gs_have_machine)
        return;
    char *h = gs_machine_held ? NULL : malloc(GS_HANDOVER);
    int held = gs_run_machine_try(h, h ? GS_HANDOVER : 0);
    if (held && !gs_machine_held && h)
        gs_take_handover(h);
    if (!held && gs_machine_held)       /* lost: a fresh series when taken again */
        for (int i = 0; i < gs_ndom; i++)
            if (gs_dom[i].d.scope == GS_SCOPE_MACHINE)
                gs_dom[i].have_prev = 0;
    gs_machine_held = held;
    free(h);
}

static void gs_release_machine(void)
{
    if (!gs_machine_held)
        return;
    char *h = malloc(GS_HANDOVER);
    if (h) {
        size_t o = 0;
        h[0] = 0;
        for (int i = 0; i < gs_ndom && o + 128 < GS_HANDOVER; i++) {
            const struct gs_live_dom *l = &gs_dom[i];
            if (l->d.scope == GS_SCOPE_MACHINE && l->have_prev)
                o += (size_t)snprintf(h + o, GS_HANDOVER - o, "%s %llu %llu\n", l->d.key,
                                      (unsigned long long)l->prev, (unsigned long long)l->t1_ns);
        }
    }
    gs_run_machine_release(h);
    free(h);
    gs_machine_held = 0;
}

void gs_sampler_tally(struct gs_energy_tally *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < gs_ndom; i++) {
        const struct gs_live_dom *l = &gs_dom[i];
        if (!gs_adds_energy(l))
            continue;
        if (l->d.scope == GS_SCOPE_MACHINE) {
            if (!l->t0_ns)
                continue;
            t->j_machine += l->joules;
            if (!t->t0_ns || l->t0_ns < t->t0_ns)
                t->t0_ns = l->t0_ns;
            if (l->t1_ns > t->t1_ns)
                t->t1_ns = l->t1_ns;
        } else {
            t->j_process += l->joules;
        }
    }
    for (int s = 0; s < gs_nsrc; s++) {
        int sums = 0;
        for (int i = 0; i < gs_src[s].n; i++) {
            const struct gs_live_dom *l = &gs_dom[gs_src[s].first + i];
            if (!gs_adds_energy(l))
                continue;
            sums = 1;
            const char *prov = gs_prov(&gs_src[s], l);
            if (!t->provenance[0] || strcmp(prov, "measured") == 0)
                snprintf(t->provenance, sizeof t->provenance, "%s", prov);
        }
        size_t l = strlen(t->sources);
        if (sums)
            snprintf(t->sources + l, sizeof t->sources - l, "%s%s", l ? "," : "", gs_src[s].src->name);
    }
}

/* ---- the thread ---- */

static uint64_t gs_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void gs_emit_self_cpu(void)
{
    struct gs_rec_sample s = { .type = GS_REC_SAMPLE, .kind = GS_SAMPLE_SAMPLER_NS };
    s.t = s.t_read = gs_now();
    s.value = gs_thread_cpu_ns();
    gs_emit(&s);
}

static void *gs_sampler_main(void *arg)
{
    (void)arg;
    gs_tls.stream = GS_STREAM_SAMPLER;
    gs_tls.busy = 1;                    /* BLAS called from here is not the program's */
    gs_log_defer = 1;                   /* started by the writer's helper: its table, no stderr */
    int autorate = gs_hz == 0;
    if (autorate)
        gs_hz = 200;                    /* until the first 20 ticks are measured */
    uint64_t period = 1000000000ull / gs_hz;
    unsigned ticks = 0;
    uint64_t cpu0 = gs_thread_cpu_ns();
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    gs_emit_clock_point();
    gs_try_machine();
    uint64_t since_clock = 0, since_self = 0, since_lock = 0;
    while (!gs_sampler_stop_flag) {
        gs_sample_all();
        if (!gs_sampler_primed) {       /* the series' first point: the start may go on */
            pthread_mutex_lock(&gs_sampler_mu);
            gs_sampler_primed = 1;
            pthread_cond_broadcast(&gs_boundary_cv);
            pthread_mutex_unlock(&gs_sampler_mu);
        }
        if (autorate && ++ticks == 20) {
            /* the default rate: the fastest of 1000..100 Hz whose measured
             * tick cost (wake-up + reads + records) stays within 0.5% of one
             * core; RAPL itself updates about every 1 ms */
            static const unsigned steps[] = { 1000, 500, 250, 200, 100 };
            double tick = (double)(gs_thread_cpu_ns() - cpu0) / ticks;
            gs_hz = 100;
            for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
                if (steps[i] * tick <= 0.005 * 1e9) {
                    gs_hz = steps[i];
                    break;
                }
            period = 1000000000ull / gs_hz;
            gs_dbg("sampler tick costs %.0f ns: %u Hz", tick, gs_hz);
        }
        since_clock += period;
        since_self += period;
        since_lock += period;
        if (since_clock >= 100000000ull) {
            gs_emit_clock_point();
            since_clock = 0;
        }
        if (since_self >= 1000000000ull) {
            gs_emit_self_cpu();
            since_self = 0;
        }
        if (since_lock >= 100000000ull) {   /* take, or check, the machine lock at 10 Hz */
            gs_try_machine();
            since_lock = 0;
        }
        next.tv_nsec += (long)period;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        /* fell behind (suspended, overloaded): resynchronise, don't burst
         * (reads faster than the counter updates only cost CPU) */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - next.tv_sec) * 1000000000LL + (now.tv_nsec - next.tv_nsec) > (long long)period)
            next = now;
        pthread_mutex_lock(&gs_sampler_mu);
        while (!gs_sampler_stop_flag) {
            if (gs_boundary_asked != gs_boundary_served) {   /* a region boundary: read now */
                unsigned asked = gs_boundary_served = gs_boundary_asked;
                pthread_mutex_unlock(&gs_sampler_mu);
                gs_boundary_read();
                pthread_mutex_lock(&gs_sampler_mu);
                gs_boundary_done = asked;
                pthread_cond_broadcast(&gs_boundary_cv);
                continue;
            }
            if (pthread_cond_timedwait(&gs_sampler_cv, &gs_sampler_mu, &next) == ETIMEDOUT)
                break;
        }
        pthread_mutex_unlock(&gs_sampler_mu);
    }
    gs_sample_all();                    /* closing point of the series */
    gs_release_machine();
    gs_emit_clock_point();
    gs_emit_self_cpu();
    return NULL;
}

/* How long the process had run when the recorder started (its first
 * intercepted call): the report's window starts there, and says how much of
 * the process's life came before it.  /proc/self/stat's starttime is in
 * clock ticks since boot (CLOCK_BOOTTIME), so the age is exact to a tick. */
static void gs_sampler_process_age(void)
{
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');  /* the command name may hold spaces */
    unsigned long long start = 0;
    long tck = sysconf(_SC_CLK_TCK);
    /* after ")": state (field 3) ... starttime (field 22) */
    if (!p || tck <= 0 ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
               &start) != 1)
        return;
    struct timespec bt;
    if (clock_gettime(CLOCK_BOOTTIME, &bt) != 0)
        return;
    double now = (double)bt.tv_sec + (double)bt.tv_nsec * 1e-9, began = (double)start / (double)tck;
    if (now >= began)
        gs_header_add("process.age_ns", "%.0f", (now - began) * 1e9);
}

static void gs_sampler_init(void)
{
    gs_sampler_process_age();
    gs_sources_probe();
    if (gs_setting_is_set("GREENSHIM_IDLE_WATTS"))
        gs_header_add("idle_watts", "%.6g", gs_setting_double("GREENSHIM_IDLE_WATTS"));
    const char *hz = gs_setting_str("GREENSHIM_SAMPLE_HZ");
    if (strcmp(hz, "auto") == 0) {
        /* chosen by the sampler thread from its measured tick cost; the
         * sample times in the trace give the rate */
        gs_header_add("sampler.hz", "auto");
        gs_hz = 0;
    } else {
        gs_hz = (unsigned)gs_setting_uint("GREENSHIM_SAMPLE_HZ");
        gs_header_add("sampler.hz", "%u", gs_hz);
        if (gs_hz == 0)
            return;                     /* GREENSHIM_SAMPLE_HZ=0: no sampler */
    }
    /* the series starts before the program's first recorded call returns
     * to it: take the machine lock and read every domain once here (on the
     * writer's helper, which the program's first call waits for), instead of leaving both to a sampler thread that a
     * loaded machine may not run for milliseconds (until then no sample and
     * no boundary read: the calls and regions before got 0 J) */
    gs_try_machine();
    gs_sample_all();
    gs_sampler_stop_flag = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&gs_sampler_mu, NULL);  /* fresh in a fork child too */
    pthread_cond_init(&gs_sampler_cv, &ca);
    pthread_cond_init(&gs_boundary_cv, &ca);
    gs_boundary_asked = gs_boundary_served = gs_boundary_done = 0;
    gs_sampler_primed = 0;
    pthread_condattr_destroy(&ca);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits: no signals for it */
    int r = pthread_create(&gs_sampler, NULL, gs_sampler_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        gs_log("cannot start the sampler thread (%s): no energy time series", strerror(r));
        gs_sampler_running = 0;
        return;
    }
    gs_sampler_running = 1;
    /* the start waits for the thread's first reads (at most 100 ms): the
     * thread serves the boundary reads, and a new thread on a busy machine
     * may wait a whole scheduler period for its first slice, so the first
     * regions' boundaries would get no point (test_energy_phases) */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 100000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&gs_sampler_mu);
    while (!gs_sampler_primed && pthread_cond_timedwait(&gs_boundary_cv, &gs_sampler_mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&gs_sampler_mu);
    __atomic_store_n(&gs_boundary_on, 1, __ATOMIC_RELEASE);
    gs_sources |= GS_SRC_SAMPLER;
}

static void gs_sampler_fini(void)
{
    __atomic_store_n(&gs_boundary_on, 0, __ATOMIC_RELEASE);
    while (__atomic_load_n(&gs_boundary_busy, __ATOMIC_ACQUIRE))
        sched_yield();                  /* a boundary read still uses the sources */
    if (gs_sampler_running) {
        pthread_mutex_lock(&gs_sampler_mu);
        gs_sampler_stop_flag = 1;
        pthread_cond_signal(&gs_sampler_cv);
        pthread_mutex_unlock(&gs_sampler_mu);
        pthread_join(gs_sampler, NULL);
        gs_sampler_running = 0;
    }
    for (int s = 0; s < gs_nsrc; s++)
        if (gs_src[s].src->fini)
            gs_src[s].src->fini();
    /* gs_src/gs_dom stay for gs_sampler_tally (the exit entry) */
}

/* In a fork child: no thread; the sources' descriptors are copies of the
 * parent's, closed here; a new probe at the child's first call. */
static void gs_sampler_fork_child(void)
{
    gs_boundary_on = 0;
    gs_boundary_busy = 0;
    gs_sampler_running = 0;
    gs_machine_held = 0;
    for (int s = 0; s < gs_nsrc; s++)   /* close the child's copies */
        if (gs_src[s].src->fini)
            gs_src[s].src->fini();
    gs_nsrc = 0;
    gs_ndom = 0;
}

GS_MODULE(sampler, gs_sampler_init, NULL, gs_sampler_fork_child, gs_sampler_fini);
