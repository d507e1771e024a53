/* test_dvfs.c - the DVFS model (analyzer/stages/dvfs.c): synthetic layers with
 * known time and power curves are fitted back, the optimum found from three
 * settings is the true optimum, leave-one-out is ~0 on exact data and large
 * on data the model cannot follow, the power-limit model leaves the job alone
 * above its natural draw, objectives, candidate parsing and the single-trace
 * estimate.  Check framework. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "stages/dvfs.h"

/* the truth: time = ts*fr/f + tf; power = ps + pd*(f/fr)^a */
struct truth { double fr, ts, tf, ps, pd, a; };

static void truth_at(const struct truth *t, double f, double *time, double *energy)
{
    double x = f / t->fr;
    *time = t->ts / x + t->tf;
    *energy = (t->ps + t->pd * pow(x, t->a)) * *time;
}

static void series_from(struct dvfs_series *s, const struct truth *t, const double *set, int n)
{
    memset(s, 0, sizeof *s);
    s->knob = DVFS_GPU_CLOCK;
    for (int i = 0; i < n; i++) {
        double tm, e;
        truth_at(t, set[i], &tm, &e);
        dvfs_series_add(s, set[i], tm, e);
    }
}

/* the best candidate by brute force on the truth */
static double true_best(const struct truth *t, const double *c, int n, double maxslow)
{
    double tb, eb, best = INFINITY, at = 0;
    truth_at(t, t->fr, &tb, &eb);
    for (int i = 0; i < n; i++) {
        double tm, e;
        truth_at(t, c[i], &tm, &e);
        if (100 * (tm / tb - 1) <= maxslow + 1e-9 && e < best) {
            best = e;
            at = c[i];
        }
    }
    return at;
}

START_TEST(fit_recovers_parameters)
{
    struct truth t = { 1500, 2.0, 1.0, 60, 190, 3.0 };
    double set[] = { 900, 1200, 1500 };
    struct dvfs_series s;
    series_from(&s, &t, set, 3);
    struct dvfs_model m;
    ck_assert_int_eq(dvfs_fit(&s, 1500, &m), 0);
    ck_assert_double_eq_tol(m.t_scaling, 2.0, 1e-9);
    ck_assert_double_eq_tol(m.t_fixed, 1.0, 1e-9);
    ck_assert_double_eq_tol(m.alpha, 3.0, 0.051);
    ck_assert_double_eq_tol(m.p_static, 60, 3);
    ck_assert_double_eq_tol(m.p_dyn, 190, 3);
    ck_assert(m.rms_energy_pct < 0.5);
    dvfs_series_free(&s);
}
END_TEST

START_TEST(three_points_find_the_optimum)
{
    /* a compute-bound and a memory-bound layer, different optima */
    struct truth layers[] = {
        { 1410, 3.0, 0.3, 70, 230, 2.6 },    /* mostly scaling: optimum near the top */
        { 1410, 0.8, 2.2, 70, 230, 2.6 },    /* mostly fixed: optimum low */
        { 1410, 1.5, 1.5, 120, 180, 1.8 },
    };
    double cand[64];
    int nc = 0;
    for (double f = 600; f <= 1410 + 1e-9; f += 45)
        cand[nc++] = f;
    double set[] = { 600, 1005, 1410 };
    for (size_t L = 0; L < sizeof layers / sizeof *layers; L++)
        for (int obj = 0; obj < 2; obj++) {
            double maxslow = obj ? 1e9 : 5;
            struct dvfs_series s;
            series_from(&s, &layers[L], set, 3);
            struct dvfs_model m;
            ck_assert_int_eq(dvfs_fit(&s, 1410, &m), 0);
            struct dvfs_choice c;
            ck_assert_int_eq(dvfs_choose(&m, cand, (size_t)nc, 1410, DVFS_ENERGY, maxslow, &c), 0);
            double want = true_best(&layers[L], cand, nc, maxslow);
            ck_assert_msg(fabs(c.recommended - want) <= 45 + 1e-9, "layer %zu: recommended %g, true optimum %g",
                          L, c.recommended, want);
            double tt, te;
            truth_at(&layers[L], c.recommended, &tt, &te);
            ck_assert_msg(fabs(c.energy_j - te) / te < 0.02, "predicted %g J, true %g J", c.energy_j, te);
            if (obj == 0)
                ck_assert(c.slowdown_pct <= 5 + 1e-9);
            dvfs_series_free(&s);
        }
}
END_TEST

/* the board's power limit holds the top settings: same power, same time */
START_TEST(board_power_limit_and_time_knee)
{
    double set[] = { 400, 600, 900, 1000 }, xc = sqrt(0.6);   /* 20 + 100 x^2 = 80 W at xc */
    struct dvfs_series s;
    memset(&s, 0, sizeof s);
    s.knob = DVFS_GPU_CLOCK;
    for (int i = 0; i < 4; i++) {
        double x = set[i] / 1000, xe = x < xc ? x : xc;
        double t = 2 / xe + 1, p = 20 + 100 * xe * xe;
        dvfs_series_add(&s, set[i], t, p * t);
    }
    struct dvfs_model m;
    ck_assert_int_eq(dvfs_fit(&s, 1000, &m), 0);
    ck_assert_msg(fabs(m.x_cap - xc) < 0.01, "x_cap %g, want %g", m.x_cap, xc);
    double t1, e1, t2, e2;
    dvfs_predict(&m, 1000, &t1, &e1);
    dvfs_predict(&m, 800, &t2, &e2);             /* above the limit too: no change */
    ck_assert_double_eq_tol(t1, t2, 1e-9);
    ck_assert_double_eq_tol(t1, 2 / xc + 1, 0.01);
    dvfs_series_free(&s);
    /* memory bound above a knee: time flat, power still rising */
    double set2[] = { 500, 700, 800, 1000 }, xk = 0.75;
    memset(&s, 0, sizeof s);
    s.knob = DVFS_GPU_CLOCK;
    for (int i = 0; i < 4; i++) {
        double x = set2[i] / 1000, xt = x < xk ? x : xk;
        double t = 1.5 / xt + 0.5, p = 30 + 90 * x * x * x;
        dvfs_series_add(&s, set2[i], t, p * t);
    }
    ck_assert_int_eq(dvfs_fit(&s, 1000, &m), 0);
    ck_assert_msg(m.x_cap == 0 && fabs(m.x_knee - xk) < 0.02, "x_cap %g x_knee %g", m.x_cap, m.x_knee);
    double cand[] = { 500, 600, 700, 750, 800, 900, 1000 };
    struct dvfs_choice c;
    ck_assert_int_eq(dvfs_choose(&m, cand, 7, 1000, DVFS_ENERGY, 0.5, &c), 0);
    ck_assert_msg(c.recommended == 750, "memory bound: recommended %g, want the knee 750", c.recommended);
    dvfs_series_free(&s);
}
END_TEST

START_TEST(leave_one_out)
{
    struct truth t = { 2000, 1.0, 0.5, 30, 90, 2.5 };
    double set[] = { 1000, 1250, 1500, 1750, 2000 };
    struct dvfs_series s;
    series_from(&s, &t, set, 5);
    double le, lt;
    ck_assert_int_eq(dvfs_loo(&s, 2000, &le, &lt), 0);
    ck_assert_msg(le < 0.5 && lt < 1e-6, "exact data: loo energy %g%% time %g%%", le, lt);
    /* data the model cannot follow (a step in time) shows up in the error */
    s.pts[2].time_s *= 1.5;
    s.pts[2].energy_j *= 1.5;
    ck_assert_int_eq(dvfs_loo(&s, 2000, &le, &lt), 0);
    ck_assert_msg(le > 5 && lt > 5, "perturbed: loo energy %g%% time %g%%", le, lt);
    s.n = 2;
    ck_assert_int_eq(dvfs_loo(&s, 2000, &le, &lt), -1);
    dvfs_series_free(&s);
}
END_TEST

START_TEST(repeats_average)
{
    struct dvfs_series s;
    memset(&s, 0, sizeof s);
    dvfs_series_add(&s, 100, 1, 10);
    dvfs_series_add(&s, 100, 3, 30);
    dvfs_series_add(&s, 200, 1, 10);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_double_eq_tol(s.pts[0].time_s, 2, 1e-12);
    ck_assert_double_eq_tol(s.pts[0].energy_j, 20, 1e-12);
    ck_assert_int_eq(s.pts[0].n, 2);
    dvfs_series_free(&s);
}
END_TEST

/* a power cap above the natural draw changes nothing; below, the clock
 * drops until the power meets the cap */
START_TEST(power_limit_model)
{
    /* truth: natural 250 W at x = 1; P(x) = 50 + 200 x^3; time 1/x + 1 */
    struct dvfs_series s;
    memset(&s, 0, sizeof s);
    s.knob = DVFS_GPU_POWER;
    double caps[] = { 150, 200, 250, 300 };
    for (int i = 0; i < 4; i++) {
        double p = caps[i] < 250 ? caps[i] : 250;
        double x = pow((p - 50) / 200, 1.0 / 3);
        double t = 1 / x + 1;
        dvfs_series_add(&s, caps[i], t, p * t);
    }
    struct dvfs_model m;
    ck_assert_int_eq(dvfs_fit(&s, 300, &m), 0);
    double t1, e1, t2, e2, t3, e3;
    dvfs_predict(&m, 300, &t1, &e1);
    dvfs_predict(&m, 400, &t2, &e2);
    ck_assert_double_eq_tol(t1, t2, 1e-12);
    ck_assert_double_eq_tol(e1, e2, 1e-12);
    ck_assert_double_eq_tol(t1, 2, 0.02);
    dvfs_predict(&m, 175, &t3, &e3);
    double x = pow((175.0 - 50) / 200, 1.0 / 3);
    ck_assert_msg(fabs(t3 - (1 / x + 1)) / (1 / x + 1) < 0.03, "capped at 175 W: %g s, want %g s", t3, 1 / x + 1);
    ck_assert_double_eq_tol(e3 / t3, 175, 1);
    ck_assert(t3 > t1);
    dvfs_series_free(&s);
}
END_TEST

/* a GPU under a power cap: voltage at its floor below 85 % of the clock
 * (power linear in the clock there), x^3 above; the board cannot draw less
 * than 41 W; time 40 s / x.  From three caps (30 W: not honoured, 80 W,
 * 130 W: uncapped) the energy-optimal cap lands at the knee, within one
 * 5 W step, and its energy within 3 % */
static void knee_truth(double cap, double *t, double *e)
{
    double pnat = 30 + 90.0, p = cap < pnat ? cap : pnat, x;
    if (p < 41)
        p = 41;
    double kink = 30 + 90 * 0.85 * 0.85 * 0.85;
    x = p <= kink ? (p - 30) / (90 * 0.85 * 0.85) : cbrt((p - 30) / 90);
    *t = 40 / x;
    *e = p * *t;
}

START_TEST(power_limit_knee)
{
    struct dvfs_series s;
    memset(&s, 0, sizeof s);
    s.knob = DVFS_GPU_POWER;
    double caps[] = { 30, 80, 130 }, t, e;
    for (int i = 0; i < 3; i++) {
        knee_truth(caps[i], &t, &e);
        dvfs_series_add(&s, caps[i], t, e);
    }
    struct dvfs_model m;
    ck_assert_int_eq(dvfs_fit(&s, 130, &m), 0);
    double cand[21], best = 0, be = INFINITY;
    for (int i = 0; i <= 20; i++) {
        cand[i] = 30 + 5 * i;
        knee_truth(cand[i], &t, &e);
        if (e < be) { be = e; best = cand[i]; }
    }
    struct dvfs_choice c;
    ck_assert_int_eq(dvfs_choose(&m, cand, 21, 130, DVFS_ENERGY, 1e9, &c), 0);
    ck_assert_msg(fabs(c.recommended - best) <= 5, "recommended %g W, the optimum is %g W", c.recommended, best);
    knee_truth(c.recommended, &t, &e);
    ck_assert_msg(fabs(c.energy_j / e - 1) < 0.03, "predicted %g J at %g W, truth %g J", c.energy_j, c.recommended, e);
    /* a cap below the board's floor: what the floor gives, not a stall */
    double t30, e30;
    dvfs_predict(&m, 30, &t30, &e30);
    knee_truth(30, &t, &e);
    ck_assert_msg(fabs(t30 / t - 1) < 0.03, "30 W: %g s, truth %g s", t30, t);
    dvfs_series_free(&s);
}
END_TEST

START_TEST(objectives)
{
    /* a memory-bound job: energy wants the lowest clock, EDP less low, ED2P higher */
    struct dvfs_model m;
    memset(&m, 0, sizeof m);
    m.knob = DVFS_CPU_FREQ; m.f_ref = 3000; m.t_scaling = 1; m.t_fixed = 2;
    m.p_static = 20; m.p_dyn = 80; m.alpha = 3; m.x_min = 0.05;
    double cand[21];
    for (int i = 0; i <= 20; i++)
        cand[i] = 1000 + 100 * i;
    struct dvfs_choice ce, cd, c2, c0;
    ck_assert_int_eq(dvfs_choose(&m, cand, 21, 3000, DVFS_ENERGY, 1e9, &ce), 0);
    ck_assert_int_eq(dvfs_choose(&m, cand, 21, 3000, DVFS_EDP, 5, &cd), 0);
    ck_assert_int_eq(dvfs_choose(&m, cand, 21, 3000, DVFS_ED2P, 5, &c2), 0);
    ck_assert(ce.recommended <= cd.recommended);
    ck_assert(cd.recommended <= c2.recommended);
    ck_assert(ce.recommended < c2.recommended);
    /* no slowdown allowed: the baseline */
    ck_assert_int_eq(dvfs_choose(&m, cand, 21, 3000, DVFS_ENERGY, 0, &c0), 0);
    ck_assert_double_eq(c0.recommended, 3000);
    ck_assert_double_eq_tol(c0.saving_pct, 0, 1e-9);
    /* the baseline is the uncapped setting even when candidates stop below it */
    ck_assert_int_eq(dvfs_choose(&m, cand, 10, 3000, DVFS_ENERGY, 5, &c0), 0);
    ck_assert_double_eq(c0.baseline, 3000);
    ck_assert(c0.slowdown_pct <= 5);
}
END_TEST

START_TEST(candidates)
{
    double *v;
    size_t n;
    char err[256];
    ck_assert_int_eq(dvfs_parse_candidates("3,1,2,2", &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert(v[0] == 1 && v[2] == 3);
    free(v);
    ck_assert_int_eq(dvfs_parse_candidates("1000:2000:300", &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 5);              /* 1000 1300 1600 1900 and the max 2000 */
    ck_assert(v[4] == 2000);
    free(v);
    ck_assert_int_eq(dvfs_parse_candidates("2000:1000:100", &v, &n, err, sizeof err), -1);
    ck_assert(strstr(err, "empty range"));
    ck_assert_int_eq(dvfs_parse_candidates("1000:2000:0", &v, &n, err, sizeof err), -1);
    ck_assert_int_eq(dvfs_parse_candidates("1000:2000", &v, &n, err, sizeof err), -1);
    ck_assert_int_eq(dvfs_parse_candidates("a,b", &v, &n, err, sizeof err), -1);
    ck_assert_int_eq(dvfs_parse_candidates("", &v, &n, err, sizeof err), -1);
    ck_assert_int_eq(dvfs_parse_candidates("1,-2", &v, &n, err, sizeof err), -1);
    ck_assert_int_eq(dvfs_parse_candidates("1,nan", &v, &n, err, sizeof err), -1);
    ck_assert_int_eq(dvfs_knob_parse("gpu_power_limit_w"), DVFS_GPU_POWER);
    ck_assert_int_eq(dvfs_knob_parse("gpu_power"), -1);
    ck_assert_int_eq(dvfs_objective_parse("ed2p"), DVFS_ED2P);
    ck_assert_int_eq(dvfs_objective_parse("edpp"), -1);
    /* default candidates: the measured settings and a grid at their smallest gap */
    struct dvfs_series s;
    memset(&s, 0, sizeof s);
    dvfs_series_add(&s, 600, 1, 1);
    dvfs_series_add(&s, 800, 1, 1);
    dvfs_series_add(&s, 1300, 1, 1);
    n = dvfs_default_candidates(&s, &v);
    ck_assert_uint_eq(n, 5);              /* 600 800 1000 1200 1300 */
    ck_assert(v[2] == 1000 && v[4] == 1300);
    free(v);
    dvfs_series_free(&s);
}
END_TEST

START_TEST(single_trace_estimate)
{
    struct dvfs_estimate_in in = { 10, 500, 4, 2, 4, 0.5, 0.3, 3 };
    struct dvfs_model m;
    dvfs_estimate(&in, DVFS_CPU_FREQ, 3000000, &m);
    ck_assert_double_eq_tol(m.t_scaling, 6, 1e-12);   /* compute + half the host */
    ck_assert_double_eq_tol(m.t_fixed, 4, 1e-12);
    ck_assert_double_eq_tol(m.p_static, 15, 1e-12);
    ck_assert_double_eq_tol(m.p_dyn, 35, 1e-12);
    double t, e;
    dvfs_predict(&m, 3000000, &t, &e);                /* reproduces the measurement */
    ck_assert_double_eq_tol(t, 10, 1e-12);
    ck_assert_double_eq_tol(e, 500, 1e-9);
    dvfs_predict(&m, 1500000, &t, &e);
    ck_assert_double_eq_tol(t, 16, 1e-12);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dvfs");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, fit_recovers_parameters);
    tcase_add_test(tc, three_points_find_the_optimum);
    tcase_add_test(tc, board_power_limit_and_time_knee);
    tcase_add_test(tc, leave_one_out);
    tcase_add_test(tc, repeats_average);
    tcase_add_test(tc, power_limit_model);
    tcase_add_test(tc, power_limit_knee);
    tcase_add_test(tc, objectives);
    tcase_add_test(tc, candidates);
    tcase_add_test(tc, single_trace_estimate);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
