/* compact.c -- compact request tensors: rows as masks over anchors or as points on a straight path
 * between two anchors, packed and expanded. */
#include "compact.h"

#include <math.h>
#include <string.h>

#include "mp.h"

static void put_u16(xq_buf_t *b, uint32_t v) {
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

    xq_buf_append(b, p, 2);
}

static void put_u32_at(xq_buf_t *b, size_t off, uint32_t v) {
    b->data[off] = (uint8_t)v;
    b->data[off + 1] = (uint8_t)(v >> 8);
    b->data[off + 2] = (uint8_t)(v >> 16);
    b->data[off + 3] = (uint8_t)(v >> 24);
}

static uint32_t get_u16(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u64(xq_buf_t *b, uint64_t v) {
    uint8_t p[8];

    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    xq_buf_append(b, p, 8);
}

static uint64_t double_bits(double d) {
    uint64_t v;

    memcpy(&v, &d, 8);
    return v;
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/*
 * Element e of a path row: b + alpha (x - b), in double, rounded once to float: the arithmetic
 * of grad_row() in methods/ig.c, so a path row expands bit for bit. This relies on no fused
 * multiply-add: we compile with -std=c11 (GCC then does not contract a * b + c into an FMA)
 * for x86-64 without -mfma (clang has no FMA instruction to contract into); numpy in the
 * Python runner does not fuse either.
 */
static float path_elem(float x, float b, double alpha) {
    return (float)((double)b + alpha * ((double)x - (double)b));
}

/* true when every element of @p row is bit for bit path_elem() of @p x and @p b at @p alpha. */
static bool on_path(const float *row, const float *x, const float *b, double alpha, size_t elems) {
    for (size_t e = 0; e < elems; e++) {
        float v = path_elem(x[e], b[e], alpha);

        if (memcmp(&v, row + e, 4) != 0)
            return false;
    }
    return true;
}

/*
 * The mask of @p row over instance @p x and baseline @p b (bit e set: element e is x's), or
 * false when some element is bit for bit neither. Where x and b agree the bit is 0.
 */
static bool mask_of(const float *row, const float *x, const float *b, size_t elems, uint8_t *mask) {
    uint32_t ok = 1, byte = 0;

    /* branch-free: the bits of a Shapley walk are random, a branch per element mispredicts */
    for (size_t e = 0; e < elems; e++) {
        uint32_t r, xv, bv, is_b, is_x;

        memcpy(&r, row + e, 4);
        memcpy(&bv, b + e, 4);
        memcpy(&xv, x + e, 4);
        is_b = r == bv;
        is_x = r == xv;
        ok &= is_b | is_x;
        byte |= (is_b ^ 1u) << (e % 8);
        if (e % 8 == 7 || e + 1 == elems) {
            mask[e / 8] = (uint8_t)byte;
            byte = 0;
        }
    }
    return ok != 0;
}

/* The record being written: its kind, anchors, where its count goes and how many rows so far. */
typedef struct rec {
    uint8_t kind;
    uint32_t x, b;
    size_t off, cnt;
} rec_t;

static void rec_close(xq_buf_t *code, rec_t *r) {
    if (r->cnt)
        put_u32_at(code, r->off, (uint32_t)r->cnt);
    r->cnt = 0;
}

/* One more row of a masks or path record over anchors @p xa and @p ba: the open record's, or a
 * new one. The caller appends the row's mask or alpha. */
static void rec_row(xq_buf_t *code, rec_t *r, uint8_t kind, uint32_t xa, uint32_t ba) {
    if (!r->cnt || r->kind != kind || r->x != xa || r->b != ba || r->cnt == UINT32_MAX) {
        uint8_t zero[4] = {0};

        rec_close(code, r);
        xq_buf_append(code, &kind, 1);
        put_u16(code, xa);
        put_u16(code, ba);
        r->off = code->len;
        xq_buf_append(code, zero, 4);
        r->kind = kind;
        r->x = xa;
        r->b = ba;
    }
    r->cnt++;
}

/* The anchor of data row @p i's baseline on its path when the row is on it, else NONE. */
static uint32_t path_of(const xq_compact_rows_t *c, size_t i, const float *row, uint32_t xa) {
    uint32_t ba;

    if (!c->path_b || c->path_b[i] < 0 || (uint32_t)c->path_b[i] >= c->b_cnt[i])
        return XQ_COMPACT_NONE;
    ba = c->b_first[i] + (uint32_t)c->path_b[i];
    if (ba >= c->anchor_cnt || !isfinite(c->alpha[i]) ||
        !on_path(row, c->anchors + xa * c->elems, c->anchors + ba * c->elems, c->alpha[i],
                 c->elems))
        return XQ_COMPACT_NONE;
    return ba;
}

/* The baseline anchor whose mask with anchor @p xa makes data row @p i, or NONE. */
static uint32_t mask_base(const xq_compact_rows_t *c,
                          size_t i,
                          const float *row,
                          uint32_t xa,
                          uint32_t open_b,
                          uint8_t *mask) {
    const float *x = c->anchors + xa * c->elems;

    /* the baseline of the open record first: walks come in runs of one baseline */
    if (open_b >= c->b_first[i] && open_b < c->b_first[i] + c->b_cnt[i] && open_b < c->anchor_cnt &&
        mask_of(row, x, c->anchors + open_b * c->elems, c->elems, mask))
        return open_b;
    for (uint32_t b = c->b_first[i]; b < c->b_first[i] + c->b_cnt[i]; b++) {
        if (b < c->anchor_cnt && mask_of(row, x, c->anchors + b * c->elems, c->elems, mask))
            return b;
    }
    return XQ_COMPACT_NONE;
}

/* The code bin of @p c into @p code. */
static void encode(const xq_compact_rows_t *c, xq_buf_t *code) {
    size_t mask_len = (c->elems + 7) / 8;
    rec_t rec = {.kind = XQ_COMPACT_FULL};
    uint8_t stack_mask[512],
        *mask = mask_len <= sizeof(stack_mask) ? stack_mask : xq_malloc(mask_len);

    for (size_t k = 0; k < c->rows; k++) {
        size_t i = c->sel ? c->sel[k] : k;
        const float *row = c->data + i * c->elems;
        uint32_t xa = c->x ? c->x[i] : XQ_COMPACT_NONE, ba = XQ_COMPACT_NONE;

        if (xa < c->anchor_cnt && (ba = path_of(c, i, row, xa)) != XQ_COMPACT_NONE) {
            rec_row(code, &rec, XQ_COMPACT_PATH, xa, ba);
            put_u64(code, double_bits(c->alpha[i]));
            continue;
        }
        if (xa < c->anchor_cnt &&
            (ba = mask_base(
                 c, i, row, xa,
                 rec.cnt && rec.kind == XQ_COMPACT_MASKS && rec.x == xa ? rec.b : XQ_COMPACT_NONE,
                 mask)) != XQ_COMPACT_NONE) {
            rec_row(code, &rec, XQ_COMPACT_MASKS, xa, ba);
            xq_buf_append(code, mask, mask_len);
            continue;
        }
        uint8_t kind = XQ_COMPACT_FULL;

        rec_close(code, &rec);
        xq_buf_append(code, &kind, 1);
        xq_buf_append(code, row, c->elems * sizeof(float)); /* little-endian, as stored */
    }
    rec_close(code, &rec);
    if (mask != stack_mask)
        xq_free(mask);
}

void xq_compact_pack(msgpack_packer *pk,
                     const xq_compact_rows_t *c,
                     const size_t *dims,
                     size_t ndim) {
    size_t adims[XQ_MAX_DIMS + 1];
    xq_buf_t code;

    xq_buf_init(&code);
    encode(c, &code);
    msgpack_pack_map(pk, 4);
    xq_mp_pack_str(pk, "dtype");
    xq_mp_pack_str(pk, "f32");
    xq_mp_pack_str(pk, "shape");
    msgpack_pack_array(pk, ndim + 1);
    msgpack_pack_uint64(pk, c->rows);
    for (size_t d = 0; d < ndim; d++)
        msgpack_pack_uint64(pk, dims[d]);
    xq_mp_pack_str(pk, "anchors");
    adims[0] = c->anchor_cnt;
    memcpy(adims + 1, dims, ndim * sizeof(*dims));
    xq_tensor_pack(pk, c->anchors, adims, ndim + 1);
    xq_mp_pack_str(pk, "code");
    msgpack_pack_bin(pk, code.len);
    msgpack_pack_bin_body(pk, code.data, code.len);
    xq_buf_fini(&code);
}

bool xq_compact_is(const msgpack_object *o) {
    return o->type == MSGPACK_OBJECT_MAP && xq_mp_map_get(o, "code") != NULL;
}

/* The code being expanded: the bin, the anchors, and the row and byte reached. */
typedef struct exp {
    const uint8_t *p;
    size_t len, pos;
    const xq_tensor_t *anc;
    size_t rows, elems, row;
    float *out;
    const char *field;
} exp_t;

/* A masks or path record's head: its anchors and count, checked; @p each: bytes per row. */
static xq_err_t rec_head(exp_t *x,
                         size_t each,
                         const char *what,
                         const float **xa_row,
                         const float **ba_row,
                         uint32_t *n,
                         xq_error_t *err) {
    size_t anchor_cnt = x->anc->dims[0];
    uint32_t xa, ba;

    if (x->len - x->pos < 8)
        return xq_error_set(err, XQ_EDECODE, x->field, "code: a record is cut short");
    xa = get_u16(x->p + x->pos);
    ba = get_u16(x->p + x->pos + 2);
    *n = get_u32(x->p + x->pos + 4);
    x->pos += 8;
    if (xa >= anchor_cnt || ba >= anchor_cnt)
        return xq_error_set(err, XQ_EDECODE, x->field, "code: anchor %u of %zu does not exist",
                            xa > ba ? xa : ba, anchor_cnt);
    if (*n > x->rows - x->row || (x->len - x->pos) / each < *n)
        return xq_error_set(err, XQ_EDECODE, x->field,
                            "code: %u %s from row %zu do not fit %zu rows", *n, what, x->row,
                            x->rows);
    *xa_row = x->anc->data + xa * x->elems;
    *ba_row = x->anc->data + ba * x->elems;
    return XQ_OK;
}

static xq_err_t exp_full(exp_t *x, xq_error_t *err) {
    size_t elems = x->elems;
    float *dst = x->out + x->row * elems;

    if (x->len - x->pos < elems * sizeof(float) || x->row >= x->rows)
        return xq_error_set(err, XQ_EDECODE, x->field, "code: row %zu is cut short", x->row);
    memcpy(dst, x->p + x->pos, elems * sizeof(float));
    for (size_t e = 0; e < elems; e++) {
        if (!isfinite(dst[e]))
            return xq_error_set(err, XQ_EDECODE, x->field, "element %zu is not finite",
                                x->row * elems + e);
    }
    x->pos += elems * sizeof(float);
    x->row++;
    return XQ_OK;
}

static xq_err_t exp_masks(exp_t *x, xq_error_t *err) {
    size_t mask_len = (x->elems + 7) / 8;
    const float *xr, *br;
    uint32_t n;
    xq_err_t rc;

    if ((rc = rec_head(x, mask_len, "masks", &xr, &br, &n, err)) != XQ_OK)
        return rc;
    for (uint32_t k = 0; k < n; k++, x->row++, x->pos += mask_len) {
        float *dst = x->out + x->row * x->elems;

        for (size_t e = 0; e < x->elems; e++) {
            /* branch-free select of the bits: random bits mispredict branches */
            uint32_t sel = 0u - (uint32_t)((x->p[x->pos + e / 8] >> (e % 8)) & 1), xv, bv, v;

            memcpy(&xv, xr + e, 4);
            memcpy(&bv, br + e, 4);
            v = (xv & sel) | (bv & ~sel);
            memcpy(dst + e, &v, 4);
        }
    }
    return XQ_OK;
}

static xq_err_t exp_path(exp_t *x, xq_error_t *err) {
    const float *xr, *br;
    uint32_t n;
    xq_err_t rc;

    if ((rc = rec_head(x, 8, "alphas", &xr, &br, &n, err)) != XQ_OK)
        return rc;
    for (uint32_t k = 0; k < n; k++, x->row++, x->pos += 8) {
        uint64_t bits = get_u64(x->p + x->pos);
        float *dst = x->out + x->row * x->elems;
        double alpha;

        memcpy(&alpha, &bits, 8);
        if (!isfinite(alpha))
            return xq_error_set(err, XQ_EDECODE, x->field,
                                "code: the alpha of row %zu is not finite", x->row);
        for (size_t e = 0; e < x->elems; e++) {
            dst[e] = path_elem(xr[e], br[e], alpha);
            if (!isfinite(dst[e]))
                return xq_error_set(err, XQ_EDECODE, x->field, "element %zu is not finite",
                                    x->row * x->elems + e);
        }
    }
    return XQ_OK;
}

/* Walks the code bin, expanding rows into x->out (rows x elems). */
static xq_err_t expand(exp_t *x, xq_error_t *err) {
    xq_err_t rc = XQ_OK;

    while (rc == XQ_OK && x->pos < x->len) {
        uint8_t kind = x->p[x->pos++];

        if (kind == XQ_COMPACT_FULL)
            rc = exp_full(x, err);
        else if (kind == XQ_COMPACT_MASKS)
            rc = exp_masks(x, err);
        else if (kind == XQ_COMPACT_PATH)
            rc = exp_path(x, err);
        else
            rc = xq_error_set(err, XQ_EDECODE, x->field, "code: record kind %u is not 0, 1 or 2",
                              kind);
    }
    if (rc == XQ_OK && x->row != x->rows)
        rc = xq_error_set(err, XQ_EDECODE, x->field, "code: %zu rows of %zu", x->row, x->rows);
    return rc;
}

xq_err_t xq_compact_decode(
    const msgpack_object *o, const char *field, size_t max_elems, xq_tensor_t *t, xq_error_t *err) {
    const msgpack_object *dt = xq_mp_map_get(o, "dtype"), *shape = xq_mp_map_get(o, "shape"),
                         *anchors = xq_mp_map_get(o, "anchors"), *code = xq_mp_map_get(o, "code");
    xq_tensor_t anc;
    size_t cnt = 1, elems;
    xq_err_t rc;

    memset(t, 0, sizeof(*t));
    max_elems = max_elems ? max_elems : XQ_TENSOR_MAX_ELEMS;
    if (!dt || !xq_mp_str_eq(dt, "f32") || !anchors || !code || code->type != MSGPACK_OBJECT_BIN)
        return xq_error_set(err, XQ_EDECODE, field,
                            "a compact tensor needs dtype f32, shape, anchors and a code bin");
    if (!shape || shape->type != MSGPACK_OBJECT_ARRAY || shape->via.array.size < 1 ||
        shape->via.array.size > XQ_MAX_DIMS + 1)
        return xq_error_set(err, XQ_EDECODE, field, "shape must list 1 to %d sizes, batch first",
                            XQ_MAX_DIMS + 1);
    for (uint32_t d = 0; d < shape->via.array.size; d++) {
        const msgpack_object *s = &shape->via.array.ptr[d];

        if (s->type != MSGPACK_OBJECT_POSITIVE_INTEGER || s->via.u64 > max_elems ||
            xq_mul_overflows(cnt, (size_t)s->via.u64, &cnt) || cnt > max_elems)
            return xq_error_set(err, XQ_ELIMIT, field,
                                "shape must hold integers whose product is at most %zu", max_elems);
        t->dims[d] = (size_t)s->via.u64;
    }
    t->ndim = shape->via.array.size;
    elems = t->dims[0] ? cnt / t->dims[0] : 0;
    if ((rc = xq_tensor_decode(anchors, field, max_elems, &anc, err)) != XQ_OK)
        return rc;
    if (anc.ndim != t->ndim || anc.cnt != anc.dims[0] * elems || !elems) {
        xq_tensor_fini(&anc);
        return xq_error_set(err, XQ_EDECODE, field, "anchors must be rows of the tensor's shape");
    }
    t->cnt = cnt;
    if (!(t->data = xq_try_malloc(cnt * sizeof(float) + 1))) {
        xq_tensor_fini(&anc);
        return xq_error_set(err, XQ_ENOMEM, field, "no memory for %zu elements", cnt);
    }
    {
        exp_t x = {.p = (const uint8_t *)code->via.bin.ptr,
                   .len = code->via.bin.size,
                   .anc = &anc,
                   .rows = t->dims[0],
                   .elems = elems,
                   .out = t->data,
                   .field = field};

        rc = expand(&x, err);
    }
    xq_tensor_fini(&anc);
    if (rc != XQ_OK)
        xq_tensor_fini(t);
    return rc;
}
