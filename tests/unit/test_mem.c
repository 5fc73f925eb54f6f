/* test_mem.c -- overflow checks and the growable buffer. */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "mem.h"
#include "suites.h"

START_TEST(test_mem_mul_overflow_detected) {
    size_t out = 0;

    ck_assert(!xq_mul_overflows(1000, 1000, &out));
    ck_assert_uint_eq(out, 1000000);
    ck_assert(xq_mul_overflows(SIZE_MAX / 2 + 1, 2, &out));
    ck_assert(!xq_mul_overflows(SIZE_MAX, 0, &out));
    ck_assert_ptr_null(xq_try_calloc(SIZE_MAX / 4, 8));
}

END_TEST

START_TEST(test_mem_buf_appends_and_detaches) {
    xq_buf_t b;
    uint8_t *d;
    size_t len;

    xq_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        xq_buf_appendf(&b, "%d,", i % 10);
    ck_assert_uint_eq(b.len, 2000);
    ck_assert_int_eq(memcmp(b.data, "0,1,2,", 6), 0);
    xq_buf_append_str(&b, "end");
    ck_assert_str_eq(xq_buf_cstr(&b) + 2000, "end");
    d = xq_buf_detach(&b, &len);
    ck_assert_uint_eq(len, 2003);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    xq_free(d);
    xq_buf_fini(&b);
}

END_TEST

Suite *mem_suite(void) {
    Suite *s = suite_create("mem");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_mem_mul_overflow_detected);
    tcase_add_test(tc, test_mem_buf_appends_and_detaches);
    suite_add_tcase(s, tc);
    return s;
}
