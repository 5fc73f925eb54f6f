/* mp.c -- msgpack helpers shared by the codecs. */
#include "mp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int buf_write(void *data, const char *buf, size_t len) {
    xq_buf_append(data, buf, len);
    return 0;
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
