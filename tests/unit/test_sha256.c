/* test_sha256.c -- digests against FIPS 180-2's known answers, whole and in pieces. */
#include <check.h>

#include "sha256.h"
#include "suites.h"

static const char abc_hex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

START_TEST(test_sha256_known_answers) {
    char hex[XQ_SHA256_HEX_LEN + 1];
    uint8_t md[XQ_SHA256_LEN];

    xq_sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, abc_hex);
    xq_sha256_hex("", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    xq_sha256("abc", 3, md);
    ck_assert_uint_eq(md[0], 0xba);
    ck_assert_uint_eq(md[31], 0xad);
    ck_assert(xq_sha256_hex_valid(abc_hex));
    ck_assert(
        !xq_sha256_hex_valid("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    ck_assert(!xq_sha256_hex_valid("ba7816bf"));
}

END_TEST

START_TEST(test_sha256_in_pieces) {
    char hex[XQ_SHA256_HEX_LEN + 1];
    xq_sha256_ctx_t *c = xq_sha256_begin();

    xq_sha256_add(c, "a", 1);
    xq_sha256_add(c, "", 0);
    xq_sha256_add(c, "bc", 2);
    xq_sha256_end_hex(c, hex);
    ck_assert_str_eq(hex, abc_hex);
}

END_TEST

Suite *sha256_suite(void) {
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_sha256_known_answers);
    tcase_add_test(tc, test_sha256_in_pieces);
    suite_add_tcase(s, tc);
    return s;
}
