/* dvfs.h - the DVFS stage: a time and power model per layer and knob,
 * fitted from measurements at several settings (a sweep, a profile) or
 * estimated from one trace, and the recommendation it gives.  Plain data in,
 * plain data out: no printing here (dvfs_cmd.c reads and renders).
 *
 * Model, with x = f / f_ref (f_ref: the uncapped setting):
 *   time(x)  = t_scaling / x + t_fixed
 *   power(x) = p_static + p_dyn * x^alpha          (alpha ~ 1 + 2 for V ~ f)
 *   energy   = power * time
 * A power limit C acts through the clock: C >= power(1) changes nothing;
 * below it the clock drops to the x where power(x) = C.  The board's own
 * power limit does the same to a requested clock: when the highest settings
 * draw the same power and run no faster, the fit finds x_cap and the clock
 * in effect is min(x, x_cap).  When the highest settings run no faster but
 * draw more (memory bound), time uses min(x, x_knee) and power x.
 * docs/dvfs-model.md. */
#ifndef GS_DVFS_H
#define GS_DVFS_H

#include <stddef.h>

enum dvfs_knob { DVFS_CPU_FREQ, DVFS_GPU_CLOCK, DVFS_GPU_POWER, DVFS_NKNOBS };
enum dvfs_objective { DVFS_ENERGY, DVFS_EDP, DVFS_ED2P };

const char *dvfs_knob_name(int knob);            /* "cpu_freq_khz" ... */
int dvfs_knob_parse(const char *s);              /* -1: unknown */
const char *dvfs_objective_name(int obj);
int dvfs_objective_parse(const char *s);         /* -1: unknown */

struct dvfs_point { double setting, time_s, energy_j; int n; };

/* one layer's (or the whole job's) measurements for one knob */
struct dvfs_series {
    char layer[256];              /* "" = the whole job */
    int knob, device;             /* device -1: none (CPU) */
    struct dvfs_point *pts;
    size_t n, cap;
};
/* add a measurement; repeats of one setting are averaged */
void dvfs_series_add(struct dvfs_series *s, double setting, double time_s, double energy_j);
void dvfs_series_free(struct dvfs_series *s);

struct dvfs_model {
    int knob;
    double f_ref;                 /* the setting where x = 1 (frequency knobs) */
    double t_scaling, t_fixed;    /* s at x = 1 */
    double p_static, p_dyn, alpha;/* W */
    double p_nat;                 /* power knob: natural draw at x = 1 */
    double x_min;                 /* lowest clock fraction a power cap can force */
    double x_cap;                 /* frequency knobs: the board's own power limit holds the
                                   * clock at x_cap (0: no limit seen) */
    double x_knee;                /* frequency knobs: time stops falling above x_knee (memory
                                   * or power bound; 0: none seen); power still follows x */
    double x_vfloor;              /* power knob: below this clock fraction the voltage sits at
                                   * its floor and power is linear in the clock (0: none) */
    double p_floor;               /* power knob: the lowest draw the board came down to where a
                                   * cap below it was not honoured (0: none seen) */
    int n_used;                   /* points the fit used */
    double rms_time_pct, rms_energy_pct;   /* in-sample */
};

/* least squares; 0 ok, -1 too few points (need 2 settings) */
int dvfs_fit(const struct dvfs_series *s, double f_ref, struct dvfs_model *m);
/* leave-one-out: RMS relative error (%) of the energy and time predicted for
 * each left-out setting; -1 when fewer than 3 settings */
int dvfs_loo(const struct dvfs_series *s, double f_ref, double *energy_pct, double *time_pct);
void dvfs_predict(const struct dvfs_model *m, double setting, double *time_s, double *energy_j);

/* choose among candidates; baseline = the uncapped setting */
struct dvfs_choice {
    double baseline, recommended;
    double base_time_s, base_energy_j, time_s, energy_j;
    double saving_pct, slowdown_pct;
};
int dvfs_choose(const struct dvfs_model *m, const double *cand, size_t ncand, double baseline,
                int objective, double max_slowdown_pct, struct dvfs_choice *c);

/* candidates "a,b,c" or "MIN:MAX:STEP": 0 ok, else -1 with a message in err */
int dvfs_parse_candidates(const char *s, double **out, size_t *n, char *err, size_t errlen);
/* default candidates: the measured settings and a grid between their min and
 * max with the smallest measured gap as its step */
size_t dvfs_default_candidates(const struct dvfs_series *s, double **out);

/* single-trace estimate (no measurements at other settings) */
struct dvfs_estimate_in {
    double time_s, energy_j;      /* measured at f_ref */
    double t_compute_s, t_memory_s, t_host_s;   /* split of time_s */
    double host_scaling;          /* share of host time that scales (0..1) */
    double static_share;          /* p_static / average power (0..1) */
    double alpha;
};
void dvfs_estimate(const struct dvfs_estimate_in *in, int knob, double f_ref, struct dvfs_model *m);

/* dvfs_cmd.c: the `dvfs` verb */
int ana_cmd_dvfs(int argc, char **argv);

#endif
