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

/*
 * A worker's view of one partition: jobs 5..9 in flight, finishing 7, 5, 9, 6, 8. What may be
 * published when, and what each commit says, must let a new owner redo exactly the jobs whose
 * results were not committed.
 */
START_TEST(test_offsets_inflight_and_commits) {
    xq_offsets_t *t = xq_offsets_new(), *next = xq_offsets_new();
    char meta[XQ_OFFSETS_META_MAX + 1];
    size_t n;

    xq_offsets_reset(t, 2, 5, NULL, 0);
    ck_assert_int_eq(xq_offsets_committable(t, 2, 5), 5); /* nothing in flight: the position */
    for (int64_t o = 5; o <= 9; o++)
        xq_offsets_track(t, 2, o);
    ck_assert_uint_eq(xq_offsets_inflight(t, 2), 5);
    ck_assert_int_eq(xq_offsets_committable(t, 2, 10), 5);
    /* 7 finishes first: ahead of 5 and 6 */
    ck_assert(xq_offsets_may_publish(t, 2, 7));
    xq_offsets_untrack(t, 2, 7);
    /* 5 is the oldest: published in order, not ahead */
    ck_assert(xq_offsets_may_publish(t, 2, 5));
    xq_offsets_untrack(t, 2, 5);
    ck_assert_int_eq(xq_offsets_committable(t, 2, 10), 6);
    n = xq_offsets_metadata(t, 2, 6, meta, sizeof(meta));
    ck_assert_str_eq(meta, "xq1,1"); /* 7 = 6 + 1 */
    /* the worker dies here: its successor redoes 6, 8 and 9 and skips 7 */
    xq_offsets_reset(next, 2, 6, meta, n);
    ck_assert(!xq_offsets_answered(next, 2, 6));
    ck_assert(xq_offsets_answered(next, 2, 7));
    ck_assert(!xq_offsets_answered(next, 2, 8));
    ck_assert(!xq_offsets_answered(next, 2, 9));
    /* the first worker goes on instead: 9, then 6 (oldest), then 8 (oldest again) */
    ck_assert(xq_offsets_may_publish(t, 2, 9));
    xq_offsets_untrack(t, 2, 9);
    ck_assert(xq_offsets_may_publish(t, 2, 6));
    xq_offsets_untrack(t, 2, 6);
    ck_assert_int_eq(xq_offsets_committable(t, 2, 10), 8);
    n = xq_offsets_metadata(t, 2, 8, meta, sizeof(meta));
    ck_assert_str_eq(meta, "xq1,1"); /* 9 = 8 + 1; 7 is below the commit now */
    ck_assert(xq_offsets_may_publish(t, 2, 8));
    xq_offsets_untrack(t, 2, 8);
    ck_assert_uint_eq(xq_offsets_inflight(t, 2), 0);
    ck_assert_int_eq(xq_offsets_committable(t, 2, 10), 10);
    ck_assert_uint_eq(xq_offsets_metadata(t, 2, 10, meta, sizeof(meta)), 0);
    xq_offsets_destroy(t);
    xq_offsets_destroy(next);
}

END_TEST

/* A rebalance mid-batch forgets the revoked partition only; an abort forgets what was in flight. */
START_TEST(test_offsets_rebalance_and_abort) {
    xq_offsets_t *t = xq_offsets_new();

    xq_offsets_reset(t, 0, 0, NULL, 0);
    xq_offsets_reset(t, 1, 40, NULL, 0);
    xq_offsets_track(t, 0, 3);
    xq_offsets_track(t, 1, 41);
    xq_offsets_track(t, 1, 40); /* a partition set back: out of order, still sorted */
    ck_assert_int_eq(xq_offsets_committable(t, 1, 42), 40);
    xq_offsets_forget(t, 0); /* revoked */
    ck_assert_uint_eq(xq_offsets_inflight(t, 0), 0);
    ck_assert_uint_eq(xq_offsets_inflight(t, 1), 2);
    ck_assert(xq_offsets_may_publish(t, 1, 41)); /* ahead of 40 */
    xq_offsets_reset(t, 1, 40, NULL, 0);         /* aborted: 41's result was never committed */
    ck_assert_uint_eq(xq_offsets_inflight(t, 1), 0);
    ck_assert(!xq_offsets_answered(t, 1, 41));
    ck_assert_int_eq(xq_offsets_committable(t, 1, 40), 40);
    xq_offsets_untrack(t, 1, 99); /* unknown: no-op */
    xq_offsets_destroy(t);
}

END_TEST

Suite *offsets_suite(void) {
    Suite *s = suite_create("offsets");
    TCase *tc = tcase_create("offsets");

    tcase_add_test(tc, test_offsets_out_of_order);
    tcase_add_test(tc, test_offsets_abort_and_bound);
    tcase_add_test(tc, test_offsets_inflight_and_commits);
    tcase_add_test(tc, test_offsets_rebalance_and_abort);
    suite_add_tcase(s, tc);
    return s;
}
