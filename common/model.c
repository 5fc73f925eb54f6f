/* model.c -- the model-evaluation interface: descriptors, checks and row accounting. */
#include "model.h"

#include <stdio.h>
#include <string.h>

#include "mem.h"

#define MAX_LABEL_KEYS 8

typedef struct labels {
    char *key;
    char **names;
    size_t cnt;
} labels_t;

static void free_names(labels_t *l) {
    for (size_t i = 0; i < l->cnt; i++)
        xq_free(l->names[i]);
    xq_free(l->names);
}

struct xq_model {
    labels_t labels[MAX_LABEL_KEYS];
    size_t label_keys;
    const xq_model_ops_t *ops;
    void *impl;
    xq_tensor_desc_t *inputs;
    size_t input_cnt;
    xq_tensor_desc_t *encoded;
    size_t encoded_cnt;
    xq_tensor_desc_t output;
    uint64_t fwd_rows;
    uint64_t grad_rows;
    bool missing_ok; /* NaN inputs are missing values */
    xq_image_layout_t image_layout;
    size_t row_bytes; /* activations of one forward row (0: unknown) */
    size_t budget;    /* activation bytes per backend call */
    size_t max_rows;  /* rows per backend call at most (0: no bound) */
};

static xq_tensor_desc_t *copy_descs(const xq_tensor_desc_t *d, size_t n) {
    xq_tensor_desc_t *c = xq_calloc(n ? n : 1, sizeof(*c));

    if (n)
        memcpy(c, d, n * sizeof(*c));
    return c;
}

xq_model_t *xq_model_new(const xq_model_ops_t *ops,
                         void *impl,
                         const xq_tensor_desc_t *inputs,
                         size_t input_cnt,
                         const xq_tensor_desc_t *encoded,
                         size_t encoded_cnt,
                         const xq_tensor_desc_t *output) {
    xq_model_t *m = xq_calloc(1, sizeof(*m));

    m->ops = ops;
    m->impl = impl;
    m->inputs = copy_descs(inputs, input_cnt);
    m->input_cnt = input_cnt;
    m->encoded = copy_descs(encoded, encoded_cnt);
    m->encoded_cnt = encoded_cnt;
    m->output = *output;
    return m;
}

void xq_model_destroy(xq_model_t *m) {
    if (!m)
        return;
    if (m->ops->destroy)
        m->ops->destroy(m->impl);
    for (size_t k = 0; k < m->label_keys; k++) {
        free_names(&m->labels[k]);
        xq_free(m->labels[k].key);
    }
    xq_free(m->inputs);
    xq_free(m->encoded);
    xq_free(m);
}

size_t xq_model_input_cnt(const xq_model_t *m) {
    return m->input_cnt;
}

const xq_tensor_desc_t *xq_model_input(const xq_model_t *m, size_t i) {
    return i < m->input_cnt ? &m->inputs[i] : NULL;
}

const xq_tensor_desc_t *xq_model_find(const xq_model_t *m, const char *name, bool *is_encoded) {
    for (size_t i = 0; i < m->input_cnt; i++) {
        if (strcmp(m->inputs[i].name, name) == 0) {
            *is_encoded = false;
            return &m->inputs[i];
        }
    }
    for (size_t i = 0; i < m->encoded_cnt; i++) {
        if (strcmp(m->encoded[i].name, name) == 0) {
            *is_encoded = true;
            return &m->encoded[i];
        }
    }
    return NULL;
}

const xq_tensor_desc_t *xq_model_output(const xq_model_t *m) {
    return &m->output;
}

size_t xq_model_encoded_cnt(const xq_model_t *m) {
    return m->encoded_cnt;
}

const xq_tensor_desc_t *xq_model_encoded(const xq_model_t *m, size_t i) {
    return i < m->encoded_cnt ? &m->encoded[i] : NULL;
}

/* Runs @p b through the backend in calls of at most the rows the activation budget allows. */
static xq_err_t eval_bounded(xq_model_t *m, xq_batch_t *b, xq_error_t *err) {
    size_t per = m->row_bytes * (b->grad ? 2 : 1), most, T = b->tensor_cnt;
    const float **data;
    float **gout;
    xq_err_t rc = XQ_OK;

    most = per ? m->budget / per : b->rows;
    most = m->max_rows && m->max_rows < most ? m->max_rows : most;
    most = most ? most : 1;
    if (b->rows <= most)
        return m->ops->eval(m->impl, b, err);
    data = xq_calloc(T + 1, sizeof(*data));
    gout = xq_calloc(T + 1, sizeof(*gout));
    for (size_t first = 0; first < b->rows && rc == XQ_OK; first += most) {
        xq_batch_t c = *b;

        c.rows = b->rows - first < most ? b->rows - first : most;
        for (size_t t = 0; t < T; t++) {
            data[t] = b->data[t] + first * b->elem_cnt[t];
            gout[t] = b->grad ? b->grad_out[t] + first * b->elem_cnt[t] : NULL;
        }
        c.data = (const float *const *)data;
        c.grad_out = b->grad ? (float *const *)gout : NULL;
        c.grad_index = b->grad_index ? b->grad_index + first : NULL;
        c.out = b->out + first * b->out_cnt;
        rc = m->ops->eval(m->impl, &c, err);
    }
    xq_free(data);
    xq_free(gout);
    return rc;
}

void xq_model_set_row_bytes(xq_model_t *m, size_t row_bytes, size_t budget) {
    m->row_bytes = row_bytes;
    m->budget = budget ? budget : XQ_MODEL_ACTIVATION_BYTES;
}

void xq_model_set_max_rows(xq_model_t *m, size_t rows) {
    m->max_rows = rows;
}

size_t xq_model_row_bytes(const xq_model_t *m) {
    return m->row_bytes;
}

xq_err_t xq_model_eval(xq_model_t *m, xq_batch_t *b, xq_error_t *err) {
    xq_err_t rc;

    for (size_t t = 0; t < b->tensor_cnt; t++) {
        bool enc;
        const xq_tensor_desc_t *d = xq_model_find(m, b->names[t], &enc);

        if (!d)
            return xq_error_set(err, XQ_EMODEL, b->names[t], "the model has no tensor %s",
                                b->names[t]);
        if (d->elem_cnt != b->elem_cnt[t])
            return xq_error_set(err, XQ_EMODEL, b->names[t],
                                "tensor %s has %zu elements per row; the model takes %zu",
                                b->names[t], b->elem_cnt[t], d->elem_cnt);
    }
    if (b->out_cnt != m->output.elem_cnt)
        return xq_error_set(err, XQ_EMODEL, m->output.name,
                            "output %s has %zu elements per row, not %zu", m->output.name,
                            m->output.elem_cnt, b->out_cnt);
    if (!b->rows)
        return XQ_OK;
    if ((rc = eval_bounded(m, b, err)) != XQ_OK)
        return rc;
    if (b->grad)
        m->grad_rows += b->rows;
    else
        m->fwd_rows += b->rows;
    return XQ_OK;
}

xq_err_t xq_model_encode(xq_model_t *m,
                         const char *encoded,
                         const float *raw,
                         size_t rows,
                         size_t raw_cnt,
                         float *out,
                         size_t out_cnt,
                         xq_error_t *err) {
    if (!m->ops->encode)
        return xq_error_set(err, XQ_EMODEL, encoded, "the model cannot compute %s", encoded);
    return m->ops->encode(m->impl, encoded, raw, rows, raw_cnt, out, out_cnt, err);
}

void xq_model_rows_evaluated(const xq_model_t *m, uint64_t *fwd, uint64_t *grad) {
    *fwd = m->fwd_rows;
    *grad = m->grad_rows;
}

void xq_model_set_labels(xq_model_t *m, const char *key, const char *const *names, size_t cnt) {
    labels_t *l = NULL;

    for (size_t k = 0; k < m->label_keys && !l; k++) {
        if (strcmp(m->labels[k].key, key) == 0)
            l = &m->labels[k];
    }
    if (!l) {
        if (m->label_keys == MAX_LABEL_KEYS)
            return;
        l = &m->labels[m->label_keys++];
        l->key = xq_strdup(key);
    } else {
        free_names(l);
    }
    l->cnt = cnt;
    l->names = xq_calloc(cnt ? cnt : 1, sizeof(*l->names));
    for (size_t i = 0; i < cnt; i++)
        l->names[i] = xq_strdup(names[i]);
}

const char *xq_model_label(const xq_model_t *m, const char *key, size_t flat) {
    for (size_t k = 0; m && k < m->label_keys; k++) {
        if (strcmp(m->labels[k].key, key) == 0)
            return flat < m->labels[k].cnt ? m->labels[k].names[flat] : NULL;
    }
    return NULL;
}

size_t xq_model_label_key_cnt(const xq_model_t *m) {
    return m->label_keys;
}

const char *
xq_model_label_key(const xq_model_t *m, size_t k, const char *const **names, size_t *cnt) {
    *names = (const char *const *)m->labels[k].names;
    *cnt = m->labels[k].cnt;
    return m->labels[k].key;
}

void xq_model_set_missing_ok(xq_model_t *m, bool ok) {
    m->missing_ok = ok;
}

bool xq_model_missing_ok(const xq_model_t *m) {
    return m->missing_ok;
}

void xq_model_set_image_layout(xq_model_t *m, xq_image_layout_t layout) {
    m->image_layout = layout;
}

xq_image_layout_t xq_model_image_layout(const xq_model_t *m) {
    return m->image_layout;
}

/* Levenshtein distance of the first 63 bytes of @p a and @p b, case-insensitive. */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strnlen(a, 63), lb = strnlen(b, 63), row[64];

    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], ca = (unsigned char)a[i - 1], cb = (unsigned char)b[j - 1];
            size_t best = diag + ((ca | 32) != (cb | 32));

            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            best = up + 1 < best ? up + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

void xq_model_closest_names(const xq_model_t *m, const char *name, char *buf, size_t n) {
    size_t total = m->input_cnt + m->encoded_cnt, picked[4], pick_cnt = 0, off = 0;

    buf[0] = '\0';
    while (pick_cnt < 4 && pick_cnt < total) {
        size_t best = SIZE_MAX, best_d = SIZE_MAX;

        for (size_t k = 0; k < total; k++) {
            const char *c =
                k < m->input_cnt ? m->inputs[k].name : m->encoded[k - m->input_cnt].name;
            size_t d = edit_distance(name, c);
            bool taken = false;

            for (size_t p = 0; p < pick_cnt; p++)
                taken |= picked[p] == k;
            if (!taken && d < best_d) {
                best = k;
                best_d = d;
            }
        }
        picked[pick_cnt++] = best;
    }
    for (size_t p = 0; p < pick_cnt && off < n; p++) {
        const char *c = picked[p] < m->input_cnt ? m->inputs[picked[p]].name
                                                 : m->encoded[picked[p] - m->input_cnt].name;
        int w = snprintf(buf + off, n - off, "%s%s", p ? ", " : "", c);

        off += w > 0 ? (size_t)w : 0;
    }
}

bool xq_model_dims_lookup(const char *dims, const char *name, size_t *value) {
    size_t n = strlen(name);

    for (const char *p = dims; p && *p;) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');

        end = end ? end : p + strlen(p);
        if (eq && eq < end && (size_t)(eq - p) == n && !strncmp(p, name, n)) {
            unsigned long long v = 0;
            const char *q = eq + 1;

            for (; q < end && *q >= '0' && *q <= '9' && v < (1ull << 32); q++)
                v = v * 10 + (unsigned long long)(*q - '0');
            if (q != end || !v || v >= (1ull << 32))
                return false;
            *value = (size_t)v;
            return true;
        }
        p = *end ? end + 1 : end;
    }
    return false;
}
