/* test_registry.c -- the method table: every method parses by its names, round-trips through the
 * canonical form, has its operations, and the parser's messages list the table. */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "json.h"
#include "mem.h"
#include "methods/registry.h"
#include "spec.h"
#include "spec_helpers.h"
#include "suites.h"

/* Every method common/spec.h knows, with a valid value of its member: a new method adds a line
 * (the tests below fail until this list and the table agree). */
static const struct {
    xq_method_t method;
    const char *value;
} known[] = {
    {XQ_METHOD_SAMPLED_SHAPLEY, "{\"pathCount\": 3}"},
    {XQ_METHOD_INTEGRATED_GRADIENTS, "{\"stepCount\": 8}"},
    {XQ_METHOD_XRAI, "{\"stepCount\": 8}"},
    {XQ_METHOD_EXAMPLES, "{\"neighborCount\": 4, \"presets\": {\"modality\": \"TABULAR\"}}"},
};

#define KNOWN_CNT (sizeof(known) / sizeof(known[0]))

/* A valid value of method @p m's member. */
static const char *member_value(xq_method_t m) {
    for (size_t k = 0; k < KNOWN_CNT; k++) {
        if (known[k].method == m)
            return known[k].value;
    }
    ck_abort_msg("method %d is not in known[]", (int)m);
    return NULL;
}

/* A spec whose parameters hold one method under @p key. */
static void spec_json(char *buf, size_t size, const char *key, const char *value) {
    snprintf(buf, size,
             "{\"parameters\": {\"%s\": %s}, \"metadata\": {\"inputs\": {\"x\": {}},"
             " \"outputs\": {\"y\": {}}, \"latentSpaceSource\": \"y\"}}",
             key, value);
}

START_TEST(test_registry_every_method_once) {
    /* the methods the spec knows (common/spec.h) are exactly the table's, each once */
    size_t n = xq_method_cnt();

    ck_assert_uint_eq(n, KNOWN_CNT);
    ck_assert_uint_le(n, XQ_METHOD_MAX);
    ck_assert_ptr_null(xq_method_at(n));
    ck_assert_ptr_null(xq_method_get(XQ_METHOD_NONE));
    for (size_t k = 0; k < KNOWN_CNT; k++) {
        const xq_method_def_t *d = xq_method_get(known[k].method);

        ck_assert_ptr_nonnull(d);
        ck_assert_int_eq(d->method, known[k].method);
    }
    for (size_t i = 0; i < n; i++) {
        const xq_method_def_t *d = xq_method_at(i);

        ck_assert_ptr_nonnull(d->name);
        ck_assert_ptr_nonnull(d->parse);
        ck_assert_ptr_nonnull(d->canon);
        ck_assert_ptr_nonnull(d->ops);
        for (size_t j = 0; j < i; j++) {
            ck_assert_int_ne(xq_method_at(j)->method, d->method);
            ck_assert_str_ne(xq_method_at(j)->name, d->name);
        }
        /* by name, and the name the rest of the code prints */
        ck_assert_ptr_eq(xq_method_find(d->name, strlen(d->name)), d);
        ck_assert_str_eq(xq_method_name(d->method), d->name);
        if (d->proto)
            ck_assert_ptr_eq(xq_method_find(d->proto, strlen(d->proto)), d);
    }
    ck_assert_str_eq(xq_method_name(XQ_METHOD_NONE), "none");
    ck_assert_str_eq(xq_method_name((xq_method_t)99), "unknown");
}

END_TEST

START_TEST(test_registry_find_exact_names_only) {
    ck_assert_ptr_null(xq_method_find("examplesX", 9));
    ck_assert_ptr_null(xq_method_find("exampl", 6));
    ck_assert_ptr_null(xq_method_find("Examples", 8));
    ck_assert_ptr_null(xq_method_find(NULL, 0));
    /* a name given with its length, not its terminator */
    ck_assert_ptr_eq(xq_method_find("examples, then more", 8), xq_method_get(XQ_METHOD_EXAMPLES));
    ck_assert_ptr_eq(xq_method_find("xrai_attribution", 16), xq_method_get(XQ_METHOD_XRAI));
}

END_TEST

START_TEST(test_registry_ops_complete) {
    for (size_t i = 0; i < xq_method_cnt(); i++) {
        const xq_method_ops_t *ops = xq_method_at(i)->ops();

        ck_assert_msg(ops && ops->create && ops->next && ops->plan && ops->reduce && ops->destroy,
                      "%s: an operation is missing", xq_method_at(i)->name);
    }
}

END_TEST

START_TEST(test_registry_parse_and_canon_each) {
    /* every method parses by its JSON and its proto name to its enum, and its canonical form
     * names it and parses back to the same spec id */
    for (size_t i = 0; i < xq_method_cnt(); i++) {
        const xq_method_def_t *d = xq_method_at(i);
        const char *keys[2] = {d->name, d->proto};

        for (size_t k = 0; k < 2 && keys[k]; k++) {
            char json[512], member[96];
            xq_spec_t *spec, *again;
            xq_errlist_t errs;
            xq_buf_t canon;

            spec_json(json, sizeof(json), keys[k], member_value(d->method));
            spec = t_spec_ok(json);
            ck_assert_int_eq(spec->params.method, d->method);
            xq_buf_init(&canon);
            xq_spec_to_json(spec, 0, &canon);
            snprintf(member, sizeof(member), "\"%s\":", d->name);
            ck_assert_msg(strstr(xq_buf_cstr(&canon), member), "%s: canonical form %s", d->name,
                          xq_buf_cstr(&canon));
            xq_errlist_init(&errs);
            ck_assert_int_eq(xq_spec_parse(spec->canonical, spec->canonical_len, &again, &errs),
                             XQ_OK);
            ck_assert_str_eq(again->id, spec->id);
            ck_assert_int_eq(again->params.method, d->method);
            xq_spec_destroy(again);
            xq_errlist_fini(&errs);
            xq_buf_fini(&canon);
            xq_spec_destroy(spec);
        }
    }
}

END_TEST

START_TEST(test_registry_messages_list_the_table) {
    xq_errlist_t errs;
    char want[512] = "one of ";
    size_t off = strlen(want);

    for (size_t i = 0; i < xq_method_cnt(); i++)
        off += (size_t)snprintf(want + off, sizeof(want) - off, "%s%s", i ? ", " : "",
                                xq_method_at(i)->name);
    t_spec_bad("{\"parameters\": {\"topK\": 1}}", &errs);
    t_assert_error(&errs, "parameters", want);
    xq_errlist_fini(&errs);

    /* two members of the union: refused, both named */
    t_spec_bad("{\"parameters\": {\"sampledShapleyAttribution\": {\"pathCount\": 1},"
               " \"xraiAttribution\": {\"stepCount\": 4}}}",
               &errs);
    t_assert_error(&errs, "parameters", "sampledShapleyAttribution and xraiAttribution");
    xq_errlist_fini(&errs);

    /* an unknown member lists every method and the output selection */
    snprintf(want, sizeof(want), "%s, topK, outputIndices",
             xq_method_at(xq_method_cnt() - 1)->name);
    t_spec_bad("{\"parameters\": {\"lime\": {}}}", &errs);
    t_assert_error(&errs, "parameters.lime", want);
    xq_errlist_fini(&errs);
}

END_TEST

Suite *registry_suite(void) {
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");

    tcase_add_test(tc, test_registry_every_method_once);
    tcase_add_test(tc, test_registry_find_exact_names_only);
    tcase_add_test(tc, test_registry_ops_complete);
    tcase_add_test(tc, test_registry_parse_and_canon_each);
    tcase_add_test(tc, test_registry_messages_list_the_table);
    suite_add_tcase(s, tc);
    return s;
}
