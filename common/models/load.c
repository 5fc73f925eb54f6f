/* load.c -- model files to backends. */
#include "models/load.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "models/dense.h"
#include "models/onnx.h"

/* Models larger than this are not read whole into memory by the small backends. */
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

xq_err_t xq_model_load(
    const char *path, const char *backend, const char *output, xq_model_t **out, xq_error_t *err) {
    size_t i = 0;
    xq_buf_t b;
    xq_err_t rc;

    if (backend && strcmp(backend, "dense") != 0 && strcmp(backend, "onnx") != 0)
        return xq_error_set(err, XQ_EINVAL, "backend",
                            "unknown model backend \"%s\" (this build has: dense, onnx)", backend);
    xq_buf_init(&b);
    if ((rc = read_all(path, &b, err)) != XQ_OK)
        goto out;
    while (i < b.len && (b.data[i] == ' ' || b.data[i] == '\n' || b.data[i] == '\t'))
        i++;
    if (backend ? strcmp(backend, "dense") == 0 : i < b.len && b.data[i] == '{')
        rc = xq_dense_load((const char *)b.data, b.len, out, err);
    else
        rc = xq_onnx_load(b.data, b.len, output, out, err);
out:
    xq_buf_fini(&b);
    return rc;
}
