/* test_err.c -- the error table and the error list. */
#include <string.h>

#include <check.h>

#include "err.h"
#include "suites.h"

START_TEST(test_err_table_names_every_code) {
    ck_assert_str_eq(xq_err_name(XQ_OK), "XQ_OK");
    ck_assert_str_eq(xq_err_name(XQ_ESPEC), "XQ_ESPEC");
    ck_assert_str_eq(xq_err_wire(XQ_ESPEC), "invalid_spec");
    ck_assert_str_eq(xq_err_wire(XQ_EDECODE), "undecodable");
    ck_assert_str_eq(xq_err_str(XQ_ENOMEM), "out of memory");
    ck_assert_str_eq(xq_err_name((xq_err_t)-999), "XQ_EUNKNOWN");
}

END_TEST

START_TEST(test_err_set_fills_and_returns_code) {
    xq_error_t e;

    ck_assert_int_eq(xq_error_set(&e, XQ_ESPEC, "a.b", "%d is outside [%d, %d]", 0, 1, 50),
                     XQ_ESPEC);
    ck_assert_str_eq(e.field, "a.b");
    ck_assert_str_eq(e.msg, "0 is outside [1, 50]");
    ck_assert_int_eq(xq_error_set(NULL, XQ_EIO, NULL, "x"), XQ_EIO);
    xq_error_set(&e, XQ_EIO, NULL, "y");
    ck_assert_str_eq(e.field, "");
}

END_TEST

START_TEST(test_err_set_truncates_long_fields) {
    char longpath[1000];
    xq_error_t e;

    memset(longpath, 'x', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    xq_error_set(&e, XQ_ESPEC, longpath, "%s", longpath);
    ck_assert_uint_eq(strlen(e.field), XQ_ERR_FIELD_SIZE - 1);
    ck_assert_uint_eq(strlen(e.msg), XQ_ERR_MSG_SIZE - 1);
}

END_TEST

START_TEST(test_err_list_keeps_a_bounded_number) {
    xq_errlist_t errs;

    xq_errlist_init(&errs);
    for (int i = 0; i < XQ_ERRLIST_MAX + 25; i++)
        xq_errlist_add(&errs, XQ_ESPEC, "f", "error %d", i);
    ck_assert_uint_eq(errs.cnt, XQ_ERRLIST_MAX);
    ck_assert_uint_eq(errs.dropped, 25);
    ck_assert_uint_eq(xq_errlist_total(&errs), XQ_ERRLIST_MAX + 25);
    ck_assert_str_eq(errs.items[7].msg, "error 7");
    xq_errlist_fini(&errs);
    ck_assert_uint_eq(xq_errlist_total(&errs), 0);
}

END_TEST

Suite *err_suite(void) {
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_err_table_names_every_code);
    tcase_add_test(tc, test_err_set_fills_and_returns_code);
    tcase_add_test(tc, test_err_set_truncates_long_fields);
    tcase_add_test(tc, test_err_list_keeps_a_bounded_number);
    suite_add_tcase(s, tc);
    return s;
}
