/* test_idset.c -- the answered-ids window: claims, holders, release, and how long keys stay. */
#include <check.h>

#include "idset.h"
#include "suites.h"

START_TEST(test_idset_claims) {
    xq_idset_t *s = xq_idset_new(1000);

    ck_assert(xq_idset_claim(s, 42, 7));
    ck_assert(xq_idset_claim(s, 42, 7));  /* the same message again (a redo): still its own */
    ck_assert(!xq_idset_claim(s, 42, 8)); /* another message with the id: a duplicate */
    xq_idset_release(s, 42);
    ck_assert(xq_idset_claim(s, 42, 8));
    ck_assert(!xq_idset_claim(s, 42, 7));
    ck_assert(xq_idset_claim(s, 0, 3)); /* key 0 is a key like any other */
    ck_assert(!xq_idset_claim(s, 0, 4));
    xq_idset_destroy(s);
}

END_TEST

START_TEST(test_idset_window) {
    xq_idset_t *s = xq_idset_new(1000), *none = xq_idset_new(0);

    for (uint64_t k = 1; k <= 5000; k++)
        ck_assert(xq_idset_claim(s, k * 0x100000001ull, k));
    /* the last 1000 keys are remembered ... */
    for (uint64_t k = 4001; k <= 5000; k++)
        ck_assert(!xq_idset_claim(s, k * 0x100000001ull, k + 1));
    /* ... and the first ones are long forgotten (at most 2 x window are kept) */
    for (uint64_t k = 1; k <= 100; k++)
        ck_assert(xq_idset_claim(s, k * 0x100000001ull, k + 1));
    ck_assert(xq_idset_claim(none, 1, 1));
    ck_assert(xq_idset_claim(none, 1, 2));
    xq_idset_destroy(s);
    xq_idset_destroy(none);
}

END_TEST

Suite *idset_suite(void) {
    Suite *s = suite_create("idset");
    TCase *tc = tcase_create("idset");

    tcase_add_test(tc, test_idset_claims);
    tcase_add_test(tc, test_idset_window);
    suite_add_tcase(s, tc);
    return s;
}
