/* compact.h -- compact request tensors: rows as masks over an instance and a baseline, or as
 * points on the straight path between them (docs/protocol.md, "Compact request tensors"). */
#ifndef XQ_COMPACT_H
#define XQ_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "mem.h"
#include "tensor.h"

/* The version a runner announces in its describe reply ("compact": 2) and workers send: 1 has
 * records FULL and MASKS (and "pick"), 2 adds PATH. */
#define XQ_COMPACT_VERSION 2

/* No anchor: the row goes as it is. */
#define XQ_COMPACT_NONE UINT32_MAX

/* Most anchors one compact tensor holds (their indexes are u16 on the wire). */
#define XQ_COMPACT_MAX_ANCHORS 65535

/* Record kinds of a compact tensor's "code" bin. */
#define XQ_COMPACT_FULL  0 /* the row's elements follow, f32 */
#define XQ_COMPACT_MASKS 1 /* u16 x, u16 b, u32 n, then n masks of ceil(elems / 8) bytes */
#define XQ_COMPACT_PATH  2 /* u16 x, u16 b, u32 n, then n f64 alphas: b + alpha (x - b) */

/**
 * The rows of one fed tensor, and what they may be made of. Row k sent is row sel[k] of
 * @p data (row k when @p sel is NULL). For data row i, x[i] names the anchor holding its
 * instance (XQ_COMPACT_NONE: none) and b_first[i] .. b_first[i] + b_cnt[i] - 1 the anchors
 * holding its baselines. With @p path_b (version 2), a data row i with path_b[i] >= 0 says it
 * is the point alpha[i] of the path from baseline b_first[i] + path_b[i] to its instance; it
 * goes as a path record when every element is bit for bit that point (see compact.c). Else a
 * row whose every element is bit for bit the instance's or one baseline's goes as a mask; any
 * other row goes as it is. Everything is borrowed.
 */
typedef struct xq_compact_rows {
    size_t rows;          /* rows sent */
    size_t elems;         /* elements per row of this tensor */
    const float *data;    /* the tensor's rows */
    const size_t *sel;    /* or NULL */
    const float *anchors; /* anchor_cnt rows of elems values */
    size_t anchor_cnt;    /* at most XQ_COMPACT_MAX_ANCHORS */
    const uint32_t *x;    /* per data row */
    const uint32_t *b_first, *b_cnt;
    const int32_t *path_b; /* per data row: its path's baseline (of b_cnt), or -1; or NULL */
    const double *alpha;   /* per data row with path_b >= 0: where on the path */
} xq_compact_rows_t;

/**
 * Packs @p c as a compact tensor {"dtype": "f32", "shape": [rows, dims...], "anchors": tensor,
 * "code": bin}; @p dims (@p ndim of them) is one row's shape.
 */
void xq_compact_pack(msgpack_packer *pk,
                     const xq_compact_rows_t *c,
                     const size_t *dims,
                     size_t ndim);

/** true when the wire tensor @p o is a compact one (it has "code"). */
bool xq_compact_is(const msgpack_object *o);

/**
 * Expands compact tensor @p o into @p t (its full rows, batch first). @p max_elems bounds the
 * expanded tensor (0: XQ_TENSOR_MAX_ELEMS), so a request's memory stays bounded.
 *
 * @returns XQ_OK (free @p t with xq_tensor_fini()), or XQ_EDECODE/XQ_ELIMIT naming @p field
 *          and the rule.
 */
xq_err_t xq_compact_decode(
    const msgpack_object *o, const char *field, size_t max_elems, xq_tensor_t *t, xq_error_t *err);

#endif /* XQ_COMPACT_H */
