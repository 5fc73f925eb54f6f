/* onnx_load.c -- an ONNX graph into the interpreter: tensors (inline or external data), nodes and
 * their attributes, unsupported operators listed. */
#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "models/onnx_int.h"
#include "onnx.pb-c.h"

/* ==== Loading ==== */

/* A TensorProto into value @p v (float32 or int64). */
static bool load_tensor_bytes(
    onnx_t *m, const Onnx__TensorProto *t, const uint8_t *raw, size_t raw_len, val_t *v) {
    size_t dims[XQ_MAX_DIMS] = {0}, cnt = 1;

    if (t->n_dims > XQ_MAX_DIMS) {
        snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s has more than 8 dimensions", t->name);
        return false;
    }
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0) {
            snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s has a negative dimension", t->name);
            return false;
        }
        dims[d] = (size_t)t->dims[d];
        cnt *= dims[d];
    }
    switch (t->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        xq_onnx_shape(v, DT_F32, t->n_dims, dims);
        if (raw && raw_len == cnt * 4) {
            memcpy(v->f, raw, cnt * 4); /* little-endian, as this machine */
        } else if (t->n_float_data == cnt) {
            memcpy(v->f, t->float_data, cnt * 4);
        } else {
            goto bad;
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        xq_onnx_shape(v, DT_F32, t->n_dims, dims);
        for (size_t i = 0; i < cnt; i++) {
            double d;

            if (raw && raw_len == cnt * 8)
                memcpy(&d, raw + 8 * i, 8);
            else if (t->n_double_data == cnt)
                d = t->double_data[i];
            else
                goto bad;
            v->f[i] = (float)d;
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        xq_onnx_shape(v, DT_I64, t->n_dims, dims);
        if (raw && raw_len == cnt * 8)
            memcpy(v->i, raw, cnt * 8);
        else if (t->n_int64_data == cnt)
            memcpy(v->i, t->int64_data, cnt * 8);
        else
            goto bad;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: /* as int64 0/1, like a Cast's result */
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
        xq_onnx_shape(v, DT_I64, t->n_dims, dims);
        for (size_t i = 0; i < cnt; i++) {
            if (raw && raw_len == cnt)
                v->i[i] = raw[i];
            else if (t->n_int32_data == cnt)
                v->i[i] = t->int32_data[i];
            else
                goto bad;
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        xq_onnx_shape(v, DT_I64, t->n_dims, dims);
        for (size_t i = 0; i < cnt; i++) {
            int32_t x;

            if (raw && raw_len == cnt * 4)
                memcpy(&x, raw + 4 * i, 4);
            else if (t->n_int32_data == cnt)
                x = t->int32_data[i];
            else
                goto bad;
            v->i[i] = x;
        }
        break;
    default:
        snprintf(
            m->errbuf, sizeof(m->errbuf),
            "tensor %s has data type %d; float, double, int32, int64, uint8 and bool are supported",
            t->name ? t->name : "?", t->data_type);
        return false;
    }
    v->is_const = true;
    return true;
bad:
    snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s: data does not match its shape",
             t->name ? t->name : "?");
    return false;
}

/* Largest external data file section one tensor may take. */
#define MAX_EXTERNAL (1ul << 31)

/* Reads a tensor's bytes from its external data file (location, offset, length) into @p b. */
static bool read_external(onnx_t *m, const Onnx__TensorProto *t, xq_buf_t *b) {
    const char *loc = NULL;
    unsigned long long off = 0, len = 0;
    bool has_len = false;
    char path[4096];
    FILE *f;
    int w;

    for (size_t k = 0; k < t->n_external_data; k++) {
        const Onnx__StringStringEntryProto *e = t->external_data[k];

        if (!strcmp(e->key, "location"))
            loc = e->value;
        else if (!strcmp(e->key, "offset"))
            off = strtoull(e->value, NULL, 10);
        else if (!strcmp(e->key, "length")) {
            len = strtoull(e->value, NULL, 10);
            has_len = true;
        }
    }
    if (!m->dir) {
        snprintf(m->errbuf, sizeof(m->errbuf),
                 "tensor %s: its data is in an external file, and the model was not read from "
                 "a file",
                 t->name);
        return false;
    }
    if (!loc || !loc[0] || loc[0] == '/' || strstr(loc, "..")) {
        snprintf(m->errbuf, sizeof(m->errbuf),
                 "tensor %s: external data location must be a file beside the model", t->name);
        return false;
    }
    w = snprintf(path, sizeof(path), "%s/%s", m->dir, loc);
    if (w < 0 || (size_t)w >= sizeof(path) || !(f = fopen(path, "rb"))) {
        snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s: cannot open external data %s", t->name,
                 loc);
        return false;
    }
    if (!has_len && (fseek(f, 0, SEEK_END) != 0 || (len = (unsigned long long)ftell(f)) < off))
        len = 0;
    else if (!has_len)
        len -= off;
    if (len > MAX_EXTERNAL || fseek(f, (long)off, SEEK_SET) != 0) {
        fclose(f);
        snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s: bad external data section", t->name);
        return false;
    }
    xq_buf_reserve(b, (size_t)len);
    b->len = fread(b->data, 1, (size_t)len, f);
    fclose(f);
    if (b->len != len) {
        snprintf(m->errbuf, sizeof(m->errbuf), "tensor %s: external data %s is shorter than said",
                 t->name, loc);
        return false;
    }
    return true;
}

/* A TensorProto into value @p v, its data inline or in an external file. */
bool xq_onnx_load_tensor(onnx_t *m, const Onnx__TensorProto *t, val_t *v) {
    xq_buf_t b;
    bool ok;

    if (!t->has_data_location || t->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return load_tensor_bytes(m, t, t->has_raw_data ? t->raw_data.data : NULL,
                                 t->has_raw_data ? t->raw_data.len : 0, v);
    xq_buf_init(&b);
    ok = read_external(m, t, &b) &&
         load_tensor_bytes(m, t, b.data ? b.data : (const uint8_t *)"", b.len, v);
    xq_buf_fini(&b);
    return ok;
}

static void read_ints(const Onnx__AttributeProto *a, long *dst, size_t *cnt, size_t max) {
    *cnt = a->n_ints < max ? a->n_ints : max;
    for (size_t i = 0; i < *cnt; i++)
        dst[i] = (long)a->ints[i];
}

/* Characters of the list of missing operators, so the advice after it fits an error message. */
#define LIST_BUDGET 158

op_t xq_onnx_lookup_op(const Onnx__NodeProto *np, const xq_onnx_opdef_t **ext) {
    *ext = NULL;
    if (np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx") != 0)
        return OP_CNT;
    for (int op = 0; op < OP_EXT; op++) {
        if (strcmp(np->op_type, xq_onnx_op_name(op)) == 0)
            return (op_t)op;
    }
    if (!(*ext = xq_onnx_opdef_ew(np->op_type)) && !(*ext = xq_onnx_opdef_shape(np->op_type)))
        *ext = xq_onnx_opdef_resize(np->op_type);
    return *ext ? OP_EXT : OP_CNT;
}

/*
 * Lists, in m->errbuf, every operator of @p g the interpreter lacks, each with its node count
 * and first node; returns how many operators. Past the buffer: "and N more".
 */
size_t xq_onnx_list_unsupported(onnx_t *m, const Onnx__GraphProto *g) {
    size_t kinds = 0, shown = 0, len;
    const xq_onnx_opdef_t *ext;

    len = (size_t)snprintf(m->errbuf, sizeof(m->errbuf), "explainq's interpreter lacks ");
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *np = g->node[i];
        size_t cnt = 0;
        bool seen = false;
        char item[128];
        int w;

        if (xq_onnx_lookup_op(np, &ext) != OP_CNT)
            continue;
        for (size_t k = 0; k < g->n_node && !seen; k++) {
            if (strcmp(g->node[k]->op_type, np->op_type) == 0 &&
                strcmp(g->node[k]->domain ? g->node[k]->domain : "",
                       np->domain ? np->domain : "") == 0) {
                seen = k < i;
                cnt++;
            }
        }
        if (seen)
            continue;
        kinds++;
        w = snprintf(item, sizeof(item), "%s%s%s%s (%zu node%s: %s%s)", shown ? ", " : "",
                     np->domain && np->domain[0] ? np->domain : "",
                     np->domain && np->domain[0] ? "." : "", np->op_type, cnt,
                     cnt > 1 ? "s, first" : "", np->name && np->name[0] ? np->name : np->output[0],
                     "");
        if (w > 0 && len + (size_t)w + 16 >= LIST_BUDGET) /* no room for the nodes: the name */
            w = snprintf(item, sizeof(item), "%s%s", shown ? ", " : "", np->op_type);
        if (w > 0 && len + (size_t)w + 16 < LIST_BUDGET) {
            memcpy(m->errbuf + len, item, (size_t)w + 1);
            len += (size_t)w;
            shown++;
        }
    }
    if (kinds > shown)
        snprintf(m->errbuf + len, sizeof(m->errbuf) - len, " and %zu more", kinds - shown);
    return kinds;
}

bool xq_onnx_read_node(onnx_t *m, const Onnx__NodeProto *np, node_t *n) {
    const xq_onnx_opdef_t *ext;
    op_t op = xq_onnx_lookup_op(np, &ext);
    size_t cnt;

    n->name = xq_strdup(np->name && np->name[0] ? np->name : np->output[0]);
    if (op == OP_CNT) {
        snprintf(m->errbuf, sizeof(m->errbuf), "unsupported operator %s (node %s)", np->op_type,
                 n->name);
        return false;
    }
    n->ext = ext;
    n->op = (op_t)op;
    if (np->n_input > MAX_IO || np->n_output < 1) {
        snprintf(m->errbuf, sizeof(m->errbuf), "node %s has too many inputs", n->name);
        return false;
    }
    n->in_cnt = np->n_input;
    for (size_t i = 0; i < np->n_input; i++)
        n->in[i] = np->input[i][0] ? xq_onnx_add_val(m, np->input[i]) : -1;
    /* extra outputs (Dropout's mask, BatchNorm's stats) are not computed; Split's are */
    n->out_cnt = ext && !strcmp(ext->name, "Split") ? np->n_output : 1;
    if (n->out_cnt > MAX_IO) {
        snprintf(m->errbuf, sizeof(m->errbuf), "node %s has more than %d outputs", n->name, MAX_IO);
        return false;
    }
    for (size_t k = 0; k < n->out_cnt; k++)
        n->out[k] = xq_onnx_add_val(m, np->output[k]);
    /* defaults of the attributes */
    n->axis = n->op == OP_CONCAT || n->op == OP_GATHER ? 0 : 1;
    n->keepdims = 1;
    n->alpha = n->op == OP_LEAKYRELU ? 0.01f : 1.0f;
    n->beta = 1.0f;
    if (ext) {
        n->alpha = ext->alpha;
        n->beta = ext->beta;
        n->axis = ext->axis;
    }
    n->strides[0] = n->strides[1] = 1;
    n->dilations[0] = n->dilations[1] = 1;
    n->group = 1;
    n->epsilon = 1e-5f;
    n->clip_min = -INFINITY;
    n->clip_max = INFINITY;
    for (size_t k = 0; k < np->n_attribute; k++) {
        const Onnx__AttributeProto *a = np->attribute[k];
        const char *an = a->name;

        if (!strcmp(an, "axis")) {
            n->axis = (long)a->i;
            n->has_axis = true;
        } else if (!strcmp(an, "keepdims")) {
            n->keepdims = (long)a->i;
        } else if (!strcmp(an, "noop_with_empty_axes") || !strcmp(an, "allowzero")) {
            n->noop_empty = (long)a->i;
        } else if (!strcmp(an, "alpha")) {
            n->alpha = a->f;
        } else if (!strcmp(an, "beta")) {
            n->beta = a->f;
        } else if (!strcmp(an, "transA")) {
            n->trans_a = (long)a->i;
        } else if (!strcmp(an, "transB")) {
            n->trans_b = (long)a->i;
        } else if (!strcmp(an, "perm")) {
            read_ints(a, n->perm, &n->perm_cnt, XQ_MAX_DIMS);
        } else if (!strcmp(an, "axes")) {
            read_ints(a, n->axes, &n->axes_cnt, XQ_MAX_DIMS);
            n->has_axes = true;
        } else if (!strcmp(an, "kernel_shape")) {
            read_ints(a, n->kernel, &cnt, 2);
        } else if (!strcmp(an, "strides")) {
            read_ints(a, n->strides, &cnt, 2);
        } else if (!strcmp(an, "dilations")) {
            read_ints(a, n->dilations, &cnt, 2);
        } else if (!strcmp(an, "pads")) {
            read_ints(a, n->pads, &cnt, 4);
        } else if (!strcmp(an, "group")) {
            n->group = (long)a->i;
        } else if (!strcmp(an, "count_include_pad")) {
            n->count_include_pad = (long)a->i;
        } else if (!strcmp(an, "epsilon")) {
            n->epsilon = a->f;
        } else if (!strcmp(an, "min")) {
            n->clip_min = a->f;
        } else if (!strcmp(an, "max")) {
            n->clip_max = a->f;
        } else if (!strcmp(an, "auto_pad")) {
            if (a->s.len && strncmp((const char *)a->s.data, "NOTSET", a->s.len) &&
                strncmp((const char *)a->s.data, "VALID", a->s.len)) {
                snprintf(m->errbuf, sizeof(m->errbuf),
                         "node %s: auto_pad %.*s is not supported; export with explicit pads",
                         n->name, (int)a->s.len, (const char *)a->s.data);
                return false;
            }
        } else if (!strcmp(an, "to")) {
            n->to = (long)a->i;
        } else if (!strcmp(an, "fmod")) {
            n->mode = (long)a->i; /* Mod: 1 for C's fmod */
        } else if (!strcmp(an, "approximate")) {
            n->mode = a->s.len == 4 && !memcmp(a->s.data, "tanh", 4);
        } else if (!strcmp(an, "split")) {
            read_ints(a, n->axes, &n->axes_cnt, XQ_MAX_DIMS); /* Split before opset 13 */
            n->has_axes = true;
        } else if (!strcmp(an, "coordinate_transformation_mode")) {
            static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                               "asymmetric"};

            n->ctm = 4;
            for (int c = 0; c < 4; c++) {
                if (a->s.len == strlen(ctms[c]) && !memcmp(a->s.data, ctms[c], a->s.len))
                    n->ctm = c;
            }
        } else if (!strcmp(an, "nearest_mode")) {
            static const char *const modes[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                                "ceil"};

            for (int c = 0; c < 4; c++) {
                if (a->s.len == strlen(modes[c]) && !memcmp(a->s.data, modes[c], a->s.len))
                    n->nearest = c;
            }
        } else if (!strcmp(an, "antialias") && a->i) {
            snprintf(m->errbuf, sizeof(m->errbuf), "node %s: antialias is not supported", n->name);
            return false;
        } else if (!strcmp(an, "mode") && a->s.len) {
            n->mode = (long)a->s.data[0]; /* Pad: 'c'onstant, 'r'eflect, 'e'dge, 'w'rap */
        } else if (n->op == OP_EXT && !strcmp(an, "value") && a->t) {
            val_t tmp = {0}; /* ConstantOfShape: a one-element tensor */

            if (!xq_onnx_load_tensor(m, a->t, &tmp))
                return false;
            n->value = tmp.cnt != 1 ? 0 : tmp.dt == DT_F32 ? tmp.f[0] : (float)tmp.i[0];
            n->to = tmp.dt == DT_F32 ? 1 : 7;
            xq_free(tmp.f);
            xq_free(tmp.i);
        } else if (n->op == OP_CONSTANT) {
            val_t *v = &m->vals[n->out[0]];

            if (!strcmp(an, "value") && a->t) {
                if (!xq_onnx_load_tensor(m, a->t, v))
                    return false;
            } else if (!strcmp(an, "value_float") || !strcmp(an, "value_floats")) {
                size_t one = a->n_floats, nd = !strcmp(an, "value_floats");

                xq_onnx_shape(v, DT_F32, nd, &one);
                if (nd)
                    memcpy(v->f, a->floats, one * sizeof(float));
                else
                    v->f[0] = a->f;
            } else if (!strcmp(an, "value_int") || !strcmp(an, "value_ints")) {
                size_t one = a->n_ints, nd = !strcmp(an, "value_ints");

                xq_onnx_shape(v, DT_I64, nd, &one);
                if (nd)
                    memcpy(v->i, a->ints, one * sizeof(int64_t));
                else
                    v->i[0] = a->i;
            } else {
                snprintf(m->errbuf, sizeof(m->errbuf), "Constant %s: attribute %s is not supported",
                         n->name, an);
                return false;
            }
            v->is_const = true;
        }
    }
    if (n->op == OP_CONV && !n->kernel[0]) {
        /* kernel_shape may be left to the weights */
        n->kernel[0] = -1;
    }
    return true;
}
