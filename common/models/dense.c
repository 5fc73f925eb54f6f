/* dense.c -- fully connected networks: forward pass and reverse-mode input gradients. */
#include "models/dense.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "mem.h"
#include "mp.h"

typedef enum act {
    ACT_LINEAR,
    ACT_RELU,
    ACT_TANH,
    ACT_SIGMOID,
    ACT_EXP,
    ACT_SOFTMAX,
} act_t;

static const char *const act_names[] = {"linear", "relu", "tanh", "sigmoid", "exp", "softmax"};

typedef struct layer {
    size_t in, out;
    double *w; /* out * in */
    double *b; /* out */
    act_t act;
} layer_t;

typedef struct dense {
    xq_tensor_desc_t *inputs;
    size_t input_cnt;
    xq_tensor_desc_t output;
    char **names; /* owned tensor names */
    size_t name_cnt;
    layer_t *layers;
    size_t layer_cnt;
    size_t width; /* widest layer, for scratch */
    size_t in_total;
} dense_t;

static void dense_free(void *impl) {
    dense_t *d = impl;

    if (!d)
        return;
    for (size_t i = 0; i < d->layer_cnt; i++) {
        xq_free(d->layers[i].w);
        xq_free(d->layers[i].b);
    }
    for (size_t i = 0; i < d->name_cnt; i++)
        xq_free(d->names[i]);
    xq_free(d->names);
    xq_free(d->layers);
    xq_free(d->inputs);
    xq_free(d);
}

static double activate(act_t a, double z) {
    switch (a) {
    case ACT_RELU:
        return z > 0 ? z : 0;
    case ACT_TANH:
        return tanh(z);
    case ACT_SIGMOID:
        return 1 / (1 + exp(-z));
    case ACT_EXP:
        return exp(z);
    default:
        return z;
    }
}

/* d activation / dz, from z and the activation a(z). */
static double dactivate(act_t a, double z, double y) {
    switch (a) {
    case ACT_RELU:
        return z > 0 ? 1 : 0;
    case ACT_TANH:
        return 1 - y * y;
    case ACT_SIGMOID:
        return y * (1 - y);
    case ACT_EXP:
        return y;
    default:
        return 1;
    }
}

/* Forward pass of one row; acts[l] holds layer l's output (acts[0] the input), zs[l] its z. */
static void forward(const dense_t *d, double **acts, double **zs) {
    for (size_t l = 0; l < d->layer_cnt; l++) {
        const layer_t *L = &d->layers[l];
        const double *a = acts[l];
        double *z = zs[l + 1], *y = acts[l + 1], max = -(double)INFINITY, sum = 0;

        for (size_t o = 0; o < L->out; o++) {
            const double *w = L->w + o * L->in;
            double s = L->b[o];

            for (size_t i = 0; i < L->in; i++)
                s += w[i] * a[i];
            z[o] = s;
            if (s > max)
                max = s;
        }
        if (L->act == ACT_SOFTMAX) {
            for (size_t o = 0; o < L->out; o++)
                sum += (y[o] = exp(z[o] - max));
            for (size_t o = 0; o < L->out; o++)
                y[o] /= sum;
        } else {
            for (size_t o = 0; o < L->out; o++)
                y[o] = activate(L->act, z[o]);
        }
    }
}

/* Gradient of output element @p k with respect to the input, into @p gin. */
static void backward(
    const dense_t *d, double **acts, double **zs, size_t k, double *g1, double *g2, double *gin) {
    double *g = g1, *gp = g2;
    size_t last = d->layer_cnt - 1;

    /* g = d out_k / d z of the last layer */
    {
        const layer_t *L = &d->layers[last];
        const double *y = acts[last + 1];

        for (size_t o = 0; o < L->out; o++) {
            if (L->act == ACT_SOFTMAX)
                g[o] = y[k] * ((o == k ? 1 : 0) - y[o]);
            else
                g[o] = o == k ? dactivate(L->act, zs[last + 1][o], y[o]) : 0;
        }
    }
    for (size_t l = d->layer_cnt; l-- > 0;) {
        const layer_t *L = &d->layers[l];
        double *t;

        /* through the weights: d/d a_l = W^T g */
        for (size_t i = 0; i < L->in; i++)
            gp[i] = 0;
        for (size_t o = 0; o < L->out; o++) {
            const double *w = L->w + o * L->in;

            for (size_t i = 0; i < L->in; i++)
                gp[i] += w[i] * g[o];
        }
        if (l == 0) {
            memcpy(gin, gp, L->in * sizeof(double));
            return;
        }
        /* through layer l-1's activation */
        for (size_t i = 0; i < L->in; i++)
            gp[i] *= dactivate(d->layers[l - 1].act, zs[l][i], acts[l][i]);
        t = g;
        g = gp;
        gp = t;
    }
}

static xq_err_t dense_eval(void *impl, xq_batch_t *b, xq_error_t *err) {
    dense_t *d = impl;
    size_t n = d->layer_cnt + 1, W = d->width;
    double *buf = xq_calloc((2 * n + 3) * W, sizeof(double));
    double **acts = xq_calloc(n, sizeof(*acts)), **zs = xq_calloc(n, sizeof(*zs));
    double *g1 = buf + 2 * n * W, *g2 = g1 + W, *gin = g2 + W;
    const double *y;

    (void)err;
    for (size_t l = 0; l < n; l++) {
        acts[l] = buf + l * W;
        zs[l] = buf + (n + l) * W;
    }
    y = acts[n - 1];
    for (size_t r = 0; r < b->rows; r++) {
        size_t pos = 0;

        /* the fed tensors are the model's inputs in any order: place each by name */
        for (size_t i = 0; i < d->input_cnt; i++) {
            for (size_t t = 0; t < b->tensor_cnt; t++) {
                if (strcmp(b->names[t], d->inputs[i].name))
                    continue;
                for (size_t e = 0; e < d->inputs[i].elem_cnt; e++)
                    acts[0][pos + e] = (double)b->data[t][r * b->elem_cnt[t] + e];
            }
            pos += d->inputs[i].elem_cnt;
        }
        forward(d, acts, zs);
        for (size_t o = 0; o < d->output.elem_cnt; o++)
            b->out[r * b->out_cnt + o] = (float)y[o];
        if (!b->grad)
            continue;
        backward(d, acts, zs, (size_t)b->grad_index[r], g1, g2, gin);
        pos = 0;
        for (size_t i = 0; i < d->input_cnt; i++) {
            for (size_t t = 0; t < b->tensor_cnt; t++) {
                if (strcmp(b->names[t], d->inputs[i].name))
                    continue;
                for (size_t e = 0; e < d->inputs[i].elem_cnt; e++)
                    b->grad_out[t][r * b->elem_cnt[t] + e] = (float)gin[pos + e];
            }
            pos += d->inputs[i].elem_cnt;
        }
    }
    xq_free(acts);
    xq_free(zs);
    xq_free(buf);
    return XQ_OK;
}

static const xq_model_ops_t dense_ops = {
    .eval = dense_eval,
    .encode = NULL,
    .destroy = dense_free,
};

/* ==== Loading ==== */

static xq_err_t read_desc(dense_t *d,
                          const msgpack_object *o,
                          const char *field,
                          xq_tensor_desc_t *desc,
                          xq_error_t *err) {
    const msgpack_object *name = xq_mp_map_get(o, "name"), *shape = xq_mp_map_get(o, "shape");
    double v;

    if (!name || name->type != MSGPACK_OBJECT_STR || !name->via.str.size)
        return xq_error_set(err, XQ_EMODEL, field, "needs a \"name\" string");
    if (!shape || shape->type != MSGPACK_OBJECT_ARRAY || shape->via.array.size > XQ_MAX_DIMS)
        return xq_error_set(err, XQ_EMODEL, field, "needs a \"shape\" array of at most 8 sizes");
    d->names = xq_reallocarray(d->names, d->name_cnt + 1, sizeof(*d->names));
    d->names[d->name_cnt] = xq_strndup(name->via.str.ptr, name->via.str.size);
    desc->name = d->names[d->name_cnt++];
    desc->ndim = shape->via.array.size;
    desc->elem_cnt = 1;
    for (size_t i = 0; i < desc->ndim; i++) {
        if (!xq_mp_number(&shape->via.array.ptr[i], &v) || v < 1 || v > 1e7 || v != floor(v))
            return xq_error_set(err, XQ_EMODEL, field, "shape sizes must be integers >= 1");
        desc->dims[i] = (size_t)v;
        desc->elem_cnt *= desc->dims[i];
    }
    return XQ_OK;
}

static xq_err_t read_layer(const msgpack_object *o, size_t idx, layer_t *L, xq_error_t *err) {
    const msgpack_object *w = xq_mp_map_get(o, "weights"), *b = xq_mp_map_get(o, "bias"),
                         *a = xq_mp_map_get(o, "activation");
    char field[64];
    double v;

    snprintf(field, sizeof(field), "layers[%zu]", idx);
    if (!w || w->type != MSGPACK_OBJECT_ARRAY || !w->via.array.size ||
        w->via.array.ptr[0].type != MSGPACK_OBJECT_ARRAY || !w->via.array.ptr[0].via.array.size)
        return xq_error_set(err, XQ_EMODEL, field,
                            "\"weights\" must be a non-empty [out][in] array");
    L->out = w->via.array.size;
    L->in = w->via.array.ptr[0].via.array.size;
    L->w = xq_calloc(L->out * L->in, sizeof(double));
    L->b = xq_calloc(L->out, sizeof(double));
    for (size_t o2 = 0; o2 < L->out; o2++) {
        const msgpack_object *row = &w->via.array.ptr[o2];

        if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size != L->in)
            return xq_error_set(err, XQ_EMODEL, field, "weights row %zu does not have %zu columns",
                                o2, L->in);
        for (size_t i = 0; i < L->in; i++) {
            if (!xq_mp_number(&row->via.array.ptr[i], &v) || !isfinite(v))
                return xq_error_set(err, XQ_EMODEL, field, "weights[%zu][%zu] is not a number", o2,
                                    i);
            L->w[o2 * L->in + i] = v;
        }
    }
    if (b) {
        if (b->type != MSGPACK_OBJECT_ARRAY || b->via.array.size != L->out)
            return xq_error_set(err, XQ_EMODEL, field, "\"bias\" must have %zu numbers", L->out);
        for (size_t o2 = 0; o2 < L->out; o2++) {
            if (!xq_mp_number(&b->via.array.ptr[o2], &v) || !isfinite(v))
                return xq_error_set(err, XQ_EMODEL, field, "bias[%zu] is not a number", o2);
            L->b[o2] = v;
        }
    }
    L->act = ACT_LINEAR;
    if (a) {
        size_t k;

        for (k = 0; k < sizeof(act_names) / sizeof(act_names[0]); k++) {
            if (xq_mp_str_eq(a, act_names[k]))
                break;
        }
        if (k == sizeof(act_names) / sizeof(act_names[0]))
            return xq_error_set(err, XQ_EMODEL, field,
                                "unknown activation (linear, relu, tanh, sigmoid, exp, softmax)");
        L->act = (act_t)k;
    }
    return XQ_OK;
}

xq_err_t xq_dense_load(const char *text, size_t len, xq_model_t **out, xq_error_t *err) {
    const msgpack_object *fmt, *inputs, *output, *layers;
    dense_t *d = xq_calloc(1, sizeof(*d));
    msgpack_unpacked msg;
    size_t off = 0;
    xq_buf_t mp;
    xq_err_t rc;

    xq_buf_init(&mp);
    msgpack_unpacked_init(&msg);
    if ((rc = xq_json_to_msgpack(text, len, &mp, err)) != XQ_OK)
        goto out;
    if (msgpack_unpack_next(&msg, (const char *)mp.data, mp.len, &off) != MSGPACK_UNPACK_SUCCESS) {
        rc = xq_error_set(err, XQ_EMODEL, "", "model is not valid JSON");
        goto out;
    }
    fmt = xq_mp_map_get(&msg.data, "format");
    inputs = xq_mp_map_get(&msg.data, "inputs");
    output = xq_mp_map_get(&msg.data, "output");
    layers = xq_mp_map_get(&msg.data, "layers");
    if (!fmt || !xq_mp_str_eq(fmt, "explainq-dense-v1")) {
        rc = xq_error_set(err, XQ_EMODEL, "format", "expected \"explainq-dense-v1\"");
        goto out;
    }
    if (!inputs || inputs->type != MSGPACK_OBJECT_ARRAY || !inputs->via.array.size || !output ||
        !layers || layers->type != MSGPACK_OBJECT_ARRAY || !layers->via.array.size) {
        rc = xq_error_set(err, XQ_EMODEL, "", "a dense model needs inputs, output and layers");
        goto out;
    }
    d->input_cnt = inputs->via.array.size;
    d->inputs = xq_calloc(d->input_cnt, sizeof(*d->inputs));
    for (size_t i = 0; i < d->input_cnt; i++) {
        char field[32];

        snprintf(field, sizeof(field), "inputs[%zu]", i);
        if ((rc = read_desc(d, &inputs->via.array.ptr[i], field, &d->inputs[i], err)) != XQ_OK)
            goto out;
        d->in_total += d->inputs[i].elem_cnt;
    }
    if ((rc = read_desc(d, output, "output", &d->output, err)) != XQ_OK)
        goto out;
    d->layer_cnt = layers->via.array.size;
    d->layers = xq_calloc(d->layer_cnt, sizeof(*d->layers));
    d->width = d->in_total;
    for (size_t l = 0; l < d->layer_cnt; l++) {
        layer_t *L = &d->layers[l];
        size_t want = l ? d->layers[l - 1].out : d->in_total;

        if ((rc = read_layer(&layers->via.array.ptr[l], l, L, err)) != XQ_OK)
            goto out;
        if (L->in != want) {
            rc = xq_error_set(err, XQ_EMODEL, "layers", "layer %zu takes %zu values but gets %zu",
                              l, L->in, want);
            goto out;
        }
        if (L->act == ACT_SOFTMAX && l + 1 != d->layer_cnt) {
            rc =
                xq_error_set(err, XQ_EMODEL, "layers", "softmax is allowed on the last layer only");
            goto out;
        }
        if (L->out > d->width)
            d->width = L->out;
    }
    if (d->layers[d->layer_cnt - 1].out != d->output.elem_cnt) {
        rc = xq_error_set(err, XQ_EMODEL, "output",
                          "the last layer gives %zu values, the output "
                          "shape %zu",
                          d->layers[d->layer_cnt - 1].out, d->output.elem_cnt);
        goto out;
    }
    *out = xq_model_new(&dense_ops, d, d->inputs, d->input_cnt, NULL, 0, &d->output);
    d = NULL; /* owned by the model now */
out:
    dense_free(d);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&mp);
    return rc;
}
