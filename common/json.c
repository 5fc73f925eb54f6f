/* json.c -- JSON text <-> msgpack: jansson parses, a small emitter writes. */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "mp.h"
#include "numfmt.h"

/* ==== JSON -> msgpack ==== */

static void pack_json(msgpack_packer *pk, json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;

        msgpack_pack_map(pk, json_object_size(j));
        json_object_foreach(j, key, val) {
            xq_mp_pack_str(pk, key);
            pack_json(pk, val);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *val;

        msgpack_pack_array(pk, json_array_size(j));
        json_array_foreach(j, i, val) {
            pack_json(pk, val);
        }
        break;
    }
    case JSON_STRING:
        xq_mp_pack_strn(pk, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        msgpack_pack_int64(pk, json_integer_value(j));
        break;
    case JSON_REAL:
        msgpack_pack_double(pk, json_real_value(j));
        break;
    case JSON_TRUE:
        msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        msgpack_pack_false(pk);
        break;
    case JSON_NULL:
        msgpack_pack_nil(pk);
        break;
    }
}

xq_err_t xq_json_to_msgpack(const char *text, size_t len, xq_buf_t *out, xq_error_t *err) {
    msgpack_packer pk;
    json_error_t jerr;
    json_t *root;

    /* jansson's own nesting limit (2048) bounds the recursion of pack_json() */
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return xq_error_set(err, XQ_EDECODE, "", "invalid JSON at line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    xq_mp_packer_init(&pk, out);
    pack_json(&pk, root);
    json_decref(root);
    return XQ_OK;
}

/* ==== msgpack -> JSON ==== */

void xq_json_append_str(xq_buf_t *out, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    xq_buf_reserve(out, len + 2);
    xq_buf_append(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        xq_buf_append(out, s + run, i - run);
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            n = 6;
            break;
        }
        xq_buf_append(out, esc, n);
    }
    xq_buf_append(out, s + run, len - run);
    xq_buf_append(out, "\"", 1);
}

/* Shortest "%.*g" that strtod()/strtof() reads back to the same value (numfmt.h). */
static void append_real(xq_buf_t *out, double d, bool is_f32) {
    char tmp[XQ_NUMFMT_SIZE];

    if (!isfinite(d)) {
        xq_buf_append_str(out, "null");
        return;
    }
    xq_buf_append(out, tmp, xq_numfmt_shortest(tmp, d, is_f32));
}

void xq_json_append_double(xq_buf_t *out, double d) {
    append_real(out, d, false);
}

static void append_base64(xq_buf_t *out, const uint8_t *p, size_t len) {
    xq_buf_append(out, "\"", 1);
    xq_base64_encode(p, len, out);
    xq_buf_append(out, "\"", 1);
}

static void newline(xq_buf_t *out, int flags, int depth) {
    if (!(flags & XQ_JSON_PRETTY))
        return;
    xq_buf_append(out, "\n", 1);
    for (int i = 0; i < depth; i++)
        xq_buf_append(out, "  ", 2);
}

static xq_err_t
emit(const msgpack_object *o, int flags, int depth, xq_buf_t *out, xq_error_t *err) {
    xq_err_t rc;

    if (depth > XQ_MP_MAX_DEPTH)
        return xq_error_set(err, XQ_EINVAL, "", "nesting deeper than %d levels", XQ_MP_MAX_DEPTH);
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        xq_buf_append_str(out, "null");
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        xq_buf_append_str(out, o->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        xq_buf_appendf(out, "%llu", (unsigned long long)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        xq_buf_appendf(out, "%lld", (long long)o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
        append_real(out, o->via.f64, true);
        break;
    case MSGPACK_OBJECT_FLOAT64:
        append_real(out, o->via.f64, false);
        break;
    case MSGPACK_OBJECT_STR:
        xq_json_append_str(out, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        append_base64(out, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        xq_buf_append(out, "[", 1);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                xq_buf_append(out, ",", 1);
            newline(out, flags, depth + 1);
            if ((rc = emit(&o->via.array.ptr[i], flags, depth + 1, out, err)) != XQ_OK)
                return rc;
        }
        if (o->via.array.size)
            newline(out, flags, depth);
        xq_buf_append(out, "]", 1);
        break;
    case MSGPACK_OBJECT_MAP:
        xq_buf_append(out, "{", 1);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;

            if (i)
                xq_buf_append(out, ",", 1);
            newline(out, flags, depth + 1);
            if (k->type == MSGPACK_OBJECT_STR) {
                xq_json_append_str(out, k->via.str.ptr, k->via.str.size);
            } else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                       k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                /* JSON keys are strings: an integer key prints as its decimal */
                xq_buf_append(out, "\"", 1);
                emit(k, 0, depth + 1, out, err);
                xq_buf_append(out, "\"", 1);
            } else {
                return xq_error_set(err, XQ_EINVAL, "", "map key is not a string");
            }
            xq_buf_append(out, (flags & XQ_JSON_PRETTY) ? ": " : ":",
                          (flags & XQ_JSON_PRETTY) ? 2 : 1);
            if ((rc = emit(&o->via.map.ptr[i].val, flags, depth + 1, out, err)) != XQ_OK)
                return rc;
        }
        if (o->via.map.size)
            newline(out, flags, depth);
        xq_buf_append(out, "}", 1);
        break;
    default:
        return xq_error_set(err, XQ_EINVAL, "", "msgpack ext values have no JSON form");
    }
    return XQ_OK;
}

xq_err_t xq_json_from_msgpack(const msgpack_object *o, int flags, xq_buf_t *out, xq_error_t *err) {
    return emit(o, flags, 0, out, err);
}
