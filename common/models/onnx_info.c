/* onnx_info.c -- what an ONNX file holds, for people: tensors, element types, operators. */
#include <string.h>

#include "models/onnx.h"
#include "models/onnx_int.h"
#include "onnx.pb-c.h"

static const char *elem_type_name(int t) {
    static const char *const names[] = {"?",       "float32", "uint8",  "int8",   "uint16",
                                        "int16",   "int32",   "int64",  "string", "bool",
                                        "float16", "float64", "uint32", "uint64"};

    return t >= 0 && t < (int)(sizeof(names) / sizeof(names[0])) ? names[t] : "other";
}

static void info_value(const Onnx__ValueInfoProto *vi, xq_buf_t *out) {
    const Onnx__TypeProto__Tensor *tt = vi->type ? vi->type->tensor_type : NULL;

    xq_buf_appendf(out, "  %s  ", vi->name);
    if (!tt) {
        xq_buf_append_str(out, "(not a tensor: a sequence or map)\n");
        return;
    }
    xq_buf_appendf(out, "%s [", elem_type_name(tt->elem_type));
    for (size_t k = 0; tt->shape && k < tt->shape->n_dim; k++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];

        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            xq_buf_appendf(out, "%s%lld", k ? ", " : "", (long long)d->dim_value);
        else
            xq_buf_appendf(out, "%s%s", k ? ", " : "",
                           d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                               ? d->dim_param
                               : "?");
    }
    xq_buf_append_str(out, "]\n");
}

xq_err_t xq_onnx_info(const uint8_t *buf, size_t len, xq_buf_t *out, xq_error_t *err) {
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    const Onnx__GraphProto *g;

    if (!mp || !mp->graph) {
        if (mp)
            onnx__model_proto__free_unpacked(mp, NULL);
        return xq_error_set(err, XQ_EMODEL, "model", "not an ONNX model (protobuf did not parse)");
    }
    g = mp->graph;
    xq_buf_appendf(out, "graph inputs (inputTensorName):\n");
    for (size_t i = 0; i < g->n_input; i++) {
        bool init = false;

        for (size_t k = 0; k < g->n_initializer && !init; k++)
            init = !strcmp(g->initializer[k]->name, g->input[i]->name);
        if (!init)
            info_value(g->input[i], out);
    }
    xq_buf_appendf(out, "graph outputs (outputTensorName):\n");
    for (size_t i = 0; i < g->n_output; i++)
        info_value(g->output[i], out);
    xq_buf_appendf(out, "operators (nodes; * = the interpreter cannot differentiate it):\n ");
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *np = g->node[i];
        const xq_onnx_opdef_t *ext;
        size_t cnt = 0;
        bool seen = false;

        for (size_t k = 0; k < i && !seen; k++)
            seen = !strcmp(g->node[k]->op_type, np->op_type);
        if (seen)
            continue;
        for (size_t k = i; k < g->n_node; k++)
            cnt += !strcmp(g->node[k]->op_type, np->op_type);
        xq_buf_appendf(out, " %s%s%s%s %zu", np->domain && np->domain[0] ? np->domain : "",
                       np->domain && np->domain[0] ? "." : "", np->op_type,
                       xq_onnx_lookup_op(np, &ext) == OP_CNT ? "*" : "", cnt);
    }
    xq_buf_append_str(out, "\n");
    onnx__model_proto__free_unpacked(mp, NULL);
    return XQ_OK;
}
