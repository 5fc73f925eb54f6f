/* test_job.c -- explain jobs on the wire: a round trip and every rule, each naming its field. */
#include <string.h>

#include <check.h>

#include "helpers.h"
#include "job.h"
#include "mp.h"
#include "suites.h"

START_TEST(test_job_round_trip) {
    xq_buf_t insts, b;
    msgpack_packer pk;
    xq_job_msg_t job;
    xq_error_t err;
    xq_job_view_t v = {.id = "j-1",
                       .model = "mlp20",
                       .spec_id = "ab",
                       .instance_cnt = 2,
                       .has_seed = true,
                       .seed = 42,
                       .target_error = 0.01,
                       .index_id =
                           "e0903fc567a5ff66b4276952687873f9caf03bd9d62f01567d87048ec183adb1",
                       .neighbor_count = 3,
                       .crowding_count = 1,
                       .output_topic = "results.online",
                       .low_latency = true};

    xq_buf_init(&insts);
    xq_buf_init(&b);
    xq_mp_packer_init(&pk, &insts);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(&pk, 1);
        xq_mp_pack_str(&pk, "x");
        msgpack_pack_int(&pk, i);
    }
    v.instances = insts.data;
    v.instances_len = insts.len;
    xq_job_pack(&v, &b);
    ck_assert_int_eq(xq_job_decode(b.data, b.len, 10, &job, &err), XQ_OK);
    ck_assert_str_eq(job.id, "j-1");
    ck_assert_str_eq(job.model, "mlp20");
    ck_assert_str_eq(job.spec_id, "ab");
    ck_assert_ptr_null(job.spec);
    ck_assert_uint_eq(job.instance_cnt, 2);
    ck_assert(job.has_seed && job.seed == 42);
    ck_assert_double_eq(job.target_error, 0.01);
    ck_assert_str_eq(job.index_id, v.index_id);
    ck_assert_uint_eq(job.neighbor_count, 3);
    ck_assert_uint_eq(job.crowding_count, 1);
    ck_assert_str_eq(job.output_topic, "results.online");
    ck_assert(job.low_latency);
    xq_job_msg_fini(&job);
    /* over the limit of instances */
    ck_assert_int_eq(xq_job_decode(b.data, b.len, 1, &job, &err), XQ_ELIMIT);
    ck_assert_str_eq(err.field, "instances");
    ck_assert_str_eq(job.id, "j-1"); /* the id is known: an error result can be sent */
    xq_job_msg_fini(&job);
    xq_buf_fini(&insts);
    xq_buf_fini(&b);
}

END_TEST

static const struct bad_job {
    const char *json;
    const char *field;
    const char *msg;
} bad_jobs[] = {
    {"[1]", "", "not one msgpack map"},
    {"{'model': 'm', 'specId': 'a', 'instances': [{}]}", "id", "is required"},
    {"{'id': '', 'model': 'm', 'specId': 'a', 'instances': [{}]}", "id", "is required"},
    {"{'id': 'j', 'specId': 'a', 'instances': [{}]}", "model", "is required"},
    {"{'id': 'j', 'model': 'a/b', 'specId': 'a', 'instances': [{}]}", "model", "letters, digits"},
    {"{'id': 'j', 'model': 'm', 'instances': [{}]}", "spec", "exactly one of spec"},
    {"{'id': 'j', 'model': 'm', 'spec': {}, 'specId': 'a', 'instances': [{}]}", "spec",
     "exactly one of spec"},
    {"{'id': 'j', 'model': 'm', 'specId': 'a'}", "instances", "is required"},
    {"{'id': 'j', 'model': 'm', 'specId': 'a', 'instances': []}", "instances", "non-empty"},
    {"{'id': 'j', 'model': 'm', 'specId': 'a', 'instances': [{}], 'seed': -1}", "seed",
     "unsigned integer"},
    {"{'id': 'j', 'model': 'm', 'specId': 'a', 'instances': [{}], 'targetApproximationError': "
     "0}",
     "targetApproximationError", "positive number"},
    {"{'id': 'j', 'model': 'm', 'specId': 'a', 'instances': [{}], 'priority': 1}", "",
     "unknown job field priority"},
    {"{'id': 'j', 'model': 'm', 'specId': 'a', 'instances': [{}], 'indexId': 'abc'}", "indexId",
     "64 hex digits"},
    {"{'id': 'j', 'model': 'm', 'specId': 'a', 'instances': [{}], 'examplesOverride': 3}",
     "examplesOverride", "must be a map"},
    {"{'id': 'j', 'model': 'm', 'specId': 'a', 'instances': [{}], 'examplesOverride': "
     "{'neighborCount': 0}}",
     "examplesOverride.neighborCount", "must be an integer in [1, 10000]"},
    {"{'id': 'j', 'model': 'm', 'specId': 'a', 'instances': [{}], 'examplesOverride': "
     "{'returnEmbeddings': true}}",
     "examplesOverride", "neighborCount and crowdingCount"},
};

START_TEST(test_job_bad) {
    char *json = t_dq(bad_jobs[_i].json);
    xq_job_msg_t job;
    xq_error_t err;
    xq_buf_t b;

    xq_buf_init(&b);
    t_json_to_mp(json, &b);
    ck_assert_int_ne(xq_job_decode(b.data, b.len, 100, &job, &err), XQ_OK);
    ck_assert_str_eq(err.field, bad_jobs[_i].field);
    ck_assert_msg(strstr(err.msg, bad_jobs[_i].msg), "\"%s\" lacks \"%s\"", err.msg,
                  bad_jobs[_i].msg);
    xq_job_msg_fini(&job);
    xq_buf_fini(&b);
    xq_free(json);
}

END_TEST

/* A job too deep to decode, or with an id over the limit, still names its id for the answer. */
START_TEST(test_job_id_of_undecodable) {
    xq_buf_t b;
    msgpack_packer pk;
    xq_job_msg_t job;
    xq_error_t err;
    char long_id[301];
    const uint8_t *v;
    size_t vl;

    xq_buf_init(&b);
    xq_mp_packer_init(&pk, &b);
    msgpack_pack_map(&pk, 3);
    xq_mp_pack_str(&pk, "model");
    xq_mp_pack_str(&pk, "m");
    xq_mp_pack_str(&pk, "instances");
    for (int d = 0; d < 200; d++)
        msgpack_pack_array(&pk, 1);
    msgpack_pack_bin(&pk, 3);
    msgpack_pack_bin_body(&pk, "abc", 3);
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, "deep-1");
    ck_assert_int_eq(xq_job_decode(b.data, b.len, 0, &job, &err), XQ_EDECODE);
    ck_assert_str_eq(job.id, "deep-1");
    xq_job_msg_fini(&job);
    /* truncated: no id to be found, and no read past the end */
    ck_assert(!xq_mp_peek_str(b.data, b.len - 3, "id", &v, &vl));
    ck_assert(xq_mp_peek_str(b.data, b.len, "id", &v, &vl));
    ck_assert_uint_eq(vl, 6);

    memset(long_id, 'a', 300);
    long_id[300] = '\0';
    b.len = 0;
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, long_id);
    ck_assert_int_eq(xq_job_decode(b.data, b.len, 0, &job, &err), XQ_ELIMIT);
    ck_assert_str_eq(err.field, "id");
    ck_assert_uint_eq(strlen(job.id), XQ_JOB_ID_SIZE - 1);
    xq_job_msg_fini(&job);
    xq_buf_fini(&b);
}

END_TEST

Suite *job_suite(void) {
    Suite *s = suite_create("job");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_job_round_trip);
    tcase_add_test(tc, test_job_id_of_undecodable);
    tcase_add_loop_test(tc, test_job_bad, 0, (int)(sizeof(bad_jobs) / sizeof(bad_jobs[0])));
    suite_add_tcase(s, tc);
    return s;
}
