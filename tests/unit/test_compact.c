/* test_compact.c -- compact request tensors: rows as masks over anchors, expanded bit for bit. */
#include <math.h>
#include <string.h>

#include <check.h>

#include "codec.h"
#include "compact.h"
#include "mp.h"
#include "suites.h"

#define E 5 /* elements per row */

/* Anchors: an instance and two baselines; -0.0 and 0.0 differ by their bits. */
static const float anchors[3][E] = {
    {1.5f, -2.0f, 3.25f, 0.0f, 7.0f},
    {0.0f, 0.0f, 0.0f, -0.0f, 7.0f},
    {9.0f, 8.0f, 7.0f, 6.0f, 5.0f},
};

/* Rows: x itself, baseline 0, a mix of x and baseline 0, a mix of x and baseline 1, a row of
 * neither (goes as it is), and a mix whose -0.0 comes from baseline 0 only. */
static const float rows[6][E] = {
    {1.5f, -2.0f, 3.25f, 0.0f, 7.0f}, {0.0f, 0.0f, 0.0f, -0.0f, 7.0f},
    {1.5f, 0.0f, 3.25f, -0.0f, 7.0f}, {9.0f, -2.0f, 7.0f, 0.0f, 5.0f},
    {1.5f, 0.5f, 3.25f, 0.0f, 7.0f},  {0.0f, -2.0f, 0.0f, -0.0f, 7.0f},
};

static const uint32_t xs[6] = {0, 0, 0, 0, 0, 0}, bf[6] = {1, 1, 1, 1, 1, 1},
                      bc[6] = {2, 2, 2, 2, 2, 2};

/* Packs rows (with @p sel when given) compact, wraps it as a one-input request, decodes it. */
static xq_err_t round_trip(const size_t *sel, size_t n, xq_infer_req_t *req, size_t *code_len) {
    const size_t dims[1] = {E}, *dimp[1] = {dims}, ndim[1] = {1};
    const char *names[1] = {"x"};
    const float *data[1] = {&rows[0][0]};
    xq_compact_rows_t c = {.rows = n,
                           .elems = E,
                           .data = &rows[0][0],
                           .sel = sel,
                           .anchors = &anchors[0][0],
                           .anchor_cnt = 3,
                           .x = xs,
                           .b_first = bf,
                           .b_cnt = bc};
    xq_infer_req_view_t v = {.id = "r1",
                             .rows = n,
                             .input_cnt = 1,
                             .names = names,
                             .data = data,
                             .dims = dimp,
                             .ndim = ndim,
                             .sel = sel,
                             .compact = &c};
    xq_buf_t b;
    msgpack_unpacked msg;
    xq_error_t err;
    xq_err_t rc;

    xq_buf_init(&b);
    xq_infer_req_pack(&v, &b);
    msgpack_unpacked_init(&msg);
    ck_assert(xq_mp_unpack_one(b.data, b.len, &msg));
    *code_len =
        xq_mp_map_get(xq_mp_map_get(xq_mp_map_get(&msg.data, "inputs"), "x"), "code")->via.bin.size;
    msgpack_unpacked_destroy(&msg);
    rc = xq_infer_req_decode(b.data, b.len, 0, req, &err);
    xq_buf_fini(&b);
    return rc;
}

/* Every row comes back bit for bit; rows of x and a baseline cost a mask, others go whole. */
START_TEST(test_compact_round_trip) {
    xq_infer_req_t req;
    size_t code_len;

    ck_assert_int_eq(round_trip(NULL, 6, &req, &code_len), XQ_OK);
    ck_assert_uint_eq(req.rows, 6);
    ck_assert_uint_eq(req.inputs[0].cnt, 6 * E);
    ck_assert_int_eq(memcmp(req.inputs[0].data, rows, sizeof(rows)), 0);
    /* records: masks (x, b0) x 3, masks (x, b1) x 1, one full row, masks (x, b0) x 1 */
    ck_assert_uint_eq(code_len, (8 + 1 + 3) + (8 + 1 + 1) + (1 + E * 4) + (8 + 1 + 1));
    xq_infer_req_fini(&req);
}

END_TEST

/* Rows picked by sel (rows answered from the baseline cache are not sent). */
START_TEST(test_compact_selected_rows) {
    const size_t sel[3] = {5, 2, 4};
    xq_infer_req_t req;
    size_t code_len;

    ck_assert_int_eq(round_trip(sel, 3, &req, &code_len), XQ_OK);
    ck_assert_uint_eq(req.rows, 3);
    for (size_t k = 0; k < 3; k++)
        ck_assert_int_eq(memcmp(req.inputs[0].data + k * E, rows[sel[k]], sizeof(rows[0])), 0);
    xq_infer_req_fini(&req);
}

END_TEST

/* Broken codes are refused with the rule, never read past their end. */
START_TEST(test_compact_bad_codes) {
    static const uint8_t bad_anchor[] = {1, 3, 0, 0, 0, 1, 0, 0, 0, 0x1f};
    static const uint8_t too_many[] = {1, 0, 0, 1, 0, 2, 0, 0, 0, 0x1f};
    static const uint8_t cut[] = {0, 1, 2, 3};
    static const uint8_t kind[] = {7};
    static const uint8_t *codes[] = {bad_anchor, too_many, cut, kind};
    static const size_t lens[] = {sizeof(bad_anchor), sizeof(too_many), sizeof(cut), sizeof(kind)};
    static const char *why[] = {"anchor 3 of 3", "do not fit", "cut short", "kind 7"};

    for (size_t i = 0; i < 4; i++) {
        const size_t adims[2] = {3, E};
        xq_buf_t b;
        msgpack_packer pk;
        msgpack_unpacked msg;
        xq_tensor_t t;
        xq_error_t err;

        xq_buf_init(&b);
        xq_mp_packer_init(&pk, &b);
        msgpack_pack_map(&pk, 4);
        xq_mp_pack_str(&pk, "dtype");
        xq_mp_pack_str(&pk, "f32");
        xq_mp_pack_str(&pk, "shape");
        msgpack_pack_array(&pk, 2);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, E);
        xq_mp_pack_str(&pk, "anchors");
        xq_tensor_pack(&pk, &anchors[0][0], adims, 2);
        xq_mp_pack_str(&pk, "code");
        msgpack_pack_bin(&pk, lens[i]);
        msgpack_pack_bin_body(&pk, codes[i], lens[i]);
        msgpack_unpacked_init(&msg);
        ck_assert(xq_mp_unpack_one(b.data, b.len, &msg));
        ck_assert(xq_compact_is(&msg.data));
        ck_assert_int_eq(xq_compact_decode(&msg.data, "inputs.x", 0, &t, &err), XQ_EDECODE);
        ck_assert_msg(strstr(err.msg, why[i]), "%zu: %s", i, err.msg);
        ck_assert_str_eq(err.field, "inputs.x");
        ck_assert_ptr_null(t.data);
        /* and the expanded size is bounded like any tensor */
        ck_assert_int_eq(xq_compact_decode(&msg.data, "inputs.x", 4, &t, &err), XQ_ELIMIT);
        msgpack_unpacked_destroy(&msg);
        xq_buf_fini(&b);
    }
}

END_TEST

Suite *compact_suite(void) {
    Suite *s = suite_create("compact");
    TCase *tc = tcase_create("compact");

    tcase_add_test(tc, test_compact_round_trip);
    tcase_add_test(tc, test_compact_selected_rows);
    tcase_add_test(tc, test_compact_bad_codes);
    suite_add_tcase(s, tc);
    return s;
}
