/* onnx_ops_shape.c -- the interpreter's shape, indexing and normalization operators. */
#include <math.h>
#include <string.h>

#include "models/onnx_int.h"

static const xq_onnx_opdef_t shape_ops[] = {
    {NULL, NULL, NULL, 1, 1, 1},
};

const xq_onnx_opdef_t *xq_onnx_opdef_shape(const char *op_type) {
    for (size_t i = 0; shape_ops[i].name; i++) {
        if (!strcmp(shape_ops[i].name, op_type))
            return &shape_ops[i];
    }
    return NULL;
}
