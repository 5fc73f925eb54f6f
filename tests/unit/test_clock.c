/* test_clock.c -- the monotonic millisecond clock moves forward and at the right scale. */
#include <time.h>

#include <check.h>

#include "clock.h"
#include "suites.h"

START_TEST(test_clock_monotonic_ms) {
    long long a = xq_now_ms(), b;
    struct timespec d = {0, 30 * 1000 * 1000};

    ck_assert_int_ge(xq_now_ms(), a);
    nanosleep(&d, NULL);
    b = xq_now_ms();
    /* 30 ms asleep: at least 29 (both ends truncate to whole ms), and milliseconds, not
     * seconds or microseconds (a generous upper bound for a loaded machine) */
    ck_assert_int_ge(b - a, 29);
    ck_assert_int_lt(b - a, 30000);
}

END_TEST

Suite *clock_suite(void) {
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("clock");

    tcase_add_test(tc, test_clock_monotonic_ms);
    suite_add_tcase(s, tc);
    return s;
}
