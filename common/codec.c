/* codec.c -- inference requests and replies as msgpack maps with bin tensors. */
#include "codec.h"

#include <stdio.h>
#include <string.h>

#include "job.h"
#include "log.h"
#include "mp.h"

static void put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static char *dup_str(const msgpack_object *o) {
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size &&
                   !memchr(o->via.str.ptr, '\0', o->via.str.size)
               ? xq_strndup(o->via.str.ptr, o->via.str.size)
               : NULL;
}

/* An array of names into @p dst; false if not an array of at most XQ_CODEC_MAX_TENSORS strings. */
static bool names(const msgpack_object *o, char **dst, size_t *cnt) {
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > XQ_CODEC_MAX_TENSORS)
        return false;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (!(dst[i] = dup_str(&o->via.array.ptr[i])))
            return false;
        *cnt = i + 1;
    }
    return true;
}

/* "pick" runs into one element per row, or NULL when they are malformed. */
static int32_t *unpack_pick(const msgpack_object *o, size_t rows) {
    const uint8_t *p = (const uint8_t *)o->via.bin.ptr;
    size_t row = 0;
    int32_t *pick;

    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size % 8)
        return NULL;
    pick = xq_malloc(rows * sizeof(*pick) + 1);
    for (size_t r = 0; r < o->via.bin.size; r += 8) {
        int32_t v = (int32_t)get_le32(p + r);
        uint32_t n = get_le32(p + r + 4);

        if (n > rows - row) {
            xq_free(pick);
            return NULL;
        }
        for (uint32_t k = 0; k < n; k++)
            pick[row++] = v;
    }
    if (row != rows) {
        xq_free(pick);
        return NULL;
    }
    return pick;
}

xq_err_t xq_infer_req_decode(
    const uint8_t *buf, size_t len, size_t max_elems, xq_infer_req_t *req, xq_error_t *err) {
    const msgpack_object *id, *inputs, *outputs, *grad, *encoded, *pick;
    msgpack_unpacked msg;
    xq_err_t rc = XQ_EDECODE;

    memset(req, 0, sizeof(*req));
    msgpack_unpacked_init(&msg);
    if (!xq_mp_unpack_one(buf, len, &msg) || msg.data.type != MSGPACK_OBJECT_MAP) {
        xq_error_set(err, rc, "", "the request is not one msgpack map");
        goto out;
    }
    id = xq_mp_map_get(&msg.data, "id");
    if (!id || id->type != MSGPACK_OBJECT_STR || !id->via.str.size ||
        id->via.str.size >= sizeof(req->id)) {
        xq_error_set(err, rc, "id", "must be a string of 1 to %d bytes", XQ_CODEC_ID_SIZE - 1);
        goto out;
    }
    memcpy(req->id, id->via.str.ptr, id->via.str.size);
    inputs = xq_mp_map_get(&msg.data, "inputs");
    if (!inputs || inputs->type != MSGPACK_OBJECT_MAP || !inputs->via.map.size ||
        inputs->via.map.size > XQ_CODEC_MAX_TENSORS) {
        xq_error_set(err, rc, "inputs", "must map 1 to %d tensor names to tensors",
                     XQ_CODEC_MAX_TENSORS);
        goto out;
    }
    for (uint32_t i = 0; i < inputs->via.map.size; i++) {
        char field[64];

        if (!(req->names[i] = dup_str(&inputs->via.map.ptr[i].key))) {
            xq_error_set(err, rc, "inputs", "tensor names must be non-empty strings");
            goto out;
        }
        req->input_cnt = i + 1;
        snprintf(field, sizeof(field), "inputs.%.50s", req->names[i]);
        if ((rc = xq_compact_is(&inputs->via.map.ptr[i].val)
                      ? xq_compact_decode(&inputs->via.map.ptr[i].val, field, max_elems,
                                          &req->inputs[i], err)
                      : xq_tensor_decode(&inputs->via.map.ptr[i].val, field, max_elems,
                                         &req->inputs[i], err)) != XQ_OK)
            goto out;
        rc = XQ_EDECODE;
        if (i == 0)
            req->rows = req->inputs[0].dims[0];
        if (req->inputs[i].dims[0] != req->rows || !req->rows) {
            xq_error_set(err, rc, field, "has %zu rows; every input needs the same (>= 1)",
                         req->inputs[i].dims[0]);
            goto out;
        }
    }
    if ((outputs = xq_mp_map_get(&msg.data, "outputs")) &&
        !names(outputs, req->outputs, &req->output_cnt)) {
        xq_error_set(err, rc, "outputs", "must be a list of output names");
        goto out;
    }
    if ((encoded = xq_mp_map_get(&msg.data, "encoded")) &&
        !names(encoded, req->encoded, &req->encoded_cnt)) {
        xq_error_set(err, rc, "encoded", "must be a list of tensor names");
        goto out;
    }
    if ((grad = xq_mp_map_get(&msg.data, "grad")) && grad->type != MSGPACK_OBJECT_NIL) {
        const msgpack_object *gi = xq_mp_map_get(grad, "index"),
                             *go = xq_mp_map_get(grad, "output"), *wrt = xq_mp_map_get(grad, "wrt");

        req->grad = true;
        if (go && !(req->grad_output = dup_str(go))) {
            xq_error_set(err, rc, "grad.output", "must be an output name");
            goto out;
        }
        if (!gi || gi->type != MSGPACK_OBJECT_BIN || gi->via.bin.size != req->rows * 4) {
            xq_error_set(err, rc, "grad.index", "must be a bin of %zu int32 (one per row)",
                         req->rows);
            goto out;
        }
        req->grad_index = xq_malloc(req->rows * sizeof(int32_t));
        memcpy(req->grad_index, gi->via.bin.ptr, req->rows * 4);
        if (wrt && !names(wrt, req->wrt, &req->wrt_cnt)) {
            xq_error_set(err, rc, "grad.wrt", "must be a list of input names");
            goto out;
        }
    }
    if ((pick = xq_mp_map_get(&msg.data, "pick")) && pick->type != MSGPACK_OBJECT_NIL) {
        if (!(req->pick = unpack_pick(pick, req->rows))) {
            xq_error_set(err, rc, "pick",
                         "must be a bin of (int32 element, uint32 count) runs covering %zu rows",
                         req->rows);
            goto out;
        }
    }
    rc = XQ_OK;
out:
    msgpack_unpacked_destroy(&msg);
    return rc;
}

void xq_infer_req_fini(xq_infer_req_t *req) {
    for (size_t i = 0; i < XQ_CODEC_MAX_TENSORS; i++) {
        xq_free(req->names[i]);
        xq_tensor_fini(&req->inputs[i]);
        xq_free(req->outputs[i]);
        xq_free(req->wrt[i]);
        xq_free(req->encoded[i]);
    }
    xq_free(req->grad_output);
    xq_free(req->grad_index);
    xq_free(req->pick);
    memset(req, 0, sizeof(*req));
}

/* An f32 wire tensor of v->rows rows of @p data picked by v->sel, packed without a copy between. */
static void pack_selected(msgpack_packer *pk,
                          const xq_infer_req_view_t *v,
                          const float *data,
                          const size_t *dims,
                          size_t ndim) {
    size_t elems = 1;

    for (size_t d = 1; d < ndim; d++)
        elems *= dims[d];
    XQ_ASSERT(dims[0] == v->rows); /* the header's size is that of the rows picked */
    xq_tensor_pack_header(pk, dims, ndim);
    for (size_t k = 0; k < v->rows; k++)
        msgpack_pack_bin_body(pk, data + v->sel[k] * elems, elems * sizeof(float));
}

/* "pick" as runs (int32 element, uint32 count): rows of one instance pick one element. */
static void pack_pick(msgpack_packer *pk, const xq_infer_req_view_t *v) {
    xq_buf_t runs;
    uint8_t run[8];
    size_t n = 0;

    xq_buf_init(&runs);
    for (size_t k = 0; k < v->rows; k++) {
        int32_t p = v->pick[v->sel ? v->sel[k] : k];

        if (n && (int32_t)get_le32(runs.data + runs.len - 8) == p &&
            get_le32(runs.data + runs.len - 4) < UINT32_MAX) {
            put_le32(runs.data + runs.len - 4, get_le32(runs.data + runs.len - 4) + 1);
            continue;
        }
        put_le32(run, (uint32_t)p);
        put_le32(run + 4, 1);
        xq_buf_append(&runs, run, 8);
        n++;
    }
    xq_mp_pack_str(pk, "pick");
    msgpack_pack_bin(pk, runs.len);
    msgpack_pack_bin_body(pk, runs.data, runs.len);
    xq_buf_fini(&runs);
}

void xq_infer_req_pack(const xq_infer_req_view_t *v, xq_buf_t *out) {
    msgpack_packer pk;

    xq_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, 3 + (v->grad_index != NULL) + (v->encoded_cnt > 0) + (v->pick != NULL));
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, v->id);
    xq_mp_pack_str(&pk, "inputs");
    msgpack_pack_map(&pk, v->input_cnt);
    for (size_t i = 0; i < v->input_cnt; i++) {
        size_t dims[XQ_MAX_DIMS + 1];

        dims[0] = v->rows;
        memcpy(dims + 1, v->dims[i], v->ndim[i] * sizeof(size_t));
        xq_mp_pack_str(&pk, v->names[i]);
        if (v->compact && v->compact[i].anchors)
            xq_compact_pack(&pk, &v->compact[i], v->dims[i], v->ndim[i]);
        else if (v->sel)
            pack_selected(&pk, v, v->data[i], dims, v->ndim[i] + 1);
        else
            xq_tensor_pack(&pk, v->data[i], dims, v->ndim[i] + 1);
    }
    xq_mp_pack_str(&pk, "outputs");
    msgpack_pack_array(&pk, v->output != NULL);
    if (v->output)
        xq_mp_pack_str(&pk, v->output);
    if (v->grad_index) {
        xq_mp_pack_str(&pk, "grad");
        msgpack_pack_map(&pk, 2 + (v->output != NULL));
        if (v->output) {
            xq_mp_pack_str(&pk, "output");
            xq_mp_pack_str(&pk, v->output);
        }
        xq_mp_pack_str(&pk, "index");
        msgpack_pack_bin(&pk, v->rows * 4);
        if (v->sel) {
            for (size_t k = 0; k < v->rows; k++)
                msgpack_pack_bin_body(&pk, v->grad_index + v->sel[k], 4);
        } else {
            msgpack_pack_bin_body(&pk, v->grad_index, v->rows * 4);
        }
        xq_mp_pack_str(&pk, "wrt");
        msgpack_pack_array(&pk, v->input_cnt);
        for (size_t i = 0; i < v->input_cnt; i++)
            xq_mp_pack_str(&pk, v->names[i]);
    }
    if (v->pick)
        pack_pick(&pk, v);
    if (v->encoded_cnt) {
        xq_mp_pack_str(&pk, "encoded");
        msgpack_pack_array(&pk, v->encoded_cnt);
        for (size_t i = 0; i < v->encoded_cnt; i++)
            xq_mp_pack_str(&pk, v->encoded[i]);
    }
}

void xq_infer_reply_pack(const char *id,
                         const char *out_name,
                         const float *out,
                         size_t rows,
                         const size_t *out_dims,
                         size_t out_ndim,
                         size_t grad_cnt,
                         const char *const *grad_names,
                         const float *const *grads,
                         const xq_tensor_t *grad_shapes,
                         xq_buf_t *buf) {
    size_t dims[XQ_MAX_DIMS + 1];
    msgpack_packer pk;

    xq_mp_packer_init(&pk, buf);
    msgpack_pack_map(&pk, 2 + (grad_cnt > 0));
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, id);
    xq_mp_pack_str(&pk, "outputs");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, out_name);
    dims[0] = rows;
    memcpy(dims + 1, out_dims, out_ndim * sizeof(size_t));
    xq_tensor_pack(&pk, out, dims, out_ndim + 1);
    if (grad_cnt) {
        xq_mp_pack_str(&pk, "grads");
        msgpack_pack_map(&pk, grad_cnt);
        for (size_t i = 0; i < grad_cnt; i++) {
            xq_mp_pack_str(&pk, grad_names[i]);
            xq_tensor_pack(&pk, grads[i], grad_shapes[i].dims, grad_shapes[i].ndim);
        }
    }
}

size_t xq_infer_pick(float *out, size_t rows, size_t out_cnt, const int32_t *pick) {
    size_t n = 0;

    /* in place: what is kept of a row never lies after the row itself */
    for (size_t r = 0; r < rows; r++) {
        if (pick[r] < 0) {
            memmove(out + n, out + r * out_cnt, out_cnt * sizeof(float));
            n += out_cnt;
        } else {
            out[n++] = out[r * out_cnt + (size_t)pick[r]];
        }
    }
    return n;
}

void xq_infer_error_pack(const char *id, const xq_error_t *e, xq_buf_t *buf) {
    /* the same shape as an error result: one reader serves both */
    xq_result_pack_error(id, e, buf);
}

/* The runner's {"code", "field", "message"} as an error of ours. */
static xq_err_t
runner_error_set(const xq_infer_reply_dst_t *dst, const msgpack_object *e, xq_error_t *err) {
    const msgpack_object *m = xq_mp_map_get(e, "message");
    bool is_str = m && m->type == MSGPACK_OBJECT_STR;

    return xq_error_set(err, XQ_EMODEL, "model", "model %s: %.*s", dst->model,
                        is_str ? (int)m->via.str.size : 5, is_str ? m->via.str.ptr : "error");
}

/* Outputs of a request with "pick": each row's picked value (or all of its values). */
static xq_err_t
decode_picked(const xq_infer_reply_dst_t *dst, const msgpack_object *ov, xq_error_t *err) {
    size_t want = 0, n = 0;
    xq_tensor_t t;
    xq_error_t e2;

    for (size_t k = 0; k < dst->rows; k++) {
        int32_t p = dst->pick[dst->row_map ? dst->row_map[k] : k];

        want += p < 0 || (size_t)p >= dst->out_cnt ? dst->out_cnt : 1;
    }
    if (xq_tensor_decode_results(ov, "outputs", 0, &t, &e2) != XQ_OK || t.cnt != want) {
        size_t got = t.data ? t.cnt : 0;

        xq_tensor_fini(&t);
        return xq_error_set(err, XQ_EMODEL, "model",
                            "model %s replied %zu picked outputs for %zu rows, %zu expected",
                            dst->model, got, dst->rows, want);
    }
    for (size_t k = 0; k < dst->rows; k++) {
        size_t i = dst->row_map ? dst->row_map[k] : k;
        int32_t p = dst->pick[i];
        float *o = dst->out + i * dst->out_cnt;

        if (p < 0 || (size_t)p >= dst->out_cnt) {
            /* (the worker's own picks are in range; one that is not takes the row whole) */
            memcpy(o, t.data + n, dst->out_cnt * sizeof(float));
            n += dst->out_cnt;
        } else {
            memset(o, 0, dst->out_cnt * sizeof(float));
            o[p] = t.data[n++];
        }
    }
    xq_tensor_fini(&t);
    return XQ_OK;
}

/* The outputs, scattered by row_map when there is one. */
static xq_err_t
decode_outputs(const xq_infer_reply_dst_t *dst, const msgpack_object *outs, xq_error_t *err) {
    const msgpack_object *ov = outs && outs->type == MSGPACK_OBJECT_MAP && outs->via.map.size
                                   ? &outs->via.map.ptr[0].val
                                   : NULL;
    size_t cnt = dst->rows * dst->out_cnt, got = 0;
    xq_error_t e2;

    if (!ov)
        return xq_error_set(err, XQ_EMODEL, "model", "model %s replied without outputs",
                            dst->model);
    if (dst->pick)
        return decode_picked(dst, ov, err);
    if (!dst->row_map) {
        if (xq_tensor_decode_into(ov, "outputs", dst->out, cnt, &got, &e2) == XQ_OK)
            return XQ_OK;
    } else {
        /* rows to scatter (some came from the baseline cache): f32 is read in place */
        const msgpack_object *data = xq_mp_map_get(ov, "data"), *dt = xq_mp_map_get(ov, "dtype");
        xq_tensor_t t = {0};
        const char *src = NULL;

        if (data && data->type == MSGPACK_OBJECT_BIN && dt && xq_mp_str_eq(dt, "f32") &&
            data->via.bin.size == cnt * sizeof(float))
            src = data->via.bin.ptr;
        else if (xq_tensor_decode_results(ov, "outputs", 0, &t, &e2) == XQ_OK && t.cnt == cnt)
            src = (const char *)t.data;
        got = src ? cnt : t.cnt;
        for (size_t k = 0; src && k < dst->rows; k++)
            memcpy(dst->out + dst->row_map[k] * dst->out_cnt,
                   src + k * dst->out_cnt * sizeof(float), dst->out_cnt * sizeof(float));
        xq_tensor_fini(&t);
        if (src)
            return XQ_OK;
    }
    if (got && got != cnt)
        return xq_error_set(err, XQ_EMODEL, "model", "model %s replied %zu outputs for %zu rows",
                            dst->model, got, dst->rows);
    return xq_error_set(err, XQ_EMODEL, "model", "model %s replied without outputs", dst->model);
}

xq_err_t xq_infer_reply_decode(const msgpack_object *reply,
                               const xq_infer_reply_dst_t *dst,
                               bool *runner_error,
                               xq_error_t *err) {
    const msgpack_object *e = xq_mp_map_get(reply, "error"), *grads;
    xq_err_t rc;

    *runner_error = false;
    if (e) {
        *runner_error = true;
        return runner_error_set(dst, e, err);
    }
    if ((rc = decode_outputs(dst, xq_mp_map_get(reply, "outputs"), err)) != XQ_OK)
        return rc;
    grads = xq_mp_map_get(reply, "grads");
    for (size_t k = 0; k < dst->grad_cnt; k++) {
        const msgpack_object *gv = grads ? xq_mp_map_get(grads, dst->grad_names[k]) : NULL;
        size_t got;
        xq_error_t e2;

        if (!gv || xq_tensor_decode_into(gv, "grads", dst->grads[k], dst->rows * dst->grad_elems[k],
                                         &got, &e2) != XQ_OK)
            return xq_error_set(err, XQ_EMODEL, "model", "model %s replied without gradients of %s",
                                dst->model, dst->grad_names[k]);
    }
    return XQ_OK;
}
