/* test_engine.c -- reproducibility and batching: the same input gives the same bits. */
#include <math.h>
#include <string.h>

#include <check.h>

#include "explain_helpers.h"
#include "rng.h"
#include "suites.h"
#include "testmodels.h"

#define INSTS                                                                               \
    "[{'x': [0.9, -1.2, 1.5, 0.7, -0.8, 1.1, 2.0, -1.3]}, {'x': [1, 2, 3, 4, 5, 6, 7, 8]}," \
    " {'x': [0, 0, 0, 1, 1, 1, 0.5, 0.5]}]"

static xq_model_t *quad8(void) {
    tfun_t f = {.in_cnt = 8,
                .out_cnt = 1,
                .f = t_quad_f,
                .df = t_quad_df,
                .w = {1, -1, 0.5, 2, -0.5, 1.5, 0.25, -2}};
    const char *names[] = {"x"};
    size_t sizes[] = {8};

    return t_model(&f, names, sizes, 1, 0, NULL, NULL);
}

static const char *const specs[] = {
    "{'parameters': {'sampledShapleyAttribution': {'pathCount': 7}}}",
    "{'parameters': {'integratedGradientsAttribution': {'stepCount': 9, 'smoothGradConfig':"
    " {'noiseSigma': 0.3, 'noisySampleCount': 4}}}}",
};

static bool same_bytes(const texpl_t *a, const texpl_t *b) {
    for (size_t i = 0; i < a->cnt; i++) {
        if (a->res[i].len != b->res[i].len ||
            memcmp(a->packed.data + a->res[i].off, b->packed.data + b->res[i].off, a->res[i].len))
            return false;
    }
    return true;
}

/* Same seed: bit-identical, whatever the batch size; another seed: other draws. */
START_TEST(test_engine_bit_identical_for_a_seed) {
    xq_model_t *m = quad8();
    const size_t batches[] = {1, 5, 64, 4096};

    for (size_t s = 0; s < 2; s++) {
        xq_engine_opts_t o = {.run = {.seed = 42}, .batch_rows = 1024};
        texpl_t ref, e;

        t_explain(specs[s], m, INSTS, &o, &ref);
        for (size_t b = 0; b < 4; b++) {
            o.batch_rows = batches[b];
            t_explain(specs[s], m, INSTS, &o, &e);
            ck_assert_msg(same_bytes(&ref, &e), "%s differs at batch %zu", specs[s], batches[b]);
            t_explain_fini(&e);
        }
        o.run.seed = 43;
        o.batch_rows = 1024;
        t_explain(specs[s], m, INSTS, &o, &e);
        ck_assert(!same_bytes(&ref, &e));
        t_explain_fini(&e);
        t_explain_fini(&ref);
    }
    xq_model_destroy(m);
}

END_TEST

/* An instance's draws depend on its number, not on its neighbours. */
START_TEST(test_engine_instances_do_not_share_draws) {
    xq_model_t *m = quad8();
    xq_engine_opts_t o = {.run = {.seed = 7}};
    texpl_t all, one;

    t_explain(specs[0], m, INSTS, &o, &all);
    t_explain(specs[0], m, "[{'x': [0.9, -1.2, 1.5, 0.7, -0.8, 1.1, 2.0, -1.3]}]", &o, &one);
    ck_assert_uint_eq(all.res[0].len, one.res[0].len);
    ck_assert_int_eq(memcmp(all.packed.data + all.res[0].off, one.packed.data, one.res[0].len), 0);
    t_explain_fini(&all);
    t_explain_fini(&one);
    xq_model_destroy(m);
}

END_TEST

START_TEST(test_engine_rng_streams) {
    xq_rng_t a, b, c;
    uint32_t perm[50];
    bool seen[50] = {false};
    double sum = 0, sum2 = 0;

    xq_rng_init(&a, 1, 0);
    xq_rng_init(&b, 1, 0);
    xq_rng_init(&c, 1, 1);
    for (int i = 0; i < 100; i++) {
        uint64_t x = xq_rng_next(&a);

        ck_assert_uint_eq(x, xq_rng_next(&b));
        ck_assert_uint_ne(x, xq_rng_next(&c));
    }
    xq_rng_permutation(&a, perm, 50);
    for (int i = 0; i < 50; i++) {
        ck_assert_uint_lt(perm[i], 50);
        ck_assert(!seen[perm[i]]);
        seen[perm[i]] = true;
    }
    double cnt7[7] = {0}, big_div3 = 0, chi = 0;
    const uint64_t big = 3ULL << 62; /* 2^64 mod big = 2^62: a quarter of draws redrawn */

    for (int i = 0; i < 100000; i++) {
        double z = xq_rng_normal(&a);
        uint64_t v = xq_rng_below(&b, 7), w = xq_rng_below(&c, big);

        sum += z;
        sum2 += z * z;
        ck_assert_uint_lt(v, 7);
        cnt7[v]++;
        ck_assert_uint_lt(w, big);
        big_div3 += w % 3 == 0; /* 1/2 if the redraws were skipped */
    }
    /* uniform: chi-square with 6 degrees of freedom under its 0.9999 quantile (27.86) */
    for (int k = 0; k < 7; k++)
        chi += (cnt7[k] - 1e5 / 7) * (cnt7[k] - 1e5 / 7) / (1e5 / 7);
    ck_assert_msg(chi < 27.86, "chi-square %g", chi);
    /* a multiple of 3 with probability 1/3, within 5 standard errors (0.00149) */
    ck_assert_msg(fabs(big_div3 / 1e5 - 1.0 / 3) < 5 * 0.00149, "%g", big_div3 / 1e5);
    /* mean 0 and variance 1, within 5 standard errors of 1e5 draws */
    ck_assert(sum / 1e5 < 5 / 316.2 && sum / 1e5 > -5 / 316.2);
    ck_assert(sum2 / 1e5 > 1 - 5 * 0.00447 && sum2 / 1e5 < 1 + 5 * 0.00447);
}

END_TEST

/*
 * e^x0 overflows f32 for the second instance (x0 = 100): it alone fails, naming
 * itself, whichever batch size put its rows next to the others'.
 */
START_TEST(test_engine_nonfinite_instance_fails_alone) {
    tfun_t f = {.in_cnt = 2, .out_cnt = 1, .f = t_exp_f, .df = t_exp_df};
    const char *names[] = {"x"};
    size_t sizes[] = {2};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    static const size_t batches[] = {1, 3, 1024};

    for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
        xq_engine_opts_t o = {.run = {.seed = 1}, .batch_rows = batches[b]};
        texpl_t e;

        t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}}}", m,
                  "[{'x': [0.5, 0.25]}, {'x': [100, 1]}, {'x': [1, -1]}]", &o, &e);
        ck_assert_int_eq(e.res[0].rc, XQ_OK);
        ck_assert_int_eq(e.res[1].rc, XQ_EMODEL);
        ck_assert_str_eq(e.res[1].err.field, "instances[1]");
        ck_assert_ptr_nonnull(strstr(e.res[1].err.msg, "not finite"));
        ck_assert_int_eq(e.res[2].rc, XQ_OK);
        /* e^0.5 - e^0: the neighbours' sums are untouched by the overflow */
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x", 0) + t_fa(&e, 0, 0, "x", 1), exp(0.5) - 1,
                                1e-5);
        t_explain_fini(&e);
    }
    xq_model_destroy(m);
}

END_TEST

Suite *engine_suite(void) {
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_engine_bit_identical_for_a_seed);
    tcase_add_test(tc, test_engine_instances_do_not_share_draws);
    tcase_add_test(tc, test_engine_rng_streams);
    tcase_add_test(tc, test_engine_nonfinite_instance_fails_alone);
    suite_add_tcase(s, tc);
    return s;
}
