/* test_metrics.c -- the metrics registry: exposition text, histograms, escaping, limits, threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "metrics.h"
#include "suites.h"

static char *render(xq_metrics_t *m) {
    xq_buf_t b;

    xq_buf_init(&b);
    xq_metrics_render(m, &b);
    xq_buf_cstr(&b);
    return (char *)xq_buf_detach(&b, NULL);
}

START_TEST(test_metrics_exposition) {
    xq_metrics_t *m = xq_metrics_new();
    const double bounds[] = {0.01, 0.1, 1};
    xq_error_t err;
    char *text;

    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_COUNTER, "x_jobs_total", "jobs\nby code",
                                        "code", NULL, 0, &err),
                     XQ_OK);
    ck_assert_int_eq(
        xq_metrics_declare(m, XQ_METRIC_GAUGE, "x_lag", "lag", "topic,partition", NULL, 0, &err),
        XQ_OK);
    ck_assert_int_eq(
        xq_metrics_declare(m, XQ_METRIC_HISTOGRAM, "x_seconds", "latency", NULL, bounds, 3, &err),
        XQ_OK);
    xq_metrics_add(m, "x_jobs_total", "ok", NULL, 1);
    xq_metrics_add(m, "x_jobs_total", "ok", NULL, 2);
    xq_metrics_add(m, "x_jobs_total", "a\"b\\c\nd", NULL, 1);
    xq_metrics_add(m, "x_jobs_total", "ok", NULL, -5); /* a counter never goes down */
    xq_metrics_set(m, "x_lag", "t", "3", 7);
    xq_metrics_set(m, "x_lag", "t", "3", 4);
    xq_metrics_add(m, "x_lag", "t", "3", -1);
    xq_metrics_observe(m, "x_seconds", NULL, NULL, 0.01); /* le is inclusive */
    xq_metrics_observe(m, "x_seconds", NULL, NULL, 0.5);
    xq_metrics_observe(m, "x_seconds", NULL, NULL, 0.5);
    xq_metrics_observe(m, "x_seconds", NULL, NULL, 9);
    text = render(m);
    ck_assert_str_eq(text, "# HELP x_jobs_total jobs\\nby code\n"
                           "# TYPE x_jobs_total counter\n"
                           "x_jobs_total{code=\"ok\"} 3\n"
                           "x_jobs_total{code=\"a\\\"b\\\\c\\nd\"} 1\n"
                           "# HELP x_lag lag\n"
                           "# TYPE x_lag gauge\n"
                           "x_lag{topic=\"t\",partition=\"3\"} 3\n"
                           "# HELP x_seconds latency\n"
                           "# TYPE x_seconds histogram\n"
                           "x_seconds_bucket{le=\"0.01\"} 1\n"
                           "x_seconds_bucket{le=\"0.1\"} 1\n"
                           "x_seconds_bucket{le=\"1\"} 3\n"
                           "x_seconds_bucket{le=\"+Inf\"} 4\n"
                           "x_seconds_sum 10.01\n"
                           "x_seconds_count 4\n"
                           "# HELP explainq_metrics_dropped_updates_total updates of series past "
                           "the per-family limit\n"
                           "# TYPE explainq_metrics_dropped_updates_total counter\n"
                           "explainq_metrics_dropped_updates_total 0\n");
    xq_free(text);
    ck_assert(xq_metrics_get(m, "x_jobs_total", "ok", NULL) == 3);
    ck_assert(xq_metrics_get(m, "x_seconds", NULL, NULL) == 4);
    ck_assert(xq_metrics_get(m, "x_jobs_total", "never", NULL) == 0);
    xq_metrics_clear(m, "x_lag");
    text = render(m);
    ck_assert_ptr_null(strstr(text, "x_lag{"));
    xq_free(text);
    xq_metrics_destroy(m);
}

END_TEST

/* Counts held back (the worker's, until their transaction commits): moved when true, dropped
 * when not. */
static xq_metrics_t *staged_pair_member(void) {
    const double bounds[] = {0.1, 1};
    xq_metrics_t *m = xq_metrics_new();
    xq_error_t err;

    ck_assert_int_eq(
        xq_metrics_declare(m, XQ_METRIC_COUNTER, "x_done_total", "done", "method", NULL, 0, &err),
        XQ_OK);
    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_GAUGE, "x_lag", "lag", NULL, NULL, 0, &err),
                     XQ_OK);
    ck_assert_int_eq(
        xq_metrics_declare(m, XQ_METRIC_HISTOGRAM, "x_err", "error", "method", bounds, 2, &err),
        XQ_OK);
    return m;
}

START_TEST(test_metrics_move) {
    xq_metrics_t *m = staged_pair_member(), *staged = staged_pair_member();
    char *text;

    xq_metrics_add(m, "x_done_total", "ig", NULL, 1);
    xq_metrics_add(staged, "x_done_total", "ig", NULL, 2);
    xq_metrics_add(staged, "x_done_total", "shapley", NULL, 5);
    xq_metrics_observe(staged, "x_err", "ig", NULL, 0.05);
    xq_metrics_observe(staged, "x_err", "ig", NULL, 0.5);
    xq_metrics_set(staged, "x_lag", NULL, NULL, 9); /* a gauge is not moved */
    xq_metrics_move(m, staged);
    ck_assert(xq_metrics_get(m, "x_done_total", "ig", NULL) == 3);
    ck_assert(xq_metrics_get(m, "x_done_total", "shapley", NULL) == 5);
    ck_assert(xq_metrics_get(m, "x_err", "ig", NULL) == 2);
    ck_assert(xq_metrics_get(m, "x_lag", NULL, NULL) == 0);
    ck_assert(xq_metrics_get(staged, "x_done_total", "shapley", NULL) == 0);
    ck_assert(xq_metrics_get(staged, "x_err", "ig", NULL) == 0);
    text = render(m);
    ck_assert_ptr_nonnull(strstr(text, "x_err_bucket{method=\"ig\",le=\"0.1\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "x_err_bucket{method=\"ig\",le=\"1\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "x_err_sum{method=\"ig\"} 0.55\n"));
    xq_free(text);
    /* an abort: what was staged is dropped, the totals stay */
    xq_metrics_add(staged, "x_done_total", "ig", NULL, 7);
    xq_metrics_observe(staged, "x_err", "ig", NULL, 0.01);
    xq_metrics_zero(staged);
    xq_metrics_move(m, staged);
    ck_assert(xq_metrics_get(m, "x_done_total", "ig", NULL) == 3);
    ck_assert(xq_metrics_get(m, "x_err", "ig", NULL) == 2);
    xq_metrics_destroy(staged);
    xq_metrics_destroy(m);
}

END_TEST

START_TEST(test_metrics_declare_errors) {
    xq_metrics_t *m = xq_metrics_new();
    const double bad[] = {1, 1}, nan_b[] = {0.0 / 0.0};
    xq_error_t err;

    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_COUNTER, "9x", "", NULL, NULL, 0, &err),
                     XQ_EINVAL);
    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_COUNTER, "a-b", "", NULL, NULL, 0, &err),
                     XQ_EINVAL);
    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_COUNTER, "a", "", "x,y,z", NULL, 0, &err),
                     XQ_EINVAL);
    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_COUNTER, "a", "", "le", NULL, 0, &err),
                     XQ_EINVAL);
    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_HISTOGRAM, "h", "", NULL, bad, 2, &err),
                     XQ_EINVAL);
    ck_assert_str_eq(err.msg, "bucket bounds must be finite and strictly increasing");
    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_HISTOGRAM, "h", "", NULL, nan_b, 1, &err),
                     XQ_EINVAL);
    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_HISTOGRAM, "h", "", NULL, NULL, 0, &err),
                     XQ_EINVAL);
    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_GAUGE, "g", "", NULL, NULL, 0, &err), XQ_OK);
    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_GAUGE, "g", "", NULL, NULL, 0, &err),
                     XQ_EINVAL);
    ck_assert_str_eq(err.msg, "declared twice");
    xq_metrics_destroy(m);
}

END_TEST

START_TEST(test_metrics_series_cap) {
    xq_metrics_t *m = xq_metrics_new();
    xq_error_t err;
    char v[32];

    ck_assert_int_eq(xq_metrics_declare(m, XQ_METRIC_COUNTER, "c_total", "", "k", NULL, 0, &err),
                     XQ_OK);
    for (int i = 0; i < XQ_METRICS_MAX_SERIES + 10; i++) {
        snprintf(v, sizeof(v), "%d", i);
        xq_metrics_add(m, "c_total", v, NULL, 1);
    }
    ck_assert(xq_metrics_get(m, "c_total", "0", NULL) == 1);
    ck_assert(xq_metrics_get(m, "c_total", "1030", NULL) == 0);
    {
        char *text = render(m);

        ck_assert_ptr_nonnull(strstr(text, "\nexplainq_metrics_dropped_updates_total 10\n"));
        xq_free(text);
    }
    xq_metrics_destroy(m);
}

END_TEST

static void *adder(void *arg) {
    xq_metrics_t *m = arg;

    for (int i = 0; i < 20000; i++) {
        xq_metrics_add(m, "t_total", i % 2 ? "odd" : "even", NULL, 1);
        xq_metrics_observe(m, "t_h", NULL, NULL, i % 3);
    }
    return NULL;
}

START_TEST(test_metrics_threads) {
    xq_metrics_t *m = xq_metrics_new();
    const double b[] = {0.5, 1.5};
    pthread_t t[4];
    xq_error_t err;

    xq_metrics_declare(m, XQ_METRIC_COUNTER, "t_total", "", "parity", NULL, 0, &err);
    xq_metrics_declare(m, XQ_METRIC_HISTOGRAM, "t_h", "", NULL, b, 2, &err);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, adder, m);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert(xq_metrics_get(m, "t_total", "odd", NULL) == 40000);
    ck_assert(xq_metrics_get(m, "t_total", "even", NULL) == 40000);
    ck_assert(xq_metrics_get(m, "t_h", NULL, NULL) == 80000);
    {
        char *text = render(m);

        /* i % 3 over 0..19999: 6667 zeros, 6667 ones, 6666 twos per thread */
        ck_assert_ptr_nonnull(strstr(text, "t_h_bucket{le=\"0.5\"} 26668\n"));
        ck_assert_ptr_nonnull(strstr(text, "t_h_bucket{le=\"1.5\"} 53336\n"));
        ck_assert_ptr_nonnull(strstr(text, "t_h_sum 79996\n"));
        xq_free(text);
    }
    xq_metrics_destroy(m);
}

END_TEST

Suite *metrics_suite(void) {
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");

    tcase_add_test(tc, test_metrics_exposition);
    tcase_add_test(tc, test_metrics_declare_errors);
    tcase_add_test(tc, test_metrics_series_cap);
    tcase_add_test(tc, test_metrics_threads);
    tcase_add_test(tc, test_metrics_move);
    suite_add_tcase(s, tc);
    return s;
}
