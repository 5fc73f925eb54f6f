/* spec.c -- ExplanationSpec: parse and validate (every error, with its path), defaults, canonical
 * form. */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "mp.h"
#include "sha256.h"

/* ==== Names ==== */

static const char *const method_names[] = {
    [XQ_METHOD_NONE] = "none",
    [XQ_METHOD_SAMPLED_SHAPLEY] = "sampledShapleyAttribution",
    [XQ_METHOD_INTEGRATED_GRADIENTS] = "integratedGradientsAttribution",
    [XQ_METHOD_XRAI] = "xraiAttribution",
    [XQ_METHOD_EXAMPLES] = "examples",
};

/* Enum name tables, indexed by the proto number (the seed's enum order). */
static const char *const encoding_names[] = {
    "ENCODING_UNSPECIFIED",   "IDENTITY",  "BAG_OF_FEATURES",
    "BAG_OF_FEATURES_SPARSE", "INDICATOR", "COMBINED_EMBEDDING",
    "CONCAT_EMBEDDING",       NULL};
static const char *const viz_type_names[] = {"TYPE_UNSPECIFIED", "PIXELS", "OUTLINES", NULL};
static const char *const polarity_names[] = {"POLARITY_UNSPECIFIED", "POSITIVE", "NEGATIVE", "BOTH",
                                             NULL};
static const char *const color_map_names[] = {
    "COLOR_MAP_UNSPECIFIED", "PINK_GREEN", "VIRIDIS", "RED", "GREEN", "RED_GREEN",
    "PINK_WHITE_GREEN",      NULL};
static const char *const overlay_names[] = {
    "OVERLAY_TYPE_UNSPECIFIED", "NONE", "ORIGINAL", "GRAYSCALE", "MASK_BLACK", NULL};
static const char *const data_format_names[] = {"DATA_FORMAT_UNSPECIFIED", "JSONL", NULL};
static const char *const preset_modality_names[] = {"MODALITY_UNSPECIFIED", "IMAGE", "TEXT",
                                                    "TABULAR", NULL};
static const char *const query_names[] = {"PRECISE", "FAST", NULL};
static const char *const modality_names[] = {"numeric", "image", NULL};

const char *xq_method_name(xq_method_t m) {
    return (unsigned)m <= XQ_METHOD_EXAMPLES ? method_names[m] : "unknown";
}

const char *xq_encoding_name(xq_encoding_t e) {
    return (unsigned)e <= XQ_ENCODING_CONCAT_EMBEDDING ? encoding_names[e] : "unknown";
}

/* ==== Parser state: the zone that owns the result, the errors, the JSON path ==== */

#define PATH_MAX_LEN 480 /* longer paths are cut; xq_error_t keeps XQ_ERR_FIELD_SIZE - 1 of it */

typedef struct parser {
    msgpack_zone *zone;
    xq_errlist_t *errs;
    char path[PATH_MAX_LEN + 16];
    size_t path_len;
    const char **names; /* sorted input names, for lookups by name */
    size_t name_cnt;
} parser_t;

static void fail(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(parser_t *p, const char *fmt, ...) {
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
static size_t push_key(parser_t *p, const char *key, size_t len) {
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

static size_t push(parser_t *p, const char *key) {
    return push_key(p, key, strlen(key));
}

static size_t push_index(parser_t *p, size_t i) {
    size_t saved = p->path_len;
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "[%zu]", i);

    path_append(p, tmp, (size_t)n);
    return saved;
}

static void pop(parser_t *p, size_t saved) {
    p->path_len = saved;
    p->path[saved] = '\0';
}

static const char *type_name(const msgpack_object *o) {
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

/* A message field: its JSON name, and its proto name when that differs. */
typedef struct field {
    const char *json;
    const char *proto;
} field_t;

#define FIELD_CNT(f) (sizeof(f) / sizeof((f)[0]))

static bool key_is(const msgpack_object *k, const char *name) {
    return name && xq_mp_str_eq(k, name);
}

/*
 * Sorts the members of map @p o into @p slot[] by @p fields (NULL where
 * absent), reporting non-object input, unknown fields and fields set twice.
 * @returns false when @p o is not a map.
 */
static bool walk_map(parser_t *p,
                     const msgpack_object *o,
                     const field_t *fields,
                     size_t n,
                     const msgpack_object **slot) {
    for (size_t i = 0; i < n; i++)
        slot[i] = NULL;
    if (o->type != MSGPACK_OBJECT_MAP) {
        fail(p, "expected an object, got %s", type_name(o));
        return false;
    }
    for (uint32_t k = 0; k < o->via.map.size; k++) {
        const msgpack_object *key = &o->via.map.ptr[k].key;
        size_t i, saved;

        if (key->type != MSGPACK_OBJECT_STR) {
            fail(p, "has a key of type %s; keys must be strings", type_name(key));
            continue;
        }
        for (i = 0; i < n; i++) {
            if (key_is(key, fields[i].json) || key_is(key, fields[i].proto))
                break;
        }
        saved = push_key(p, key->via.str.ptr, key->via.str.size);
        if (i == n) {
            char expected[200];
            size_t off = 0;

            for (size_t j = 0; j < n && off < sizeof(expected); j++)
                off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s%s",
                                        j ? ", " : "", fields[j].json);
            fail(p, "unknown field (expected one of: %s)", expected);
        } else if (slot[i]) {
            fail(p, "is set twice");
        } else {
            slot[i] = &o->via.map.ptr[k].val;
        }
        pop(p, saved);
    }
    return true;
}

/* Reports a union of which more than one member is set; @p names are the members' names. */
static int check_union(parser_t *p,
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
        fail(p, "union %s holds %s; only one may be set", union_name, set);
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
static bool get_int(parser_t *p, const msgpack_object *v, long long lo, long long hi, int *out) {
    long long x;

    if (!read_int(v, &x)) {
        if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
            fail(p, "expected an integer, got %g", v->via.f64);
        else
            fail(p, "expected an integer, got %s", type_name(v));
        return false;
    }
    if (x < lo || x > hi) {
        fail(p, "%lld is outside [%lld, %lld]", x, lo, hi);
        return false;
    }
    *out = (int)x;
    return true;
}

/* A finite number; the caller has pushed its name. */
static bool get_double(parser_t *p, const msgpack_object *v, double *out) {
    if (!xq_mp_number(v, out)) {
        fail(p, "expected a number, got %s", type_name(v));
        return false;
    }
    if (!isfinite(*out)) {
        fail(p, "must be a finite number");
        return false;
    }
    return true;
}

/* A non-empty string without NUL bytes, copied into the zone; the caller has pushed its name. */
static bool get_str(parser_t *p, const msgpack_object *v, const char **out) {
    if (v->type != MSGPACK_OBJECT_STR) {
        fail(p, "expected a string, got %s", type_name(v));
        return false;
    }
    if (!v->via.str.size) {
        fail(p, "must not be empty");
        return false;
    }
    if (memchr(v->via.str.ptr, '\0', v->via.str.size)) {
        fail(p, "must not contain NUL bytes");
        return false;
    }
    *out = xq_mp_zone_strdup(p->zone, v->via.str.ptr, v->via.str.size);
    return true;
}

/* An enum by name or by number, @p names NULL-terminated; the caller has pushed its name. */
static bool get_enum(parser_t *p, const msgpack_object *v, const char *const *names, int *out) {
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
        fail(p, "expected an enum name (string), got %s", type_name(v));
        return false;
    }
    for (int i = 0; i < n && off < sizeof(expected); i++)
        off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s%s", i ? ", " : "",
                                names[i]);
    if (v->type == MSGPACK_OBJECT_STR)
        fail(p, "unknown value \"%.*s\" (expected one of: %s)",
             (int)(v->via.str.size > 64 ? 64 : v->via.str.size), v->via.str.ptr, expected);
    else
        fail(p, "unknown value %s (expected one of: %s)",
             v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? "number" : "negative number", expected);
    return false;
}

/*
 * A google.protobuf.Value: anything JSON can hold. Checked for what the
 * canonical form needs (finite numbers, string keys, bounded nesting), then
 * copied into the zone.
 */
static bool check_value(parser_t *p, const msgpack_object *v, int depth) {
    bool ok = true;

    if (depth > XQ_MP_MAX_DEPTH) {
        fail(p, "nests deeper than %d levels", XQ_MP_MAX_DEPTH);
        return false;
    }
    switch (v->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(v->via.f64)) {
            fail(p, "must be a finite number");
            return false;
        }
        return true;
    case MSGPACK_OBJECT_EXT:
        fail(p, "msgpack extension values are not allowed");
        return false;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            size_t saved = push_index(p, i);

            ok = check_value(p, &v->via.array.ptr[i], depth + 1) && ok;
            pop(p, saved);
        }
        return ok;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            const msgpack_object *k = &v->via.map.ptr[i].key;
            size_t saved;

            if (k->type != MSGPACK_OBJECT_STR) {
                fail(p, "has a key of type %s; keys must be strings", type_name(k));
                ok = false;
                continue;
            }
            saved = push_key(p, k->via.str.ptr, k->via.str.size);
            ok = check_value(p, &v->via.map.ptr[i].val, depth + 1) && ok;
            pop(p, saved);
        }
        return ok;
    default:
        return true;
    }
}

static bool get_value(parser_t *p, const msgpack_object *v, msgpack_object *out) {
    if (!check_value(p, v, 0))
        return false;
    xq_mp_zone_copy(p->zone, v, out); /* depth already bounded by check_value() */
    return true;
}

/* An array of Values (inputBaselines, encodedBaselines); the caller has pushed its name. */
static bool
get_value_list(parser_t *p, const msgpack_object *v, msgpack_object **out, size_t *cnt) {
    bool ok = true;

    if (v->type != MSGPACK_OBJECT_ARRAY) {
        fail(p, "expected an array, got %s", type_name(v));
        return false;
    }
    *cnt = v->via.array.size;
    *out = xq_mp_zone_alloc(p->zone, sizeof(**out) * (*cnt ? *cnt : 1));
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        size_t saved = push_index(p, i);

        ok = get_value(p, &v->via.array.ptr[i], &(*out)[i]) && ok;
        pop(p, saved);
    }
    return ok;
}

/* An array of non-empty strings; the caller has pushed its name. */
static bool get_str_list(parser_t *p, const msgpack_object *v, const char ***out, size_t *cnt) {
    bool ok = true;

    if (v->type != MSGPACK_OBJECT_ARRAY) {
        fail(p, "expected an array of strings, got %s", type_name(v));
        return false;
    }
    *cnt = v->via.array.size;
    *out = xq_mp_zone_alloc(p->zone, sizeof(**out) * (*cnt ? *cnt : 1));
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        size_t saved = push_index(p, i);

        ok = get_str(p, &v->via.array.ptr[i], &(*out)[i]) && ok;
        pop(p, saved);
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
static int check_ndarray(parser_t *p,
                         const msgpack_object *v,
                         bool (*leaf_ok)(parser_t *, const msgpack_object *),
                         int depth) {
    int d = -2;

    if (depth > XQ_MP_MAX_DEPTH) {
        fail(p, "nests deeper than %d levels", XQ_MP_MAX_DEPTH);
        return -1;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return leaf_ok(p, v) ? 0 : -1;
    if (!v->via.array.size) {
        fail(p, "must not be an empty array");
        return -1;
    }
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        size_t saved = push_index(p, i);
        int di = check_ndarray(p, &v->via.array.ptr[i], leaf_ok, depth + 1);

        if (di >= 0 && i > 0 && !same_shape(&v->via.array.ptr[0], &v->via.array.ptr[i])) {
            fail(p, "has another shape than element 0; the array must be rectangular");
            di = -1;
        }
        pop(p, saved);
        if (di < 0) {
            d = -1;
            break;
        }
        d = di;
    }
    return d < 0 ? -1 : d + 1;
}

static bool leaf_index(parser_t *p, const msgpack_object *v) {
    long long x;

    if (!read_int(v, &x) || v->type == MSGPACK_OBJECT_STR) {
        fail(p, "expected an output index (integer >= 0), got %s", type_name(v));
        return false;
    }
    if (x < 0) {
        fail(p, "output index %lld is negative", x);
        return false;
    }
    return true;
}

static bool leaf_string(parser_t *p, const msgpack_object *v) {
    if (v->type != MSGPACK_OBJECT_STR) {
        fail(p, "expected a display name (string), got %s", type_name(v));
        return false;
    }
    return true;
}

/* ==== Input names, for cross-field rules ==== */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool has_input(const parser_t *p, const char *name) {
    return p->names && bsearch(&name, p->names, p->name_cnt, sizeof(*p->names), cmp_str);
}

/* ==== ExplanationParameters ==== */

static void
parse_smoothgrad(parser_t *p, const msgpack_object *v, bool have_meta, xq_smoothgrad_t *sg) {
    static const field_t f[] = {{"noisySampleCount", "noisy_sample_count"},
                                {"noiseSigma", "noise_sigma"},
                                {"featureNoiseSigma", "feature_noise_sigma"}};
    static const field_t fns[] = {{"noiseSigma", "noise_sigma"}};
    static const field_t fone[] = {{"name", NULL}, {"sigma", NULL}};
    static const char *const union_names[] = {"noiseSigma", "featureNoiseSigma"};
    const msgpack_object *s[FIELD_CNT(f)], *sl[1], *so[2];
    size_t saved;

    sg->present = true;
    sg->noisy_sample_count = 3;
    sg->noise_kind = XQ_NOISE_SIGMA;
    sg->noise_sigma = 0.1;
    if (!walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    check_union(p, "GradientNoiseSigma", s + 1, union_names, 2);
    if (s[0]) {
        saved = push(p, "noisySampleCount");
        get_int(p, s[0], 1, 50, &sg->noisy_sample_count);
        pop(p, saved);
    }
    if (s[1]) {
        saved = push(p, "noiseSigma");
        if (get_double(p, s[1], &sg->noise_sigma) && sg->noise_sigma < 0)
            fail(p, "%g is negative; a standard deviation must be >= 0", sg->noise_sigma);
        pop(p, saved);
    }
    if (!s[2])
        return;
    sg->noise_kind = XQ_NOISE_FEATURE;
    saved = push(p, "featureNoiseSigma");
    if (!walk_map(p, s[2], fns, 1, sl) || !sl[0]) {
        pop(p, saved);
        return;
    }
    push(p, "noiseSigma");
    if (sl[0]->type != MSGPACK_OBJECT_ARRAY) {
        fail(p, "expected an array, got %s", type_name(sl[0]));
        pop(p, saved);
        return;
    }
    sg->feature_cnt = sl[0]->via.array.size;
    sg->feature = xq_mp_zone_alloc(p->zone, sizeof(*sg->feature) * (sg->feature_cnt + 1));
    for (size_t i = 0; i < sg->feature_cnt; i++) {
        xq_feature_sigma_t *fs = &sg->feature[i];
        size_t si = push_index(p, i), sn;

        fs->name = NULL;
        fs->sigma = 0.1;
        if (walk_map(p, &sl[0]->via.array.ptr[i], fone, 2, so)) {
            sn = push(p, "name");
            if (!so[0]) {
                fail(p, "is required");
            } else if (get_str(p, so[0], &fs->name)) {
                if (have_meta && !has_input(p, fs->name))
                    fail(p, "unknown feature \"%s\" (not a key of metadata.inputs)", fs->name);
                for (size_t j = 0; j < i; j++) {
                    if (sg->feature[j].name && strcmp(sg->feature[j].name, fs->name) == 0) {
                        fail(p, "feature \"%s\" is listed twice", fs->name);
                        break;
                    }
                }
            }
            pop(p, sn);
            if (so[1]) {
                sn = push(p, "sigma");
                if (get_double(p, so[1], &fs->sigma) && fs->sigma < 0)
                    fail(p, "%g is negative; a standard deviation must be >= 0", fs->sigma);
                pop(p, sn);
            }
        }
        pop(p, si);
    }
    pop(p, saved);
}

static void parse_blur(parser_t *p, const msgpack_object *v, xq_blur_t *blur) {
    static const field_t f[] = {{"maxBlurSigma", "max_blur_sigma"}};
    const msgpack_object *s[1];

    blur->present = true;
    if (!walk_map(p, v, f, 1, s) || !s[0])
        return;
    size_t saved = push(p, "maxBlurSigma");
    if (get_double(p, s[0], &blur->max_blur_sigma)) {
        if (blur->max_blur_sigma <= 0)
            fail(p, "%g must be greater than 0", blur->max_blur_sigma);
        else
            blur->has_sigma = true;
    }
    pop(p, saved);
}

static void parse_ig(parser_t *p, const msgpack_object *v, bool have_meta, xq_ig_params_t *ig) {
    static const field_t f[] = {{"stepCount", "step_count"},
                                {"smoothGradConfig", "smooth_grad_config"},
                                {"blurBaselineConfig", "blur_baseline_config"}};
    const msgpack_object *s[FIELD_CNT(f)];
    size_t saved;

    if (!walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    saved = push(p, "stepCount");
    if (!s[0])
        fail(p, "is required");
    else
        get_int(p, s[0], 1, 100, &ig->step_count);
    pop(p, saved);
    if (s[1]) {
        saved = push(p, "smoothGradConfig");
        parse_smoothgrad(p, s[1], have_meta, &ig->smoothgrad);
        pop(p, saved);
    }
    if (s[2]) {
        saved = push(p, "blurBaselineConfig");
        parse_blur(p, s[2], &ig->blur);
        pop(p, saved);
    }
}

static void parse_shapley(parser_t *p, const msgpack_object *v, xq_params_t *params) {
    static const field_t f[] = {{"pathCount", "path_count"}};
    const msgpack_object *s[1];

    if (!walk_map(p, v, f, 1, s))
        return;
    size_t saved = push(p, "pathCount");
    if (!s[0])
        fail(p, "is required");
    else
        get_int(p, s[0], 1, 50, &params->path_count);
    pop(p, saved);
}

static void parse_gcs_source(parser_t *p, const msgpack_object *v, xq_examples_t *ex) {
    static const field_t f[] = {{"dataFormat", "data_format"}, {"gcsSource", "gcs_source"}};
    static const field_t fg[] = {{"uris", NULL}};
    const msgpack_object *s[2], *sg[1];
    size_t saved;
    int e;

    ex->has_gcs_source = true;
    ex->data_format = XQ_DATA_FORMAT_JSONL;
    if (!walk_map(p, v, f, 2, s))
        return;
    if (s[0]) {
        saved = push(p, "dataFormat");
        if (get_enum(p, s[0], data_format_names, &e) && e != XQ_DATA_FORMAT_UNSPECIFIED)
            ex->data_format = (xq_data_format_t)e;
        pop(p, saved);
    }
    saved = push(p, "gcsSource");
    if (!s[1]) {
        fail(p, "is required");
    } else if (walk_map(p, s[1], fg, 1, sg)) {
        push(p, "uris");
        if (!sg[0])
            fail(p, "is required");
        else if (get_str_list(p, sg[0], &ex->gcs_uris, &ex->gcs_uri_cnt) && !ex->gcs_uri_cnt)
            fail(p, "must list at least one URI");
    }
    pop(p, saved);
}

static void parse_presets(parser_t *p, const msgpack_object *v, xq_presets_t *pr) {
    static const field_t f[] = {{"modality", NULL}, {"query", NULL}};
    const msgpack_object *s[2];
    size_t saved;
    int e;

    pr->query = XQ_QUERY_PRECISE;
    if (!walk_map(p, v, f, 2, s))
        return;
    saved = push(p, "modality");
    if (!s[0]) {
        fail(p, "is required (IMAGE, TEXT or TABULAR)");
    } else if (get_enum(p, s[0], preset_modality_names, &e)) {
        if (e == XQ_PRESET_MODALITY_UNSPECIFIED)
            fail(p, "MODALITY_UNSPECIFIED must not be set; choose IMAGE, TEXT or TABULAR");
        pr->modality = (xq_preset_modality_t)e;
    }
    pop(p, saved);
    if (s[1]) {
        saved = push(p, "query");
        if (get_enum(p, s[1], query_names, &e))
            pr->query = (xq_query_t)e;
        pop(p, saved);
    }
}

static void parse_examples(parser_t *p, const msgpack_object *v, xq_examples_t *ex) {
    static const field_t f[] = {{"neighborCount", "neighbor_count"},
                                {"exampleGcsSource", "example_gcs_source"},
                                {"nearestNeighborSearchConfig", "nearest_neighbor_search_config"},
                                {"presets", NULL}};
    static const char *const config_names[] = {"nearestNeighborSearchConfig", "presets"};
    const msgpack_object *s[FIELD_CNT(f)];
    size_t saved;

    if (!walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    check_union(p, "config", s + 2, config_names, 2);
    if (s[0]) {
        saved = push(p, "neighborCount");
        ex->has_neighbor_count = get_int(p, s[0], 1, 10000, &ex->neighbor_count);
        pop(p, saved);
    }
    if (s[1]) {
        saved = push(p, "exampleGcsSource");
        parse_gcs_source(p, s[1], ex);
        pop(p, saved);
    }
    if (s[2]) {
        saved = push(p, "nearestNeighborSearchConfig");
        ex->config = XQ_EXAMPLES_CONFIG_NEAREST_NEIGHBOR;
        if (s[2]->type != MSGPACK_OBJECT_MAP)
            fail(p, "expected an object, got %s", type_name(s[2]));
        else
            get_value(p, s[2], &ex->nn_config);
        pop(p, saved);
    }
    if (s[3]) {
        saved = push(p, "presets");
        ex->config = XQ_EXAMPLES_CONFIG_PRESETS;
        parse_presets(p, s[3], &ex->presets);
        pop(p, saved);
    }
}

static void
parse_params(parser_t *p, const msgpack_object *v, bool have_meta, xq_params_t *params) {
    static const field_t f[] = {
        {"sampledShapleyAttribution", "sampled_shapley_attribution"},
        {"integratedGradientsAttribution", "integrated_gradients_attribution"},
        {"xraiAttribution", "xrai_attribution"},
        {"examples", NULL},
        {"topK", "top_k"},
        {"outputIndices", "output_indices"},
    };
    static const char *const union_names[] = {"sampledShapleyAttribution",
                                              "integratedGradientsAttribution", "xraiAttribution",
                                              "examples"};
    const msgpack_object *s[FIELD_CNT(f)];
    size_t saved;

    params->top_k = 1;
    if (!walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    if (check_union(p, "method", s, union_names, 4) == 0)
        fail(p, "one of sampledShapleyAttribution, integratedGradientsAttribution, "
                "xraiAttribution, examples is required");
    for (int m = 0; m < 4; m++) {
        if (!s[m])
            continue;
        params->method = (xq_method_t)(XQ_METHOD_SAMPLED_SHAPLEY + m);
        saved = push(p, union_names[m]);
        if (m == 0)
            parse_shapley(p, s[m], params);
        else if (m == 3)
            parse_examples(p, s[m], &params->examples);
        else
            parse_ig(p, s[m], have_meta, &params->ig);
        pop(p, saved);
    }
    if (s[4]) {
        saved = push(p, "topK");
        if (get_int(p, s[4], -1, INT32_MAX, &params->top_k)) {
            if (params->top_k == 0)
                fail(p, "0 is not allowed; use -1 for all outputs or a count >= 1");
            else
                params->has_top_k = true;
        }
        pop(p, saved);
    }
    if (s[5]) {
        saved = push(p, "outputIndices");
        if (s[5]->type != MSGPACK_OBJECT_ARRAY)
            fail(p, "expected an array of output indices, got %s", type_name(s[5]));
        else if (check_ndarray(p, s[5], leaf_index, 0) > 0)
            params->has_output_indices = get_value(p, s[5], &params->output_indices);
        pop(p, saved);
    }
}

/* ==== ExplanationMetadata ==== */

static void parse_domain(parser_t *p, const msgpack_object *v, xq_domain_t *d) {
    static const field_t f[] = {{"minValue", "min_value"},
                                {"maxValue", "max_value"},
                                {"originalMean", "original_mean"},
                                {"originalStddev", "original_stddev"}};
    const msgpack_object *s[4];
    double *dst[4] = {&d->min_value, &d->max_value, &d->original_mean, &d->original_stddev};
    bool *has[4] = {&d->has_min, &d->has_max, &d->has_mean, &d->has_stddev};

    d->present = true;
    if (!walk_map(p, v, f, 4, s))
        return;
    for (int i = 0; i < 4; i++) {
        if (!s[i])
            continue;
        size_t saved = push(p, f[i].json);
        *has[i] = get_double(p, s[i], dst[i]);
        pop(p, saved);
    }
    if (d->has_min && d->has_max && !(d->min_value < d->max_value))
        fail(p, "minValue (%g) must be less than maxValue (%g)", d->min_value, d->max_value);
    if (d->has_stddev && !(d->original_stddev > 0)) {
        size_t saved = push(p, "originalStddev");
        fail(p, "%g must be greater than 0", d->original_stddev);
        pop(p, saved);
    }
}

static void parse_viz(parser_t *p, const msgpack_object *v, xq_viz_t *viz) {
    static const field_t f[] = {{"type", NULL},
                                {"polarity", NULL},
                                {"colorMap", "color_map"},
                                {"clipPercentUpperbound", "clip_percent_upperbound"},
                                {"clipPercentLowerbound", "clip_percent_lowerbound"},
                                {"overlayType", "overlay_type"}};
    const char *const *enums[] = {viz_type_names, polarity_names, color_map_names};
    int *dst[] = {(int *)&viz->type, (int *)&viz->polarity, (int *)&viz->color_map};
    const msgpack_object *s[FIELD_CNT(f)];
    bool ok_upper = true, ok_lower = true;
    size_t saved;
    int e;

    viz->present = true;
    viz->type = XQ_VIZ_TYPE_UNSPECIFIED; /* by method, see apply_defaults() */
    viz->polarity = XQ_POLARITY_POSITIVE;
    viz->color_map = XQ_COLOR_MAP_UNSPECIFIED; /* by method, see apply_defaults() */
    viz->clip_upper = 99.9;
    viz->clip_lower = 62;
    viz->overlay = XQ_OVERLAY_NONE;
    if (!walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    for (int i = 0; i < 3; i++) {
        if (!s[i])
            continue;
        saved = push(p, f[i].json);
        if (get_enum(p, s[i], enums[i], &e) && e != 0)
            *dst[i] = e;
        pop(p, saved);
    }
    for (int i = 3; i < 5; i++) {
        double *clip = i == 3 ? &viz->clip_upper : &viz->clip_lower;
        bool *ok = i == 3 ? &ok_upper : &ok_lower;

        if (!s[i])
            continue;
        saved = push(p, f[i].json);
        if (!get_double(p, s[i], clip)) {
            *ok = false;
        } else if (*clip < 0 || *clip > 100) {
            fail(p, "%g is outside [0, 100]", *clip);
            *ok = false;
        }
        pop(p, saved);
    }
    if (ok_upper && ok_lower && !(viz->clip_lower < viz->clip_upper))
        fail(p, "clipPercentLowerbound (%g%s) must be less than clipPercentUpperbound (%g%s)",
             viz->clip_lower, s[4] ? "" : ", the default", viz->clip_upper,
             s[3] ? "" : ", the default");
    if (s[5]) {
        saved = push(p, "overlayType");
        if (get_enum(p, s[5], overlay_names, &e) && e != 0)
            viz->overlay = (xq_overlay_t)e;
        pop(p, saved);
    }
}

static void parse_input(parser_t *p, const msgpack_object *v, xq_input_meta_t *in) {
    static const field_t f[] = {
        {"inputBaselines", "input_baselines"},
        {"inputTensorName", "input_tensor_name"},
        {"encoding", NULL},
        {"modality", NULL},
        {"featureValueDomain", "feature_value_domain"},
        {"indicesTensorName", "indices_tensor_name"},
        {"denseShapeTensorName", "dense_shape_tensor_name"},
        {"indexFeatureMapping", "index_feature_mapping"},
        {"encodedTensorName", "encoded_tensor_name"},
        {"encodedBaselines", "encoded_baselines"},
        {"visualization", NULL},
        {"groupName", "group_name"},
    };
    const msgpack_object *s[FIELD_CNT(f)];
    const char **strs[FIELD_CNT(f)] = {
        [1] = &in->input_tensor_name,
        [5] = &in->indices_tensor_name,
        [6] = &in->dense_shape_tensor_name,
        [8] = &in->encoded_tensor_name,
        [11] = &in->group_name,
    };
    bool has_mapping = false;
    size_t saved;
    int e;

    in->encoding = XQ_ENCODING_IDENTITY;
    in->modality = XQ_MODALITY_NUMERIC;
    if (!walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    for (size_t i = 0; i < FIELD_CNT(f); i++) {
        if (!s[i])
            continue;
        saved = push(p, f[i].json);
        switch (i) {
        case 0:
            get_value_list(p, s[i], &in->baselines, &in->baseline_cnt);
            break;
        case 2:
            if (get_enum(p, s[i], encoding_names, &e) && e != XQ_ENCODING_UNSPECIFIED)
                in->encoding = (xq_encoding_t)e;
            break;
        case 3:
            if (s[i]->type == MSGPACK_OBJECT_STR && get_enum(p, s[i], modality_names, &e))
                in->modality = (xq_modality_t)e;
            else if (s[i]->type != MSGPACK_OBJECT_STR)
                fail(p, "expected a string (numeric or image), got %s", type_name(s[i]));
            break;
        case 4:
            parse_domain(p, s[i], &in->domain);
            break;
        case 7:
            if (get_str_list(p, s[i], &in->index_feature_mapping, &in->index_feature_cnt)) {
                has_mapping = in->index_feature_cnt > 0;
                for (size_t a = 0; a < in->index_feature_cnt; a++) {
                    for (size_t b = 0; b < a; b++) {
                        if (strcmp(in->index_feature_mapping[a], in->index_feature_mapping[b]))
                            continue;
                        size_t si = push_index(p, a);
                        fail(p, "\"%s\" is listed twice", in->index_feature_mapping[a]);
                        pop(p, si);
                        break;
                    }
                }
            } else {
                has_mapping = true; /* reported already; do not also say it is missing */
            }
            break;
        case 9:
            get_value_list(p, s[i], &in->encoded_baselines, &in->encoded_baseline_cnt);
            break;
        case 10:
            parse_viz(p, s[i], &in->viz);
            break;
        default:
            get_str(p, s[i], strs[i]);
            break;
        }
        pop(p, saved);
    }
    switch (in->encoding) {
    case XQ_ENCODING_BAG_OF_FEATURES:
    case XQ_ENCODING_BAG_OF_FEATURES_SPARSE:
    case XQ_ENCODING_INDICATOR:
        if (!has_mapping) {
            saved = push(p, "indexFeatureMapping");
            fail(p, "is required (non-empty) when encoding is %s", encoding_names[in->encoding]);
            pop(p, saved);
        }
        break;
    case XQ_ENCODING_COMBINED_EMBEDDING:
    case XQ_ENCODING_CONCAT_EMBEDDING:
        if (!s[8]) {
            saved = push(p, "encodedTensorName");
            fail(p, "is required when encoding is %s", encoding_names[in->encoding]);
            pop(p, saved);
        }
        break;
    default:
        break;
    }
}

static void parse_output(parser_t *p, const msgpack_object *v, xq_output_meta_t *out) {
    static const field_t f[] = {{"outputTensorName", "output_tensor_name"},
                                {"indexDisplayNameMapping", "index_display_name_mapping"},
                                {"displayNameMappingKey", "display_name_mapping_key"}};
    static const char *const union_names[] = {"indexDisplayNameMapping", "displayNameMappingKey"};
    const msgpack_object *s[3];
    size_t saved;

    if (!walk_map(p, v, f, 3, s))
        return;
    check_union(p, "display_name_mapping", s + 1, union_names, 2);
    if (s[0]) {
        saved = push(p, "outputTensorName");
        get_str(p, s[0], &out->output_tensor_name);
        pop(p, saved);
    }
    if (s[1]) {
        saved = push(p, "indexDisplayNameMapping");
        if (s[1]->type != MSGPACK_OBJECT_ARRAY)
            fail(p, "expected an array of display names, got %s", type_name(s[1]));
        else if (check_ndarray(p, s[1], leaf_string, 0) > 0 &&
                 get_value(p, s[1], &out->index_display_name_mapping))
            out->display = XQ_DISPLAY_INDEX_MAPPING;
        pop(p, saved);
    }
    if (s[2]) {
        saved = push(p, "displayNameMappingKey");
        if (get_str(p, s[2], &out->display_name_mapping_key))
            out->display = XQ_DISPLAY_KEY;
        pop(p, saved);
    }
}

/* Reads the keys of a name -> message map; @returns its size, or -1 if not a map. */
static long map_names(parser_t *p, const msgpack_object *v, const char ***names) {
    uint32_t n;

    if (v->type != MSGPACK_OBJECT_MAP) {
        fail(p, "expected an object, got %s", type_name(v));
        return -1;
    }
    n = v->via.map.size;
    *names = xq_mp_zone_alloc(p->zone, sizeof(**names) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *k = &v->via.map.ptr[i].key;

        (*names)[i] = NULL;
        if (k->type != MSGPACK_OBJECT_STR) {
            fail(p, "has a key of type %s; keys must be strings", type_name(k));
            continue;
        }
        size_t saved = push_key(p, k->via.str.ptr, k->via.str.size);
        get_str(p, k, &(*names)[i]);
        for (uint32_t j = 0; j < i && (*names)[i]; j++) {
            if ((*names)[j] && strcmp((*names)[j], (*names)[i]) == 0) {
                fail(p, "is set twice");
                break;
            }
        }
        pop(p, saved);
    }
    return n;
}

static void parse_metadata(parser_t *p, const msgpack_object *v, xq_metadata_t *meta) {
    static const field_t f[] = {{"inputs", NULL},
                                {"outputs", NULL},
                                {"featureAttributionsSchemaUri", "feature_attributions_schema_uri"},
                                {"latentSpaceSource", "latent_space_source"}};
    const msgpack_object *s[FIELD_CNT(f)];
    const char **names;
    size_t saved;
    long n;

    meta->present = true;
    if (!walk_map(p, v, f, FIELD_CNT(f), s))
        return;

    saved = push(p, "inputs");
    if (!s[0]) {
        fail(p, "is required");
    } else if ((n = map_names(p, s[0], &names)) == 0) {
        fail(p, "must describe at least one input");
    } else if (n > 0) {
        meta->input_cnt = (size_t)n;
        meta->inputs = xq_mp_zone_alloc(p->zone, sizeof(*meta->inputs) * (size_t)n);
        memset(meta->inputs, 0, sizeof(*meta->inputs) * (size_t)n);
        for (long i = 0; i < n; i++) {
            meta->inputs[i].name = names[i];
            if (!names[i])
                continue;
            size_t si = push(p, names[i]);
            parse_input(p, &s[0]->via.map.ptr[i].val, &meta->inputs[i]);
            pop(p, si);
        }
    }
    pop(p, saved);

    saved = push(p, "outputs");
    if (!s[1]) {
        fail(p, "is required");
    } else if ((n = map_names(p, s[1], &names)) >= 0 && n != 1) {
        fail(p, "has %ld keys; exactly one output must be described", n);
    } else if (n == 1) {
        meta->output_cnt = 1;
        meta->outputs = xq_mp_zone_alloc(p->zone, sizeof(*meta->outputs));
        memset(meta->outputs, 0, sizeof(*meta->outputs));
        meta->outputs[0].name = names[0];
        if (names[0]) {
            size_t si = push(p, names[0]);
            parse_output(p, &s[1]->via.map.ptr[0].val, &meta->outputs[0]);
            pop(p, si);
        }
    }
    pop(p, saved);

    if (s[2]) {
        saved = push(p, "featureAttributionsSchemaUri");
        get_str(p, s[2], &meta->feature_attributions_schema_uri);
        pop(p, saved);
    }
    if (s[3]) {
        saved = push(p, "latentSpaceSource");
        get_str(p, s[3], &meta->latent_space_source);
        pop(p, saved);
    }

    /* a sorted copy of the input names serves the rules that look inputs up by name */
    p->name_cnt = 0;
    p->names = xq_calloc(meta->input_cnt + 1, sizeof(*p->names));
    for (size_t i = 0; i < meta->input_cnt; i++) {
        if (meta->inputs[i].name)
            p->names[p->name_cnt++] = meta->inputs[i].name;
    }
    qsort(p->names, p->name_cnt, sizeof(*p->names), cmp_str);
}

/* Rules that span inputs: equal baseline counts; group names apart from input names. */
static void check_inputs(parser_t *p, xq_spec_t *spec) {
    const xq_metadata_t *meta = &spec->meta;
    char first[PATH_MAX_LEN + 16] = ""; /* path of the first baseline list seen */
    size_t k = 0, saved;

    for (size_t i = 0; i < meta->input_cnt; i++) {
        const xq_input_meta_t *in = &meta->inputs[i];
        const char *fields[2] = {"inputBaselines", "encodedBaselines"};
        size_t cnt[2] = {in->baseline_cnt, in->encoded_baseline_cnt};

        if (!in->name)
            continue;
        for (int j = 0; j < 2; j++) {
            if (!cnt[j])
                continue;
            if (!first[0] || cnt[j] != k) {
                saved = push(p, "metadata");
                push(p, "inputs");
                push(p, in->name);
                push(p, fields[j]);
                if (!first[0]) {
                    memcpy(first, p->path, p->path_len + 1);
                    k = cnt[j];
                } else {
                    fail(p,
                         "has %zu baselines but %s has %zu; every input must list the same number",
                         cnt[j], first, k);
                }
                pop(p, saved);
            }
        }
        if (in->group_name && strcmp(in->group_name, in->name) != 0 &&
            has_input(p, in->group_name)) {
            /* the group's attribution would be keyed like the input's own */
            const xq_input_meta_t *other = NULL;

            for (size_t j = 0; j < meta->input_cnt; j++) {
                if (meta->inputs[j].name && strcmp(meta->inputs[j].name, in->group_name) == 0)
                    other = &meta->inputs[j];
            }
            if (other && (!other->group_name || strcmp(other->group_name, in->group_name) != 0)) {
                saved = push(p, "metadata");
                push(p, "inputs");
                push(p, in->name);
                push(p, "groupName");
                fail(p, "group \"%s\" has the name of an input outside the group", in->group_name);
                pop(p, saved);
            }
        }
    }
    spec->baseline_cnt = k;
}

/* ==== Canonical form ==== */

static void pack_kv_str(msgpack_packer *pk, const char *key, const char *val) {
    xq_mp_pack_str(pk, key);
    xq_mp_pack_str(pk, val);
}

static void pack_kv_num(msgpack_packer *pk, const char *key, double val) {
    xq_mp_pack_str(pk, key);
    xq_mp_pack_number(pk, val);
}

static void pack_values(msgpack_packer *pk, const msgpack_object *v, size_t n) {
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_object(pk, v[i]);
}

static void pack_ig(msgpack_packer *pk, const xq_ig_params_t *ig) {
    msgpack_pack_map(pk, 1 + ig->smoothgrad.present + ig->blur.present);
    pack_kv_num(pk, "stepCount", ig->step_count);
    if (ig->smoothgrad.present) {
        const xq_smoothgrad_t *sg = &ig->smoothgrad;

        xq_mp_pack_str(pk, "smoothGradConfig");
        msgpack_pack_map(pk, 2);
        pack_kv_num(pk, "noisySampleCount", sg->noisy_sample_count);
        if (sg->noise_kind == XQ_NOISE_SIGMA) {
            pack_kv_num(pk, "noiseSigma", sg->noise_sigma);
        } else {
            xq_mp_pack_str(pk, "featureNoiseSigma");
            msgpack_pack_map(pk, 1);
            xq_mp_pack_str(pk, "noiseSigma");
            msgpack_pack_array(pk, sg->feature_cnt);
            for (size_t i = 0; i < sg->feature_cnt; i++) {
                msgpack_pack_map(pk, 2);
                pack_kv_str(pk, "name", sg->feature[i].name);
                pack_kv_num(pk, "sigma", sg->feature[i].sigma);
            }
        }
    }
    if (ig->blur.present) {
        xq_mp_pack_str(pk, "blurBaselineConfig");
        msgpack_pack_map(pk, ig->blur.has_sigma);
        if (ig->blur.has_sigma)
            pack_kv_num(pk, "maxBlurSigma", ig->blur.max_blur_sigma);
    }
}

static void pack_examples(msgpack_packer *pk, const xq_examples_t *ex) {
    msgpack_pack_map(pk, ex->has_neighbor_count + ex->has_gcs_source +
                             (ex->config != XQ_EXAMPLES_CONFIG_NONE));
    if (ex->has_neighbor_count)
        pack_kv_num(pk, "neighborCount", ex->neighbor_count);
    if (ex->has_gcs_source) {
        xq_mp_pack_str(pk, "exampleGcsSource");
        msgpack_pack_map(pk, 2);
        pack_kv_str(pk, "dataFormat", data_format_names[ex->data_format]);
        xq_mp_pack_str(pk, "gcsSource");
        msgpack_pack_map(pk, 1);
        xq_mp_pack_str(pk, "uris");
        msgpack_pack_array(pk, ex->gcs_uri_cnt);
        for (size_t i = 0; i < ex->gcs_uri_cnt; i++)
            xq_mp_pack_str(pk, ex->gcs_uris[i]);
    }
    if (ex->config == XQ_EXAMPLES_CONFIG_NEAREST_NEIGHBOR) {
        xq_mp_pack_str(pk, "nearestNeighborSearchConfig");
        msgpack_pack_object(pk, ex->nn_config);
    } else if (ex->config == XQ_EXAMPLES_CONFIG_PRESETS) {
        xq_mp_pack_str(pk, "presets");
        msgpack_pack_map(pk, 2);
        pack_kv_str(pk, "modality", preset_modality_names[ex->presets.modality]);
        pack_kv_str(pk, "query", query_names[ex->presets.query]);
    }
}

static void pack_params(msgpack_packer *pk, const xq_params_t *params) {
    msgpack_pack_map(pk, 2 + params->has_output_indices);
    xq_mp_pack_str(pk, method_names[params->method]);
    switch (params->method) {
    case XQ_METHOD_SAMPLED_SHAPLEY:
        msgpack_pack_map(pk, 1);
        pack_kv_num(pk, "pathCount", params->path_count);
        break;
    case XQ_METHOD_EXAMPLES:
        pack_examples(pk, &params->examples);
        break;
    default:
        pack_ig(pk, &params->ig);
        break;
    }
    pack_kv_num(pk, "topK", params->top_k);
    if (params->has_output_indices) {
        xq_mp_pack_str(pk, "outputIndices");
        msgpack_pack_object(pk, params->output_indices);
    }
}

static void pack_input(msgpack_packer *pk, const xq_input_meta_t *in) {
    const char *strs[][2] = {{"inputTensorName", in->input_tensor_name},
                             {"indicesTensorName", in->indices_tensor_name},
                             {"denseShapeTensorName", in->dense_shape_tensor_name},
                             {"encodedTensorName", in->encoded_tensor_name},
                             {"groupName", in->group_name}};
    size_t n = 2 + (in->baseline_cnt > 0) + in->domain.present + (in->index_feature_cnt > 0) +
               (in->encoded_baseline_cnt > 0) + in->viz.present;

    for (size_t i = 0; i < 5; i++)
        n += strs[i][1] != NULL;
    msgpack_pack_map(pk, n);
    pack_kv_str(pk, "encoding", encoding_names[in->encoding]);
    pack_kv_str(pk, "modality", modality_names[in->modality]);
    for (size_t i = 0; i < 5; i++) {
        if (strs[i][1])
            pack_kv_str(pk, strs[i][0], strs[i][1]);
    }
    if (in->baseline_cnt) {
        xq_mp_pack_str(pk, "inputBaselines");
        pack_values(pk, in->baselines, in->baseline_cnt);
    }
    if (in->encoded_baseline_cnt) {
        xq_mp_pack_str(pk, "encodedBaselines");
        pack_values(pk, in->encoded_baselines, in->encoded_baseline_cnt);
    }
    if (in->domain.present) {
        const xq_domain_t *d = &in->domain;

        xq_mp_pack_str(pk, "featureValueDomain");
        msgpack_pack_map(pk, d->has_min + d->has_max + d->has_mean + d->has_stddev);
        if (d->has_min)
            pack_kv_num(pk, "minValue", d->min_value);
        if (d->has_max)
            pack_kv_num(pk, "maxValue", d->max_value);
        if (d->has_mean)
            pack_kv_num(pk, "originalMean", d->original_mean);
        if (d->has_stddev)
            pack_kv_num(pk, "originalStddev", d->original_stddev);
    }
    if (in->index_feature_cnt) {
        xq_mp_pack_str(pk, "indexFeatureMapping");
        msgpack_pack_array(pk, in->index_feature_cnt);
        for (size_t i = 0; i < in->index_feature_cnt; i++)
            xq_mp_pack_str(pk, in->index_feature_mapping[i]);
    }
    if (in->viz.present) {
        const xq_viz_t *viz = &in->viz;

        xq_mp_pack_str(pk, "visualization");
        msgpack_pack_map(pk, 6);
        pack_kv_str(pk, "type", viz_type_names[viz->type]);
        pack_kv_str(pk, "polarity", polarity_names[viz->polarity]);
        pack_kv_str(pk, "colorMap", color_map_names[viz->color_map]);
        pack_kv_num(pk, "clipPercentUpperbound", viz->clip_upper);
        pack_kv_num(pk, "clipPercentLowerbound", viz->clip_lower);
        pack_kv_str(pk, "overlayType", overlay_names[viz->overlay]);
    }
}

static void pack_outputs(msgpack_packer *pk, const xq_metadata_t *meta) {
    const xq_output_meta_t *out = &meta->outputs[0];

    msgpack_pack_map(pk, 1);
    xq_mp_pack_str(pk, out->name);
    msgpack_pack_map(pk, (out->output_tensor_name != NULL) + (out->display != XQ_DISPLAY_NONE));
    if (out->output_tensor_name)
        pack_kv_str(pk, "outputTensorName", out->output_tensor_name);
    if (out->display == XQ_DISPLAY_INDEX_MAPPING) {
        xq_mp_pack_str(pk, "indexDisplayNameMapping");
        msgpack_pack_object(pk, out->index_display_name_mapping);
    } else if (out->display == XQ_DISPLAY_KEY) {
        pack_kv_str(pk, "displayNameMappingKey", out->display_name_mapping_key);
    }
}

/* What one packer callback writes, re-packed by xq_mp_pack_canonical() into @p pk. */
typedef void (*pack_fn)(msgpack_packer *pk, const void *what);

static void pack_canonical(msgpack_packer *pk, pack_fn fn, const void *what) {
    msgpack_unpacked msg;
    msgpack_packer raw_pk;
    msgpack_unpack_return ur;
    xq_buf_t raw;
    size_t off = 0;
    bool ok;

    xq_buf_init(&raw);
    xq_mp_packer_init(&raw_pk, &raw);
    fn(&raw_pk, what);
    msgpack_unpacked_init(&msg);
    ur = msgpack_unpack_next(&msg, (const char *)raw.data, raw.len, &off);
    XQ_ASSERT(ur == MSGPACK_UNPACK_SUCCESS);
    ok = xq_mp_pack_canonical(pk, &msg.data);
    XQ_ASSERT(ok); /* every Value passed check_value() */
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&raw);
}

static void pack_input_fn(msgpack_packer *pk, const void *in) {
    pack_input(pk, in);
}

static void pack_outputs_fn(msgpack_packer *pk, const void *meta) {
    pack_outputs(pk, meta);
}

static void pack_params_fn(msgpack_packer *pk, const void *params) {
    pack_params(pk, params);
}

/*
 * The canonical form: every map with its keys sorted bytewise and every
 * number in its one encoding (xq_mp_pack_canonical()), except metadata.inputs,
 * which keeps the order of the document: features that feed one tensor are
 * concatenated in that order, so the order is part of what the spec means
 * (and of its id). The keys written here by hand are in sorted order.
 */
static void make_canonical(xq_spec_t *spec) {
    const xq_metadata_t *meta = &spec->meta;
    msgpack_packer pk;
    xq_buf_t canon;

    xq_buf_init(&canon);
    xq_mp_packer_init(&pk, &canon);
    msgpack_pack_map(&pk, 1 + meta->present);
    if (meta->present) {
        xq_mp_pack_str(&pk, "metadata");
        msgpack_pack_map(&pk, 2 + (meta->feature_attributions_schema_uri != NULL) +
                                  (meta->latent_space_source != NULL));
        if (meta->feature_attributions_schema_uri)
            pack_kv_str(&pk, "featureAttributionsSchemaUri", meta->feature_attributions_schema_uri);
        xq_mp_pack_str(&pk, "inputs");
        msgpack_pack_map(&pk, meta->input_cnt);
        for (size_t i = 0; i < meta->input_cnt; i++) {
            xq_mp_pack_str(&pk, meta->inputs[i].name);
            pack_canonical(&pk, pack_input_fn, &meta->inputs[i]);
        }
        if (meta->latent_space_source)
            pack_kv_str(&pk, "latentSpaceSource", meta->latent_space_source);
        xq_mp_pack_str(&pk, "outputs");
        pack_canonical(&pk, pack_outputs_fn, meta);
    }
    xq_mp_pack_str(&pk, "parameters");
    pack_canonical(&pk, pack_params_fn, &spec->params);

    spec->canonical = xq_mp_zone_alloc(spec->zone, canon.len);
    memcpy(spec->canonical, canon.data, canon.len);
    spec->canonical_len = canon.len;
    xq_buf_fini(&canon);
}

static void make_id(xq_spec_t *spec) {
    xq_sha256_hex(spec->canonical, spec->canonical_len, spec->id);
}

/* Defaults that depend on more than one field. */
static void apply_defaults(xq_spec_t *spec) {
    for (size_t i = 0; i < spec->meta.input_cnt; i++) {
        xq_viz_t *viz = &spec->meta.inputs[i].viz;

        if (viz->present && viz->color_map == XQ_COLOR_MAP_UNSPECIFIED)
            viz->color_map = spec->params.method == XQ_METHOD_XRAI ? XQ_COLOR_MAP_VIRIDIS
                                                                   : XQ_COLOR_MAP_PINK_GREEN;
        /* OUTLINES is the proto's default, for IG; XRAI's regions are shown as PIXELS */
        if (viz->present && viz->type == XQ_VIZ_TYPE_UNSPECIFIED)
            viz->type =
                spec->params.method == XQ_METHOD_XRAI ? XQ_VIZ_TYPE_PIXELS : XQ_VIZ_TYPE_OUTLINES;
    }
}

/* ==== Entry points ==== */

xq_err_t xq_spec_parse_object(const msgpack_object *obj, xq_spec_t **out, xq_errlist_t *errs) {
    static const field_t f[] = {{"parameters", NULL}, {"metadata", NULL}};
    const msgpack_object *s[2];
    size_t before = xq_errlist_total(errs);
    msgpack_zone *zone;
    xq_spec_t *spec;
    parser_t p;

    zone = msgpack_zone_new(4096);
    XQ_ASSERT(zone != NULL);
    spec = xq_mp_zone_alloc(zone, sizeof(*spec));
    memset(spec, 0, sizeof(*spec));
    spec->zone = zone;
    memset(&p, 0, sizeof(p));
    p.zone = zone;
    p.errs = errs;

    if (walk_map(&p, obj, f, 2, s)) {
        /* metadata first: the parameters' rules look inputs up by name */
        if (s[1]) {
            size_t saved = push(&p, "metadata");
            parse_metadata(&p, s[1], &spec->meta);
            pop(&p, saved);
        }
        size_t saved = push(&p, "parameters");
        if (!s[0])
            fail(&p, "is required");
        else
            parse_params(&p, s[0], spec->meta.present, &spec->params);
        pop(&p, saved);
        check_inputs(&p, spec);
    }
    xq_free(p.names);

    if (xq_errlist_total(errs) != before) {
        msgpack_zone_free(zone);
        return XQ_ESPEC;
    }
    apply_defaults(spec);
    make_canonical(spec);
    make_id(spec);
    *out = spec;
    return XQ_OK;
}

xq_err_t xq_spec_parse(const uint8_t *buf, size_t len, xq_spec_t **out, xq_errlist_t *errs) {
    msgpack_unpacked msg;
    xq_err_t rc;

    msgpack_unpacked_init(&msg);
    if (!xq_mp_unpack_one(buf, len, &msg)) {
        xq_errlist_add(errs, XQ_EDECODE, "", "spec is not one valid msgpack object");
        rc = XQ_EDECODE;
        goto out;
    }
    rc = xq_spec_parse_object(&msg.data, out, errs);
out:
    msgpack_unpacked_destroy(&msg);
    return rc;
}

xq_err_t xq_spec_parse_json(const char *text, size_t len, xq_spec_t **out, xq_errlist_t *errs) {
    xq_error_t err;
    xq_buf_t mp;
    xq_err_t rc;

    xq_buf_init(&mp);
    if ((rc = xq_json_to_msgpack(text, len, &mp, &err)) != XQ_OK) {
        xq_errlist_add(errs, rc, err.field, "%s", err.msg);
        goto out;
    }
    rc = xq_spec_parse(mp.data, mp.len, out, errs);
out:
    xq_buf_fini(&mp);
    return rc;
}

xq_err_t xq_spec_parse_any(const uint8_t *buf, size_t len, xq_spec_t **out, xq_errlist_t *errs) {
    size_t i = 0;

    while (i < len && isspace(buf[i]))
        i++;
    if (i < len && (buf[i] == '{' || buf[i] == '['))
        return xq_spec_parse_json((const char *)buf, len, out, errs);
    return xq_spec_parse(buf, len, out, errs);
}

void xq_spec_to_json(const xq_spec_t *spec, int flags, xq_buf_t *out) {
    msgpack_unpack_return ur;
    msgpack_unpacked msg;
    size_t off = 0;
    xq_err_t rc;

    msgpack_unpacked_init(&msg);
    ur = msgpack_unpack_next(&msg, (const char *)spec->canonical, spec->canonical_len, &off);
    XQ_ASSERT(ur == MSGPACK_UNPACK_SUCCESS);
    rc = xq_json_from_msgpack(&msg.data, flags, out, NULL);
    XQ_ASSERT(rc == XQ_OK); /* the canonical form has only str keys and finite numbers */
    msgpack_unpacked_destroy(&msg);
}

void xq_spec_destroy(xq_spec_t *spec) {
    if (spec)
        msgpack_zone_free(spec->zone);
}
