/* model.h -- the model-evaluation interface: batches of rows in, outputs (and input gradients) out.
 */
#ifndef XQ_MODEL_H
#define XQ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define XQ_MAX_DIMS 8

/** A tensor's name and the shape of one row of it (the batch dimension excluded). */
typedef struct xq_tensor_desc {
    const char *name;         /* borrowed from the model */
    size_t ndim;              /* 0 for a scalar per row */
    size_t dims[XQ_MAX_DIMS]; /* per-row dimensions */
    size_t elem_cnt;          /* product of dims (1 for a scalar) */
    bool is_integer;          /* the model takes integers here (token ids): no gradients */
} xq_tensor_desc_t;

/**
 * A batch of rows for one evaluation: the fed tensors (raw inputs, or
 * encoded/intermediate tensors a model can take instead), float32, row-major,
 * rows after rows. Plain data, owned by whoever fills it (see xq_rows_*).
 */
typedef struct xq_batch {
    size_t rows;               /* rows in this batch */
    size_t tensor_cnt;         /* fed tensors */
    const char *const *names;  /* tensor_cnt names */
    const size_t *elem_cnt;    /* per tensor: elements per row */
    const float *const *data;  /* per tensor: rows * elem_cnt[t] values */
    bool grad;                 /* also return gradients */
    const int32_t *grad_index; /* per row: flat output index to differentiate (when grad) */
    size_t out_cnt;            /* output elements per row the caller expects */
    float *out;                /* out: rows * out_cnt outputs */
    float *const *grad_out;    /* out: per tensor, rows * elem_cnt[t] gradients (when grad) */
} xq_batch_t;

/** What a model backend implements. */
typedef struct xq_model_ops {
    /** Evaluates @p b; fills b->out and, when b->grad, b->grad_out. */
    xq_err_t (*eval)(void *impl, xq_batch_t *b, xq_error_t *err);
    /**
     * Maps raw input rows of tensor @p raw to the encoded tensor @p encoded
     * (an embedding lookup): @p rows rows of @p raw_cnt floats into @p out
     * (rows * the encoded tensor's elements). NULL when the model has none.
     */
    xq_err_t (*encode)(void *impl,
                       const char *encoded,
                       const float *raw,
                       size_t rows,
                       size_t raw_cnt,
                       float *out,
                       size_t out_cnt,
                       xq_error_t *err);
    void (*destroy)(void *impl);
} xq_model_ops_t;

/** A model: its tensors and its backend. Opaque. */
typedef struct xq_model xq_model_t;

/**
 * Wraps a backend. @p inputs (raw inputs), @p encoded (tensors it can be fed
 * instead of raw ones, may be 0) and @p output are copied; names are borrowed
 * from @p impl and must live as long as it.
 *
 * @returns a new model that owns @p impl (freed with ops->destroy by
 *          xq_model_destroy()).
 */
xq_model_t *xq_model_new(const xq_model_ops_t *ops,
                         void *impl,
                         const xq_tensor_desc_t *inputs,
                         size_t input_cnt,
                         const xq_tensor_desc_t *encoded,
                         size_t encoded_cnt,
                         const xq_tensor_desc_t *output);

void xq_model_destroy(xq_model_t *m);

size_t xq_model_input_cnt(const xq_model_t *m);
const xq_tensor_desc_t *xq_model_input(const xq_model_t *m, size_t i);
/** The input or encoded tensor named @p name, or NULL; *is_encoded says which. */
const xq_tensor_desc_t *xq_model_find(const xq_model_t *m, const char *name, bool *is_encoded);
const xq_tensor_desc_t *xq_model_output(const xq_model_t *m);
size_t xq_model_encoded_cnt(const xq_model_t *m);
const xq_tensor_desc_t *xq_model_encoded(const xq_model_t *m, size_t i);

/**
 * Runs @p b through the model, counting rows (see xq_model_rows_evaluated()).
 * Checks that every fed tensor is known with the right element count.
 */
xq_err_t xq_model_eval(xq_model_t *m, xq_batch_t *b, xq_error_t *err);

/** Runs the model's encoder (see xq_model_ops_t.encode). */
xq_err_t xq_model_encode(xq_model_t *m,
                         const char *encoded,
                         const float *raw,
                         size_t rows,
                         size_t raw_cnt,
                         float *out,
                         size_t out_cnt,
                         xq_error_t *err);

/**
 * Display names of the output elements under @p key (a field of the model's
 * predictions: displayNameMappingKey), copied. Backends that learn them (a
 * model server's predictions, a runner's description) set them. A model keeps
 * labels for at most 8 keys; more are ignored.
 */
void xq_model_set_labels(xq_model_t *m, const char *key, const char *const *names, size_t cnt);

/** The display name of output element @p flat under @p key (borrowed), or NULL. */
const char *xq_model_label(const xq_model_t *m, const char *key, size_t flat);

/** How many keys have labels (for describing the model). */
size_t xq_model_label_key_cnt(const xq_model_t *m);

/** Key @p k (< xq_model_label_key_cnt), with its labels in @p *names and @p *cnt (borrowed). */
const char *
xq_model_label_key(const xq_model_t *m, size_t k, const char *const **names, size_t *cnt);

/**
 * Marks @p m as taking NaN inputs as missing values (XGBoost does; a
 * network does not). Instances may then hold null for a value.
 */
void xq_model_set_missing_ok(xq_model_t *m, bool ok);

/** true when the model takes NaN as a missing value (see xq_model_set_missing_ok()). */
bool xq_model_missing_ok(const xq_model_t *m);

/**
 * Writes to @p buf (of @p n bytes) up to 4 of the model's input and encoded tensor names
 * closest to @p name (edit distance), ", "-separated, closest first.
 */
void xq_model_closest_names(const xq_model_t *m, const char *name, char *buf, size_t n);

/**
 * Looks dimension @p name up in @p dims, a list "name=value,name=value" (the --dims option:
 * values for an input's named dynamic dimensions). NULL @p dims finds nothing.
 *
 * @returns true and the value (>= 1) in @p *value when @p dims gives it.
 */
bool xq_model_dims_lookup(const char *dims, const char *name, size_t *value);

/** How a model's 3-d image inputs order their dimensions, when their shape cannot tell. */
typedef enum xq_image_layout {
    XQ_IMAGE_LAYOUT_AUTO = 0, /* by the shape; refused when [C,H,W] and [H,W,C] both fit */
    XQ_IMAGE_LAYOUT_NCHW,     /* channels first: [C][H][W] per row */
    XQ_IMAGE_LAYOUT_NHWC,     /* channels last: [H][W][C] per row, as pictures arrive */
} xq_image_layout_t;

/** Sets how the model's image inputs are laid out (default AUTO). */
void xq_model_set_image_layout(xq_model_t *m, xq_image_layout_t layout);

/** The model's image layout (see xq_model_set_image_layout()). */
xq_image_layout_t xq_model_image_layout(const xq_model_t *m);

/** Activation bytes one model call may hold, by default: calls of more rows are split. */
#define XQ_MODEL_ACTIVATION_BYTES (256u << 20)

/**
 * Sets the bytes of activations one row needs in a forward pass (0: unknown, never split)
 * and the budget per call (0: XQ_MODEL_ACTIVATION_BYTES). xq_model_eval() then runs at most
 * budget / row bytes rows per backend call (half that with gradients, whose buffers double
 * the activations), and at least one.
 */
void xq_model_set_row_bytes(xq_model_t *m, size_t row_bytes, size_t budget);

/** At most @p rows rows per backend call (a model exported with a fixed batch; 0: no bound). */
void xq_model_set_max_rows(xq_model_t *m, size_t rows);

/** The activation bytes of one row (0: unknown). */
size_t xq_model_row_bytes(const xq_model_t *m);

/** Rows evaluated so far: forward-only rows and gradient rows. */
void xq_model_rows_evaluated(const xq_model_t *m, uint64_t *fwd, uint64_t *grad);

#endif /* XQ_MODEL_H */
