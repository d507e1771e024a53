/* test_shim_settings.c - unit tests of the recorder's settings table
 * (shim/settings.c, linked with shim/log.c alone): values parsed and
 * range-checked, a bad value refused with one line naming the setting and
 * the value and the default used, the lines handed out once, and the log's
 * GREENSHIM_QUIET/DEBUG told by the settings.  Check framework; each test
 * runs in its own process (the table is read once per process). */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gs.h"

static char said[8][256];
static char said_name[8][64];
static int nsaid;
static void say(const char *name, const char *line)
{
    if (nsaid < 8) {
        snprintf(said_name[nsaid], sizeof said_name[0], "%s", name);
        snprintf(said[nsaid], sizeof said[0], "%s", line);
    }
    nsaid++;
}

static void clear_env(void)
{
    static const char *const names[] = { "GREENSHIM", "GREENSHIM_MAX_MB", "GREENSHIM_COUNTER_SAMPLE",
        "GREENSHIM_SAMPLE_HZ", "GREENSHIM_NVML_MS", "GREENSHIM_CLOCK", "GREENSHIM_EVENTS",
        "GREENSHIM_QUIET", "GREENSHIM_DEBUG", "GREENSHIM_RUN_ID", "GREENSHIM_OUT" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unsetenv(names[i]);
    nsaid = 0;
}

START_TEST(defaults)
{
    clear_env();
    gs_settings_load();
    ck_assert_int_eq(gs_setting_bool("GREENSHIM"), 1);
    ck_assert_int_eq(gs_setting_is_set("GREENSHIM"), 0);
    ck_assert_uint_eq(gs_setting_uint("GREENSHIM_COUNTER_SAMPLE"), 512);
    ck_assert_uint_eq(gs_setting_uint("GREENSHIM_MAX_MB"), 0);
    ck_assert_double_eq(gs_setting_double("GREENSHIM_NVML_MS"), 5);
    ck_assert_str_eq(gs_setting_str("GREENSHIM_CLOCK"), "auto");
    ck_assert_str_eq(gs_setting_str("GREENSHIM_OUT"), "");
    gs_settings_report(say);
    ck_assert_int_eq(nsaid, 0);
}
END_TEST

START_TEST(good_values)
{
    clear_env();
    setenv("GREENSHIM_MAX_MB", "64", 1);
    setenv("GREENSHIM_NVML_MS", "2.5", 1);
    setenv("GREENSHIM_CLOCK", "mono", 1);
    setenv("GREENSHIM_SAMPLE_HZ", "auto", 1);
    setenv("GREENSHIM", "0", 1);
    gs_settings_load();
    ck_assert_uint_eq(gs_setting_uint("GREENSHIM_MAX_MB"), 64);
    ck_assert_int_eq(gs_setting_is_set("GREENSHIM_MAX_MB"), 1);
    ck_assert_double_eq(gs_setting_double("GREENSHIM_NVML_MS"), 2.5);
    ck_assert_str_eq(gs_setting_str("GREENSHIM_CLOCK"), "mono");
    ck_assert_str_eq(gs_setting_str("GREENSHIM_SAMPLE_HZ"), "auto");
    ck_assert_int_eq(gs_setting_bool("GREENSHIM"), 0);
    gs_settings_report(say);
    ck_assert_int_eq(nsaid, 0);
}
END_TEST

/* bad values: the default is used and exactly one line per setting says why */
START_TEST(bad_values_refused)
{
    clear_env();
    setenv("GREENSHIM_MAX_MB", "-3", 1);
    setenv("GREENSHIM_COUNTER_SAMPLE", "0", 1);     /* below the range 1..1000000 */
    setenv("GREENSHIM_NVML_MS", "fast", 1);
    setenv("GREENSHIM_CLOCK", "rdtsc", 1);
    gs_settings_load();
    ck_assert_uint_eq(gs_setting_uint("GREENSHIM_MAX_MB"), 0);
    ck_assert_int_eq(gs_setting_is_set("GREENSHIM_MAX_MB"), 0);
    ck_assert_uint_eq(gs_setting_uint("GREENSHIM_COUNTER_SAMPLE"), 512);
    ck_assert_double_eq(gs_setting_double("GREENSHIM_NVML_MS"), 5);
    ck_assert_str_eq(gs_setting_str("GREENSHIM_CLOCK"), "auto");
    gs_settings_report(say);
    ck_assert_int_eq(nsaid, 4);
    /* in the table's order */
    ck_assert_str_eq(said_name[0], "GREENSHIM_COUNTER_SAMPLE");
    ck_assert_str_eq(said[0], "GREENSHIM_COUNTER_SAMPLE=0 is not a whole number from 1 to 1000000: "
                              "using the default (512); see docs/settings.md");
    ck_assert_str_eq(said_name[1], "GREENSHIM_CLOCK");
    ck_assert_str_eq(said[1], "GREENSHIM_CLOCK=rdtsc is not one of auto|tsc|mono: using the default (auto); "
                              "see docs/settings.md");
    ck_assert_str_eq(said_name[2], "GREENSHIM_MAX_MB");
    ck_assert_str_eq(said[2], "GREENSHIM_MAX_MB=-3 is not a whole number from 0 to 1048576: "
                              "using the default (0); see docs/settings.md");
    ck_assert_str_eq(said_name[3], "GREENSHIM_NVML_MS");
    ck_assert_str_eq(said[3], "GREENSHIM_NVML_MS=fast is not a number from 0.5 to 10000: "
                              "using the default (5); see docs/settings.md");
    /* once: a second report says nothing more */
    gs_settings_report(say);
    ck_assert_int_eq(nsaid, 4);
}
END_TEST

/* a value with control characters is quoted printable, and cut at 40 bytes */
START_TEST(bad_value_quoted)
{
    clear_env();
    setenv("GREENSHIM_MAX_MB", "1\n2", 1);
    setenv("GREENSHIM_RUN_ID", "0123456789012345678901234567890123456789-too-long", 1);
    gs_settings_load();
    gs_settings_report(say);
    ck_assert_int_eq(nsaid, 2);
    ck_assert_str_eq(said[0], "GREENSHIM_MAX_MB=1\\x0a2 is not a whole number from 0 to 1048576: "
                              "using the default (0); see docs/settings.md");
    ck_assert_str_eq(said[1], "GREENSHIM_RUN_ID=0123456789012345678901234567890123456789... is 49 bytes "
                              "long, more than the 32 allowed: using the default (not set); see docs/settings.md");
    ck_assert_str_eq(gs_setting_str("GREENSHIM_RUN_ID"), "");
}
END_TEST

/* the log is told GREENSHIM_QUIET by the settings (log.c reads no setting) */
START_TEST(quiet_reaches_the_log)
{
    clear_env();
    setenv("GREENSHIM_QUIET", "1", 1);
    gs_settings_load();
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    int saved = dup(2);
    dup2(p[1], 2);
    gs_log("quiet line");
    unsetenv("GREENSHIM_QUIET");
    setenv("GREENSHIM_DEBUG", "1", 1);
    gs_settings_load();
    gs_dbg("debug line");
    dup2(saved, 2);
    close(p[1]);
    char buf[256] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    ck_assert_int_ge(n, 0);
    buf[n > 0 ? n : 0] = 0;
    ck_assert_str_eq(buf, "greenshim: debug line\n");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shim_settings");
    TCase *tc = tcase_create("settings");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, good_values);
    tcase_add_test(tc, bad_values_refused);
    tcase_add_test(tc, bad_value_quoted);
    tcase_add_test(tc, quiet_reaches_the_log);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
