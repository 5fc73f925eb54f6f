/*
 * onnx_gemm.c -- the interpreter's convolution GEMM: C = op(A) B, each element of C the sum
 * over k in order 0, 1, ..., K-1 of one float product at a time, whatever the matrix sizes.
 *
 * Why not OpenBLAS's sgemm: it picks its kernels (and so its summation order) by the matrix
 * sizes and a column's place in them -- measured with OpenBLAS 0.3.21 on this project's
 * machines, a column of C changed in its last bits with the number of columns beside it. Conv
 * batches all rows of a pass into the columns of one product, so with sgemm a row's result
 * would change with the rows batched beside it. Here every element of C is the same
 * sequence of float multiplies and adds, in registers or not, so the interpreter's results
 * are bit-identical however rows are batched (tests/unit/test_onnx.c checks it).
 *
 * Speed: blocks of 128 k, operands packed, and register tiles of 8 rows by 32 columns as
 * GCC/clang vector types, compiled for AVX-512, FMA (AVX) and baseline x86-64 and picked when
 * the program loads. Every element goes through the same tile code (edges are padded), so it
 * is the same chain of multiply-adds whatever the sizes -- fused on a CPU with FMA, not on one
 * without: bits are the same for any batching on one machine, and may differ in the last
 * place between machines of different instruction sets.
 */
#include <stddef.h>
#include <string.h>

#include "mem.h"
#include "models/onnx_int.h"

/* multiply-adds fused where the target has FMA: the same in every lane and every tile */
#ifdef __clang__
#pragma clang fp contract(fast)
#else
#pragma GCC optimize("fp-contract=fast")
#endif

#ifndef __has_feature
#define __has_feature(x) 0
#endif
/* not under the sanitizers, whose run-time starts after the clones' resolver runs */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && \
    !__has_feature(address_sanitizer)
#define XQ_GEMM_CLONES __attribute__((target_clones("avx512f", "fma", "default")))
#else
#define XQ_GEMM_CLONES
#endif

typedef float v16_t __attribute__((vector_size(64)));

#define MR 8    /* rows of a tile */
#define NR 32   /* columns of a tile: two vectors */
#define KC 128  /* k per block: a packed panel of B is KC * NR floats (16 kB) */
#define MC 128  /* rows of A per pass over the panels: MC * KC floats (64 kB) */
#define NC 2048 /* columns of B packed at once: KC * NC floats (1 MB) */

/* s in every lane */
#define bcast(s) \
    ((v16_t){(s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s)})

/*
 * The MR x NR tile at @p c (rows @p ldc apart) = (its sums so far when @p more, else 0) +
 * Ap (kc x MR, packed) Bp (kc x NR, packed), the accumulators in registers. Inlined into
 * each clone, so compiled for its instruction set.
 */
__attribute__((always_inline)) static inline void
tile(size_t kc, const float *Ap, const float *Bp, float *c, size_t ldc, bool more) {
    v16_t acc[MR][2];

    for (size_t r = 0; r < MR; r++) {
        if (more) {
            memcpy(&acc[r][0], c + r * ldc, 64);
            memcpy(&acc[r][1], c + r * ldc + 16, 64);
        } else {
            acc[r][0] = (v16_t){0};
            acc[r][1] = (v16_t){0};
        }
    }
    for (size_t k = 0; k < kc; k++, Ap += MR, Bp += NR) {
        v16_t b0, b1;

        memcpy(&b0, Bp, 64);
        memcpy(&b1, Bp + 16, 64);
#pragma GCC unroll 8
        for (size_t r = 0; r < MR; r++) {
            v16_t a = bcast(Ap[r]);

            acc[r][0] += a * b0;
            acc[r][1] += a * b1;
        }
    }
    for (size_t r = 0; r < MR; r++) {
        memcpy(c + r * ldc, &acc[r][0], 64);
        memcpy(c + r * ldc + 16, &acc[r][1], 64);
    }
}

size_t xq_onnx_gemm_pack_len(size_t M, size_t K) {
    return (M + MR - 1) / MR * MR * K;
}

void xq_onnx_gemm_pack(bool ta, size_t M, size_t K, const float *A, size_t lda, float *Ap) {
    size_t ars = ta ? 1 : lda, acs = ta ? lda : 1; /* op(A)(i, k) = A[i * ars + k * acs] */

    /* Ap[ib][k][r] = op(A)(ib * MR + r, k); rows past M are 0 */
    for (size_t ib = 0; ib < (M + MR - 1) / MR; ib++)
        for (size_t r = 0; r < MR; r++) {
            size_t i = ib * MR + r;

            for (size_t k = 0; k < K; k++)
                Ap[(ib * K + k) * MR + r] = i < M ? A[i * ars + k * acs] : 0.0f;
        }
}

/* One MR x NR tile at rows ib*MR, panel jp: in place, or through @p t at an edge. */
__attribute__((always_inline)) static inline void edge_or_tile(size_t M,
                                                               size_t N,
                                                               size_t K,
                                                               size_t k0,
                                                               size_t kc,
                                                               const float *Ap,
                                                               const float *Bpanel,
                                                               float *C,
                                                               size_t ldc,
                                                               size_t ib,
                                                               size_t j0,
                                                               float *t) {
    size_t mb = M - ib * MR < MR ? M - ib * MR : MR, nb = N - j0 < NR ? N - j0 : NR;
    float *c = C + ib * MR * ldc + j0;

    if (mb == MR && nb == NR) {
        tile(kc, Ap + (ib * K + k0) * MR, Bpanel, c, ldc, k0 > 0);
        return;
    }
    /* an edge: through a whole tile, the sums so far exactly as stored */
    memset(t, 0, MR * NR * sizeof(float));
    for (size_t r = 0; k0 && r < mb; r++)
        memcpy(t + r * NR, c + r * ldc, nb * sizeof(float));
    tile(kc, Ap + (ib * K + k0) * MR, Bpanel, t, NR, k0 > 0);
    for (size_t r = 0; r < mb; r++)
        memcpy(c + r * ldc, t + r * NR, nb * sizeof(float));
}

/*
 * static, called below: clang 14 emits a clone's resolver only where the function is used.
 * Loops: k blocks outermost (each element's sum stays in k order); then up to NC columns of
 * B packed as panels; then MC rows of A (which stay in cache) against each panel in turn.
 */
XQ_GEMM_CLONES static void gemm_packed(size_t M,
                                       size_t N,
                                       size_t K,
                                       const float *Ap,
                                       const float *B,
                                       size_t ldb,
                                       float *C,
                                       size_t ldc) {
    size_t mp = (M + MR - 1) / MR, nc0 = N < NC ? N : NC;
    float *Bp = xq_malloc(KC * ((nc0 + NR - 1) / NR * NR) * sizeof(float) + 1);
    float t[MR * NR];

    if (!K) /* an empty sum */
        for (size_t i = 0; i < M; i++)
            memset(C + i * ldc, 0, N * sizeof(float));
    for (size_t k0 = 0; k0 < K; k0 += KC) {
        size_t kc = K - k0 < KC ? K - k0 : KC;

        for (size_t jc = 0; jc < N; jc += NC) {
            size_t nc = N - jc < NC ? N - jc : NC, np = (nc + NR - 1) / NR;

            /* panel p: Bp[p][k][j] = B(k0 + k, jc + p*NR + j); columns past N are 0 */
            for (size_t p = 0; p < np; p++) {
                size_t j0 = p * NR, nb = nc - j0 < NR ? nc - j0 : NR;
                float *dst = Bp + p * KC * NR;

                for (size_t k = 0; k < kc; k++) {
                    memcpy(dst + k * NR, B + (k0 + k) * ldb + jc + j0, nb * sizeof(float));
                    memset(dst + k * NR + nb, 0, (NR - nb) * sizeof(float));
                }
            }
            for (size_t ic = 0; ic < mp; ic += MC / MR)
                for (size_t p = 0; p < np; p++)
                    for (size_t ib = ic; ib < mp && ib < ic + MC / MR; ib++)
                        edge_or_tile(M, N, K, k0, kc, Ap, Bp + p * KC * NR, C, ldc, ib, jc + p * NR,
                                     t);
        }
    }
    xq_free(Bp);
}

void xq_onnx_gemm_packed(size_t M,
                         size_t N,
                         size_t K,
                         const float *Ap,
                         const float *B,
                         size_t ldb,
                         float *C,
                         size_t ldc) {
    gemm_packed(M, N, K, Ap, B, ldb, C, ldc);
}
