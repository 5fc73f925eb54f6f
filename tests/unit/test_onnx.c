/*
 * test_onnx.c -- the ONNX backend: every operator's forward pass against numpy
 * (tests/models/make_onnx.py wrote the references) and its input gradient
 * against central finite differences; whole models end to end; the same bits however rows
 * are batched, and graphs exported with a batch of 1.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "explain_helpers.h"
#include "helpers.h"
#include "json.h"
#include "mem.h"
#include "models/dense.h"
#include "models/load.h"
#include "models/onnx.h"
#include "models/onnx_int.h"
#include "mp.h"
#include "suites.h"

static const char *const op_files[] = {
    "gemm",
    "gemm_transb",
    "matmul",
    "add",
    "sub",
    "mul",
    "div",
    "relu",
    "leakyrelu",
    "sigmoid",
    "tanh",
    "softmax",
    "softmax_last",
    "exp",
    "log",
    "clip",
    "identity",
    "flatten",
    "reshape",
    "transpose",
    "squeeze",
    "unsqueeze",
    "concat",
    "reducesum",
    "reducemean",
    "conv",
    "conv_group_stride",
    "maxpool",
    "averagepool",
    "globalaveragepool",
    "batchnorm",
    "gather",
    /* tests/models/make_ops_ort.py: onnxruntime's outputs */
    "hardswish",
    "hardsigmoid",
    "softplus",
    "erf",
    "gelu",
    "gelu_tanh",
    "sqrt",
    "pow",
    "pow_base",
    "cast",
    "where",
    "slice",
    "expand",
    "tile",
    "range",
    "gatherelements",
    "reducemax",
    "reducemean18",
    "layernorm",
    "layernorm2",
    "split",
    "split_equal",
    "pad_constant",
    "pad_edge",
    "pad_reflect",
    "pad_axes",
    "resize_nearest",
    "resize_linear",
    "resize_align",
    "resize_pytorch",
    "resize_round",
    "mod",
    "mod_int",
    "empty",
    "conv_dilated",
};
#define OP_FILE_CNT (sizeof(op_files) / sizeof(op_files[0]))

static xq_model_t *load(const char *path) {
    xq_model_t *m = NULL;
    xq_error_t err;

    /* ONNX by the interpreter alone: onnxruntime's forward rows are test_ort.c's */
    bool is_onnx = strstr(path, ".onnx") != NULL;

    if (xq_model_load(path, &(xq_model_opts_t){.backend = is_onnx ? "onnx-interp" : NULL}, &m,
                      &err) != XQ_OK)
        ck_abort_msg("%s: %s", path, err.msg);
    return m;
}

/* Reads "input", "batch" and "output" of an op's reference JSON. */
static void read_ref(
    const char *path, float **in, size_t *in_cnt, size_t *batch, float **out, size_t *out_cnt) {
    msgpack_unpacked msg;
    xq_buf_t mp;
    double d;

    xq_buf_init(&mp);
    t_json_file_to_mp(path, &mp);
    t_unpack(&mp, &msg);
    for (uint32_t k = 0; k < msg.data.via.map.size; k++) {
        const msgpack_object *key = &msg.data.via.map.ptr[k].key, *v = &msg.data.via.map.ptr[k].val;

        if (xq_mp_str_eq(key, "batch")) {
            *batch = (size_t)v->via.u64;
            continue;
        }
        float **dst = xq_mp_str_eq(key, "input") ? in : out;
        size_t *cnt = xq_mp_str_eq(key, "input") ? in_cnt : out_cnt;

        *cnt = v->via.array.size;
        *dst = xq_calloc(*cnt, sizeof(float));
        for (size_t i = 0; i < *cnt; i++) {
            xq_mp_number(&v->via.array.ptr[i], &d);
            (*dst)[i] = (float)d;
        }
    }
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&mp);
}

/* One evaluation of the model's first input. */
static void eval(xq_model_t *m,
                 const float *x,
                 size_t rows,
                 bool grad,
                 const int32_t *gi,
                 float *out,
                 float *gout) {
    const xq_tensor_desc_t *in = xq_model_input(m, 0);
    const char *names[] = {in->name};
    size_t elem[] = {in->elem_cnt};
    const float *data[] = {x};
    float *gouts[] = {gout};
    xq_batch_t b = {.rows = rows,
                    .tensor_cnt = 1,
                    .names = names,
                    .elem_cnt = elem,
                    .data = data,
                    .grad = grad,
                    .grad_index = gi,
                    .out_cnt = xq_model_output(m)->elem_cnt,
                    .out = out,
                    .grad_out = gouts};
    xq_error_t err;

    if (xq_model_eval(m, &b, &err) != XQ_OK)
        ck_abort_msg("eval: %s", err.msg);
}

/*
 * Central differences in float32 at h = 1e-2, 5e-3 and 2.5e-3: both the
 * truncation (h^2 times the third derivative, over 6) and the rounding
 * (float32 noise over h) stay near 1e-5, so the check is 1e-3 relative with a
 * 1e-4 floor for near-zero gradients. At a kink (Relu, Clip, the max of a
 * pool) within h the estimates move with h toward the one-sided slope: an
 * element is accepted when one of them matches, skipped as a kink when they
 * disagree with each other or the one-sided slopes at x differ (at most a
 * tenth may be), and a failure when they agree but backpropagation does not.
 */
static bool close_enough(double a, double b) {
    return fabs(a - b) <= 1e-3 * fmax(fabs(a), fabs(b)) + 1e-4;
}

static void check_gradients(xq_model_t *m, const float *x0, size_t rows, const char *what) {
    static const float hs[3] = {1e-2f, 5e-3f, 2.5e-3f};
    size_t E = xq_model_input(m, 0)->elem_cnt, O = xq_model_output(m)->elem_cnt;
    float *x = xq_malloc(rows * E * sizeof(float)), *out = xq_malloc(rows * O * sizeof(float));
    float *g = xq_malloc(rows * E * sizeof(float)), *o1 = xq_malloc(rows * O * sizeof(float));
    float *o2 = xq_malloc(rows * O * sizeof(float));
    int32_t *gi = xq_malloc(rows * sizeof(int32_t));
    size_t checked = 0, skipped = 0;

    memcpy(x, x0, rows * E * sizeof(float));
    for (size_t k = 0; k < O; k += (O > 6 ? O / 5 : 1)) {
        for (size_t r = 0; r < rows; r++)
            gi[r] = (int32_t)((k + r) % O); /* rows ask for different outputs */
        eval(m, x, rows, true, gi, out, g);
        for (size_t e = 0; e < E; e += (E > 40 ? E / 23 : 1)) {
            double fd[3];
            bool match = false, consistent = true;

            for (int s = 0; s < 3; s++) {
                float h = hs[s];

                x[e] += h; /* row 0 only: the other rows must not change */
                eval(m, x, rows, false, NULL, o1, NULL);
                x[e] -= 2 * h;
                eval(m, x, rows, false, NULL, o2, NULL);
                x[e] += h;
                fd[s] = ((double)o1[gi[0]] - (double)o2[gi[0]]) / (2 * (double)h);
                match |= close_enough(fd[s], (double)g[e]);
                for (size_t r = 1; r < rows; r++)
                    ck_assert_msg(o1[r * O + (size_t)gi[r]] == o2[r * O + (size_t)gi[r]],
                                  "%s: rows are not independent", what);
            }
            for (int s = 1; s < 3; s++)
                consistent &= close_enough(fd[0], fd[s]);
            /* a kink exactly at x (ties of a max over ReLU zeros): the one-sided slopes differ */
            consistent &= close_enough(((double)o1[gi[0]] - (double)out[gi[0]]) / (double)hs[2],
                                       ((double)out[gi[0]] - (double)o2[gi[0]]) / (double)hs[2]);
            if (match) {
                checked++;
                continue;
            }
            ck_assert_msg(!consistent,
                          "%s: d out[%zu] / d x[%zu]: backprop %g, finite differences %g %g %g",
                          what, (size_t)gi[0], e, (double)g[e], fd[0], fd[1], fd[2]);
            skipped++;
        }
    }
    ck_assert_msg(skipped * 10 <= checked + skipped, "%s: %zu of %zu elements on kinks", what,
                  skipped, checked + skipped);
    xq_free(x);
    xq_free(out);
    xq_free(g);
    xq_free(o1);
    xq_free(o2);
    xq_free(gi);
}

START_TEST(test_onnx_operator) {
    char path[256];
    float *in = NULL, *want = NULL, *out;
    size_t in_cnt = 0, out_cnt = 0, batch = 0;
    xq_model_t *m;

    snprintf(path, sizeof(path), "tests/data/onnx/ops/%s.onnx", op_files[_i]);
    m = load(path);
    snprintf(path, sizeof(path), "tests/data/onnx/ops/%s.json", op_files[_i]);
    read_ref(path, &in, &in_cnt, &batch, &want, &out_cnt);
    ck_assert_uint_eq(in_cnt, batch * xq_model_input(m, 0)->elem_cnt);
    ck_assert_uint_eq(out_cnt, batch * xq_model_output(m)->elem_cnt);
    out = xq_calloc(out_cnt, sizeof(float));
    eval(m, in, batch, false, NULL, out, NULL);
    for (size_t i = 0; i < out_cnt; i++)
        ck_assert_msg(fabsf(out[i] - want[i]) <= 1e-5f + 1e-4f * fabsf(want[i]),
                      "%s: out[%zu] = %g, reference %g", op_files[_i], i, (double)out[i],
                      (double)want[i]);
    check_gradients(m, in, batch, op_files[_i]);
    xq_free(out);
    xq_free(in);
    xq_free(want);
    xq_model_destroy(m);
}

END_TEST

START_TEST(test_onnx_whole_models_gradients) {
    static const char *const files[] = {"tests/data/onnx/mlp20.onnx", "tests/data/onnx/cnn.onnx",
                                        "tests/data/onnx/t1.onnx"};

    for (size_t f = 0; f < 3; f++) {
        xq_model_t *m = load(files[f]);
        size_t E = xq_model_input(m, 0)->elem_cnt;
        float *x = xq_malloc(3 * E * sizeof(float));

        for (size_t i = 0; i < 3 * E; i++)
            x[i] = (float)sin(1.3 * (double)i + 0.2);
        check_gradients(m, x, 3, files[f]);
        xq_free(x);
        xq_model_destroy(m);
    }
}

END_TEST

/* The ONNX export of mlp20 computes what the dense backend does. */
START_TEST(test_onnx_matches_dense_backend) {
    xq_model_t *a = load("tests/data/onnx/mlp20.onnx"), *b = load("tests/data/models/mlp20.json");
    float x[4 * 20], ya[8], yb[8], ga[80], gb[80];
    int32_t gi[4] = {0, 1, 1, 0};

    for (size_t i = 0; i < 80; i++)
        x[i] = (float)cos(0.7 * (double)i);
    eval(a, x, 4, true, gi, ya, ga);
    eval(b, x, 4, true, gi, yb, gb);
    for (size_t i = 0; i < 8; i++)
        ck_assert_float_eq_tol(ya[i], yb[i], 1e-6f);
    for (size_t i = 0; i < 80; i++)
        ck_assert_float_eq_tol(ga[i], gb[i], 1e-5f);
    xq_model_destroy(a);
    xq_model_destroy(b);
}

END_TEST

/* explain on ONNX models: T1 is exact, and IG on the MLP converges within 0.01 at 50 steps. */
START_TEST(test_onnx_explain) {
    xq_model_t *t1 = load("tests/data/onnx/t1.onnx"), *mlp = load("tests/data/onnx/mlp20.onnx");
    static const char *const methods[] = {"'integratedGradientsAttribution': {'stepCount': 10}",
                                          "'sampledShapleyAttribution': {'pathCount': 50}"};
    char spec[512];
    texpl_t e;

    for (int me = 0; me < 2; me++) {
        snprintf(spec, sizeof(spec),
                 "{'parameters': {%s}, 'metadata': {'inputs': {'x1': {'inputTensorName': 'x'},"
                 " 'x2': {'inputTensorName': 'x'}, 'x3': {'inputTensorName': 'x'}},"
                 " 'outputs': {'y': {}}}}",
                 methods[me]);
        t_explain(spec, t1, "[{'x1': 1, 'x2': 2, 'x3': 3}]", NULL, &e);
        /* IG is exact from 2 steps; Shapley with pathCount >= 3! walks every order */
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x1", 0), 3, 1e-5);
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x2", 0), 3, 1e-5);
        ck_assert_double_eq_tol(t_fa(&e, 0, 0, "x3", 0), 8, 1e-5);
        ck_assert_double_eq_tol(
            t_fa(&e, 0, 0, "x1", 0) + t_fa(&e, 0, 0, "x2", 0) + t_fa(&e, 0, 0, "x3", 0), 14, 1e-4);
        t_explain_fini(&e);
    }
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 50}},"
              " 'metadata': {'inputs': {'features': {}}, 'outputs': {'probabilities': {}}}}",
              mlp,
              "[{'features': [0.5, -1, 2, 0.1, 0, 1, -0.5, 0.3, 0.7, -2, 1.5, 0.2, -0.1, 0.4, -1.2,"
              " 0.9, 0.6, -0.3, 1.1, 0.05]}]",
              NULL, &e);
    ck_assert(t_num(&e, 0, 0, "approximationError") < 0.01);
    t_explain_fini(&e);
    xq_model_destroy(t1);
    xq_model_destroy(mlp);
}

END_TEST

/* Embeddings: feed the Gather output "emb" (CONCAT_EMBEDDING), the model encodes the tokens. */
START_TEST(test_onnx_embedding_encoded_tensor) {
    xq_model_t *m = load("tests/data/onnx/emb.onnx");
    bool enc = false;
    const xq_tensor_desc_t *d = xq_model_find(m, "emb", &enc);
    texpl_t e;
    double sum = 0;

    ck_assert_ptr_nonnull(d);
    ck_assert(enc);
    ck_assert_uint_eq(d->elem_cnt, 5 * 4);
    t_explain("{'parameters': {'integratedGradientsAttribution': {'stepCount': 30}},"
              " 'metadata': {'inputs': {'tokens': {'encoding': 'CONCAT_EMBEDDING',"
              "   'encodedTensorName': 'emb'}}, 'outputs': {'score': {}}}}",
              m, "[{'tokens': [1, 4, 4, 9, 0]}]", NULL, &e);
    for (size_t j = 0; j < 5; j++)
        sum += t_fa(&e, 0, 0, "tokens", j);
    /* one value per token, and together they account for F(x) - F(0 embedding) */
    ck_assert_double_eq_tol(
        sum, t_num(&e, 0, 0, "instanceOutputValue") - t_num(&e, 0, 0, "baselineOutputValue"), 1e-3);
    /* tokens 2 and 3 are both id 4: the same embedding, the same attribution */
    ck_assert_double_eq_tol(t_fa(&e, 0, 0, "tokens", 1), t_fa(&e, 0, 0, "tokens", 2), 1e-6);
    t_explain_fini(&e);
    xq_model_destroy(m);
}

END_TEST

/* The numbers under @p key of a JSON object file (a flat array). */
static float *read_floats(const char *path, const char *key, size_t *cnt) {
    msgpack_unpacked msg;
    xq_buf_t mp;
    float *out = NULL;
    double d;

    xq_buf_init(&mp);
    t_json_file_to_mp(path, &mp);
    t_unpack(&mp, &msg);
    for (uint32_t k = 0; k < msg.data.via.map.size; k++) {
        const msgpack_object *v = &msg.data.via.map.ptr[k].val;

        if (!xq_mp_str_eq(&msg.data.via.map.ptr[k].key, key))
            continue;
        *cnt = v->via.array.size;
        out = xq_calloc(*cnt + 1, sizeof(float));
        for (size_t i = 0; i < *cnt; i++) {
            xq_mp_number(&v->via.array.ptr[i], &d);
            out[i] = (float)d;
        }
    }
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&mp);
    ck_assert_ptr_nonnull(out);
    return out;
}

/*
 * The interpreter's promise: a row's outputs and input gradients are the same bits however
 * rows are batched (1, 7 or 64 a call; Conv batches its rows into one GEMM). Models: the CNN
 * (dynamic batch) and conv_fixed1 (exported with a batch of 1, run many rows a pass).
 */
START_TEST(test_onnx_bits_do_not_depend_on_batching) {
    static const char *const files[] = {"tests/data/onnx/cnn.onnx",
                                        "tests/data/onnx/conv_fixed1.onnx",
                                        "tests/data/onnx/mlp20.onnx"};
    static const size_t chunks[] = {1, 7, 64};

    enum {
        ROWS = 64
    };

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        xq_model_t *m = load(files[f]);
        size_t E = xq_model_input(m, 0)->elem_cnt, O = xq_model_output(m)->elem_cnt;
        float *x = xq_malloc(ROWS * E * sizeof(float)), *y = xq_malloc(ROWS * O * sizeof(float));
        float *g = xq_malloc(ROWS * E * sizeof(float)), *y2 = xq_malloc(ROWS * O * sizeof(float));
        float *g2 = xq_malloc(ROWS * E * sizeof(float));
        int32_t gi[ROWS];

        for (size_t i = 0; i < ROWS * E; i++)
            x[i] = (float)sin(0.37 * (double)i + 0.1);
        for (size_t r = 0; r < ROWS; r++)
            gi[r] = (int32_t)(r % O);
        eval(m, x, ROWS, true, gi, y, g);
        for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            for (size_t r = 0; r < ROWS; r += chunks[c]) {
                size_t n = ROWS - r < chunks[c] ? ROWS - r : chunks[c];

                eval(m, x + r * E, n, true, gi + r, y2 + r * O, g2 + r * E);
            }
            ck_assert_msg(memcmp(y, y2, ROWS * O * sizeof(float)) == 0,
                          "%s: outputs change with %zu rows a call", files[f], chunks[c]);
            ck_assert_msg(memcmp(g, g2, ROWS * E * sizeof(float)) == 0,
                          "%s: gradients change with %zu rows a call", files[f], chunks[c]);
        }
        xq_free(x);
        xq_free(y);
        xq_free(g);
        xq_free(y2);
        xq_free(g2);
        xq_model_destroy(m);
    }
}

END_TEST

/*
 * Graphs exported with a batch of 1: conv_fixed1 (a constant Reshape to [1, 360]) runs its
 * rows together and gets numpy's outputs and finite differences' gradients; mix_fixed1
 * would mix rows if run so (a Softmax across the reshaped batch) and must give each row
 * what the row alone gives.
 */
START_TEST(test_onnx_fixed_batch_of_one) {
    static const char *const ref = "tests/data/onnx/rebatch.json";
    xq_model_t *m = load("tests/data/onnx/conv_fixed1.onnx");
    size_t xn, yn;
    float *x = read_floats(ref, "x", &xn), *want = read_floats(ref, "conv", &yn), y[18];

    ck_assert_uint_eq(xn, 3 * xq_model_input(m, 0)->elem_cnt);
    ck_assert_uint_eq(yn, 3 * 4);
    eval(m, x, 3, false, NULL, y, NULL);
    for (size_t i = 0; i < yn; i++)
        ck_assert_msg(fabsf(y[i] - want[i]) <= 1e-5f + 1e-5f * fabsf(want[i]),
                      "conv_fixed1: y[%zu] = %g, numpy %g", i, (double)y[i], (double)want[i]);
    check_gradients(m, x, 3, "conv_fixed1");
    xq_free(x);
    xq_free(want);
    xq_model_destroy(m);
    m = load("tests/data/onnx/mix_fixed1.onnx");
    x = read_floats(ref, "xm", &xn);
    want = read_floats(ref, "mix", &yn);
    ck_assert_uint_eq(yn, 18);
    eval(m, x, 3, false, NULL, y, NULL);
    for (size_t i = 0; i < yn; i++)
        ck_assert_msg(fabsf(y[i] - want[i]) <= 1e-6f,
                      "mix_fixed1: y[%zu] = %g, numpy (row alone) %g", i, (double)y[i],
                      (double)want[i]);
    xq_free(x);
    xq_free(want);
    xq_model_destroy(m);
}

END_TEST

/*
 * The convolution GEMM against a float64 product, with every edge (k past one block, rows
 * past a tile, columns past a panel and past a packed block), and each column of C the
 * same bits whatever the columns computed beside it, for op(A) = A and A^T.
 */
START_TEST(test_onnx_gemm_columns_do_not_depend_on_n) {
    enum {
        M = 13,
        K = 300,
        N = 2100
    };

    float *A = xq_malloc(M * K * sizeof(float)), *B = xq_malloc(K * N * sizeof(float));
    float *C = xq_malloc(M * N * sizeof(float)), *C2 = xq_malloc(M * N * sizeof(float));
    float *Ap = xq_malloc(xq_onnx_gemm_pack_len(M, K) * sizeof(float));
    static const size_t starts[] = {0, 5, 31, 1000, 2047}, widths[] = {1, 7, 33, 64, 53};

    for (size_t i = 0; i < M * K; i++)
        A[i] = (float)sin(0.91 * (double)i + 0.3);
    for (size_t i = 0; i < K * N; i++)
        B[i] = (float)cos(0.37 * (double)i + 0.1);
    for (int ta = 0; ta < 2; ta++) {
        /* ta: A holds op(A)^T, K x M */
        float *At = xq_malloc(M * K * sizeof(float));

        for (size_t i = 0; i < M; i++)
            for (size_t k = 0; k < K; k++)
                At[k * M + i] = A[i * K + k];
        xq_onnx_gemm_pack(ta, M, K, ta ? At : A, ta ? M : K, Ap);
        xq_onnx_gemm_packed(M, N, K, Ap, B, N, C, N);
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j += 97) {
                double want = 0;

                for (size_t k = 0; k < K; k++)
                    want += (double)A[i * K + k] * (double)B[k * N + j];
                ck_assert_msg(fabs((double)C[i * N + j] - want) <= 1e-4 * (1 + fabs(want)),
                              "C[%zu, %zu] = %g, float64 %g", i, j, (double)C[i * N + j], want);
            }
        for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
            size_t j0 = starts[s], w = widths[s];

            /* columns j0 .. j0 + w alone (B's rows N apart, C's w apart) */
            xq_onnx_gemm_packed(M, w, K, Ap, B + j0, N, C2, w);
            for (size_t i = 0; i < M; i++)
                ck_assert_msg(memcmp(C2 + i * w, C + i * N + j0, w * sizeof(float)) == 0,
                              "row %zu, columns %zu..%zu: other bits than among %d columns", i, j0,
                              j0 + w, N);
        }
        xq_free(At);
    }
    xq_free(A);
    xq_free(B);
    xq_free(C);
    xq_free(C2);
    xq_free(Ap);
}

END_TEST

START_TEST(test_onnx_load_errors) {
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    xq_model_t *m = NULL;
    xq_error_t err;

    ck_assert_int_eq(xq_model_load("tests/data/onnx/ort/nograd.onnx",
                                   &(xq_model_opts_t){.backend = "onnx-interp"}, &m, &err),
                     XQ_EMODEL);
    ck_assert_ptr_nonnull(
        strstr(err.msg, "interpreter lacks Sin (2 nodes, first: sin_1), Cos (1 node: cos_1)"));
    ck_assert_int_eq(xq_onnx_load(junk, sizeof(junk), NULL, &m, &err), XQ_EMODEL);
    ck_assert_int_eq(
        xq_model_load("tests/data/onnx/mlp20.onnx", &(xq_model_opts_t){.output = "nope"}, &m, &err),
        XQ_EMODEL);
    ck_assert_ptr_nonnull(strstr(err.msg, "output nope"));
    ck_assert_int_eq(xq_model_load("/nonexistent.onnx", NULL, &m, &err), XQ_EIO);
    ck_assert_int_eq(xq_model_load("x", &(xq_model_opts_t){.backend = "tensorflow"}, &m, &err),
                     XQ_EINVAL);
}

END_TEST

Suite *onnx_suite(void) {
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_onnx_operator, 0, (int)OP_FILE_CNT);
    tcase_add_test(tc, test_onnx_whole_models_gradients);
    tcase_add_test(tc, test_onnx_matches_dense_backend);
    tcase_add_test(tc, test_onnx_explain);
    tcase_add_test(tc, test_onnx_embedding_encoded_tensor);
    tcase_add_test(tc, test_onnx_load_errors);
    tcase_add_test(tc, test_onnx_bits_do_not_depend_on_batching);
    tcase_add_test(tc, test_onnx_fixed_batch_of_one);
    tcase_add_test(tc, test_onnx_gemm_columns_do_not_depend_on_n);
    suite_add_tcase(s, tc);
    return s;
}
