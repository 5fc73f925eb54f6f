/* ort.c -- ONNX models evaluated by ONNX Runtime (C API), gradients by the interpreter. */
#include "models/ort.h"

#include <math.h>
#include <onnxruntime_c_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "models/onnx.h"

#define MAX_INPUTS 64

typedef struct ort {
    const OrtApi *api;
    OrtEnv *env;
    OrtSession *sess;
    OrtMemoryInfo *mi;
    size_t in_cnt;
    char *in_names[MAX_INPUTS];
    ONNXTensorElementDataType in_type[MAX_INPUTS];
    xq_tensor_desc_t in_desc[MAX_INPUTS];
    char *out_name;
    xq_tensor_desc_t out_desc;
    size_t fixed_batch; /* 0: the batch dimension is dynamic */
    bool out_float;     /* the output is a float tensor: ORT writes it straight into the batch */
    xq_model_t *interp; /* explainq's interpreter of the same model, or NULL */
    char why_no_grad[XQ_ERR_MSG_SIZE];
    void *scratch[MAX_INPUTS];
    size_t scratch_len[MAX_INPUTS];
    xq_tensor_desc_t *enc; /* the interpreter's encoded tensors, copied */
    const char *dims;      /* while loading: values of named dynamic dimensions, or NULL */
    size_t enc_cnt;
} ort_t;

/* Frees a string ORT allocated (a failure to free is nothing a caller can act on). */
static void free_name(ort_t *o, OrtAllocator *alloc, char *name) {
    OrtStatus *st = o->api->AllocatorFree(alloc, name);

    if (st)
        o->api->ReleaseStatus(st);
}

/* Copies an ORT status's message into @p err and releases the status. */
static xq_err_t
status_err(ort_t *o, OrtStatus *st, const char *field, const char *what, xq_error_t *err) {
    xq_err_t rc = xq_error_set(err, XQ_EMODEL, field, "%s: %s", what, o->api->GetErrorMessage(st));

    o->api->ReleaseStatus(st);
    return rc;
}

static void ort_destroy(void *impl) {
    ort_t *o = impl;

    if (!o)
        return;
    for (size_t i = 0; i < o->in_cnt; i++) {
        xq_free(o->in_names[i]);
        xq_free(o->scratch[i]);
    }
    xq_free(o->out_name);
    xq_free(o->enc);
    xq_model_destroy(o->interp);
    if (o->sess)
        o->api->ReleaseSession(o->sess);
    if (o->mi)
        o->api->ReleaseMemoryInfo(o->mi);
    if (o->env)
        o->api->ReleaseEnv(o->env);
    xq_free(o);
}

static size_t dtype_size(ONNXTensorElementDataType t) {
    switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
        return 4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
        return 8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
        return 1;
    default:
        return 0;
    }
}

/* Converts @p n floats into ORT input type @p t at @p dst. */
static void convert_in(ONNXTensorElementDataType t, const float *src, size_t n, void *dst) {
    for (size_t i = 0; i < n; i++) {
        switch (t) {
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
            ((float *)dst)[i] = src[i];
            break;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
            ((double *)dst)[i] = (double)src[i];
            break;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
            ((int64_t *)dst)[i] = (int64_t)lrintf(src[i]);
            break;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
            ((int32_t *)dst)[i] = (int32_t)lrintf(src[i]);
            break;
        default: /* bool */
            ((uint8_t *)dst)[i] = src[i] != 0.0f;
            break;
        }
    }
}

/* Reads @p n elements of output type @p t as floats; false for a type it cannot. */
static bool convert_out(ONNXTensorElementDataType t, const void *src, size_t n, float *dst) {
    for (size_t i = 0; i < n; i++) {
        switch (t) {
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
            dst[i] = ((const float *)src)[i];
            break;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
            dst[i] = (float)((const double *)src)[i];
            break;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
            dst[i] = (float)((const int64_t *)src)[i];
            break;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
            dst[i] = (float)((const int32_t *)src)[i];
            break;
        default:
            return false;
        }
    }
    return true;
}

/*
 * Reads a sequence of @p run_rows maps {label: float} (ZipMap) as rows of floats in the
 * maps' key order (sorted, as scikit-learn's classes_); @p out NULL learns the width.
 */
static xq_err_t
read_maps(ort_t *o, OrtValue *y, size_t run_rows, size_t rows, float *out, xq_error_t *err) {
    const OrtApi *api = o->api;
    OrtAllocator *alloc = NULL;
    size_t n = 0;
    OrtStatus *st;
    xq_err_t rc = XQ_OK;

    if ((st = api->GetAllocatorWithDefaultOptions(&alloc)) || (st = api->GetValueCount(y, &n)))
        return status_err(o, st, o->out_name, "reading the output", err);
    if (n != run_rows)
        return xq_error_set(err, XQ_EMODEL, o->out_name,
                            "output %s is not a tensor, nor one map per row", o->out_name);
    for (size_t r = 0; r < (out ? rows : 1) && rc == XQ_OK; r++) {
        OrtValue *map = NULL, *vals = NULL;
        OrtTensorTypeAndShapeInfo *info = NULL;
        ONNXTensorElementDataType t;
        size_t cnt = 0;
        void *p;

        if ((st = api->GetValue(y, (int)r, alloc, &map)) ||
            (st = api->GetValue(map, 1, alloc, &vals)) ||
            (st = api->GetTensorTypeAndShape(vals, &info)) ||
            (st = api->GetTensorElementType(info, &t)) ||
            (st = api->GetTensorShapeElementCount(info, &cnt)) ||
            (st = api->GetTensorMutableData(vals, &p)))
            rc = status_err(o, st, o->out_name, "reading the output's maps", err);
        else if (!out) {
            o->out_desc =
                (xq_tensor_desc_t){.name = o->out_name, .ndim = 1, .dims = {cnt}, .elem_cnt = cnt};
        } else if (cnt != o->out_desc.elem_cnt || !convert_out(t, p, cnt, out + r * cnt)) {
            rc = xq_error_set(err, XQ_EMODEL, o->out_name,
                              "output %s: a map of %zu numbers, %zu at load", o->out_name, cnt,
                              o->out_desc.elem_cnt);
        }
        if (info)
            api->ReleaseTensorTypeAndShapeInfo(info);
        if (vals)
            api->ReleaseValue(vals);
        if (map)
            api->ReleaseValue(map);
    }
    return rc;
}

/*
 * Runs @p rows rows (at most the fixed batch, if any) of every input in
 * @p data (float, in_desc order) and writes the output's values to @p out
 * (rows * out_desc.elem_cnt; NULL: learn the output's per-row shape instead).
 */
static xq_err_t
run_chunk(ort_t *o, const float *const *data, size_t rows, float *out, xq_error_t *err) {
    const OrtApi *api = o->api;
    OrtValue *in[MAX_INPUTS] = {0}, *y = NULL;
    OrtTensorTypeAndShapeInfo *info = NULL;
    size_t run_rows = o->fixed_batch ? o->fixed_batch : rows;
    const char *out_names[1] = {o->out_name};
    OrtStatus *st;
    xq_err_t rc = XQ_OK;
    void *yp;

    for (size_t i = 0; i < o->in_cnt; i++) {
        const xq_tensor_desc_t *d = &o->in_desc[i];
        size_t es = dtype_size(o->in_type[i]), len = run_rows * d->elem_cnt * es;
        int64_t shape[XQ_MAX_DIMS + 1];

        if (o->scratch_len[i] < len) {
            xq_free(o->scratch[i]);
            o->scratch[i] = xq_malloc(len);
            o->scratch_len[i] = len;
        }
        shape[0] = (int64_t)run_rows;
        for (size_t k = 0; k < d->ndim; k++)
            shape[k + 1] = (int64_t)d->dims[k];
        if (o->in_type[i] == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && run_rows == rows)
            /* the rows as they are: onnxruntime only reads its inputs */
            st = api->CreateTensorWithDataAsOrtValue(o->mi, (void *)(uintptr_t)data[i], len, shape,
                                                     d->ndim + 1, o->in_type[i], &in[i]);
        else {
            convert_in(o->in_type[i], data[i], rows * d->elem_cnt, o->scratch[i]);
            if (run_rows > rows) /* a fixed batch: pad with zero rows */
                memset((char *)o->scratch[i] + rows * d->elem_cnt * es, 0,
                       (run_rows - rows) * d->elem_cnt * es);
            st = api->CreateTensorWithDataAsOrtValue(o->mi, o->scratch[i], len, shape, d->ndim + 1,
                                                     o->in_type[i], &in[i]);
        }
        if (st) {
            rc = status_err(o, st, d->name, "onnxruntime cannot take the input", err);
            goto out;
        }
    }
    if (out && o->out_float && run_rows == rows) { /* straight into the batch, no copy */
        int64_t shape[XQ_MAX_DIMS + 1] = {(int64_t)rows};

        for (size_t k = 0; k < o->out_desc.ndim; k++)
            shape[k + 1] = (int64_t)o->out_desc.dims[k];
        if ((st = api->CreateTensorWithDataAsOrtValue(
                 o->mi, out, rows * o->out_desc.elem_cnt * sizeof(float), shape,
                 o->out_desc.ndim + 1, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &y))) {
            rc = status_err(o, st, o->out_name, "onnxruntime cannot take the output", err);
            goto out;
        }
        if ((st = api->Run(o->sess, NULL, (const char *const *)o->in_names,
                           (const OrtValue *const *)in, o->in_cnt, out_names, 1, &y)))
            rc = status_err(o, st, "model", "onnxruntime", err);
        goto out;
    }
    if ((st = api->Run(o->sess, NULL, (const char *const *)o->in_names, (const OrtValue *const *)in,
                       o->in_cnt, out_names, 1, &y))) {
        rc = status_err(o, st, "model", "onnxruntime", err);
        goto out;
    }
    {
        ONNXTensorElementDataType t;
        size_t nd, cnt;
        int64_t dims[XQ_MAX_DIMS + 1];
        int is_tensor = 0;

        if ((st = api->IsTensor(y, &is_tensor))) {
            rc = status_err(o, st, o->out_name, "reading the output", err);
            goto out;
        }
        if (!is_tensor) { /* skl2onnx's ZipMap: one {class: probability} map per row */
            rc = read_maps(o, y, run_rows, rows, out, err);
            goto out;
        }
        if ((st = api->GetTensorTypeAndShape(y, &info)) ||
            (st = api->GetTensorElementType(info, &t)) ||
            (st = api->GetDimensionsCount(info, &nd)) ||
            (st = api->GetTensorShapeElementCount(info, &cnt))) {
            rc = status_err(o, st, o->out_name, "reading the output", err);
            goto out;
        }
        if (nd < 1 || nd > XQ_MAX_DIMS + 1 || (st = api->GetDimensions(info, dims, nd)) ||
            dims[0] != (int64_t)run_rows || !dtype_size(t) ||
            t == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL) {
            if (st)
                api->ReleaseStatus(st);
            rc = xq_error_set(err, XQ_EMODEL, o->out_name,
                              "output %s must be a numeric tensor whose first dimension is the "
                              "batch (%zu rows run)",
                              o->out_name, run_rows);
            goto out;
        }
        if ((st = api->GetTensorMutableData(y, &yp))) {
            rc = status_err(o, st, o->out_name, "reading the output", err);
            goto out;
        }
        if (!out) { /* learning the shape */
            o->out_float = t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && nd - 1 <= XQ_MAX_DIMS;
            o->out_desc.name = o->out_name;
            o->out_desc.ndim = nd - 1;
            o->out_desc.elem_cnt = cnt / run_rows;
            for (size_t k = 1; k < nd; k++)
                o->out_desc.dims[k - 1] = (size_t)dims[k];
            goto out;
        }
        if (cnt / run_rows != o->out_desc.elem_cnt) {
            rc = xq_error_set(err, XQ_EMODEL, o->out_name,
                              "output %s has %zu values per row, %zu at load", o->out_name,
                              cnt / run_rows, o->out_desc.elem_cnt);
            goto out;
        }
        convert_out(t, yp, rows * o->out_desc.elem_cnt, out);
    }
out:
    if (info)
        api->ReleaseTensorTypeAndShapeInfo(info);
    if (y)
        api->ReleaseValue(y);
    for (size_t i = 0; i < o->in_cnt; i++) {
        if (in[i])
            api->ReleaseValue(in[i]);
    }
    return rc;
}

static xq_err_t ort_eval(void *impl, xq_batch_t *b, xq_error_t *err) {
    ort_t *o = impl;
    const float *data[MAX_INPUTS] = {0};
    bool interp = b->grad;
    size_t step;

    for (size_t t = 0; t < b->tensor_cnt && !interp; t++) {
        size_t i = 0;

        while (i < o->in_cnt && strcmp(o->in_desc[i].name, b->names[t]) != 0)
            i++;
        if (i == o->in_cnt)
            interp = true; /* an intermediate tensor: only the interpreter takes those */
        else
            data[i] = b->data[t];
    }
    for (size_t i = 0; i < o->in_cnt && !interp; i++)
        interp = !data[i];
    if (interp && !o->interp)
        return xq_error_set(err, XQ_EMODEL, "model", "%s: %s%s",
                            b->grad ? "no gradients" : "no intermediate tensors", o->why_no_grad,
                            strstr(o->why_no_grad, "Sampled Shapley")
                                ? ""
                                : "; Sampled Shapley works on this model, or serve it from a "
                                  "runner of your own for gradients");
    if (interp)
        return xq_model_eval(o->interp, b, err);
    step = o->fixed_batch ? o->fixed_batch : b->rows;
    for (size_t r = 0; r < b->rows; r += step) {
        const float *chunk[MAX_INPUTS];
        size_t n = b->rows - r < step ? b->rows - r : step;
        xq_err_t rc;

        for (size_t i = 0; i < o->in_cnt; i++)
            chunk[i] = data[i] + r * o->in_desc[i].elem_cnt;
        if ((rc = run_chunk(o, chunk, n, b->out + r * b->out_cnt, err)) != XQ_OK)
            return rc;
    }
    return XQ_OK;
}

static xq_err_t ort_encode(void *impl,
                           const char *encoded,
                           const float *raw,
                           size_t rows,
                           size_t raw_cnt,
                           float *out,
                           size_t out_cnt,
                           xq_error_t *err) {
    ort_t *o = impl;

    if (!o->interp)
        return xq_error_set(err, XQ_EMODEL, encoded, "cannot compute %s: %s", encoded,
                            o->why_no_grad);
    return xq_model_encode(o->interp, encoded, raw, rows, raw_cnt, out, out_cnt, err);
}

static const xq_model_ops_t ort_ops = {
    .eval = ort_eval,
    .encode = ort_encode,
    .destroy = ort_destroy,
};

/* Reads input @p i's name, type and per-row shape. */
static xq_err_t read_input(ort_t *o, size_t i, OrtAllocator *alloc, xq_error_t *err) {
    const OrtApi *api = o->api;
    OrtTypeInfo *ti = NULL;
    const OrtTensorTypeAndShapeInfo *tti = NULL;
    xq_tensor_desc_t *d = &o->in_desc[i];
    int64_t dims[XQ_MAX_DIMS + 1];
    const char *sym[XQ_MAX_DIMS + 1] = {0};
    size_t nd = 0;
    char *name = NULL;
    OrtStatus *st;
    xq_err_t rc = XQ_OK;

    if ((st = api->SessionGetInputName(o->sess, i, alloc, &name)))
        return status_err(o, st, "model", "reading the inputs", err);
    o->in_names[i] = xq_strdup(name);
    free_name(o, alloc, name);
    d->name = o->in_names[i];
    if ((st = api->SessionGetInputTypeInfo(o->sess, i, &ti)) ||
        (st = api->CastTypeInfoToTensorInfo(ti, &tti)) || !tti ||
        (st = api->GetTensorElementType(tti, &o->in_type[i])) ||
        (st = api->GetDimensionsCount(tti, &nd))) {
        if (st)
            api->ReleaseStatus(st);
        rc = xq_error_set(err, XQ_EMODEL, d->name, "input %s is not a tensor", d->name);
        goto out;
    }
    if (!dtype_size(o->in_type[i])) {
        rc = xq_error_set(err, XQ_EMODEL, d->name,
                          "input %s has an element type explainq cannot feed (it feeds float, "
                          "double, int64, int32 and bool)",
                          d->name);
        goto out;
    }
    if (nd < 1 || nd > XQ_MAX_DIMS + 1 || (st = api->GetDimensions(tti, dims, nd))) {
        rc = xq_error_set(err, XQ_EMODEL, d->name,
                          "input %s needs a batch dimension first and at most %d more", d->name,
                          XQ_MAX_DIMS);
        goto out;
    }
    if (dims[0] > 0) {
        if (o->fixed_batch && o->fixed_batch != (size_t)dims[0]) {
            rc = xq_error_set(err, XQ_EMODEL, d->name,
                              "input %s has a fixed batch of %lld, another input %zu", d->name,
                              (long long)dims[0], o->fixed_batch);
            goto out;
        }
        o->fixed_batch = (size_t)dims[0];
    }
    d->is_integer = o->in_type[i] == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 ||
                    o->in_type[i] == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 ||
                    o->in_type[i] == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
    d->ndim = nd - 1;
    d->elem_cnt = 1;
    if ((st = api->GetSymbolicDimensions(tti, sym, nd))) {
        api->ReleaseStatus(st);
        memset(sym, 0, sizeof(sym));
    }
    for (size_t k = 1; k < nd; k++) {
        size_t given;

        if (dims[k] < 1 && sym[k] && sym[k][0] && xq_model_dims_lookup(o->dims, sym[k], &given))
            dims[k] = (int64_t)given;
        if (dims[k] < 1) {
            rc = xq_error_set(err, XQ_EMODEL, d->name,
                              "input %s: dimension %zu (%s) is not fixed; only the batch may "
                              "vary: give it with --dims %s=N",
                              d->name, k, sym[k] && sym[k][0] ? sym[k] : "unnamed",
                              sym[k] && sym[k][0] ? sym[k] : "NAME");
            goto out;
        }
        d->dims[k - 1] = (size_t)dims[k];
        d->elem_cnt *= d->dims[k - 1];
    }
out:
    if (ti)
        api->ReleaseTypeInfo(ti);
    return rc;
}

/* Whether output @p i is a float or double tensor (a classifier's label is not). */
static bool is_float_output(ort_t *o, size_t i) {
    const OrtTensorTypeAndShapeInfo *tti = NULL;
    ONNXTensorElementDataType t = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    OrtTypeInfo *ti = NULL;
    OrtStatus *st;

    if ((st = o->api->SessionGetOutputTypeInfo(o->sess, i, &ti)) ||
        (st = o->api->CastTypeInfoToTensorInfo(ti, &tti)) ||
        (tti && (st = o->api->GetTensorElementType(tti, &t))))
        o->api->ReleaseStatus(st);
    if (ti)
        o->api->ReleaseTypeInfo(ti);
    return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
}

/*
 * Picks the output to explain: @p want, else the first float tensor (a classifier's
 * probabilities rather than its label), else the second output (skl2onnx's ZipMap
 * probabilities after the label), else the first.
 */
static xq_err_t
pick_output(ort_t *o, const char *want, OrtAllocator *alloc, bool *found, xq_error_t *err) {
    size_t n = 0;
    OrtStatus *st;

    *found = false;
    if ((st = o->api->SessionGetOutputCount(o->sess, &n)))
        return status_err(o, st, "model", "reading the outputs", err);
    for (size_t i = 0; i < n && !*found; i++) {
        char *name = NULL;

        if ((st = o->api->SessionGetOutputName(o->sess, i, alloc, &name)))
            return status_err(o, st, "model", "reading the outputs", err);
        if (want ? strcmp(want, name) == 0 : is_float_output(o, i)) {
            o->out_name = xq_strdup(name);
            *found = true;
        }
        free_name(o, alloc, name);
    }
    if (!want && !*found && n) { /* no float output: a sequence of maps, or the first */
        char *name = NULL;

        if ((st = o->api->SessionGetOutputName(o->sess, n > 1 ? 1 : 0, alloc, &name)))
            return status_err(o, st, "model", "reading the outputs", err);
        o->out_name = xq_strdup(name);
        *found = true;
        free_name(o, alloc, name);
    }
    return XQ_OK;
}

static xq_err_t open_session(ort_t *o, const char *path, xq_error_t *err) {
    const OrtApi *api = o->api;
    OrtSessionOptions *so = NULL;
    OrtStatus *st;
    xq_err_t rc = XQ_OK;

    if ((st = api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "explainq", &o->env)) ||
        (st = api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &o->mi)) ||
        (st = api->CreateSessionOptions(&so)) || (st = api->SetIntraOpNumThreads(so, 1)) ||
        (st = api->SetInterOpNumThreads(so, 1)) ||
        (st = api->SetSessionExecutionMode(so, ORT_SEQUENTIAL)) ||
        (st = api->SetDeterministicCompute(so, true)) ||
        (st = api->AddSessionConfigEntry(so, "session.intra_op.allow_spinning", "0"))) {
        rc = status_err(o, st, "model", "onnxruntime setup", err);
        goto out;
    }
    for (const char *p = o->dims; p && *p;) { /* "name=value,..." for onnxruntime too */
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        char name[128];
        size_t v;

        end = end ? end : p + strlen(p);
        if (eq && eq < end && (size_t)(eq - p) < sizeof(name)) {
            memcpy(name, p, (size_t)(eq - p));
            name[eq - p] = '\0';
            if (xq_model_dims_lookup(o->dims, name, &v) &&
                (st = api->AddFreeDimensionOverrideByName(so, name, (int64_t)v))) {
                rc = status_err(o, st, "dims", "onnxruntime cannot fix the dimension", err);
                goto out;
            }
        }
        p = *end ? end + 1 : end;
    }
    if ((st = api->CreateSession(o->env, path, so, &o->sess)))
        rc = status_err(o, st, "model", "onnxruntime cannot load the model", err);
out:
    if (so)
        api->ReleaseSessionOptions(so);
    return rc;
}

xq_err_t xq_ort_load(const char *path,
                     const uint8_t *buf,
                     size_t len,
                     const char *output,
                     const char *dims,
                     xq_model_t **out,
                     xq_error_t *err) {
    const OrtApiBase *base = OrtGetApiBase();
    ort_t *o = xq_calloc(1, sizeof(*o));
    OrtAllocator *alloc = NULL;
    xq_error_t ierr = {0};
    size_t n = 0;
    bool found;
    OrtStatus *st;
    xq_err_t rc;

    if (!(o->api = base->GetApi(ORT_API_VERSION))) {
        rc = xq_error_set(err, XQ_EMODEL, "model",
                          "the onnxruntime library (%s) does not offer C API version %d",
                          base->GetVersionString(), ORT_API_VERSION);
        goto out;
    }
    o->dims = dims;
    if ((rc = open_session(o, path, err)) != XQ_OK)
        goto out;
    if ((st = o->api->GetAllocatorWithDefaultOptions(&alloc)) ||
        (st = o->api->SessionGetInputCount(o->sess, &n))) {
        rc = status_err(o, st, "model", "reading the inputs", err);
        goto out;
    }
    if (n < 1 || n > MAX_INPUTS) {
        rc = xq_error_set(err, XQ_EMODEL, "model", "the model has %zu inputs (1 to %d work)", n,
                          MAX_INPUTS);
        goto out;
    }
    for (o->in_cnt = 0; o->in_cnt < n; o->in_cnt++) {
        if ((rc = read_input(o, o->in_cnt, alloc, err)) != XQ_OK) {
            o->in_cnt++;
            goto out;
        }
    }
    if ((rc = pick_output(o, output, alloc, &found, err)) != XQ_OK)
        goto out;
    {
        /* the interpreter explains the same output (or the intermediate tensor asked for) */
        char dir[4096];
        const char *slash = strrchr(path, '/');

        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
        if (xq_onnx_load_dir(buf, len, dir, found ? o->out_name : output, dims, &o->interp,
                             &ierr) != XQ_OK)
            snprintf(o->why_no_grad, sizeof(o->why_no_grad), "%s", ierr.msg);
    }
    if (!found && o->interp) { /* an intermediate tensor: the interpreter does it all */
        *out = o->interp;
        o->interp = NULL;
        goto out;
    }
    if (!found) {
        char names[160] = "";
        size_t cnt = 0, off = 0;

        if ((st = o->api->SessionGetOutputCount(o->sess, &cnt)))
            o->api->ReleaseStatus(st);
        else {
            for (size_t i = 0; i < cnt && off < sizeof(names); i++) {
                char *name = NULL;

                if ((st = o->api->SessionGetOutputName(o->sess, i, alloc, &name))) {
                    o->api->ReleaseStatus(st);
                    break;
                }
                off +=
                    (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "", name);
                free_name(o, alloc, name);
            }
        }
        rc = xq_error_set(err, XQ_EMODEL, "output",
                          "the model has no output %s (outputTensorName); its outputs: %s", output,
                          names);
        goto out;
    }
    {
        /* one chunk of zero rows teaches the output's per-row shape */
        size_t rows = o->fixed_batch ? o->fixed_batch : 2, most = 1;
        const float *zin[MAX_INPUTS];
        float *zeros;

        for (size_t i = 0; i < o->in_cnt; i++)
            most = o->in_desc[i].elem_cnt > most ? o->in_desc[i].elem_cnt : most;
        zeros = xq_calloc(rows * most, sizeof(float));
        for (size_t i = 0; i < o->in_cnt; i++)
            zin[i] = zeros;
        rc = run_chunk(o, zin, rows, NULL, err);
        xq_free(zeros);
        if (rc != XQ_OK)
            goto out;
    }
    if (o->interp) {
        o->enc_cnt = xq_model_encoded_cnt(o->interp);
        o->enc = xq_calloc(o->enc_cnt + 1, sizeof(*o->enc));
        for (size_t i = 0; i < o->enc_cnt; i++)
            o->enc[i] = *xq_model_encoded(o->interp, i);
    }
    *out = xq_model_new(&ort_ops, o, o->in_desc, o->in_cnt, o->enc, o->enc_cnt, &o->out_desc);
    /* the interpreter's count of activations bounds onnxruntime's (which reuses buffers) */
    if (o->interp)
        xq_model_set_row_bytes(*out, xq_model_row_bytes(o->interp), 0);
    o = NULL;
out:
    ort_destroy(o);
    return rc;
}
