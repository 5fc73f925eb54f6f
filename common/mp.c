/* mp.c -- msgpack helpers shared by the codecs. */
#include "mp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Big-endian unsigned of @p n bytes at @p p. */
static uint64_t be(const uint8_t *p, size_t n) {
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

bool xq_mp_validate(const uint8_t *buf, size_t len, size_t *used) {
    size_t pos = 0, pending = 1;

    while (pending) {
        uint64_t skip = 0, items = 0;
        size_t lenbytes = 0; /* bytes of a length field that follows the type byte */
        int kind = 0;        /* 1: skip payload, 2: array items, 3: map pairs */
        uint8_t b;

        if (pos >= len)
            return false;
        pending--;
        b = buf[pos++];
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            continue;
        } else if (b <= 0x8f) {
            items = 2u * (b & 0x0f);
        } else if (b <= 0x9f) {
            items = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4:
            case 0xd9:
                lenbytes = 1;
                kind = 1;
                break; /* bin8, str8 */
            case 0xc5:
            case 0xda:
                lenbytes = 2;
                kind = 1;
                break; /* bin16, str16 */
            case 0xc6:
            case 0xdb:
                lenbytes = 4;
                kind = 1;
                break; /* bin32, str32 */
            case 0xc7:
                lenbytes = 1;
                kind = 1;
                skip = 1;
                break; /* ext8 + type */
            case 0xc8:
                lenbytes = 2;
                kind = 1;
                skip = 1;
                break;
            case 0xc9:
                lenbytes = 4;
                kind = 1;
                skip = 1;
                break;
            case 0xca:
                skip = 4;
                break;
            case 0xcb:
                skip = 8;
                break;
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break; /* fixext: type + 1, 2, 4, 8, 16 bytes */
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
                lenbytes = 2;
                kind = 2;
                break;
            case 0xdd:
                lenbytes = 4;
                kind = 2;
                break;
            case 0xde:
                lenbytes = 2;
                kind = 3;
                break;
            case 0xdf:
                lenbytes = 4;
                kind = 3;
                break;
            default:
                return false; /* 0xc1 is never used */
            }
        }
        if (lenbytes) {
            uint64_t n;

            if (lenbytes > len - pos)
                return false;
            n = be(buf + pos, lenbytes);
            pos += lenbytes;
            if (kind == 1)
                skip += n;
            else
                items = kind == 2 ? n : 2 * n;
        }
        if (skip > len - pos)
            return false;
        pos += (size_t)skip;
        /* every pending element takes at least one byte */
        if (items > len - pos || pending + items > len - pos)
            return false;
        pending += (size_t)items;
    }
    *used = pos;
    return true;
}

static int buf_write(void *data, const char *buf, size_t len) {
    xq_buf_append(data, buf, len);
    return 0;
}

bool xq_mp_unpack_one(const void *buf, size_t len, msgpack_unpacked *msg) {
    size_t used = 0, off = 0;

    return xq_mp_validate(buf, len, &used) && used == len &&
           msgpack_unpack_next(msg, buf, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len;
}

void xq_mp_packer_init(msgpack_packer *pk, xq_buf_t *b) {
    msgpack_packer_init(pk, b, buf_write);
}

void xq_mp_pack_str(msgpack_packer *pk, const char *s) {
    xq_mp_pack_strn(pk, s, strlen(s));
}

void xq_mp_pack_strn(msgpack_packer *pk, const char *s, size_t len) {
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

const msgpack_object *xq_mp_map_get(const msgpack_object *map, const char *key) {
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        if (xq_mp_str_eq(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

bool xq_mp_str_eq(const msgpack_object *o, const char *s) {
    size_t n = strlen(s);

    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

void *xq_mp_zone_alloc(msgpack_zone *zone, size_t size) {
    void *p = msgpack_zone_malloc(zone, size ? size : 1);

    if (!p) {
        xq_log(XQ_LOG_ERROR, "mem", "out of memory allocating %zu bytes", size);
        abort();
    }
    return p;
}

char *xq_mp_zone_strdup(msgpack_zone *zone, const char *s, size_t len) {
    char *d = xq_mp_zone_alloc(zone, len + 1);

    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

static bool
copy_rec(msgpack_zone *zone, const msgpack_object *src, msgpack_object *dst, int depth) {
    if (depth > XQ_MP_MAX_DEPTH)
        return false;
    *dst = *src;
    switch (src->type) {
    case MSGPACK_OBJECT_STR:
        dst->via.str.ptr = xq_mp_zone_strdup(zone, src->via.str.ptr, src->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        dst->via.bin.ptr = xq_mp_zone_strdup(zone, src->via.bin.ptr, src->via.bin.size);
        break;
    case MSGPACK_OBJECT_EXT:
        dst->via.ext.ptr = xq_mp_zone_strdup(zone, src->via.ext.ptr, src->via.ext.size);
        break;
    case MSGPACK_OBJECT_ARRAY: {
        msgpack_object *a = NULL;

        if (src->via.array.size) {
            a = xq_mp_zone_alloc(zone, sizeof(*a) * src->via.array.size);
        }
        for (uint32_t i = 0; i < src->via.array.size; i++) {
            if (!copy_rec(zone, &src->via.array.ptr[i], &a[i], depth + 1))
                return false;
        }
        dst->via.array.ptr = a;
        break;
    }
    case MSGPACK_OBJECT_MAP: {
        msgpack_object_kv *kv = NULL;

        if (src->via.map.size) {
            kv = xq_mp_zone_alloc(zone, sizeof(*kv) * src->via.map.size);
        }
        for (uint32_t i = 0; i < src->via.map.size; i++) {
            if (!copy_rec(zone, &src->via.map.ptr[i].key, &kv[i].key, depth + 1) ||
                !copy_rec(zone, &src->via.map.ptr[i].val, &kv[i].val, depth + 1))
                return false;
        }
        dst->via.map.ptr = kv;
        break;
    }
    default:
        break;
    }
    return true;
}

bool xq_mp_zone_copy(msgpack_zone *zone, const msgpack_object *src, msgpack_object *dst) {
    return copy_rec(zone, src, dst, 0);
}

bool xq_mp_number(const msgpack_object *o, double *out) {
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)o->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)o->via.i64;
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = o->via.f64;
        return true;
    default:
        return false;
    }
}

#define XQ_MP_EXACT_INT 9007199254740992.0 /* 2^53: every integer below is a double */

void xq_mp_pack_number(msgpack_packer *pk, double d) {
    if (d == floor(d) && fabs(d) < XQ_MP_EXACT_INT) {
        if (d >= 0)
            msgpack_pack_uint64(pk, (uint64_t)d);
        else
            msgpack_pack_int64(pk, (int64_t)d);
    } else {
        msgpack_pack_double(pk, d);
    }
}

/* Orders map entries by key bytes; keys are known to be str. */
static int kv_cmp(const void *a, const void *b) {
    const msgpack_object *ka = &((const msgpack_object_kv *)a)->key;
    const msgpack_object *kb = &((const msgpack_object_kv *)b)->key;
    size_t n = ka->via.str.size < kb->via.str.size ? ka->via.str.size : kb->via.str.size;
    int c = memcmp(ka->via.str.ptr, kb->via.str.ptr, n);

    if (c)
        return c;
    return (ka->via.str.size > kb->via.str.size) - (ka->via.str.size < kb->via.str.size);
}

static bool canon_rec(msgpack_packer *pk, const msgpack_object *o, int depth) {
    if (depth > XQ_MP_MAX_DEPTH)
        return false;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        msgpack_pack_nil(pk);
        return true;
    case MSGPACK_OBJECT_BOOLEAN:
        if (o->via.boolean)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        return true;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        /* integers past 2^53 stay exact rather than round through double */
        msgpack_pack_uint64(pk, o->via.u64);
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        msgpack_pack_int64(pk, o->via.i64);
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64))
            return false;
        xq_mp_pack_number(pk, o->via.f64);
        return true;
    case MSGPACK_OBJECT_STR:
        xq_mp_pack_strn(pk, o->via.str.ptr, o->via.str.size);
        return true;
    case MSGPACK_OBJECT_BIN:
        msgpack_pack_bin(pk, o->via.bin.size);
        msgpack_pack_bin_body(pk, o->via.bin.ptr, o->via.bin.size);
        return true;
    case MSGPACK_OBJECT_ARRAY:
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (!canon_rec(pk, &o->via.array.ptr[i], depth + 1))
                return false;
        }
        return true;
    case MSGPACK_OBJECT_MAP: {
        uint32_t n = o->via.map.size;
        msgpack_object_kv *kv;
        bool ok = true;

        for (uint32_t i = 0; i < n; i++) {
            if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
                return false;
        }
        kv = xq_calloc(n ? n : 1, sizeof(*kv));
        if (n)
            memcpy(kv, o->via.map.ptr, n * sizeof(*kv));
        qsort(kv, n, sizeof(*kv), kv_cmp);
        msgpack_pack_map(pk, n);
        for (uint32_t i = 0; i < n && ok; i++) {
            xq_mp_pack_strn(pk, kv[i].key.via.str.ptr, kv[i].key.via.str.size);
            ok = canon_rec(pk, &kv[i].val, depth + 1);
        }
        xq_free(kv);
        return ok;
    }
    default:
        return false;
    }
}

bool xq_mp_pack_canonical(msgpack_packer *pk, const msgpack_object *o) {
    return canon_rec(pk, o, 0);
}

/* The header of the value at @p *pos: its size in bytes past the header and its children. */
static bool head(const uint8_t *b, size_t len, size_t *pos, uint64_t *body, uint64_t *kids) {
    static const uint8_t fixed[] = {
        /* c0..df: bytes after the type byte, for the types of a fixed size (0xff: variable) */
        0, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 4,    8,    1,    2,    4,    8,
        1, 2,    4, 8, 2,    3,    5,    9,    17,   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t t;
    size_t w = 0;
    uint64_t n = 0;

    if (*pos >= len)
        return false;
    t = b[(*pos)++];
    *body = *kids = 0;
    if (t <= 0x7f || t >= 0xe0)
        return true;
    if (t <= 0x8f) {
        *kids = 2u * (t & 0x0f);
        return true;
    }
    if (t <= 0x9f) {
        *kids = t & 0x0f;
        return true;
    }
    if (t <= 0xbf) {
        *body = t & 0x1f;
        return true;
    }
    if (t == 0xc1)
        return false;
    if (fixed[t - 0xc0] != 0xff) {
        *body = fixed[t - 0xc0];
        return true;
    }
    /* a length of w bytes follows: bin/str/ext 8-16-32, array/map 16-32 */
    w = (t == 0xc4 || t == 0xc7 || t == 0xd9)                             ? 1
        : (t == 0xc5 || t == 0xc8 || t == 0xda || t == 0xdc || t == 0xde) ? 2
                                                                          : 4;
    if (len - *pos < w)
        return false;
    for (size_t i = 0; i < w; i++)
        n = n << 8 | b[(*pos)++];
    if (t == 0xdc || t == 0xdd)
        *kids = n;
    else if (t == 0xde || t == 0xdf)
        *kids = 2 * n;
    else
        *body = n + (t >= 0xc7 && t <= 0xc9); /* ext: its type byte */
    return true;
}

/* Skips one value at @p *pos, however deep, without recursion. */
static bool skip_value(const uint8_t *b, size_t len, size_t *pos) {
    uint64_t pending = 1, body, kids;

    while (pending) {
        if (!head(b, len, pos, &body, &kids) || body > len - *pos || kids > len)
            return false;
        *pos += (size_t)body;
        pending += kids - 1;
        if (pending > len)
            return false; /* more values announced than bytes left */
    }
    return true;
}

static bool is_str(uint8_t t) {
    return (t >= 0xa0 && t <= 0xbf) || (t >= 0xd9 && t <= 0xdb);
}

bool xq_mp_peek_str(
    const uint8_t *buf, size_t len, const char *key, const uint8_t **val, size_t *val_len) {
    size_t pos = 0, klen = strlen(key);
    uint64_t body, kids;

    if (!head(buf, len, &pos, &body, &kids) || body || !kids || (buf[0] & 0xf0) == 0x90 ||
        buf[0] == 0xdc || buf[0] == 0xdd)
        return false; /* not a map */
    for (uint64_t i = 0, pairs = kids / 2; i < pairs; i++) {
        size_t kpos = pos, vpos;
        bool is_key;

        if (!head(buf, len, &pos, &body, &kids) || kids || body > len - pos)
            return false;
        is_key = is_str(buf[kpos]) && body == klen && !memcmp(buf + pos, key, klen);
        pos += (size_t)body;
        vpos = pos;
        if (is_key) {
            uint8_t t;

            if (!head(buf, len, &pos, &body, &kids) || kids || body > len - pos)
                return false;
            t = buf[vpos];
            if (!is_str(t))
                return false;
            *val = buf + pos;
            *val_len = (size_t)body;
            return true;
        }
        if (!skip_value(buf, len, &pos))
            return false;
    }
    return false;
}
