/* onnx_ops_ew.c -- elementwise operators of the interpreter: activations, Pow, Cast, logic. */
#include <math.h>
#include <string.h>

#include "models/onnx_int.h"

/* ---- unary float activations: y = f(x), dy/dx = d(x, y) ---- */

static float gelu(float x, bool tanh_form) {
    if (tanh_form)
        return 0.5f * x * (1 + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
    return 0.5f * x * (1 + erff(x * 0.70710678118f));
}

static float gelu_d(float x, bool tanh_form) {
    if (tanh_form) {
        float u = 0.7978845608f * (x + 0.044715f * x * x * x), t = tanhf(u);

        return 0.5f * (1 + t) + 0.5f * x * (1 - t * t) * 0.7978845608f * (1 + 0.134145f * x * x);
    }
    return 0.5f * (1 + erff(x * 0.70710678118f)) + x * expf(-0.5f * x * x) * 0.3989422804f;
}

static float unary_f(const node_t *n, float x) {
    const char *op = n->ext->name;
    float t;

    switch (op[0]) {
    case 'E': /* Erf */
        return erff(x);
    case 'G': /* Gelu */
        return gelu(x, n->mode == 1);
    case 'N': /* Neg */
        return -x;
    case 'S':
        if (op[1] == 'q') /* Sqrt */
            return sqrtf(x);
        return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)); /* Softplus */
    default:
        if (!strcmp(op, "HardSigmoid")) {
            t = n->alpha * x + n->beta;
            return t < 0 ? 0 : t > 1 ? 1 : t;
        }
        t = x / 6 + 0.5f; /* HardSwish */
        return x * (t < 0 ? 0 : t > 1 ? 1 : t);
    }
}

static float unary_d(const node_t *n, float x, float y) {
    const char *op = n->ext->name;
    float t;

    switch (op[0]) {
    case 'E':
        return 1.1283791671f * expf(-x * x);
    case 'G':
        return gelu_d(x, n->mode == 1);
    case 'N':
        return -1;
    case 'S':
        if (op[1] == 'q')
            return 0.5f / y;
        return 1 / (1 + expf(-x));
    default:
        if (!strcmp(op, "HardSigmoid")) {
            t = n->alpha * x + n->beta;
            return t > 0 && t < 1 ? n->alpha : 0;
        }
        return x < -3 ? 0 : x > 3 ? 1 : x / 3 + 0.5f;
    }
}

static bool fwd_act(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);

    if (!x || x->dt != DT_F32)
        return xq_onnx_fail(m, n, "needs a float input");
    xq_onnx_shape(y, DT_F32, x->ndim, x->dims);
    for (size_t i = 0; i < x->cnt; i++)
        y->f[i] = unary_f(n, x->f[i]);
    return true;
}

static void bwd_act(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x);

    for (size_t i = 0; i < x->cnt; i++)
        gx[i] += y->g[i] * unary_d(n, x->f[i], y->f[i]);
}

/* ---- Cast and Not ---- */

#define ONNX_FLOAT   1
#define ONNX_FLOAT16 10
#define ONNX_DOUBLE  11
#define ONNX_BFLOAT  16
#define ONNX_BOOL    9

static bool fwd_cast(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);
    bool to_float = n->to == ONNX_FLOAT || n->to == ONNX_DOUBLE || n->to == ONNX_FLOAT16 ||
                    n->to == ONNX_BFLOAT;

    if (!x)
        return xq_onnx_fail(m, n, "needs an input");
    if (!to_float && n->to != ONNX_BOOL && (n->to < 2 || n->to > 13))
        return xq_onnx_fail(m, n, "casting to data type %ld is not supported", n->to);
    xq_onnx_shape(y, to_float ? DT_F32 : DT_I64, x->ndim, x->dims);
    for (size_t i = 0; i < x->cnt; i++) {
        if (to_float)
            y->f[i] = x->dt == DT_F32 ? x->f[i] : (float)x->i[i];
        else if (n->to == ONNX_BOOL)
            y->i[i] = x->dt == DT_F32 ? x->f[i] != 0 : x->i[i] != 0;
        else
            y->i[i] = x->dt == DT_F32 ? (int64_t)x->f[i] : x->i[i];
    }
    return true;
}

static void bwd_cast(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);

    if (x->dt != DT_F32 || y->dt != DT_F32)
        return; /* through an integer: nothing flows */
    float *gx = xq_onnx_grad(x);

    for (size_t i = 0; i < x->cnt; i++)
        gx[i] += y->g[i];
}

static bool fwd_not(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *y = OUT(m, n);

    if (!x || x->dt != DT_I64)
        return xq_onnx_fail(m, n, "needs a bool input");
    xq_onnx_shape(y, DT_I64, x->ndim, x->dims);
    for (size_t i = 0; i < x->cnt; i++)
        y->i[i] = !x->i[i];
    return true;
}

/* ---- Pow and Equal: broadcasting binary ---- */

static double num(const val_t *v, size_t i) {
    return v->dt == DT_F32 ? (double)v->f[i] : (double)v->i[i];
}

static bool fwd_pow(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *y = OUT(m, n);
    bc_t bc;

    if (!a || !b || a->dt != DT_F32 || !xq_onnx_broadcast(a, b, &bc))
        return xq_onnx_fail(m, n, "needs a float base and a broadcastable exponent");
    xq_onnx_shape(y, DT_F32, bc.ndim, bc.dims);
    BC_LOOP(&bc, y->f[o] = powf(a->f[ia], (float)num(b, ib)));
    return true;
}

static void bwd_pow(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *y = OUT(m, n);
    float *ga = a->needs_grad ? xq_onnx_grad(a) : NULL;
    float *gb = b->dt == DT_F32 && b->needs_grad ? xq_onnx_grad(b) : NULL;
    bc_t bc;

    xq_onnx_broadcast(a, b, &bc);
    BC_LOOP(&bc, {
        float p = a->f[ia], q = (float)num(b, ib);

        if (ga)
            ga[ia] += y->g[o] * (q == 0 ? 0 : q * powf(p, q - 1));
        if (gb && p > 0)
            gb[ib] += y->g[o] * y->f[o] * logf(p);
    });
}

static bool fwd_equal(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *y = OUT(m, n);
    bc_t bc;

    if (!a || !b || !xq_onnx_broadcast(a, b, &bc))
        return xq_onnx_fail(m, n, "inputs do not broadcast");
    xq_onnx_shape(y, DT_I64, bc.ndim, bc.dims);
    BC_LOOP(&bc, y->i[o] = num(a, ia) == num(b, ib));
    return true;
}

/* ---- Mod: integer (Python's sign) or fmod (C's) ---- */

static double mod_quot(double a, double b, bool c_fmod) {
    return c_fmod ? trunc(a / b) : floor(a / b);
}

static bool fwd_mod(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *y = OUT(m, n);
    bool c_fmod = n->mode == 1;
    bc_t bc;

    if (!a || !b || a->dt != b->dt || !xq_onnx_broadcast(a, b, &bc))
        return xq_onnx_fail(m, n, "needs two inputs of one type that broadcast");
    xq_onnx_shape(y, a->dt, bc.ndim, bc.dims);
    if (a->dt == DT_I64) {
        BC_LOOP(&bc, {
            int64_t p = a->i[ia], q = b->i[ib], r = q ? p % q : 0;

            if (!c_fmod && r && (r < 0) != (q < 0))
                r += q;
            y->i[o] = r;
        });
        return true;
    }
    BC_LOOP(&bc, {
        double p = (double)a->f[ia], q = (double)b->f[ib];

        y->f[o] = (float)(p - q * mod_quot(p, q, c_fmod));
    });
    return true;
}

static void bwd_mod(onnx_t *m, node_t *n) {
    val_t *a = IN(m, n, 0), *b = IN(m, n, 1), *y = OUT(m, n);
    float *ga = a->needs_grad ? xq_onnx_grad(a) : NULL,
          *gb = b->needs_grad ? xq_onnx_grad(b) : NULL;
    bc_t bc;

    if (y->dt != DT_F32)
        return;
    xq_onnx_broadcast(a, b, &bc);
    BC_LOOP(&bc, {
        if (ga)
            ga[ia] += y->g[o];
        if (gb)
            gb[ib] -= y->g[o] * (float)mod_quot((double)a->f[ia], (double)b->f[ib], n->mode == 1);
    });
}

/* ---- Where: three-way broadcasting ---- */

/* The flat index into @p v (right-aligned, broadcast) of output position @p ctr of rank @p nd. */
static size_t bc_index(const val_t *v, size_t nd, const size_t *ctr) {
    size_t idx = 0;

    for (size_t d = 0; d < v->ndim; d++) {
        size_t od = d + nd - v->ndim;

        idx = idx * v->dims[d] + (v->dims[d] == 1 ? 0 : ctr[od]);
    }
    return idx;
}

static bool where_shape(const val_t *const v[3], size_t *nd, size_t *dims) {
    *nd = 0;
    for (size_t k = 0; k < 3; k++)
        *nd = v[k]->ndim > *nd ? v[k]->ndim : *nd;
    for (size_t d = 0; d < *nd; d++) {
        dims[d] = 1;
        for (size_t k = 0; k < 3; k++) {
            size_t vd = d + v[k]->ndim >= *nd ? v[k]->dims[d + v[k]->ndim - *nd] : 1;

            if (vd != 1 && dims[d] != 1 && vd != dims[d])
                return false;
            dims[d] = vd != 1 ? vd : dims[d];
        }
    }
    return true;
}

/* Calls body for each output element o with the inputs' indices i0 i1 i2. */
#define WHERE_LOOP(v, nd, dims, cnt, ...)                                            \
    do {                                                                             \
        size_t ctr_[XQ_MAX_DIMS] = {0};                                              \
        for (size_t o = 0; o < (cnt); o++) {                                         \
            size_t i0 = bc_index((v)[0], nd, ctr_), i1 = bc_index((v)[1], nd, ctr_); \
            size_t i2 = bc_index((v)[2], nd, ctr_);                                  \
            __VA_ARGS__;                                                             \
            for (size_t d_ = (nd); d_-- > 0;) {                                      \
                if (++ctr_[d_] < (dims)[d_])                                         \
                    break;                                                           \
                ctr_[d_] = 0;                                                        \
            }                                                                        \
        }                                                                            \
    } while (0)

static bool fwd_where(onnx_t *m, node_t *n) {
    val_t *c = IN(m, n, 0), *a = IN(m, n, 1), *b = IN(m, n, 2), *y = OUT(m, n);
    size_t dims[XQ_MAX_DIMS], nd;

    if (!c || !a || !b || c->dt != DT_I64 || a->dt != b->dt)
        return xq_onnx_fail(m, n, "needs a bool condition and two inputs of one type");
    if (!where_shape((const val_t *const[3]){c, a, b}, &nd, dims))
        return xq_onnx_fail(m, n, "inputs do not broadcast");
    xq_onnx_shape(y, a->dt, nd, dims);
    if (a->dt == DT_F32)
        WHERE_LOOP(((const val_t *const[3]){c, a, b}), nd, dims, y->cnt,
                   y->f[o] = c->i[i0] ? a->f[i1] : b->f[i2]);
    else
        WHERE_LOOP(((const val_t *const[3]){c, a, b}), nd, dims, y->cnt,
                   y->i[o] = c->i[i0] ? a->i[i1] : b->i[i2]);
    return true;
}

static void bwd_where(onnx_t *m, node_t *n) {
    val_t *c = IN(m, n, 0), *a = IN(m, n, 1), *b = IN(m, n, 2), *y = OUT(m, n);
    float *ga = a->needs_grad ? xq_onnx_grad(a) : NULL,
          *gb = b->needs_grad ? xq_onnx_grad(b) : NULL;

    if (y->dt != DT_F32)
        return;
    WHERE_LOOP(((const val_t *const[3]){c, a, b}), y->ndim, y->dims, y->cnt, {
        if (c->i[i0] && ga)
            ga[i1] += y->g[o];
        else if (!c->i[i0] && gb)
            gb[i2] += y->g[o];
    });
}

/* ---- the table ---- */

static const xq_onnx_opdef_t ew_ops[] = {
    {"Erf", fwd_act, bwd_act, 1, 1, 1},       {"Gelu", fwd_act, bwd_act, 1, 1, 1},
    {"Neg", fwd_act, bwd_act, 1, 1, 1},       {"Sqrt", fwd_act, bwd_act, 1, 1, 1},
    {"Softplus", fwd_act, bwd_act, 1, 1, 1},  {"HardSigmoid", fwd_act, bwd_act, 0.2f, 0.5f, 1},
    {"HardSwish", fwd_act, bwd_act, 1, 1, 1}, {"Cast", fwd_cast, bwd_cast, 1, 1, 1},
    {"Not", fwd_not, NULL, 1, 1, 1},          {"Pow", fwd_pow, bwd_pow, 1, 1, 1},
    {"Equal", fwd_equal, NULL, 1, 1, 1},      {"Where", fwd_where, bwd_where, 1, 1, 1},
    {"Mod", fwd_mod, bwd_mod, 1, 1, 1},
};

const xq_onnx_opdef_t *xq_onnx_opdef_ew(const char *op_type) {
    for (size_t i = 0; i < sizeof(ew_ops) / sizeof(ew_ops[0]); i++) {
        if (!strcmp(ew_ops[i].name, op_type))
            return &ew_ops[i];
    }
    return NULL;
}
