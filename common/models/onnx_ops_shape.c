/* onnx_ops_shape.c -- the interpreter's shape, indexing and normalization operators. */
#include <math.h>
#include <string.h>

#include "models/onnx_int.h"

/* Row-major strides of @p dims. */
static void strides(const size_t *dims, size_t nd, size_t *st) {
    size_t s = 1;

    for (size_t d = nd; d-- > 0;) {
        st[d] = s;
        s *= dims[d];
    }
}

/* Steps multi-index @p ctr through @p dims (rank @p nd). */
static void next_index(size_t *ctr, const size_t *dims, size_t nd) {
    for (size_t d = nd; d-- > 0;) {
        if (++ctr[d] < dims[d])
            return;
        ctr[d] = 0;
    }
}

/* Reads the int64 input @p k (at most @p max values) into @p out; false when absent or not int. */
static bool ints_of(onnx_t *m, node_t *n, size_t k, long *out, size_t *cnt, size_t max) {
    val_t *v = IN(m, n, k);

    if (!v || v->dt != DT_I64 || v->cnt > max)
        return false;
    for (size_t i = 0; i < v->cnt; i++)
        out[i] = (long)v->i[i];
    *cnt = v->cnt;
    return true;
}

/* ---- Slice: y[i] = x[start + i * step] per axis ---- */

typedef struct slice {
    long start[XQ_MAX_DIMS], step[XQ_MAX_DIMS];
    size_t dims[XQ_MAX_DIMS];
} slice_t;

static long clampl(long v, long lo, long hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

static bool slice_plan(onnx_t *m, node_t *n, const val_t *x, slice_t *p) {
    long st[XQ_MAX_DIMS], en[XQ_MAX_DIMS], ax[XQ_MAX_DIMS], sp[XQ_MAX_DIMS];
    size_t ns, ne, na, nsp;

    if (!ints_of(m, n, 1, st, &ns, XQ_MAX_DIMS) || !ints_of(m, n, 2, en, &ne, XQ_MAX_DIMS) ||
        ns != ne)
        return xq_onnx_fail(m, n, "starts and ends must be int64 inputs of one length");
    if (!IN(m, n, 3)) {
        for (size_t i = 0; i < ns; i++)
            ax[i] = (long)i;
    } else if (!ints_of(m, n, 3, ax, &na, XQ_MAX_DIMS) || na != ns) {
        return xq_onnx_fail(m, n, "axes must be int64, one per start");
    }
    if (!IN(m, n, 4)) {
        for (size_t i = 0; i < ns; i++)
            sp[i] = 1;
    } else if (!ints_of(m, n, 4, sp, &nsp, XQ_MAX_DIMS) || nsp != ns) {
        return xq_onnx_fail(m, n, "steps must be int64, one per start");
    }
    for (size_t d = 0; d < x->ndim; d++) {
        p->start[d] = 0;
        p->step[d] = 1;
        p->dims[d] = x->dims[d];
    }
    for (size_t i = 0; i < ns; i++) {
        long a = norm_axis(ax[i], x->ndim), dim, s, e, cnt;

        if (a < 0 || a >= (long)x->ndim || sp[i] == 0)
            return xq_onnx_fail(m, n, "axis %ld or step %ld is invalid", ax[i], sp[i]);
        dim = (long)x->dims[a];
        s = st[i] < 0 ? st[i] + dim : st[i];
        e = en[i] < 0 ? en[i] + dim : en[i];
        if (sp[i] > 0) {
            s = clampl(s, 0, dim);
            e = clampl(e, 0, dim);
            cnt = e > s ? (e - s + sp[i] - 1) / sp[i] : 0;
        } else {
            s = clampl(s, 0, dim - 1);
            e = clampl(e, -1, dim - 1);
            cnt = s > e ? (s - e - sp[i] - 1) / -sp[i] : 0;
        }
        p->start[a] = s;
        p->step[a] = sp[i];
        p->dims[a] = (size_t)cnt;
    }
    return true;
}

/* Calls body with the output element o and its source element src. */
#define SLICE_LOOP(x, p, cnt, ...)                                                          \
    do {                                                                                    \
        size_t ctr_[XQ_MAX_DIMS] = {0}, xs_[XQ_MAX_DIMS];                                   \
        strides((x)->dims, (x)->ndim, xs_);                                                 \
        for (size_t o = 0; o < (cnt); o++) {                                                \
            size_t src = 0;                                                                 \
            for (size_t d_ = 0; d_ < (x)->ndim; d_++)                                       \
                src += (size_t)((p)->start[d_] + (long)ctr_[d_] * (p)->step[d_]) * xs_[d_]; \
            __VA_ARGS__;                                                                    \
            next_index(ctr_, (p)->dims, (x)->ndim);                                         \
        }                                                                                   \
    } while (0)

static bool fwd_slice(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    slice_t p;

    if (!x || !slice_plan(m, n, x, &p))
        return x ? false : xq_onnx_fail(m, n, "needs an input");
    xq_onnx_shape(y, x->dt, x->ndim, p.dims);
    if (x->dt == DT_F32)
        SLICE_LOOP(x, &p, y->cnt, y->f[o] = x->f[src]);
    else
        SLICE_LOOP(x, &p, y->cnt, y->i[o] = x->i[src]);
    return true;
}

static void bwd_slice(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);
    slice_t p;

    slice_plan(m, n, x, &p);
    SLICE_LOOP(x, &p, y->cnt, gx[src] += y->g[o]);
}

/* ---- Expand and Tile ---- */

static bool fwd_expand(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n), shp = {0};
    long want[XQ_MAX_DIMS];
    size_t cnt;
    bc_t bc;

    if (!x || !ints_of(m, n, 1, want, &cnt, XQ_MAX_DIMS))
        return xq_onnx_fail(m, n, "needs an input and an int64 shape");
    shp.ndim = cnt;
    for (size_t d = 0; d < cnt; d++)
        shp.dims[d] = want[d] < 1 ? 1 : (size_t)want[d];
    if (!xq_onnx_broadcast(x, &shp, &bc))
        return xq_onnx_fail(m, n, "the input does not broadcast to the shape");
    xq_onnx_shape(y, x->dt, bc.ndim, bc.dims);
    if (x->dt == DT_F32)
        BC_LOOP(&bc, y->f[o] = x->f[ia]);
    else
        BC_LOOP(&bc, y->i[o] = x->i[ia]);
    return true;
}

static void bwd_expand(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n), shp = {0};
    float *gx = xq_onnx_grad(x);
    bc_t bc;

    shp.ndim = y->ndim;
    memcpy(shp.dims, y->dims, y->ndim * sizeof(size_t));
    xq_onnx_broadcast(x, &shp, &bc);
    BC_LOOP(&bc, gx[ia] += y->g[o]);
}

/* Calls body with output element o and source element src of Tile. */
#define TILE_LOOP(x, y, ...)                                 \
    do {                                                     \
        size_t ctr_[XQ_MAX_DIMS] = {0}, xs_[XQ_MAX_DIMS];    \
        strides((x)->dims, (x)->ndim, xs_);                  \
        for (size_t o = 0; o < (y)->cnt; o++) {              \
            size_t src = 0;                                  \
            for (size_t d_ = 0; d_ < (x)->ndim; d_++)        \
                src += (ctr_[d_] % (x)->dims[d_]) * xs_[d_]; \
            __VA_ARGS__;                                     \
            next_index(ctr_, (y)->dims, (y)->ndim);          \
        }                                                    \
    } while (0)

static bool fwd_tile(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    long rep[XQ_MAX_DIMS];
    size_t cnt, dims[XQ_MAX_DIMS];

    if (!x || !ints_of(m, n, 1, rep, &cnt, XQ_MAX_DIMS) || cnt != x->ndim)
        return xq_onnx_fail(m, n, "needs an input and one int64 repeat per dimension");
    for (size_t d = 0; d < cnt; d++)
        dims[d] = x->dims[d] * (size_t)(rep[d] < 0 ? 0 : rep[d]);
    xq_onnx_shape(y, x->dt, x->ndim, dims);
    if (x->dt == DT_F32)
        TILE_LOOP(x, y, y->f[o] = x->f[src]);
    else
        TILE_LOOP(x, y, y->i[o] = x->i[src]);
    return true;
}

static void bwd_tile(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);

    TILE_LOOP(x, y, gx[src] += y->g[o]);
}

/* ---- Range and ConstantOfShape: constants computed from shapes ---- */

static double scalar(const val_t *v) {
    return v->dt == DT_F32 ? (double)v->f[0] : (double)v->i[0];
}

static bool fwd_range(onnx_t *m, node_t *n) {
    val_t *s = IN(m, n, 0), *l = IN(m, n, 1), *d = IN(m, n, 2), *y = OUT(m, n);
    double start, delta;
    size_t cnt;

    if (!s || !l || !d || !s->cnt || !l->cnt || !d->cnt || scalar(d) == 0)
        return xq_onnx_fail(m, n, "needs scalar start, limit and a non-zero delta");
    start = scalar(s);
    delta = scalar(d);
    cnt = (size_t)fmax(ceil((scalar(l) - start) / delta), 0);
    if (cnt > (1u << 24))
        return xq_onnx_fail(m, n, "%zu elements is too many", cnt);
    xq_onnx_shape(y, s->dt, 1, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (s->dt == DT_F32)
            y->f[i] = (float)(start + (double)i * delta);
        else
            y->i[i] = (int64_t)(start + (double)i * delta);
    }
    return true;
}

static bool fwd_constant_of_shape(onnx_t *m, node_t *n) {
    val_t *y = OUT(m, n);
    long want[XQ_MAX_DIMS];
    size_t cnt, dims[XQ_MAX_DIMS], total = 1;

    if (!ints_of(m, n, 0, want, &cnt, XQ_MAX_DIMS))
        return xq_onnx_fail(m, n, "needs an int64 shape");
    for (size_t d = 0; d < cnt; d++) {
        dims[d] = want[d] < 0 ? 0 : (size_t)want[d];
        total *= dims[d];
    }
    if (total > (1u << 26))
        return xq_onnx_fail(m, n, "%zu elements is too many", total);
    xq_onnx_shape(y, n->to == 7 ? DT_I64 : DT_F32, cnt, dims);
    for (size_t i = 0; i < y->cnt; i++) {
        if (y->dt == DT_F32)
            y->f[i] = n->value;
        else
            y->i[i] = (int64_t)n->value;
    }
    return true;
}

/* ---- GatherElements: y[i] = x[i with axis coordinate idx[i]] ---- */

#define GE_LOOP(x, idx, axis, ...)                                       \
    do {                                                                 \
        size_t ctr_[XQ_MAX_DIMS] = {0}, xs_[XQ_MAX_DIMS];                \
        strides((x)->dims, (x)->ndim, xs_);                              \
        for (size_t o = 0; o < (idx)->cnt; o++) {                        \
            size_t src = 0;                                              \
            int64_t k_ = (idx)->i[o];                                    \
            if (k_ < 0)                                                  \
                k_ += (int64_t)(x)->dims[axis];                          \
            for (size_t d_ = 0; d_ < (x)->ndim; d_++)                    \
                src += (d_ == (axis) ? (size_t)k_ : ctr_[d_]) * xs_[d_]; \
            __VA_ARGS__;                                                 \
            next_index(ctr_, (idx)->dims, (idx)->ndim);                  \
        }                                                                \
    } while (0)

static bool fwd_gather_elements(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *idx = IN(m, n, 1), *y = OUT(m, n);
    long a = x ? norm_axis(n->axis, x->ndim) : -1;

    if (!x || !idx || idx->dt != DT_I64 || idx->ndim != x->ndim || a < 0 || a >= (long)x->ndim)
        return xq_onnx_fail(m, n, "needs data, int64 indices of its rank and a valid axis");
    for (size_t i = 0; i < idx->cnt; i++) {
        if (idx->i[i] < -(int64_t)x->dims[a] || idx->i[i] >= (int64_t)x->dims[a])
            return xq_onnx_fail(m, n, "index %lld is out of range", (long long)idx->i[i]);
    }
    for (size_t d = 0; d < x->ndim; d++) {
        if (d != (size_t)a && idx->dims[d] > x->dims[d])
            return xq_onnx_fail(m, n, "indices are larger than the data");
    }
    xq_onnx_shape(y, x->dt, idx->ndim, idx->dims);
    if (x->dt == DT_F32)
        GE_LOOP(x, idx, (size_t)a, y->f[o] = x->f[src]);
    else
        GE_LOOP(x, idx, (size_t)a, y->i[o] = x->i[src]);
    return true;
}

static void bwd_gather_elements(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *idx = IN(m, n, 1), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);
    size_t a = (size_t)norm_axis(n->axis, x->ndim);

    GE_LOOP(x, idx, a, gx[src] += y->g[o]);
}

/* ---- ReduceMax: the gradient goes to the first maximum ---- */

static bool fwd_reduce_max(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    size_t dims[XQ_MAX_DIMS], nd;
    bool red[XQ_MAX_DIMS];
    bc_t bc;

    if (!x || x->dt != DT_F32 || !x->cnt)
        return xq_onnx_fail(m, n, "needs a non-empty float input");
    if (!xq_onnx_reduce_plan(m, n, x, dims, &nd, red))
        return false;
    xq_onnx_shape(y, DT_F32, nd, dims);
    for (size_t i = 0; i < y->cnt; i++)
        y->f[i] = -INFINITY;
    xq_onnx_reduce_walk(x, red, &bc);
    BC_LOOP(&bc, y->f[ib] = x->f[ia] > y->f[ib] ? x->f[ia] : y->f[ib]);
    return true;
}

static void bwd_reduce_max(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);
    size_t dims[XQ_MAX_DIMS], nd;
    bool red[XQ_MAX_DIMS];
    size_t *done = xq_onnx_scratch(n, y->cnt);
    bc_t bc;

    xq_onnx_reduce_plan(m, n, x, dims, &nd, red);
    xq_onnx_reduce_walk(x, red, &bc);
    BC_LOOP(&bc, {
        if (!done[ib] && x->f[ia] == y->f[ib]) {
            gx[ia] += y->g[ib];
            done[ib] = 1;
        }
    });
}

/* ---- LayerNormalization over the axes from axis on ---- */

static bool ln_plan(onnx_t *m, node_t *n, const val_t *x, size_t *outer, size_t *inner) {
    long a = norm_axis(n->axis, x->ndim);

    if (a < 0 || a >= (long)x->ndim)
        return xq_onnx_fail(m, n, "axis %ld is out of range", n->axis);
    *outer = 1;
    *inner = 1;
    for (size_t d = 0; d < x->ndim; d++)
        *((long)d < a ? outer : inner) *= x->dims[d];
    return true;
}

/* The scale (or bias) element for normalized element j, broadcast over the inner block. */
static float ln_param(const val_t *p, size_t j, float dflt) {
    return !p ? dflt : p->cnt == 1 ? p->f[0] : p->f[j % p->cnt];
}

static bool fwd_layer_norm(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *s = IN(m, n, 1), *b = IN(m, n, 2), *y = OUT(m, n);
    size_t outer, inner;

    if (!x || x->dt != DT_F32 || (s && s->dt != DT_F32) || (b && b->dt != DT_F32))
        return xq_onnx_fail(m, n, "needs float input, scale and bias");
    if (!ln_plan(m, n, x, &outer, &inner))
        return false;
    xq_onnx_shape(y, DT_F32, x->ndim, x->dims);
    for (size_t r = 0; r < outer; r++) {
        const float *xr = x->f + r * inner;
        double mean = 0, var = 0;
        float inv;

        for (size_t j = 0; j < inner; j++)
            mean += (double)xr[j];
        mean /= (double)inner;
        for (size_t j = 0; j < inner; j++)
            var += ((double)xr[j] - mean) * ((double)xr[j] - mean);
        inv = (float)(1 / sqrt(var / (double)inner + (double)n->epsilon));
        for (size_t j = 0; j < inner; j++)
            y->f[r * inner + j] =
                ((xr[j] - (float)mean) * inv) * ln_param(s, j, 1) + ln_param(b, j, 0);
    }
    return true;
}

static void bwd_layer_norm(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *s = IN(m, n, 1), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);
    size_t outer, inner;

    ln_plan(m, n, x, &outer, &inner);
    for (size_t r = 0; r < outer; r++) {
        const float *xr = x->f + r * inner, *gy = y->g + r * inner;
        double mean = 0, var = 0, mg = 0, mgx = 0;
        double inv;

        for (size_t j = 0; j < inner; j++)
            mean += (double)xr[j];
        mean /= (double)inner;
        for (size_t j = 0; j < inner; j++)
            var += ((double)xr[j] - mean) * ((double)xr[j] - mean);
        inv = 1 / sqrt(var / (double)inner + (double)n->epsilon);
        /* with g = dy * scale and h = normalized x: dx = inv (g - mean(g) - h mean(g h)) */
        for (size_t j = 0; j < inner; j++) {
            double g = (double)gy[j] * (double)ln_param(s, j, 1), h = ((double)xr[j] - mean) * inv;

            mg += g;
            mgx += g * h;
        }
        mg /= (double)inner;
        mgx /= (double)inner;
        for (size_t j = 0; j < inner; j++) {
            double g = (double)gy[j] * (double)ln_param(s, j, 1), h = ((double)xr[j] - mean) * inv;

            gx[r * inner + j] += (float)(inv * (g - mg - h * mgx));
        }
    }
}

/* ---- Split along an axis into the node's outputs ---- */

static bool split_plan(onnx_t *m, node_t *n, const val_t *x, size_t *parts) {
    long a = norm_axis(n->axis, x->ndim), sp[MAX_IO];
    size_t cnt = 0, total = 0;

    if (a < 0 || a >= (long)x->ndim)
        return xq_onnx_fail(m, n, "axis %ld is out of range", n->axis);
    if (IN(m, n, 1)) {
        if (!ints_of(m, n, 1, sp, &cnt, MAX_IO))
            return xq_onnx_fail(m, n, "split must be int64, one per output");
    } else if (n->has_axes) {
        cnt = n->axes_cnt; /* the split attribute of opsets before 13 */
        for (size_t i = 0; i < cnt; i++)
            sp[i] = n->axes[i];
    } else {
        size_t dim = x->dims[a], each = (dim + n->out_cnt - 1) / n->out_cnt;

        cnt = n->out_cnt; /* equal parts, the last one smaller (num_outputs) */
        for (size_t i = 0; i < cnt; i++)
            sp[i] = (long)(dim > i * each ? (dim - i * each < each ? dim - i * each : each) : 0);
    }
    if (cnt != n->out_cnt)
        return xq_onnx_fail(m, n, "%zu splits for %zu outputs", cnt, n->out_cnt);
    for (size_t i = 0; i < cnt; i++) {
        parts[i] = sp[i] < 0 ? 0 : (size_t)sp[i];
        total += parts[i];
    }
    if (total != x->dims[a])
        return xq_onnx_fail(m, n, "splits add up to %zu, not %zu", total, x->dims[a]);
    return true;
}

/* outer x (part x inner) blocks: copies output k's block of each outer row */
static bool fwd_split(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0);
    size_t parts[MAX_IO], outer = 1, inner = 1, a, off = 0;

    if (!x || !split_plan(m, n, x, parts))
        return x ? false : xq_onnx_fail(m, n, "needs an input");
    a = (size_t)norm_axis(n->axis, x->ndim);
    axis_blocks(x->dims, x->ndim, a, &outer, &inner);
    for (size_t k = 0; k < n->out_cnt; k++) {
        val_t *y = &m->vals[n->out[k]];
        size_t dims[XQ_MAX_DIMS], es = x->dt == DT_F32 ? sizeof(float) : sizeof(int64_t);
        char *dst, *src = x->dt == DT_F32 ? (char *)x->f : (char *)x->i;

        memcpy(dims, x->dims, x->ndim * sizeof(size_t));
        dims[a] = parts[k];
        xq_onnx_shape(y, x->dt, x->ndim, dims);
        dst = x->dt == DT_F32 ? (char *)y->f : (char *)y->i;
        for (size_t r = 0; r < outer; r++)
            memcpy(dst + r * parts[k] * inner * es, src + (r * x->dims[a] + off) * inner * es,
                   parts[k] * inner * es);
        off += parts[k];
    }
    return true;
}

static void bwd_split(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0);
    size_t parts[MAX_IO], outer = 1, inner = 1, a, off = 0;
    float *gx = xq_onnx_grad(x);

    split_plan(m, n, x, parts);
    a = (size_t)norm_axis(n->axis, x->ndim);
    axis_blocks(x->dims, x->ndim, a, &outer, &inner);
    for (size_t k = 0; k < n->out_cnt; k++) {
        val_t *y = &m->vals[n->out[k]];

        for (size_t r = 0; y->has_g && r < outer; r++) {
            for (size_t j = 0; j < parts[k] * inner; j++)
                gx[(r * x->dims[a] + off) * inner + j] += y->g[r * parts[k] * inner + j];
        }
        off += parts[k];
    }
}

/* ---- Pad: constant, edge, reflect or wrap ---- */

typedef struct pad {
    long begin[XQ_MAX_DIMS];
    size_t dims[XQ_MAX_DIMS];
} pad_t;

static bool pad_plan(onnx_t *m, node_t *n, const val_t *x, pad_t *p) {
    long pads[2 * XQ_MAX_DIMS], axes[XQ_MAX_DIMS];
    size_t np, na = x->ndim;

    if (!ints_of(m, n, 1, pads, &np, 2 * XQ_MAX_DIMS))
        return xq_onnx_fail(m, n, "pads must be an int64 input (opset 11+)");
    if (IN(m, n, 3)) {
        if (!ints_of(m, n, 3, axes, &na, XQ_MAX_DIMS))
            return xq_onnx_fail(m, n, "axes must be int64");
    } else {
        for (size_t d = 0; d < x->ndim; d++)
            axes[d] = (long)d;
    }
    if (np != 2 * na)
        return xq_onnx_fail(m, n, "%zu pads for %zu axes", np, na);
    for (size_t d = 0; d < x->ndim; d++) {
        p->begin[d] = 0;
        p->dims[d] = x->dims[d];
    }
    for (size_t k = 0; k < na; k++) {
        long a = norm_axis(axes[k], x->ndim), size;

        if (a < 0 || a >= (long)x->ndim)
            return xq_onnx_fail(m, n, "axis %ld is out of range", axes[k]);
        size = (long)x->dims[a] + pads[k] + pads[k + na];
        if (size < 0 || (x->dims[a] == 0 && size > 0))
            return xq_onnx_fail(m, n, "pads leave axis %ld with %ld elements", a, size);
        p->begin[a] = pads[k];
        p->dims[a] = (size_t)size;
    }
    return true;
}

/* The source coordinate of output coordinate @p i on an axis of @p dim, or -1 (the constant). */
static long pad_source(long i, long begin, long dim, long mode) {
    long j = i - begin;

    if (j >= 0 && j < dim)
        return j;
    switch (mode) {
    case 'e':
        return j < 0 ? 0 : dim - 1;
    case 'w':
        return ((j % dim) + dim) % dim;
    case 'r':
        if (dim == 1)
            return 0;
        j = ((j % (2 * dim - 2)) + 2 * dim - 2) % (2 * dim - 2);
        return j < dim ? j : 2 * dim - 2 - j;
    default:
        return -1;
    }
}

/* Calls body with output element o and its source src (-1: the constant value). */
#define PAD_LOOP(x, p, mode, cnt, ...)                                                           \
    do {                                                                                         \
        size_t ctr_[XQ_MAX_DIMS] = {0}, xs_[XQ_MAX_DIMS];                                        \
        strides((x)->dims, (x)->ndim, xs_);                                                      \
        for (size_t o = 0; o < (cnt); o++) {                                                     \
            long src = 0;                                                                        \
            for (size_t d_ = 0; d_ < (x)->ndim && src >= 0; d_++) {                              \
                long j_ = pad_source((long)ctr_[d_], (p)->begin[d_], (long)(x)->dims[d_], mode); \
                src = j_ < 0 ? -1 : src + j_ * (long)xs_[d_];                                    \
            }                                                                                    \
            __VA_ARGS__;                                                                         \
            next_index(ctr_, (p)->dims, (x)->ndim);                                              \
        }                                                                                        \
    } while (0)

static bool fwd_pad(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *cv = IN(m, n, 2), *y = OUT(m, n);
    long mode = n->mode ? n->mode : 'c';
    double c = cv && cv->cnt ? scalar(cv) : 0;
    pad_t p;

    if (!x || !pad_plan(m, n, x, &p))
        return x ? false : xq_onnx_fail(m, n, "needs an input");
    if (mode != 'c' && mode != 'e' && mode != 'r' && mode != 'w')
        return xq_onnx_fail(m, n, "mode must be constant, edge, reflect or wrap");
    xq_onnx_shape(y, x->dt, x->ndim, p.dims);
    if (x->dt == DT_F32)
        PAD_LOOP(x, &p, mode, y->cnt, y->f[o] = src < 0 ? (float)c : x->f[src]);
    else
        PAD_LOOP(x, &p, mode, y->cnt, y->i[o] = src < 0 ? (int64_t)c : x->i[src]);
    return true;
}

static void bwd_pad(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);
    long mode = n->mode ? n->mode : 'c';
    pad_t p;

    pad_plan(m, n, x, &p);
    PAD_LOOP(x, &p, mode, y->cnt, {
        if (src >= 0)
            gx[src] += y->g[o];
    });
}

/* ---- the table ---- */

static const xq_onnx_opdef_t shape_ops[] = {
    {"Slice", fwd_slice, bwd_slice, 1, 1, 0},
    {"Expand", fwd_expand, bwd_expand, 1, 1, 0},
    {"Tile", fwd_tile, bwd_tile, 1, 1, 0},
    {"Range", fwd_range, NULL, 1, 1, 0},
    {"ConstantOfShape", fwd_constant_of_shape, NULL, 1, 1, 0},
    {"GatherElements", fwd_gather_elements, bwd_gather_elements, 1, 1, 0},
    {"ReduceMax", fwd_reduce_max, bwd_reduce_max, 1, 1, 0},
    {"LayerNormalization", fwd_layer_norm, bwd_layer_norm, 1, 1, -1},
    {"Split", fwd_split, bwd_split, 1, 1, 0},
    {"Pad", fwd_pad, bwd_pad, 1, 1, 0},
};

const xq_onnx_opdef_t *xq_onnx_opdef_shape(const char *op_type) {
    for (size_t i = 0; i < sizeof(shape_ops) / sizeof(shape_ops[0]); i++) {
        if (!strcmp(shape_ops[i].name, op_type))
            return &shape_ops[i];
    }
    return NULL;
}
