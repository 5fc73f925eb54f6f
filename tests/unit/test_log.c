/* test_log.c -- JSON log lines: one valid object per line, escaping, worker and job ids, levels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "log.h"
#include "suites.h"

/* Runs the logging below with stderr going to a file; returns what was written. */
static char *captured(void (*body)(void)) {
    char path[] = "/tmp/explainq-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    static char buf[65536];
    FILE *f;
    size_t n;

    ck_assert_int_ge(fd, 0);
    dup2(fd, STDERR_FILENO);
    body();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    f = fopen(path, "r");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    return buf;
}

static void json_lines(void) {
    char big[3000];

    memset(big, '"', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    xq_log_set_format(XQ_LOG_FORMAT_JSON);
    xq_log_set_level(XQ_LOG_INFO);
    xq_log_set_worker_id("w-\"1\"");
    xq_log(XQ_LOG_WARN, "worker", "quote \" backslash \\ newline \n tab \t bell \a end");
    xq_log_job(XQ_LOG_ERROR, "kafka", "job-7", "failed %d", 3);
    xq_log(XQ_LOG_DEBUG, "worker", "not written at info");
    xq_log(XQ_LOG_INFO, "worker", "%s", big); /* longer than a line: cut, still valid */
    xq_log_set_worker_id(NULL);
    xq_log(XQ_LOG_INFO, "c", "no worker");
    xq_log_set_format(XQ_LOG_FORMAT_TEXT);
}

START_TEST(test_log_json_lines) {
    char *text = captured(json_lines), *save = NULL;
    const char *want_level[] = {"warn", "error", "info", "info"};
    int n = 0;

    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);

        ck_assert_msg(o && json_is_object(o), "line %d is not a JSON object: %s", n, line);
        ck_assert_int_lt(n, 4);
        ck_assert_str_eq(json_string_value(json_object_get(o, "level")), want_level[n]);
        ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "time")));
        ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "component")));
        ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "message")));
        if (n == 0) {
            ck_assert_str_eq(json_string_value(json_object_get(o, "message")),
                             "quote \" backslash \\ newline \n tab \t bell \a end");
            ck_assert_str_eq(json_string_value(json_object_get(o, "worker_id")), "w-\"1\"");
            ck_assert_ptr_null(json_object_get(o, "job_id"));
        } else if (n == 1) {
            ck_assert_str_eq(json_string_value(json_object_get(o, "job_id")), "job-7");
            ck_assert_str_eq(json_string_value(json_object_get(o, "message")), "failed 3");
            ck_assert_str_eq(json_string_value(json_object_get(o, "component")), "kafka");
        } else if (n == 2) {
            ck_assert_uint_gt(strlen(json_string_value(json_object_get(o, "message"))), 100);
        } else {
            ck_assert_ptr_null(json_object_get(o, "worker_id"));
        }
        json_decref(o);
    }
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(xq_log_format_parse("json"), XQ_LOG_FORMAT_JSON);
    ck_assert_int_eq(xq_log_format_parse("xml"), -1);
}

END_TEST

Suite *log_suite(void) {
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");

    tcase_add_test(tc, test_log_json_lines);
    suite_add_tcase(s, tc);
    return s;
}
