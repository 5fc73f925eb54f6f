/* test_outputs.c -- outputIndices, topK, argmax and display names (docs/design.md §4 "Outputs"). */
#include <string.h>

#include <check.h>

#include "explain_helpers.h"
#include "mp.h"
#include "suites.h"
#include "testmodels.h"

/* Four outputs, y_k = w_k . x with x = (1, 1): values 0.5, 3, -1, 3 (a tie at 1 and 3). */
static xq_model_t *four_outputs(size_t ndim) {
    tfun_t f = {.in_cnt = 2,
                .out_cnt = 4,
                .f = t_linear_f,
                .df = t_linear_df,
                .w = {0.25, 0.25, 1, 2, -0.5, -0.5, 2, 1}};
    const char *names[] = {"x"};
    size_t sizes[] = {2}, d1[] = {4}, d2[] = {2, 2};

    return t_model(&f, names, sizes, 1, ndim, ndim == 1 ? d1 : d2, NULL);
}

static const char *spec_for(const char *params, char *buf, size_t n) {
    snprintf(buf, n,
             "{'parameters': {'integratedGradientsAttribution': {'stepCount': 2}%s},"
             " 'metadata': {'inputs': {'x': {}}, 'outputs': {'scores': {'indexDisplayNameMapping':"
             " ['ant', 'bee', 'cat', 'dog']}}}}",
             params);
    return buf;
}

START_TEST(test_outputs_argmax_by_default) {
    xq_model_t *m = four_outputs(1);
    char spec[512];
    texpl_t e;

    t_explain(spec_for("", spec, sizeof(spec)), m, "[{'x': [1, 1]}]", NULL, &e);
    ck_assert_uint_eq(t_attr_cnt(&e, 0), 1);
    ck_assert_int_eq(t_out_index(&e, 0, 0), 1); /* 3 at index 1 and 3: the lower index wins */
    ck_assert_double_eq_tol(t_num(&e, 0, 0, "instanceOutputValue"), 3, 1e-6);
    ck_assert(xq_mp_str_eq(t_get(t_attr(&e, 0, 0), "outputDisplayName"), "bee"));
    ck_assert_ptr_nonnull(t_get(t_attr(&e, 0, 0), "outputName"));
    /* each attribution explains its own output: w_k (x - 0) */
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x", 0), 1, 1e-5);
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x", 1), 2, 1e-5);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

START_TEST(test_outputs_top_k_sorted_descending) {
    xq_model_t *m = four_outputs(1);
    const long want_all[] = {1, 3, 0, 2};
    char spec[512];
    texpl_t e;

    t_explain(spec_for(", 'topK': 3", spec, sizeof(spec)), m, "[{'x': [1, 1]}]", NULL, &e);
    ck_assert_uint_eq(t_attr_cnt(&e, 0), 3);
    for (size_t a = 0; a < 3; a++)
        ck_assert_int_eq(t_out_index(&e, 0, a), want_all[a]);
    t_explain_fini(&e);
    t_explain(spec_for(", 'topK': -1", spec, sizeof(spec)), m, "[{'x': [1, 1]}]", NULL, &e);
    ck_assert_uint_eq(t_attr_cnt(&e, 0), 4);
    for (size_t a = 0; a < 4; a++) {
        ck_assert_int_eq(t_out_index(&e, 0, a), want_all[a]);
        if (a)
            ck_assert(t_num(&e, 0, a, "instanceOutputValue") <=
                      t_num(&e, 0, a - 1, "instanceOutputValue"));
    }
    t_explain_fini(&e);
    /* topK beyond the output size gives every output */
    t_explain(spec_for(", 'topK': 99", spec, sizeof(spec)), m, "[{'x': [1, 1]}]", NULL, &e);
    ck_assert_uint_eq(t_attr_cnt(&e, 0), 4);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

START_TEST(test_outputs_indices_in_the_order_given) {
    xq_model_t *m = four_outputs(1);
    char spec[512];
    texpl_t e;

    t_explain(spec_for(", 'outputIndices': [2, 0], 'topK': 1", spec, sizeof(spec)), m,
              "[{'x': [1, 1]}]", NULL, &e);
    ck_assert_uint_eq(t_attr_cnt(&e, 0), 2);
    ck_assert_int_eq(t_out_index(&e, 0, 0), 2);
    ck_assert_int_eq(t_out_index(&e, 0, 1), 0);
    ck_assert(xq_mp_str_eq(t_get(t_attr(&e, 0, 0), "outputDisplayName"), "cat"));
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x", 0), -0.5, 1e-5);
    t_explain_fini(&e);
    /* an index outside the output is this instance's error */
    t_explain(spec_for(", 'outputIndices': [4]", spec, sizeof(spec)), m, "[{'x': [1, 1]}]", NULL,
              &e);
    ck_assert_int_eq(e.res[0].rc, XQ_EINVAL);
    ck_assert_str_eq(e.res[0].err.field, "parameters.outputIndices[0]");
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* A 2-D output: outputIndex has two entries; indices and display names are 2-D. */
START_TEST(test_outputs_two_dimensional) {
    xq_model_t *m = four_outputs(2);
    const msgpack_object *oi;
    texpl_t e;

    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2},"
              " 'outputIndices': [[1, 0]]}, 'metadata': {'inputs': {'x': {}}, 'outputs': {'s':"
              " {'indexDisplayNameMapping': [['a', 'b'], ['c', 'd']]}}}}",
              m, "[{'x': [1, 1]}]", NULL, &e);
    oi = t_get(t_attr(&e, 0, 0), "outputIndex");
    ck_assert_uint_eq(oi->via.array.size, 2);
    ck_assert_uint_eq(oi->via.array.ptr[0].via.u64, 1);
    ck_assert_uint_eq(oi->via.array.ptr[1].via.u64, 0);
    ck_assert(xq_mp_str_eq(t_get(t_attr(&e, 0, 0), "outputDisplayName"), "c"));
    ck_assert_double_eq_tol(t_num(&e, 0, 0, "instanceOutputValue"), -1, 1e-6);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* A scalar output: one attribution, outputIndex empty, whatever topK says. */
START_TEST(test_outputs_scalar) {
    tfun_t f = {.in_cnt = 1, .out_cnt = 1, .f = t_exp_f, .df = t_exp_df};
    const char *names[] = {"z"};
    size_t sizes[] = {1};
    xq_model_t *m = t_model(&f, names, sizes, 1, 0, NULL, NULL);
    texpl_t e;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 2}, 'topK': -1}}", m,
              "[{'z': 0.5}]", NULL, &e);
    ck_assert_uint_eq(t_attr_cnt(&e, 0), 1);
    ck_assert_int_eq(t_out_index(&e, 0, 0), -1);
    ck_assert(!t_has(&e, 0, 0, "outputDisplayName"));
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* displayNameMappingKey names outputs from the model's own labels under that key; an
 * output past the end of the list, or a key the model lacks, gets no display name. */
START_TEST(test_outputs_display_name_mapping_key) {
    xq_model_t *m = four_outputs(1);
    const char *labels[] = {"ant", "bee", "cat"};
    const char *spec = "{'parameters': {'integratedGradientsAttribution': {'stepCount': 2},"
                       " 'outputIndices': [1, 3]}, 'metadata': {'inputs': {'x': {}},"
                       " 'outputs': {'scores': {'displayNameMappingKey': 'classes'}}}}";
    const char *missing = "{'parameters': {'integratedGradientsAttribution': {'stepCount': 2}},"
                          " 'metadata': {'inputs': {'x': {}},"
                          " 'outputs': {'scores': {'displayNameMappingKey': 'missing'}}}}";
    texpl_t e;

    xq_model_set_labels(m, "other", labels, 1);
    xq_model_set_labels(m, "classes", labels, 3);
    t_explain(spec, m, "[{'x': [1, 1]}]", NULL, &e);
    ck_assert_uint_eq(t_attr_cnt(&e, 0), 2);
    ck_assert(xq_mp_str_eq(t_get(t_attr(&e, 0, 0), "outputDisplayName"), "bee"));
    ck_assert(!t_has(&e, 0, 1, "outputDisplayName"));
    t_explain_fini(&e);

    t_explain(missing, m, "[{'x': [1, 1]}]", NULL, &e);
    ck_assert(!t_has(&e, 0, 0, "outputDisplayName"));
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

Suite *outputs_suite(void) {
    Suite *s = suite_create("outputs");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_outputs_argmax_by_default);
    tcase_add_test(tc, test_outputs_top_k_sorted_descending);
    tcase_add_test(tc, test_outputs_indices_in_the_order_given);
    tcase_add_test(tc, test_outputs_two_dimensional);
    tcase_add_test(tc, test_outputs_scalar);
    tcase_add_test(tc, test_outputs_display_name_mapping_key);
    suite_add_tcase(s, tc);
    return s;
}
