/* test_xgboost.c -- the XGBoost backend on a booster trained here with a known answer. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <xgboost/c_api.h>
#pragma GCC diagnostic pop

#include "explain_helpers.h"
#include "helpers.h"
#include "json.h"
#include "mem.h"
#include "models/load.h"
#include "models/remote.h"
#include "mp.h"
#include "suites.h"

/*
 * One stump on y = 10 if x0 > 0.5 else 0, with eta 1, lambda 0 and base score 0:
 * its leaves are the means of each side, so it predicts exactly 10 or 0.
 */
static void train_stump(const char *path) {
    float X[8 * 3];
    float y[8];
    DMatrixHandle d;
    BoosterHandle h;
    static const char *const params[][2] = {
        {"max_depth", "1"},        {"eta", "1"},
        {"lambda", "0"},           {"base_score", "0"},
        {"min_child_weight", "0"}, {"tree_method", "exact"},
        {"nthread", "1"},          {"objective", "reg:squarederror"}};

    for (int i = 0; i < 8; i++) {
        X[i * 3] = (float)(i % 2);
        X[i * 3 + 1] = (float)i;
        X[i * 3 + 2] = (float)(7 - i) * 0.5f;
        y[i] = i % 2 ? 10.0f : 0.0f;
    }
    ck_assert_int_eq(XGDMatrixCreateFromMat(X, 8, 3, -1e30f, &d), 0);
    ck_assert_int_eq(XGDMatrixSetFloatInfo(d, "label", y, 8), 0);
    ck_assert_int_eq(XGBoosterCreate(&d, 1, &h), 0);
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        ck_assert_int_eq(XGBoosterSetParam(h, params[i][0], params[i][1]), 0);
    ck_assert_int_eq(XGBoosterUpdateOneIter(h, 0, d), 0);
    ck_assert_int_eq(XGBoosterSaveModel(h, path), 0);
    XGBoosterFree(h);
    XGDMatrixFree(d);
}

START_TEST(test_xgboost_stump) {
    char path[64];
    xq_model_t *m = NULL;
    xq_error_t err;
    texpl_t e;

    snprintf(path, sizeof(path), "/tmp/explainq-xgb-%d.json", (int)getpid());
    train_stump(path);
    ck_assert_int_eq(xq_model_load(path, NULL, &m, &err), XQ_OK);
    ck_assert_uint_eq(xq_model_input(m, 0)->elem_cnt, 3);
    /* features without inputTensorName become the booster's columns, in metadata order */
    t_explain(
        "{'parameters': {'sampledShapleyAttribution': {'pathCount': 4}},"
        " 'metadata': {'inputs': {'a': {}, 'b': {}, 'c': {}}, 'outputs': {'prediction': {}}}}",
        m, "[{'a': 1, 'b': 5, 'c': 5}, {'a': 0, 'b': 2, 'c': 9}]", NULL, &e);
    ck_assert_double_eq(t_num(&e, 0, 0, "instanceOutputValue"), 10);
    ck_assert_double_eq(t_num(&e, 0, 0, "baselineOutputValue"), 0);
    ck_assert_double_eq(t_fa(&e, 0, 0, "a", 0), 10); /* all of it: only x0 is split on */
    ck_assert_double_eq(t_fa(&e, 0, 0, "b", 0), 0);
    ck_assert_double_eq(t_fa(&e, 0, 0, "c", 0), 0);
    ck_assert_double_eq(t_num(&e, 1, 0, "instanceOutputValue"), 0);
    t_explain_fini(&e);

    /* null is a missing value, which the booster sends to the default branch (left: 0) */
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 4}},"
              " 'metadata': {'inputs': {'a': {'inputBaselines': [1]}, 'b': {}, 'c': {}},"
              " 'outputs': {'prediction': {}}}}",
              m, "[{'a': null, 'b': '5', 'c': 5}]", NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_OK);
    ck_assert_double_eq(t_num(&e, 0, 0, "instanceOutputValue"), 0);
    ck_assert_double_eq(t_num(&e, 0, 0, "baselineOutputValue"), 10);
    ck_assert_double_eq(t_fa(&e, 0, 0, "a", 0), -10);
    ck_assert_double_eq(t_fa(&e, 0, 0, "b", 0), 0);
    t_explain_fini(&e);
    /* a bare array is the one input's value */
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 4}}}", m,
              "[[1, 5, 5], [null, 1, 1]]", NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_OK);
    ck_assert_double_eq(t_fa(&e, 0, 0, "features", 0), 10);
    ck_assert_int_eq(e.res[1].rc, XQ_OK);
    ck_assert_double_eq(t_fa(&e, 1, 0, "features", 0), 0);
    t_explain_fini(&e);

    /* a runner says so in its description, so workers take nulls for it too */
    {
        xq_buf_t d;
        msgpack_unpacked u;
        xq_model_t *r = NULL;

        xq_buf_init(&d);
        ck_assert(xq_model_missing_ok(m));
        xq_remote_describe_pack(m, "d1", &d);
        msgpack_unpacked_init(&u);
        ck_assert(xq_mp_unpack_one(d.data, d.len, &u));
        ck_assert_int_eq(xq_remote_model_new(xq_mp_map_get(&u.data, "model"), &r, &err), XQ_OK);
        ck_assert(xq_model_missing_ok(r));
        xq_model_destroy(r);
        msgpack_unpacked_destroy(&u);
        xq_buf_fini(&d);
    }

    /* no gradients: IG fails with a message that says what to do */
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 4}}}", m,
              "[{'features': [1, 5, 5]}]", NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_EMODEL);
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "no gradients"));
    t_explain_fini(&e);
    xq_model_destroy(m);

    /* ... unless finite differences are asked for: flat almost everywhere */
    ck_assert_int_eq(xq_model_load(path, &(xq_model_opts_t){.fd_step = 0.01}, &m, &err), XQ_OK);
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 4}}}", m,
              "[{'features': [1, 5, 5]}]", NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_OK);
    t_explain_fini(&e);
    /* but a missing value has no gradient: IG refuses it */
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 4}}}", m,
              "[{'features': [null, 5, 5]}]", NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "is null (a missing value)"));
    t_explain_fini(&e);
    xq_model_destroy(m);
    unlink(path);
}

END_TEST

/* The rows of 2-d array @p key of tests/data/xgboost/ref.json, flattened (caller frees). */
static float *ref(const char *key, size_t *cnt) {
    msgpack_unpacked msg;
    xq_buf_t mp;
    float *out = xq_calloc(4096, sizeof(float));

    xq_buf_init(&mp);
    t_json_file_to_mp("tests/data/xgboost/ref.json", &mp);
    t_unpack(&mp, &msg);
    *cnt = 0;
    for (uint32_t k = 0; k < msg.data.via.map.size; k++) {
        const msgpack_object *v = &msg.data.via.map.ptr[k].val;

        if (!xq_mp_str_eq(&msg.data.via.map.ptr[k].key, key))
            continue;
        for (uint32_t r = 0; r < v->via.array.size; r++) {
            for (uint32_t c = 0; c < v->via.array.ptr[r].via.array.size && *cnt < 4096; c++) {
                double d;

                xq_mp_number(&v->via.array.ptr[r].via.array.ptr[c], &d);
                out[(*cnt)++] = (float)d;
            }
        }
    }
    ck_assert_uint_gt(*cnt, 0);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&mp);
    return out;
}

/*
 * Files saved by xgboost 3.x (tests/models/make_xgboost3.py) write base_score as "[6.4E-1]";
 * predictions equal xgboost 3.x's own, not shifted by a base score of 0.5.
 */
START_TEST(test_xgboost_current_files) {
    static const char *const files[][2] = {{"binary.json", "binary"},
                                           {"binary.ubj", "binary"},
                                           {"reg.json", "reg"},
                                           {"reg.ubj", "reg"}};
    size_t xn, yn;
    float *x = ref("x", &xn), out[64];
    xq_model_t *m = NULL;
    xq_error_t err;

    for (size_t f = 0; f < 4; f++) {
        char path[128];
        float *want = ref(files[f][1], &yn);
        const char *names[] = {"features"};
        size_t elem[] = {6};
        const float *data[] = {x};
        xq_batch_t b = {.rows = 16,
                        .tensor_cnt = 1,
                        .names = names,
                        .elem_cnt = elem,
                        .data = data,
                        .out_cnt = 1,
                        .out = out};

        snprintf(path, sizeof(path), "tests/data/xgboost/%s", files[f][0]);
        if (xq_model_load(path, NULL, &m, &err) != XQ_OK)
            ck_abort_msg("%s: %s", path, err.msg);
        ck_assert_uint_eq(yn, 16);
        ck_assert_int_eq(xq_model_eval(m, &b, &err), XQ_OK);
        for (size_t i = 0; i < 16; i++)
            ck_assert_msg(fabsf(out[i] - want[i]) <= 1e-5f * fabsf(want[i]) + 1e-6f,
                          "%s row %zu: %.7g, xgboost 3.x %.7g", path, i, (double)out[i],
                          (double)want[i]);
        xq_model_destroy(m);
        xq_free(want);
    }
    /* one base score per class cannot be given to libxgboost 1.7: refused, never shifted */
    ck_assert_int_eq(xq_model_load("tests/data/xgboost/multi.json", NULL, &m, &err), XQ_EMODEL);
    ck_assert_ptr_nonnull(strstr(err.msg, "3 different base_score values"));
    xq_free(x);
}

END_TEST

Suite *xgboost_suite(void) {
    Suite *s = suite_create("xgboost");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_xgboost_stump);
    tcase_add_test(tc, test_xgboost_current_files);
    suite_add_tcase(s, tc);
    return s;
}
