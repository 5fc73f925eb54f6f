/* test_numfmt.c -- the shortest round-trip text equals what trying each "%.*g" with snprintf()
 * gives, byte for byte, over random doubles and floats of every magnitude, ties and carries. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "numfmt.h"
#include "suites.h"

/* The definition: the smallest precision from 6 (float) or 15 (double) whose text reads back. */
static void reference(char *buf, double d, bool is_f32) {
    for (int p = is_f32 ? 6 : 15; p <= 17; p++) {
        snprintf(buf, XQ_NUMFMT_SIZE, "%.*g", p, d);
        if (is_f32 ? strtof(buf, NULL) == (float)d : strtod(buf, NULL) == d)
            return;
    }
}

static uint64_t next(uint64_t *s) { /* splitmix64: any sequence of bits will do */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void check_one(double d, bool is_f32) {
    char want[XQ_NUMFMT_SIZE], got[XQ_NUMFMT_SIZE];
    size_t n;

    if (!isfinite(d))
        return;
    reference(want, d, is_f32);
    n = xq_numfmt_shortest(got, d, is_f32);
    ck_assert_msg(strcmp(got, want) == 0 && n == strlen(want), "%.17g (%s): got %s, want %s", d,
                  is_f32 ? "float" : "double", got, want);
}

START_TEST(test_numfmt_random_bits) {
    uint64_t s = 42;

    for (int i = 0; i < 100000; i++) {
        uint64_t r = next(&s);
        double d;
        float f;
        uint32_t r32 = (uint32_t)r;

        memcpy(&d, &r, sizeof(d));
        memcpy(&f, &r32, sizeof(f));
        check_one(d, false);
        check_one((double)f, true);
    }
}

END_TEST

/* What explanations hold: values of every order of magnitude with few digits, sums of them,
 * float32 attributions. */
START_TEST(test_numfmt_decimals_and_results) {
    uint64_t s = 7;

    for (int i = 0; i < 100000; i++) {
        int e = (int)(next(&s) % 40) - 20, k = (int)(next(&s) % 100000);
        double d = (double)k * pow(10, e), sum = 0.1 * (double)(next(&s) % 1000) + 0.2;

        check_one(d, false);
        check_one(-d, false);
        check_one(sum, false);
        check_one((double)(float)d, true);
        check_one((double)(float)(d / 3), true);
    }
}

END_TEST

/* Powers of two and their neighbours (the ulp below is half the ulp above) and exact ties:
 * where the shortest digits and printf's can part (numfmt.c's fast path gives way). */
START_TEST(test_numfmt_powers_of_two) {
    for (int e = -1074; e <= 1023; e++) {
        double d = ldexp(1, e);

        check_one(d, false);
        check_one(nextafter(d, 0), false);
        check_one(nextafter(d, INFINITY), false);
        if (e >= -149 && e <= 127) {
            float f = ldexpf(1, e);

            check_one((double)f, true);
            check_one((double)nextafterf(f, 0), true);
            check_one((double)nextafterf(f, INFINITY), true);
        }
    }
    /* odd multiples of 2^-j end in a 5 exactly: ties at every length up to 17 digits */
    uint64_t s = 3;

    for (int j = 1; j <= 60; j++) {
        for (int i = 0; i < 300; i++) {
            double d = ldexp((double)(next(&s) % (1u << 30) | 1), -j);

            check_one(d, false);
            check_one((double)(float)d, true);
        }
    }
}

END_TEST

/* Ties at a precision (x.5 exactly), carries (9.99... rounding up past a power of 10), the
 * switch between fixed and scientific forms, zeros, extremes. */
START_TEST(test_numfmt_edges) {
    static const double v[] = {0.0,
                               -0.0,
                               0.5,
                               1.5,
                               2.5,
                               0.125,
                               1234567.5,
                               123456.5,
                               9.5,
                               99999.95,
                               999999.5,
                               9999995,
                               0.00001,
                               0.0001,
                               0.001,
                               1e15,
                               1e16,
                               1e17,
                               123456789012345678.0,
                               1e-5,
                               9.999999999999999e22,
                               5e-324,
                               2.2250738585072014e-308,
                               1.7976931348623157e308,
                               0.1,
                               0.2,
                               0.3,
                               1.0 / 3,
                               2.0 / 3,
                               100,
                               1e6,
                               1e5,
                               123456,
                               1234567};

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        check_one(v[i], false);
        check_one(-v[i], false);
        check_one((double)(float)v[i], true);
    }
    for (int e = -320; e <= 308; e++) { /* every power of ten, and its neighbours */
        double d = pow(10, e);

        check_one(d, false);
        check_one(nextafter(d, 0), false);
        check_one(nextafter(d, INFINITY), false);
        check_one((double)(float)d, true);
        check_one((double)nextafterf((float)d, 0), true);
        check_one((double)nextafterf((float)d, INFINITY), true);
    }
    for (int k = 0; k < 100000; k++) { /* every float from 1 up a long way: all ties there */
        float f = 1.0f + (float)k * 0x1p-23f;

        check_one((double)f, true);
        check_one((double)f * 1e-3, false);
    }
}

END_TEST

Suite *numfmt_suite(void) {
    Suite *s = suite_create("numfmt");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_numfmt_random_bits);
    tcase_add_test(tc, test_numfmt_decimals_and_results);
    tcase_add_test(tc, test_numfmt_edges);
    tcase_add_test(tc, test_numfmt_powers_of_two);
    suite_add_tcase(s, tc);
    return s;
}
