/* cmd_model.c -- `explainq model info`: a model's tensors, operators and gradients. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mem.h"
#include "model.h"
#include "models/load.h"
#include "models/onnx.h"

static const char model_usage[] =
    "usage: explainq model info FILE|URL [--backend NAME] [--output NAME]\n"
    "\n"
    "Describes a model as explainq loads it: its inputs (the names for\n"
    "inputTensorName), the output explained (outputTensorName), the intermediate\n"
    "tensors it can be fed or read (encodedTensorName, latentSpaceSource), with\n"
    "per-row shapes; for ONNX also the graph's element types, its operators, and\n"
    "whether gradient methods (IG, SmoothGrad, XRAI) can run on it.\n";

static void print_desc(const xq_tensor_desc_t *d) {
    printf("  %s  [N", d->name);
    for (size_t k = 0; k < d->ndim; k++)
        printf(", %zu", d->dims[k]);
    printf("]\n");
}

/* ONNX only: the graph as written, and whether the interpreter takes it for gradients. */
static void onnx_details(const char *path, const xq_model_opts_t *mopts) {
    xq_model_opts_t io = *mopts;
    xq_model_t *im = NULL;
    xq_error_t err = {0};
    uint8_t *buf;
    size_t len;
    xq_buf_t out;

    if (!(buf = xq_cli_read_file(path, &len)))
        return;
    xq_buf_init(&out);
    if (xq_onnx_info(buf, len, &out, &err) == XQ_OK)
        fputs(xq_buf_cstr(&out), stdout);
    io.backend = "onnx-interp";
    if (xq_model_load(path, &io, &im, &err) == XQ_OK)
        printf("gradients: yes (explainq's interpreter; forward rows by onnxruntime)\n");
    else
        printf("gradients: no: %s\n", err.msg);
    xq_model_destroy(im);
    xq_buf_fini(&out);
    xq_free(buf);
}

/* Prints whether @p m returns gradients (one row of zeros asks for them); true when it does. */
static bool grad_probe(xq_model_t *m) {
    size_t n = xq_model_input_cnt(m), oc = xq_model_output(m)->elem_cnt;
    const char **names = xq_calloc(n + 1, sizeof(*names));
    size_t *elem = xq_calloc(n + 1, sizeof(*elem));
    const float **data = xq_calloc(n + 1, sizeof(*data));
    float **gout = xq_calloc(n + 1, sizeof(*gout)), *out = xq_calloc(oc, sizeof(float));
    int32_t gi = 0;
    xq_error_t err;
    bool ok;

    for (size_t i = 0; i < n; i++) {
        names[i] = xq_model_input(m, i)->name;
        elem[i] = xq_model_input(m, i)->elem_cnt;
        data[i] = xq_calloc(elem[i], sizeof(float));
        gout[i] = xq_calloc(elem[i], sizeof(float));
    }
    xq_batch_t b = {.rows = 1,
                    .tensor_cnt = n,
                    .names = names,
                    .elem_cnt = elem,
                    .data = data,
                    .grad = true,
                    .grad_index = &gi,
                    .out_cnt = oc,
                    .out = out,
                    .grad_out = gout};
    ok = xq_model_eval(m, &b, &err) == XQ_OK;
    if (ok)
        printf("gradients: yes\n");
    else
        printf("gradients: no: %s\n", err.msg);
    for (size_t i = 0; i < n; i++) {
        xq_free((void *)(uintptr_t)data[i]);
        xq_free(gout[i]);
    }
    xq_free(names);
    xq_free(elem);
    xq_free(data);
    xq_free(gout);
    xq_free(out);
    return ok;
}

int xq_cmd_model(int argc, char **argv) {
    xq_model_opts_t mopts = {0};
    const xq_backend_t *backend;
    const char *path = NULL;
    xq_model_t *m = NULL;
    xq_error_t err;

    if (argc < 3 || strcmp(argv[1], "info") != 0) {
        fputs(model_usage, argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc > 1 && !strcmp(argv[1], "--help") ? XQ_EXIT_OK : XQ_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            mopts.backend = argv[++i];
        else if (!strcmp(argv[i], "--output") && i + 1 < argc)
            mopts.output = argv[++i];
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "explainq model: unknown argument %s\n%s", argv[i], model_usage);
            return XQ_EXIT_USAGE;
        }
    }
    if (!path) {
        fputs(model_usage, stderr);
        return XQ_EXIT_USAGE;
    }
    if (xq_model_load(path, &mopts, &m, &err) != XQ_OK) {
        fprintf(stderr, "explainq model: %s: %s\n", path, err.msg);
        return XQ_EXIT_RUNTIME;
    }
    printf("model %s\n", path);
    printf("inputs (inputTensorName), per row after the batch N:\n");
    for (size_t i = 0; i < xq_model_input_cnt(m); i++)
        print_desc(xq_model_input(m, i));
    printf("output explained (outputTensorName):\n");
    print_desc(xq_model_output(m));
    printf("intermediate tensors (encodedTensorName, latentSpaceSource): %zu\n",
           xq_model_encoded_cnt(m));
    for (size_t i = 0; i < xq_model_encoded_cnt(m); i++)
        print_desc(xq_model_encoded(m, i));
    backend = xq_backend_choose(path, mopts.backend, &err); /* it loaded: not NULL */
    if (backend && (backend->flags & XQ_BACKEND_F_ONNX))
        onnx_details(path, &mopts);
    else
        grad_probe(m);
    xq_model_destroy(m);
    return XQ_EXIT_OK;
}
