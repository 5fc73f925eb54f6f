/* test_conf.c -- the option table: bounds, sources in order, kafka pass-through, bad lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "suites.h"

static const xq_conf_opt_t table[] = {
    {"max.batch.rows", "1024", 1, 4096, 0, "rows"},
    {"redis.url", "127.0.0.1:6379", 0, 0, 1, "redis"},
};

START_TEST(test_conf_defaults_and_bounds) {
    xq_conf_t *c = xq_conf_new(table, 2);
    xq_error_t err;

    ck_assert_double_eq(xq_conf_num(c, "max.batch.rows"), 1024);
    ck_assert_str_eq(xq_conf_str(c, "redis.url"), "127.0.0.1:6379");
    ck_assert_int_eq(xq_conf_set(c, "max.batch.rows", "0", "-X", &err), XQ_EINVAL);
    ck_assert_str_eq(err.field, "max.batch.rows");
    ck_assert_str_eq(err.msg, "0 is outside [1, 4096]");
    ck_assert_int_eq(xq_conf_set(c, "max.batch.rows", "12x", "-X", &err), XQ_EINVAL);
    ck_assert_int_eq(xq_conf_set(c, "max.batch.rowz", "12", "-X", &err), XQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown option"));
    ck_assert_int_eq(xq_conf_set(c, "max.batch.rows", "64", "-X", &err), XQ_OK);
    ck_assert_double_eq(xq_conf_num(c, "max.batch.rows"), 64);
    xq_conf_destroy(c);
}

END_TEST

START_TEST(test_conf_sources_file_env_and_kafka) {
    char path[] = "/tmp/explainq-conf-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    char e1[] = "EXPLAINQ_MAX_BATCH_ROWS=99", e2[] = "PATH=/bin", e3[] = "EXPLAINQ_NOT_AN_OPTION=1";
    char *env[] = {e1, e2, e3, NULL};
    xq_conf_t *c = xq_conf_new(table, 2);
    const char *props[8];
    xq_errlist_t errs;
    size_t n;

    fputs("# comment\nmax.batch.rows = 77\nredis.url=redis:1\nkafka.linger.ms=5\n"
          "kafka.consumer.fetch.wait.max.ms=10\nkafka.producer.acks=all\nno equals here\n"
          "max.batch.rows=99999\n",
          f);
    fclose(f);
    xq_errlist_init(&errs);
    xq_conf_load_file(c, path, &errs);
    unlink(path);
    /* two bad lines, each named with its number */
    ck_assert_uint_eq(errs.cnt, 2);
    ck_assert_ptr_nonnull(strstr(errs.items[0].msg, "line 7: expected key=value"));
    ck_assert_ptr_nonnull(strstr(errs.items[1].msg, "8: max.batch.rows: 99999 is outside"));
    ck_assert_double_eq(xq_conf_num(c, "max.batch.rows"), 77);
    ck_assert_str_eq(xq_conf_str(c, "redis.url"), "redis:1");
    /* the environment comes after the file */
    xq_conf_load_env(c, env, &errs);
    ck_assert_double_eq(xq_conf_num(c, "max.batch.rows"), 99);
    /* kafka.* for all, kafka.<kind>.* for one kind, with the prefix taken off */
    n = xq_conf_kafka(c, "consumer", props, 8);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(props[0], "linger.ms=5");
    ck_assert_str_eq(props[1], "fetch.wait.max.ms=10");
    n = xq_conf_kafka(c, "producer", props, 8);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(props[1], "acks=all");
    xq_errlist_fini(&errs);
    xq_conf_destroy(c);
}

END_TEST

START_TEST(test_conf_unknown_keys_name_the_nearest) {
    xq_conf_t *c = xq_conf_new(table, 2);
    xq_error_t err;

    ck_assert_int_eq(xq_conf_set(c, "max.batch.rowz", "12", "-X", &err), XQ_EINVAL);
    ck_assert_str_eq(err.field, "max.batch.rowz");
    ck_assert_str_eq(err.msg, "unknown option; did you mean max.batch.rows?");
    ck_assert_int_eq(xq_conf_set(c, "redis.ulr", "x", "-X", &err), XQ_EINVAL);
    ck_assert_str_eq(err.msg, "unknown option; did you mean redis.url?");
    /* a librdkafka property without its prefix: the kafka.* spelling is named */
    ck_assert_int_eq(xq_conf_set(c, "security.protocol", "SASL_SSL", "-X", &err), XQ_EINVAL);
    ck_assert_str_eq(err.msg, "unknown option; a librdkafka property is set as "
                              "kafka.security.protocol (kafka.consumer.security.protocol, "
                              "kafka.producer.security.protocol for one kind of client)");
    ck_assert_int_eq(xq_conf_set(c, "zzz", "1", "-X", &err), XQ_EINVAL);
    ck_assert_str_eq(err.msg, "unknown option (see --dump-config)");
    xq_conf_destroy(c);
}

END_TEST

static void collect_line(const char *text, void *ud) {
    char *out = ud;

    strncat(out, text, 4000 - strlen(out) - 2);
    strcat(out, "\n");
}

START_TEST(test_conf_env_kafka_and_masked_dump) {
    static const xq_conf_opt_t t2[] = {
        {"redis.password", "", 0, 0, 1, "AUTH password"},
        {"redis.url", "127.0.0.1:6379", 0, 0, 1, "redis"},
    };
    char e1[] = "EXPLAINQ_KAFKA_SASL_MECHANISM=PLAIN",
         e2[] = "EXPLAINQ_KAFKA_SASL_PASSWORD=hunter2", e3[] = "EXPLAINQ_REDIS_PASSWORD=s3cret",
         e4[] = "EXPLAINQ_SERVICE_HOST=10.0.0.1",
         e5[] = "EXPLAINQ_KAFKA_CONSUMER_FETCH_WAIT_MAX_MS=7";
    char *env[] = {e1, e2, e3, e4, e5, NULL};
    xq_conf_t *c = xq_conf_new(t2, 2);
    const char *props[8];
    char out[4000] = "";
    xq_errlist_t errs;
    size_t n;

    xq_errlist_init(&errs);
    xq_conf_load_env(c, env, &errs);
    ck_assert_uint_eq(errs.cnt, 0); /* EXPLAINQ_SERVICE_HOST (set by Kubernetes) is ignored */
    ck_assert_str_eq(xq_conf_str(c, "redis.password"), "s3cret");
    n = xq_conf_kafka(c, "consumer", props, 8);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(props[0], "sasl.mechanism=PLAIN");
    ck_assert_str_eq(props[1], "sasl.password=hunter2");
    ck_assert_str_eq(props[2], "fetch.wait.max.ms=7");
    ck_assert(xq_conf_is_secret("kafka.sasl.jaas.config"));
    ck_assert(xq_conf_is_secret("kafka.ssl.key.password"));
    ck_assert(!xq_conf_is_secret("kafka.sasl.mechanism"));
    xq_conf_dump(c, collect_line, out);
    ck_assert_ptr_null(strstr(out, "hunter2"));
    ck_assert_ptr_null(strstr(out, "s3cret"));
    ck_assert_ptr_nonnull(strstr(out, "redis.password=****  # env; AUTH password\n"));
    ck_assert_ptr_nonnull(strstr(out, "kafka.sasl.password=****\n"));
    ck_assert_ptr_nonnull(strstr(out, "kafka.sasl.mechanism=PLAIN\n"));
    xq_errlist_fini(&errs);
    xq_conf_destroy(c);
}

END_TEST

Suite *conf_suite(void) {
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_conf_defaults_and_bounds);
    tcase_add_test(tc, test_conf_sources_file_env_and_kafka);
    tcase_add_test(tc, test_conf_unknown_keys_name_the_nearest);
    tcase_add_test(tc, test_conf_env_kafka_and_masked_dump);
    suite_add_tcase(s, tc);
    return s;
}
