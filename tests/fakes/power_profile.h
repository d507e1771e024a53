/* power_profile.h - the scripted power profile shared by the fake powercap
 * writer and the phase trainer.
 *
 * A profile is "ms:watts[:r],...", phases back to back; ":r" marks a phase
 * the trainer runs as a region ("phase<k>").  Two ways to play it:
 *   fixed:  phases from a CLOCK_MONOTONIC start time (pp_energy_j); before
 *           the start and after the end the power is the idle power;
 *   follow: the trainer plays the phases on its own clock, each at least
 *           its length from when it really began, and sets the power it
 *           draws in a small shared file (struct pp_follow) as it enters
 *           each phase; the writer integrates whatever power is set.  A
 *           loaded machine that starves the trainer then stretches a phase
 *           instead of shrinking or skipping it, and the power steps stay at
 *           the region boundaries.  The writer logs every value it writes
 *           (struct pp_logent), the truth a test checks the recorder
 *           against: what the counter really said, when. */
#ifndef GS_POWER_PROFILE_H
#define GS_POWER_PROFILE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PP_MAX 64

struct pp_phase { int64_t begin_ns, end_ns; double watts; int region; };
struct pp_profile { struct pp_phase ph[PP_MAX]; int n; double idle_w; int64_t start_ns; };

/* 0 on success, -1 on a malformed profile */
static inline int pp_parse(struct pp_profile *p, const char *s, double idle_w)
{
    memset(p, 0, sizeof *p);
    p->idle_w = idle_w;
    int64_t at = 0;
    while (*s && p->n < PP_MAX) {
        char *end;
        double ms = strtod(s, &end);
        if (end == s || *end != ':' || ms <= 0)
            return -1;
        s = end + 1;
        double w = strtod(s, &end);
        if (end == s || w < 0)
            return -1;
        s = end;
        struct pp_phase *ph = &p->ph[p->n++];
        ph->begin_ns = at;
        at += (int64_t)(ms * 1e6);
        ph->end_ns = at;
        ph->watts = w;
        if (*s == ':' && s[1] == 'r') {
            ph->region = 1;
            s += 2;
        }
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return p->n ? 0 : -1;
}

static inline int64_t pp_length_ns(const struct pp_profile *p)
{
    return p->n ? p->ph[p->n - 1].end_ns : 0;
}

/* Energy in joules from the start time to t (negative before it). */
static inline double pp_energy_j(const struct pp_profile *p, int64_t t)
{
    int64_t rel = t - p->start_ns;
    if (rel <= 0)
        return p->idle_w * (double)rel * 1e-9;
    double e = 0;
    for (int i = 0; i < p->n; i++) {
        const struct pp_phase *ph = &p->ph[i];
        if (rel <= ph->begin_ns)
            return e;
        int64_t hi = rel < ph->end_ns ? rel : ph->end_ns;
        e += ph->watts * (double)(hi - ph->begin_ns) * 1e-9;
    }
    int64_t past = rel - pp_length_ns(p);
    return past > 0 ? e + p->idle_w * (double)past * 1e-9 : e;
}

static inline int64_t pp_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void pp_sleep_until(int64_t t)
{
    struct timespec ts = { .tv_sec = t / 1000000000, .tv_nsec = t % 1000000000 };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* follow mode: the power the trainer draws now, set by it, read by the writer */
struct pp_follow {
    uint64_t magic;               /* PP_FOLLOW_MAGIC once the writer made it */
    double   watts;               /* (atomic) */
    uint64_t sets;                /* (atomic) number of changes, for the log */
};
#define PP_FOLLOW_MAGIC 0x776f6c6c6f667070ull

static inline void pp_follow_set(struct pp_follow *f, double w)
{
    uint64_t u;
    memcpy(&u, &w, sizeof u);
    __atomic_store_n((uint64_t *)&f->watts, u, __ATOMIC_RELEASE);
    __atomic_add_fetch(&f->sets, 1, __ATOMIC_RELEASE);
}

static inline double pp_follow_get(const struct pp_follow *f)
{
    uint64_t u = __atomic_load_n((const uint64_t *)&f->watts, __ATOMIC_ACQUIRE);
    double w;
    memcpy(&w, &u, sizeof w);
    return w;
}

/* one value the writer put into the package's energy_uj: written between
 * t_before and t_after (CLOCK_MONOTONIC ns); uj is the energy since the
 * writer started, not wrapped (the file holds it modulo the range) */
struct pp_logent { int64_t t_before, t_after; double uj; };

#endif
