/* test_json.c -- JSON text <-> msgpack. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "helpers.h"
#include "json.h"
#include "suites.h"

/* JSON -> msgpack -> JSON, compact. */
static char *round_trip(const char *json) {
    msgpack_unpacked msg;
    xq_buf_t b, out;
    xq_error_t err;

    xq_buf_init(&b);
    xq_buf_init(&out);
    t_json_to_mp(json, &b);
    t_unpack(&b, &msg);
    ck_assert_int_eq(xq_json_from_msgpack(&msg.data, 0, &out, &err), XQ_OK);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&b);
    xq_buf_cstr(&out);
    return (char *)xq_buf_detach(&out, NULL);
}

START_TEST(test_json_round_trip_keeps_order_and_types) {
    char *s = round_trip("{ \"z\": [1, -2, 0.5, true, false, null], \"a\": {\"\": \"x\"} }");

    ck_assert_str_eq(s, "{\"z\":[1,-2,0.5,true,false,null],\"a\":{\"\":\"x\"}}");
    xq_free(s);
}

END_TEST

START_TEST(test_json_strings_escape_and_unicode) {
    char *s = round_trip("[\"q\\\"b\\\\n\\n\\t\\u0001\\u00e9\\ud83d\\ude00\"]");

    /* control bytes escaped; UTF-8 passes through as bytes */
    ck_assert_str_eq(s, "[\"q\\\"b\\\\n\\n\\t\\u0001\xc3\xa9\xf0\x9f\x98\x80\"]");
    xq_free(s);
}

END_TEST

START_TEST(test_json_floats_print_shortest_round_trip) {
    static const double v[] = {0.1, 1.0 / 3, 1e-300, 123456789.125, -2.5e17, 5e-324};
    xq_buf_t b;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        xq_buf_init(&b);
        xq_json_append_double(&b, v[i]);
        ck_assert(strtod(xq_buf_cstr(&b), NULL) == v[i]);
        xq_buf_fini(&b);
    }
    xq_buf_init(&b);
    xq_json_append_double(&b, 0.1);
    ck_assert_str_eq(xq_buf_cstr(&b), "0.1");
    xq_buf_fini(&b);
    xq_buf_init(&b);
    xq_json_append_double(&b, INFINITY);
    ck_assert_str_eq(xq_buf_cstr(&b), "null");
    xq_buf_fini(&b);
}

END_TEST

START_TEST(test_json_float32_prints_as_float32) {
    msgpack_object o = {.type = MSGPACK_OBJECT_FLOAT32, .via.f64 = (double)0.1f};
    xq_buf_t b;

    xq_buf_init(&b);
    ck_assert_int_eq(xq_json_from_msgpack(&o, 0, &b, NULL), XQ_OK);
    ck_assert_str_eq(xq_buf_cstr(&b), "0.1");
    xq_buf_fini(&b);
}

END_TEST

START_TEST(test_json_bin_prints_base64) {
    msgpack_object o = {.type = MSGPACK_OBJECT_BIN, .via.bin = {.size = 5, .ptr = "hello"}};
    xq_buf_t b;

    xq_buf_init(&b);
    ck_assert_int_eq(xq_json_from_msgpack(&o, 0, &b, NULL), XQ_OK);
    ck_assert_str_eq(xq_buf_cstr(&b), "\"aGVsbG8=\"");
    xq_buf_fini(&b);
}

END_TEST

START_TEST(test_json_pretty_indents) {
    msgpack_unpacked msg;
    xq_buf_t b, out;

    xq_buf_init(&b);
    xq_buf_init(&out);
    t_json_to_mp("{\"a\":[1,{}],\"b\":[]}", &b);
    t_unpack(&b, &msg);
    ck_assert_int_eq(xq_json_from_msgpack(&msg.data, XQ_JSON_PRETTY, &out, NULL), XQ_OK);
    ck_assert_str_eq(xq_buf_cstr(&out), "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}");
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&b);
    xq_buf_fini(&out);
}

END_TEST

START_TEST(test_json_errors_name_line_and_column) {
    xq_error_t err;
    xq_buf_t b;

    xq_buf_init(&b);
    ck_assert_int_eq(xq_json_to_msgpack("{\n  \"a\": 1,\n  \"b\": }", 20, &b, &err), XQ_EDECODE);
    ck_assert_ptr_nonnull(strstr(err.msg, "line 3"));
    ck_assert_int_eq(xq_json_to_msgpack("{\"a\": 1, \"a\": 2}", 16, &b, &err), XQ_EDECODE);
    ck_assert_ptr_nonnull(strstr(err.msg, "duplicate"));
    ck_assert_int_eq(xq_json_to_msgpack("", 0, &b, &err), XQ_EDECODE);
    xq_buf_fini(&b);
}

END_TEST

START_TEST(test_json_integer_and_real_stay_apart) {
    msgpack_unpacked msg;
    xq_buf_t b;

    xq_buf_init(&b);
    t_json_to_mp("[3, 3.0, -9007199254740993]", &b);
    t_unpack(&b, &msg);
    ck_assert_int_eq(msg.data.via.array.ptr[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    ck_assert_int_eq(msg.data.via.array.ptr[1].type, MSGPACK_OBJECT_FLOAT64);
    ck_assert_int_eq(msg.data.via.array.ptr[2].via.i64, -9007199254740993LL);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&b);
}

END_TEST

Suite *json_suite(void) {
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_json_round_trip_keeps_order_and_types);
    tcase_add_test(tc, test_json_strings_escape_and_unicode);
    tcase_add_test(tc, test_json_floats_print_shortest_round_trip);
    tcase_add_test(tc, test_json_float32_prints_as_float32);
    tcase_add_test(tc, test_json_bin_prints_base64);
    tcase_add_test(tc, test_json_pretty_indents);
    tcase_add_test(tc, test_json_errors_name_line_and_column);
    tcase_add_test(tc, test_json_integer_and_real_stay_apart);
    suite_add_tcase(s, tc);
    return s;
}
