/* test_mp.c -- canonical msgpack and zone copies. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "helpers.h"
#include "mp.h"
#include "suites.h"

/* Expected bytes are written out from the msgpack format spec by hand. */
START_TEST(test_mp_canonical_sorts_keys_bytewise) {
    char *hex = t_canonical_hex("{\"b\": 1, \"a\": {\"z\": true, \"aa\": null}, \"B\": 2}");

    /* 83 map3 | a1 "B" 02 | a1 "a" 82 a2 "aa" c0 a1 "z" c3 | a1 "b" 01 */
    ck_assert_str_eq(hex, "83a14202a16182a26161c0a17ac3a16201");
    xq_free(hex);
}

END_TEST

START_TEST(test_mp_canonical_numbers_have_one_form) {
    char *a = t_canonical_hex("[1, 1.0, -1.0, 0.5, 300, -200, 1e300]");
    char *b;

    /* 97 | 01 01 ff | cb 3fe0000000000000 | cd 012c | d1 ff38 | cb 7e37e43c8800759c */
    ck_assert_str_eq(a, "970101ffcb3fe0000000000000cd012cd1ff38cb7e37e43c8800759c");
    b = t_canonical_hex("[1.0, 1, -1, 0.5, 300.0, -200.0, 1e300]");
    ck_assert_str_eq(a, b);
    xq_free(a);
    xq_free(b);
}

END_TEST

START_TEST(test_mp_canonical_float32_equals_float64) {
    msgpack_unpacked msg;
    msgpack_packer pk;
    xq_buf_t in, c1, c2;
    size_t off = 0;

    xq_buf_init(&in);
    xq_buf_init(&c1);
    xq_buf_init(&c2);
    xq_mp_packer_init(&pk, &in);
    msgpack_pack_float(&pk, 0.25f);
    msgpack_unpacked_init(&msg);
    ck_assert_int_eq(msgpack_unpack_next(&msg, (const char *)in.data, in.len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    ck_assert_int_eq(msg.data.type, MSGPACK_OBJECT_FLOAT32);
    xq_mp_packer_init(&pk, &c1);
    ck_assert(xq_mp_pack_canonical(&pk, &msg.data));
    xq_mp_packer_init(&pk, &c2);
    xq_mp_pack_number(&pk, 0.25);
    ck_assert_uint_eq(c1.len, c2.len);
    ck_assert_int_eq(memcmp(c1.data, c2.data, c1.len), 0);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&in);
    xq_buf_fini(&c1);
    xq_buf_fini(&c2);
}

END_TEST

START_TEST(test_mp_canonical_rejects_what_json_cannot_hold) {
    msgpack_object nan = {.type = MSGPACK_OBJECT_FLOAT64, .via.f64 = NAN};
    msgpack_object key = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1};
    msgpack_object_kv kv = {.key = key, .val = key};
    msgpack_object map = {.type = MSGPACK_OBJECT_MAP, .via.map = {.size = 1, .ptr = &kv}};
    msgpack_object nest[XQ_MP_MAX_DEPTH + 2];
    msgpack_packer pk;
    xq_buf_t b;

    xq_buf_init(&b);
    xq_mp_packer_init(&pk, &b);
    ck_assert(!xq_mp_pack_canonical(&pk, &nan));
    ck_assert(!xq_mp_pack_canonical(&pk, &map));
    for (int i = 0; i < XQ_MP_MAX_DEPTH + 1; i++) {
        nest[i].type = MSGPACK_OBJECT_ARRAY;
        nest[i].via.array.size = 1;
        nest[i].via.array.ptr = &nest[i + 1];
    }
    nest[XQ_MP_MAX_DEPTH + 1].type = MSGPACK_OBJECT_NIL;
    ck_assert(!xq_mp_pack_canonical(&pk, &nest[0]));
    ck_assert(xq_mp_pack_canonical(&pk, &nest[2]));
    xq_buf_fini(&b);
}

END_TEST

START_TEST(test_mp_zone_copy_outlives_source) {
    msgpack_zone *zone = msgpack_zone_new(1024);
    msgpack_unpacked msg;
    msgpack_object copy;
    char *before, *after;
    xq_buf_t b, c;
    msgpack_packer pk;

    xq_buf_init(&b);
    t_json_to_mp("{\"k\": [1, \"two\", {\"three\": 3.5}], \"s\": \"x\"}", &b);
    t_unpack(&b, &msg);
    ck_assert(xq_mp_zone_copy(zone, &msg.data, &copy));
    before = t_canonical_hex("{\"k\": [1, \"two\", {\"three\": 3.5}], \"s\": \"x\"}");
    msgpack_unpacked_destroy(&msg);
    memset(b.data, 0, b.len); /* the copy must not point into the source */
    xq_buf_fini(&b);
    xq_buf_init(&c);
    xq_mp_packer_init(&pk, &c);
    ck_assert(xq_mp_pack_canonical(&pk, &copy));
    after = t_hex(c.data, c.len);
    ck_assert_str_eq(before, after);
    xq_free(before);
    xq_free(after);
    xq_buf_fini(&c);
    msgpack_zone_free(zone);
}

END_TEST

/* One of every msgpack type, as msgpack-c packs them. */
static void pack_all_types(xq_buf_t *b) {
    msgpack_packer pk;

    xq_mp_packer_init(&pk, b);
    msgpack_pack_array(&pk, 20);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_int64(&pk, -5);
    msgpack_pack_int64(&pk, -300);
    msgpack_pack_int64(&pk, INT64_MIN);
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_uint64(&pk, 200);
    msgpack_pack_uint64(&pk, 70000);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_double(&pk, 2.5);
    xq_mp_pack_str(&pk, "short");
    xq_buf_t big;
    xq_buf_init(&big);
    for (int i = 0; i < 300; i++)
        xq_buf_append(&big, "x", 1);
    xq_mp_pack_strn(&pk, (const char *)big.data, big.len);
    msgpack_pack_bin(&pk, 3);
    msgpack_pack_bin_body(&pk, "abc", 3);
    msgpack_pack_ext(&pk, 4, 1);
    msgpack_pack_ext_body(&pk, "wxyz", 4);
    msgpack_pack_ext(&pk, 5, 2);
    msgpack_pack_ext_body(&pk, "vwxyz", 5);
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "k");
    msgpack_pack_array(&pk, 0);
    msgpack_pack_array(&pk, 20);
    for (int i = 0; i < 20; i++)
        msgpack_pack_int(&pk, i);
    msgpack_pack_map(&pk, 17);
    for (int i = 0; i < 17; i++) {
        msgpack_pack_int(&pk, i);
        msgpack_pack_nil(&pk);
    }
    msgpack_pack_str(&pk, 0);
    xq_buf_fini(&big);
}

START_TEST(test_mp_validate_accepts_every_type) {
    xq_buf_t b;
    size_t used = 0;

    xq_buf_init(&b);
    pack_all_types(&b);
    ck_assert(xq_mp_validate(b.data, b.len, &used));
    ck_assert_uint_eq(used, b.len);
    /* every proper prefix is incomplete */
    for (size_t n = 0; n < b.len; n++)
        ck_assert(!xq_mp_validate(b.data, n, &used));
    /* trailing bytes are not part of the object */
    xq_buf_append(&b, "\xc0", 1);
    ck_assert(xq_mp_validate(b.data, b.len, &used));
    ck_assert_uint_eq(used, b.len - 1);
    xq_buf_fini(&b);
}

END_TEST

START_TEST(test_mp_validate_rejects_inflated_counts) {
    /* map32 declaring 2^32-1 pairs, array32 likewise, str32 longer than the buffer */
    static const uint8_t map[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
    static const uint8_t arr[] = {0xdd, 0x00, 0x01, 0x00, 0x00, 0xc0};
    static const uint8_t str[] = {0xdb, 0x00, 0x00, 0x10, 0x00, 'a'};
    static const uint8_t nested[] = {0x91, 0x91, 0x9f, 0xc0};
    static const uint8_t never[] = {0xc1};
    size_t used;

    ck_assert(!xq_mp_validate(map, sizeof(map), &used));
    ck_assert(!xq_mp_validate(arr, sizeof(arr), &used));
    ck_assert(!xq_mp_validate(str, sizeof(str), &used));
    ck_assert(!xq_mp_validate(nested, sizeof(nested), &used));
    ck_assert(!xq_mp_validate(never, sizeof(never), &used));
}

END_TEST

/* One object filling the buffer unpacks; trailing bytes, a cut or a lying map size do not. */
START_TEST(test_mp_unpack_one_wants_exactly_one_object) {
    const uint8_t one[] = {0x81, 0xa1, 'a', 0x01};         /* {"a": 1} */
    const uint8_t two[] = {0x81, 0xa1, 'a', 0x01, 0x02};   /* {"a": 1} 2 */
    const uint8_t liar[] = {0xdf, 0xff, 0xff, 0xff, 0xff}; /* a map of 2^32-1 pairs, no bytes */
    msgpack_unpacked msg;

    msgpack_unpacked_init(&msg);
    ck_assert(xq_mp_unpack_one(one, sizeof(one), &msg));
    ck_assert_int_eq(msg.data.type, MSGPACK_OBJECT_MAP);
    ck_assert(!xq_mp_unpack_one(two, sizeof(two), &msg));
    ck_assert(!xq_mp_unpack_one(one, sizeof(one) - 1, &msg));
    ck_assert(!xq_mp_unpack_one(liar, sizeof(liar), &msg));
    msgpack_unpacked_destroy(&msg);
}

END_TEST

Suite *mp_suite(void) {
    Suite *s = suite_create("mp");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_mp_canonical_sorts_keys_bytewise);
    tcase_add_test(tc, test_mp_unpack_one_wants_exactly_one_object);
    tcase_add_test(tc, test_mp_canonical_numbers_have_one_form);
    tcase_add_test(tc, test_mp_canonical_float32_equals_float64);
    tcase_add_test(tc, test_mp_canonical_rejects_what_json_cannot_hold);
    tcase_add_test(tc, test_mp_zone_copy_outlives_source);
    tcase_add_test(tc, test_mp_validate_accepts_every_type);
    tcase_add_test(tc, test_mp_validate_rejects_inflated_counts);
    suite_add_tcase(s, tc);
    return s;
}
