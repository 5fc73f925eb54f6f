/* rows.h -- a growable batch of model rows in per-tensor buffers, evaluated in bounded chunks. */
#ifndef XQ_ROWS_H
#define XQ_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "layout.h"
#include "model.h"

/*
 * Methods plan rows into one xq_rows_t shared by many instances with
 * compatible layouts; it is evaluated in chunks of at most `chunk` rows and
 * then each method reads its rows' results back. Buffers grow to the largest
 * batch seen and are reused: no allocation per row.
 */
typedef struct xq_rows {
    size_t tensor_cnt;
    const char **names; /* borrowed from the layout */
    size_t *elem_cnt;
    size_t *tensor_off;
    size_t *chw_c, *chw_hw; /* per tensor: channels-first images (see xq_layout_t) */
    size_t elem_total;
    size_t out_cnt; /* output elements per row */
    bool grad;      /* these rows want gradients */
    size_t cnt;     /* rows planned */
    size_t cap;
    float **in;          /* per tensor: cap * elem_cnt[t] */
    int32_t *grad_index; /* per row */
    float *out;          /* cap * out_cnt */
    float **gout;        /* per tensor: cap * elem_cnt[t] */
    size_t tensor_cap;
    const float **view_in; /* per tensor: the current chunk's inputs (scratch) */
    float **view_gout;     /* per tensor: the current chunk's gradients (scratch) */
    uint8_t *baseline;     /* per row: 1 for a baseline row (the same for every instance of a
                              spec, so its output can be shared), see xq_rows_mark_baseline() */
    int32_t *path_b;       /* per row: -1, or the baseline (of the layout's) whose straight path
                              to the instance the row is a point of, see xq_rows_set_path() */
    double *path_alpha;    /* per row with path_b >= 0: where on that path */
} xq_rows_t;

void xq_rows_init(xq_rows_t *r);
void xq_rows_fini(xq_rows_t *r);

/** Empties @p r for rows shaped like @p l, with @p out_cnt outputs, wanting gradients or not. */
void xq_rows_reset(xq_rows_t *r, const xq_layout_t *l, size_t out_cnt, bool grad);

/** Appends a row (elem_total floats at @p z, scattered to the tensors); returns its index. */
size_t xq_rows_add(xq_rows_t *r, const float *z, int32_t grad_index);

/** Marks row @p i as a baseline row: its output depends only on the model and the baseline. */
static inline void xq_rows_mark_baseline(xq_rows_t *r, size_t i) {
    r->baseline[i] = 1;
}

/**
 * Says row @p i is, element by element, (float)(b + @p alpha (x - b)) in double, x the
 * instance and b baseline @p baseline of the layout (Integrated Gradients without noise). A
 * hint for compact requests (compact.h), which check it bit for bit before using it.
 */
static inline void xq_rows_set_path(xq_rows_t *r, size_t i, size_t baseline, double alpha) {
    r->path_b[i] = (int32_t)baseline;
    r->path_alpha[i] = alpha;
}

/** Copies row @p i of @p src (all its tensors) to the end of @p dst (of the same shape). */
size_t xq_rows_copy_row(xq_rows_t *dst, const xq_rows_t *src, size_t i);

/** Evaluates every row through @p model in chunks of at most @p chunk rows. */
xq_err_t xq_rows_eval(xq_rows_t *r, xq_model_t *model, size_t chunk, xq_error_t *err);

/** The outputs of row @p i (out_cnt floats). */
static inline const float *xq_rows_out(const xq_rows_t *r, size_t i) {
    return r->out + i * r->out_cnt;
}

/** Gathers the gradient of row @p i into @p dst (elem_total floats). */
void xq_rows_grad(const xq_rows_t *r, size_t i, float *dst);

#endif /* XQ_ROWS_H */
