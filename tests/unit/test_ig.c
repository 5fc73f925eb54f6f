/* test_ig.c -- Integrated Gradients against closed forms (docs/design.md §4 and §4.1 T1-T3). */
#include <math.h>
#include <string.h>

#include <check.h>

#include "explain_helpers.h"
#include "methods/blur.h"
#include "methods/ig.h"
#include "suites.h"
#include "testmodels.h"

/* float32 model outputs and gradients: sums of a few terms are good to ~1e-6 relative */
#define F32_TOL 1e-5

#define T1_META                                                                               \
    "'metadata': {'inputs': {'x1': {'inputTensorName': 'x'}, 'x2': {'inputTensorName': 'x'}," \
    " 'x3': {'inputTensorName': 'x'}}, 'outputs': {'y': {}}}"

static xq_model_t *t1_model(void) {
    tfun_t f = {.in_cnt = 3, .out_cnt = 1, .f = t_t1_f, .df = t_t1_df};
    const char *names[] = {"x"};
    size_t sizes[] = {3};

    return t_model(&f, names, sizes, 1, 0, NULL, NULL);
}

START_TEST(test_ig_gauss_legendre_nodes) {
    /* docs/design.md §4 "Integrated Gradients", numpy leggauss mapped to [0, 1] */
    double a[3], w[3];

    xq_gauss_legendre(1, a, w);
    ck_assert_double_eq_tol(a[0], 0.5, 1e-15);
    ck_assert_double_eq_tol(w[0], 1.0, 1e-15);
    xq_gauss_legendre(2, a, w);
    ck_assert_double_eq_tol(a[0], 0.21132487, 1e-8);
    ck_assert_double_eq_tol(a[1], 0.78867513, 1e-8);
    ck_assert_double_eq_tol(w[0], 0.5, 1e-14);
    ck_assert_double_eq_tol(w[1], 0.5, 1e-14);
    xq_gauss_legendre(3, a, w);
    ck_assert_double_eq_tol(a[0], 0.11270167, 1e-8);
    ck_assert_double_eq_tol(a[1], 0.5, 1e-14);
    ck_assert_double_eq_tol(a[2], 0.88729833, 1e-8);
    ck_assert_double_eq_tol(w[0], 0.2777778, 1e-7);
    ck_assert_double_eq_tol(w[1], 0.4444444, 1e-7);
    ck_assert_double_eq_tol(w[2], 0.2777778, 1e-7);
}

END_TEST

/* The n-point rule integrates x^k exactly for k <= 2n - 1: the defining property. */
START_TEST(test_ig_gauss_legendre_is_exact_to_degree_2n_minus_1) {
    double a[200], w[200];

    for (size_t n = 1; n <= 200; n += (n < 20 ? 1 : 30)) {
        double wsum = 0;

        xq_gauss_legendre(n, a, w);
        for (size_t i = 0; i < n; i++) {
            wsum += w[i];
            ck_assert(a[i] > 0 && a[i] < 1);
            if (i)
                ck_assert(a[i] > a[i - 1]);
        }
        ck_assert_double_eq_tol(wsum, 1.0, 1e-13);
        for (size_t k = 0; k <= 2 * n - 1 && k < 40; k++) {
            double q = 0;

            for (size_t i = 0; i < n; i++)
                q += w[i] * pow(a[i], (double)k);
            ck_assert_double_eq_tol(q, 1.0 / (double)(k + 1), 1e-13);
        }
    }
}

END_TEST

/* T3: the integral of e^z over [0, 1] with n = 5 (reference: 3.8e-13 relative). */
START_TEST(test_ig_gauss_legendre_exp_n5) {
    double a[5], w[5], q = 0, exact = exp(1.0) - 1;

    xq_gauss_legendre(5, a, w);
    for (size_t i = 0; i < 5; i++)
        q += w[i] * exp(a[i]);
    ck_assert(fabs(q - exact) / exact < 1e-10);
}

END_TEST

START_TEST(test_ig_exp_model) {
    tfun_t f = {.in_cnt = 1, .out_cnt = 1, .f = t_exp_f, .df = t_exp_df};
    const char *names[] = {"z"};
    size_t sizes[] = {1};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    texpl_t e;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 5}}}", m,
              "[{'z': 1}]", NULL, &e);
    /* e - 1 through float32 gradients: 1e-6 relative */
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "z", 0), exp(1.0) - 1, 2e-6);
    ck_assert(t_num(&e, 0, 0, "approximationError") < 2e-6);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* T1: IG = (3, 3, 8) for n >= 2 (the integrand has degree 2), (2.5, 2.5, 7.5) at n = 1. */
START_TEST(test_ig_t1) {
    xq_model_t *m = t1_model();
    char spec[512];
    texpl_t e;

    for (int n = 1; n <= 10; n++) {
        snprintf(spec, sizeof(spec),
                 "{'parameters': {'integratedGradientsAttribution': {'stepCount': %d}}, " T1_META
                 "}",
                 n);
        t_explain(spec, m, "[{'x1': 1, 'x2': 2, 'x3': 3}]", NULL, &e);
        if (n == 1) {
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x1", 0), 2.5, F32_TOL);
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x2", 0), 2.5, F32_TOL);
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x3", 0), 7.5, F32_TOL);
            ck_assert_double_eq_tol(t_num(&e, 0, 0, "approximationError"), 0.107143, 1e-6);
        } else {
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x1", 0), 3, F32_TOL);
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x2", 0), 3, F32_TOL);
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x3", 0), 8, F32_TOL);
            ck_assert(t_num(&e, 0, 0, "approximationError") < 1e-6);
        }
        ck_assert_double_eq(t_num(&e, 0, 0, "instanceOutputValue"), 14);
        ck_assert_double_eq(t_num(&e, 0, 0, "baselineOutputValue"), 0);
        t_explain_fini(&e);
    }
    xq_model_destroy(m);
}

END_TEST

/* T1 with baselines 0 and 1: (3, 3, 8) and (0, 3, 7) average to (1.5, 3, 7.5). */
START_TEST(test_ig_t1_two_baselines) {
    xq_model_t *m = t1_model();
    texpl_t e;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 10}},"
              " 'metadata': {'inputs': {'x1': {'inputTensorName': 'x', 'inputBaselines': [0, 1]},"
              " 'x2': {'inputTensorName': 'x', 'inputBaselines': [0, 1]},"
              " 'x3': {'inputTensorName': 'x', 'inputBaselines': [0, 1]}}, 'outputs': {'y': {}}}}",
              m, "[{'x1': 1, 'x2': 2, 'x3': 3}]", NULL, &e);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x1", 0), 1.5, F32_TOL);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x2", 0), 3, F32_TOL);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x3", 0), 7.5, F32_TOL);
    ck_assert_double_eq(t_num(&e, 0, 0, "baselineOutputValue"), 2); /* (F(0) + F(1)) / 2 */
    ck_assert(t_num(&e, 0, 0, "approximationError") < 1e-6);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* T2: a linear model's IG is w (x - x') for any step count, error 0. */
START_TEST(test_ig_linear_exact) {
    tfun_t f = {.in_cnt = 5,
                .out_cnt = 1,
                .f = t_linear_f,
                .df = t_linear_df,
                .w = {0.5, -1.25, 2, 0.75, -3}};
    const char *names[] = {"v"};
    size_t sizes[] = {5};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    const double x[] = {1, 2, -1, 4, 0.5}, xb[] = {0.5, 0.5, 0.5, 0.5, 0.5};
    texpl_t e;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 3}},"
              " 'metadata': {'inputs': {'v': {'inputBaselines': [0.5]}}, 'outputs': {'y': {}}}}",
              m, "[{'v': [1, 2, -1, 4, 0.5]}]", NULL, &e);
    for (size_t i = 0; i < 5; i++)
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "v", i), f.w[i] * (x[i] - xb[i]), F32_TOL);
    ck_assert(t_num(&e, 0, 0, "approximationError") < 1e-6);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* docs/design.md §4: 1 + B forward rows, outputs * B * stepCount * noisySampleCount gradient rows.
 */
START_TEST(test_ig_row_counts) {
    tfun_t f = {
        .in_cnt = 2, .out_cnt = 3, .f = t_linear_f, .df = t_linear_df, .w = {1, 2, 3, 4, 5, 6}};
    const char *names[] = {"x"};
    size_t sizes[] = {2}, od[] = {3};
    xq_model_t *m = t_model(&f, names, sizes, 1, 1, od, NULL);
    texpl_t e;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 7,"
              "   'smoothGradConfig': {'noisySampleCount': 3, 'noiseSigma': 0.01}}, 'topK': 2},"
              " 'metadata': {'inputs': {'x': {'inputBaselines': [0, [1, 1]]}},"
              " 'outputs': {'y': {}}}}",
              m, "[{'x': [1, 2]}]", NULL, &e);
    ck_assert_uint_eq(t_attr_cnt(&e, 0), 2);
    ck_assert_uint_eq(e.fwd_rows, 1 + 2);
    ck_assert_uint_eq(e.grad_rows, 2 * 2 * 7 * 3);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* SmoothGrad with sigma 0 is plain IG, whatever the sample count. */
START_TEST(test_ig_smoothgrad_sigma0_is_plain_ig) {
    xq_model_t *m = t1_model();
    texpl_t a, b;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 1}}, " T1_META "}",
              m, "[{'x1': 1, 'x2': 2, 'x3': 3}]", NULL, &a);
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 1,"
              " 'smoothGradConfig': {'noiseSigma': 0, 'noisySampleCount': 5}}}, " T1_META "}",
              m, "[{'x1': 1, 'x2': 2, 'x3': 3}]", NULL, &b);
    for (int i = 1; i <= 3; i++) {
        char key[16];

        snprintf(key, sizeof(key), "x%d", i);
        ck_assert_double_eq_tol(t_fa(&a, 0, 0, key, 0), t_fa(&b, 0, 0, key, 0), 1e-12);
    }
    ck_assert_uint_eq(b.grad_rows, 5 * a.grad_rows);
    t_explain_fini(&a);
    t_explain_fini(&b);
    xq_model_destroy(m);
}

END_TEST

/*
 * For a quadratic F the noise averages out of the gradient: E[grad F(z + eps)]
 * = grad F(z), so SmoothGrad IG is unbiased for the exact IG, with a spread
 * we can bound: attr_i noise ~ N(0, ((x_i - x'_i) 2 w_i sigma)^2 sum_k omega_k^2 / K).
 */
START_TEST(test_ig_smoothgrad_unbiased_on_quadratic) {
    tfun_t f = {.in_cnt = 2, .out_cnt = 1, .f = t_quad_f, .df = t_quad_df, .w = {1.5, -0.5}};
    const char *names[] = {"q"};
    size_t sizes[] = {2};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    double alpha[10], omega[10], s2 = 0;
    texpl_t e;

    xq_gauss_legendre(10, alpha, omega);
    for (int k = 0; k < 10; k++)
        s2 += omega[k] * omega[k];
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 10,"
              " 'smoothGradConfig': {'noiseSigma': 0.2, 'noisySampleCount': 50}}}}",
              m, "[{'q': [2, 1]}]", NULL, &e);
    /* exact IG of w x^2 from 0: w x^2 */
    for (size_t i = 0; i < 2; i++) {
        double xi = i ? 1 : 2, exact = f.w[i] * xi * xi;
        double sd = fabs(xi * 2 * f.w[i] * 0.2) * sqrt(s2 / 50);

        ck_assert(fabs(t_fa(&e, 0, 0, "q", i) - exact) < 5 * sd);
        ck_assert(t_fa(&e, 0, 0, "q", i) != exact); /* the noise did something */
    }
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* Noisy points stay inside featureValueDomain; features without a sigma get no noise. */
START_TEST(test_ig_smoothgrad_domain_and_feature_sigma) {
    tfun_t f = {.in_cnt = 2, .out_cnt = 1, .f = t_quad_f, .df = t_quad_df, .w = {1, 1}};
    const char *names[] = {"a", "b"};
    size_t sizes[] = {1, 1};
    tfun_t *live;
    xq_model_t *m = t_model(&f, names, sizes, 2, 0, NULL, &live);
    texpl_t e;

    t_explain(
        "{'parameters': {'integratedGradientsAttribution': {'stepCount': 4,"
        " 'smoothGradConfig': {'noisySampleCount': 20,"
        "   'featureNoiseSigma': {'noiseSigma': [{'name': 'a', 'sigma': 5}]}}}},"
        " 'metadata': {'inputs': {'a': {'featureValueDomain': {'minValue': 0, 'maxValue': 1}},"
        "   'b': {}}, 'outputs': {'y': {}}}}",
        m, "[{'a': 0.5, 'b': 0.5}]", NULL, &e);
    /* sigma 5 on [0, 1]: clipping must have been hit at both ends, never passed */
    ck_assert_double_eq(live->seen_min, 0);
    ck_assert_double_eq(live->seen_max, 1);
    /* b had no noise: its attribution is the exact IG of b^2, 0.25 */
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "b", 0), 0.25, F32_TOL);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* Independent reference: a direct 2-D Gaussian convolution with reflected borders. */
static double naive_blur(
    const float *img, size_t h, size_t w, size_t c, size_t y, size_t x, size_t ch, double sigma) {
    long r = (long)(4 * sigma + 0.5);
    double num = 0, den = 0;

    for (long dy = -r; dy <= r; dy++) {
        for (long dx = -r; dx <= r; dx++) {
            long yy = (long)y + dy, xx = (long)x + dx;
            double k = exp(-(double)(dy * dy + dx * dx) / (2 * sigma * sigma));

            /* reflect: -1 -> 0, n -> n-1, period 2n */
            while (yy < 0 || yy >= (long)h)
                yy = yy < 0 ? -yy - 1 : 2 * (long)h - yy - 1;
            while (xx < 0 || xx >= (long)w)
                xx = xx < 0 ? -xx - 1 : 2 * (long)w - xx - 1;
            num += k * (double)img[((size_t)yy * w + (size_t)xx) * c + ch];
            den += k;
        }
    }
    return num / den;
}

START_TEST(test_ig_blur_matches_direct_convolution) {
    enum {
        H = 6,
        W = 5,
        C = 2
    };

    float img[H * W * C], out[H * W * C];
    const double sigmas[] = {0.7, 1.5, 4.0}; /* 4.0: the kernel reaches past the borders */

    for (size_t i = 0; i < H * W * C; i++)
        img[i] = (float)sin(0.37 * (double)i) + (i % 7 == 0 ? 3.0f : 0.0f);
    for (size_t s = 0; s < 3; s++) {
        xq_blur_image(img, out, H, W, C, sigmas[s]);
        for (size_t y = 0; y < H; y++)
            for (size_t x = 0; x < W; x++)
                for (size_t ch = 0; ch < C; ch++)
                    ck_assert_double_eq_tol((double)out[(y * W + x) * C + ch],
                                            naive_blur(img, H, W, C, y, x, ch, sigmas[s]), 1e-5);
    }
    /* a constant image stays constant; channels never mix */
    for (size_t i = 0; i < H * W * C; i++)
        img[i] = i % C ? 2.0f : -1.0f;
    xq_blur_image(img, out, H, W, C, 2.0);
    for (size_t i = 0; i < H * W * C; i++)
        ck_assert_double_eq_tol((double)out[i], i % C ? 2.0 : -1.0, 1e-6);
}

END_TEST

/* Blur baseline on a linear image model: attr = w (x - blur(x)), exactly. */
START_TEST(test_ig_blur_baseline) {
    enum {
        H = 4,
        W = 3
    };

    tfun_t f = {.in_cnt = H * W, .out_cnt = 1, .f = t_linear_f, .df = t_linear_df};
    const char *names[] = {"img"};
    size_t sizes[] = {H * W};
    float img[H * W], blurred[H * W];
    char inst[512];
    size_t off = 0;
    xq_model_t *m;
    texpl_t e;
    double fb = 0;

    for (size_t i = 0; i < H * W; i++) {
        f.w[i] = 0.1 * (double)(i + 1);
        img[i] = (float)((i * 7) % 5);
    }
    m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    off += (size_t)snprintf(inst + off, sizeof(inst) - off, "[{'img': [");
    for (size_t y = 0; y < H; y++) {
        off += (size_t)snprintf(inst + off, sizeof(inst) - off, "%s[", y ? "," : "");
        for (size_t x = 0; x < W; x++)
            off += (size_t)snprintf(inst + off, sizeof(inst) - off, "%s%g", x ? "," : "",
                                    (double)img[y * W + x]);
        off += (size_t)snprintf(inst + off, sizeof(inst) - off, "]");
    }
    snprintf(inst + off, sizeof(inst) - off, "]}]");
    xq_blur_image(img, blurred, H, W, 1, 1.2);
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 2,"
              "  'blurBaselineConfig': {'maxBlurSigma': 1.2}}},"
              " 'metadata': {'inputs': {'img': {'modality': 'image'}}, 'outputs': {'y': {}}}}",
              m, inst, NULL, &e);
    for (size_t i = 0; i < H * W; i++) {
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "img", i),
                                f.w[i] * ((double)img[i] - (double)blurred[i]), F32_TOL);
        fb += f.w[i] * (double)blurred[i];
    }
    ck_assert_double_eq_tol(t_num(&e, 0, 0, "baselineOutputValue"), fb, F32_TOL);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* targetApproximationError doubles stepCount: 1 -> 2 -> 4 for e^z at 1e-5. */
START_TEST(test_ig_adaptive_precision) {
    tfun_t f = {.in_cnt = 1, .out_cnt = 1, .f = t_exp_f, .df = t_exp_df};
    const char *names[] = {"z"};
    size_t sizes[] = {1};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    xq_engine_opts_t o = {.run = {.target_error = 1e-5}};
    const msgpack_object *ad;
    texpl_t e;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 1}}}", m,
              "[{'z': 1}]", &o, &e);
    ad = t_expl_field(&e, 0, "adaptive");
    ck_assert_ptr_nonnull(ad);
    ck_assert(t_get(ad, "met")->via.boolean);
    /* GL on e^z: n=1 error 4e-2, n=2 2.5e-4, n=4 below 1e-8 */
    ck_assert_uint_eq(t_get(ad, "stepCount")->via.u64, 4);
    ck_assert_uint_eq(t_get(ad, "modelRows")->via.u64, 2 + 1 + 2 + 4);
    ck_assert(t_num(&e, 0, 0, "approximationError") <= 1e-5);
    t_explain_fini(&e);

    /* a row limit stops the doubling and says the target was not met */
    o.run.max_model_rows = 5;
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 1}}}", m,
              "[{'z': 1}]", &o, &e);
    ad = t_expl_field(&e, 0, "adaptive");
    ck_assert(!t_get(ad, "met")->via.boolean);
    ck_assert_uint_eq(t_get(ad, "stepCount")->via.u64, 2);
    ck_assert_uint_eq(t_get(ad, "modelRows")->via.u64, 5);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* The cache hands out the same rule, bit for bit, as computing it afresh, once per step count. */
START_TEST(test_ig_gl_cache) {
    xq_gl_cache_t *c = xq_gl_cache_new();
    const double *a, *w, *a2, *w2;
    double ra[64], rw[64];

    for (size_t n = 1; n <= 64; n += 7) {
        xq_gl_cache_get(c, n, &a, &w);
        xq_gauss_legendre(n, ra, rw);
        ck_assert_mem_eq(a, ra, n * sizeof(double));
        ck_assert_mem_eq(w, rw, n * sizeof(double));
    }
    xq_gl_cache_get(c, 8, &a, &w);
    xq_gl_cache_get(c, 50, &a2, &w2); /* more rules: earlier ones stay where they are */
    xq_gl_cache_get(c, 22, &a2, &w2);
    xq_gl_cache_get(c, 8, &a2, &w2);
    ck_assert_ptr_eq(a, a2);
    ck_assert_ptr_eq(w, w2);
    xq_gl_cache_destroy(c);
    xq_gl_cache_destroy(NULL);
}

END_TEST

/* A run given a shared cache explains exactly as one that computes its rule itself. */
START_TEST(test_ig_shared_cache_same_answer) {
    tfun_t f = {.in_cnt = 1, .out_cnt = 1, .f = t_exp_f, .df = t_exp_df};
    const char *names[] = {"z"};
    size_t sizes[] = {1};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    xq_gl_cache_t *c = xq_gl_cache_new();
    xq_engine_opts_t o = {.run = {.gl = c}};
    const double *a, *w;
    double ra[7], rw[7];
    texpl_t e;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 7}}}", m,
              "[{'z': 1}, {'z': 2}]", &o, &e);
    /* the closed form with the same rule: sum_k w_k e^(a_k z) z */
    xq_gauss_legendre(7, ra, rw);
    for (size_t i = 0; i < 2; i++) {
        double z = (double)(i + 1), want = 0;

        for (size_t k = 0; k < 7; k++)
            want += rw[k] * exp(ra[k] * z) * z;
        ck_assert_double_eq_tol(t_fa(&e, i, 0, "z", 0), want, F32_TOL * want);
    }
    t_explain_fini(&e);
    xq_gl_cache_get(c, 7, &a, &w); /* the runs put their rule there */
    ck_assert_mem_eq(a, ra, sizeof(ra));
    xq_gl_cache_destroy(c);
    xq_model_destroy(m);
}

END_TEST

Suite *ig_suite(void) {
    Suite *s = suite_create("ig");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_ig_gauss_legendre_nodes);
    tcase_add_test(tc, test_ig_gauss_legendre_is_exact_to_degree_2n_minus_1);
    tcase_add_test(tc, test_ig_gauss_legendre_exp_n5);
    tcase_add_test(tc, test_ig_exp_model);
    tcase_add_test(tc, test_ig_t1);
    tcase_add_test(tc, test_ig_t1_two_baselines);
    tcase_add_test(tc, test_ig_linear_exact);
    tcase_add_test(tc, test_ig_row_counts);
    tcase_add_test(tc, test_ig_smoothgrad_sigma0_is_plain_ig);
    tcase_add_test(tc, test_ig_smoothgrad_unbiased_on_quadratic);
    tcase_add_test(tc, test_ig_smoothgrad_domain_and_feature_sigma);
    tcase_add_test(tc, test_ig_blur_matches_direct_convolution);
    tcase_add_test(tc, test_ig_blur_baseline);
    tcase_add_test(tc, test_ig_adaptive_precision);
    tcase_add_test(tc, test_ig_gl_cache);
    tcase_add_test(tc, test_ig_shared_cache_same_answer);
    suite_add_tcase(s, tc);
    return s;
}
