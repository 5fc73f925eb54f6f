/* test_compact.c -- compact request tensors: rows as masks over anchors, expanded bit for bit. */
#include <math.h>
#include <string.h>

#include <check.h>

#include "codec.h"
#include "compact.h"
#include "helpers.h"
#include "layout.h"
#include "methods/run.h"
#include "mp.h"
#include "rows.h"
#include "spec_helpers.h"
#include "suites.h"
#include "testmodels.h"

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

/* A compact tensor of @p nrows rows over the three anchors with code @p code, decoded. */
static xq_err_t decode_code(const uint8_t *code,
                            size_t len,
                            size_t nrows,
                            size_t max_elems,
                            xq_tensor_t *t,
                            xq_error_t *err) {
    const size_t adims[2] = {3, E};
    xq_buf_t b;
    msgpack_packer pk;
    msgpack_unpacked msg;
    xq_err_t rc;

    xq_buf_init(&b);
    xq_mp_packer_init(&pk, &b);
    msgpack_pack_map(&pk, 4);
    xq_mp_pack_str(&pk, "dtype");
    xq_mp_pack_str(&pk, "f32");
    xq_mp_pack_str(&pk, "shape");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, nrows);
    msgpack_pack_uint64(&pk, E);
    xq_mp_pack_str(&pk, "anchors");
    xq_tensor_pack(&pk, &anchors[0][0], adims, 2);
    xq_mp_pack_str(&pk, "code");
    msgpack_pack_bin(&pk, len);
    msgpack_pack_bin_body(&pk, code, len);
    msgpack_unpacked_init(&msg);
    ck_assert(xq_mp_unpack_one(b.data, b.len, &msg));
    ck_assert(xq_compact_is(&msg.data));
    rc = xq_compact_decode(&msg.data, "inputs.x", max_elems, t, err);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&b);
    return rc;
}

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
        xq_tensor_t t;
        xq_error_t err;

        ck_assert_int_eq(decode_code(codes[i], lens[i], 1, 0, &t, &err), XQ_EDECODE);
        ck_assert_msg(strstr(err.msg, why[i]), "%zu: %s", i, err.msg);
        ck_assert_str_eq(err.field, "inputs.x");
        ck_assert_ptr_null(t.data);
        /* and the expanded size is bounded like any tensor */
        ck_assert_int_eq(decode_code(codes[i], lens[i], 1, 4, &t, &err), XQ_ELIMIT);
    }
}

END_TEST

/* "pick": runs on the wire, one element per row decoded; the runner keeps only the picked
 * outputs; the worker scatters them back (the others are 0). */
START_TEST(test_compact_pick) {
    const size_t dims[1] = {E}, *dimp[1] = {dims}, ndim[1] = {1}, sel[4] = {5, 0, 1, 3};
    const char *names[1] = {"x"};
    const float *data[1] = {&rows[0][0]};
    const int32_t pick[6] = {1, -1, 1, 9, 9, 1};
    xq_infer_req_view_t v = {.id = "p1",
                             .rows = 4,
                             .input_cnt = 1,
                             .names = names,
                             .data = data,
                             .dims = dimp,
                             .ndim = ndim,
                             .sel = sel,
                             .pick = pick};
    float out[4 * 2] = {10, 11, 20, 21, 30, 31, 40, 41}, back[6 * 2];
    xq_infer_req_t req;
    xq_buf_t b, reply;
    msgpack_unpacked msg;
    xq_infer_reply_dst_t dst = {
        .model = "m", .rows = 4, .row_map = sel, .pick = pick, .out = back, .out_cnt = 2};
    xq_error_t err;
    bool runner_error;
    size_t n;

    xq_buf_init(&b);
    xq_buf_init(&reply);
    xq_infer_req_pack(&v, &b);
    ck_assert_int_eq(xq_infer_req_decode(b.data, b.len, 0, &req, &err), XQ_OK);
    ck_assert_ptr_nonnull(req.pick);
    ck_assert_int_eq(req.pick[0], 1);  /* row 5 */
    ck_assert_int_eq(req.pick[1], 1);  /* row 0 */
    ck_assert_int_eq(req.pick[2], -1); /* row 1 */
    ck_assert_int_eq(req.pick[3], 9);  /* row 3 (the runner checks the range) */
    req.pick[3] = 0;
    /* the runner: row 0 picks 1, row 1 picks 1, row 2 all, row 3 picks 0 */
    n = xq_infer_pick(out, 4, 2, req.pick);
    ck_assert_uint_eq(n, 5);
    ck_assert(out[0] == 11 && out[1] == 21 && out[2] == 30 && out[3] == 31 && out[4] == 40);
    xq_infer_reply_pack("p1", "y", out, n, dims, 0, 0, NULL, NULL, NULL, &reply);
    msgpack_unpacked_init(&msg);
    ck_assert(xq_mp_unpack_one(reply.data, reply.len, &msg));
    for (size_t i = 0; i < 12; i++)
        back[i] = -7;
    /* the worker's view: pick per data row; row 3 asked 9, the reply says 0: 0 is what it holds */
    {
        int32_t wpick[6] = {1, -1, 1, 0, 9, 1};

        dst.pick = wpick;
        ck_assert_int_eq(xq_infer_reply_decode(&msg.data, &dst, &runner_error, &err), XQ_OK);
    }
    ck_assert(back[5 * 2 + 1] == 11 && back[5 * 2] == 0);  /* row 5: picked 1 */
    ck_assert(back[0 * 2 + 1] == 21 && back[0] == 0);      /* row 0: picked 1 */
    ck_assert(back[1 * 2] == 30 && back[1 * 2 + 1] == 31); /* row 1: all */
    ck_assert(back[3 * 2] == 40 && back[3 * 2 + 1] == 0);  /* row 3: picked 0 */
    ck_assert(back[2 * 2] == -7 && back[4 * 2] == -7);     /* rows not sent: untouched */
    /* a reply with another count is refused */
    {
        int32_t more[6] = {1, -1, 1, -1, 9, 1};

        dst.pick = more;
        ck_assert_int_eq(xq_infer_reply_decode(&msg.data, &dst, &runner_error, &err), XQ_EMODEL);
        ck_assert_ptr_nonnull(strstr(err.msg, "5 picked outputs for 4 rows, 6 expected"));
    }
    msgpack_unpacked_destroy(&msg);
    xq_infer_req_fini(&req);
    xq_buf_fini(&b);
    xq_buf_fini(&reply);
}

END_TEST

/* Packs @p c alone as a compact tensor and expands it; the code's length too. */
static void pack_expand(const xq_compact_rows_t *c, xq_tensor_t *t, size_t *code_len) {
    const size_t dims[1] = {c->elems};
    xq_buf_t b;
    msgpack_packer pk;
    msgpack_unpacked msg;
    xq_error_t err;

    xq_buf_init(&b);
    xq_mp_packer_init(&pk, &b);
    xq_compact_pack(&pk, c, dims, 1);
    msgpack_unpacked_init(&msg);
    ck_assert(xq_mp_unpack_one(b.data, b.len, &msg));
    *code_len = xq_mp_map_get(&msg.data, "code")->via.bin.size;
    ck_assert_int_eq(xq_compact_decode(&msg.data, "inputs.x", 0, t, &err), XQ_OK);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&b);
}

/* Integrated Gradients' row: b + alpha (x - b) in double, rounded once (methods/ig.c). */
static float ig_elem(float x, float b, double alpha) {
    return (float)((double)b + alpha * ((double)x - (double)b));
}

/* Path rows (version 2) expand bit for bit; rows not on their path go as masks or whole. */
START_TEST(test_compact_path_rows) {
    /* alphas: the ends, a quarter, a Gauss-Legendre node and one just above 1 */
    static const double alphas[] = {0.0, 1.0, 0.25, 0.046910077030668, 1.0000001};

    enum {
        P = 5,
        N = P + 4
    };

    float data[N][E];
    int32_t path_b[N];
    double alpha[N];
    uint32_t xs9[N], bf9[N], bc9[N];
    xq_tensor_t t;
    size_t code_len;

    for (size_t r = 0; r < N; r++) {
        xs9[r] = 0;
        bf9[r] = 1;
        bc9[r] = 2;
        path_b[r] = -1;
        alpha[r] = 0;
    }
    /* rows 0-4: the path from baseline 0 (anchor 1, with a -0.0) to x at each alpha */
    for (size_t r = 0; r < P; r++) {
        for (size_t e = 0; e < E; e++)
            data[r][e] = ig_elem(anchors[0][e], anchors[1][e], alphas[r]);
        path_b[r] = 0;
        alpha[r] = alphas[r];
    }
    /* alpha 0 gives +0.0 where the baseline has -0.0: not the baseline's bits */
    ck_assert(!signbit(data[0][3]) && signbit(anchors[1][3]));
    /* row 5: baseline 0 itself claimed at alpha 0: its -0.0 is not the path's, so a mask */
    memcpy(data[5], anchors[1], sizeof(data[5]));
    path_b[5] = 0;
    /* row 6: on baseline 1's path at alpha 0.5, but one element one ulp off: goes whole */
    for (size_t e = 0; e < E; e++)
        data[6][e] = ig_elem(anchors[0][e], anchors[2][e], 0.5);
    data[6][2] = nextafterf(data[6][2], INFINITY);
    path_b[6] = 1;
    alpha[6] = 0.5;
    /* row 7: on baseline 1's path; row 8: a hint naming a baseline the row does not have */
    for (size_t e = 0; e < E; e++)
        data[7][e] = data[8][e] = ig_elem(anchors[0][e], anchors[2][e], 0.75);
    path_b[7] = 1;
    alpha[7] = 0.75;
    path_b[8] = 2;
    alpha[8] = 0.75;
    {
        xq_compact_rows_t c = {.rows = N,
                               .elems = E,
                               .data = &data[0][0],
                               .anchors = &anchors[0][0],
                               .anchor_cnt = 3,
                               .x = xs9,
                               .b_first = bf9,
                               .b_cnt = bc9,
                               .path_b = path_b,
                               .alpha = alpha};

        pack_expand(&c, &t, &code_len);
        ck_assert_uint_eq(t.cnt, N * E);
        ck_assert_int_eq(memcmp(t.data, data, sizeof(data)), 0);
        /* path (x, b0) x 5, masks (x, b0) x 1, row 6 whole, path (x, b1) x 1, row 8 whole */
        ck_assert_uint_eq(code_len, (9 + 5 * 8) + (9 + 1) + (1 + E * 4) + (9 + 8) + (1 + E * 4));
        xq_tensor_fini(&t);
        /* version 1 (no path hints): the path rows go whole but for alpha 0 and 1 here, which
         * are masks (x's +0.0 is the path's at both ends); and all expand bit for bit */
        c.path_b = NULL;
        pack_expand(&c, &t, &code_len);
        ck_assert_int_eq(memcmp(t.data, data, sizeof(data)), 0);
        ck_assert_uint_eq(code_len, (9 + 2) + 3 * (1 + E * 4) + (9 + 1) + 3 * (1 + E * 4));
        xq_tensor_fini(&t);
    }
}

END_TEST

/* Broken path records are refused with the rule, never read past their end. */
START_TEST(test_compact_bad_paths) {
    /* path (x = anchor 0, b = anchor 1), n rows, then alphas (little-endian f64) */
    static const uint8_t cut[] = {2, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe0};
    static const uint8_t nan_a[] = {2, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f};
    static const uint8_t inf_a[] = {2, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0xff};
    static const uint8_t huge[] = {2, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe0, 0x7f};
    static const uint8_t anchor[] = {2, 0, 0, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f};
    static const uint8_t many[] = {2, 0, 0,    1,    0, 2, 0, 0, 0, 0, 0,    0,   0,
                                   0, 0, 0xe0, 0x3f, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f};
    static const uint8_t head[] = {2, 0, 0, 1, 0, 1};
    static const uint8_t kind[] = {3, 0, 0, 1, 0, 1, 0, 0, 0};
    static const uint8_t *codes[] = {cut, nan_a, inf_a, huge, anchor, many, head, kind};
    static const size_t lens[] = {sizeof(cut),    sizeof(nan_a), sizeof(inf_a), sizeof(huge),
                                  sizeof(anchor), sizeof(many),  sizeof(head),  sizeof(kind)};
    static const char *why[] = {"1 alphas from row 0 do not fit",
                                "alpha of row 0 is not finite",
                                "alpha of row 0 is not finite",
                                "element 0 is not finite",
                                "anchor 3 of 3",
                                "2 alphas from row 0 do not fit 1 rows",
                                "cut short",
                                "kind 3 is not 0, 1 or 2"};
    static const uint8_t good[] = {2, 0, 0,    1,    0, 2, 0, 0, 0, 0, 0,    0,   0,
                                   0, 0, 0xe0, 0x3f, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    xq_tensor_t t;
    xq_error_t err;

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        ck_assert_int_eq(decode_code(codes[i], lens[i], 1, 0, &t, &err), XQ_EDECODE);
        ck_assert_msg(strstr(err.msg, why[i]), "%zu: %s", i, err.msg);
        ck_assert_str_eq(err.field, "inputs.x");
        ck_assert_ptr_null(t.data);
    }
    /* two rows at alpha 0.5 and 1; and one row too few */
    ck_assert_int_eq(decode_code(good, sizeof(good), 2, 0, &t, &err), XQ_OK);
    for (size_t e = 0; e < E; e++) {
        float h = ig_elem(anchors[0][e], anchors[1][e], 0.5),
              one = ig_elem(anchors[0][e], anchors[1][e], 1.0);

        ck_assert(memcmp(&t.data[e], &h, 4) == 0 && memcmp(&t.data[E + e], &one, 4) == 0);
    }
    ck_assert(t.data[0] == 0.75f && t.data[E + 2] == 3.25f);
    xq_tensor_fini(&t);
    ck_assert_int_eq(decode_code(good, sizeof(good), 3, 0, &t, &err), XQ_EDECODE);
    ck_assert_ptr_nonnull(strstr(err.msg, "2 rows of 3"));
    ck_assert_int_eq(decode_code(good, sizeof(good), 2, 4, &t, &err), XQ_ELIMIT);
}

END_TEST

#define IG_META                                                                                    \
    "\"metadata\": {\"inputs\": {"                                                                 \
    "\"x1\": {\"inputTensorName\": \"x\", \"inputBaselines\": [0.5, -0.0]},"                       \
    " \"x2\": {\"inputTensorName\": \"x\", \"inputBaselines\": [0, 1e-3]},"                        \
    " \"x3\": {\"inputTensorName\": \"x\", \"inputBaselines\": [-0.0, 3]}}, \"outputs\": {\"y\": " \
    "{}}}"

/*
 * Integrated Gradients' gradient rows through a run: with @p spec, row i's path hint (or none)
 * into path_b/alpha; returns the rows (caller finis) and the layout (caller destroys).
 */
static void ig_rows(const char *spec_json, xq_rows_t *rr, xq_layout_t **l) {
    tfun_t fn = {.in_cnt = 3, .out_cnt = 1, .f = t_quad_f, .df = t_quad_df, .w = {1, -2, 0.5}};
    const char *names[] = {"x"};
    size_t sizes[] = {3}, n;
    xq_spec_t *spec = t_spec_ok(spec_json);
    xq_model_t *model = t_model(&fn, names, sizes, 1, 0, NULL, NULL);
    xq_run_opts_t ro = {.seed = 3, .model = model};
    xq_buf_t mp;
    msgpack_unpacked inst;
    xq_run_t *run;
    xq_error_t err;

    xq_buf_init(&mp);
    t_json_to_mp("{\"x1\": 1.5, \"x2\": -2, \"x3\": 0.1}", &mp);
    t_unpack(&mp, &inst);
    ck_assert_int_eq(xq_layout_build(spec, model, &inst.data, 0, l, &err), XQ_OK);
    ck_assert_uint_eq((*l)->baseline_cnt, 2);
    run = xq_run_new(spec, *l, xq_model_output(model), &ro, 0);
    xq_rows_init(rr);
    xq_rows_reset(rr, *l, 1, false);
    n = xq_run_plan(run, rr, 1000);
    ck_assert_int_eq(xq_rows_eval(rr, model, 0, &err), XQ_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(rr->path_b[i], -1); /* forward rr: the instance and baselines */
    xq_run_reduce(run, rr, 0, n);
    ck_assert_int_eq(xq_run_next(run), XQ_STEP_GRADIENT);
    xq_rows_reset(rr, *l, 1, true);
    n = xq_run_plan(run, rr, 1000);
    ck_assert_uint_eq(n, rr->cnt);
    xq_run_destroy(run);
    msgpack_unpacked_destroy(&inst);
    xq_buf_fini(&mp);
    xq_model_destroy(model);
    xq_spec_destroy(spec);
}

/* ig_plan() hints every noiseless gradient row; the hint gives the row bit for bit, survives
 * a copy, and packs as one path record per baseline. SmoothGrad's rows get no hint. */
START_TEST(test_compact_ig_hints) {
    xq_rows_t rr, copy;
    xq_layout_t *l;
    size_t code_len, cnt;

    ig_rows("{\"parameters\": {\"integratedGradientsAttribution\": {\"stepCount\": 7}}, " IG_META
            "}",
            &rr, &l);
    cnt = rr.cnt;
    ck_assert_uint_eq(cnt, 2 * 7);
    xq_rows_init(&copy);
    xq_rows_reset(&copy, l, 1, true);
    for (size_t i = 0; i < cnt; i++) {
        int32_t b = rr.path_b[i];

        ck_assert(b >= 0 && (size_t)b < l->baseline_cnt);
        ck_assert(rr.path_alpha[i] > 0 && rr.path_alpha[i] < 1);
        for (size_t e = 0; e < 3; e++) {
            float want = ig_elem(l->x[e], l->base[(size_t)b * 3 + e], rr.path_alpha[i]);

            ck_assert_int_eq(memcmp(&want, &rr.in[0][i * 3 + e], 4), 0);
        }
        ck_assert_uint_eq(xq_rows_copy_row(&copy, &rr, i), i);
        ck_assert_int_eq(copy.path_b[i], b);
        ck_assert(copy.path_alpha[i] == rr.path_alpha[i]);
    }
    {
        /* anchors: the instance, then its two baselines; rr: 7 of baseline 0, then 7 of 1 */
        float anc[3 * 3];
        uint32_t ax[14], abf[14], abc[14];
        xq_compact_rows_t c = {.rows = cnt,
                               .elems = 3,
                               .data = rr.in[0],
                               .anchors = anc,
                               .anchor_cnt = 3,
                               .x = ax,
                               .b_first = abf,
                               .b_cnt = abc,
                               .path_b = rr.path_b,
                               .alpha = rr.path_alpha};
        xq_tensor_t t;

        memcpy(anc, l->x, 3 * sizeof(float));
        memcpy(anc + 3, l->base, 6 * sizeof(float));
        for (size_t i = 0; i < cnt; i++) {
            ax[i] = 0;
            abf[i] = 1;
            abc[i] = 2;
        }
        pack_expand(&c, &t, &code_len);
        ck_assert_uint_eq(code_len, 2 * (9 + 7 * 8));
        ck_assert_uint_eq(t.cnt, cnt * 3);
        ck_assert_int_eq(memcmp(t.data, rr.in[0], cnt * 3 * sizeof(float)), 0);
        xq_tensor_fini(&t);
    }
    xq_rows_fini(&copy);
    xq_rows_fini(&rr);
    xq_layout_destroy(l);
    ig_rows("{\"parameters\": {\"integratedGradientsAttribution\": {\"stepCount\": 3, "
            "\"smoothGradConfig\": {\"noiseSigma\": 0.1, \"noisySampleCount\": 2}}}, " IG_META "}",
            &rr, &l);
    ck_assert_uint_eq(rr.cnt, 2 * 3 * 2);
    for (size_t i = 0; i < rr.cnt; i++)
        ck_assert_int_eq(rr.path_b[i], -1);
    xq_rows_fini(&rr);
    xq_layout_destroy(l);
}

END_TEST

Suite *compact_suite(void) {
    Suite *s = suite_create("compact");
    TCase *tc = tcase_create("compact");

    tcase_add_test(tc, test_compact_round_trip);
    tcase_add_test(tc, test_compact_selected_rows);
    tcase_add_test(tc, test_compact_bad_codes);
    tcase_add_test(tc, test_compact_pick);
    tcase_add_test(tc, test_compact_path_rows);
    tcase_add_test(tc, test_compact_bad_paths);
    tcase_add_test(tc, test_compact_ig_hints);
    suite_add_tcase(s, tc);
    return s;
}
