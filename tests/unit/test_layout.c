/* test_layout.c -- instances to tensors and back: encodings, groups, shapes, baselines, bad input.
 */
#include <math.h>
#include <string.h>

#include <check.h>

#include "explain_helpers.h"
#include "helpers.h"
#include "layout.h"
#include "spec_helpers.h"
#include "suites.h"
#include "testmodels.h"

#define F32_TOL 1e-5

static const double W6[] = {1, -2, 0.5, 3, -0.25, 1.5};

static xq_model_t *linear6(void) {
    tfun_t f = {.in_cnt = 6, .out_cnt = 1, .f = t_linear_f, .df = t_linear_df};
    const char *names[] = {"x"};
    size_t sizes[] = {6};

    memcpy(f.w, W6, sizeof(W6));
    return t_model(&f, names, sizes, 1, 0, NULL, NULL);
}

static const char *const methods[] = {
    "'sampledShapleyAttribution': {'pathCount': 3}",
    "'integratedGradientsAttribution': {'stepCount': 4}",
};

/* BAG_OF_FEATURES and INDICATOR: one attribution per index, keyed by indexFeatureMapping. */
START_TEST(test_layout_bag_of_features) {
    static const char *const encs[] = {"BAG_OF_FEATURES", "INDICATOR", "BAG_OF_FEATURES_SPARSE"};
    xq_model_t *m = linear6();
    char spec[1024];
    texpl_t e;

    for (int me = 0; me < 2; me++) {
        for (int en = 0; en < 3; en++) {
            snprintf(spec, sizeof(spec),
                     "{'parameters': {%s}, 'metadata': {'inputs': {"
                     "'bag': {'inputTensorName': 'x', 'encoding': '%s',"
                     "  'indexFeatureMapping': ['p', 'q', 'r', 's']},"
                     "'u': {'inputTensorName': 'x'}, 'v': {'inputTensorName': 'x'}},"
                     " 'outputs': {'y': {}}}}",
                     methods[me], encs[en]);
            t_explain(spec, m, "[{'bag': [1, 0, 1, 1], 'u': 2, 'v': -1}]", NULL, &e);
            ck_assert_uint_eq(t_fa_cnt(&e, 0, 0), 6); /* p q r s u v */
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "p", 0), W6[0] * 1, F32_TOL);
            /* q is absent (0) and the baseline is 0: exactly nothing to attribute */
            ck_assert_double_eq(t_fa(&e, 0, 0, "q", 0), 0);
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "r", 0), W6[2] * 1, F32_TOL);
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "s", 0), W6[3] * 1, F32_TOL);
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "u", 0), W6[4] * 2, F32_TOL);
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "v", 0), W6[5] * -1, F32_TOL);
            t_explain_fini(&e);
        }
    }
    xq_model_destroy(m);
}

END_TEST

/* groupName: one player and one value under the group's name, none for the members. */
START_TEST(test_layout_groups) {
    xq_model_t *m = linear6();
    char spec[1024];
    texpl_t e;

    for (int me = 0; me < 2; me++) {
        snprintf(spec, sizeof(spec),
                 "{'parameters': {%s}, 'metadata': {'inputs': {"
                 "'a': {'inputTensorName': 'x', 'groupName': 'g'},"
                 "'b': {'inputTensorName': 'x'},"
                 "'c': {'inputTensorName': 'x', 'groupName': 'g'},"
                 "'d': {'inputTensorName': 'x', 'groupName': 'h'},"
                 "'e': {'inputTensorName': 'x', 'groupName': 'h'},"
                 "'f': {'inputTensorName': 'x', 'inputBaselines': [1]}},"
                 " 'outputs': {'y': {}}}}",
                 methods[me]);
        t_explain(spec, m, "[{'a': 1, 'b': 2, 'c': 3, 'd': 4, 'e': 5, 'f': 6}]", NULL, &e);
        ck_assert_uint_eq(t_fa_cnt(&e, 0, 0), 4); /* g b h f */
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "g", 0), W6[0] * 1 + W6[2] * 3, F32_TOL);
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "b", 0), W6[1] * 2, F32_TOL);
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "h", 0), W6[3] * 4 + W6[4] * 5, F32_TOL);
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "f", 0), W6[5] * (6 - 1), F32_TOL);
        t_explain_fini(&e);
    }
    xq_model_destroy(m);
}

END_TEST

/* Two attributions under one key (an indexFeatureMapping name that is also an input's) are
 * refused, naming the key; the instance beside it is explained. */
START_TEST(test_layout_duplicate_keys) {
    xq_model_t *m = linear6();
    texpl_t e;

    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}}, 'metadata': "
              "{'inputs': {'bag': {'inputTensorName': 'x', 'encoding': 'BAG_OF_FEATURES', "
              "'indexFeatureMapping': ['p', 'q', 'r', 'v']}, 'u': {'inputTensorName': 'x'}, "
              "'v': {'inputTensorName': 'x'}}, 'outputs': {'y': {}}}}",
              m, "[{'bag': [1, 0, 1, 1], 'u': 2, 'v': -1}]", NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_EINVAL);
    ck_assert_str_eq(e.res[0].err.field, "v");
    ck_assert(strstr(e.res[0].err.msg, "two attributions would be keyed v"));
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* Arrays keep their shape; one player per element; a scalar baseline is broadcast. */
START_TEST(test_layout_nested_arrays_and_broadcast) {
    xq_model_t *m = linear6();
    const double x[] = {1, 2, 3, 4, 5, 6};
    texpl_t e;

    for (int me = 0; me < 2; me++) {
        char spec[512];

        snprintf(spec, sizeof(spec),
                 "{'parameters': {%s}, 'metadata': {'inputs': {'x': {'inputBaselines': [0.5]}},"
                 " 'outputs': {'y': {}}}}",
                 methods[me]);
        t_explain(spec, m, "[{'x': [[1, 2, 3], [4, 5, 6]]}]", NULL, &e);
        for (size_t i = 0; i < 6; i++)
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x", i), W6[i] * (x[i] - 0.5), F32_TOL);
        /* the value is [[...], [...]]: two rows of three */
        const msgpack_object *v = t_get(t_get(t_attr(&e, 0, 0), "featureAttributions"), "x");
        ck_assert_uint_eq(v->via.array.size, 2);
        ck_assert_uint_eq(v->via.array.ptr[1].via.array.size, 3);
        t_explain_fini(&e);
    }
    xq_model_destroy(m);
}

END_TEST

/* Without metadata, each key of the instance is a feature and feeds the tensor of its name. */
START_TEST(test_layout_without_metadata) {
    tfun_t f = {.in_cnt = 3, .out_cnt = 1, .f = t_linear_f, .df = t_linear_df, .w = {2, 3, 4}};
    const char *names[] = {"p", "q"};
    size_t sizes[] = {1, 2};
    xq_model_t *m = t_model(&f, names, sizes, 2, 0, NULL, NULL);
    texpl_t e;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 2}}}", m,
              "[{'q': [1, 1], 'p': 5}]", NULL, &e);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "p", 0), 10, F32_TOL);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "q", 0), 3, F32_TOL);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "q", 1), 4, F32_TOL);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* Instances as users have them: bare arrays, numbers as strings; nulls refused by a network. */
START_TEST(test_layout_user_forms) {
    tfun_t f = {.in_cnt = 3, .out_cnt = 1, .f = t_linear_f, .df = t_linear_df, .w = {2, 3, 4}};
    const char *names[] = {"x"};
    size_t sizes[] = {3};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    texpl_t e;

    /* one metadata input: a bare array is its value; strings that are numbers are numbers */
    t_explain(
        "{'parameters': {'integratedGradientsAttribution': {'stepCount': 2}},"
        " 'metadata': {'inputs': {'v': {'inputTensorName': 'x'}}, 'outputs': {'y': {}}}}",
        m,
        "[[1, 2, 3], ['1', '2.0', '3e0'], {'v': [1, '-2', 3]}, ['1', '0x2', 3], ['1', ' 2', 3],"
        " [1, null, 3], ['1', 'nan', 3], 7]",
        NULL, &e);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(e.res[i].rc, XQ_OK);
        ck_assert_double_eq_tol(t_fa(&e, i, 0, "v", 0), 2, F32_TOL);
        ck_assert_double_eq_tol(t_fa(&e, i, 0, "v", 1), 6, F32_TOL);
        ck_assert_double_eq_tol(t_fa(&e, i, 0, "v", 2), 12, F32_TOL);
    }
    ck_assert_int_eq(e.res[2].rc, XQ_OK);
    ck_assert_double_eq_tol(t_fa(&e, 2, 0, "v", 1), -6, F32_TOL);
    for (size_t i = 3; i < 5; i++) {
        ck_assert_int_eq(e.res[i].rc, XQ_EINVAL);
        ck_assert_ptr_nonnull(strstr(e.res[i].err.msg, "string that is not a number"));
    }
    ck_assert_int_eq(e.res[5].rc, XQ_EINVAL);
    ck_assert_str_eq(e.res[5].err.field, "instances[5].v");
    ck_assert_ptr_nonnull(strstr(e.res[5].err.msg, "element 1 is null (a missing value)"));
    ck_assert_int_eq(e.res[6].rc, XQ_EINVAL);
    ck_assert_int_eq(e.res[7].rc, XQ_EINVAL); /* a scalar for a 3-element tensor */
    t_explain_fini(&e);
    /* no metadata, a model of one input: the bare array is that input, named after it */
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}}}", m, "[[1, 1, 1]]",
              NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_OK);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x", 2), 4, F32_TOL);
    t_explain_fini(&e);
    /* several inputs: a bare array is refused with what to do */
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}},"
              " 'metadata': {'inputs': {'a': {'inputTensorName': 'x'}, 'b': {'inputTensorName': "
              "'x'}, 'c': {'inputTensorName': 'x'}}, 'outputs': {'y': {}}}}",
              m, "[[1, 2, 3]]", NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_EINVAL);
    ck_assert_str_eq(e.res[0].err.field, "instances[0]");
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "exactly one input, this one has 3"));
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* COMBINED_EMBEDDING: one number, the sum over the encoded vector; CONCAT: one per token. */
START_TEST(test_layout_embeddings) {
    enum {
        LEN = 4,
        VOCAB = 10,
        DIM = 3
    };

    xq_model_t *m = t_embedding_model(LEN, VOCAB, DIM);
    const size_t ids[LEN] = {3, 7, 1, 3};
    double tok[LEN] = {0}, tok0[LEN] = {0}, total = 0;
    char spec[1024];
    texpl_t e;

    for (size_t j = 0; j < LEN; j++) {
        for (size_t d = 0; d < DIM; d++) {
            tok[j] += t_embedding_weight(d) * t_embedding_value(ids[j], d);
            tok0[j] +=
                t_embedding_weight(d) * (t_embedding_value(ids[j], d) - t_embedding_value(0, d));
        }
        total += tok[j];
    }
    for (int me = 0; me < 2; me++) {
        snprintf(spec, sizeof(spec),
                 "{'parameters': {%s}, 'metadata': {'inputs': {'text': {'encoding': "
                 "'COMBINED_EMBEDDING', 'encodedTensorName': 'bag'}}, 'outputs': {'y': {}}}}",
                 methods[me]);
        t_explain(spec, m, "[{'text': [3, 7, 1, 3]}]", NULL, &e);
        ck_assert_uint_eq(t_fa_cnt(&e, 0, 0), 1);
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "text", 0), total, F32_TOL);
        t_explain_fini(&e);

        snprintf(spec, sizeof(spec),
                 "{'parameters': {%s}, 'metadata': {'inputs': {'text': {'encoding': "
                 "'CONCAT_EMBEDDING', 'encodedTensorName': 'emb'}}, 'outputs': {'y': {}}}}",
                 methods[me]);
        t_explain(spec, m, "[{'text': [3, 7, 1, 3]}]", NULL, &e);
        for (size_t j = 0; j < LEN; j++)
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "text", j), tok[j], F32_TOL);
        t_explain_fini(&e);

        /* a raw baseline is encoded by the model: token 0 everywhere */
        snprintf(spec, sizeof(spec),
                 "{'parameters': {%s}, 'metadata': {'inputs': {'text': {'encoding': "
                 "'CONCAT_EMBEDDING', 'encodedTensorName': 'emb', 'inputBaselines': [0]}},"
                 " 'outputs': {'y': {}}}}",
                 methods[me]);
        t_explain(spec, m, "[{'text': [3, 7, 1, 3]}]", NULL, &e);
        for (size_t j = 0; j < LEN; j++)
            ck_assert_double_eq_tol(t_fa(&e, 0, 0, "text", j), tok0[j], F32_TOL);
        t_explain_fini(&e);

        /* encodedBaselines are in the encoded space already: 1 everywhere */
        snprintf(spec, sizeof(spec),
                 "{'parameters': {%s}, 'metadata': {'inputs': {'text': {'encoding': "
                 "'COMBINED_EMBEDDING', 'encodedTensorName': 'bag', 'encodedBaselines': [1]}},"
                 " 'outputs': {'y': {}}}}",
                 methods[me]);
        t_explain(spec, m, "[{'text': [3, 7, 1, 3]}]", NULL, &e);
        double base = 0;
        for (size_t d = 0; d < DIM; d++)
            base += t_embedding_weight(d);
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "text", 0), total - base, F32_TOL);
        t_explain_fini(&e);
    }
    xq_model_destroy(m);
}

END_TEST

static const struct bad {
    const char *inst;
    const char *field;
    const char *msg;
} bad[] = {
    {"{'a': 1, 'b': 2}", "instances[1].c", "instance 1: feature c is missing"},
    {"{'a': 1, 'b': 2, 'c': 'three'}", "instances[1].c", "holds a string"},
    {"{'a': [1, 2], 'b': 2, 'c': 3}", "instances[1].a", "tensor x gets 4 elements from a (2)"},
    {"{'a': 1, 'b': [2, 2], 'c': 3}", "instances[1].b", "a (1), b (2), c (1); the model takes 3"},
    {"{'a': 1, 'b': [[1], [2, 3]], 'c': 3}", "instances[1].b", "not a rectangular array"},
    {"{'a': 1, 'b': [], 'c': 3}", "instances[1].b", "is an empty array"},
    {"{'a': 1, 'b': {'k': 1}, 'c': 3}", "instances[1].b", "not a number"},
    {"{'a': 1, 'b': null, 'c': 3}", "instances[1].b", "is null (a missing value)"},
    {"[1, 2, 3]", "instances[1]", "is not an object of features"},
    {"{'a': 1e39, 'b': 2, 'c': 3}", "instances[1].a", "not a finite float32"},
};

/* A bad instance gets an error naming it and the feature; its neighbours are explained. */
START_TEST(test_layout_bad_instances) {
    tfun_t f = {.in_cnt = 3, .out_cnt = 1, .f = t_t1_f, .df = t_t1_df};
    const char *names[] = {"x"};
    size_t sizes[] = {3};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    const struct bad *b = &bad[_i];
    char insts[512];
    texpl_t e;

    snprintf(insts, sizeof(insts), "[{'a': 1, 'b': 2, 'c': 3}, %s, {'a': 1, 'b': 1, 'c': 1}]",
             b->inst);
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}},"
              " 'metadata': {'inputs': {'a': {'inputTensorName': 'x'}, 'b': {'inputTensorName': "
              "'x'}, 'c': {'inputTensorName': 'x'}}, 'outputs': {'y': {}}}}",
              m, insts, NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_OK);
    ck_assert_int_eq(e.res[2].rc, XQ_OK);
    ck_assert_int_ne(e.res[1].rc, XQ_OK);
    ck_assert_str_eq(e.res[1].err.field, b->field);
    ck_assert_msg(strstr(e.res[1].err.msg, b->msg), "message \"%s\" lacks \"%s\"", e.res[1].err.msg,
                  b->msg);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* NaN cannot be written in JSON; msgpack can carry it. */
START_TEST(test_layout_nan_instance) {
    tfun_t f = {.in_cnt = 1, .out_cnt = 1, .f = t_exp_f, .df = t_exp_df};
    const char *names[] = {"z"};
    size_t sizes[] = {1};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    char *json = t_dq("{'parameters': {'integratedGradientsAttribution': {'stepCount': 2}}}");
    xq_spec_t *spec = t_spec_ok(json);
    msgpack_object_kv kv = {.key = {.type = MSGPACK_OBJECT_STR, .via.str = {1, "z"}},
                            .val = {.type = MSGPACK_OBJECT_FLOAT64, .via.f64 = NAN}};
    msgpack_object inst = {.type = MSGPACK_OBJECT_MAP, .via.map = {1, &kv}};
    xq_engine_opts_t o = {0};
    xq_engine_result_t res;
    xq_engine_t *eng = xq_engine_new(spec, m, &o);
    size_t idx = 4;
    xq_buf_t out;

    xq_buf_init(&out);
    xq_engine_explain(eng, &inst, &idx, 1, &out, &res);
    ck_assert_int_eq(res.rc, XQ_EINVAL);
    ck_assert_str_eq(res.err.field, "instances[4].z");
    ck_assert_ptr_nonnull(strstr(res.err.msg, "not a finite float32"));
    xq_buf_fini(&out);
    xq_engine_destroy(eng);
    xq_spec_destroy(spec);
    xq_free(json);
    xq_model_destroy(m);
}

END_TEST

/* Type mismatches with the metadata: a bag of the wrong length, an image that is not 2-D/3-D. */
START_TEST(test_layout_metadata_mismatch) {
    xq_model_t *m = linear6();
    texpl_t e;

    t_explain(
        "{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}},"
        " 'metadata': {'inputs': {'bag': {'inputTensorName': 'x', 'encoding': 'INDICATOR',"
        "   'indexFeatureMapping': ['a', 'b', 'c', 'd', 'e', 'f', 'g']}}, 'outputs': {'y': {}}}}",
        m, "[{'bag': [1, 0, 1, 0, 1, 0]}]", NULL, &e);
    ck_assert_str_eq(e.res[0].err.field, "instances[0].bag");
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "must be a list of 7 values"));
    t_explain_fini(&e);
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}},"
              " 'metadata': {'inputs': {'img': {'inputTensorName': 'x', 'modality': 'image'}},"
              " 'outputs': {'y': {}}}}",
              m, "[{'img': [1, 2, 3, 4, 5, 6]}]", NULL, &e);
    ck_assert_str_eq(e.res[0].err.field, "instances[0].img");
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "[height][width]"));
    t_explain_fini(&e);
    /* a baseline of the wrong size names the metadata field */
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}},"
              " 'metadata': {'inputs': {'x': {'inputBaselines': [[1, 2]]}}, 'outputs': {'y': {}}}}",
              m, "[{'x': [1, 2, 3, 4, 5, 6]}]", NULL, &e);
    ck_assert_str_eq(e.res[0].err.field, "metadata.inputs.x.inputBaselines[0]");
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "has 2 elements, the instance value 6"));
    t_explain_fini(&e);
    /* a tensor the model does not have */
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}},"
              " 'metadata': {'inputs': {'x': {'inputTensorName': 'nope'}}, 'outputs': {'y': {}}}}",
              m, "[{'x': [1, 2, 3, 4, 5, 6]}]", NULL, &e);
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "no input tensor nope"));
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "closest: x"));
    {
        /* ... checked once before any instance, naming the metadata field */
        char *json = t_dq(
            "{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}},"
            " 'metadata': {'inputs': {'x': {'inputTensorName': 'nope'}}, 'outputs': {'y': {}}}}");
        xq_spec_t *spec = t_spec_ok(json);
        xq_error_t err;

        ck_assert_int_eq(xq_layout_check_names(spec, m, &err), XQ_EMODEL);
        ck_assert_str_eq(err.field, "metadata.inputs.x.inputTensorName");
        ck_assert_ptr_nonnull(strstr(err.msg, "no tensor nope; closest: x"));
        xq_spec_destroy(spec);
        xq_free(json);
    }
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

Suite *layout_suite(void) {
    Suite *s = suite_create("layout");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_layout_bag_of_features);
    tcase_add_test(tc, test_layout_groups);
    tcase_add_test(tc, test_layout_duplicate_keys);
    tcase_add_test(tc, test_layout_user_forms);
    tcase_add_test(tc, test_layout_nested_arrays_and_broadcast);
    tcase_add_test(tc, test_layout_without_metadata);
    tcase_add_test(tc, test_layout_embeddings);
    tcase_add_loop_test(tc, test_layout_bad_instances, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_layout_nan_instance);
    tcase_add_test(tc, test_layout_metadata_mismatch);
    suite_add_tcase(s, tc);
    return s;
}
