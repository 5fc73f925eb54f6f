/* test_examples.c -- example-based explanations: the index the spec asks for, builds, queries. */
#include <math.h>
#include <string.h>

#include <check.h>

#include "engine.h"
#include "exbuild.h"
#include "helpers.h"
#include "methods/examples.h"
#include "models/dense.h"
#include "mp.h"
#include "spec_helpers.h"
#include "suites.h"

/* The identity on R^2 as a dense model: embeddings are the inputs themselves. */
static const char identity2[] =
    "{'format': 'explainq-dense-v1', 'inputs': [{'name': 'x', 'shape': [2]}],"
    " 'output': {'name': 'emb', 'shape': [2]},"
    " 'layers': [{'weights': [[1, 0], [0, 1]], 'bias': [0, 0], 'activation': 'linear'}]}";

static const char tabular_spec[] =
    "{'parameters': {'examples': {'neighborCount': 4, 'presets': {'modality': 'TABULAR'}}},"
    " 'metadata': {'inputs': {'x': {}}, 'outputs': {'emb': {}}, 'latentSpaceSource': 'emb'}}";

static xq_model_t *dense(const char *json) {
    char *text = t_dq(json);
    xq_model_t *m = NULL;
    xq_error_t err;

    ck_assert_int_eq(xq_dense_load(text, strlen(text), &m, &err), XQ_OK);
    free(text);
    return m;
}

static xq_spec_t *spec(const char *json) {
    char *text = t_dq(json);
    xq_spec_t *s = t_spec_ok(text);

    free(text);
    return s;
}

/* Adds the example in JSON @p json (single quotes) from line @p line. */
static xq_err_t add(xq_exbuild_t *b, const char *json, size_t line, xq_error_t *err) {
    char *text = t_dq(json);
    msgpack_unpacked msg;
    xq_buf_t mp;
    xq_err_t rc;

    xq_buf_init(&mp);
    t_json_to_mp(text, &mp);
    t_unpack(&mp, &msg);
    rc = xq_exbuild_add(b, &msg.data, line, err);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&mp);
    free(text);
    return rc;
}

/*
 * Explains instance @p json (single quotes) with @p q through the engine: the result's
 * status, and on success its packed explanation in @p out (caller frees).
 */
static xq_engine_result_t explain_one(
    xq_spec_t *s, xq_model_t *m, const xq_examples_query_t *q, const char *json, xq_buf_t *out) {
    xq_engine_opts_t eo = {.run = {.examples = q}};
    xq_engine_t *e = xq_engine_new(s, m, &eo);
    xq_engine_result_t res;
    msgpack_unpacked msg;
    char *text = t_dq(json);
    size_t idx = 0;
    xq_buf_t in;

    xq_buf_init(&in);
    xq_buf_init(out);
    t_json_to_mp(text, &in);
    t_unpack(&in, &msg);
    xq_engine_explain(e, &msg.data, &idx, 1, out, &res);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&in);
    xq_engine_destroy(e);
    free(text);
    return res;
}

/* presets and nearestNeighborSearchConfig map to the metric and index kind docs/design.md §4 names.
 */
START_TEST(test_examples_config) {
    static const struct {
        const char *examples; /* the examples map's config member */
        xq_err_t rc;
        xq_index_metric_t metric;
        xq_index_query_t query;
        const char *field; /* on error */
    } cases[] = {
        {"'presets': {'modality': 'TABULAR'}", XQ_OK, XQ_INDEX_SQUARED_L2, XQ_INDEX_PRECISE, ""},
        {"'presets': {'modality': 'IMAGE', 'query': 'FAST'}", XQ_OK, XQ_INDEX_COSINE, XQ_INDEX_FAST,
         ""},
        {"'presets': {'modality': 'TEXT'}", XQ_OK, XQ_INDEX_COSINE, XQ_INDEX_PRECISE, ""},
        {"'nearestNeighborSearchConfig': {'dimensions': 2, 'distanceMeasureType': "
         "'SQUARED_L2_DISTANCE', 'algorithmConfig': {'treeAhConfig': {}}}",
         XQ_OK, XQ_INDEX_SQUARED_L2, XQ_INDEX_FAST, ""},
        {"'nearestNeighborSearchConfig': {'distanceMeasureType': 'DOT_PRODUCT_DISTANCE', "
         "'featureNormType': 'UNIT_L2_NORM', 'algorithmConfig': {'bruteForceConfig': {}}}",
         XQ_OK, XQ_INDEX_COSINE, XQ_INDEX_PRECISE, ""},
        {"'nearestNeighborSearchConfig': {'distanceMeasureType': 'COSINE_DISTANCE'}", XQ_OK,
         XQ_INDEX_COSINE, XQ_INDEX_PRECISE, ""},
        {"'nearestNeighborSearchConfig': {'distanceMeasureType': 'L1_DISTANCE'}", XQ_EINVAL, 0, 0,
         "examples.nearestNeighborSearchConfig.distanceMeasureType"},
        {"'nearestNeighborSearchConfig': {'distanceMeasureType': 'DOT_PRODUCT_DISTANCE'}",
         XQ_EINVAL, 0, 0, "examples.nearestNeighborSearchConfig.distanceMeasureType"},
        {"'nearestNeighborSearchConfig': {'dimensions': 3, 'distanceMeasureType': "
         "'COSINE_DISTANCE'}",
         XQ_EINVAL, 0, 0, "examples.nearestNeighborSearchConfig.dimensions"},
        {"'nearestNeighborSearchConfig': {'distanceMeasureType': 'COSINE_DISTANCE', "
         "'algorithmConfig': {'scann': {}}}",
         XQ_EINVAL, 0, 0, "examples.nearestNeighborSearchConfig.algorithmConfig"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[512];
        xq_index_metric_t metric;
        xq_index_query_t query;
        xq_error_t err = {0};
        xq_spec_t *s;

        snprintf(json, sizeof(json), "{'parameters': {'examples': {%s}}}", cases[i].examples);
        s = spec(json);
        ck_assert_msg(xq_exbuild_config(s, 2, &metric, &query, &err) == cases[i].rc, "case %zu: %s",
                      i, err.msg);
        if (cases[i].rc == XQ_OK) {
            ck_assert_int_eq(metric, cases[i].metric);
            ck_assert_int_eq(query, cases[i].query);
        } else {
            ck_assert_str_eq(err.field, cases[i].field);
        }
        xq_spec_destroy(s);
    }
}

END_TEST

/* Builds over five known points and queries through the engine: the order and distances are
 * those worked out by hand, crowding skips the third point of a tag, ids default to lines. */
START_TEST(test_examples_build_and_query) {
    static const char *const ex[] = {
        "{'id': 'a', 'crowdingTag': 't1', 'x': [0, 0]}",
        "{'id': 'b', 'crowdingTag': 't1', 'x': [1, 0]}",
        "{'id': 7, 'crowdingTag': 't2', 'x': [0, 2]}",
        "{'crowdingTag': 't3', 'x': [3, 3]}",
        "{'id': 'e', 'crowdingTag': 't1', 'x': [-1, 0]}",
    };
    /* query (0.1, 0): squared distances a 0.01, b 0.81, e 1.21, 7 4.01, line-4 2.9^2 + 9 = 17.41 */
    static const char *const want[] = {"a", "b", "e", "7"}, *const crowded[] = {"a", "b", "7", "4"};
    static const double want_d[] = {0.01, 0.81, 1.21, 4.01},
                        crowded_d[] = {0.01, 0.81, 4.01, 17.41};
    xq_model_t *m = dense(identity2);
    xq_spec_t *s = spec(tabular_spec);
    xq_exbuild_t *b = NULL;
    xq_exindex_t *x = NULL;
    xq_error_t err = {0};

    ck_assert_int_eq(xq_exbuild_new(s, m, NULL, &b, &err), XQ_OK);
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(add(b, ex[i], i + 1, &err) == XQ_OK, "%s: %s", err.field, err.msg);
    ck_assert_int_eq(xq_exbuild_finish(b, &x, &err), XQ_OK);
    ck_assert_uint_eq(x->id_cnt, 5);
    ck_assert_uint_eq(x->neighbor_count, 4);
    ck_assert_ptr_nonnull(x->tags);
    for (int crowd = 0; crowd < 2; crowd++) {
        xq_examples_query_t q = {.index = x, .crowding_count = crowd ? 2 : 0};
        xq_buf_t out;
        xq_engine_result_t res = explain_one(s, m, &q, "{'x': [0.1, 0]}", &out);
        msgpack_unpacked msg;
        const msgpack_object *nb;

        ck_assert_msg(res.rc == XQ_OK, "%s: %s", res.err.field, res.err.msg);
        msgpack_unpacked_init(&msg);
        ck_assert(xq_mp_unpack_one(out.data + res.off, res.len, &msg));
        ck_assert_ptr_null(xq_mp_map_get(&msg.data, "attributions"));
        nb = xq_mp_map_get(&msg.data, "neighbors");
        ck_assert_ptr_nonnull(nb);
        ck_assert_uint_eq(nb->via.array.size, 4);
        for (size_t i = 0; i < 4; i++) {
            const msgpack_object *o = &nb->via.array.ptr[i];
            double d, wd = crowd ? crowded_d[i] : want_d[i];

            ck_assert(xq_mp_str_eq(xq_mp_map_get(o, "neighborId"), crowd ? crowded[i] : want[i]));
            ck_assert(xq_mp_number(xq_mp_map_get(o, "neighborDistance"), &d));
            ck_assert_double_eq_tol(d, wd, 1e-6);
        }
        msgpack_unpacked_destroy(&msg);
        xq_buf_fini(&out);
    }
    xq_exindex_destroy(x);
    xq_exbuild_destroy(b);
    xq_spec_destroy(s);
    xq_model_destroy(m);
}

END_TEST

/* Bad examples name their line; no examples at all is an error, not an empty index. */
START_TEST(test_examples_build_errors) {
    xq_model_t *m = dense(identity2);
    xq_spec_t *s = spec(tabular_spec);
    xq_exbuild_t *b = NULL;
    xq_exindex_t *x = NULL;
    xq_error_t err = {0};

    ck_assert_int_eq(xq_exbuild_new(s, m, NULL, &b, &err), XQ_OK);
    ck_assert_int_eq(xq_exbuild_finish(b, &x, &err), XQ_EINVAL);
    ck_assert_str_eq(err.field, "examples");
    ck_assert_ptr_null(x);
    ck_assert_int_eq(add(b, "[1, 2]", 2, &err), XQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "line 2"));
    ck_assert_int_eq(add(b, "{'id': [1], 'x': [0, 0]}", 3, &err), XQ_EINVAL);
    ck_assert_str_eq(err.field, "id");
    ck_assert_ptr_nonnull(strstr(err.msg, "line 3"));
    ck_assert_int_ne(add(b, "{'x': [0, 0, 1]}", 4, &err), XQ_OK);
    ck_assert_msg(strncmp(err.field, "line 4: x", 9) == 0, "%s", err.field);
    ck_assert_int_eq(add(b, "{'x': [0, 0]}", 5, &err), XQ_OK);
    ck_assert_int_eq(xq_exbuild_finish(b, &x, &err), XQ_OK);
    ck_assert_str_eq(x->ids[0], "5");
    ck_assert_ptr_null(x->tags); /* no example had a tag */
    xq_exindex_destroy(x);
    xq_exbuild_destroy(b);
    xq_spec_destroy(s);
    xq_model_destroy(m);
}

END_TEST

/* An index of another dimension than the model's embedding: the instance's error says so. */
START_TEST(test_examples_dimension_mismatch) {
    xq_model_t *m = dense(identity2);
    xq_spec_t *s = spec(tabular_spec);
    xq_exindex_t x = {.neighbor_count = 1};
    xq_examples_query_t q = {.index = &x};
    xq_engine_result_t res;
    xq_error_t err;
    xq_buf_t out;

    ck_assert_int_eq(xq_index_new(3, XQ_INDEX_SQUARED_L2, XQ_INDEX_PRECISE, &x.index, &err), XQ_OK);
    res = explain_one(s, m, &q, "{'x': [0.1, 0]}", &out);
    ck_assert_int_eq(res.rc, XQ_EINVAL);
    ck_assert_str_eq(res.err.field, "metadata.latentSpaceSource");
    ck_assert_ptr_nonnull(strstr(res.err.msg, "dimension 3"));
    xq_buf_fini(&out);
    res = explain_one(s, m, NULL, "{'x': [0.1, 0]}", &out); /* and no index at all */
    ck_assert_int_eq(res.rc, XQ_EINVAL);
    ck_assert_str_eq(res.err.field, "indexId");
    xq_buf_fini(&out);
    xq_index_destroy(x.index);
    xq_spec_destroy(s);
    xq_model_destroy(m);
}

END_TEST

Suite *examples_suite(void) {
    Suite *s = suite_create("examples");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_examples_config);
    tcase_add_test(tc, test_examples_build_and_query);
    tcase_add_test(tc, test_examples_build_errors);
    tcase_add_test(tc, test_examples_dimension_mismatch);
    suite_add_tcase(s, tc);
    return s;
}
