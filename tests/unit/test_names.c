/* test_names.c -- topic, group and Redis key names as docs/design.md spells them, and never cut
 * silently. */
#include <string.h>

#include <check.h>

#include "names.h"
#include "suites.h"

START_TEST(test_names_as_designed) {
    char b[128];

    /* docs/design.md §1-§3 */
    ck_assert_str_eq(XQ_TOPIC_JOBS, "explain.jobs");
    ck_assert_str_eq(XQ_TOPIC_RESULTS, "explain.results");
    ck_assert_str_eq(XQ_TOPIC_DLQ, "explain.dlq");
    ck_assert_str_eq(XQ_TOPIC_REPLIES, "explain.replies");
    ck_assert_str_eq(XQ_GROUP_WORKERS, "explainq-workers");
    ck_assert(xq_name_infer_topic(b, sizeof(b), "mlp20"));
    ck_assert_str_eq(b, "explain.infer.mlp20");
    ck_assert(xq_name_runner_group(b, sizeof(b), "mlp20"));
    ck_assert_str_eq(b, "explainq-runners-mlp20");
    ck_assert(xq_name_txn_id(b, sizeof(b), "host-42"));
    ck_assert_str_eq(b, "explainq-host-42");
    ck_assert(xq_key_spec(b, sizeof(b), "ab12"));
    ck_assert_str_eq(b, "explainq:spec:ab12");
    ck_assert(xq_key_job(b, sizeof(b), "job-1"));
    ck_assert_str_eq(b, "explainq:job:job-1");
    ck_assert(xq_key_jobid(b, sizeof(b), "job-1"));
    ck_assert_str_eq(b, "explainq:jobid:job-1");
    ck_assert(xq_key_lease(b, sizeof(b), 13));
    ck_assert_str_eq(b, "explainq:lease:replies:13");
    ck_assert(xq_key_baseline(b, sizeof(b), "m", "0f"));
    ck_assert_str_eq(b, "explainq:baseline:m:0f");
    ck_assert(xq_key_index(b, sizeof(b), "cd"));
    ck_assert_str_eq(b, "explainq:index:cd");
    ck_assert(xq_key_index_chunk(b, sizeof(b), "cd", 7));
    ck_assert_str_eq(b, "explainq:index:cd:7");
    ck_assert(xq_key_examples(b, sizeof(b), "ef"));
    ck_assert_str_eq(b, "explainq:examples:ef");
}

END_TEST

START_TEST(test_names_keys_share_the_prefix) {
    const char *keys[] = {XQ_KEY_SPEC,     XQ_KEY_JOB,   XQ_KEY_JOBID,   XQ_KEY_LEASE,
                          XQ_KEY_BASELINE, XQ_KEY_INDEX, XQ_KEY_EXAMPLES};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        ck_assert_int_eq(strncmp(keys[i], XQ_KEY_PREFIX, strlen(XQ_KEY_PREFIX)), 0);
        /* no key format is a prefix of another's: "explainq:job:" and "explainq:jobid:" differ
         * by their colon */
        for (size_t j = 0; j < i; j++)
            ck_assert_int_ne(strncmp(keys[i], keys[j], strlen(keys[j])), 0);
    }
}

END_TEST

START_TEST(test_names_cut_is_reported) {
    char b[17];

    /* exactly fits: 16 characters and the terminator */
    ck_assert(xq_key_job(b, sizeof(b), "abc"));
    ck_assert_str_eq(b, "explainq:job:abc");
    ck_assert(!xq_key_job(b, sizeof(b), "abcd"));
    ck_assert_uint_eq(strlen(b), sizeof(b) - 1); /* terminated, what fit */
    ck_assert(!xq_name_infer_topic(b, sizeof(b), "a-model-name"));
    ck_assert(!xq_key_lease(b, sizeof(b), 1000000));
    ck_assert(!xq_key_spec(b, 0, "x"));
}

END_TEST

Suite *names_suite(void) {
    Suite *s = suite_create("names");
    TCase *tc = tcase_create("names");

    tcase_add_test(tc, test_names_as_designed);
    tcase_add_test(tc, test_names_keys_share_the_prefix);
    tcase_add_test(tc, test_names_cut_is_reported);
    suite_add_tcase(s, tc);
    return s;
}
