/* spec_read.c -- the spec parser's state (errors with JSON paths) and its readers of maps, scalars
 * and arrays. */
#include "spec_int.h"

/* ==== Parser state: the zone that owns the result, the errors, the JSON path ==== */

void xq_sp_fail(parser_t *p, const char *fmt, ...) {
    char msg[XQ_ERR_MSG_SIZE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xq_errlist_add(p->errs, XQ_ESPEC, p->path, "%s", msg);
}

static bool is_ident(const char *s, size_t len) {
    if (!len || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    }
    return true;
}

static void path_append(parser_t *p, const char *s, size_t len) {
    if (p->path_len + len > PATH_MAX_LEN)
        len = PATH_MAX_LEN > p->path_len ? PATH_MAX_LEN - p->path_len : 0;
    memcpy(p->path + p->path_len, s, len);
    p->path_len += len;
    p->path[p->path_len] = '\0';
}

/* Appends ".key", or ["key"] for keys that are not plain names; returns the old length. */
size_t xq_sp_push_key(parser_t *p, const char *key, size_t len) {
    size_t saved = p->path_len;

    if (is_ident(key, len)) {
        if (p->path_len)
            path_append(p, ".", 1);
        path_append(p, key, len);
    } else {
        path_append(p, "[\"", 2);
        for (size_t i = 0; i < len; i++) {
            char esc[8];

            if ((unsigned char)key[i] < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)key[i]);
                path_append(p, esc, 6);
                continue;
            }
            if (key[i] == '"' || key[i] == '\\')
                path_append(p, "\\", 1);
            path_append(p, key + i, 1);
        }
        path_append(p, "\"]", 2);
    }
    return saved;
}

size_t xq_sp_push(parser_t *p, const char *key) {
    return xq_sp_push_key(p, key, strlen(key));
}

size_t xq_sp_push_index(parser_t *p, size_t i) {
    size_t saved = p->path_len;
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "[%zu]", i);

    path_append(p, tmp, (size_t)n);
    return saved;
}

void xq_sp_pop(parser_t *p, size_t saved) {
    p->path_len = saved;
    p->path[saved] = '\0';
}

const char *xq_sp_type_name(const msgpack_object *o) {
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "null";
    case MSGPACK_OBJECT_BOOLEAN:
        return "boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "number";
    case MSGPACK_OBJECT_STR:
        return "string";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "object";
    case MSGPACK_OBJECT_BIN:
        return "binary";
    default:
        return "extension";
    }
}

/* ==== Maps with known fields ==== */


static bool key_is(const msgpack_object *k, const char *name) {
    return name && xq_mp_str_eq(k, name);
}

/*
 * Sorts the members of map @p o into @p slot[] by @p fields (NULL where
 * absent), reporting non-object input, unknown fields and fields set twice.
 * @returns false when @p o is not a map.
 */
bool xq_sp_walk_map(parser_t *p,
                    const msgpack_object *o,
                    const field_t *fields,
                    size_t n,
                    const msgpack_object **slot) {
    for (size_t i = 0; i < n; i++)
        slot[i] = NULL;
    if (o->type != MSGPACK_OBJECT_MAP) {
        xq_sp_fail(p, "expected an object, got %s", xq_sp_type_name(o));
        return false;
    }
    for (uint32_t k = 0; k < o->via.map.size; k++) {
        const msgpack_object *key = &o->via.map.ptr[k].key;
        size_t i, saved;

        if (key->type != MSGPACK_OBJECT_STR) {
            xq_sp_fail(p, "has a key of type %s; keys must be strings", xq_sp_type_name(key));
            continue;
        }
        for (i = 0; i < n; i++) {
            if (key_is(key, fields[i].json) || key_is(key, fields[i].proto))
                break;
        }
        saved = xq_sp_push_key(p, key->via.str.ptr, key->via.str.size);
        if (i == n) {
            char expected[200];
            size_t off = 0;

            for (size_t j = 0; j < n && off < sizeof(expected); j++)
                off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s%s",
                                        j ? ", " : "", fields[j].json);
            xq_sp_fail(p, "unknown field (expected one of: %s)", expected);
        } else if (slot[i]) {
            xq_sp_fail(p, "is set twice");
        } else {
            slot[i] = &o->via.map.ptr[k].val;
        }
        xq_sp_pop(p, saved);
    }
    return true;
}

/* Reports a union of which more than one member is set; @p names are the members' names. */
int xq_sp_check_union(parser_t *p,
                      const char *union_name,
                      const msgpack_object **slot,
                      const char *const *names,
                      size_t n) {
    char set[256];
    size_t off = 0;
    int cnt = 0;

    for (size_t i = 0; i < n; i++) {
        if (!slot[i])
            continue;
        if (off < sizeof(set))
            off += (size_t)snprintf(set + off, sizeof(set) - off, "%s%s", cnt ? " and " : "",
                                    names[i]);
        cnt++;
    }
    if (cnt > 1)
        xq_sp_fail(p, "union %s holds %s; only one may be set", union_name, set);
    return cnt;
}

/* ==== Scalars ==== */

/* Reads an integer: msgpack integers, integral floats, and decimal strings (proto3 JSON). */
static bool read_int(const msgpack_object *v, long long *out) {
    double d;

    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = v->via.u64 > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)v->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = v->via.i64;
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        d = v->via.f64;
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9e15)
            return false;
        *out = (long long)d;
        return true;
    case MSGPACK_OBJECT_STR: {
        char tmp[32];
        char *end;

        if (!v->via.str.size || v->via.str.size >= sizeof(tmp))
            return false;
        memcpy(tmp, v->via.str.ptr, v->via.str.size);
        tmp[v->via.str.size] = '\0';
        errno = 0;
        *out = strtoll(tmp, &end, 10);
        return errno == 0 && *end == '\0' && !isspace((unsigned char)tmp[0]);
    }
    default:
        return false;
    }
}

/* An integer field in [lo, hi]; the caller has pushed its name. */
bool xq_sp_get_int(parser_t *p, const msgpack_object *v, long long lo, long long hi, int *out) {
    long long x;

    if (!read_int(v, &x)) {
        if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
            xq_sp_fail(p, "expected an integer, got %g", v->via.f64);
        else
            xq_sp_fail(p, "expected an integer, got %s", xq_sp_type_name(v));
        return false;
    }
    if (x < lo || x > hi) {
        xq_sp_fail(p, "%lld is outside [%lld, %lld]", x, lo, hi);
        return false;
    }
    *out = (int)x;
    return true;
}

/* A finite number; the caller has pushed its name. */
bool xq_sp_get_double(parser_t *p, const msgpack_object *v, double *out) {
    if (!xq_mp_number(v, out)) {
        xq_sp_fail(p, "expected a number, got %s", xq_sp_type_name(v));
        return false;
    }
    if (!isfinite(*out)) {
        xq_sp_fail(p, "must be a finite number");
        return false;
    }
    return true;
}

/* A non-empty string without NUL bytes, copied into the zone; the caller has pushed its name. */
bool xq_sp_get_str(parser_t *p, const msgpack_object *v, const char **out) {
    if (v->type != MSGPACK_OBJECT_STR) {
        xq_sp_fail(p, "expected a string, got %s", xq_sp_type_name(v));
        return false;
    }
    if (!v->via.str.size) {
        xq_sp_fail(p, "must not be empty");
        return false;
    }
    if (memchr(v->via.str.ptr, '\0', v->via.str.size)) {
        xq_sp_fail(p, "must not contain NUL bytes");
        return false;
    }
    *out = xq_mp_zone_strdup(p->zone, v->via.str.ptr, v->via.str.size);
    return true;
}

/* An enum by name or by number, @p names NULL-terminated; the caller has pushed its name. */
bool xq_sp_get_enum(parser_t *p, const msgpack_object *v, const char *const *names, int *out) {
    char expected[200];
    size_t off = 0;
    int n = 0;

    while (names[n])
        n++;
    if (v->type == MSGPACK_OBJECT_STR) {
        for (int i = 0; i < n; i++) {
            if (xq_mp_str_eq(v, names[i])) {
                *out = i;
                return true;
            }
        }
    } else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 < (uint64_t)n) {
        *out = (int)v->via.u64;
        return true;
    } else if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
               v->type != MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        xq_sp_fail(p, "expected an enum name (string), got %s", xq_sp_type_name(v));
        return false;
    }
    for (int i = 0; i < n && off < sizeof(expected); i++)
        off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s%s", i ? ", " : "",
                                names[i]);
    if (v->type == MSGPACK_OBJECT_STR)
        xq_sp_fail(p, "unknown value \"%.*s\" (expected one of: %s)",
                   (int)(v->via.str.size > 64 ? 64 : v->via.str.size), v->via.str.ptr, expected);
    else
        xq_sp_fail(p, "unknown value %s (expected one of: %s)",
                   v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? "number" : "negative number",
                   expected);
    return false;
}

/*
 * A google.protobuf.Value: anything JSON can hold. Checked for what the
 * canonical form needs (finite numbers, string keys, bounded nesting), then
 * copied into the zone.
 */
bool xq_sp_check_value(parser_t *p, const msgpack_object *v, int depth) {
    bool ok = true;

    if (depth > XQ_MP_MAX_DEPTH) {
        xq_sp_fail(p, "nests deeper than %d levels", XQ_MP_MAX_DEPTH);
        return false;
    }
    switch (v->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(v->via.f64)) {
            xq_sp_fail(p, "must be a finite number");
            return false;
        }
        return true;
    case MSGPACK_OBJECT_EXT:
        xq_sp_fail(p, "msgpack extension values are not allowed");
        return false;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            size_t saved = xq_sp_push_index(p, i);

            ok = xq_sp_check_value(p, &v->via.array.ptr[i], depth + 1) && ok;
            xq_sp_pop(p, saved);
        }
        return ok;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            const msgpack_object *k = &v->via.map.ptr[i].key;
            size_t saved;

            if (k->type != MSGPACK_OBJECT_STR) {
                xq_sp_fail(p, "has a key of type %s; keys must be strings", xq_sp_type_name(k));
                ok = false;
                continue;
            }
            saved = xq_sp_push_key(p, k->via.str.ptr, k->via.str.size);
            ok = xq_sp_check_value(p, &v->via.map.ptr[i].val, depth + 1) && ok;
            xq_sp_pop(p, saved);
        }
        return ok;
    default:
        return true;
    }
}

bool xq_sp_get_value(parser_t *p, const msgpack_object *v, msgpack_object *out) {
    if (!xq_sp_check_value(p, v, 0))
        return false;
    xq_mp_zone_copy(p->zone, v, out); /* depth already bounded by xq_sp_check_value() */
    return true;
}

/* An array of Values (inputBaselines, encodedBaselines); the caller has pushed its name. */
bool xq_sp_get_value_list(parser_t *p, const msgpack_object *v, msgpack_object **out, size_t *cnt) {
    bool ok = true;

    if (v->type != MSGPACK_OBJECT_ARRAY) {
        xq_sp_fail(p, "expected an array, got %s", xq_sp_type_name(v));
        return false;
    }
    *cnt = v->via.array.size;
    *out = xq_mp_zone_alloc(p->zone, sizeof(**out) * (*cnt ? *cnt : 1));
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        size_t saved = xq_sp_push_index(p, i);

        ok = xq_sp_get_value(p, &v->via.array.ptr[i], &(*out)[i]) && ok;
        xq_sp_pop(p, saved);
    }
    return ok;
}

/* An array of non-empty strings; the caller has pushed its name. */
bool xq_sp_get_str_list(parser_t *p, const msgpack_object *v, const char ***out, size_t *cnt) {
    bool ok = true;

    if (v->type != MSGPACK_OBJECT_ARRAY) {
        xq_sp_fail(p, "expected an array of strings, got %s", xq_sp_type_name(v));
        return false;
    }
    *cnt = v->via.array.size;
    *out = xq_mp_zone_alloc(p->zone, sizeof(**out) * (*cnt ? *cnt : 1));
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        size_t saved = xq_sp_push_index(p, i);

        ok = xq_sp_get_str(p, &v->via.array.ptr[i], &(*out)[i]) && ok;
        xq_sp_pop(p, saved);
    }
    return ok;
}

/* true when @p a and @p b are arrays of the same nested sizes, or both not arrays. */
static bool same_shape(const msgpack_object *a, const msgpack_object *b) {
    if ((a->type == MSGPACK_OBJECT_ARRAY) != (b->type == MSGPACK_OBJECT_ARRAY))
        return false;
    if (a->type != MSGPACK_OBJECT_ARRAY)
        return true;
    if (a->via.array.size != b->via.array.size)
        return false;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        if (!same_shape(&a->via.array.ptr[i], &b->via.array.ptr[i]))
            return false;
    }
    return true;
}

/*
 * An n-dimensional array (ListValue) whose leaves pass @p leaf_ok; every
 * element of one level has the same depth. @returns the depth, or -1.
 */
int xq_sp_check_ndarray(parser_t *p,
                        const msgpack_object *v,
                        bool (*leaf_ok)(parser_t *, const msgpack_object *),
                        int depth) {
    int d = -2;

    if (depth > XQ_MP_MAX_DEPTH) {
        xq_sp_fail(p, "nests deeper than %d levels", XQ_MP_MAX_DEPTH);
        return -1;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return leaf_ok(p, v) ? 0 : -1;
    if (!v->via.array.size) {
        xq_sp_fail(p, "must not be an empty array");
        return -1;
    }
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        size_t saved = xq_sp_push_index(p, i);
        int di = xq_sp_check_ndarray(p, &v->via.array.ptr[i], leaf_ok, depth + 1);

        if (di >= 0 && i > 0 && !same_shape(&v->via.array.ptr[0], &v->via.array.ptr[i])) {
            xq_sp_fail(p, "has another shape than element 0; the array must be rectangular");
            di = -1;
        }
        xq_sp_pop(p, saved);
        if (di < 0) {
            d = -1;
            break;
        }
        d = di;
    }
    return d < 0 ? -1 : d + 1;
}

bool xq_sp_leaf_index(parser_t *p, const msgpack_object *v) {
    long long x;

    if (!read_int(v, &x) || v->type == MSGPACK_OBJECT_STR) {
        xq_sp_fail(p, "expected an output index (integer >= 0), got %s", xq_sp_type_name(v));
        return false;
    }
    if (x < 0) {
        xq_sp_fail(p, "output index %lld is negative", x);
        return false;
    }
    return true;
}

bool xq_sp_leaf_string(parser_t *p, const msgpack_object *v) {
    if (v->type != MSGPACK_OBJECT_STR) {
        xq_sp_fail(p, "expected a display name (string), got %s", xq_sp_type_name(v));
        return false;
    }
    return true;
}

/* ==== Input names, for cross-field rules ==== */

int xq_sp_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool xq_sp_has_input(const parser_t *p, const char *name) {
    return p->names && bsearch(&name, p->names, p->name_cnt, sizeof(*p->names), xq_sp_cmp_str);
}
