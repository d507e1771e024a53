/* sampler.c - the recorder's one background thread: at GREENSHIM_SAMPLE_HZ
 * it reads the energy sources (energy/) into the trace as a time series,
 * and every 100 ms writes a clock correlation point so the analyzer can map
 * TSC to nanoseconds.  It also records its own CPU time, so its cost is
 * measured, not guessed. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gs.h"

GS_HIDDEN void gs_emit_clock_point(void);

static pthread_t gs_sampler;
/* the sampler sleeps on this, so that stopping it at exit is immediate
 * instead of waiting out the current period */
static pthread_mutex_t gs_sampler_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gs_sampler_cv;
static int gs_sampler_running;
static volatile int gs_sampler_stop_flag;
static unsigned gs_hz;

static uint64_t gs_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void gs_emit_self_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    struct gs_rec_sample s = { .type = GS_REC_SAMPLE, .kind = GS_SAMPLE_SAMPLER_NS };
    s.t = s.t_read = gs_now();
    s.value = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
    gs_emit(&s);
}

static void *gs_sampler_main(void *arg)
{
    (void)arg;
    gs_tls.stream = GS_STREAM_SAMPLER;
    gs_tls.busy = 1;                    /* BLAS called from here is not the program's */
    int autorate = gs_hz == 0;
    if (autorate)
        gs_hz = 200;                    /* until the first 20 ticks are measured */
    uint64_t period = 1000000000ull / gs_hz;
    unsigned ticks = 0;
    uint64_t cpu0 = gs_thread_cpu_ns();
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    gs_emit_clock_point();
    uint64_t since_clock = 0, since_self = 0;
    while (!gs_sampler_stop_flag) {
        gs_energy_sample();
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
        if (since_clock >= 100000000ull) {
            gs_emit_clock_point();
            since_clock = 0;
        }
        if (since_self >= 1000000000ull) {
            gs_emit_self_cpu();
            since_self = 0;
        }
        next.tv_nsec += (long)period;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        /* fell behind (suspended, overloaded): resynchronise, don't burst */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec + 1)
            next = now;
        pthread_mutex_lock(&gs_sampler_mu);
        while (!gs_sampler_stop_flag &&
               pthread_cond_timedwait(&gs_sampler_cv, &gs_sampler_mu, &next) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&gs_sampler_mu);
    }
    gs_energy_sample();                 /* closing point of the series */
    gs_emit_clock_point();
    gs_emit_self_cpu();
    return NULL;
}

void gs_sampler_start(void)
{
    const char *e = gs_getenv("GREENSHIM_SAMPLE_HZ");
    gs_hz = e && *e ? (unsigned)strtoul(e, NULL, 10) : 0;  /* 0: the thread picks */
    if (e && *e && gs_hz == 0) {
        gs_sampler_running = 0;         /* GREENSHIM_SAMPLE_HZ=0: no sampler */
        return;
    }
    if (gs_hz > 10000)
        gs_hz = 10000;
    gs_sampler_stop_flag = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&gs_sampler_mu, NULL);  /* fresh in a fork child too */
    pthread_cond_init(&gs_sampler_cv, &ca);
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
    gs_sources |= GS_SRC_SAMPLER;
}

void gs_sampler_stop(void)
{
    if (!gs_sampler_running)
        return;
    pthread_mutex_lock(&gs_sampler_mu);
    gs_sampler_stop_flag = 1;
    pthread_cond_signal(&gs_sampler_cv);
    pthread_mutex_unlock(&gs_sampler_mu);
    pthread_join(gs_sampler, NULL);
    gs_sampler_running = 0;
}
