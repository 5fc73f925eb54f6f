/* xgb_compat.c -- XGBoost 2.x/3.x model files made readable by libxgboost 1.7 without a shift. */
#include "models/xgb_compat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "base_score"

static const uint8_t *find(const uint8_t *p, size_t len, const char *s, size_t n) {
    for (size_t i = 0; i + n <= len; i++) {
        if (p[i] == (uint8_t)s[0] && memcmp(p + i, s, n) == 0)
            return p + i;
    }
    return NULL;
}

/*
 * Parses "[v1,v2,...]" (@p n bytes at @p s) into its first value; false when it is not a
 * bracketed list. *differ says whether the values are not all equal.
 */
static bool parse_vector(const char *s, size_t n, double *first, size_t *cnt, bool *differ) {
    char tmp[512];
    char *p, *end;

    if (n < 2 || n >= sizeof(tmp) || s[0] != '[' || s[n - 1] != ']')
        return false;
    memcpy(tmp, s + 1, n - 2);
    tmp[n - 2] = '\0';
    *cnt = 0;
    *differ = false;
    for (p = tmp; *p;) {
        double v = strtod(p, &end);

        if (end == p || !isfinite(v))
            return false;
        if (!*cnt)
            *first = v;
        else if (v != *first)
            *differ = true;
        (*cnt)++;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return false;
    }
    return *cnt > 0;
}

/* Replaces bytes [at, at + old_len) of @p b with @p rep. */
static void splice(xq_buf_t *b, size_t at, size_t old_len, const void *rep, size_t rep_len) {
    size_t tail = b->len - at - old_len;

    if (rep_len > old_len)
        xq_buf_reserve(b, rep_len - old_len);
    memmove(b->data + at + rep_len, b->data + at + old_len, tail);
    memcpy(b->data + at, rep, rep_len);
    b->len = b->len - old_len + rep_len;
}

xq_err_t xq_xgb_fix_base_score(xq_buf_t *b, bool *changed, xq_error_t *err) {
    const uint8_t *k = find(b->data, b->len, KEY, sizeof(KEY) - 1);
    size_t at, n, lenw = 0, cnt;
    bool is_ubj, differ;
    char num[64];
    double v;
    int w;

    *changed = false;
    if (!k)
        return XQ_OK;
    at = (size_t)(k - b->data) + sizeof(KEY) - 1;
    is_ubj = b->len > 1 && b->data[0] == '{' && b->data[1] != '"' && b->data[1] != ' ' &&
             b->data[1] != '\n';
    if (is_ubj) {
        /* 'S', a length ('i' 'U' 1 byte, 'I' 2, 'l' 4, 'L' 8, big-endian), the bytes */
        if (at + 2 > b->len || b->data[at] != 'S')
            return XQ_OK;
        switch (b->data[at + 1]) {
        case 'i':
        case 'U':
            lenw = 1;
            break;
        case 'I':
            lenw = 2;
            break;
        case 'l':
            lenw = 4;
            break;
        case 'L':
            lenw = 8;
            break;
        default:
            return XQ_OK;
        }
        if (at + 2 + lenw > b->len)
            return XQ_OK;
        n = 0;
        for (size_t i = 0; i < lenw; i++)
            n = (n << 8) | b->data[at + 2 + i];
        if (n > b->len - at - 2 - lenw)
            return XQ_OK;
        at += 2 + lenw;
    } else {
        const uint8_t *q;

        while (at < b->len && (b->data[at] == '"' || b->data[at] == ':' || b->data[at] == ' '))
            at++;
        q = at < b->len ? memchr(b->data + at, '"', b->len - at) : NULL;
        if (!q)
            return XQ_OK;
        n = (size_t)(q - (b->data + at));
    }
    if (!parse_vector((const char *)b->data + at, n, &v, &cnt, &differ))
        return XQ_OK; /* a plain number: what 1.7 reads */
    if (differ)
        return xq_error_set(err, XQ_EMODEL, "model",
                            "this model (xgboost 2.x/3.x) has %zu different base_score values "
                            "(one per class or target); libxgboost 1.7 here takes one; serve it "
                            "from a runner of your own, or convert it to ONNX (onnxmltools)",
                            cnt);
    w = snprintf(num, sizeof(num), "%.9g", v);
    if (is_ubj) {
        uint8_t rep[80] = {'S', 'L'}; /* libxgboost 1.7 reads string lengths as int64 */

        at -= 2 + lenw;
        for (size_t i = 0; i < 8; i++)
            rep[2 + i] = (uint8_t)((uint64_t)w >> (8 * (7 - i)));
        memcpy(rep + 10, num, (size_t)w);
        splice(b, at, 2 + lenw + n, rep, 10 + (size_t)w);
    } else {
        splice(b, at, n, num, (size_t)w);
    }
    *changed = true;
    return XQ_OK;
}
