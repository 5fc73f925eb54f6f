/* test_batchjob.c -- BatchPredictionJob files: inputs, instanceConfig, outputs, refusals. */
#include <string.h>

#include <check.h>

#include "batchjob.h"
#include "helpers.h"
#include "json.h"
#include "mp.h"
#include "spec_helpers.h"
#include "suites.h"

static xq_bj_t *parse(const char *json, xq_errlist_t *errs) {
    char *t = t_dq(json);
    xq_bj_t *j = NULL;

    xq_bj_parse(t, strlen(t), "/base", &j, errs);
    xq_free(t);
    return j;
}

/* Applies @p j to @p in (' for "); @returns the instance as JSON (and the key in @p key). */
static char *apply(const xq_bj_t *j, const char *in, char *key, size_t key_size, xq_err_t *rc) {
    char *t = t_dq(in);
    xq_buf_t b, inst, k, out;
    msgpack_unpacked u;
    xq_error_t err;

    xq_buf_init(&b);
    xq_buf_init(&inst);
    xq_buf_init(&k);
    xq_buf_init(&out);
    t_json_to_mp(t, &b);
    t_unpack(&b, &u);
    *rc = xq_bj_apply(j, &u.data, &inst, &k, &err);
    if (*rc == XQ_OK) {
        msgpack_unpacked v;

        t_unpack(&inst, &v);
        xq_json_from_msgpack(&v.data, 0, &out, NULL);
        msgpack_unpacked_destroy(&v);
        key[0] = '\0';
        if (k.len) {
            xq_buf_t kj;

            xq_buf_init(&kj);
            t_unpack(&k, &v);
            xq_json_from_msgpack(&v.data, 0, &kj, NULL);
            snprintf(key, key_size, "%s", xq_buf_cstr(&kj));
            xq_buf_fini(&kj);
            msgpack_unpacked_destroy(&v);
        }
    } else {
        xq_buf_append_str(&out, err.field);
        xq_buf_append_str(&out, ": ");
        xq_buf_append_str(&out, err.msg);
    }
    msgpack_unpacked_destroy(&u);
    xq_buf_fini(&b);
    xq_buf_fini(&inst);
    xq_buf_fini(&k);
    xq_free(t);
    xq_buf_cstr(&out);
    return (char *)xq_buf_detach(&out, NULL);
}

#define JOB(input, ic)                                                                        \
    "{'displayName': 'd', 'model': 'projects/p/locations/l/models/m7', 'inputConfig': " input \
    ", " ic "'outputConfig': {'predictionsFormat': 'jsonl', 'gcsDestination': "               \
    "{'outputUriPrefix': 'file:///tmp/o'}}, 'generateExplanation': true, "                    \
    "'explanationSpec': {'parameters': {'sampledShapleyAttribution': {'pathCount': 2}}}}"

START_TEST(test_batchjob_parse) {
    xq_errlist_t errs;
    xq_bj_t *j;

    xq_errlist_init(&errs);
    j = parse(JOB("{'instancesFormat': 'csv', 'gcsSource': {'uris': ['file:///a.csv', 'b.csv']}}",
                  "'instanceConfig': {'keyField': 'id', 'excludedFields': ['x']}, "),
              &errs);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(j->model, "m7");
    ck_assert(j->csv && j->explain);
    ck_assert_uint_eq(j->path_cnt, 2);
    ck_assert_str_eq(j->paths[0], "/a.csv");
    ck_assert_str_eq(j->paths[1], "/base/b.csv");
    ck_assert_str_eq(j->out_dir, "/tmp/o");
    ck_assert_str_eq(j->key_field, "id");
    ck_assert_uint_eq(j->excluded_cnt, 1);
    ck_assert_uint_gt(j->spec_params.len, 0);
    ck_assert_uint_eq(j->spec_meta.len, 0);
    xq_bj_destroy(j);
    /* refusals, each named */
    ck_assert_ptr_null(parse(JOB("{'instancesFormat': 'tf-record', 'gcsSource': {'uris': "
                                 "['gs://b/x']}, 'bigquerySource': {}}",
                                 "'instanceConfig': {'includedFields': ['a'], "
                                 "'excludedFields': ['b'], 'instanceType': 'list'}, "),
                             &errs));
    t_assert_error(&errs, "inputConfig.instancesFormat", "\"jsonl\" or \"csv\"");
    t_assert_error(&errs, "inputConfig.bigquerySource", "export to JSONL or CSV");
    t_assert_error(&errs, "inputConfig.gcsSource.uris[0]", "gs:// is not supported here");
    t_assert_error(&errs, "instanceConfig", "cannot both be given");
    t_assert_error(&errs, "instanceConfig.instanceType", "\"object\" or \"array\"");
    xq_errlist_fini(&errs);
    xq_errlist_init(&errs);
    ck_assert_ptr_null(parse("{'inputConfig': {'instancesFormat': 'jsonl', 'gcsSource': "
                             "{'uris': ['a']}}, 'outputConfig': {'gcsDestination': "
                             "{'outputUriPrefix': 'gs://b/out'}}}",
                             &errs));
    t_assert_error(&errs, "outputConfig.gcsDestination.outputUriPrefix", "gs://");
    xq_errlist_fini(&errs);
}

END_TEST

START_TEST(test_batchjob_apply) {
    static const struct {
        const char *ic, *in, *want, *key;
        bool jsonl;
    } cases[] = {
        /* as is: JSONL lines stay, CSV rows become arrays in column order */
        {"", "{'a': 1, 'b': 2}", "{\"a\":1,\"b\":2}", "", true},
        {"", "[1, 2]", "[1,2]", "", true},
        {"", "{'a': 1, 'b': 2}", "[1,2]", "", false},
        /* keyField: out of the instance, into the key */
        {"'instanceConfig': {'keyField': 'id'}, ", "{'id': 'k1', 'a': 1, 'b': 2}",
         "{\"a\":1,\"b\":2}", "\"k1\"", true},
        {"'instanceConfig': {'keyField': 'id'}, ", "{'a': 1, 'id': 7, 'b': 2}", "[1,2]", "7",
         false},
        /* includedFields: their order; excludedFields */
        {"'instanceConfig': {'includedFields': ['b', 'a'], 'instanceType': 'array'}, ",
         "{'a': 1, 'b': 2, 'c': 3}", "[2,1]", "", true},
        {"'instanceConfig': {'includedFields': ['b', 'a']}, ", "{'a': 1, 'b': 2, 'c': 3}",
         "{\"b\":2,\"a\":1}", "", true},
        {"'instanceConfig': {'excludedFields': ['c'], 'instanceType': 'object'}, ",
         "{'a': 1, 'b': 2, 'c': 3}", "{\"a\":1,\"b\":2}", "", false},
        /* errors name the field */
        {"'instanceConfig': {'keyField': 'id'}, ", "{'a': 1}",
         "instanceConfig.keyField: the instance has no field id", "", true},
        {"'instanceConfig': {'includedFields': ['z']}, ", "{'a': 1}",
         "instanceConfig.includedFields: the instance has no field z", "", true},
        {"'instanceConfig': {'keyField': 'id'}, ", "[1, 2]", "instanceConfig: the instance is not",
         "", true},
    };

    xq_errlist_t errs;

    xq_errlist_init(&errs);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[1024], key[64], *got;
        xq_err_t rc;
        xq_bj_t *j;

        snprintf(json, sizeof(json),
                 "{'inputConfig': {'instancesFormat': '%s', 'gcsSource': {'uris': ['a']}}, %s"
                 "'outputConfig': {'gcsDestination': {'outputUriPrefix': '/o'}}}",
                 cases[i].jsonl ? "jsonl" : "csv", cases[i].ic);
        j = parse(json, &errs);
        ck_assert_msg(j != NULL, "case %zu", i);
        got = apply(j, cases[i].in, key, sizeof(key), &rc);
        ck_assert_msg(strncmp(got, cases[i].want, strlen(cases[i].want)) == 0,
                      "case %zu: %s, want %s", i, got, cases[i].want);
        if (rc == XQ_OK)
            ck_assert_str_eq(key, cases[i].key);
        xq_free(got);
        xq_bj_destroy(j);
    }
    ck_assert_uint_eq(errs.cnt, 0);
    xq_errlist_fini(&errs);
}

END_TEST

Suite *batchjob_suite(void) {
    Suite *s = suite_create("batchjob");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_batchjob_parse);
    tcase_add_test(tc, test_batchjob_apply);
    suite_add_tcase(s, tc);
    return s;
}
