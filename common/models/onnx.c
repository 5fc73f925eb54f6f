/* onnx.c -- the ONNX interpreter: its values, and batched forward passes and reverse-mode input
 * gradients. */
#include "models/onnx.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "models/onnx_int.h"
#include "onnx.pb-c.h"

/* ==== Operator names (the types are in onnx_int.h) ==== */

static const char *const op_names[OP_CNT] = {
#define XQ_ONNX_OP_NAME(e, name, fwd, bwd) [OP_##e] = name,
    XQ_ONNX_CORE_OPS(XQ_ONNX_OP_NAME)
#undef XQ_ONNX_OP_NAME
};

const char *xq_onnx_op_name(op_t op) {
    return op < OP_CNT ? op_names[op] : "?";
}

static int find_val(const onnx_t *m, const char *name) {
    for (size_t i = 0; i < m->val_cnt; i++) {
        if (strcmp(m->vals[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

int xq_onnx_add_val(onnx_t *m, const char *name) {
    int v = find_val(m, name);

    if (v >= 0)
        return v;
    if (m->val_cnt == m->val_cap) {
        m->val_cap = m->val_cap ? 2 * m->val_cap : 64;
        m->vals = xq_reallocarray(m->vals, m->val_cap, sizeof(*m->vals));
    }
    memset(&m->vals[m->val_cnt], 0, sizeof(val_t));
    m->vals[m->val_cnt].name = xq_strdup(name);
    return (int)m->val_cnt++;
}

/* Sets a value's shape and makes room for its data. */
void xq_onnx_shape(val_t *v, dt_t dt, size_t ndim, const size_t *dims) {
    size_t cnt = 1;

    v->dt = dt;
    v->ndim = ndim;
    for (size_t d = 0; d < ndim; d++) {
        v->dims[d] = dims[d];
        cnt *= dims[d];
    }
    v->cnt = cnt;
    if (cnt > v->cap) {
        xq_free(v->f);
        xq_free(v->i);
        v->f = NULL;
        v->i = NULL;
        v->cap = cnt;
    }
    if (dt == DT_F32 && !v->f)
        v->f = xq_malloc(v->cap * sizeof(float) + 1);
    if (dt == DT_I64 && !v->i)
        v->i = xq_malloc(v->cap * sizeof(int64_t) + 1);
}

/* The gradient buffer of @p v, zeroed on first use in a pass. */
float *xq_onnx_grad(val_t *v) {
    if (!v->has_g) {
        if (v->cnt > v->gcap) {
            xq_free(v->g);
            v->gcap = v->cnt;
            v->g = xq_malloc(v->gcap * sizeof(float) + 1);
        }
        memset(v->g, 0, v->cnt * sizeof(float));
        v->has_g = true;
    }
    return v->g;
}

size_t *xq_onnx_scratch(node_t *n, size_t cnt) {
    if (cnt > n->arg_cap) {
        xq_free(n->arg);
        n->arg = xq_malloc(cnt * sizeof(size_t) + 1);
        n->arg_cap = cnt;
    }
    memset(n->arg, 0, cnt * sizeof(size_t));
    return n->arg;
}

static void free_model(void *impl) {
    onnx_t *m = impl;

    if (!m)
        return;
    for (size_t i = 0; i < m->val_cnt; i++) {
        xq_free(m->vals[i].name);
        xq_free(m->vals[i].f);
        xq_free(m->vals[i].i);
        xq_free(m->vals[i].g);
    }
    for (size_t i = 0; i < m->node_cnt; i++) {
        xq_free(m->nodes[i].name);
        xq_free(m->nodes[i].arg);
        xq_free(m->nodes[i].col);
        xq_free(m->nodes[i].pack[0]);
        xq_free(m->nodes[i].pack[1]);
    }
    xq_free(m->vals);
    xq_free(m->nodes);
    xq_free(m->inputs);
    xq_free(m->in_desc);
    xq_free(m->enc_desc);
    xq_free(m);
}

/* ==== Running ==== */

/* Marks what depends on fed float tensors, and skips nodes whose output is fed. */
static void mark(onnx_t *m, bool want_grad) {
    for (size_t k = 0; k < m->node_cnt; k++) {
        node_t *n = &m->nodes[k];
        val_t *y = &m->vals[n->out[0]];
        bool ng = false;

        n->skip = y->fed;
        if (n->skip)
            continue;
        for (size_t i = 0; i < n->in_cnt; i++) {
            val_t *x = IN(m, n, i);

            if (x && x->dt == DT_F32 && x->needs_grad) {
                if (n->op == OP_GATHER && i == 1)
                    continue;
                ng = true;
            }
        }
        y->needs_grad = want_grad && ng && n->op != OP_SHAPE;
        y->batched = false;
        for (size_t i = 0; i < n->in_cnt && n->op != OP_SHAPE; i++)
            y->batched |= IN(m, n, i) && IN(m, n, i)->batched;
        for (size_t o = 1; o < n->out_cnt; o++) {
            m->vals[n->out[o]].needs_grad = y->needs_grad;
            m->vals[n->out[o]].batched = y->batched;
        }
    }
}

static bool run_forward(onnx_t *m) {
    for (size_t k = 0; k < m->node_cnt; k++) {
        node_t *n = &m->nodes[k];

        if (n->skip)
            continue;
        for (size_t i = 0; i < n->in_cnt; i++) {
            val_t *x = IN(m, n, i);

            if (x && !x->is_const && !x->fed && !x->f && !x->i)
                return xq_onnx_fail(m, n, "input %s has no value (not fed, not computed)", x->name);
        }
        if (!xq_onnx_forward(m, n))
            return false;
    }
    return true;
}

/* Sets tensor @p name from the batch; returns the value or -1. */
static int feed(onnx_t *m,
                const char *name,
                const float *data,
                size_t rows,
                size_t per_row,
                const xq_tensor_desc_t *desc,
                bool want_grad) {
    int vi = find_val(m, name);
    size_t dims[XQ_MAX_DIMS];
    val_t *v;

    if (vi < 0)
        return -1;
    v = &m->vals[vi];
    dims[0] = rows;
    memcpy(dims + 1, desc->dims, desc->ndim * sizeof(size_t));
    if (v->dt == DT_I64 && !v->cap) {
        /* a graph input declared integer keeps its type: ids arrive as floats */
    }
    xq_onnx_shape(v, v->dt, desc->ndim + 1, dims);
    if (v->dt == DT_I64) {
        for (size_t i = 0; i < rows * per_row; i++)
            v->i[i] = (int64_t)lrintf(data[i]);
    } else {
        memcpy(v->f, data, rows * per_row * sizeof(float));
    }
    v->fed = true;
    v->batched = true;
    v->needs_grad = want_grad && v->dt == DT_F32;
    m->pass_rows = rows;
    return vi;
}

static const xq_tensor_desc_t *desc_of(const onnx_t *m, const char *name) {
    for (size_t i = 0; i < m->input_cnt; i++) {
        if (strcmp(m->in_desc[i].name, name) == 0)
            return &m->in_desc[i];
    }
    for (size_t i = 0; i < m->enc_cnt; i++) {
        if (strcmp(m->enc_desc[i].name, name) == 0)
            return &m->enc_desc[i];
    }
    return NULL;
}

static void unfeed(onnx_t *m) {
    for (size_t i = 0; i < m->val_cnt; i++) {
        m->vals[i].fed = false;
        m->vals[i].batched = false;
        m->vals[i].needs_grad = false;
        m->vals[i].has_g = false;
    }
}

static xq_err_t onnx_eval(void *impl, xq_batch_t *b, xq_error_t *err) {
    onnx_t *m = impl;
    int fed[MAX_IO * 4];
    val_t *y;
    xq_err_t rc = XQ_OK;

    if (b->tensor_cnt > sizeof(fed) / sizeof(fed[0]))
        return xq_error_set(err, XQ_EMODEL, "", "too many fed tensors");
    unfeed(m);
    for (size_t t = 0; t < b->tensor_cnt; t++) {
        const xq_tensor_desc_t *d = desc_of(m, b->names[t]);

        if (!d ||
            (fed[t] = feed(m, b->names[t], b->data[t], b->rows, b->elem_cnt[t], d, b->grad)) < 0)
            return xq_error_set(err, XQ_EMODEL, b->names[t], "the model has no tensor %s",
                                b->names[t]);
    }
    mark(m, b->grad);
    if (!run_forward(m)) {
        rc = xq_error_set(err, XQ_EMODEL, "", "%s", m->errbuf);
        goto out;
    }
    y = &m->vals[m->output];
    if (y->cnt != b->rows * b->out_cnt || y->dt != DT_F32) {
        rc = xq_error_set(err, XQ_EMODEL, m->out_desc.name,
                          "output %s has %zu values for %zu rows, expected %zu per row",
                          m->out_desc.name, y->cnt, b->rows, b->out_cnt);
        goto out;
    }
    memcpy(b->out, y->f, y->cnt * sizeof(float));
    if (!b->grad)
        goto out;
    /* seed: d out[r, grad_index[r]] per row; rows never mix, so one pass serves them all */
    if (y->needs_grad) {
        float *g = xq_onnx_grad(y);

        for (size_t r = 0; r < b->rows; r++) {
            if (b->grad_index[r] < 0 || (size_t)b->grad_index[r] >= b->out_cnt) {
                rc = xq_error_set(err, XQ_EMODEL, "grad.index",
                                  "row %zu: index %d outside the "
                                  "output's %zu elements",
                                  r, b->grad_index[r], b->out_cnt);
                goto out;
            }
            g[r * b->out_cnt + (size_t)b->grad_index[r]] = 1.0f;
        }
        for (size_t k = m->node_cnt; k-- > 0;) {
            node_t *n = &m->nodes[k];

            bool has_g = false;

            for (size_t o = 0; o < n->out_cnt; o++)
                has_g |= m->vals[n->out[o]].has_g;
            if (!n->skip && has_g && m->vals[n->out[0]].needs_grad)
                xq_onnx_backward(m, n);
        }
    }
    for (size_t t = 0; t < b->tensor_cnt; t++) {
        val_t *v = &m->vals[fed[t]];

        if (v->has_g)
            memcpy(b->grad_out[t], v->g, b->rows * b->elem_cnt[t] * sizeof(float));
        else
            memset(b->grad_out[t], 0, b->rows * b->elem_cnt[t] * sizeof(float));
    }
out:
    unfeed(m);
    return rc;
}

static size_t max_input_elems(const onnx_t *m) {
    size_t most = 1;

    for (size_t i = 0; i < m->input_cnt; i++)
        most = m->in_desc[i].elem_cnt > most ? m->in_desc[i].elem_cnt : most;
    return most;
}

/* The one graph input value @p vi depends on (its index in in_desc), or SIZE_MAX. */
static size_t encoder_input(const onnx_t *m, int vi) {
    bool *need = xq_calloc(m->val_cnt, sizeof(bool));
    size_t found = SIZE_MAX, cnt = 0;

    need[vi] = true;
    for (size_t k = m->node_cnt; k-- > 0;) {
        const node_t *n = &m->nodes[k];
        bool wanted = false;

        for (size_t o = 0; o < n->out_cnt; o++)
            wanted |= need[n->out[o]];
        for (size_t i = 0; wanted && i < n->in_cnt; i++) {
            if (n->in[i] >= 0)
                need[n->in[i]] = true;
        }
    }
    for (size_t i = 0; i < m->input_cnt; i++) {
        if (need[m->inputs[i]]) {
            found = i;
            cnt++;
        }
    }
    xq_free(need);
    return cnt == 1 ? found : SIZE_MAX;
}

static xq_err_t onnx_encode(void *impl,
                            const char *encoded,
                            const float *raw,
                            size_t rows,
                            size_t raw_cnt,
                            float *out,
                            size_t out_cnt,
                            xq_error_t *err) {
    onnx_t *m = impl;
    int vi = find_val(m, encoded);
    xq_err_t rc = XQ_OK;

    /* the raw instance is the model's (single) input; run and read the intermediate */
    size_t src;
    float *zeros;

    if (vi < 0)
        return xq_error_set(err, XQ_EMODEL, encoded, "the model has no tensor %s", encoded);
    if ((src = encoder_input(m, vi)) == SIZE_MAX)
        return xq_error_set(err, XQ_EMODEL, encoded,
                            "cannot encode %s: it depends on %s inputs of the model, and "
                            "encoding takes one",
                            encoded, m->input_cnt ? "several" : "no");
    if (m->in_desc[src].elem_cnt != raw_cnt)
        return xq_error_set(err, XQ_EMODEL, encoded,
                            "cannot encode %s: the instance gives %zu elements; the model's input "
                            "%s takes %zu",
                            encoded, raw_cnt, m->in_desc[src].name, m->in_desc[src].elem_cnt);
    zeros = xq_calloc(rows * max_input_elems(m) + 1, sizeof(float));
    for (size_t r = 0, step = m->fixed_batch && !m->rebatch ? 1 : rows; r < rows && rc == XQ_OK;
         r += step) {
        unfeed(m);
        /* the other inputs do not reach the encoded tensor: zeros stand for them */
        for (size_t i = 0; i < m->input_cnt; i++)
            feed(m, m->in_desc[i].name, i == src ? raw + r * raw_cnt : zeros, step,
                 m->in_desc[i].elem_cnt, &m->in_desc[i], false);
        mark(m, false);
        if (!run_forward(m))
            rc = xq_error_set(err, XQ_EMODEL, encoded, "%s", m->errbuf);
        else if (m->vals[vi].cnt != step * out_cnt)
            rc = xq_error_set(err, XQ_EMODEL, encoded, "%s has %zu values, not %zu", encoded,
                              m->vals[vi].cnt, step * out_cnt);
        else
            memcpy(out + r * out_cnt, m->vals[vi].f, step * out_cnt * sizeof(float));
        unfeed(m);
    }
    xq_free(zeros);
    return rc;
}

static const xq_model_ops_t onnx_ops = {
    .eval = onnx_eval,
    .encode = onnx_encode,
    .destroy = free_model,
};

/* Runs a batch of two rows of zeros to learn every intermediate tensor's per-row shape. */
static bool probe_shapes(onnx_t *m) {
    float *zeros;
    size_t most = 1, rows = m->fixed_batch ? 1 : 2; /* 2 tells the batch from a fixed 1 */

    for (size_t i = 0; i < m->input_cnt; i++)
        most = m->in_desc[i].elem_cnt > most ? m->in_desc[i].elem_cnt : most;
    zeros = xq_calloc(rows * most, sizeof(float));
    unfeed(m);
    for (size_t i = 0; i < m->input_cnt; i++)
        feed(m, m->in_desc[i].name, zeros, rows, m->in_desc[i].elem_cnt, &m->in_desc[i], false);
    mark(m, false);
    if (!run_forward(m)) {
        xq_free(zeros);
        unfeed(m);
        return false;
    }
    xq_free(zeros);
    m->enc_desc = xq_calloc(m->val_cnt, sizeof(*m->enc_desc));
    m->row_bytes = 0; /* every value that scales with the batch, per row */
    for (size_t i = 0; i < m->val_cnt; i++) {
        val_t *v = &m->vals[i];

        if (!v->is_const && v->ndim >= 1 && v->dims[0] == rows && v->cap)
            m->row_bytes += v->cnt / rows * (v->dt == DT_F32 ? sizeof(float) : sizeof(int64_t));
    }
    for (size_t i = 0; i < m->val_cnt; i++) {
        val_t *v = &m->vals[i];
        xq_tensor_desc_t *d;

        if (v->is_const || v->fed || v->dt != DT_F32 || v->ndim < 1 || v->dims[0] != rows ||
            !v->cap)
            continue;
        d = &m->enc_desc[m->enc_cnt++];
        d->name = v->name;
        d->ndim = v->ndim - 1;
        d->elem_cnt = 1;
        for (size_t k = 1; k < v->ndim; k++) {
            d->dims[k - 1] = v->dims[k];
            d->elem_cnt *= v->dims[k];
        }
    }
    unfeed(m);
    return true;
}

/* Feeds @p rows rows of every input from row @p r0 of a pattern: floats vary, ids are 0. */
static void feed_pattern(onnx_t *m, size_t r0, size_t rows) {
    size_t most = max_input_elems(m);
    float *x = xq_malloc(rows * most * sizeof(float));

    for (size_t i = 0; i < m->input_cnt; i++) {
        const xq_tensor_desc_t *d = &m->in_desc[i];

        for (size_t e = 0; e < rows * d->elem_cnt; e++)
            x[e] = d->is_integer ? 0.0f
                                 : (float)sin(0.7 * (double)(e % d->elem_cnt) +
                                              1.9 * (double)(r0 + e / d->elem_cnt) + (double)i);
        feed(m, d->name, x, rows, d->elem_cnt, d, false);
    }
    xq_free(x);
}

#define PROBE_ROWS 3

/*
 * Whether a graph exported with a batch of 1 runs PROBE_ROWS rows in one pass exactly as
 * one row at a time: every value that depends on the inputs has the rows first and each
 * row's bits equal those of the row run alone (a leading 1 of a constant Reshape shape is
 * taken for the rows). Then the interpreter batches it; otherwise it runs row by row.
 */
static bool rebatch_ok(onnx_t *m) {
    size_t *bytes = xq_calloc(m->val_cnt, sizeof(size_t));
    char **keep = xq_calloc(m->val_cnt, sizeof(char *));
    bool ok;

    unfeed(m);
    m->rebatch = true;
    feed_pattern(m, 0, PROBE_ROWS);
    mark(m, false);
    ok = run_forward(m);
    for (size_t i = 0; ok && i < m->val_cnt; i++) {
        val_t *v = &m->vals[i];

        if (!v->batched)
            continue;
        ok = v->ndim >= 1 && v->dims[0] == PROBE_ROWS;
        bytes[i] = v->cnt * (v->dt == DT_F32 ? sizeof(float) : sizeof(int64_t));
        keep[i] = xq_malloc(bytes[i] + 1);
        memcpy(keep[i], v->dt == DT_F32 ? (void *)v->f : (void *)v->i, bytes[i]);
    }
    m->rebatch = false;
    for (size_t r = 0; ok && r < PROBE_ROWS; r++) {
        unfeed(m);
        feed_pattern(m, r, 1);
        mark(m, false);
        ok = run_forward(m);
        for (size_t i = 0; ok && i < m->val_cnt; i++) {
            val_t *v = &m->vals[i];
            size_t row = bytes[i] / PROBE_ROWS;

            if (!keep[i])
                continue;
            ok = v->batched && v->ndim >= 1 && v->dims[0] == 1 &&
                 v->cnt * (v->dt == DT_F32 ? sizeof(float) : sizeof(int64_t)) == row &&
                 memcmp(keep[i] + r * row, v->dt == DT_F32 ? (void *)v->f : (void *)v->i, row) == 0;
        }
    }
    unfeed(m);
    for (size_t i = 0; i < m->val_cnt; i++)
        xq_free(keep[i]);
    xq_free(keep);
    xq_free(bytes);
    m->errbuf[0] = '\0'; /* a failed probe is no error: the rows run one at a time */
    return ok;
}

xq_err_t xq_onnx_load(
    const uint8_t *buf, size_t len, const char *output, xq_model_t **out, xq_error_t *err) {
    return xq_onnx_load_dir(buf, len, NULL, output, NULL, out, err);
}

xq_err_t xq_onnx_load_dir(const uint8_t *buf,
                          size_t len,
                          const char *dir,
                          const char *output,
                          const char *dims,
                          xq_model_t **out,
                          xq_error_t *err) {
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    onnx_t *m = xq_calloc(1, sizeof(*m));
    const Onnx__GraphProto *g;
    const xq_tensor_desc_t *od = NULL;
    xq_err_t rc = XQ_EMODEL;

    if (!mp || !mp->graph) {
        xq_error_set(err, XQ_EMODEL, "model", "not an ONNX model (protobuf did not parse)");
        goto out;
    }
    g = mp->graph;
    m->dir = dir;
    m->opset = 13;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *os = mp->opset_import[i];

        if (!os->domain || !os->domain[0] || !strcmp(os->domain, "ai.onnx"))
            m->opset = (long)os->version;
    }
    for (size_t i = 0; i < g->n_initializer; i++) {
        int v = xq_onnx_add_val(m, g->initializer[i]->name);

        if (!xq_onnx_load_tensor(m, g->initializer[i], &m->vals[v])) {
            xq_error_set(err, XQ_EMODEL, "model", "%s", m->errbuf);
            goto out;
        }
    }
    m->in_desc = xq_calloc(g->n_input + 1, sizeof(*m->in_desc));
    m->inputs = xq_calloc(g->n_input + 1, sizeof(*m->inputs));
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        const Onnx__TypeProto__Tensor *tt = vi->type ? vi->type->tensor_type : NULL;
        xq_tensor_desc_t *d = &m->in_desc[m->input_cnt];
        int v;

        if (find_val(m, vi->name) >= 0 && m->vals[find_val(m, vi->name)].is_const)
            continue; /* older exporters list initializers as inputs too */
        if (!tt || !tt->shape || tt->shape->n_dim < 1 || tt->shape->n_dim > XQ_MAX_DIMS) {
            xq_error_set(err, XQ_EMODEL, vi->name,
                         "input %s needs a tensor type with a batch dimension first", vi->name);
            goto out;
        }
        v = xq_onnx_add_val(m, vi->name);
        m->vals[v].dt = tt->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
                                tt->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32
                            ? DT_I64
                            : DT_F32;
        d->name = m->vals[v].name;
        d->is_integer = m->vals[v].dt == DT_I64;
        d->ndim = tt->shape->n_dim - 1;
        d->elem_cnt = 1;
        if (tt->shape->dim[0]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            tt->shape->dim[0]->dim_value != 1 && tt->shape->dim[0]->dim_value > 0) {
            xq_error_set(err, XQ_EMODEL, vi->name,
                         "input %s has a fixed batch of %lld; explainq's interpreter takes a "
                         "dynamic batch or a batch of 1 (export with either)",
                         vi->name, (long long)tt->shape->dim[0]->dim_value);
            goto out;
        }
        if (tt->shape->dim[0]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            m->fixed_batch = true; /* exported with a batch of 1: run one row at a time */
        for (size_t k = 1; k < tt->shape->n_dim; k++) {
            const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[k];

            size_t given;

            if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                xq_model_dims_lookup(dims, dim->dim_param, &given)) {
                d->dims[k - 1] = given;
                d->elem_cnt *= given;
                continue;
            }
            if (dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
                dim->dim_value < 1) {
                xq_error_set(err, XQ_EMODEL, vi->name,
                             "input %s: dimension %zu (%s) is not fixed; only the batch may vary: "
                             "give it with --dims %s=N",
                             vi->name, k,
                             dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                                 ? dim->dim_param
                                 : "unnamed",
                             dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                                 ? dim->dim_param
                                 : "NAME");
                goto out;
            }
            d->dims[k - 1] = (size_t)dim->dim_value;
            d->elem_cnt *= d->dims[k - 1];
        }
        m->inputs[m->input_cnt++] = v;
    }
    if (xq_onnx_list_unsupported(m, g)) {
        xq_error_set(err, XQ_EMODEL, "model",
                     "%s; Sampled Shapley works (onnxruntime runs it), or serve it from your "
                     "own runner for gradients",
                     m->errbuf);
        goto out;
    }
    m->nodes = xq_calloc(g->n_node + 1, sizeof(*m->nodes));
    for (size_t i = 0; i < g->n_node; i++) {
        if (!xq_onnx_read_node(m, g->node[i], &m->nodes[m->node_cnt++])) {
            xq_error_set(err, XQ_EMODEL, "model", "%s", m->errbuf);
            goto out;
        }
    }
    if (!g->n_output) {
        xq_error_set(err, XQ_EMODEL, "model", "the graph has no output");
        goto out;
    }
    if (!probe_shapes(m)) {
        xq_error_set(err, XQ_EMODEL, "model", "running the model on zeros failed: %s", m->errbuf);
        goto out;
    }
    m->rebatch = m->fixed_batch && rebatch_ok(m);
    m->output = find_val(m, output ? output : g->output[0]->name);
    for (size_t i = 0; m->output >= 0 && i < m->enc_cnt; i++) {
        if (strcmp(m->enc_desc[i].name, m->vals[m->output].name) == 0)
            od = &m->enc_desc[i];
    }
    if (!od) {
        xq_error_set(err, XQ_EMODEL, "output", "the model has no batch-shaped output %s",
                     output ? output : g->output[0]->name);
        goto out;
    }
    m->out_desc = *od;
    m->dir = NULL; /* borrowed for the load only */
    *out =
        xq_model_new(&onnx_ops, m, m->in_desc, m->input_cnt, m->enc_desc, m->enc_cnt, &m->out_desc);
    xq_model_set_row_bytes(*out, m->row_bytes, 0);
    if (m->fixed_batch && !m->rebatch)
        xq_model_set_max_rows(*out, 1);
    m = NULL; /* owned by the model now */
    rc = XQ_OK;
out:
    free_model(m);
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
    return rc;
}
