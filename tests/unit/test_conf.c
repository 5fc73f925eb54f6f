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

Suite *conf_suite(void) {
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_conf_defaults_and_bounds);
    tcase_add_test(tc, test_conf_sources_file_env_and_kafka);
    suite_add_tcase(s, tc);
    return s;
}
