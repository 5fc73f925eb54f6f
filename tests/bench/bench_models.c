/*
 * bench_models.c -- `make bench`: model rows per second through the model
 * backends, forward and forward+gradient, at batch sizes 1, 64 and 1024, on one core:
 * engine=onnx is onnxruntime for forward rows and the interpreter for gradients (the
 * default), engine=interp the interpreter alone. tests/bench/ort_compare.py prints the same
 * lines for onnxruntime's own Python API (engine=onnxruntime-py) to set beside them.
 * Each line: "bench model=... engine=... batch=... mode=...: X ns/row, Y rows/s".
 * With arguments MODEL LABEL BATCH it prints the one forward line of onnxruntime (engine=onnx).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mem.h"
#include "models/load.h"

static double now(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
bench(const char *path, const char *label, const char *backend, size_t batch, bool grad) {
    xq_model_t *m = NULL;
    xq_error_t err;
    const xq_tensor_desc_t *in, *od;
    float *x, *y, *g;
    int32_t *gi;
    size_t rows = 0;
    double t0, dt;

    if (xq_model_load(path, &(xq_model_opts_t){.backend = backend}, &m, &err) != XQ_OK) {
        fprintf(stderr, "bench: %s: %s\n", path, err.msg);
        exit(1);
    }
    in = xq_model_input(m, 0);
    od = xq_model_output(m);
    x = xq_malloc(batch * in->elem_cnt * sizeof(float));
    g = xq_malloc(batch * in->elem_cnt * sizeof(float));
    y = xq_malloc(batch * od->elem_cnt * sizeof(float));
    gi = xq_calloc(batch, sizeof(int32_t));
    for (size_t i = 0; i < batch * in->elem_cnt; i++)
        x[i] = (float)sin((double)i);
    {
        const char *names[] = {in->name};
        size_t elem[] = {in->elem_cnt};
        const float *data[] = {x};
        float *gouts[] = {g};
        xq_batch_t b = {.rows = batch,
                        .tensor_cnt = 1,
                        .names = names,
                        .elem_cnt = elem,
                        .data = data,
                        .grad = grad,
                        .grad_index = gi,
                        .out_cnt = od->elem_cnt,
                        .out = y,
                        .grad_out = gouts};

        t0 = now();
        do /* warm-up: onnxruntime sizes its buffers in the first calls */
            xq_model_eval(m, &b, &err);
        while (now() - t0 < 0.05);
        t0 = now();
        do {
            if (xq_model_eval(m, &b, &err) != XQ_OK) {
                fprintf(stderr, "bench: %s\n", err.msg);
                exit(1);
            }
            rows += batch;
        } while ((dt = now() - t0) < 0.4);
    }
    printf("bench model=%-5s engine=%-14s batch=%-4zu mode=%-12s %10.0f ns/row %12.0f rows/s\n",
           label, strcmp(backend, "onnx") ? "interp" : "onnx", batch,
           grad ? "forward+grad" : "forward", dt * 1e9 / (double)rows, (double)rows / dt);
    xq_free(x);
    xq_free(y);
    xq_free(g);
    xq_free(gi);
    xq_model_destroy(m);
}

/*
 * bench_models MODEL LABEL BATCH: one line, forward rows through onnxruntime (the
 * onnx backend), for tests/bench/ort_compare.py to set beside onnxruntime's Python API.
 */
static int one(char **argv) {
    xq_log_set_level(XQ_LOG_WARN);
    bench(argv[1], argv[2], "onnx", (size_t)strtoul(argv[3], NULL, 10), false);
    return 0;
}

int main(int argc, char **argv) {
    static const size_t batches[] = {1, 64, 1024};
    static const char *const models[][2] = {{"tests/data/onnx/mlp20.onnx", "mlp"},
                                            {"tests/data/onnx/cnn.onnx", "cnn"}};
    static const char *const backends[] = {"onnx", "onnx-interp"};

    if (argc == 4)
        return one(argv);
    xq_log_set_level(XQ_LOG_WARN);
    for (size_t k = 0; k < 2; k++)
        for (int g = 0; g < 2; g++)
            for (size_t e = 0; e < (g ? 1 : 2); e++) /* gradients: the interpreter either way */
                for (size_t b = 0; b < 3; b++)
                    bench(models[k][0], models[k][1], backends[e], batches[b], g);
    return 0;
}
