/* onnx.c -- ONNX graphs: loading (protobuf-c), batched forward passes, reverse-mode input
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

static const char *const op_names[OP_CNT] = {"Gemm",
                                             "MatMul",
                                             "Add",
                                             "Sub",
                                             "Mul",
                                             "Div",
                                             "Relu",
                                             "LeakyRelu",
                                             "Sigmoid",
                                             "Tanh",
                                             "Softmax",
                                             "Exp",
                                             "Log",
                                             "Clip",
                                             "Identity",
                                             "Constant",
                                             "Flatten",
                                             "Reshape",
                                             "Transpose",
                                             "Squeeze",
                                             "Unsqueeze",
                                             "Concat",
                                             "Gather",
                                             "ReduceSum",
                                             "ReduceMean",
                                             "Conv",
                                             "MaxPool",
                                             "AveragePool",
                                             "GlobalAveragePool",
                                             "BatchNormalization",
                                             "Shape",
                                             "Dropout"};

static int find_val(const onnx_t *m, const char *name) {
    for (size_t i = 0; i < m->val_cnt; i++) {
        if (strcmp(m->vals[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

static int add_val(onnx_t *m, const char *name) {
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
    }
    xq_free(m->vals);
    xq_free(m->nodes);
    xq_free(m->inputs);
    xq_free(m->in_desc);
    xq_free(m->enc_desc);
    xq_free(m);
}

/* ==== Operators: forward and backward ==== */

bool xq_onnx_fail(onnx_t *m, const node_t *n, const char *fmt, ...) {
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(m->errbuf, sizeof(m->errbuf), "%s node %s: %s",
             n->op == OP_EXT ? n->ext->name : op_names[n->op], n->name ? n->name : "?", msg);
    return false;
}

/* ---- broadcasting binary operators ---- */

bool xq_onnx_broadcast(const val_t *a, const val_t *b, bc_t *bc) {
    size_t nd = a->ndim > b->ndim ? a->ndim : b->ndim, stra = 1, strb = 1;

    bc->ndim = nd;
    bc->cnt = 1;
    for (size_t d = nd; d-- > 0;) {
        size_t da = d + a->ndim >= nd ? a->dims[d + a->ndim - nd] : 1;
        size_t db = d + b->ndim >= nd ? b->dims[d + b->ndim - nd] : 1;

        if (da != db && da != 1 && db != 1)
            return false;
        bc->dims[d] = da > db ? da : db;
        bc->sa[d] = da == 1 ? 0 : stra;
        bc->sb[d] = db == 1 ? 0 : strb;
        stra *= da;
        strb *= db;
        bc->cnt *= bc->dims[d];
    }
    return true;
}

static bool fwd_binary(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *y = OUT(m, n);
    bc_t bc;

    if (!a || !b || !xq_onnx_broadcast(a, b, &bc))
        return xq_onnx_fail(m, n, "inputs do not broadcast");
    if (a->dt != b->dt)
        return xq_onnx_fail(m, n, "inputs of different types");
    xq_onnx_shape(y, a->dt, bc.ndim, bc.dims);
    if (a->dt == DT_I64) {
        BC_LOOP(&bc, {
            int64_t p = a->i[ia], q = b->i[ib];
            y->i[o] = n->op == OP_ADD   ? p + q
                      : n->op == OP_SUB ? p - q
                      : n->op == OP_MUL ? p * q
                                        : (q ? p / q : 0);
        });
        return true;
    }
    switch (n->op) {
    case OP_ADD:
        BC_LOOP(&bc, y->f[o] = a->f[ia] + b->f[ib]);
        break;
    case OP_SUB:
        BC_LOOP(&bc, y->f[o] = a->f[ia] - b->f[ib]);
        break;
    case OP_MUL:
        BC_LOOP(&bc, y->f[o] = a->f[ia] * b->f[ib]);
        break;
    default:
        BC_LOOP(&bc, y->f[o] = a->f[ia] / b->f[ib]);
        break;
    }
    return true;
}

static void bwd_binary(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *y = OUT(m, n);
    float *ga = a->needs_grad ? xq_onnx_grad(a) : NULL,
          *gb = b->needs_grad ? xq_onnx_grad(b) : NULL;
    const float *g = y->g;
    bc_t bc;

    xq_onnx_broadcast(a, b, &bc);
    BC_LOOP(&bc, {
        float p = a->f[ia], q = b->f[ib], go = g[o];
        switch (n->op) {
        case OP_ADD:
            if (ga)
                ga[ia] += go;
            if (gb)
                gb[ib] += go;
            break;
        case OP_SUB:
            if (ga)
                ga[ia] += go;
            if (gb)
                gb[ib] -= go;
            break;
        case OP_MUL:
            if (ga)
                ga[ia] += go * q;
            if (gb)
                gb[ib] += go * p;
            break;
        default:
            if (ga)
                ga[ia] += go / q;
            if (gb)
                gb[ib] -= go * p / (q * q);
            break;
        }
    });
}

/* ---- elementwise unary ---- */

static bool fwd_unary(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float lo = n->clip_min, hi = n->clip_max;

    if (!x || x->dt != DT_F32)
        return xq_onnx_fail(m, n, "needs a float input");
    if (n->op == OP_CLIP) {
        /* opset 11+: min and max are optional inputs */
        val_t *vmin = IN(m, n, 1), *vmax = IN(m, n, 2);

        if (vmin && vmin->cnt)
            lo = vmin->f[0];
        if (vmax && vmax->cnt)
            hi = vmax->f[0];
        n->clip_min = lo;
        n->clip_max = hi;
    }
    xq_onnx_shape(y, DT_F32, x->ndim, x->dims);
    for (size_t i = 0; i < x->cnt; i++) {
        float v = x->f[i];

        switch (n->op) {
        case OP_RELU:
            y->f[i] = v > 0 ? v : 0;
            break;
        case OP_LEAKYRELU:
            y->f[i] = v > 0 ? v : n->alpha * v;
            break;
        case OP_SIGMOID:
            y->f[i] = 1 / (1 + expf(-v));
            break;
        case OP_TANH:
            y->f[i] = tanhf(v);
            break;
        case OP_EXP:
            y->f[i] = expf(v);
            break;
        case OP_LOG:
            y->f[i] = logf(v);
            break;
        case OP_CLIP:
            y->f[i] = v < lo ? lo : v > hi ? hi : v;
            break;
        default:
            y->f[i] = v;
            break;
        }
    }
    return true;
}

static void bwd_unary(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);

    for (size_t i = 0; i < x->cnt; i++) {
        float v = x->f[i], o = y->f[i], d;

        switch (n->op) {
        case OP_RELU:
            d = v > 0 ? 1 : 0;
            break;
        case OP_LEAKYRELU:
            d = v > 0 ? 1 : n->alpha;
            break;
        case OP_SIGMOID:
            d = o * (1 - o);
            break;
        case OP_TANH:
            d = 1 - o * o;
            break;
        case OP_EXP:
            d = o;
            break;
        case OP_LOG:
            d = 1 / v;
            break;
        case OP_CLIP:
            d = v >= n->clip_min && v <= n->clip_max ? 1 : 0;
            break;
        default:
            d = 1;
            break;
        }
        gx[i] += y->g[i] * d;
    }
}

/* ---- shape-only operators: the data is copied, the gradient passes through ---- */

static bool fwd_reshape_to(onnx_t *m, node_t *n, size_t ndim, const size_t *dims) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    size_t cnt = 1;

    for (size_t d = 0; d < ndim; d++)
        cnt *= dims[d];
    if (cnt != x->cnt)
        return xq_onnx_fail(m, n, "cannot reshape %zu elements into %zu", x->cnt, cnt);
    xq_onnx_shape(y, x->dt, ndim, dims);
    if (x->dt == DT_F32)
        memcpy(y->f, x->f, cnt * sizeof(float));
    else
        memcpy(y->i, x->i, cnt * sizeof(int64_t));
    return true;
}

static void bwd_passthrough(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);

    for (size_t i = 0; i < x->cnt; i++)
        gx[i] += y->g[i];
}

/* Axes from the attribute (older opsets) or from input @p k (newer). */
bool xq_onnx_get_axes(onnx_t *m, node_t *n, size_t k, long *axes, size_t *cnt) {
    val_t *a = IN(m, n, k);

    if (a) {
        if (a->dt != DT_I64 || a->cnt > XQ_MAX_DIMS)
            return xq_onnx_fail(m, n, "axes must be int64");
        for (size_t i = 0; i < a->cnt; i++)
            axes[i] = (long)a->i[i];
        *cnt = a->cnt;
        return true;
    }
    memcpy(axes, n->axes, n->axes_cnt * sizeof(long));
    *cnt = n->has_axes ? n->axes_cnt : 0;
    return true;
}

static bool fwd_shape_op(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0);
    size_t dims[XQ_MAX_DIMS], nd = 0, cnt;
    long axes[XQ_MAX_DIMS];

    switch (n->op) {
    case OP_IDENTITY:
    case OP_DROPOUT:
        return fwd_reshape_to(m, n, x->ndim, x->dims);
    case OP_FLATTEN: {
        long ax = norm_axis(n->has_axis ? n->axis : 1, x->ndim);
        size_t a = 1, b = 1;

        for (size_t d = 0; d < x->ndim; d++)
            *((long)d < ax ? &a : &b) *= x->dims[d];
        dims[0] = a;
        dims[1] = b;
        return fwd_reshape_to(m, n, 2, dims);
    }
    case OP_RESHAPE: {
        val_t *s = IN(m, n, 1);
        long infer = -1;
        size_t known = 1;

        if (!s || s->dt != DT_I64 || s->cnt > XQ_MAX_DIMS)
            return xq_onnx_fail(m, n, "needs an int64 shape input");
        for (size_t d = 0; d < s->cnt; d++) {
            int64_t v = s->i[d];

            if (v == -1) {
                infer = (long)d;
                dims[d] = 1;
            } else if (v == 0 && !n->noop_empty) {
                dims[d] = d < x->ndim ? x->dims[d] : 1;
            } else if (v < 0) {
                return xq_onnx_fail(m, n, "bad shape entry %lld", (long long)v);
            } else {
                dims[d] = (size_t)v;
            }
            if ((long)d != infer)
                known *= dims[d];
        }
        if (infer >= 0)
            dims[infer] = known ? x->cnt / known : 0;
        return fwd_reshape_to(m, n, s->cnt, dims);
    }
    case OP_SQUEEZE:
        if (!xq_onnx_get_axes(m, n, 1, axes, &cnt))
            return false;
        for (size_t d = 0; d < x->ndim; d++) {
            bool drop = false;

            for (size_t k = 0; k < cnt; k++)
                drop |= norm_axis(axes[k], x->ndim) == (long)d;
            if (!cnt)
                drop = x->dims[d] == 1;
            if (!drop)
                dims[nd++] = x->dims[d];
        }
        return fwd_reshape_to(m, n, nd, dims);
    case OP_UNSQUEEZE: {
        size_t out_nd, src = 0;

        if (!xq_onnx_get_axes(m, n, 1, axes, &cnt))
            return false;
        out_nd = x->ndim + cnt;
        if (out_nd > XQ_MAX_DIMS)
            return xq_onnx_fail(m, n, "too many dimensions");
        for (size_t d = 0; d < out_nd; d++) {
            bool ins = false;

            for (size_t k = 0; k < cnt; k++)
                ins |= norm_axis(axes[k], out_nd) == (long)d;
            dims[d] = ins ? 1 : x->dims[src++];
        }
        return fwd_reshape_to(m, n, out_nd, dims);
    }
    default:
        return xq_onnx_fail(m, n, "not a shape operator");
    }
}

static bool fwd_shape(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    size_t d = x->ndim;

    xq_onnx_shape(y, DT_I64, 1, &d);
    for (size_t k = 0; k < x->ndim; k++)
        y->i[k] = (int64_t)x->dims[k];
    return true;
}

/* ---- Transpose ---- */

static void transpose_index(const val_t *x, const long *perm, size_t *in_strides) {
    size_t s = 1;

    for (size_t d = x->ndim; d-- > 0;) {
        in_strides[d] = s;
        s *= x->dims[d];
    }
    (void)perm;
}

static bool fwd_transpose(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    size_t dims[XQ_MAX_DIMS], st[XQ_MAX_DIMS], ost[XQ_MAX_DIMS];
    long perm[XQ_MAX_DIMS];

    for (size_t d = 0; d < x->ndim; d++)
        perm[d] = n->perm_cnt ? n->perm[d] : (long)(x->ndim - 1 - d);
    if (n->perm_cnt && n->perm_cnt != x->ndim)
        return xq_onnx_fail(m, n, "perm has %zu entries for rank %zu", n->perm_cnt, x->ndim);
    for (size_t d = 0; d < x->ndim; d++)
        dims[d] = x->dims[perm[d]];
    xq_onnx_shape(y, x->dt, x->ndim, dims);
    transpose_index(x, perm, st);
    for (size_t d = 0; d < x->ndim; d++)
        ost[d] = st[perm[d]];
    {
        bc_t bc = {.ndim = x->ndim, .cnt = x->cnt};

        for (size_t d = 0; d < x->ndim; d++) {
            bc.dims[d] = dims[d];
            bc.sa[d] = ost[d];
            bc.sb[d] = 0;
        }
        if (x->dt == DT_F32)
            BC_LOOP(&bc, y->f[o] = x->f[ia]);
        else
            BC_LOOP(&bc, y->i[o] = x->i[ia]);
    }
    memcpy(n->perm, perm, sizeof(perm));
    n->perm_cnt = x->ndim;
    return true;
}

static void bwd_transpose(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);
    size_t st[XQ_MAX_DIMS];
    bc_t bc = {.ndim = x->ndim, .cnt = x->cnt};

    transpose_index(x, n->perm, st);
    for (size_t d = 0; d < x->ndim; d++) {
        bc.dims[d] = y->dims[d];
        bc.sa[d] = st[n->perm[d]];
        bc.sb[d] = 0;
    }
    BC_LOOP(&bc, gx[ia] += y->g[o]);
}

/* ---- Concat ---- */

static bool fwd_concat(onnx_t *m, node_t *n) {
    val_t *x0 = IN(m, n, 0), *y = OUT(m, n);
    long ax = norm_axis(n->axis, x0->ndim);
    size_t dims[XQ_MAX_DIMS], outer = 1, inner = 1, off = 0;

    memcpy(dims, x0->dims, sizeof(dims));
    dims[ax] = 0;
    for (size_t k = 0; k < n->in_cnt; k++) {
        val_t *x = IN(m, n, k);

        if (x->ndim != x0->ndim || x->dt != x0->dt)
            return xq_onnx_fail(m, n, "inputs differ in rank or type");
        dims[ax] += x->dims[ax];
    }
    for (long d = 0; d < ax; d++)
        outer *= dims[d];
    for (size_t d = (size_t)ax + 1; d < x0->ndim; d++)
        inner *= dims[d];
    xq_onnx_shape(y, x0->dt, x0->ndim, dims);
    for (size_t k = 0; k < n->in_cnt; k++) {
        val_t *x = IN(m, n, k);
        size_t blk = x->dims[ax] * inner;

        for (size_t o = 0; o < outer; o++) {
            if (x->dt == DT_F32)
                memcpy(y->f + o * dims[ax] * inner + off, x->f + o * blk, blk * sizeof(float));
            else
                memcpy(y->i + o * dims[ax] * inner + off, x->i + o * blk, blk * sizeof(int64_t));
        }
        off += blk;
    }
    return true;
}

static void bwd_concat(onnx_t *m, node_t *n) {
    val_t *x0 = IN(m, n, 0), *y = OUT(m, n);
    long ax = norm_axis(n->axis, x0->ndim);
    size_t outer = 1, inner = 1, off = 0;

    for (long d = 0; d < ax; d++)
        outer *= y->dims[d];
    for (size_t d = (size_t)ax + 1; d < y->ndim; d++)
        inner *= y->dims[d];
    for (size_t k = 0; k < n->in_cnt; k++) {
        val_t *x = IN(m, n, k);
        size_t blk = x->dims[ax] * inner;

        if (x->needs_grad) {
            float *gx = xq_onnx_grad(x);

            for (size_t o = 0; o < outer; o++)
                for (size_t e = 0; e < blk; e++)
                    gx[o * blk + e] += y->g[o * y->dims[ax] * inner + off + e];
        }
        off += blk;
    }
}

/* ---- Gather ---- */

static bool fwd_gather(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *ix = IN(m, n, 1), *y = OUT(m, n);
    long ax = norm_axis(n->axis, x->ndim);
    size_t dims[XQ_MAX_DIMS], nd = 0, outer = 1, inner = 1, nidx = ix->cnt;

    if (ix->dt != DT_I64)
        return xq_onnx_fail(m, n, "indices must be integers");
    if (x->ndim + ix->ndim - 1 > XQ_MAX_DIMS)
        return xq_onnx_fail(m, n, "too many dimensions");
    for (long d = 0; d < ax; d++) {
        dims[nd++] = x->dims[d];
        outer *= x->dims[d];
    }
    for (size_t d = 0; d < ix->ndim; d++)
        dims[nd++] = ix->dims[d];
    for (size_t d = (size_t)ax + 1; d < x->ndim; d++) {
        dims[nd++] = x->dims[d];
        inner *= x->dims[d];
    }
    xq_onnx_shape(y, x->dt, nd, dims);
    for (size_t o = 0; o < outer; o++) {
        for (size_t k = 0; k < nidx; k++) {
            int64_t j = ix->i[k] < 0 ? ix->i[k] + (int64_t)x->dims[ax] : ix->i[k];

            if (j < 0 || j >= (int64_t)x->dims[ax])
                return xq_onnx_fail(m, n, "index %lld is outside [0, %zu)", (long long)ix->i[k],
                                    x->dims[ax]);
            if (x->dt == DT_F32)
                memcpy(y->f + (o * nidx + k) * inner, x->f + (o * x->dims[ax] + (size_t)j) * inner,
                       inner * sizeof(float));
            else
                memcpy(y->i + (o * nidx + k) * inner, x->i + (o * x->dims[ax] + (size_t)j) * inner,
                       inner * sizeof(int64_t));
        }
    }
    return true;
}

static void bwd_gather(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *ix = IN(m, n, 1), *y = OUT(m, n);
    long ax = norm_axis(n->axis, x->ndim);
    size_t outer = 1, inner = 1, nidx = ix->cnt;
    float *gx = xq_onnx_grad(x);

    for (long d = 0; d < ax; d++)
        outer *= x->dims[d];
    for (size_t d = (size_t)ax + 1; d < x->ndim; d++)
        inner *= x->dims[d];
    for (size_t o = 0; o < outer; o++)
        for (size_t k = 0; k < nidx; k++) {
            int64_t j = ix->i[k] < 0 ? ix->i[k] + (int64_t)x->dims[ax] : ix->i[k];

            for (size_t e = 0; e < inner; e++)
                gx[(o * x->dims[ax] + (size_t)j) * inner + e] += y->g[(o * nidx + k) * inner + e];
        }
}

/* ---- Reductions ---- */

/* Output shape of a reduction, and for each input element its output element. */
bool xq_onnx_reduce_plan(
    onnx_t *m, node_t *n, const val_t *x, size_t *dims, size_t *nd, bool *red) {
    long axes[XQ_MAX_DIMS];
    size_t cnt = 0;
    bool from_input = IN(m, n, 1) != NULL; /* ReduceSum 13+, every Reduce* 18+ */

    if (!xq_onnx_get_axes(m, n, from_input ? 1 : MAX_IO, axes, &cnt))
        return false;
    for (size_t d = 0; d < x->ndim; d++)
        red[d] = cnt == 0 && !(from_input && n->noop_empty);
    for (size_t k = 0; k < cnt; k++) {
        long a = norm_axis(axes[k], x->ndim);

        if (a < 0 || a >= (long)x->ndim)
            return xq_onnx_fail(m, n, "axis %ld is out of range", axes[k]);
        red[a] = true;
    }
    *nd = 0;
    for (size_t d = 0; d < x->ndim; d++) {
        if (!red[d])
            dims[(*nd)++] = x->dims[d];
        else if (n->keepdims)
            dims[(*nd)++] = 1;
    }
    return true;
}

/* The reduction as a broadcast walk: input element ia maps to output element ib. */
void xq_onnx_reduce_walk(const val_t *x, const bool *red, bc_t *bc) {
    size_t s = 1;

    bc->ndim = x->ndim;
    bc->cnt = x->cnt;
    for (size_t d = x->ndim; d-- > 0;) {
        bc->dims[d] = x->dims[d];
        bc->sb[d] = red[d] ? 0 : s;
        if (!red[d])
            s *= x->dims[d];
    }
    s = 1;
    for (size_t d = x->ndim; d-- > 0;) {
        bc->sa[d] = s;
        s *= x->dims[d];
    }
}

static bool fwd_reduce(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    size_t dims[XQ_MAX_DIMS], nd;
    bool red[XQ_MAX_DIMS];
    bc_t bc;

    if (!xq_onnx_reduce_plan(m, n, x, dims, &nd, red))
        return false;
    xq_onnx_shape(y, DT_F32, nd, dims);
    memset(y->f, 0, y->cnt * sizeof(float));
    xq_onnx_reduce_walk(x, red, &bc);
    BC_LOOP(&bc, y->f[ib] += x->f[ia]);
    if (n->op == OP_REDUCEMEAN && y->cnt) {
        float k = (float)x->cnt / (float)y->cnt;

        for (size_t i = 0; i < y->cnt; i++)
            y->f[i] /= k;
    }
    return true;
}

static void bwd_reduce(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x), k = n->op == OP_REDUCEMEAN ? (float)y->cnt / (float)x->cnt : 1;
    size_t dims[XQ_MAX_DIMS], nd;
    bool red[XQ_MAX_DIMS];
    bc_t bc;

    xq_onnx_reduce_plan(m, n, x, dims, &nd, red);
    xq_onnx_reduce_walk(x, red, &bc);
    BC_LOOP(&bc, gx[ia] += y->g[ib] * k);
}

/* ---- Softmax ---- */

static void softmax_split(
    onnx_t *m, const node_t *n, const val_t *x, size_t *outer, size_t *len, size_t *inner) {
    long ax = norm_axis(n->has_axis ? n->axis : (m->opset >= 13 ? -1 : 1), x->ndim);

    *outer = *len = *inner = 1;
    for (size_t d = 0; d < x->ndim; d++) {
        if ((long)d < ax)
            *outer *= x->dims[d];
        else if ((long)d == ax || m->opset < 13)
            *len *= x->dims[d]; /* before opset 13: flattened from axis on */
        else
            *inner *= x->dims[d];
    }
}

static bool fwd_softmax(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    size_t outer, len, inner;

    xq_onnx_shape(y, DT_F32, x->ndim, x->dims);
    softmax_split(m, n, x, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const float *xs = x->f + o * len * inner + i;
            float *ys = y->f + o * len * inner + i, mx = -INFINITY;
            double sum = 0;

            for (size_t k = 0; k < len; k++)
                mx = xs[k * inner] > mx ? xs[k * inner] : mx;
            for (size_t k = 0; k < len; k++)
                sum += (double)(ys[k * inner] = expf(xs[k * inner] - mx));
            for (size_t k = 0; k < len; k++)
                ys[k * inner] = (float)((double)ys[k * inner] / sum);
        }
    return true;
}

static void bwd_softmax(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);
    size_t outer, len, inner;

    softmax_split(m, n, x, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * len * inner + i;
            double dot = 0;

            for (size_t k = 0; k < len; k++)
                dot += (double)y->g[base + k * inner] * (double)y->f[base + k * inner];
            for (size_t k = 0; k < len; k++)
                gx[base + k * inner] +=
                    y->f[base + k * inner] * (float)((double)y->g[base + k * inner] - dot);
        }
}

/* ---- Gemm and MatMul ---- */

/*
 * C = alpha op(A) op(B) + beta C, row-major, each row of C summed over k in one
 * fixed order. Here M counts the batch's rows, and OpenBLAS picks its kernels
 * (and so its summation order) by the matrix sizes: a row's result would change
 * with the rows batched beside it, and the same instance explained in-process
 * and over Kafka would differ in the last bits. Rows never mix here. (Conv keeps
 * OpenBLAS: its matrices are per sample, the same whatever the batch.)
 */
static void gemm_rows(bool ta,
                      bool tb,
                      size_t M,
                      size_t N,
                      size_t K,
                      float alpha,
                      const float *A,
                      size_t lda,
                      const float *B,
                      size_t ldb,
                      float beta,
                      float *C,
                      size_t ldc) {
    for (size_t m = 0; m < M; m++) {
        float *c = C + m * ldc;

        for (size_t n = 0; n < N; n++)
            c[n] = beta == 0 ? 0.0f : beta * c[n];
        if (tb) {
            for (size_t n = 0; n < N; n++) {
                const float *b = B + n * ldb;
                float acc = 0;

                for (size_t k = 0; k < K; k++)
                    acc += (ta ? A[k * lda + m] : A[m * lda + k]) * b[k];
                c[n] += alpha * acc;
            }
        } else {
            for (size_t k = 0; k < K; k++) {
                const float a = alpha * (ta ? A[k * lda + m] : A[m * lda + k]);
                const float *b = B + k * ldb;

                for (size_t n = 0; n < N; n++)
                    c[n] += a * b[n];
            }
        }
    }
}

static bool fwd_gemm(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *c = IN(m, n, 2), *y = OUT(m, n);
    size_t M, K, N, Kb, dims[2];

    if (a->ndim != 2 || b->ndim != 2 || a->dt != DT_F32 || b->dt != DT_F32)
        return xq_onnx_fail(m, n, "needs two float matrices");
    M = n->trans_a ? a->dims[1] : a->dims[0];
    K = n->trans_a ? a->dims[0] : a->dims[1];
    Kb = n->trans_b ? b->dims[1] : b->dims[0];
    N = n->trans_b ? b->dims[0] : b->dims[1];
    if (K != Kb)
        return xq_onnx_fail(m, n, "inner dimensions %zu and %zu differ", K, Kb);
    dims[0] = M;
    dims[1] = N;
    xq_onnx_shape(y, DT_F32, 2, dims);
    gemm_rows(n->trans_a, n->trans_b, M, N, K, n->alpha, a->f, a->dims[1], b->f, b->dims[1], 0.0f,
              y->f, N);
    if (c && n->beta != 0) {
        bc_t bc;

        if (!xq_onnx_broadcast(y, c, &bc) || bc.cnt != y->cnt)
            return xq_onnx_fail(m, n, "C does not broadcast to [%zu, %zu]", M, N);
        BC_LOOP(&bc, y->f[o] += n->beta * c->f[ib]);
    }
    return true;
}

static void bwd_gemm(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *c = IN(m, n, 2), *y = OUT(m, n);
    int M = (int)y->dims[0], N = (int)y->dims[1];
    int K = (int)(n->trans_a ? a->dims[0] : a->dims[1]);
    int lda = (int)a->dims[1], ldb = (int)b->dims[1];

    if (a->needs_grad) {
        float *ga = xq_onnx_grad(a);

        if (!n->trans_a) /* dA = alpha dY op(B)^T: [M,N] x [N,K], row by row */
            gemm_rows(false, !n->trans_b, (size_t)M, (size_t)K, (size_t)N, n->alpha, y->g,
                      (size_t)N, b->f, (size_t)ldb, 1.0f, ga, (size_t)lda);
        else /* dA = alpha op(B) dY^T: [K,N] x [N,M] */
            cblas_sgemm(CblasRowMajor, n->trans_b ? CblasTrans : CblasNoTrans, CblasTrans, K, M, N,
                        n->alpha, b->f, ldb, y->g, N, 1.0f, ga, lda);
    }
    if (b->needs_grad) {
        float *gb = xq_onnx_grad(b);

        if (!n->trans_b) /* dB = alpha op(A)^T dY: [K,M] x [M,N] */
            cblas_sgemm(CblasRowMajor, n->trans_a ? CblasNoTrans : CblasTrans, CblasNoTrans, K, N,
                        M, n->alpha, a->f, lda, y->g, N, 1.0f, gb, ldb);
        else /* dB = alpha dY^T op(A): [N,M] x [M,K] */
            cblas_sgemm(CblasRowMajor, CblasTrans, n->trans_a ? CblasTrans : CblasNoTrans, N, K, M,
                        n->alpha, y->g, N, a->f, lda, 1.0f, gb, ldb);
    }
    if (c && c->needs_grad && n->beta != 0) {
        float *gc = xq_onnx_grad(c);
        bc_t bc;

        xq_onnx_broadcast(y, c, &bc);
        BC_LOOP(&bc, gc[ib] += n->beta * y->g[o]);
    }
}

/* MatMul as numpy: [..., n, k] x [..., k, m] with broadcast batch dimensions; 1-D operands
 * promoted. */
typedef struct mm {
    size_t n, k, m, batch;
    size_t ndim, dims[XQ_MAX_DIMS];
    bc_t bc; /* over the batch dimensions: offsets of A's and B's matrices */
} mm_t;

static bool mm_plan(const val_t *a, const val_t *b, mm_t *p) {
    val_t ab = {0}, bb = {0};
    size_t an = a->ndim, bn = b->ndim;

    if (!an || !bn)
        return false;
    p->n = an >= 2 ? a->dims[an - 2] : 1;
    p->k = a->dims[an - 1];
    if ((bn >= 2 ? b->dims[bn - 2] : b->dims[0]) != p->k)
        return false;
    p->m = bn >= 2 ? b->dims[bn - 1] : 1;
    ab.ndim = an > 2 ? an - 2 : 0;
    bb.ndim = bn > 2 ? bn - 2 : 0;
    memcpy(ab.dims, a->dims, ab.ndim * sizeof(size_t));
    memcpy(bb.dims, b->dims, bb.ndim * sizeof(size_t));
    if (!xq_onnx_broadcast(&ab, &bb, &p->bc))
        return false;
    p->batch = p->bc.cnt;
    p->ndim = 0;
    for (size_t d = 0; d < p->bc.ndim; d++)
        p->dims[p->ndim++] = p->bc.dims[d];
    if (an >= 2)
        p->dims[p->ndim++] = p->n;
    if (bn >= 2)
        p->dims[p->ndim++] = p->m;
    return true;
}

static bool fwd_matmul(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *y = OUT(m, n);
    mm_t p;

    if (a->dt != DT_F32 || b->dt != DT_F32 || !mm_plan(a, b, &p))
        return xq_onnx_fail(m, n, "operands do not multiply");
    xq_onnx_shape(y, DT_F32, p.ndim, p.dims);
    BC_LOOP(&p.bc, gemm_rows(false, false, p.n, p.m, p.k, 1.0f, a->f + ia * p.n * p.k, p.k,
                             b->f + ib * p.k * p.m, p.m, 0.0f, y->f + o * p.n * p.m, p.m));
    return true;
}

static void bwd_matmul(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *y = OUT(m, n);
    float *ga = a->needs_grad ? xq_onnx_grad(a) : NULL,
          *gb = b->needs_grad ? xq_onnx_grad(b) : NULL;
    mm_t p;

    mm_plan(a, b, &p);
    BC_LOOP(&p.bc, {
        const float *g = y->g + o * p.n * p.m;
        if (ga) /* dA += dY B^T, row by row */
            gemm_rows(false, true, p.n, p.k, p.m, 1.0f, g, p.m, b->f + ib * p.k * p.m, p.m, 1.0f,
                      ga + ia * p.n * p.k, p.k);
        if (gb) /* dB += A^T dY */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p.k, (int)p.m, (int)p.n, 1.0f,
                        a->f + ia * p.n * p.k, (int)p.k, g, (int)p.m, 1.0f, gb + ib * p.k * p.m,
                        (int)p.m);
    });
}

/* ---- Conv (2-D), via im2col and OpenBLAS ---- */

typedef struct conv {
    size_t N, C, H, W, M, kh, kw, OH, OW, G, Cg, Mg;
} conv_t;

static bool conv_plan(onnx_t *m, node_t *n, const val_t *x, const val_t *w, conv_t *p) {
    long eh, ew;

    if (x->ndim != 4 || w->ndim != 4)
        return xq_onnx_fail(m, n, "only 2-D convolutions ([N, C, H, W]) are supported");
    p->N = x->dims[0];
    p->C = x->dims[1];
    p->H = x->dims[2];
    p->W = x->dims[3];
    p->M = w->dims[0];
    p->kh = w->dims[2];
    p->kw = w->dims[3];
    p->G = (size_t)(n->group > 0 ? n->group : 1);
    if (p->C % p->G || p->M % p->G || w->dims[1] != p->C / p->G)
        return xq_onnx_fail(m, n, "channels %zu, filters %zu and group %zu do not fit", p->C, p->M,
                            p->G);
    p->Cg = p->C / p->G;
    p->Mg = p->M / p->G;
    eh = n->dilations[0] * ((long)p->kh - 1) + 1;
    ew = n->dilations[1] * ((long)p->kw - 1) + 1;
    if ((long)p->H + n->pads[0] + n->pads[2] < eh || (long)p->W + n->pads[1] + n->pads[3] < ew)
        return xq_onnx_fail(m, n, "kernel larger than the padded input");
    p->OH = (size_t)(((long)p->H + n->pads[0] + n->pads[2] - eh) / n->strides[0] + 1);
    p->OW = (size_t)(((long)p->W + n->pads[1] + n->pads[3] - ew) / n->strides[1] + 1);
    return true;
}

/* col[(c, i, j), (oy, ox)] = x[c, oy*s - pad + i*dil, ox*s - pad + j*dil] (0 outside) */
static void im2col(const node_t *n, const conv_t *p, const float *x, float *col) {
    size_t L = p->OH * p->OW;

    for (size_t c = 0; c < p->Cg; c++)
        for (size_t i = 0; i < p->kh; i++)
            for (size_t j = 0; j < p->kw; j++) {
                float *row = col + ((c * p->kh + i) * p->kw + j) * L;

                for (size_t oy = 0; oy < p->OH; oy++) {
                    long iy = (long)oy * n->strides[0] - n->pads[0] + (long)i * n->dilations[0];

                    for (size_t ox = 0; ox < p->OW; ox++) {
                        long ix = (long)ox * n->strides[1] - n->pads[1] + (long)j * n->dilations[1];

                        row[oy * p->OW + ox] =
                            iy >= 0 && iy < (long)p->H && ix >= 0 && ix < (long)p->W
                                ? x[(c * p->H + (size_t)iy) * p->W + (size_t)ix]
                                : 0.0f;
                    }
                }
            }
}

static void col2im(const node_t *n, const conv_t *p, const float *col, float *gx) {
    size_t L = p->OH * p->OW;

    for (size_t c = 0; c < p->Cg; c++)
        for (size_t i = 0; i < p->kh; i++)
            for (size_t j = 0; j < p->kw; j++) {
                const float *row = col + ((c * p->kh + i) * p->kw + j) * L;

                for (size_t oy = 0; oy < p->OH; oy++) {
                    long iy = (long)oy * n->strides[0] - n->pads[0] + (long)i * n->dilations[0];

                    if (iy < 0 || iy >= (long)p->H)
                        continue;
                    for (size_t ox = 0; ox < p->OW; ox++) {
                        long ix = (long)ox * n->strides[1] - n->pads[1] + (long)j * n->dilations[1];

                        if (ix >= 0 && ix < (long)p->W)
                            gx[(c * p->H + (size_t)iy) * p->W + (size_t)ix] += row[oy * p->OW + ox];
                    }
                }
            }
}

static float *conv_col(node_t *n, const conv_t *p) {
    size_t need = p->Cg * p->kh * p->kw * p->OH * p->OW;

    if (need > n->col_cap) {
        xq_free(n->col);
        n->col = xq_malloc(need * sizeof(float));
        n->col_cap = need;
    }
    return n->col;
}

static bool fwd_conv(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *w = IN(m, n, 1), *bias = IN(m, n, 2), *y = OUT(m, n);
    size_t dims[4];
    conv_t p;
    float *col;

    if (!conv_plan(m, n, x, w, &p))
        return false;
    dims[0] = p.N;
    dims[1] = p.M;
    dims[2] = p.OH;
    dims[3] = p.OW;
    xq_onnx_shape(y, DT_F32, 4, dims);
    col = conv_col(n, &p);
    for (size_t b = 0; b < p.N; b++)
        for (size_t g = 0; g < p.G; g++) {
            float *out = y->f + (b * p.M + g * p.Mg) * p.OH * p.OW;

            im2col(n, &p, x->f + (b * p.C + g * p.Cg) * p.H * p.W, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p.Mg, (int)(p.OH * p.OW),
                        (int)(p.Cg * p.kh * p.kw), 1.0f, w->f + g * p.Mg * p.Cg * p.kh * p.kw,
                        (int)(p.Cg * p.kh * p.kw), col, (int)(p.OH * p.OW), 0.0f, out,
                        (int)(p.OH * p.OW));
            for (size_t mo = 0; bias && mo < p.Mg; mo++)
                for (size_t l = 0; l < p.OH * p.OW; l++)
                    out[mo * p.OH * p.OW + l] += bias->f[g * p.Mg + mo];
        }
    return true;
}

static void bwd_conv(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *w = IN(m, n, 1), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x), *col;
    conv_t p;

    conv_plan(m, n, x, w, &p);
    col = conv_col(n, &p);
    for (size_t b = 0; b < p.N; b++)
        for (size_t g = 0; g < p.G; g++) {
            /* dcol = W_g^T dY_g, then scattered back onto the input */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(p.Cg * p.kh * p.kw),
                        (int)(p.OH * p.OW), (int)p.Mg, 1.0f, w->f + g * p.Mg * p.Cg * p.kh * p.kw,
                        (int)(p.Cg * p.kh * p.kw), y->g + (b * p.M + g * p.Mg) * p.OH * p.OW,
                        (int)(p.OH * p.OW), 0.0f, col, (int)(p.OH * p.OW));
            col2im(n, &p, col, gx + (b * p.C + g * p.Cg) * p.H * p.W);
        }
}

/* ---- Pooling ---- */

static bool pool_plan(onnx_t *m, node_t *n, const val_t *x, conv_t *p) {
    if (x->ndim != 4)
        return xq_onnx_fail(m, n, "only 2-D pooling ([N, C, H, W]) is supported");
    p->N = x->dims[0];
    p->C = x->dims[1];
    p->H = x->dims[2];
    p->W = x->dims[3];
    if (n->op == OP_GAP) {
        p->kh = p->H;
        p->kw = p->W;
        p->OH = p->OW = 1;
        return true;
    }
    p->kh = (size_t)n->kernel[0];
    p->kw = (size_t)n->kernel[1];
    if (!p->kh || !p->kw)
        return xq_onnx_fail(m, n, "kernel_shape is required");
    p->OH = (size_t)(((long)p->H + n->pads[0] + n->pads[2] - (long)p->kh) / n->strides[0] + 1);
    p->OW = (size_t)(((long)p->W + n->pads[1] + n->pads[3] - (long)p->kw) / n->strides[1] + 1);
    return true;
}

static bool fwd_pool(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    size_t dims[4];
    conv_t p;

    if (!pool_plan(m, n, x, &p))
        return false;
    dims[0] = p.N;
    dims[1] = p.C;
    dims[2] = p.OH;
    dims[3] = p.OW;
    xq_onnx_shape(y, DT_F32, 4, dims);
    if (n->op == OP_MAXPOOL && y->cnt > n->arg_cap) {
        xq_free(n->arg);
        n->arg = xq_malloc(y->cnt * sizeof(size_t));
        n->arg_cap = y->cnt;
    }
    for (size_t bc = 0; bc < p.N * p.C; bc++)
        for (size_t oy = 0; oy < p.OH; oy++)
            for (size_t ox = 0; ox < p.OW; ox++) {
                size_t o = (bc * p.OH + oy) * p.OW + ox, cnt = 0, best = 0;
                float acc = n->op == OP_MAXPOOL ? -INFINITY : 0;
                long y0 = n->op == OP_GAP ? 0 : (long)oy * n->strides[0] - n->pads[0];
                long x0 = n->op == OP_GAP ? 0 : (long)ox * n->strides[1] - n->pads[1];

                for (size_t i = 0; i < p.kh; i++)
                    for (size_t j = 0; j < p.kw; j++) {
                        long iy = y0 + (long)i, ix = x0 + (long)j;
                        size_t at;

                        if (iy < 0 || iy >= (long)p.H || ix < 0 || ix >= (long)p.W)
                            continue;
                        at = (bc * p.H + (size_t)iy) * p.W + (size_t)ix;
                        cnt++;
                        if (n->op == OP_MAXPOOL) {
                            if (x->f[at] > acc) {
                                acc = x->f[at];
                                best = at;
                            }
                        } else {
                            acc += x->f[at];
                        }
                    }
                if (n->op == OP_MAXPOOL) {
                    n->arg[o] = best;
                } else {
                    size_t div = n->op == OP_AVGPOOL && n->count_include_pad ? p.kh * p.kw : cnt;

                    acc /= (float)(div ? div : 1);
                }
                y->f[o] = acc;
            }
    return true;
}

static void bwd_pool(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);
    conv_t p;

    pool_plan(m, n, x, &p);
    for (size_t bc = 0; bc < p.N * p.C; bc++)
        for (size_t oy = 0; oy < p.OH; oy++)
            for (size_t ox = 0; ox < p.OW; ox++) {
                size_t o = (bc * p.OH + oy) * p.OW + ox, cnt = 0;
                long y0 = n->op == OP_GAP ? 0 : (long)oy * n->strides[0] - n->pads[0];
                long x0 = n->op == OP_GAP ? 0 : (long)ox * n->strides[1] - n->pads[1];

                if (n->op == OP_MAXPOOL) {
                    gx[n->arg[o]] += y->g[o];
                    continue;
                }
                for (int pass = 0; pass < 2; pass++) {
                    for (size_t i = 0; i < p.kh; i++)
                        for (size_t j = 0; j < p.kw; j++) {
                            long iy = y0 + (long)i, ix = x0 + (long)j;

                            if (iy < 0 || iy >= (long)p.H || ix < 0 || ix >= (long)p.W)
                                continue;
                            if (pass == 0) {
                                cnt++;
                            } else {
                                size_t div =
                                    n->op == OP_AVGPOOL && n->count_include_pad ? p.kh * p.kw : cnt;

                                gx[(bc * p.H + (size_t)iy) * p.W + (size_t)ix] +=
                                    y->g[o] / (float)div;
                            }
                        }
                }
            }
}

/* ---- BatchNormalization (inference) ---- */

static bool fwd_batchnorm(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *sc = IN(m, n, 1), *b = IN(m, n, 2), *mu = IN(m, n, 3),
          *var = IN(m, n, 4), *y = OUT(m, n);
    size_t C, inner = 1;

    if (x->ndim < 2 || !sc || !b || !mu || !var)
        return xq_onnx_fail(m, n, "needs X, scale, B, mean and var");
    C = x->dims[1];
    if (sc->cnt != C || b->cnt != C || mu->cnt != C || var->cnt != C)
        return xq_onnx_fail(m, n, "parameters must have %zu channels", C);
    for (size_t d = 2; d < x->ndim; d++)
        inner *= x->dims[d];
    xq_onnx_shape(y, DT_F32, x->ndim, x->dims);
    for (size_t i = 0; i < x->cnt; i++) {
        size_t c = (i / inner) % C;

        y->f[i] = sc->f[c] * (x->f[i] - mu->f[c]) / sqrtf(var->f[c] + n->epsilon) + b->f[c];
    }
    return true;
}

static void bwd_batchnorm(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *sc = IN(m, n, 1), *var = IN(m, n, 4), *y = OUT(m, n);
    size_t C = x->dims[1], inner = 1;
    float *gx = xq_onnx_grad(x);

    for (size_t d = 2; d < x->ndim; d++)
        inner *= x->dims[d];
    for (size_t i = 0; i < x->cnt; i++) {
        size_t c = (i / inner) % C;

        gx[i] += y->g[i] * sc->f[c] / sqrtf(var->f[c] + n->epsilon);
    }
}

/* ---- dispatch ---- */

static bool fwd_constant(onnx_t *m, node_t *n) {
    (void)m;
    (void)n;
    return true; /* its value was set at load time */
}

/* Forward and backward of each operator; no backward: nothing flows back (Shape, Constant). */
static const struct {
    bool (*fwd)(onnx_t *m, node_t *n);
    void (*bwd)(onnx_t *m, node_t *n);
} op_impl[OP_CNT] = {
    [OP_GEMM] = {fwd_gemm, bwd_gemm},
    [OP_MATMUL] = {fwd_matmul, bwd_matmul},
    [OP_ADD] = {fwd_binary, bwd_binary},
    [OP_SUB] = {fwd_binary, bwd_binary},
    [OP_MUL] = {fwd_binary, bwd_binary},
    [OP_DIV] = {fwd_binary, bwd_binary},
    [OP_RELU] = {fwd_unary, bwd_unary},
    [OP_LEAKYRELU] = {fwd_unary, bwd_unary},
    [OP_SIGMOID] = {fwd_unary, bwd_unary},
    [OP_TANH] = {fwd_unary, bwd_unary},
    [OP_SOFTMAX] = {fwd_softmax, bwd_softmax},
    [OP_EXP] = {fwd_unary, bwd_unary},
    [OP_LOG] = {fwd_unary, bwd_unary},
    [OP_CLIP] = {fwd_unary, bwd_unary},
    [OP_IDENTITY] = {fwd_shape_op, bwd_passthrough},
    [OP_CONSTANT] = {fwd_constant, NULL},
    [OP_FLATTEN] = {fwd_shape_op, bwd_passthrough},
    [OP_RESHAPE] = {fwd_shape_op, bwd_passthrough},
    [OP_TRANSPOSE] = {fwd_transpose, bwd_transpose},
    [OP_SQUEEZE] = {fwd_shape_op, bwd_passthrough},
    [OP_UNSQUEEZE] = {fwd_shape_op, bwd_passthrough},
    [OP_CONCAT] = {fwd_concat, bwd_concat},
    [OP_GATHER] = {fwd_gather, bwd_gather},
    [OP_REDUCESUM] = {fwd_reduce, bwd_reduce},
    [OP_REDUCEMEAN] = {fwd_reduce, bwd_reduce},
    [OP_CONV] = {fwd_conv, bwd_conv},
    [OP_MAXPOOL] = {fwd_pool, bwd_pool},
    [OP_AVGPOOL] = {fwd_pool, bwd_pool},
    [OP_GAP] = {fwd_pool, bwd_pool},
    [OP_BATCHNORM] = {fwd_batchnorm, bwd_batchnorm},
    [OP_SHAPE] = {fwd_shape, NULL},
    [OP_DROPOUT] = {fwd_shape_op, bwd_passthrough},
};

static bool forward(onnx_t *m, node_t *n) {
    return n->op == OP_EXT ? n->ext->fwd(m, n) : op_impl[n->op].fwd(m, n);
}

static void backward(onnx_t *m, node_t *n) {
    void (*bwd)(onnx_t *, node_t *) = n->op == OP_EXT ? n->ext->bwd : op_impl[n->op].bwd;

    if (bwd)
        bwd(m, n);
}

/* ==== Loading ==== */

/* A TensorProto into value @p v (float32 or int64). */
static bool load_tensor_bytes(
    onnx_t *m, const Onnx__TensorProto *t, const uint8_t *raw, size_t raw_len, val_t *v) {
    size_t dims[XQ_MAX_DIMS] = {0}, cnt = 1;

    if (t->n_dims > XQ_MAX_DIMS) {
        snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s has more than 8 dimensions", t->name);
        return false;
    }
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0) {
            snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s has a negative dimension", t->name);
            return false;
        }
        dims[d] = (size_t)t->dims[d];
        cnt *= dims[d];
    }
    switch (t->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        xq_onnx_shape(v, DT_F32, t->n_dims, dims);
        if (raw && raw_len == cnt * 4) {
            memcpy(v->f, raw, cnt * 4); /* little-endian, as this machine */
        } else if (t->n_float_data == cnt) {
            memcpy(v->f, t->float_data, cnt * 4);
        } else {
            goto bad;
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        xq_onnx_shape(v, DT_F32, t->n_dims, dims);
        for (size_t i = 0; i < cnt; i++) {
            double d;

            if (raw && raw_len == cnt * 8)
                memcpy(&d, raw + 8 * i, 8);
            else if (t->n_double_data == cnt)
                d = t->double_data[i];
            else
                goto bad;
            v->f[i] = (float)d;
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        xq_onnx_shape(v, DT_I64, t->n_dims, dims);
        if (raw && raw_len == cnt * 8)
            memcpy(v->i, raw, cnt * 8);
        else if (t->n_int64_data == cnt)
            memcpy(v->i, t->int64_data, cnt * 8);
        else
            goto bad;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: /* as int64 0/1, like a Cast's result */
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
        xq_onnx_shape(v, DT_I64, t->n_dims, dims);
        for (size_t i = 0; i < cnt; i++) {
            if (raw && raw_len == cnt)
                v->i[i] = raw[i];
            else if (t->n_int32_data == cnt)
                v->i[i] = t->int32_data[i];
            else
                goto bad;
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        xq_onnx_shape(v, DT_I64, t->n_dims, dims);
        for (size_t i = 0; i < cnt; i++) {
            int32_t x;

            if (raw && raw_len == cnt * 4)
                memcpy(&x, raw + 4 * i, 4);
            else if (t->n_int32_data == cnt)
                x = t->int32_data[i];
            else
                goto bad;
            v->i[i] = x;
        }
        break;
    default:
        snprintf(
            m->errbuf, sizeof(m->errbuf),
            "tensor %s has data type %d; float, double, int32, int64, uint8 and bool are supported",
            t->name ? t->name : "?", t->data_type);
        return false;
    }
    v->is_const = true;
    return true;
bad:
    snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s: data does not match its shape",
             t->name ? t->name : "?");
    return false;
}

/* Largest external data file section one tensor may take. */
#define MAX_EXTERNAL (1ul << 31)

/* Reads a tensor's bytes from its external data file (location, offset, length) into @p b. */
static bool read_external(onnx_t *m, const Onnx__TensorProto *t, xq_buf_t *b) {
    const char *loc = NULL;
    unsigned long long off = 0, len = 0;
    bool has_len = false;
    char path[4096];
    FILE *f;
    int w;

    for (size_t k = 0; k < t->n_external_data; k++) {
        const Onnx__StringStringEntryProto *e = t->external_data[k];

        if (!strcmp(e->key, "location"))
            loc = e->value;
        else if (!strcmp(e->key, "offset"))
            off = strtoull(e->value, NULL, 10);
        else if (!strcmp(e->key, "length")) {
            len = strtoull(e->value, NULL, 10);
            has_len = true;
        }
    }
    if (!m->dir) {
        snprintf(m->errbuf, sizeof(m->errbuf),
                 "tensor %s: its data is in an external file, and the model was not read from "
                 "a file",
                 t->name);
        return false;
    }
    if (!loc || !loc[0] || loc[0] == '/' || strstr(loc, "..")) {
        snprintf(m->errbuf, sizeof(m->errbuf),
                 "tensor %s: external data location must be a file beside the model", t->name);
        return false;
    }
    w = snprintf(path, sizeof(path), "%s/%s", m->dir, loc);
    if (w < 0 || (size_t)w >= sizeof(path) || !(f = fopen(path, "rb"))) {
        snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s: cannot open external data %s", t->name,
                 loc);
        return false;
    }
    if (!has_len && (fseek(f, 0, SEEK_END) != 0 || (len = (unsigned long long)ftell(f)) < off))
        len = 0;
    else if (!has_len)
        len -= off;
    if (len > MAX_EXTERNAL || fseek(f, (long)off, SEEK_SET) != 0) {
        fclose(f);
        snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s: bad external data section", t->name);
        return false;
    }
    xq_buf_reserve(b, (size_t)len);
    b->len = fread(b->data, 1, (size_t)len, f);
    fclose(f);
    if (b->len != len) {
        snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s: external data %s is shorter than said",
                 t->name, loc);
        return false;
    }
    return true;
}

/* A TensorProto into value @p v, its data inline or in an external file. */
static bool load_tensor(onnx_t *m, const Onnx__TensorProto *t, val_t *v) {
    xq_buf_t b;
    bool ok;

    if (!t->has_data_location || t->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return load_tensor_bytes(m, t, t->has_raw_data ? t->raw_data.data : NULL,
                                 t->has_raw_data ? t->raw_data.len : 0, v);
    xq_buf_init(&b);
    ok = read_external(m, t, &b) &&
         load_tensor_bytes(m, t, b.data ? b.data : (const uint8_t *)"", b.len, v);
    xq_buf_fini(&b);
    return ok;
}

static void read_ints(const Onnx__AttributeProto *a, long *dst, size_t *cnt, size_t max) {
    *cnt = a->n_ints < max ? a->n_ints : max;
    for (size_t i = 0; i < *cnt; i++)
        dst[i] = (long)a->ints[i];
}

/* Characters of the list of missing operators, so the advice after it fits an error message. */
#define LIST_BUDGET 158

op_t xq_onnx_lookup_op(const Onnx__NodeProto *np, const xq_onnx_opdef_t **ext) {
    *ext = NULL;
    if (np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx") != 0)
        return OP_CNT;
    for (int op = 0; op < OP_EXT; op++) {
        if (strcmp(np->op_type, op_names[op]) == 0)
            return (op_t)op;
    }
    if (!(*ext = xq_onnx_opdef_ew(np->op_type)) && !(*ext = xq_onnx_opdef_shape(np->op_type)))
        *ext = xq_onnx_opdef_resize(np->op_type);
    return *ext ? OP_EXT : OP_CNT;
}

/*
 * Lists, in m->errbuf, every operator of @p g the interpreter lacks, each with its node count
 * and first node; returns how many operators. Past the buffer: "and N more".
 */
static size_t list_unsupported(onnx_t *m, const Onnx__GraphProto *g) {
    size_t kinds = 0, shown = 0, len;
    const xq_onnx_opdef_t *ext;

    len = (size_t)snprintf(m->errbuf, sizeof(m->errbuf), "explainq's interpreter lacks ");
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *np = g->node[i];
        size_t cnt = 0;
        bool seen = false;
        char item[128];
        int w;

        if (xq_onnx_lookup_op(np, &ext) != OP_CNT)
            continue;
        for (size_t k = 0; k < g->n_node && !seen; k++) {
            if (strcmp(g->node[k]->op_type, np->op_type) == 0 &&
                strcmp(g->node[k]->domain ? g->node[k]->domain : "",
                       np->domain ? np->domain : "") == 0) {
                seen = k < i;
                cnt++;
            }
        }
        if (seen)
            continue;
        kinds++;
        w = snprintf(item, sizeof(item), "%s%s%s%s (%zu node%s: %s%s)", shown ? ", " : "",
                     np->domain && np->domain[0] ? np->domain : "",
                     np->domain && np->domain[0] ? "." : "", np->op_type, cnt,
                     cnt > 1 ? "s, first" : "", np->name && np->name[0] ? np->name : np->output[0],
                     "");
        if (w > 0 && len + (size_t)w + 16 >= LIST_BUDGET) /* no room for the nodes: the name */
            w = snprintf(item, sizeof(item), "%s%s", shown ? ", " : "", np->op_type);
        if (w > 0 && len + (size_t)w + 16 < LIST_BUDGET) {
            memcpy(m->errbuf + len, item, (size_t)w + 1);
            len += (size_t)w;
            shown++;
        }
    }
    if (kinds > shown)
        snprintf(m->errbuf + len, sizeof(m->errbuf) - len, " and %zu more", kinds - shown);
    return kinds;
}

static bool read_node(onnx_t *m, const Onnx__NodeProto *np, node_t *n) {
    const xq_onnx_opdef_t *ext;
    op_t op = xq_onnx_lookup_op(np, &ext);
    size_t cnt;

    n->name = xq_strdup(np->name && np->name[0] ? np->name : np->output[0]);
    if (op == OP_CNT) {
        snprintf(m->errbuf, sizeof(m->errbuf), "unsupported operator %s (node %s)", np->op_type,
                 n->name);
        return false;
    }
    n->ext = ext;
    n->op = (op_t)op;
    if (np->n_input > MAX_IO || np->n_output < 1) {
        snprintf(m->errbuf, sizeof(m->errbuf), "node %s has too many inputs", n->name);
        return false;
    }
    n->in_cnt = np->n_input;
    for (size_t i = 0; i < np->n_input; i++)
        n->in[i] = np->input[i][0] ? add_val(m, np->input[i]) : -1;
    /* extra outputs (Dropout's mask, BatchNorm's stats) are not computed; Split's are */
    n->out_cnt = ext && !strcmp(ext->name, "Split") ? np->n_output : 1;
    if (n->out_cnt > MAX_IO) {
        snprintf(m->errbuf, sizeof(m->errbuf), "node %s has more than %d outputs", n->name, MAX_IO);
        return false;
    }
    for (size_t k = 0; k < n->out_cnt; k++)
        n->out[k] = add_val(m, np->output[k]);
    /* defaults of the attributes */
    n->axis = n->op == OP_CONCAT || n->op == OP_GATHER ? 0 : 1;
    n->keepdims = 1;
    n->alpha = n->op == OP_LEAKYRELU ? 0.01f : 1.0f;
    n->beta = 1.0f;
    if (ext) {
        n->alpha = ext->alpha;
        n->beta = ext->beta;
        n->axis = ext->axis;
    }
    n->strides[0] = n->strides[1] = 1;
    n->dilations[0] = n->dilations[1] = 1;
    n->group = 1;
    n->epsilon = 1e-5f;
    n->clip_min = -INFINITY;
    n->clip_max = INFINITY;
    for (size_t k = 0; k < np->n_attribute; k++) {
        const Onnx__AttributeProto *a = np->attribute[k];
        const char *an = a->name;

        if (!strcmp(an, "axis")) {
            n->axis = (long)a->i;
            n->has_axis = true;
        } else if (!strcmp(an, "keepdims")) {
            n->keepdims = (long)a->i;
        } else if (!strcmp(an, "noop_with_empty_axes") || !strcmp(an, "allowzero")) {
            n->noop_empty = (long)a->i;
        } else if (!strcmp(an, "alpha")) {
            n->alpha = a->f;
        } else if (!strcmp(an, "beta")) {
            n->beta = a->f;
        } else if (!strcmp(an, "transA")) {
            n->trans_a = (long)a->i;
        } else if (!strcmp(an, "transB")) {
            n->trans_b = (long)a->i;
        } else if (!strcmp(an, "perm")) {
            read_ints(a, n->perm, &n->perm_cnt, XQ_MAX_DIMS);
        } else if (!strcmp(an, "axes")) {
            read_ints(a, n->axes, &n->axes_cnt, XQ_MAX_DIMS);
            n->has_axes = true;
        } else if (!strcmp(an, "kernel_shape")) {
            read_ints(a, n->kernel, &cnt, 2);
        } else if (!strcmp(an, "strides")) {
            read_ints(a, n->strides, &cnt, 2);
        } else if (!strcmp(an, "dilations")) {
            read_ints(a, n->dilations, &cnt, 2);
        } else if (!strcmp(an, "pads")) {
            read_ints(a, n->pads, &cnt, 4);
        } else if (!strcmp(an, "group")) {
            n->group = (long)a->i;
        } else if (!strcmp(an, "count_include_pad")) {
            n->count_include_pad = (long)a->i;
        } else if (!strcmp(an, "epsilon")) {
            n->epsilon = a->f;
        } else if (!strcmp(an, "min")) {
            n->clip_min = a->f;
        } else if (!strcmp(an, "max")) {
            n->clip_max = a->f;
        } else if (!strcmp(an, "auto_pad")) {
            if (a->s.len && strncmp((const char *)a->s.data, "NOTSET", a->s.len) &&
                strncmp((const char *)a->s.data, "VALID", a->s.len)) {
                snprintf(m->errbuf, sizeof(m->errbuf),
                         "node %s: auto_pad %.*s is not supported; export with explicit pads",
                         n->name, (int)a->s.len, (const char *)a->s.data);
                return false;
            }
        } else if (!strcmp(an, "to")) {
            n->to = (long)a->i;
        } else if (!strcmp(an, "fmod")) {
            n->mode = (long)a->i; /* Mod: 1 for C's fmod */
        } else if (!strcmp(an, "approximate")) {
            n->mode = a->s.len == 4 && !memcmp(a->s.data, "tanh", 4);
        } else if (!strcmp(an, "split")) {
            read_ints(a, n->axes, &n->axes_cnt, XQ_MAX_DIMS); /* Split before opset 13 */
            n->has_axes = true;
        } else if (!strcmp(an, "coordinate_transformation_mode")) {
            static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                               "asymmetric"};

            n->ctm = 4;
            for (int c = 0; c < 4; c++) {
                if (a->s.len == strlen(ctms[c]) && !memcmp(a->s.data, ctms[c], a->s.len))
                    n->ctm = c;
            }
        } else if (!strcmp(an, "nearest_mode")) {
            static const char *const modes[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                                "ceil"};

            for (int c = 0; c < 4; c++) {
                if (a->s.len == strlen(modes[c]) && !memcmp(a->s.data, modes[c], a->s.len))
                    n->nearest = c;
            }
        } else if (!strcmp(an, "antialias") && a->i) {
            snprintf(m->errbuf, sizeof(m->errbuf), "node %s: antialias is not supported", n->name);
            return false;
        } else if (!strcmp(an, "mode") && a->s.len) {
            n->mode = (long)a->s.data[0]; /* Pad: 'c'onstant, 'r'eflect, 'e'dge, 'w'rap */
        } else if (n->op == OP_EXT && !strcmp(an, "value") && a->t) {
            val_t tmp = {0}; /* ConstantOfShape: a one-element tensor */

            if (!load_tensor(m, a->t, &tmp))
                return false;
            n->value = tmp.cnt != 1 ? 0 : tmp.dt == DT_F32 ? tmp.f[0] : (float)tmp.i[0];
            n->to = tmp.dt == DT_F32 ? 1 : 7;
            xq_free(tmp.f);
            xq_free(tmp.i);
        } else if (n->op == OP_CONSTANT) {
            val_t *v = &m->vals[n->out[0]];

            if (!strcmp(an, "value") && a->t) {
                if (!load_tensor(m, a->t, v))
                    return false;
            } else if (!strcmp(an, "value_float") || !strcmp(an, "value_floats")) {
                size_t one = a->n_floats, nd = !strcmp(an, "value_floats");

                xq_onnx_shape(v, DT_F32, nd, &one);
                if (nd)
                    memcpy(v->f, a->floats, one * sizeof(float));
                else
                    v->f[0] = a->f;
            } else if (!strcmp(an, "value_int") || !strcmp(an, "value_ints")) {
                size_t one = a->n_ints, nd = !strcmp(an, "value_ints");

                xq_onnx_shape(v, DT_I64, nd, &one);
                if (nd)
                    memcpy(v->i, a->ints, one * sizeof(int64_t));
                else
                    v->i[0] = a->i;
            } else {
                snprintf(m->errbuf, sizeof(m->errbuf), "Constant %s: attribute %s is not supported",
                         n->name, an);
                return false;
            }
            v->is_const = true;
        }
    }
    if (n->op == OP_CONV && !n->kernel[0]) {
        /* kernel_shape may be left to the weights */
        n->kernel[0] = -1;
    }
    return true;
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
        for (size_t o = 1; o < n->out_cnt; o++)
            m->vals[n->out[o]].needs_grad = y->needs_grad;
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
        if (!forward(m, n))
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
    v->needs_grad = want_grad && v->dt == DT_F32;
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
                backward(m, n);
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
    for (size_t r = 0, step = m->fixed_batch ? 1 : rows; r < rows && rc == XQ_OK; r += step) {
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
        int v = add_val(m, g->initializer[i]->name);

        if (!load_tensor(m, g->initializer[i], &m->vals[v])) {
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
        v = add_val(m, vi->name);
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
    if (list_unsupported(m, g)) {
        xq_error_set(err, XQ_EMODEL, "model",
                     "%s; Sampled Shapley works (onnxruntime runs it), or serve it from your "
                     "own runner for gradients",
                     m->errbuf);
        goto out;
    }
    m->nodes = xq_calloc(g->n_node + 1, sizeof(*m->nodes));
    for (size_t i = 0; i < g->n_node; i++) {
        if (!read_node(m, g->node[i], &m->nodes[m->node_cnt++])) {
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
    if (m->fixed_batch)
        xq_model_set_max_rows(*out, 1);
    m = NULL; /* owned by the model now */
    rc = XQ_OK;
out:
    free_model(m);
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
    return rc;
}
