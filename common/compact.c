/* compact.c -- compact request tensors: rows as masks over anchors, packed and expanded. */
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

/* The code bin of @p c into @p code. */
static void encode(const xq_compact_rows_t *c, xq_buf_t *code) {
    size_t mask_len = (c->elems + 7) / 8, open = 0, cnt = 0; /* open: the count's offset */
    uint32_t open_x = XQ_COMPACT_NONE, open_b = XQ_COMPACT_NONE;
    uint8_t stack_mask[512],
        *mask = mask_len <= sizeof(stack_mask) ? stack_mask : xq_malloc(mask_len);

    for (size_t k = 0; k < c->rows; k++) {
        size_t i = c->sel ? c->sel[k] : k;
        const float *row = c->data + i * c->elems;
        uint32_t xa = c->x ? c->x[i] : XQ_COMPACT_NONE, ba = XQ_COMPACT_NONE;

        if (xa < c->anchor_cnt) {
            /* the baseline of the open record first: walks come in runs of one baseline */
            if (open_x == xa && open_b >= c->b_first[i] && open_b < c->b_first[i] + c->b_cnt[i] &&
                mask_of(row, c->anchors + xa * c->elems, c->anchors + open_b * c->elems, c->elems,
                        mask))
                ba = open_b;
            for (uint32_t b = c->b_first[i];
                 ba == XQ_COMPACT_NONE && b < c->b_first[i] + c->b_cnt[i]; b++) {
                if (b < c->anchor_cnt && mask_of(row, c->anchors + xa * c->elems,
                                                 c->anchors + b * c->elems, c->elems, mask))
                    ba = b;
            }
        }
        if (ba == XQ_COMPACT_NONE) {
            uint8_t kind = XQ_COMPACT_FULL;

            if (cnt)
                put_u32_at(code, open, (uint32_t)cnt);
            cnt = 0;
            open_x = open_b = XQ_COMPACT_NONE;
            xq_buf_append(code, &kind, 1);
            xq_buf_append(code, row, c->elems * sizeof(float)); /* little-endian, as stored */
            continue;
        }
        if (!cnt || open_x != xa || open_b != ba || cnt == UINT32_MAX) {
            uint8_t kind = XQ_COMPACT_MASKS, zero[4] = {0};

            if (cnt)
                put_u32_at(code, open, (uint32_t)cnt);
            xq_buf_append(code, &kind, 1);
            put_u16(code, xa);
            put_u16(code, ba);
            open = code->len;
            xq_buf_append(code, zero, 4);
            open_x = xa;
            open_b = ba;
            cnt = 0;
        }
        xq_buf_append(code, mask, mask_len);
        cnt++;
    }
    if (cnt)
        put_u32_at(code, open, (uint32_t)cnt);
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

/* Walks the code bin, expanding rows into @p out (rows x elems). */
static xq_err_t expand(const uint8_t *p,
                       size_t len,
                       const xq_tensor_t *anc,
                       size_t rows,
                       size_t elems,
                       float *out,
                       const char *field,
                       xq_error_t *err) {
    size_t mask_len = (elems + 7) / 8, anchor_cnt = anc->dims[0], row = 0, pos = 0;

    while (pos < len) {
        uint8_t kind = p[pos++];

        if (kind == XQ_COMPACT_FULL) {
            if (len - pos < elems * sizeof(float) || row >= rows)
                return xq_error_set(err, XQ_EDECODE, field, "code: row %zu is cut short", row);
            memcpy(out + row * elems, p + pos, elems * sizeof(float));
            for (size_t e = 0; e < elems; e++) {
                if (!isfinite(out[row * elems + e]))
                    return xq_error_set(err, XQ_EDECODE, field, "element %zu is not finite",
                                        row * elems + e);
            }
            pos += elems * sizeof(float);
            row++;
        } else if (kind == XQ_COMPACT_MASKS) {
            uint32_t xa, ba, n;
            const float *x, *b;

            if (len - pos < 8)
                return xq_error_set(err, XQ_EDECODE, field, "code: a record is cut short");
            xa = get_u16(p + pos);
            ba = get_u16(p + pos + 2);
            n = get_u32(p + pos + 4);
            pos += 8;
            if (xa >= anchor_cnt || ba >= anchor_cnt)
                return xq_error_set(err, XQ_EDECODE, field, "code: anchor %u of %zu does not exist",
                                    xa > ba ? xa : ba, anchor_cnt);
            if (n > rows - row || (len - pos) / mask_len < n)
                return xq_error_set(err, XQ_EDECODE, field,
                                    "code: %u masks from row %zu do not fit %zu rows", n, row,
                                    rows);
            x = anc->data + xa * elems;
            b = anc->data + ba * elems;
            for (uint32_t k = 0; k < n; k++, row++, pos += mask_len) {
                float *dst = out + row * elems;

                for (size_t e = 0; e < elems; e++) {
                    /* branch-free select of the bits: random bits mispredict branches */
                    uint32_t sel = 0u - (uint32_t)((p[pos + e / 8] >> (e % 8)) & 1), xv, bv, v;

                    memcpy(&xv, x + e, 4);
                    memcpy(&bv, b + e, 4);
                    v = (xv & sel) | (bv & ~sel);
                    memcpy(dst + e, &v, 4);
                }
            }
        } else {
            return xq_error_set(err, XQ_EDECODE, field, "code: record kind %u is not 0 or 1", kind);
        }
    }
    if (row != rows)
        return xq_error_set(err, XQ_EDECODE, field, "code: %zu rows of %zu", row, rows);
    return XQ_OK;
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
    rc = expand((const uint8_t *)code->via.bin.ptr, code->via.bin.size, &anc, t->dims[0], elems,
                t->data, field, err);
    xq_tensor_fini(&anc);
    if (rc != XQ_OK)
        xq_tensor_fini(t);
    return rc;
}
