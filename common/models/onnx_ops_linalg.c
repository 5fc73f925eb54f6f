/* onnx_ops_linalg.c -- the interpreter's Gemm, MatMul, convolutions, pooling, batch norm and
 * constants, and the table that dispatches every core operator. */
#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "models/onnx_int.h"

/*
 * C = alpha op(A) op(B) + beta C, row-major, each row of C summed over k in one
 * fixed order. Here M counts the batch's rows, and OpenBLAS picks its kernels
 * (and so its summation order) by the matrix sizes: a row's result would change
 * with the rows batched beside it, and the same instance explained in-process
 * and over Kafka would differ in the last bits. Rows never mix here. (Conv batches its
 * rows into one product through xq_onnx_gemm(), whose sums do not depend on the sizes.)
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

/* ---- Conv (2-D): im2col of a block of samples, one product (xq_onnx_gemm) ---- */

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

/* The output columns [*lo, *hi) whose input column ox*stride - pad + j*dil is inside [0, W). */
static void conv_cols(const node_t *n, const conv_t *p, size_t j, size_t *lo, size_t *hi) {
    long s = n->strides[1], off = (long)j * n->dilations[1] - n->pads[1];
    long a = off >= 0 ? 0 : (-off + s - 1) / s, b = ((long)p->W - off + s - 1) / s;

    *lo = (size_t)(a < (long)p->OW ? a : (long)p->OW);
    *hi = (size_t)(b < (long)*lo ? (long)*lo : b > (long)p->OW ? (long)p->OW : b);
}

/*
 * col[(c, i, j), b*L + (oy, ox)] = x_b[c, oy*s - pad + i*dil, ox*s - pad + j*dil] (0 outside)
 * for the @p nb samples at @p x (@p xs floats apart); each row of col @p ld floats long.
 */
static void im2col(
    const node_t *n, const conv_t *p, const float *x, size_t xs, size_t nb, float *col, size_t ld) {
    long s = n->strides[1];
    size_t L = p->OH * p->OW;

    for (size_t c = 0; c < p->Cg; c++)
        for (size_t i = 0; i < p->kh; i++)
            for (size_t j = 0; j < p->kw; j++) {
                float *row = col + ((c * p->kh + i) * p->kw + j) * ld;
                long off = (long)j * n->dilations[1] - n->pads[1];
                size_t lo, hi;

                conv_cols(n, p, j, &lo, &hi);
                for (size_t b = 0; b < nb; b++)
                    for (size_t oy = 0; oy < p->OH; oy++) {
                        long iy = (long)oy * n->strides[0] - n->pads[0] + (long)i * n->dilations[0];
                        float *restrict r = row + b * L + oy * p->OW;
                        const float *restrict xr;

                        if (iy < 0 || iy >= (long)p->H) {
                            for (size_t ox = 0; ox < p->OW; ox++)
                                r[ox] = 0.0f;
                            continue;
                        }
                        xr = x + b * xs + (c * p->H + (size_t)iy) * p->W;
                        for (size_t ox = 0; ox < lo; ox++)
                            r[ox] = 0.0f;
                        if (s == 1)
                            for (size_t ox = lo; ox < hi; ox++)
                                r[ox] = xr[(long)ox + off];
                        else
                            for (size_t ox = lo; ox < hi; ox++)
                                r[ox] = xr[(long)ox * s + off];
                        for (size_t ox = hi; ox < p->OW; ox++)
                            r[ox] = 0.0f;
                    }
            }
}

/* The transpose of im2col: each col element added back onto the input element it came from. */
static void col2im(const node_t *n,
                   const conv_t *p,
                   const float *col,
                   size_t ld,
                   size_t nb,
                   float *gx,
                   size_t xs) {
    long s = n->strides[1];
    size_t L = p->OH * p->OW;

    for (size_t c = 0; c < p->Cg; c++)
        for (size_t i = 0; i < p->kh; i++)
            for (size_t j = 0; j < p->kw; j++) {
                const float *row = col + ((c * p->kh + i) * p->kw + j) * ld;
                long off = (long)j * n->dilations[1] - n->pads[1];
                size_t lo, hi;

                conv_cols(n, p, j, &lo, &hi);
                for (size_t b = 0; b < nb; b++)
                    for (size_t oy = 0; oy < p->OH; oy++) {
                        long iy = (long)oy * n->strides[0] - n->pads[0] + (long)i * n->dilations[0];
                        const float *restrict r = row + b * L + oy * p->OW;
                        float *restrict gr;

                        if (iy < 0 || iy >= (long)p->H)
                            continue;
                        gr = gx + b * xs + (c * p->H + (size_t)iy) * p->W;
                        if (s == 1)
                            for (size_t ox = lo; ox < hi; ox++)
                                gr[(long)ox + off] += r[ox];
                        else
                            for (size_t ox = lo; ox < hi; ox++)
                                gr[(long)ox * s + off] += r[ox];
                    }
            }
}

/*
 * Floats of im2col scratch a convolution's block of samples may fill: at least COL_MIN
 * (1 MB: stays in cache), or as many as the weights hold (then streaming the weights once
 * per block costs no more than the block itself), at most COL_MAX.
 */
#define COL_MIN ((size_t)256 << 10)
#define COL_MAX ((size_t)4 << 20)

/*
 * Samples per product. Each element's sum does not depend on it (xq_onnx_gemm), so neither
 * do the results.
 */
static size_t conv_rows(const conv_t *p) {
    size_t K = p->Cg * p->kh * p->kw, per = K * p->OH * p->OW, cap = p->Mg * K, rows;

    cap = cap < COL_MIN ? COL_MIN : cap > COL_MAX ? COL_MAX : cap;
    rows = per ? cap / per : p->N;
    return rows < 1 ? 1 : rows > p->N ? p->N : rows;
}

/* Scratch for @p rows samples: im2col (K x rows*L) then the product (Mg x rows*L). */
static float *conv_col(node_t *n, const conv_t *p, size_t rows) {
    size_t L = p->OH * p->OW, need = (p->Cg * p->kh * p->kw + p->Mg) * rows * L;

    if (need > n->col_cap) {
        xq_free(n->col);
        n->col = xq_malloc(need * sizeof(float));
        n->col_cap = need;
    }
    return n->col;
}

/*
 * The weights of every group packed for the GEMM: as they are (@p bwd false) or transposed;
 * kept while the weights are a constant of the graph.
 */
static const float *conv_pack(node_t *n, const conv_t *p, const val_t *w, bool bwd) {
    size_t K = p->Cg * p->kh * p->kw, M = bwd ? K : p->Mg, Kp = bwd ? p->Mg : K;
    size_t per = xq_onnx_gemm_pack_len(M, Kp);

    if (w->is_const && n->pack_of[bwd] == w->f)
        return n->pack[bwd];
    if (per * p->G > n->pack_cap[bwd]) {
        xq_free(n->pack[bwd]);
        n->pack[bwd] = xq_malloc(per * p->G * sizeof(float));
        n->pack_cap[bwd] = per * p->G;
    }
    for (size_t g = 0; g < p->G; g++)
        xq_onnx_gemm_pack(bwd, M, Kp, w->f + g * p->Mg * K, K, n->pack[bwd] + g * per);
    n->pack_of[bwd] = w->is_const ? w->f : NULL;
    return n->pack[bwd];
}

/* Y_g = W_g col for samples [b0, b0 + nb) and group g, one product for all of them. */
static void conv_fwd_block(const node_t *n,
                           const conv_t *p,
                           const val_t *x,
                           const float *wp,
                           const float *bias,
                           float *y,
                           size_t b0,
                           size_t nb,
                           size_t g,
                           float *col) {
    size_t L = p->OH * p->OW, K = p->Cg * p->kh * p->kw, T = nb * L;
    float *prod = col + K * T;

    im2col(n, p, x->f + (b0 * p->C + g * p->Cg) * p->H * p->W, p->C * p->H * p->W, nb, col, T);
    xq_onnx_gemm_packed(p->Mg, T, K, wp + g * xq_onnx_gemm_pack_len(p->Mg, K), col, T, prod, T);
    for (size_t b = 0; b < nb; b++)
        for (size_t mo = 0; mo < p->Mg; mo++) {
            float *out = y + ((b0 + b) * p->M + g * p->Mg + mo) * L;
            const float *src = prod + mo * T + b * L;
            float add = bias ? bias[g * p->Mg + mo] : 0.0f;

            for (size_t l = 0; l < L; l++)
                out[l] = src[l] + add;
        }
}

static bool fwd_conv(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *w = IN(m, n, 1), *bias = IN(m, n, 2), *y = OUT(m, n);
    size_t dims[4], step;
    conv_t p;
    float *col;

    if (!conv_plan(m, n, x, w, &p))
        return false;
    dims[0] = p.N;
    dims[1] = p.M;
    dims[2] = p.OH;
    dims[3] = p.OW;
    xq_onnx_shape(y, DT_F32, 4, dims);
    step = conv_rows(&p);
    col = conv_col(n, &p, step);
    for (size_t b0 = 0; b0 < p.N; b0 += step)
        for (size_t g = 0; g < p.G; g++)
            conv_fwd_block(n, &p, x, conv_pack(n, &p, w, false), bias ? bias->f : NULL, y->f, b0,
                           p.N - b0 < step ? p.N - b0 : step, g, col);
    return true;
}

static void bwd_conv(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *w = IN(m, n, 1), *y = OUT(m, n);
    float *gx = xq_onnx_grad(x), *col, *dy;
    const float *wp;
    size_t L, K, step;
    conv_t p;

    conv_plan(m, n, x, w, &p);
    L = p.OH * p.OW;
    K = p.Cg * p.kh * p.kw;
    step = conv_rows(&p);
    col = conv_col(n, &p, step);
    wp = conv_pack(n, &p, w, true);
    for (size_t b0 = 0; b0 < p.N; b0 += step) {
        size_t nb = p.N - b0 < step ? p.N - b0 : step, T = nb * L;

        dy = col + K * T;
        for (size_t g = 0; g < p.G; g++) {
            /* dcol = W_g^T dY_g for the block's samples, then scattered back onto each input */
            for (size_t b = 0; b < nb; b++)
                for (size_t mo = 0; mo < p.Mg; mo++)
                    memcpy(dy + mo * T + b * L, y->g + ((b0 + b) * p.M + g * p.Mg + mo) * L,
                           L * sizeof(float));
            xq_onnx_gemm_packed(K, T, p.Mg, wp + g * xq_onnx_gemm_pack_len(K, p.Mg), dy, T, col, T);
            col2im(n, &p, col, T, nb, gx + (b0 * p.C + g * p.Cg) * p.H * p.W, p.C * p.H * p.W);
        }
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
    for (size_t o = 0; o < x->cnt / (inner * C); o++)
        for (size_t c = 0; c < C; c++) {
            const float *xi = x->f + (o * C + c) * inner;
            float *yi = y->f + (o * C + c) * inner;
            float s = sc->f[c], m0 = mu->f[c], sd = sqrtf(var->f[c] + n->epsilon), b0 = b->f[c];

            for (size_t i = 0; i < inner; i++)
                yi[i] = s * (xi[i] - m0) / sd + b0;
        }
    return true;
}

static void bwd_batchnorm(onnx_t *m, node_t *n) {
    val_t *x = IN(m, n, 0), *sc = IN(m, n, 1), *var = IN(m, n, 4), *y = OUT(m, n);
    size_t C = x->dims[1], inner = 1;
    float *gx = xq_onnx_grad(x);

    for (size_t d = 2; d < x->ndim; d++)
        inner *= x->dims[d];
    for (size_t o = 0; o < x->cnt / (inner * C); o++)
        for (size_t c = 0; c < C; c++) {
            const float *gy = y->g + (o * C + c) * inner;
            float *g = gx + (o * C + c) * inner, s = sc->f[c], sd = sqrtf(var->f[c] + n->epsilon);

            for (size_t i = 0; i < inner; i++)
                g[i] += gy[i] * s / sd;
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

#define XQ_ONNX_OP_IMPL(e, name, fwd, bwd) [OP_##e] = {fwd, bwd},
    XQ_ONNX_CORE_OPS(XQ_ONNX_OP_IMPL)
#undef XQ_ONNX_OP_IMPL
};

bool xq_onnx_forward(onnx_t *m, node_t *n) {
    return n->op == OP_EXT ? n->ext->fwd(m, n) : op_impl[n->op].fwd(m, n);
}

void xq_onnx_backward(onnx_t *m, node_t *n) {
    void (*bwd)(onnx_t *, node_t *) = n->op == OP_EXT ? n->ext->bwd : op_impl[n->op].bwd;

    if (bwd)
        bwd(m, n);
}
