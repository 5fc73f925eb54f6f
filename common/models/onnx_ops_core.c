/* onnx_ops_core.c -- the interpreter's first operators, forward and backward: elementwise, shapes,
 * transposes, concatenation, gathers, reductions, softmax. */
#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "models/onnx_int.h"

/* ==== Operators: forward and backward ==== */

bool xq_onnx_fail(onnx_t *m, const node_t *n, const char *fmt, ...) {
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(m->errbuf, sizeof(m->errbuf), "%s node %s: %s",
             n->op == OP_EXT ? n->ext->name : xq_onnx_op_name(n->op), n->name ? n->name : "?", msg);
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

bool xq_onnx_fwd_binary(onnx_t *m, node_t *n) {
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

void xq_onnx_bwd_binary(onnx_t *m, node_t *n) {
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

bool xq_onnx_fwd_unary(onnx_t *m, node_t *n) {
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

void xq_onnx_bwd_unary(onnx_t *m, node_t *n) {
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

void xq_onnx_bwd_passthrough(onnx_t *m, node_t *n) {
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

bool xq_onnx_fwd_shape_op(onnx_t *m, node_t *n) {
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

            /* a batch-of-1 export's constant leading 1, in a pass of many rows: the rows */
            if (d == 0 && v == 1 && m->rebatch && x->batched && x->ndim >= 1 &&
                x->dims[0] == m->pass_rows)
                v = (int64_t)m->pass_rows;
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

bool xq_onnx_fwd_shape(onnx_t *m, node_t *n) {
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

bool xq_onnx_fwd_transpose(onnx_t *m, node_t *n) {
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

void xq_onnx_bwd_transpose(onnx_t *m, node_t *n) {
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

bool xq_onnx_fwd_concat(onnx_t *m, node_t *n) {
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
    axis_blocks(dims, x0->ndim, (size_t)ax, &outer, &inner);
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

void xq_onnx_bwd_concat(onnx_t *m, node_t *n) {
    val_t *x0 = IN(m, n, 0), *y = OUT(m, n);
    long ax = norm_axis(n->axis, x0->ndim);
    size_t outer = 1, inner = 1, off = 0;

    axis_blocks(y->dims, y->ndim, (size_t)ax, &outer, &inner);
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

bool xq_onnx_fwd_gather(onnx_t *m, node_t *n) {
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

void xq_onnx_bwd_gather(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *ix = IN(m, n, 1), *y = OUT(m, n);
    long ax = norm_axis(n->axis, x->ndim);
    size_t outer = 1, inner = 1, nidx = ix->cnt;
    float *gx = xq_onnx_grad(x);

    axis_blocks(x->dims, x->ndim, (size_t)ax, &outer, &inner);
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

bool xq_onnx_fwd_reduce(onnx_t *m, node_t *n) {
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

void xq_onnx_bwd_reduce(onnx_t *m, node_t *n) {
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

bool xq_onnx_fwd_softmax(onnx_t *m, node_t *n) {
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

void xq_onnx_bwd_softmax(onnx_t *m, node_t *n) {
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
