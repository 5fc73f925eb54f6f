/* load.c -- model files and URLs to backends. */
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
static bool is_dense_json(const xq_buf_t *b) {
    static const char tag[] = "explainq-dense-v1";
    size_t n = b->len < 4096 ? b->len : 4096;

    for (size_t i = 0; i + sizeof(tag) - 1 <= n; i++) {
        if (memcmp(b->data + i, tag, sizeof(tag) - 1) == 0)
            return true;
    }
    return false;
}

static xq_err_t
load_backend(const char *path, const xq_model_opts_t *opts, xq_model_t **out, xq_error_t *err);

xq_err_t
xq_model_load(const char *path, const xq_model_opts_t *opts, xq_model_t **out, xq_error_t *err) {
    xq_image_layout_t il = XQ_IMAGE_LAYOUT_AUTO;
    xq_err_t rc;

    if (opts && opts->image_layout) {
        if (!strcmp(opts->image_layout, "nchw"))
            il = XQ_IMAGE_LAYOUT_NCHW;
        else if (!strcmp(opts->image_layout, "nhwc"))
            il = XQ_IMAGE_LAYOUT_NHWC;
        else
            return xq_error_set(err, XQ_EINVAL, "image-layout",
                                "image layout \"%s\" is not nchw or nhwc", opts->image_layout);
    }
    if ((rc = load_backend(path, opts, out, err)) == XQ_OK)
        xq_model_set_image_layout(*out, il);
    return rc;
}

static xq_err_t
load_backend(const char *path, const xq_model_opts_t *opts, xq_model_t **out, xq_error_t *err) {
    static const xq_model_opts_t none = {0};
    const char *backend;
    xq_buf_t b;
    xq_err_t rc;

    opts = opts ? opts : &none;
    backend = opts->backend;
    if (!backend && (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0))
        backend = "http";
    if (backend && strcmp(backend, "http") == 0)
        return xq_http_model_new(path, opts->timeout_ms, out, err);
    if (backend && strcmp(backend, "dense") && strcmp(backend, "onnx") &&
        strcmp(backend, "onnx-interp") && strcmp(backend, "xgboost"))
        return xq_error_set(err, XQ_EINVAL, "backend",
                            "unknown model backend \"%s\" (onnx, onnx-interp, xgboost, http, "
                            "dense)",
                            backend);
    if ((backend && strcmp(backend, "xgboost") == 0) ||
        (!backend && (ends_with(path, ".ubj") || ends_with(path, ".model"))))
        return xq_xgboost_load(path, opts->fd_step, out, err);
    xq_buf_init(&b);
    if ((rc = read_all(path, &b, err)) != XQ_OK)
        goto out;
    if (!backend && ends_with(path, ".json"))
        backend = is_dense_json(&b) ? "dense" : "xgboost";
    if (backend && strcmp(backend, "xgboost") == 0)
        rc = xq_xgboost_load(path, opts->fd_step, out, err);
    else if (backend && strcmp(backend, "dense") == 0)
        rc = xq_dense_load((const char *)b.data, b.len, out, err);
    else if (backend && strcmp(backend, "onnx-interp") == 0) {
        char dir[4096];
        const char *slash = strrchr(path, '/');

        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
        rc = xq_onnx_load_dir(b.data, b.len, dir, opts->output, opts->dims, out, err);
    } else
        rc = xq_ort_load(path, b.data, b.len, opts->output, opts->dims, out, err);
out:
    xq_buf_fini(&b);
    return rc;
}
