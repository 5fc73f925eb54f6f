/* test_offsets.c -- the exactly-once rules of answering jobs ahead of a slow one. */
#include <string.h>

#include <check.h>

#include "offsets.h"
#include "suites.h"

/* A slow job at 10; 11..13 finish and are answered ahead; a commit at 10 carries them, and a
 * worker taking the partition over from that commit skips exactly them. */
START_TEST(test_offsets_out_of_order) {
    xq_offsets_t *a = xq_offsets_new(), *b = xq_offsets_new();
    char meta[XQ_OFFSETS_META_MAX + 1];
    size_t n;

    xq_offsets_reset(a, 0, 10, NULL, 0);
    ck_assert(xq_offsets_ahead(a, 0, 13));
    ck_assert(xq_offsets_ahead(a, 0, 11));
    ck_assert(xq_offsets_ahead(a, 0, 12));
    ck_assert(!xq_offsets_ahead(a, 0, 9)); /* below the committed offset: never ahead */
    n = xq_offsets_metadata(a, 0, 10, meta, sizeof(meta));
    ck_assert_str_eq(meta, "xq1,1,2,3");
    ck_assert_uint_eq(n, strlen(meta));
    /* the partition moves to another worker */
    xq_offsets_reset(b, 0, 10, meta, n);
    ck_assert(!xq_offsets_answered(b, 0, 10));
    ck_assert(xq_offsets_answered(b, 0, 11));
    ck_assert(xq_offsets_answered(b, 0, 13));
    ck_assert(!xq_offsets_answered(b, 0, 14));
    ck_assert(!xq_offsets_answered(b, 1, 11)); /* another partition */
    /* the slow job is answered: the commit moves past everything, nothing is ahead */
    ck_assert_uint_eq(xq_offsets_metadata(b, 0, 14, meta, sizeof(meta)), 0);
    ck_assert(!xq_offsets_answered(b, 0, 11));
    xq_offsets_destroy(a);
    xq_offsets_destroy(b);
}

END_TEST

/* An aborted transaction: starting over from the commit forgets what it answered ahead. */
START_TEST(test_offsets_abort_and_bound) {
    xq_offsets_t *t = xq_offsets_new();
    char meta[XQ_OFFSETS_META_MAX + 1];
    size_t n, i;

    xq_offsets_reset(t, 3, 100, "xq1,z,10", 8);
    ck_assert(xq_offsets_answered(t, 3, 135));
    ck_assert(xq_offsets_answered(t, 3, 136));
    ck_assert(xq_offsets_ahead(t, 3, 140));
    xq_offsets_reset(t, 3, 100, "xq1,z,10", 8); /* abort: back to what was committed */
    ck_assert(!xq_offsets_answered(t, 3, 140));
    xq_offsets_reset(t, 3, 100, "not ours", 8);
    ck_assert(!xq_offsets_answered(t, 3, 135));
    /* the metadata stays bounded: past it, jobs wait their turn */
    for (i = 0; xq_offsets_ahead(t, 3, 1000 + (int64_t)i); i++)
        ;
    ck_assert_uint_gt(i, 500);
    n = xq_offsets_metadata(t, 3, 100, meta, sizeof(meta));
    ck_assert_uint_le(n, XQ_OFFSETS_META_MAX);
    ck_assert_uint_eq(n, strlen(meta));
    xq_offsets_forget(t, 3);
    ck_assert(!xq_offsets_answered(t, 3, 1000));
    xq_offsets_destroy(t);
}

END_TEST

Suite *offsets_suite(void) {
    Suite *s = suite_create("offsets");
    TCase *tc = tcase_create("offsets");

    tcase_add_test(tc, test_offsets_out_of_order);
    tcase_add_test(tc, test_offsets_abort_and_bound);
    suite_add_tcase(s, tc);
    return s;
}
