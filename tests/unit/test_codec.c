/* test_codec.c -- wire tensors and the inference protocol: round trips and every rejection. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "codec.h"
#include "helpers.h"
#include "models/remote.h"
#include "mp.h"
#include "suites.h"
#include "tensor.h"

START_TEST(test_codec_request_round_trip) {
    float x[2 * 3] = {1, 2, 3, 4, 5, 6.5f};
    int32_t gi[2] = {1, 0};
    size_t dims[] = {3};
    const size_t *dimp[] = {dims};
    size_t ndim[] = {1};
    const char *names[] = {"x"}, *enc[] = {"emb"};
    const float *data[] = {x};
    xq_infer_req_view_t v = {.id = "c-1",
                             .rows = 2,
                             .input_cnt = 1,
                             .names = names,
                             .data = data,
                             .dims = dimp,
                             .ndim = ndim,
                             .output = "y",
                             .grad_index = gi,
                             .encoded_cnt = 1,
                             .encoded = enc};
    xq_infer_req_t req;
    xq_error_t err;
    xq_buf_t b;

    xq_buf_init(&b);
    xq_infer_req_pack(&v, &b);
    ck_assert_int_eq(xq_infer_req_decode(b.data, b.len, 0, &req, &err), XQ_OK);
    ck_assert_str_eq(req.id, "c-1");
    ck_assert_uint_eq(req.rows, 2);
    ck_assert_uint_eq(req.input_cnt, 1);
    ck_assert_str_eq(req.names[0], "x");
    ck_assert_uint_eq(req.inputs[0].ndim, 2);
    ck_assert_int_eq(memcmp(req.inputs[0].data, x, sizeof(x)), 0);
    ck_assert(req.grad);
    ck_assert_int_eq(req.grad_index[0], 1);
    ck_assert_str_eq(req.grad_output, "y");
    ck_assert_str_eq(req.wrt[0], "x");
    ck_assert_str_eq(req.encoded[0], "emb");
    ck_assert_str_eq(req.outputs[0], "y");
    xq_infer_req_fini(&req);
    /* the tensor data is one bin, not numbers: 24 bytes of floats are in the message as they are */
    {
        bool found = false;

        for (size_t i = 0; i + sizeof(x) <= b.len && !found; i++)
            found = memcmp(b.data + i, x, sizeof(x)) == 0;
        ck_assert(found);
    }
    xq_buf_fini(&b);
}

END_TEST

/* Each malformed request names its field; none crashes (the fuzzer runs the same decoder). */
static const struct bad_req {
    const char *json; /* ' for ", turned into msgpack; bins are written as "BIN:<n>" strings */
    const char *field;
} bad_reqs[] = {
    {"[1]", ""},
    {"{'inputs': {}}", "id"},
    {"{'id': 'a'}", "inputs"},
    {"{'id': 'a', 'inputs': {}}", "inputs"},
    {"{'id': 'a', 'inputs': {'x': 1}}", "inputs.x"},
    {"{'id': 'a', 'inputs': {'x': {'dtype': 'f16', 'shape': [1], 'data': 'BIN:2'}}}", "inputs.x"},
    {"{'id': 'a', 'inputs': {'x': {'dtype': 'f32', 'shape': [2], 'data': 'BIN:4'}}}", "inputs.x"},
    {"{'id': 'a', 'inputs': {'x': {'dtype': 'f32', 'shape': [], 'data': 'BIN:0'}}}", "inputs.x"},
    {"{'id': 'a', 'inputs': {'x': {'dtype': 'f32', 'shape': [4294967296, 4294967296], 'data': "
     "'BIN:4'}}}",
     "inputs.x"},
    {"{'id': 'a', 'inputs': {'x': {'dtype': 'f32', 'shape': [1], 'data': 'BIN:4'},"
     " 'z': {'dtype': 'f32', 'shape': [2], 'data': 'BIN:8'}}}",
     "inputs.z"},
    {"{'id': 'a', 'inputs': {'x': {'dtype': 'f32', 'shape': [2], 'data': 'BIN:8'}},"
     " 'grad': {'index': 'BIN:4'}}",
     "grad.index"},
    {"{'id': 'a', 'inputs': {'x': {'dtype': 'f32', 'shape': [1], 'data': 'BIN:4'}}, 'outputs': 3}",
     "outputs"},
};

/* JSON, with "BIN:<n>" strings packed as n-byte bins of zeros. */
static void pack_with_bins(const msgpack_object *o, msgpack_packer *pk) {
    static const char zeros[64] = {0};

    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        if (o->via.str.size > 4 && o->via.str.size < 16 && !memcmp(o->via.str.ptr, "BIN:", 4)) {
            char num[16] = {0}; /* msgpack strings are not NUL-terminated */
            size_t n;

            memcpy(num, o->via.str.ptr + 4, o->via.str.size - 4);
            n = (size_t)strtoul(num, NULL, 10);

            msgpack_pack_bin(pk, n);
            msgpack_pack_bin_body(pk, zeros, n);
            return;
        }
        break;
    case MSGPACK_OBJECT_ARRAY:
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++)
            pack_with_bins(&o->via.array.ptr[i], pk);
        return;
    case MSGPACK_OBJECT_MAP:
        msgpack_pack_map(pk, o->via.map.size);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            msgpack_pack_object(pk, o->via.map.ptr[i].key);
            pack_with_bins(&o->via.map.ptr[i].val, pk);
        }
        return;
    default:
        break;
    }
    msgpack_pack_object(pk, *o);
}

START_TEST(test_codec_bad_requests) {
    char *json = t_dq(bad_reqs[_i].json);
    msgpack_unpacked msg;
    msgpack_packer pk;
    xq_infer_req_t req;
    xq_error_t err;
    xq_buf_t a, b;

    xq_buf_init(&a);
    xq_buf_init(&b);
    t_json_to_mp(json, &a);
    t_unpack(&a, &msg);
    xq_mp_packer_init(&pk, &b);
    pack_with_bins(&msg.data, &pk);
    ck_assert_int_ne(xq_infer_req_decode(b.data, b.len, 0, &req, &err), XQ_OK);
    ck_assert_str_eq(err.field, bad_reqs[_i].field);
    xq_infer_req_fini(&req);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&a);
    xq_buf_fini(&b);
    xq_free(json);
}

END_TEST

START_TEST(test_codec_tensor_dtypes) {
    double d[2] = {1.5, -2};
    int64_t i[2] = {7, -3};
    msgpack_object_kv kv[3];
    msgpack_object o = {.type = MSGPACK_OBJECT_MAP, .via.map = {3, kv}};
    msgpack_object shape[1] = {{.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 2}};
    xq_error_t err;
    xq_tensor_t t;

    kv[0].key = (msgpack_object){.type = MSGPACK_OBJECT_STR, .via.str = {5, "dtype"}};
    kv[0].val = (msgpack_object){.type = MSGPACK_OBJECT_STR, .via.str = {3, "f64"}};
    kv[1].key = (msgpack_object){.type = MSGPACK_OBJECT_STR, .via.str = {5, "shape"}};
    kv[1].val = (msgpack_object){.type = MSGPACK_OBJECT_ARRAY, .via.array = {1, shape}};
    kv[2].key = (msgpack_object){.type = MSGPACK_OBJECT_STR, .via.str = {4, "data"}};
    kv[2].val = (msgpack_object){.type = MSGPACK_OBJECT_BIN, .via.bin = {16, (const char *)d}};
    ck_assert_int_eq(xq_tensor_decode(&o, "t", 0, &t, &err), XQ_OK);
    ck_assert_float_eq(t.data[0], 1.5f);
    ck_assert_float_eq(t.data[1], -2.0f);
    xq_tensor_fini(&t);
    kv[0].val.via.str.ptr = "i64";
    kv[2].val.via.bin.ptr = (const char *)i;
    ck_assert_int_eq(xq_tensor_decode(&o, "t", 0, &t, &err), XQ_OK);
    ck_assert_float_eq(t.data[1], -3.0f);
    xq_tensor_fini(&t);
    /* a limit below the tensor's size */
    ck_assert_int_eq(xq_tensor_decode(&o, "t", 1, &t, &err), XQ_ELIMIT);
    /* NaN in the data */
    d[1] = NAN;
    kv[0].val.via.str.ptr = "f64";
    kv[2].val.via.bin.ptr = (const char *)d;
    ck_assert_int_eq(xq_tensor_decode(&o, "t", 0, &t, &err), XQ_EDECODE);
    ck_assert_ptr_nonnull(strstr(err.msg, "not finite"));
}

END_TEST

/* A runner describing more tensors than a request can carry is refused by name, not truncated. */
START_TEST(test_codec_remote_tensor_bound) {
    for (int n = XQ_CODEC_MAX_TENSORS; n <= XQ_CODEC_MAX_TENSORS + 1; n++) {
        xq_buf_t b;
        msgpack_packer pk;
        msgpack_unpacked msg;
        xq_model_t *m = NULL;
        xq_error_t err;
        xq_err_t rc;

        xq_buf_init(&b);
        xq_mp_packer_init(&pk, &b);
        msgpack_pack_map(&pk, 2);
        xq_mp_pack_str(&pk, "inputs");
        msgpack_pack_array(&pk, (size_t)n);
        for (int i = 0; i < n; i++) {
            char name[16];

            snprintf(name, sizeof(name), "x%d", i);
            msgpack_pack_map(&pk, 2);
            xq_mp_pack_str(&pk, "name");
            xq_mp_pack_str(&pk, name);
            xq_mp_pack_str(&pk, "shape");
            msgpack_pack_array(&pk, 1);
            msgpack_pack_uint32(&pk, 1);
        }
        xq_mp_pack_str(&pk, "output");
        msgpack_pack_map(&pk, 2);
        xq_mp_pack_str(&pk, "name");
        xq_mp_pack_str(&pk, "y");
        xq_mp_pack_str(&pk, "shape");
        msgpack_pack_array(&pk, 1);
        msgpack_pack_uint32(&pk, 1);
        msgpack_unpacked_init(&msg);
        ck_assert(xq_mp_unpack_one(b.data, b.len, &msg));
        rc = xq_remote_model_new(&msg.data, &m, &err);
        if (n <= XQ_CODEC_MAX_TENSORS) {
            ck_assert_int_eq(rc, XQ_OK);
            ck_assert_uint_eq(xq_model_input_cnt(m), (size_t)n);
        } else {
            ck_assert_int_eq(rc, XQ_EMODEL);
            ck_assert_ptr_nonnull(strstr(err.msg, "carries at most 64"));
        }
        xq_model_destroy(m);
        msgpack_unpacked_destroy(&msg);
        xq_buf_fini(&b);
    }
}

END_TEST

Suite *codec_suite(void) {
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_codec_request_round_trip);
    tcase_add_loop_test(tc, test_codec_bad_requests, 0,
                        (int)(sizeof(bad_reqs) / sizeof(bad_reqs[0])));
    tcase_add_test(tc, test_codec_tensor_dtypes);
    tcase_add_test(tc, test_codec_remote_tensor_bound);
    suite_add_tcase(s, tc);
    return s;
}
