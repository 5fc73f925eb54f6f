/*
 * test_ort.c -- the onnxruntime backend: external data, a fixed batch of 1, the ai.onnx.ml
 * domain and an operator only onnxruntime runs, each against numpy outputs written by
 * tests/models/make_ort.py; gradients from the interpreter; what stays reproducible.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "explain_helpers.h"
#include "helpers.h"
#include "json.h"
#include "mem.h"
#include "models/load.h"
#include "models/remote.h"
#include "mp.h"
#include "rng.h"
#include "suites.h"

#define DIR "tests/data/onnx/ort/"

/* Appends the numbers of nested arrays @p v to @p b. */
static void flatten(const msgpack_object *v, xq_buf_t *b) {
    double d;

    if (v->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < v->via.array.size; i++)
            flatten(&v->via.array.ptr[i], b);
        return;
    }
    ck_assert(xq_mp_number(v, &d));
    float f = (float)d;
    xq_buf_append(b, &f, sizeof(f));
}

/* Array @p key of ref.json, flattened (caller frees); *cnt values. */
static float *ref(const char *key, size_t *cnt) {
    msgpack_unpacked msg;
    xq_buf_t mp, vals;
    size_t n;

    xq_buf_init(&mp);
    xq_buf_init(&vals);
    t_json_file_to_mp(DIR "ref.json", &mp);
    t_unpack(&mp, &msg);
    for (uint32_t k = 0; k < msg.data.via.map.size; k++) {
        if (xq_mp_str_eq(&msg.data.via.map.ptr[k].key, key))
            flatten(&msg.data.via.map.ptr[k].val, &vals);
    }
    *cnt = vals.len / sizeof(float);
    ck_assert_uint_gt(*cnt, 0);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&mp);
    return (float *)xq_buf_detach(&vals, &n);
}

static xq_model_t *load(const char *path, const char *backend) {
    xq_model_t *m = NULL;
    xq_error_t err;

    if (xq_model_load(path, &(xq_model_opts_t){.backend = backend}, &m, &err) != XQ_OK)
        ck_abort_msg("%s: %s", path, err.msg);
    return m;
}

/* Evaluates @p rows rows of the model's one input; gradients of output element 0 when @p gout. */
static xq_err_t
eval(xq_model_t *m, const float *x, size_t rows, float *out, float *gout, xq_error_t *err) {
    const xq_tensor_desc_t *in = xq_model_input(m, 0);
    const char *names[] = {in->name};
    size_t elem[] = {in->elem_cnt};
    const float *data[] = {x};
    float *gouts[] = {gout};
    int32_t *gi = xq_calloc(rows + 1, sizeof(*gi));
    xq_batch_t b = {.rows = rows,
                    .tensor_cnt = 1,
                    .names = names,
                    .elem_cnt = elem,
                    .data = data,
                    .grad = gout != NULL,
                    .grad_index = gi,
                    .out_cnt = xq_model_output(m)->elem_cnt,
                    .out = out,
                    .grad_out = gouts};
    xq_err_t rc = xq_model_eval(m, &b, err);

    xq_free(gi);
    return rc;
}

/* @p m on ref.json's x equals ref.json's @p key within 1e-5 relative (1e-6 absolute floor). */
static void check_against(xq_model_t *m, const char *key) {
    size_t xn, yn;
    float *x = ref("x", &xn), *want = ref(key, &yn), *got = xq_calloc(yn, sizeof(float));
    xq_error_t err;

    ck_assert_uint_eq(xq_model_input(m, 0)->elem_cnt, 6);
    ck_assert_uint_eq(yn, 7 * xq_model_output(m)->elem_cnt);
    if (eval(m, x, 7, got, NULL, &err) != XQ_OK)
        ck_abort_msg("%s: %s", key, err.msg);
    for (size_t i = 0; i < yn; i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-5f * fabsf(want[i]) + 1e-6f,
                      "%s[%zu]: %.9g, numpy %.9g", key, i, (double)got[i], (double)want[i]);
    xq_free(x);
    xq_free(want);
    xq_free(got);
}

/*
 * The weights in ext.onnx.data; opset 18's ReduceMean with its axes as an input. Forward by
 * onnxruntime; gradients by the interpreter, which reads the external file too: they match
 * central differences of the forward pass.
 */
START_TEST(test_ort_external_data) {
    xq_model_t *m = load(DIR "ext.onnx", NULL);
    size_t xn;
    float *x = ref("x", &xn), y[3], g[6], yp[3], ym[3];
    xq_error_t err;

    check_against(m, "mlp");
    ck_assert_int_eq(eval(m, x, 1, y, g, &err), XQ_OK);
    for (size_t i = 0; i < 6; i++) {
        float keep = x[i];
        double fd;

        x[i] = keep + 1e-2f;
        ck_assert_int_eq(eval(m, x, 1, yp, NULL, &err), XQ_OK);
        x[i] = keep - 1e-2f;
        ck_assert_int_eq(eval(m, x, 1, ym, NULL, &err), XQ_OK);
        x[i] = keep;
        fd = ((double)yp[0] - (double)ym[0]) / 2e-2;
        ck_assert_msg(fabs(fd - (double)g[i]) <= 1e-3 * fabs(fd) + 1e-4, "d y0/d x%zu: %g vs %g", i,
                      (double)g[i], fd);
    }
    xq_free(x);
    xq_model_destroy(m);
}

END_TEST

/* skl2onnx's classifiers: by default the probabilities (not the label), read from ZipMap. */
START_TEST(test_ort_zipmap) {
    xq_model_t *m = load(DIR "zipmap.onnx", NULL);

    ck_assert_str_eq(xq_model_output(m)->name, "probabilities");
    ck_assert_uint_eq(xq_model_output(m)->elem_cnt, 2);
    check_against(m, "zipmap");
    xq_model_destroy(m);
}

END_TEST

/* A named dynamic dimension other than the batch: refused, naming it, unless --dims gives it. */
START_TEST(test_ort_named_dims) {
    xq_model_t *m = NULL;
    xq_error_t err;
    float x[10] = {1, 2, 3, 4, 5, -1, 0, 2, 0.5f, 1}, y[2], g[10];

    ck_assert_int_eq(xq_model_load(DIR "seq.onnx", NULL, &m, &err), XQ_EMODEL);
    ck_assert_ptr_nonnull(strstr(err.msg, "--dims seq=N"));
    ck_assert_int_eq(
        xq_model_load(DIR "seq.onnx", &(xq_model_opts_t){.dims = "h=3,seq=5"}, &m, &err), XQ_OK);
    ck_assert_uint_eq(xq_model_input(m, 0)->elem_cnt, 5);
    ck_assert_int_eq(eval(m, x, 2, y, g, &err), XQ_OK);
    ck_assert_float_eq_tol(y[0], 55.0f, 1e-5f);
    ck_assert_float_eq_tol(y[1], 6.25f, 1e-5f);
    for (size_t i = 0; i < 10; i++)
        ck_assert_float_eq_tol(g[i], 2 * x[i], 1e-5f); /* the interpreter takes it too */
    xq_model_destroy(m);
}

END_TEST

/*
 * A batch fixed at 1 runs row by row, forward and in the interpreter (gradients): the same
 * gradients as the same network exported with a dynamic batch.
 */
START_TEST(test_ort_fixed_batch) {
    xq_model_t *m = load(DIR "fixed1.onnx", NULL), *d = load(DIR "ext.onnx", NULL);
    size_t xn;
    float *x = ref("x", &xn), y[21], gf[42], gd[42];
    xq_error_t err;

    check_against(m, "mlp");
    ck_assert_int_eq(eval(m, x, 7, y, gf, &err), XQ_OK);
    ck_assert_int_eq(eval(d, x, 7, y, gd, &err), XQ_OK);
    for (size_t i = 0; i < 42; i++)
        ck_assert_float_eq_tol(gf[i], gd[i], 1e-6f);
    xq_free(x);
    xq_model_destroy(m);
    xq_model_destroy(d);
}

END_TEST

START_TEST(test_ort_ml_domain) {
    xq_model_t *m = load(DIR "ml.onnx", NULL);

    check_against(m, "ml");
    xq_model_destroy(m);
}

END_TEST

/* Erf: the interpreter's gradients (erf' = 2/sqrt(pi) exp(-x^2), times 2) */
START_TEST(test_ort_erf) {
    xq_model_t *m = load(DIR "erf.onnx", NULL);
    float x[6] = {0.5f, -1, 0, 2, 0.1f, -0.3f}, y[6], g[6];
    xq_error_t err;

    check_against(m, "erf");
    ck_assert_int_eq(eval(m, x, 1, y, g, &err), XQ_OK);
    ck_assert_double_eq_tol(g[0], 2 * 1.1283791671 * exp(-0.25), 1e-5);
    for (size_t i = 1; i < 6; i++)
        ck_assert_float_eq(g[i], 0.0f); /* only output element 0 was differentiated */
    xq_model_destroy(m);
}

END_TEST

/* Operators only onnxruntime runs: forward works, a gradient request names every one of them. */
START_TEST(test_ort_forward_only_operators) {
    xq_model_t *m = load(DIR "nograd.onnx", NULL);
    float x[6] = {0}, y[6], g[6];
    xq_error_t err;

    check_against(m, "nograd");
    ck_assert_int_eq(eval(m, x, 1, y, g, &err), XQ_EMODEL);
    ck_assert_ptr_nonnull(strstr(err.msg, "Sin (2 nodes, first: sin_1)"));
    ck_assert_ptr_nonnull(strstr(err.msg, "Cos (1 node: cos_1)"));
    ck_assert_ptr_nonnull(strstr(err.msg, "Sampled Shapley"));
    xq_model_destroy(m);
}

END_TEST

/* Random rows for @p m's input, N(0, 1) from a fixed stream. */
static float *rows_for(xq_model_t *m, size_t rows) {
    size_t n = rows * xq_model_input(m, 0)->elem_cnt;
    float *x = xq_calloc(n, sizeof(float));
    xq_rng_t r;

    xq_rng_init(&r, 7, 1);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)xq_rng_normal(&r);
    return x;
}

/*
 * What survives onnxruntime: the same rows in the same batch give the same bits; other
 * batchings of them agree within 1e-6 relative. Forward values agree with the interpreter
 * within 1e-5 relative, and gradients are the interpreter's, bit for bit.
 */
START_TEST(test_ort_reproducible) {
    static const char *const files[] = {"tests/data/onnx/mlp20.onnx", "tests/data/onnx/cnn.onnx"};
    static const size_t steps[] = {1, 7, 64};
    const size_t R = 200;

    for (size_t f = 0; f < 2; f++) {
        xq_model_t *m = load(files[f], NULL), *mi = load(files[f], "onnx-interp");
        size_t E = xq_model_output(m)->elem_cnt, I = xq_model_input(m, 0)->elem_cnt;
        float *x = rows_for(m, R), *a = xq_calloc(R * E, 4), *b = xq_calloc(R * E, 4);
        float *gi = xq_calloc(R * I, 4), *go = xq_calloc(R * I, 4);
        xq_error_t err;

        ck_assert_int_eq(eval(m, x, R, a, NULL, &err), XQ_OK);
        ck_assert_int_eq(eval(m, x, R, b, NULL, &err), XQ_OK);
        ck_assert_int_eq(memcmp(a, b, R * E * sizeof(float)), 0);
        for (size_t s = 0; s < 3; s++) {
            for (size_t r = 0; r < R; r += steps[s])
                ck_assert_int_eq(
                    eval(m, x + r * I, R - r < steps[s] ? R - r : steps[s], b + r * E, NULL, &err),
                    XQ_OK);
            for (size_t i = 0; i < R * E; i++)
                ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-6f * fabsf(a[i]) + 1e-7f,
                              "%s batch %zu [%zu]: %.9g vs %.9g", files[f], steps[s], i,
                              (double)b[i], (double)a[i]);
        }
        ck_assert_int_eq(eval(mi, x, R, b, NULL, &err), XQ_OK);
        for (size_t i = 0; i < R * E; i++)
            ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-5f * fabsf(a[i]) + 1e-6f,
                          "%s interpreter [%zu]: %.9g vs %.9g", files[f], i, (double)b[i],
                          (double)a[i]);
        ck_assert_int_eq(eval(m, x, R, a, go, &err), XQ_OK);
        ck_assert_int_eq(eval(mi, x, R, b, gi, &err), XQ_OK);
        ck_assert_int_eq(memcmp(go, gi, R * I * sizeof(float)), 0);
        xq_free(x);
        xq_free(a);
        xq_free(b);
        xq_free(gi);
        xq_free(go);
        xq_model_destroy(m);
        xq_model_destroy(mi);
    }
}

END_TEST

/* JSON of an image [h][w][c] whose value at (y, x, ch) is img_value(y, x, ch). */
static double img_value(size_t y, size_t x, size_t ch) {
    return 0.1 * (double)(y * 7 + x * 3 + ch * 11 % 5) - 0.8;
}

static char *img_json(size_t h, size_t w, size_t c) {
    xq_buf_t b;

    xq_buf_init(&b);
    xq_buf_append_str(&b, "[{'img': [");
    for (size_t y = 0; y < h; y++) {
        xq_buf_append_str(&b, y ? ", [" : "[");
        for (size_t x = 0; x < w; x++) {
            xq_buf_append_str(&b, x ? ", [" : "[");
            for (size_t ch = 0; ch < c; ch++)
                xq_buf_appendf(&b, "%s%.3f", ch ? ", " : "", img_value(y, x, ch));
            xq_buf_append_str(&b, "]");
        }
        xq_buf_append_str(&b, "]");
    }
    xq_buf_append_str(&b, "]}]");
    char *json = xq_strdup(xq_buf_cstr(&b));

    xq_buf_fini(&b);
    return json;
}

#define IMG_SPEC                                                                      \
    "{'parameters': {'integratedGradientsAttribution': {'stepCount': 2}},"            \
    " 'metadata': {'inputs': {'img': {'inputTensorName': 'x', 'modality': 'image'}}," \
    " 'outputs': {'y': {}}}}"

/*
 * A picture [H][W][C] feeding a channels-first tensor [C, H, W] is transposed: the output is
 * sum img[y][x][ch] W[ch][y][x], and each element's IG attribution (linear, zero baseline)
 * is its own term, for the channels-first model and the same weights channels-last alike.
 */
START_TEST(test_ort_image_layout) {
    static const char *const files[] = {DIR "chw.onnx", DIR "hwc.onnx"};
    size_t wn;
    float *W = ref("W", &wn); /* [3][4][5] channels first */
    char *insts = img_json(4, 5, 3);
    double want = 0;

    ck_assert_uint_eq(wn, 60);
    for (size_t y = 0; y < 4; y++)
        for (size_t x = 0; x < 5; x++)
            for (size_t ch = 0; ch < 3; ch++)
                want += (double)(float)img_value(y, x, ch) * (double)W[(ch * 4 + y) * 5 + x];
    for (size_t f = 0; f < 2; f++) {
        xq_model_t *m = load(files[f], NULL);
        texpl_t e;

        t_explain(IMG_SPEC, m, insts, NULL, &e);
        ck_assert_msg(e.res[0].rc == XQ_OK, "%s: %s", files[f], e.res[0].err.msg);
        ck_assert_double_eq_tol(t_num(&e, 0, 0, "instanceOutputValue"), want, 1e-4);
        for (size_t y = 0; y < 4; y++)
            for (size_t x = 0; x < 5; x++)
                for (size_t ch = 0; ch < 3; ch++)
                    ck_assert_double_eq_tol(
                        t_fa(&e, 0, 0, "img", (y * 5 + x) * 3 + ch),
                        (double)(float)img_value(y, x, ch) * (double)W[(ch * 4 + y) * 5 + x], 1e-4);
        t_explain_fini(&e);
        xq_model_destroy(m);
    }
    xq_free(insts);
    xq_free(W);
}

END_TEST

/* [3, 3, 3] fits a 3x3 RGB picture both ways: refused, naming the tensor and the option. */
START_TEST(test_ort_image_layout_ambiguous) {
    size_t vn;
    float *V = ref("V", &vn);
    char *insts = img_json(3, 3, 3);
    xq_model_t *m = load(DIR "amb.onnx", NULL);
    xq_error_t err;
    texpl_t e;
    double want = 0;

    t_explain(IMG_SPEC, m, insts, NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_EMODEL);
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "tensor x is [3, 3, 3]"));
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "--image-layout nchw or nhwc"));
    t_explain_fini(&e);
    xq_model_destroy(m);
    ck_assert_int_eq(
        xq_model_load(DIR "amb.onnx", &(xq_model_opts_t){.image_layout = "nchw"}, &m, &err), XQ_OK);
    {
        /* a runner passes it on: the workers' model description carries it */
        xq_buf_t d;
        msgpack_unpacked msg;
        xq_model_t *r = NULL;

        xq_buf_init(&d);
        xq_remote_describe_pack(m, "id", &d);
        t_unpack(&d, &msg);
        ck_assert_int_eq(xq_remote_model_new(xq_mp_map_get(&msg.data, "model"), &r, &err), XQ_OK);
        ck_assert_int_eq(xq_model_image_layout(r), XQ_IMAGE_LAYOUT_NCHW);
        xq_model_destroy(r);
        msgpack_unpacked_destroy(&msg);
        xq_buf_fini(&d);
    }
    for (size_t y = 0; y < 3; y++)
        for (size_t x = 0; x < 3; x++)
            for (size_t ch = 0; ch < 3; ch++)
                want += (double)(float)img_value(y, x, ch) * (double)V[(ch * 3 + y) * 3 + x];
    t_explain(IMG_SPEC, m, insts, NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_OK);
    ck_assert_double_eq_tol(t_num(&e, 0, 0, "instanceOutputValue"), want, 1e-4);
    t_explain_fini(&e);
    xq_model_destroy(m);
    xq_free(insts);
    xq_free(V);
}

END_TEST

/* IG on raw token ids would attribute nothing: refused, pointing at encodedTensorName. */
START_TEST(test_ort_ig_on_token_ids) {
    xq_model_t *m = load("tests/data/onnx/emb.onnx", NULL);
    texpl_t e;

    ck_assert(xq_model_input(m, 0)->is_integer);
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 4}}}", m,
              "[{'tokens': [1, 4, 4, 9, 0]}]", NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_EINVAL);
    ck_assert_str_eq(e.res[0].err.field, "tokens");
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "gradients are zero"));
    ck_assert_ptr_nonnull(strstr(e.res[0].err.msg, "encodedTensorName"));
    t_explain_fini(&e);
    /* a runner's description carries it, so a worker refuses the same way */
    {
        xq_buf_t d;
        msgpack_unpacked msg;
        xq_model_t *r = NULL;
        xq_error_t err;

        xq_buf_init(&d);
        xq_remote_describe_pack(m, "id", &d);
        t_unpack(&d, &msg);
        ck_assert_int_eq(xq_remote_model_new(xq_mp_map_get(&msg.data, "model"), &r, &err), XQ_OK);
        ck_assert(xq_model_input(r, 0)->is_integer);
        xq_model_destroy(r);
        msgpack_unpacked_destroy(&msg);
        xq_buf_fini(&d);
    }
    /* Sampled Shapley needs no gradients */
    t_explain("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}}}", m,
              "[{'tokens': [1, 4, 4, 9, 0]}]", NULL, &e);
    ck_assert_int_eq(e.res[0].rc, XQ_OK);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/*
 * Embedding IG on a model of two inputs: the encoder feeds the one input the embedding depends
 * on (tokens); the mask, another integer input, is held at 1 by its baseline and gets zeros.
 * y is linear in the embedding and the encoded baseline is zeros: token j's attribution is
 * T[t_j] . w, exactly.
 */
START_TEST(test_ort_embedding_two_inputs) {
    xq_model_t *m = load(DIR "emb2.onnx", NULL);
    size_t tn;
    float *tw = ref("emb2_tw", &tn); /* T . w per token id */
    static const int toks[4] = {3, 7, 0, 9};
    texpl_t e;

    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 4}},"
              " 'metadata': {'inputs': {'tokens': {'encoding': 'CONCAT_EMBEDDING',"
              "   'encodedTensorName': 'emb'}, 'mask': {'inputBaselines': [1]}},"
              " 'outputs': {'y': {}}}}",
              m, "[{'tokens': [3, 7, 0, 9], 'mask': [1, 1, 1, 1]}]", NULL, &e);
    ck_assert_msg(e.res[0].rc == XQ_OK, "%s", e.res[0].err.msg);
    for (size_t j = 0; j < 4; j++) {
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "tokens", j), (double)tw[toks[j]], 1e-5);
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "mask", j), 0, 1e-12);
    }
    t_explain_fini(&e);
    xq_free(tw);
    xq_model_destroy(m);
}

END_TEST

/*
 * Memory-aware batching: a row's activations are every batch-shaped value of the graph, and a
 * call over the budget is split into calls that fit, with the same results.
 */
START_TEST(test_ort_activation_budget) {
    xq_model_t *m = load("tests/data/onnx/cnn.onnx", NULL);
    size_t E = xq_model_input(m, 0)->elem_cnt, O = xq_model_output(m)->elem_cnt, want = E * 4;
    const size_t R = 10;
    float *x = rows_for(m, R), *a = xq_calloc(R * O, 4), *b = xq_calloc(R * O, 4);
    float *ga = xq_calloc(R * E, 4), *gb = xq_calloc(R * E, 4);
    uint64_t fwd0, grad0, fwd1, grad1;
    xq_error_t err;

    for (size_t i = 0; i < xq_model_encoded_cnt(m); i++)
        want += xq_model_encoded(m, i)->elem_cnt * 4;
    ck_assert_uint_eq(xq_model_row_bytes(m), want);
    ck_assert_int_eq(eval(m, x, R, a, NULL, &err), XQ_OK);
    ck_assert_int_eq(eval(m, x, R, a, ga, &err), XQ_OK);
    /* a budget of 3 rows forward (1 with gradients): 4 and 10 backend calls, same values */
    xq_model_set_row_bytes(m, want, 3 * want + 1);
    xq_model_rows_evaluated(m, &fwd0, &grad0);
    ck_assert_int_eq(eval(m, x, R, b, NULL, &err), XQ_OK);
    for (size_t i = 0; i < R * O; i++)
        ck_assert_float_eq_tol(a[i], b[i], 1e-6f * fabsf(a[i]) + 1e-7f);
    ck_assert_int_eq(eval(m, x, R, b, gb, &err), XQ_OK);
    ck_assert_int_eq(memcmp(ga, gb, R * E * sizeof(float)), 0);
    xq_model_rows_evaluated(m, &fwd1, &grad1);
    ck_assert_uint_eq(fwd1 - fwd0, R);
    ck_assert_uint_eq(grad1 - grad0, R);
    xq_free(x);
    xq_free(a);
    xq_free(b);
    xq_free(ga);
    xq_free(gb);
    xq_model_destroy(m);
}

END_TEST

Suite *ort_suite(void) {
    Suite *s = suite_create("ort");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_ort_external_data);
    tcase_add_test(tc, test_ort_fixed_batch);
    tcase_add_test(tc, test_ort_zipmap);
    tcase_add_test(tc, test_ort_named_dims);
    tcase_add_test(tc, test_ort_ml_domain);
    tcase_add_test(tc, test_ort_erf);
    tcase_add_test(tc, test_ort_forward_only_operators);
    tcase_add_test(tc, test_ort_reproducible);
    tcase_add_test(tc, test_ort_image_layout);
    tcase_add_test(tc, test_ort_image_layout_ambiguous);
    tcase_add_test(tc, test_ort_ig_on_token_ids);
    tcase_add_test(tc, test_ort_activation_budget);
    tcase_add_test(tc, test_ort_embedding_two_inputs);
    suite_add_tcase(s, tc);
    return s;
}
