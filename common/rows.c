/* rows.c -- the batch of model rows shared by the methods. */
#include "rows.h"

#include <string.h>

#include "mem.h"

void xq_rows_init(xq_rows_t *r) {
    memset(r, 0, sizeof(*r));
}

void xq_rows_fini(xq_rows_t *r) {
    for (size_t t = 0; t < r->tensor_cap; t++) {
        xq_free(r->in[t]);
        xq_free(r->gout[t]);
    }
    xq_free(r->in);
    xq_free(r->gout);
    xq_free(r->view_in);
    xq_free(r->view_gout);
    xq_free(r->names);
    xq_free(r->elem_cnt);
    xq_free(r->tensor_off);
    xq_free(r->chw_c);
    xq_free(r->chw_hw);
    xq_free(r->grad_index);
    xq_free(r->out);
    xq_free(r->baseline);
    xq_free(r->path_b);
    xq_free(r->path_alpha);
    xq_rows_init(r);
}

void xq_rows_reset(xq_rows_t *r, const xq_layout_t *l, size_t out_cnt, bool grad) {
    bool same = r->tensor_cnt == l->tensor_cnt && r->out_cnt == out_cnt;

    for (size_t t = 0; same && t < l->tensor_cnt; t++)
        same = r->elem_cnt[t] == l->elem_cnt[t] && r->chw_c[t] == l->chw_c[t] &&
               r->chw_hw[t] == l->chw_hw[t];
    if (!same) {
        /* another shape: drop the buffers, they are sized per tensor */
        xq_rows_fini(r);
        r->tensor_cnt = l->tensor_cnt;
        r->tensor_cap = l->tensor_cnt;
        r->names = xq_calloc(l->tensor_cnt, sizeof(*r->names));
        r->elem_cnt = xq_calloc(l->tensor_cnt, sizeof(*r->elem_cnt));
        r->tensor_off = xq_calloc(l->tensor_cnt, sizeof(*r->tensor_off));
        r->in = xq_calloc(l->tensor_cnt, sizeof(*r->in));
        r->gout = xq_calloc(l->tensor_cnt, sizeof(*r->gout));
        r->view_in = xq_calloc(l->tensor_cnt, sizeof(*r->view_in));
        r->view_gout = xq_calloc(l->tensor_cnt, sizeof(*r->view_gout));
        memcpy(r->elem_cnt, l->elem_cnt, l->tensor_cnt * sizeof(*r->elem_cnt));
        memcpy(r->tensor_off, l->tensor_off, l->tensor_cnt * sizeof(*r->tensor_off));
        r->chw_c = xq_calloc(l->tensor_cnt, sizeof(*r->chw_c));
        r->chw_hw = xq_calloc(l->tensor_cnt, sizeof(*r->chw_hw));
        memcpy(r->chw_c, l->chw_c, l->tensor_cnt * sizeof(*r->chw_c));
        memcpy(r->chw_hw, l->chw_hw, l->tensor_cnt * sizeof(*r->chw_hw));
        r->elem_total = l->elem_total;
        r->out_cnt = out_cnt;
    }
    memcpy(r->names, l->tensor_names, l->tensor_cnt * sizeof(*r->names));
    r->grad = grad;
    r->cnt = 0;
}

static void grow(xq_rows_t *r) {
    size_t cap = r->cap ? r->cap * 2 : 64;

    for (size_t t = 0; t < r->tensor_cnt; t++) {
        r->in[t] = xq_reallocarray(r->in[t], cap, r->elem_cnt[t] * sizeof(float));
        if (r->gout[t] || r->grad)
            r->gout[t] = xq_reallocarray(r->gout[t], cap, r->elem_cnt[t] * sizeof(float));
    }
    r->grad_index = xq_reallocarray(r->grad_index, cap, sizeof(*r->grad_index));
    r->baseline = xq_reallocarray(r->baseline, cap, sizeof(*r->baseline));
    r->path_b = xq_reallocarray(r->path_b, cap, sizeof(*r->path_b));
    r->path_alpha = xq_reallocarray(r->path_alpha, cap, sizeof(*r->path_alpha));
    r->out = xq_reallocarray(r->out, cap, r->out_cnt * sizeof(float));
    r->cap = cap;
}

size_t xq_rows_add(xq_rows_t *r, const float *z, int32_t grad_index) {
    size_t i;

    if (r->cnt == r->cap)
        grow(r);
    if (r->grad && !r->gout[0] && r->tensor_cnt) {
        /* first gradient batch into buffers that had only seen forward rows */
        for (size_t t = 0; t < r->tensor_cnt; t++)
            r->gout[t] = xq_reallocarray(NULL, r->cap, r->elem_cnt[t] * sizeof(float));
    }
    i = r->cnt++;
    for (size_t t = 0; t < r->tensor_cnt; t++) {
        float *dst = r->in[t] + i * r->elem_cnt[t];
        const float *src = z + r->tensor_off[t];
        size_t c = r->chw_c[t], hw = r->chw_hw[t];

        if (!c) {
            memcpy(dst, src, r->elem_cnt[t] * sizeof(float));
            continue;
        }
        for (size_t p = 0; p < hw; p++) /* [H][W][C] -> [C][H][W] */
            for (size_t ch = 0; ch < c; ch++)
                dst[ch * hw + p] = src[p * c + ch];
    }
    r->grad_index[i] = grad_index;
    r->baseline[i] = 0;
    r->path_b[i] = -1;
    r->path_alpha[i] = 0;
    return i;
}

size_t xq_rows_copy_row(xq_rows_t *dst, const xq_rows_t *src, size_t i) {
    size_t k;

    if (dst->cnt == dst->cap)
        grow(dst);
    if (dst->grad && !dst->gout[0] && dst->tensor_cnt) {
        for (size_t t = 0; t < dst->tensor_cnt; t++)
            dst->gout[t] = xq_reallocarray(NULL, dst->cap, dst->elem_cnt[t] * sizeof(float));
    }
    k = dst->cnt++;
    for (size_t t = 0; t < dst->tensor_cnt; t++)
        memcpy(dst->in[t] + k * dst->elem_cnt[t], src->in[t] + i * src->elem_cnt[t],
               src->elem_cnt[t] * sizeof(float));
    dst->grad_index[k] = src->grad_index[i];
    dst->baseline[k] = src->baseline[i];
    dst->path_b[k] = src->path_b[i];
    dst->path_alpha[k] = src->path_alpha[i];
    return k;
}

xq_err_t xq_rows_eval(xq_rows_t *r, xq_model_t *model, size_t chunk, xq_error_t *err) {
    const float **data = r->view_in;
    float **gout = r->view_gout;
    xq_err_t rc;

    if (!chunk)
        chunk = r->cnt;
    for (size_t first = 0; first < r->cnt; first += chunk) {
        size_t n = r->cnt - first < chunk ? r->cnt - first : chunk;
        xq_batch_t b = {
            .rows = n,
            .tensor_cnt = r->tensor_cnt,
            .names = r->names,
            .elem_cnt = r->elem_cnt,
            .data = (const float *const *)data,
            .grad = r->grad,
            .grad_index = r->grad_index + first,
            .out_cnt = r->out_cnt,
            .out = r->out + first * r->out_cnt,
            .grad_out = gout,
        };

        for (size_t t = 0; t < r->tensor_cnt; t++) {
            data[t] = r->in[t] + first * r->elem_cnt[t];
            gout[t] = r->grad ? r->gout[t] + first * r->elem_cnt[t] : NULL;
        }
        if ((rc = xq_model_eval(model, &b, err)) != XQ_OK)
            return rc;
    }
    return XQ_OK;
}

void xq_rows_grad(const xq_rows_t *r, size_t i, float *dst) {
    for (size_t t = 0; t < r->tensor_cnt; t++) {
        const float *src = r->gout[t] + i * r->elem_cnt[t];
        size_t c = r->chw_c[t], hw = r->chw_hw[t];

        if (!c) {
            memcpy(dst + r->tensor_off[t], src, r->elem_cnt[t] * sizeof(float));
            continue;
        }
        for (size_t p = 0; p < hw; p++) /* [C][H][W] -> the instance's [H][W][C] */
            for (size_t ch = 0; ch < c; ch++)
                dst[r->tensor_off[t] + p * c + ch] = src[ch * hw + p];
    }
}
