/* test_shapley.c -- Sampled Shapley against exact answers (T1 table, enumeration, linear). */
#include <math.h>
#include <string.h>

#include <check.h>

#include "explain_helpers.h"
#include "helpers.h"
#include "layout.h"
#include "methods/run.h"
#include "methods/shapley.h"
#include "rows.h"
#include "spec_helpers.h"
#include "suites.h"
#include "testmodels.h"

#define F32_TOL 1e-5

#define T1_META(b)                                                                                 \
    "'metadata': {'inputs': {'x1': {'inputTensorName': 'x'" b "}, 'x2': {'inputTensorName': 'x'" b \
    "}, 'x3': {'inputTensorName': 'x'" b "}}, 'outputs': {'y': {}}}"

static xq_model_t *t1_model(void) {
    tfun_t f = {.in_cnt = 3, .out_cnt = 1, .f = t_t1_f, .df = t_t1_df};
    const char *names[] = {"x"};
    size_t sizes[] = {3};

    return t_model(&f, names, sizes, 1, 0, NULL, NULL);
}

/* Runs one instance through Sampled Shapley with the given permutations; phi gets slot values. */
static void run_with_perms(const char *spec_json,
                           xq_model_t *m,
                           const char *inst_json,
                           const uint32_t *perms,
                           size_t paths,
                           double *phi) {
    char *sj = t_dq(spec_json), *ij = t_dq(inst_json);
    xq_spec_t *spec = t_spec_ok(sj);
    xq_run_opts_t o = {0};
    msgpack_unpacked msg;
    xq_layout_t *l = NULL;
    xq_error_t err;
    xq_rows_t rows;
    xq_run_t *run;
    xq_buf_t b;

    xq_buf_init(&b);
    t_json_to_mp(ij, &b);
    t_unpack(&b, &msg);
    ck_assert_int_eq(xq_layout_build(spec, m, &msg.data, 0, &l, &err), XQ_OK);
    run = xq_run_new(spec, l, xq_model_output(m), &o, 0);
    xq_shapley_set_permutations(xq_run_method_state(run), perms, paths);
    xq_rows_init(&rows);
    while (xq_run_next(run) != XQ_STEP_DONE) {
        size_t n;

        xq_rows_reset(&rows, l, 1, false);
        n = xq_run_plan(run, &rows, 1000);
        ck_assert_int_eq(xq_rows_eval(&rows, m, 0, &err), XQ_OK);
        xq_run_reduce(run, &rows, 0, n);
    }
    ck_assert_int_eq(xq_run_status(run, &err), XQ_OK);
    memcpy(phi, xq_run_explanation(run)->attrs[0].values, l->slot_cnt * sizeof(double));
    xq_rows_fini(&rows);
    xq_run_destroy(run);
    xq_layout_destroy(l);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&b);
    xq_spec_destroy(spec);
    xq_free(sj);
    xq_free(ij);
}

/* docs/design.md §4.1 T1: the marginal vector of each of the six orders. */
START_TEST(test_shapley_t1_permutation_table) {
    static const uint32_t perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                         {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const double want[6][3] = {{0, 2, 12}, {0, 8, 6}, {2, 0, 12},
                                      {8, 0, 6},  {0, 8, 6}, {8, 0, 6}};
    xq_model_t *m = t1_model();
    double phi[3];

    for (int p = 0; p < 6; p++) {
        run_with_perms(
            "{'parameters': {'sampledShapleyAttribution': {'pathCount': 1}}, " T1_META("") "}", m,
            "{'x1': 1, 'x2': 2, 'x3': 3}", perms[p], 1, phi);
        for (int i = 0; i < 3; i++)
            ck_assert_double_eq_tol(phi[i], want[p][i], F32_TOL);
    }
    /* all six orders: the exact Shapley value (3, 3, 8) */
    run_with_perms(
        "{'parameters': {'sampledShapleyAttribution': {'pathCount': 6}}, " T1_META("") "}", m,
        "{'x1': 1, 'x2': 2, 'x3': 3}", &perms[0][0], 6, phi);
    ck_assert_double_eq_tol(phi[0], 3, F32_TOL);
    ck_assert_double_eq_tol(phi[1], 3, F32_TOL);
    ck_assert_double_eq_tol(phi[2], 8, F32_TOL);
    /* baselines 0 and 1, every order: ((3, 3, 8) + (0, 3, 7)) / 2 */
    run_with_perms("{'parameters': {'sampledShapleyAttribution': {'pathCount': 6}}, " T1_META(
                       ", 'inputBaselines': [0, 1]") "}",
                   m, "{'x1': 1, 'x2': 2, 'x3': 3}", &perms[0][0], 6, phi);
    ck_assert_double_eq_tol(phi[0], 1.5, F32_TOL);
    ck_assert_double_eq_tol(phi[1], 3, F32_TOL);
    ck_assert_double_eq_tol(phi[2], 7.5, F32_TOL);
    xq_model_destroy(m);
}

END_TEST

/* Every walk telescopes: sum phi = F(x) - F(x') for any paths; a linear model gives w (x - x'). */
START_TEST(test_shapley_linear_exact) {
    tfun_t f = {.in_cnt = 6,
                .out_cnt = 1,
                .f = t_linear_f,
                .df = t_linear_df,
                .w = {1, -2, 0.5, 3, -0.25, 1.5}};
    const char *names[] = {"v"};
    size_t sizes[] = {6};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    const double x[] = {1, 2, 3, -1, 4, 0};
    texpl_t e;

    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 4}}}", m,
              "[{'v': [1, 2, 3, -1, 4, 0]}]", NULL, &e);
    for (size_t i = 0; i < 6; i++)
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "v", i), f.w[i] * x[i], F32_TOL);
    /* marginals do not depend on the order, so their spread (the error) is float noise */
    ck_assert(t_num(&e, 0, 0, "approximationError") < 1e-6);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* 2 + P (players - 1) rows for one baseline; 1 + B + P B (players - 1) for B. */
START_TEST(test_shapley_row_counts) {
    xq_model_t *m = t1_model();
    texpl_t e;

    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}}, " T1_META("") "}", m,
              "[{'x1': 1, 'x2': 2, 'x3': 3}]", NULL, &e);
    ck_assert_uint_eq(e.fwd_rows, 2 + 5 * 2);
    ck_assert_uint_eq(e.grad_rows, 0);
    t_explain_fini(&e);
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}}, " T1_META(
                  ", 'inputBaselines': [0, 1]") "}",
              m, "[{'x1': 1, 'x2': 2, 'x3': 3}]", NULL, &e);
    ck_assert_uint_eq(e.fwd_rows, 1 + 2 + 5 * 2 * 2);
    ck_assert_uint_eq(xq_shapley_rows(3, 5, 2), 1 + 2 + 5 * 2 * 2);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* pathCount >= M! walks every order once: the exact Shapley value, error 0, M! paths of rows. */
START_TEST(test_shapley_exact_when_paths_cover_every_order) {
    xq_model_t *m = t1_model();
    texpl_t e;

    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 7}}, " T1_META("") "}", m,
              "[{'x1': 1, 'x2': 2, 'x3': 3}]", NULL, &e);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x1", 0), 3, F32_TOL);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x2", 0), 3, F32_TOL);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x3", 0), 8, F32_TOL);
    ck_assert_double_eq(t_num(&e, 0, 0, "approximationError"), 0);
    ck_assert_uint_eq(e.fwd_rows, 2 + 6 * 2);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* One player: phi = F(x) - F(x') exactly, two rows, whatever pathCount. */
START_TEST(test_shapley_one_player) {
    tfun_t f = {.in_cnt = 1, .out_cnt = 1, .f = t_exp_f, .df = t_exp_df};
    const char *names[] = {"z"};
    size_t sizes[] = {1};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    texpl_t e;

    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 9}}}", m, "[{'z': 2}]",
              NULL, &e);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "z", 0), exp(2.0) - 1, 1e-5);
    ck_assert_uint_eq(e.fwd_rows, 2);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* The exact Shapley values of nonlin8 at x from baseline 0, by enumerating all 256 coalitions. */
static void exact_shapley8(const double *x, double *phi) {
    tfun_t f = {.in_cnt = 8, .out_cnt = 1};
    double fact[9] = {1};

    for (int i = 1; i <= 8; i++)
        fact[i] = fact[i - 1] * i;
    memset(phi, 0, 8 * sizeof(double));
    for (unsigned s = 0; s < 256; s++) {
        double z[8], fs, fsi;
        int size = __builtin_popcount(s);

        for (int j = 0; j < 8; j++)
            z[j] = (s >> j) & 1 ? x[j] : 0;
        t_nonlin8_f(&f, z, &fs);
        for (int i = 0; i < 8; i++) {
            if ((s >> i) & 1)
                continue;
            z[i] = x[i];
            t_nonlin8_f(&f, z, &fsi);
            z[i] = 0;
            phi[i] += fact[size] * fact[8 - size - 1] / fact[8] * (fsi - fs);
        }
    }
}

static xq_model_t *nonlin8_model(void) {
    tfun_t f = {.in_cnt = 8, .out_cnt = 1, .f = t_nonlin8_f};
    const char *names[] = {"x"};
    size_t sizes[] = {8};

    return t_model(&f, names, sizes, 1, 0, NULL, NULL);
}

#define X8 "[0.9, -1.2, 1.5, 0.7, -0.8, 1.1, 2.0, -1.3]"

/* Mean absolute error against the enumeration, averaged over seeds, at P paths. */
static double mean_abs_error(xq_model_t *m, int paths, int seeds, double *mean_reported) {
    const double x[8] = {0.9, -1.2, 1.5, 0.7, -0.8, 1.1, 2.0, -1.3};
    double exact[8], total = 0, reported = 0;
    char spec[128];

    exact_shapley8(x, exact);
    snprintf(spec, sizeof(spec), "{'parameters': {'sampledShapleyAttribution': {'pathCount': %d}}}",
             paths);
    for (int s = 1; s <= seeds; s++) {
        xq_engine_opts_t o = {.run = {.seed = (uint64_t)s}};
        texpl_t e;

        t_explain(spec, m, "[{'x': " X8 "}]", &o, &e);
        for (size_t i = 0; i < 8; i++)
            total += fabs(t_fa(&e, 0, 0, "x", i) - exact[i]) / 8;
        if (paths > 1)
            reported += t_num(&e, 0, 0, "approximationError");
        t_explain_fini(&e);
    }
    if (mean_reported)
        *mean_reported = reported / seeds;
    return total / seeds;
}

START_TEST(test_shapley_converges_to_enumeration) {
    const double x[8] = {0.9, -1.2, 1.5, 0.7, -0.8, 1.1, 2.0, -1.3};
    xq_model_t *m = nonlin8_model();
    double exact[8], avg[8] = {0}, scale = 0;
    double e2 = mean_abs_error(m, 2, 20, NULL), e50 = mean_abs_error(m, 50, 20, NULL);

    exact_shapley8(x, exact);
    for (int i = 0; i < 8; i++)
        scale = fmax(scale, fabs(exact[i]));
    /* sampling error falls like 1/sqrt(P): 50 paths are 5x better than 2, allow 3x */
    ck_assert(e50 < e2 / 3);
    /*
     * 20 seeds x 50 paths = 1000 orders: the mean within 5 standard errors of the exact value,
     * the standard error measured from the 20 runs' spread (a fixed 2% of the largest value
     * was about 2 standard errors for some players: it failed one seed stream in twenty)
     */
    double sq[8] = {0};

    for (int s = 1; s <= 20; s++) {
        xq_engine_opts_t o = {.run = {.seed = (uint64_t)s}};
        texpl_t e;
        double sum = 0;

        t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 50}}}", m,
                  "[{'x': " X8 "}]", &o, &e);
        for (size_t i = 0; i < 8; i++) {
            double v = t_fa(&e, 0, 0, "x", i);

            avg[i] += v / 20;
            sq[i] += v * v / 20;
            sum += v;
        }
        /* efficiency holds on every run */
        ck_assert_double_eq_tol(
            sum, t_num(&e, 0, 0, "instanceOutputValue") - t_num(&e, 0, 0, "baselineOutputValue"),
            1e-4);
        t_explain_fini(&e);
    }
    for (int i = 0; i < 8; i++) {
        double se = sqrt(fmax(sq[i] - avg[i] * avg[i], 0) * 20 / 19 / 20);

        /* and never off by more than 5% of the largest value, whatever the spread (a player
         * whose marginal is the same in every order has none: float rounding only) */
        ck_assert_msg(fabs(avg[i] - exact[i]) < fmin(5 * se + 1e-6, 0.05 * scale),
                      "player %d: %g vs exact %g (standard error %g)", i, avg[i], exact[i], se);
    }
    xq_model_destroy(m);
}

END_TEST

/* The reported error shrinks like 1/sqrt(P): 4x the paths, half the error. */
START_TEST(test_shapley_error_shrinks_like_inverse_sqrt_paths) {
    xq_model_t *m = nonlin8_model();
    double r4, r16, r50;

    mean_abs_error(m, 4, 16, &r4);
    mean_abs_error(m, 16, 16, &r16);
    mean_abs_error(m, 50, 16, &r50);
    ck_assert_msg(r4 / r16 > 1.6 && r4 / r16 < 2.5, "4 -> 16 paths: ratio %g", r4 / r16);
    ck_assert_msg(r4 / r50 > 2.6 && r4 / r50 < 4.5, "4 -> 50 paths: ratio %g (sqrt 12.5 = 3.5)",
                  r4 / r50);
    xq_model_destroy(m);
}

END_TEST

/* targetApproximationError doubles pathCount until the error is below it. */
START_TEST(test_shapley_adaptive_paths) {
    xq_model_t *m = nonlin8_model();
    xq_engine_opts_t o = {.run = {.target_error = 0.05, .seed = 3}};
    const msgpack_object *ad;
    texpl_t e;

    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}}}", m,
              "[{'x': " X8 "}]", &o, &e);
    ad = t_expl_field(&e, 0, "adaptive");
    ck_assert_ptr_nonnull(ad);
    ck_assert_msg(t_get(ad, "met")->via.boolean, "paths %llu error %g",
                  (unsigned long long)t_get(ad, "pathCount")->via.u64,
                  t_num(&e, 0, 0, "approximationError"));
    ck_assert_uint_gt(t_get(ad, "pathCount")->via.u64, 2);
    ck_assert(t_num(&e, 0, 0, "approximationError") <= 0.05);
    ck_assert_uint_eq(t_get(ad, "modelRows")->via.u64,
                      xq_shapley_rows(8, t_get(ad, "pathCount")->via.u64, 1));
    t_explain_fini(&e);

    /* 100 rows allow 2, 4 and 8 paths (58 rows); 16 would take 114 */
    o.run.max_model_rows = 100;
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}}}", m,
              "[{'x': " X8 "}]", &o, &e);
    ad = t_expl_field(&e, 0, "adaptive");
    ck_assert(!t_get(ad, "met")->via.boolean);
    ck_assert_uint_eq(t_get(ad, "pathCount")->via.u64, 8);
    ck_assert_uint_eq(t_get(ad, "modelRows")->via.u64, 58);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

Suite *shapley_suite(void) {
    Suite *s = suite_create("shapley");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_shapley_t1_permutation_table);
    tcase_add_test(tc, test_shapley_linear_exact);
    tcase_add_test(tc, test_shapley_row_counts);
    tcase_add_test(tc, test_shapley_exact_when_paths_cover_every_order);
    tcase_add_test(tc, test_shapley_one_player);
    tcase_add_test(tc, test_shapley_converges_to_enumeration);
    tcase_add_test(tc, test_shapley_error_shrinks_like_inverse_sqrt_paths);
    tcase_add_test(tc, test_shapley_adaptive_paths);
    suite_add_tcase(s, tc);
    return s;
}
