/* http.c -- the HTTP model backend (libcurl): batches as JSON requests, predictions back. */
#include "models/http.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "mem.h"

#define MAX_INPUTS   16
#define MAX_RESPONSE (256u << 20)

typedef struct http {
    CURL *curl;
    char *url; /* where batches go */
    bool kserve;
    int timeout_ms;
    char *names; /* pool of tensor names */
    xq_tensor_desc_t in[MAX_INPUTS];
    size_t in_cnt;
    xq_tensor_desc_t out;
    xq_buf_t body, resp;
} http_t;

static void http_free(void *impl) {
    http_t *m = impl;

    if (!m)
        return;
    if (m->curl)
        curl_easy_cleanup(m->curl);
    xq_free(m->url);
    xq_free(m->names);
    xq_buf_fini(&m->body);
    xq_buf_fini(&m->resp);
    xq_free(m);
}

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
    xq_buf_t *b = ud;

    if (b->len + size * n > MAX_RESPONSE)
        return 0; /* curl reports a write error: an oversized answer is not read */
    xq_buf_append(b, p, size * n);
    return size * n;
}

/* GET (body NULL) or POST JSON; the response lands in m->resp. */
static xq_err_t request(http_t *m, const char *url, const xq_buf_t *body, xq_error_t *err) {
    struct curl_slist *hdr = NULL;
    long status = 0;
    CURLcode cc;

    m->resp.len = 0;
    curl_easy_reset(m->curl);
    curl_easy_setopt(m->curl, CURLOPT_URL, url);
    curl_easy_setopt(m->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(m->curl, CURLOPT_WRITEDATA, &m->resp);
    curl_easy_setopt(m->curl, CURLOPT_TIMEOUT_MS, (long)(m->timeout_ms ? m->timeout_ms : 30000));
    curl_easy_setopt(m->curl, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(m->curl, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(m->curl, CURLOPT_POSTFIELDS, (const char *)body->data);
        curl_easy_setopt(m->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    }
    cc = curl_easy_perform(m->curl);
    curl_slist_free_all(hdr);
    if (cc != CURLE_OK)
        return xq_error_set(err, XQ_EMODEL, "model", "%s: %s", url, curl_easy_strerror(cc));
    curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return xq_error_set(err, XQ_EMODEL, "model", "%s answered HTTP %ld: %.120s", url, status,
                            xq_buf_cstr(&m->resp));
    return XQ_OK;
}

static void append_float(xq_buf_t *b, float v) {
    char tmp[32];

    snprintf(tmp, sizeof(tmp), "%.9g", (double)v);
    xq_buf_append_str(b, tmp);
}

/* A row of @p d as nested JSON lists (a number for a scalar). */
static void append_row(xq_buf_t *b, const float *v, const size_t *dims, size_t ndim) {
    if (!ndim) {
        append_float(b, v[0]);
        return;
    }
    size_t inner = 1;

    for (size_t d = 1; d < ndim; d++)
        inner *= dims[d];
    xq_buf_append(b, "[", 1);
    for (size_t i = 0; i < dims[0]; i++) {
        if (i)
            xq_buf_append(b, ",", 1);
        append_row(b, v + i * inner, dims + 1, ndim - 1);
    }
    xq_buf_append(b, "]", 1);
}

/* Flattens numbers of @p j (number or nested arrays) into out[*k..]; false when too many. */
static bool flatten_json(json_t *j, float *out, size_t *k, size_t cap) {
    size_t i;
    json_t *v;

    if (json_is_number(j)) {
        if (*k >= cap)
            return false;
        out[(*k)++] = (float)json_number_value(j);
        return true;
    }
    if (!json_is_array(j))
        return false;
    json_array_foreach(j, i, v) {
        if (!flatten_json(v, out, k, cap))
            return false;
    }
    return true;
}

/* Strings of @p j (a string or nested arrays of them) into @p out, at most @p cap. */
static size_t strings(json_t *j, const char **out, size_t n, size_t cap) {
    size_t i;
    json_t *v;

    if (json_is_string(j)) {
        if (n < cap)
            out[n++] = json_string_value(j);
        return n;
    }
    json_array_foreach(j, i, v) {
        n = strings(v, out, n, cap);
    }
    return n;
}

/*
 * Display names in an answer (displayNameMappingKey): the string fields of a
 * :predict prediction object, or KServe BYTES outputs (first row).
 */
static void capture_labels(const http_t *m, xq_model_t *model, json_t *root, size_t rows) {
    const char *names[4096];
    const char *key;
    json_t *v, *p;
    size_t i, n;

    if (m->kserve) {
        json_array_foreach(json_object_get(root, "outputs"), i, v) {
            const char *dt = json_string_value(json_object_get(v, "datatype"));
            const char *nm = json_string_value(json_object_get(v, "name"));

            if (!dt || !nm || strcmp(dt, "BYTES") != 0 || !rows)
                continue;
            n = strings(json_object_get(v, "data"), names, 0, 4096);
            xq_model_set_labels(model, nm, names, n / rows);
        }
        return;
    }
    p = json_array_get(json_object_get(root, "predictions"), 0);
    if (!json_is_object(p))
        return;
    json_object_foreach(p, key, v) {
        if ((n = strings(v, names, 0, 4096)) > 0)
            xq_model_set_labels(model, key, names, n);
    }
}

static const xq_tensor_desc_t *in_desc(const http_t *m, const char *name) {
    for (size_t i = 0; i < m->in_cnt; i++) {
        if (strcmp(m->in[i].name, name) == 0)
            return &m->in[i];
    }
    return NULL;
}

/* Sends batch @p b's inputs and parses the answer into @p *root (the caller's to decref). */
static xq_err_t post(http_t *m, const xq_batch_t *b, json_t **root, xq_error_t *err) {
    json_error_t jerr;
    xq_err_t rc;

    m->body.len = 0;
    if (m->kserve) {
        xq_buf_append_str(&m->body, "{\"inputs\":[");
        for (size_t t = 0; t < b->tensor_cnt; t++) {
            const xq_tensor_desc_t *d = in_desc(m, b->names[t]);

            xq_buf_appendf(&m->body, "%s{\"name\":", t ? "," : "");
            xq_json_append_str(&m->body, b->names[t], strlen(b->names[t]));
            xq_buf_appendf(&m->body, ",\"datatype\":\"FP32\",\"shape\":[%zu", b->rows);
            for (size_t k = 0; d && k < d->ndim; k++)
                xq_buf_appendf(&m->body, ",%zu", d->dims[k]);
            xq_buf_append_str(&m->body, "],\"data\":[");
            for (size_t i = 0; i < b->rows * b->elem_cnt[t]; i++) {
                if (i)
                    xq_buf_append(&m->body, ",", 1);
                append_float(&m->body, b->data[t][i]);
            }
            xq_buf_append_str(&m->body, "]}");
        }
        xq_buf_append_str(&m->body, "]}");
    } else {
        xq_buf_append_str(&m->body, "{\"instances\":[");
        for (size_t r = 0; r < b->rows; r++) {
            xq_buf_append_str(&m->body, r ? "," : "");
            if (b->tensor_cnt > 1)
                xq_buf_append(&m->body, "{", 1);
            for (size_t t = 0; t < b->tensor_cnt; t++) {
                const xq_tensor_desc_t *d = in_desc(m, b->names[t]);

                if (b->tensor_cnt > 1) {
                    xq_buf_append_str(&m->body, t ? "," : "");
                    xq_json_append_str(&m->body, b->names[t], strlen(b->names[t]));
                    xq_buf_append(&m->body, ":", 1);
                }
                append_row(&m->body, b->data[t] + r * b->elem_cnt[t], d->dims, d->ndim);
            }
            if (b->tensor_cnt > 1)
                xq_buf_append(&m->body, "}", 1);
        }
        xq_buf_append_str(&m->body, "]}");
    }
    if ((rc = request(m, m->url, &m->body, err)) != XQ_OK)
        return rc;
    if (!(*root = json_loadb((const char *)m->resp.data, m->resp.len, 0, &jerr)))
        return xq_error_set(err, XQ_EMODEL, "model", "the model server's answer is not JSON: %s",
                            jerr.text);
    return XQ_OK;
}

static xq_err_t http_eval(void *impl, xq_batch_t *b, xq_error_t *err) {
    http_t *m = impl;
    json_t *root = NULL, *preds;
    xq_err_t rc;

    if (b->grad)
        return xq_error_set(err, XQ_EMODEL, "model",
                            "models served over HTTP give no gradients: use "
                            "sampledShapleyAttribution");
    if ((rc = post(m, b, &root, err)) != XQ_OK)
        return rc;
    if (m->kserve) {
        json_t *outs = json_object_get(root, "outputs"), *o = NULL, *v;
        size_t i, k = 0;

        json_array_foreach(outs, i, v) {
            const char *nm = json_string_value(json_object_get(v, "name"));

            if (nm && strcmp(nm, m->out.name) == 0)
                o = v;
        }
        if (!o || !flatten_json(json_object_get(o, "data"), b->out, &k, b->rows * b->out_cnt) ||
            k != b->rows * b->out_cnt)
            rc = xq_error_set(err, XQ_EMODEL, "model", "the answer lacks output %s with %zu values",
                              m->out.name, b->rows * b->out_cnt);
    } else if (!json_is_array(preds = json_object_get(root, "predictions")) ||
               json_array_size(preds) != b->rows) {
        rc = xq_error_set(err, XQ_EMODEL, "model", "the answer has no \"predictions\" list of %zu",
                          b->rows);
    } else {
        for (size_t r = 0; r < b->rows && rc == XQ_OK; r++) {
            json_t *p = json_array_get(preds, r);
            size_t k = 0;

            if (json_is_object(p))
                p = json_object_get(p, m->out.name);
            if (!p || !flatten_json(p, b->out + r * b->out_cnt, &k, b->out_cnt) || k != b->out_cnt)
                rc = xq_error_set(err, XQ_EMODEL, "model",
                                  "prediction %zu does not hold %zu numbers of %s", r, b->out_cnt,
                                  m->out.name);
        }
    }
    json_decref(root);
    return rc;
}

static const xq_model_ops_t http_ops = {.eval = http_eval, .destroy = http_free};

/* "name:4x4x3" into a descriptor whose name points into the pool at @p name. */
static bool parse_desc(char *spec, xq_tensor_desc_t *d) {
    char *colon = strchr(spec, ':'), *p, *end;

    if (!colon || colon == spec)
        return false;
    *colon = '\0';
    d->name = spec;
    d->ndim = 0;
    d->elem_cnt = 1;
    for (p = colon + 1; *p;) {
        long v = strtol(p, &end, 10);

        if (end == p || v < 1 || d->ndim == XQ_MAX_DIMS)
            return false;
        d->dims[d->ndim++] = (size_t)v;
        d->elem_cnt *= (size_t)v;
        p = *end == 'x' ? end + 1 : end;
        if (*end && *end != 'x')
            return false;
    }
    return d->ndim > 0;
}

/* Reads one KServe metadata tensor list into descriptors (names copied into @p pool). */
static bool kserve_descs(
    json_t *list, xq_tensor_desc_t *d, size_t *cnt, size_t max, xq_buf_t *pool, size_t *offs) {
    size_t i;
    json_t *v;

    *cnt = 0;
    json_array_foreach(list, i, v) {
        json_t *shape = json_object_get(v, "shape"), *dim;
        const char *nm = json_string_value(json_object_get(v, "name"));
        size_t k;

        if (!nm || !json_is_array(shape) || json_array_size(shape) < 1 || *cnt == max ||
            json_array_size(shape) > XQ_MAX_DIMS + 1)
            return false;
        offs[*cnt] = pool->len;
        xq_buf_append(pool, nm, strlen(nm) + 1);
        d[*cnt].ndim = 0;
        d[*cnt].elem_cnt = 1;
        json_array_foreach(shape, k, dim) {
            json_int_t x = json_integer_value(dim);

            if (k == 0)
                continue; /* the batch */
            if (x < 1)
                return false;
            d[*cnt].dims[d[*cnt].ndim++] = (size_t)x;
            d[*cnt].elem_cnt *= (size_t)x;
        }
        (*cnt)++;
    }
    return *cnt > 0;
}

/* Sends one row of zeros, so the answer shows whether predictions carry display
 * names; a server that refuses zeros just gives no labels. */
static void probe_labels(http_t *m, xq_model_t *model) {
    const char *names[MAX_INPUTS];
    size_t elem[MAX_INPUTS], most = 1;
    const float *data[MAX_INPUTS];
    float *zeros;
    json_t *root = NULL;
    xq_error_t perr;

    for (size_t i = 0; i < m->in_cnt; i++)
        most = m->in[i].elem_cnt > most ? m->in[i].elem_cnt : most;
    zeros = xq_calloc(most, sizeof(float));
    for (size_t i = 0; i < m->in_cnt; i++) {
        names[i] = m->in[i].name;
        elem[i] = m->in[i].elem_cnt;
        data[i] = zeros;
    }
    xq_batch_t pb = {
        .rows = 1, .tensor_cnt = m->in_cnt, .names = names, .elem_cnt = elem, .data = data};
    if (post(m, &pb, &root, &perr) == XQ_OK) {
        capture_labels(m, model, root, pb.rows);
        json_decref(root);
    }
    xq_free(zeros);
}

xq_err_t xq_http_model_new(const char *url, int timeout_ms, xq_model_t **out, xq_error_t *err) {
    http_t *m = xq_calloc(1, sizeof(*m));
    char *frag;
    xq_err_t rc = XQ_EMODEL;

    xq_buf_init(&m->body);
    xq_buf_init(&m->resp);
    m->timeout_ms = timeout_ms;
    m->url = xq_strdup(url);
    if (!(m->curl = curl_easy_init())) {
        xq_error_set(err, XQ_EMODEL, "model", "libcurl did not start");
        goto out;
    }
    frag = strchr(m->url, '#');
    if (strstr(m->url, "/v2/models/")) {
        /* KServe v2: shapes from the metadata call */
        xq_buf_t pool;
        size_t offs[MAX_INPUTS + 1], out_cnt = 0;
        xq_tensor_desc_t outs[1];
        json_error_t jerr;
        json_t *meta;
        size_t n;

        m->kserve = true;
        if (frag)
            *frag = '\0';
        n = strlen(m->url);
        while (n && m->url[n - 1] == '/')
            m->url[--n] = '\0';
        if (n > 6 && strcmp(m->url + n - 6, "/infer") == 0)
            m->url[n - 6] = '\0';
        if ((rc = request(m, m->url, NULL, err)) != XQ_OK)
            goto out;
        rc = XQ_EMODEL;
        if (!(meta = json_loadb((const char *)m->resp.data, m->resp.len, 0, &jerr))) {
            xq_error_set(err, XQ_EMODEL, "model", "%s: metadata is not JSON", m->url);
            goto out;
        }
        xq_buf_init(&pool);
        if (!kserve_descs(json_object_get(meta, "inputs"), m->in, &m->in_cnt, MAX_INPUTS, &pool,
                          offs) ||
            !kserve_descs(json_object_get(meta, "outputs"), outs, &out_cnt, 1, &pool,
                          offs + m->in_cnt)) {
            json_decref(meta);
            xq_buf_fini(&pool);
            xq_error_set(err, XQ_EMODEL, "model",
                         "%s: metadata needs inputs and outputs with a batch-first shape", m->url);
            goto out;
        }
        json_decref(meta);
        m->names = (char *)xq_buf_detach(&pool, NULL);
        for (size_t i = 0; i < m->in_cnt; i++)
            m->in[i].name = m->names + offs[i];
        m->out = outs[0];
        m->out.name = m->names + offs[m->in_cnt];
        {
            size_t n2 = strlen(m->url) + 7;
            char *infer = xq_malloc(n2);

            snprintf(infer, n2, "%s/infer", m->url);
            xq_free(m->url);
            m->url = infer;
        }
    } else {
        /* Vertex / TF-Serving: the fragment declares the tensors */
        char *in_spec = NULL, *out_spec = NULL, *tok, *save = NULL;

        if (!frag) {
            xq_error_set(err, XQ_EMODEL, "model",
                         "%s: declare the tensors after '#', e.g. #in=x:20&out=y:2", url);
            goto out;
        }
        *frag++ = '\0';
        m->names = xq_strdup(frag);
        for (tok = strtok_r(m->names, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
            if (strncmp(tok, "in=", 3) == 0)
                in_spec = tok + 3;
            else if (strncmp(tok, "out=", 4) == 0)
                out_spec = tok + 4;
        }
        if (!in_spec || !out_spec || !parse_desc(out_spec, &m->out)) {
            xq_error_set(err, XQ_EMODEL, "model", "%s: expected #in=name:dims,...&out=name:dims",
                         url);
            goto out;
        }
        for (tok = strtok_r(in_spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (m->in_cnt == MAX_INPUTS || !parse_desc(tok, &m->in[m->in_cnt++])) {
                xq_error_set(err, XQ_EMODEL, "model", "%s: bad input declaration %s", url, tok);
                goto out;
            }
        }
    }
    *out = xq_model_new(&http_ops, m, m->in, m->in_cnt, NULL, 0, &m->out);
    probe_labels(m, *out);
    m = NULL; /* owned by the model now */
    rc = XQ_OK;
out:
    http_free(m);
    return rc;
}
