/* onnx_int.h -- the ONNX interpreter's internals, shared by onnx.c and the operator files
 * (onnx_ops_*.c); not an interface for anything else. */
#ifndef XQ_MODELS_ONNX_INT_H
#define XQ_MODELS_ONNX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* ==== Values and nodes ==== */

typedef enum dt {
    DT_F32 = 0,
    DT_I64 = 1,
} dt_t;

typedef struct val {
    char *name;
    dt_t dt;
    size_t ndim;
    size_t dims[XQ_MAX_DIMS];
    size_t cnt;
    float *f;   /* DT_F32 data */
    int64_t *i; /* DT_I64 data */
    size_t cap; /* elements allocated in f or i */
    float *g;   /* gradient, cnt floats, while has_g */
    size_t gcap;
    bool is_const;   /* an initializer or a Constant's output: the same for every batch */
    bool fed;        /* set from the batch this pass */
    bool needs_grad; /* depends on a fed float tensor this pass */
    bool batched;    /* depends on a fed tensor this pass (not through Shape): rows first */
    bool has_g;
} val_t;

/*
 * The core operators, one line each: X(enum suffix, ONNX name, forward, backward). It makes
 * op_t here, the names in onnx.c and the dispatch table in onnx_ops_linalg.c (where the
 * static forwards and backwards it names live). A NULL backward: nothing flows back.
 */
#define XQ_ONNX_CORE_OPS(X)                                                  \
    X(GEMM, "Gemm", fwd_gemm, bwd_gemm)                                      \
    X(MATMUL, "MatMul", fwd_matmul, bwd_matmul)                              \
    X(ADD, "Add", xq_onnx_fwd_binary, xq_onnx_bwd_binary)                    \
    X(SUB, "Sub", xq_onnx_fwd_binary, xq_onnx_bwd_binary)                    \
    X(MUL, "Mul", xq_onnx_fwd_binary, xq_onnx_bwd_binary)                    \
    X(DIV, "Div", xq_onnx_fwd_binary, xq_onnx_bwd_binary)                    \
    X(RELU, "Relu", xq_onnx_fwd_unary, xq_onnx_bwd_unary)                    \
    X(LEAKYRELU, "LeakyRelu", xq_onnx_fwd_unary, xq_onnx_bwd_unary)          \
    X(SIGMOID, "Sigmoid", xq_onnx_fwd_unary, xq_onnx_bwd_unary)              \
    X(TANH, "Tanh", xq_onnx_fwd_unary, xq_onnx_bwd_unary)                    \
    X(SOFTMAX, "Softmax", xq_onnx_fwd_softmax, xq_onnx_bwd_softmax)          \
    X(EXP, "Exp", xq_onnx_fwd_unary, xq_onnx_bwd_unary)                      \
    X(LOG, "Log", xq_onnx_fwd_unary, xq_onnx_bwd_unary)                      \
    X(CLIP, "Clip", xq_onnx_fwd_unary, xq_onnx_bwd_unary)                    \
    X(IDENTITY, "Identity", xq_onnx_fwd_shape_op, xq_onnx_bwd_passthrough)   \
    X(CONSTANT, "Constant", fwd_constant, NULL)                              \
    X(FLATTEN, "Flatten", xq_onnx_fwd_shape_op, xq_onnx_bwd_passthrough)     \
    X(RESHAPE, "Reshape", xq_onnx_fwd_shape_op, xq_onnx_bwd_passthrough)     \
    X(TRANSPOSE, "Transpose", xq_onnx_fwd_transpose, xq_onnx_bwd_transpose)  \
    X(SQUEEZE, "Squeeze", xq_onnx_fwd_shape_op, xq_onnx_bwd_passthrough)     \
    X(UNSQUEEZE, "Unsqueeze", xq_onnx_fwd_shape_op, xq_onnx_bwd_passthrough) \
    X(CONCAT, "Concat", xq_onnx_fwd_concat, xq_onnx_bwd_concat)              \
    X(GATHER, "Gather", xq_onnx_fwd_gather, xq_onnx_bwd_gather)              \
    X(REDUCESUM, "ReduceSum", xq_onnx_fwd_reduce, xq_onnx_bwd_reduce)        \
    X(REDUCEMEAN, "ReduceMean", xq_onnx_fwd_reduce, xq_onnx_bwd_reduce)      \
    X(CONV, "Conv", fwd_conv, bwd_conv)                                      \
    X(MAXPOOL, "MaxPool", fwd_pool, bwd_pool)                                \
    X(AVGPOOL, "AveragePool", fwd_pool, bwd_pool)                            \
    X(GAP, "GlobalAveragePool", fwd_pool, bwd_pool)                          \
    X(BATCHNORM, "BatchNormalization", fwd_batchnorm, bwd_batchnorm)         \
    X(SHAPE, "Shape", xq_onnx_fwd_shape, NULL)                               \
    X(DROPOUT, "Dropout", xq_onnx_fwd_shape_op, xq_onnx_bwd_passthrough)

typedef enum op {
#define XQ_ONNX_OP_ENUM(e, name, fwd, bwd) OP_##e,
    XQ_ONNX_CORE_OPS(XQ_ONNX_OP_ENUM)
#undef XQ_ONNX_OP_ENUM
    OP_EXT, /* an operator of an onnx_ops_*.c table: node_t.ext */
    OP_CNT
} op_t;

#define MAX_IO 8

typedef struct node {
    op_t op;
    char *name;
    int in[MAX_IO]; /* value indices; -1 for an omitted optional input */
    size_t in_cnt;
    int out[MAX_IO];
    size_t out_cnt;
    /* attributes (the ones the operators above use) */
    long axis;
    bool has_axis;
    long keepdims;
    long noop_empty;
    float alpha, beta;
    long trans_a, trans_b;
    long perm[XQ_MAX_DIMS];
    size_t perm_cnt;
    long axes[XQ_MAX_DIMS];
    size_t axes_cnt;
    bool has_axes;
    long kernel[2], strides[2], pads[4], dilations[2];
    long group;
    long count_include_pad;
    float epsilon;
    float clip_min, clip_max;
    const struct xq_onnx_opdef *ext; /* OP_EXT: the operator's definition */
    long to;                         /* Cast: the ONNX data type */
    long mode;                       /* Gelu: 1 for approximate="tanh"; Pad: its first letter */
    float value;                     /* ConstantOfShape: the fill value (type in to) */
    int ctm, nearest;                /* Resize: coordinate_transformation_mode, nearest_mode */
    bool skip;                       /* its output is fed this pass */
    size_t *arg;                     /* MaxPool: the input index each output came from */
    size_t arg_cap;
    float *col; /* Conv: im2col scratch */
    size_t col_cap;
    float *pack[2]; /* Conv: its weights packed for the GEMM, forward and backward */
    size_t pack_cap[2];
    const float *pack_of[2]; /* the weights packed, while constant (NULL: pack again) */
} node_t;

typedef struct onnx {
    val_t *vals;
    size_t val_cnt, val_cap;
    node_t *nodes;
    size_t node_cnt;
    int *inputs; /* graph inputs that are not initializers */
    size_t input_cnt;
    int output;
    long opset;
    xq_tensor_desc_t *in_desc;
    xq_tensor_desc_t out_desc;
    xq_tensor_desc_t *enc_desc;
    size_t enc_cnt;
    size_t row_bytes; /* activations of one row (every batch-shaped value) */
    const char *dir;  /* while loading: the model file's directory (external data), or NULL */
    bool fixed_batch; /* the graph was exported with a batch of 1 ... */
    bool rebatch;     /* ... and runs many rows per pass all the same (onnx.c: rebatch_ok) */
    size_t pass_rows; /* rows of the pass running */
    char errbuf[256];
} onnx_t;

typedef struct bc {
    size_t ndim, dims[XQ_MAX_DIMS], sa[XQ_MAX_DIMS], sb[XQ_MAX_DIMS], cnt;
} bc_t;

/* Walks the broadcast output: calls body(o, ia, ib) for every output element. */
#define BC_LOOP(bc, ...)                                \
    do {                                                \
        size_t ctr_[XQ_MAX_DIMS] = {0}, ia = 0, ib = 0; \
        for (size_t o = 0; o < (bc)->cnt; o++) {        \
            (void)ia; /* not every body reads both */   \
            (void)ib;                                   \
            __VA_ARGS__;                                \
            for (size_t d_ = (bc)->ndim; d_-- > 0;) {   \
                ia += (bc)->sa[d_];                     \
                ib += (bc)->sb[d_];                     \
                if (++ctr_[d_] < (bc)->dims[d_])        \
                    break;                              \
                ia -= (bc)->sa[d_] * (bc)->dims[d_];    \
                ib -= (bc)->sb[d_] * (bc)->dims[d_];    \
                ctr_[d_] = 0;                           \
            }                                           \
        }                                               \
    } while (0)

/* An operator defined in an onnx_ops_*.c file: its forward, its backward (NULL: nothing
 * flows back) and the defaults of the attributes it reads. */
typedef struct xq_onnx_opdef {
    const char *name;
    bool (*fwd)(onnx_t *m, node_t *n);
    void (*bwd)(onnx_t *m, node_t *n);
    float alpha, beta; /* defaults of attributes alpha and beta */
    long axis;         /* default of attribute axis */
} xq_onnx_opdef_t;

/** The operator named @p op_type (domain ai.onnx) of onnx_ops_ew.c's table, or NULL. */
const xq_onnx_opdef_t *xq_onnx_opdef_ew(const char *op_type);
/** The same for onnx_ops_shape.c's table. */
const xq_onnx_opdef_t *xq_onnx_opdef_shape(const char *op_type);
/** The same for onnx_ops_resize.c's table. */
const xq_onnx_opdef_t *xq_onnx_opdef_resize(const char *op_type);

static inline val_t *IN(onnx_t *m, const node_t *n, size_t k) {
    return k < n->in_cnt && n->in[k] >= 0 ? &m->vals[n->in[k]] : NULL;
}

static inline val_t *OUT(onnx_t *m, const node_t *n) {
    return &m->vals[n->out[0]];
}

/* Normalizes a possibly negative axis against rank @p r. */
static inline long norm_axis(long a, size_t r) {
    return a < 0 ? a + (long)r : a;
}

/* A row-major tensor seen as outer x dims[a] x inner around axis @p a: the two products. */
static inline void
axis_blocks(const size_t *dims, size_t ndim, size_t a, size_t *outer, size_t *inner) {
    *outer = *inner = 1;
    for (size_t d = 0; d < ndim; d++) {
        if (d < a)
            *outer *= dims[d];
        else if (d > a)
            *inner *= dims[d];
    }
}

/** Floats of xq_onnx_gemm_pack()'s copy of an M x K matrix. */
size_t xq_onnx_gemm_pack_len(size_t M, size_t K);

/** Packs op(A) (M x K; A^T when @p ta, row-major, rows @p lda apart) into @p Ap for the GEMM. */
void xq_onnx_gemm_pack(bool ta, size_t M, size_t K, const float *A, size_t lda, float *Ap);

/**
 * C = op(A) B (C: M x N, rows @p ldc apart; B: K x N, rows @p ldb apart), op(A) packed by
 * xq_onnx_gemm_pack(); each element summed over k in order, one multiply-add at a time, the
 * same whatever M and N: bit-identical however rows are batched (onnx_gemm.c says why).
 */
void xq_onnx_gemm_packed(size_t M,
                         size_t N,
                         size_t K,
                         const float *Ap,
                         const float *B,
                         size_t ldb,
                         float *C,
                         size_t ldc);

/** Sets a value's type and shape, making room for its data. */
void xq_onnx_shape(val_t *v, dt_t dt, size_t ndim, const size_t *dims);

/** The gradient buffer of @p v, zeroed on first use in a pass. */
float *xq_onnx_grad(val_t *v);

/** Writes "Op node name: message" to m->errbuf; returns false. */
bool xq_onnx_fail(onnx_t *m, const node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Numpy broadcasting of @p a and @p b into @p bc; false when they do not broadcast. */
bool xq_onnx_broadcast(const val_t *a, const val_t *b, bc_t *bc);

/** Axes from input @p k (newer opsets) or the attribute (older). */
bool xq_onnx_get_axes(onnx_t *m, node_t *n, size_t k, long *axes, size_t *cnt);

/** @p cnt zeroed size_t of scratch owned by node @p n (valid until its next call). */
size_t *xq_onnx_scratch(node_t *n, size_t cnt);

struct Onnx__NodeProto;

/**
 * The interpreter's operator for node @p np: a core one, OP_EXT with *ext set, or OP_CNT
 * when it has none.
 */
op_t xq_onnx_lookup_op(const struct Onnx__NodeProto *np, const xq_onnx_opdef_t **ext);

/** A reduction's output shape (@p dims, @p nd) and reduced axes (@p red) for input @p x. */
bool xq_onnx_reduce_plan(onnx_t *m, node_t *n, const val_t *x, size_t *dims, size_t *nd, bool *red);

/** The reduction as a broadcast walk: input element ia maps to output element ib. */
void xq_onnx_reduce_walk(const val_t *x, const bool *red, bc_t *bc);

/* ---- the interpreter's parts (onnx.c, onnx_ops_core.c, onnx_ops_linalg.c, onnx_load.c) ---- */

/** The ONNX name of core operator @p op ("?" past OP_CNT). */
const char *xq_onnx_op_name(op_t op);
int xq_onnx_add_val(onnx_t *m, const char *name);
bool xq_onnx_read_node(onnx_t *m, const struct Onnx__NodeProto *np, node_t *n);
struct Onnx__TensorProto;
struct Onnx__GraphProto;
bool xq_onnx_load_tensor(onnx_t *m, const struct Onnx__TensorProto *t, val_t *v);
size_t xq_onnx_list_unsupported(onnx_t *m, const struct Onnx__GraphProto *g);
bool xq_onnx_fwd_binary(onnx_t *m, node_t *n);
void xq_onnx_bwd_transpose(onnx_t *m, node_t *n);
bool xq_onnx_fwd_reduce(onnx_t *m, node_t *n);
bool xq_onnx_fwd_concat(onnx_t *m, node_t *n);
void xq_onnx_bwd_passthrough(onnx_t *m, node_t *n);
void xq_onnx_bwd_unary(onnx_t *m, node_t *n);
void xq_onnx_bwd_softmax(onnx_t *m, node_t *n);
bool xq_onnx_fwd_shape(onnx_t *m, node_t *n);
bool xq_onnx_fwd_unary(onnx_t *m, node_t *n);
bool xq_onnx_fwd_shape_op(onnx_t *m, node_t *n);
void xq_onnx_bwd_gather(onnx_t *m, node_t *n);
bool xq_onnx_fwd_gather(onnx_t *m, node_t *n);
void xq_onnx_bwd_reduce(onnx_t *m, node_t *n);
bool xq_onnx_fwd_transpose(onnx_t *m, node_t *n);
void xq_onnx_bwd_binary(onnx_t *m, node_t *n);
void xq_onnx_bwd_concat(onnx_t *m, node_t *n);
bool xq_onnx_fwd_softmax(onnx_t *m, node_t *n);
void xq_onnx_backward(onnx_t *m, node_t *n);
bool xq_onnx_forward(onnx_t *m, node_t *n);

#endif /* XQ_MODELS_ONNX_INT_H */
