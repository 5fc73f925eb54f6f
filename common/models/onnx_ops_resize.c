/* onnx_ops_resize.c -- the interpreter's Resize: nearest and (multi)linear, opsets 10 to 19. */
#include <math.h>
#include <string.h>

#include "mem.h"
#include "models/onnx_int.h"

/* coordinate_transformation_mode and nearest_mode, as node_t.ctm and node_t.nearest hold them */
enum {
    CTM_HALF_PIXEL,
    CTM_PYTORCH_HALF_PIXEL,
    CTM_ALIGN_CORNERS,
    CTM_ASYMMETRIC,
    CTM_OTHER
};

enum {
    NEAREST_ROUND_PREFER_FLOOR,
    NEAREST_ROUND_PREFER_CEIL,
    NEAREST_FLOOR,
    NEAREST_CEIL
};

/* Per output axis: the input coordinates i0, i1 and the weight w of i1 (1 - w of i0). */
typedef struct axis_map {
    size_t *i0, *i1;
    float *w;
} axis_map_t;

typedef struct plan {
    size_t ndim, dims[XQ_MAX_DIMS];
    axis_map_t ax[XQ_MAX_DIMS];
} plan_t;

static void plan_free(plan_t *p) {
    for (size_t d = 0; d < p->ndim; d++) {
        xq_free(p->ax[d].i0);
        xq_free(p->ax[d].i1);
        xq_free(p->ax[d].w);
    }
}

static double source(const node_t *n, size_t o, size_t in, size_t out, double scale) {
    switch (n->ctm) {
    case CTM_PYTORCH_HALF_PIXEL:
        return out > 1 ? ((double)o + 0.5) / scale - 0.5 : 0;
    case CTM_ALIGN_CORNERS:
        return out == 1 ? 0 : (double)o * (double)(in - 1) / (double)(out - 1);
    case CTM_ASYMMETRIC:
        return (double)o / scale;
    default:
        return ((double)o + 0.5) / scale - 0.5;
    }
}

static size_t nearest(const node_t *n, double x, size_t in) {
    double f = floor(x), r;

    switch (n->nearest) {
    case NEAREST_FLOOR:
        r = f;
        break;
    case NEAREST_CEIL:
        r = ceil(x);
        break;
    case NEAREST_ROUND_PREFER_CEIL:
        r = x - f == 0.5 ? f + 1 : round(x);
        break;
    default:
        r = x - f == 0.5 ? f : round(x);
        break;
    }
    return r < 0 ? 0 : r > (double)(in - 1) ? in - 1 : (size_t)r;
}

static bool resize_plan(onnx_t *m, node_t *n, const val_t *x, plan_t *p) {
    val_t *sc = IN(m, n, n->in_cnt == 2 ? 1 : 2), *sz = IN(m, n, 3);
    long mode = n->mode ? n->mode : 'n';
    bool linear = mode == 'l';

    memset(p, 0, sizeof(*p));
    if (n->in_cnt == 2) { /* Upsample and Resize-10: no such attributes, these semantics */
        n->ctm = CTM_ASYMMETRIC;
        n->nearest = NEAREST_FLOOR;
    }
    if (mode != 'n' && !linear)
        return xq_onnx_fail(m, n, "mode must be nearest or linear (cubic is not supported)");
    if (n->ctm == CTM_OTHER)
        return xq_onnx_fail(m, n, "that coordinate_transformation_mode is not supported");
    if (n->has_axis || n->has_axes)
        return xq_onnx_fail(m, n, "the axes attribute is not supported; resize every axis");
    if (sz && sz->cnt && (sz->dt != DT_I64 || sz->cnt != x->ndim))
        return xq_onnx_fail(m, n, "sizes must be int64, one per axis");
    if (!(sz && sz->cnt) && (!sc || sc->dt != DT_F32 || sc->cnt != x->ndim))
        return xq_onnx_fail(m, n, "needs scales (float, one per axis) or sizes");
    p->ndim = x->ndim;
    for (size_t d = 0; d < x->ndim; d++) {
        size_t in = x->dims[d], out;
        double scale;

        if (sz && sz->cnt) {
            out = sz->i[d] < 0 ? 0 : (size_t)sz->i[d];
            scale = in ? (double)out / (double)in : 1;
        } else {
            scale = (double)sc->f[d];
            out = (size_t)floor((double)in * scale);
        }
        if (!in || !out || scale <= 0)
            return xq_onnx_fail(m, n, "axis %zu would be empty", d);
        p->dims[d] = out;
        p->ax[d].i0 = xq_malloc(out * sizeof(size_t));
        p->ax[d].i1 = xq_malloc(out * sizeof(size_t));
        p->ax[d].w = xq_malloc(out * sizeof(float));
        for (size_t o = 0; o < out; o++) {
            double s = source(n, o, in, out, scale);

            if (!linear) {
                p->ax[d].i0[o] = p->ax[d].i1[o] = nearest(n, s, in);
                p->ax[d].w[o] = 0;
                continue;
            }
            s = s < 0 ? 0 : s > (double)(in - 1) ? (double)(in - 1) : s;
            p->ax[d].i0[o] = (size_t)floor(s);
            p->ax[d].i1[o] = p->ax[d].i0[o] + 1 < in ? p->ax[d].i0[o] + 1 : in - 1;
            p->ax[d].w[o] = (float)(s - floor(s));
        }
    }
    return true;
}

/*
 * For output element o: every corner (a choice of i0 or i1 per axis) with a weight that is
 * not zero; body sees src (the input element) and wt (its weight).
 */
#define RESIZE_LOOP(x, p, cnt, ...)                                               \
    do {                                                                          \
        size_t ctr_[XQ_MAX_DIMS] = {0}, xs_[XQ_MAX_DIMS], s_ = 1;                 \
        for (size_t d_ = (x)->ndim; d_-- > 0;) {                                  \
            xs_[d_] = s_;                                                         \
            s_ *= (x)->dims[d_];                                                  \
        }                                                                         \
        for (size_t o = 0; o < (cnt); o++) {                                      \
            for (size_t c_ = 0; c_ < ((size_t)1 << (x)->ndim); c_++) {            \
                size_t src = 0;                                                   \
                float wt = 1;                                                     \
                for (size_t d_ = 0; d_ < (x)->ndim && wt != 0; d_++) {            \
                    const axis_map_t *a_ = &(p)->ax[d_];                          \
                    bool hi_ = (c_ >> d_) & 1;                                    \
                    wt *= hi_ ? a_->w[ctr_[d_]] : 1 - a_->w[ctr_[d_]];            \
                    src += (hi_ ? a_->i1[ctr_[d_]] : a_->i0[ctr_[d_]]) * xs_[d_]; \
                }                                                                 \
                if (wt == 0)                                                      \
                    continue;                                                     \
                __VA_ARGS__;                                                      \
            }                                                                     \
            for (size_t d_ = (x)->ndim; d_-- > 0;) {                              \
                if (++ctr_[d_] < (p)->dims[d_])                                   \
                    break;                                                        \
                ctr_[d_] = 0;                                                     \
            }                                                                     \
        }                                                                         \
    } while (0)

static bool fwd_resize(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    plan_t p;

    if (!x || x->dt != DT_F32)
        return xq_onnx_fail(m, n, "needs a float input");
    if (!resize_plan(m, n, x, &p)) {
        plan_free(&p);
        return false;
    }
    xq_onnx_shape(y, DT_F32, p.ndim, p.dims);
    memset(y->f, 0, y->cnt * sizeof(float));
    RESIZE_LOOP(x, &p, y->cnt, y->f[o] += wt * x->f[src]);
    plan_free(&p);
    return true;
}

static void bwd_resize(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);
    plan_t p;

    if (resize_plan(m, n, x, &p))
        RESIZE_LOOP(x, &p, y->cnt, gx[src] += wt * y->g[o]);
    plan_free(&p);
}

static const xq_onnx_opdef_t resize_ops[] = {
    {"Resize", fwd_resize, bwd_resize, 1, 1, 0},
    {"Upsample", fwd_resize, bwd_resize, 1, 1, 0}, /* opset 9: X and scales */
};

const xq_onnx_opdef_t *xq_onnx_opdef_resize(const char *op_type) {
    for (size_t i = 0; i < sizeof(resize_ops) / sizeof(resize_ops[0]); i++) {
        if (!strcmp(resize_ops[i].name, op_type))
            return &resize_ops[i];
    }
    return NULL;
}
