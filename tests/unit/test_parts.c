/* test_parts.c -- large results split into parts and put together again, interleaved or not. */
#include <string.h>

#include <check.h>

#include "mp.h"
#include "parts.h"
#include "suites.h"

/* Adds the packed part in @p b to @p p, as a reader would decode it from a message. */
static xq_err_t add_bytes(xq_parts_t *p, const xq_buf_t *b, const uint8_t **w, size_t *wl) {
    msgpack_unpacked msg;
    xq_error_t err;
    xq_err_t rc;

    msgpack_unpacked_init(&msg);
    ck_assert(xq_mp_unpack_one(b->data, b->len, &msg));
    ck_assert(xq_parts_is_part(&msg.data));
    rc = xq_parts_add(p, &msg.data, w, wl, &err);
    msgpack_unpacked_destroy(&msg);
    return rc;
}

START_TEST(test_parts_round_trip) {
    uint8_t a[10007], b[333];
    xq_parts_t *p = xq_parts_new(1 << 20);
    const uint8_t *w;
    size_t wl, na = xq_parts_count(sizeof(a), 1000), nb = xq_parts_count(sizeof(b), 100);
    xq_buf_t part;

    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)(i * 7 + 3);
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(i * 13 + 1);
    ck_assert_uint_eq(na, 11);
    ck_assert_uint_eq(nb, 4);
    ck_assert_uint_eq(xq_parts_count(0, 100), 1);
    xq_buf_init(&part);
    /* two results interleaved, as two workers' transactions may be on one partition */
    for (size_t k = 0; k < na; k++) {
        xq_parts_pack("job-a", a, sizeof(a), 1000, k, &part);
        ck_assert_uint_le(part.len, 1000 + XQ_PARTS_OVERHEAD);
        ck_assert_int_eq(add_bytes(p, &part, &w, &wl), XQ_OK);
        if (k + 1 < na) {
            ck_assert_ptr_null(w);
        } else {
            ck_assert_uint_eq(wl, sizeof(a));
            ck_assert_int_eq(memcmp(w, a, sizeof(a)), 0);
        }
        if (k < nb) {
            xq_parts_pack("job-b", b, sizeof(b), 100, k, &part);
            ck_assert_int_eq(add_bytes(p, &part, &w, &wl), XQ_OK);
            if (k + 1 == nb) {
                ck_assert_uint_eq(wl, sizeof(b));
                ck_assert_int_eq(memcmp(w, b, sizeof(b)), 0);
            }
        }
    }
    xq_buf_fini(&part);
    xq_parts_destroy(p);
}

END_TEST

START_TEST(test_parts_refuses) {
    uint8_t a[5000] = {1};
    xq_parts_t *p = xq_parts_new(3000);
    const uint8_t *w;
    size_t wl;
    xq_buf_t part;

    xq_buf_init(&part);
    /* a part without its predecessors, then one out of order */
    xq_parts_pack("j", a, sizeof(a), 1000, 1, &part);
    ck_assert_int_eq(add_bytes(p, &part, &w, &wl), XQ_EDECODE);
    xq_parts_pack("j", a, sizeof(a), 1000, 0, &part);
    ck_assert_int_eq(add_bytes(p, &part, &w, &wl), XQ_OK);
    xq_parts_pack("j", a, sizeof(a), 1000, 2, &part);
    ck_assert_int_eq(add_bytes(p, &part, &w, &wl), XQ_EDECODE);
    /* more than the reassembler may hold */
    for (size_t k = 0; k < 3; k++) {
        xq_parts_pack("j", a, sizeof(a), 1000, k, &part);
        ck_assert_int_eq(add_bytes(p, &part, &w, &wl), XQ_OK);
    }
    xq_parts_pack("j", a, sizeof(a), 1000, 3, &part);
    ck_assert_int_eq(add_bytes(p, &part, &w, &wl), XQ_ELIMIT);
    xq_buf_fini(&part);
    xq_parts_destroy(p);
}

END_TEST

Suite *parts_suite(void) {
    Suite *s = suite_create("parts");
    TCase *tc = tcase_create("parts");

    tcase_add_test(tc, test_parts_round_trip);
    tcase_add_test(tc, test_parts_refuses);
    suite_add_tcase(s, tc);
    return s;
}
