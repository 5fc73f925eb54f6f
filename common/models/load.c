/* load.c -- model files and URLs to backends: the table of backends, and the sniffing. */
#include "models/load.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "models/dense.h"
#include "models/http.h"
#include "models/onnx.h"
#include "models/ort.h"
#include "models/xgboost.h"

/* Models larger than this are not read whole into memory. */
#define XQ_MODEL_MAX_FILE (512u << 20)

static xq_err_t read_all(const char *path, xq_buf_t *b, xq_error_t *err) {
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return xq_error_set(err, XQ_EIO, "model", "cannot read %s: %s", path, strerror(errno));
    do {
        xq_buf_reserve(b, 1 << 16);
        n = fread(b->data + b->len, 1, 1 << 16, f);
        b->len += n;
    } while (n > 0 && b->len <= XQ_MODEL_MAX_FILE);
    if (ferror(f) || b->len > XQ_MODEL_MAX_FILE) {
        fclose(f);
        return xq_error_set(err, XQ_EIO, "model", "cannot read %s: %s", path,
                            b->len > XQ_MODEL_MAX_FILE ? "file too large" : strerror(errno));
    }
    fclose(f);
    return XQ_OK;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The dense format names itself near the top; a booster's JSON does not. */
static bool is_dense_json(const uint8_t *head, size_t len) {
    static const char tag[] = "explainq-dense-v1";
    size_t n = len < XQ_BACKEND_SNIFF_LEN ? len : XQ_BACKEND_SNIFF_LEN;

    for (size_t i = 0; head && i + sizeof(tag) - 1 <= n; i++) {
        if (memcmp(head + i, tag, sizeof(tag) - 1) == 0)
            return true;
    }
    return false;
}

/* ==== The backends: recognisers and loaders ==== */

static bool is_url(const char *path) {
    return strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0;
}

static bool xgb_path(const char *path) {
    return ends_with(path, ".ubj") || ends_with(path, ".model");
}

static bool xgb_content(const char *path, const uint8_t *head, size_t len) {
    return ends_with(path, ".json") && !is_dense_json(head, len);
}

static bool dense_content(const char *path, const uint8_t *head, size_t len) {
    return ends_with(path, ".json") && is_dense_json(head, len);
}

static xq_err_t load_ort(const char *path,
                         const uint8_t *data,
                         size_t len,
                         const xq_model_opts_t *opts,
                         xq_model_t **out,
                         xq_error_t *err) {
    return xq_ort_load(path, data, len, opts->output, opts->dims, out, err);
}

static xq_err_t load_interp(const char *path,
                            const uint8_t *data,
                            size_t len,
                            const xq_model_opts_t *opts,
                            xq_model_t **out,
                            xq_error_t *err) {
    const char *slash = strrchr(path, '/');
    char dir[4096];

    /* external tensor data is found next to the graph */
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    return xq_onnx_load_dir(data, len, dir, opts->output, opts->dims, out, err);
}

static xq_err_t load_xgb(const char *path,
                         const uint8_t *data,
                         size_t len,
                         const xq_model_opts_t *opts,
                         xq_model_t **out,
                         xq_error_t *err) {
    (void)data;
    (void)len;
    return xq_xgboost_load(path, opts->fd_step, out, err);
}

static xq_err_t load_http(const char *path,
                          const uint8_t *data,
                          size_t len,
                          const xq_model_opts_t *opts,
                          xq_model_t **out,
                          xq_error_t *err) {
    (void)data;
    (void)len;
    return xq_http_model_new(path, opts->timeout_ms, out, err);
}

static xq_err_t load_dense(const char *path,
                           const uint8_t *data,
                           size_t len,
                           const xq_model_opts_t *opts,
                           xq_model_t **out,
                           xq_error_t *err) {
    (void)path;
    (void)opts;
    return xq_dense_load((const char *)data, len, out, err);
}

/*
 * One line per backend. The first is what a file nothing else recognises is
 * opened with; the order is also that of xq_backend_list().
 */
static const xq_backend_t backends[] = {
    {"onnx", "ONNX file: ONNX Runtime forward, the interpreter for gradients", XQ_BACKEND_F_ONNX,
     NULL, NULL, load_ort, true},
    {"onnx-interp", "ONNX file, explainq's interpreter alone", XQ_BACKEND_F_ONNX, NULL, NULL,
     load_interp, true},
    {"xgboost", "XGBoost model (.json, .ubj, .model)", 0, xgb_path, xgb_content, load_xgb, false},
    {"http", "model server URL (KServe v2 or :predict)", 0, is_url, NULL, load_http, false},
    {"dense", "explainq-dense-v1 JSON network", 0, NULL, dense_content, load_dense, true},
};

#define BACKEND_CNT (sizeof(backends) / sizeof(backends[0]))

size_t xq_backend_cnt(void) {
    return BACKEND_CNT;
}

const xq_backend_t *xq_backend_at(size_t i) {
    return i < BACKEND_CNT ? &backends[i] : NULL;
}

const xq_backend_t *xq_backend_find(const char *name) {
    for (size_t i = 0; name && i < BACKEND_CNT; i++) {
        if (strcmp(backends[i].name, name) == 0)
            return &backends[i];
    }
    return NULL;
}

const char *xq_backend_list(char *buf, size_t size) {
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < BACKEND_CNT && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s",
                                i == 0                 ? ""
                                : i + 1 == BACKEND_CNT ? " or "
                                                       : ", ",
                                backends[i].name);
    return buf;
}

static const xq_backend_t *by_path(const char *path) {
    for (size_t i = 0; i < BACKEND_CNT; i++) {
        if (backends[i].by_path && backends[i].by_path(path))
            return &backends[i];
    }
    return NULL;
}

const xq_backend_t *xq_backend_sniff(const char *path, const uint8_t *head, size_t len) {
    const xq_backend_t *b = by_path(path);

    for (size_t i = 0; !b && i < BACKEND_CNT; i++) {
        if (backends[i].by_content && backends[i].by_content(path, head, len))
            b = &backends[i];
    }
    return b ? b : &backends[0];
}

const xq_backend_t *xq_backend_choose(const char *path, const char *name, xq_error_t *err) {
    const xq_backend_t *b;
    uint8_t head[XQ_BACKEND_SNIFF_LEN];
    size_t len;
    FILE *f;

    if (name) {
        char names[256];

        if (!(b = xq_backend_find(name)))
            xq_error_set(err, XQ_EINVAL, "backend", "unknown model backend \"%s\" (%s)", name,
                         xq_backend_list(names, sizeof(names)));
        return b;
    }
    if ((b = by_path(path)))
        return b;
    if (!(f = fopen(path, "rb"))) {
        xq_error_set(err, XQ_EIO, "model", "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    len = fread(head, 1, sizeof(head), f);
    fclose(f);
    return xq_backend_sniff(path, head, len);
}

xq_err_t
xq_model_load(const char *path, const xq_model_opts_t *opts, xq_model_t **out, xq_error_t *err) {
    static const xq_model_opts_t none = {0};
    xq_image_layout_t il = XQ_IMAGE_LAYOUT_AUTO;
    const xq_backend_t *b;
    xq_error_t local;
    xq_buf_t data;
    xq_err_t rc;

    opts = opts ? opts : &none;
    if (opts->image_layout) {
        if (!strcmp(opts->image_layout, "nchw"))
            il = XQ_IMAGE_LAYOUT_NCHW;
        else if (!strcmp(opts->image_layout, "nhwc"))
            il = XQ_IMAGE_LAYOUT_NHWC;
        else
            return xq_error_set(err, XQ_EINVAL, "image-layout",
                                "image layout \"%s\" is not nchw or nhwc", opts->image_layout);
    }
    if (!(b = xq_backend_choose(path, opts->backend, err ? err : &local)))
        return err ? err->code : local.code;
    xq_buf_init(&data);
    if (b->reads && (rc = read_all(path, &data, err)) != XQ_OK)
        goto out;
    if ((rc = b->load(path, data.data, data.len, opts, out, err)) == XQ_OK)
        xq_model_set_image_layout(*out, il);
out:
    xq_buf_fini(&data);
    return rc;
}
