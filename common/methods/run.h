/* run.h -- one instance's explanation in progress: plan -> evaluate -> reduce rounds, any method.
 */
#ifndef XQ_METHODS_RUN_H
#define XQ_METHODS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "layout.h"
#include "model.h"
#include "rng.h"
#include "rows.h"
#include "spec.h"

/** What a run wants next. */
typedef enum xq_step {
    XQ_STEP_FORWARD = 0,  /* forward rows */
    XQ_STEP_GRADIENT = 1, /* rows with gradients */
    XQ_STEP_DONE = 2,     /* finished: see xq_run_status() and the explanation */
} xq_step_t;

/** One Attribution (the seed's message), for one explained output. */
typedef struct xq_attribution {
    size_t output;          /* flat output index */
    double instance_output; /* instanceOutputValue */
    double baseline_output; /* baselineOutputValue (mean over baselines) */
    bool has_error;         /* approximationError is defined */
    double approx_error;    /* approximationError (docs/design.md §4) */
    double *values;         /* one value per layout slot (owned) */
} xq_attribution_t;

/** One neighbour of an example-based explanation. */
typedef struct xq_neighbor {
    size_t example;  /* its position in the example index (its id is ids[example]) */
    double distance; /* neighborDistance, in the index's metric */
} xq_neighbor_t;

/** The explanation of one instance. */
typedef struct xq_explanation {
    xq_attribution_t *attrs; /* attr_cnt, in output-selection order (owned) */
    size_t attr_cnt;
    xq_neighbor_t *neighbors; /* neighbor_cnt, nearest first (owned; examples only) */
    size_t neighbor_cnt;
    bool adaptive;       /* targetApproximationError was set */
    bool target_met;     /* ... and every attribution's error is at or below it */
    const char *adapted; /* "stepCount" or "pathCount": what was doubled */
    int adapted_value;   /* its final value */
    uint64_t model_rows; /* rows this instance cost */
} xq_explanation_t;

/** Options of a run. */
typedef struct xq_run_opts {
    uint64_t seed;           /* job seed; the instance index picks the stream */
    double target_error;     /* targetApproximationError; 0: none */
    uint64_t max_model_rows; /* per instance; 0: XQ_RUN_DEFAULT_MAX_ROWS */
    const xq_model_t *model; /* for displayNameMappingKey labels; may be NULL (borrowed) */
    const struct xq_examples_query *examples; /* the index to search (examples; borrowed) */
    bool xrai_fast;                           /* XRAI's 'fast' selection instead of 'full' */
    struct xq_gl_cache *gl; /* IG's quadrature rules, shared (borrowed); NULL: computed per run */
    bool viz_png;           /* visualizations as {"b64_png"}; default {"b64_jpeg"}, as Vertex AI */
} xq_run_opts_t;

#define XQ_RUN_DEFAULT_MAX_ROWS 100000

typedef struct xq_run xq_run_t; /* opaque */

/**
 * Starts explaining the instance of @p layout (instance number @p index).
 * @p spec, @p layout and @p out_desc are borrowed for the run's life.
 *
 * @returns a new run (free with xq_run_destroy()); it may be DONE at once
 *          with an error (a method not available, a row budget too small).
 */
xq_run_t *xq_run_new(const xq_spec_t *spec,
                     const xq_layout_t *layout,
                     const xq_tensor_desc_t *out_desc,
                     const xq_run_opts_t *opts,
                     size_t index);

void xq_run_destroy(xq_run_t *run);

xq_step_t xq_run_next(const xq_run_t *run);

/**
 * Appends at most @p budget rows of the kind xq_run_next() names to @p rows
 * (reset for this run's layout and kind). @returns the rows appended, >= 1
 * while the run is not DONE and @p budget >= 1.
 */
size_t xq_run_plan(xq_run_t *run, xq_rows_t *rows, size_t budget);

/** Hands the run the results of the rows [first, first + cnt) its last plan appended. */
void xq_run_reduce(xq_run_t *run, const xq_rows_t *rows, size_t first, size_t cnt);

/** Marks the run failed (e.g. its batch could not be evaluated); it is DONE afterwards. */
void xq_run_fail(xq_run_t *run, const xq_error_t *err);

/** XQ_OK once DONE with an explanation; otherwise the error, copied to @p err. */
xq_err_t xq_run_status(const xq_run_t *run, xq_error_t *err);

/**
 * True when the run failed because of its own instance (the model's result at
 * its rows is not finite), so the instance is answered with an error in its
 * place and the other instances of its job are not failed with it.
 */
bool xq_run_failed_alone(const xq_run_t *run);

/** The explanation of a DONE run without error (borrowed). */
const xq_explanation_t *xq_run_explanation(const xq_run_t *run);

/**
 * Packs the explanation as the result format's per-instance map (docs/design.md
 * §2.2): {"attributions": [Attribution...]} with featureAttributions shaped
 * like the instance, plus "adaptive" when a target error was set; for
 * examples {"neighbors": [{"neighborId", "neighborDistance"}...]}.
 */
void xq_run_pack(const xq_run_t *run, msgpack_packer *pk);

/** For tests: the method's own state (e.g. for xq_shapley_set_permutations()). */
void *xq_run_method_state(xq_run_t *run);

/* ==== For the methods (shapley.c, ig.c): the context they run in ==== */

typedef struct xq_run_ctx {
    const xq_spec_t *spec;
    const xq_layout_t *layout;
    const xq_tensor_desc_t *out_desc;
    const xq_model_t *model;                  /* labels, or NULL */
    const struct xq_examples_query *examples; /* examples: the index and overrides, or NULL */
    bool xrai_fast;
    struct xq_gl_cache *gl; /* Gauss–Legendre rules (borrowed), or NULL */
    bool viz_png;           /* pictures as PNG, not JPEG */
    xq_rng_t rng;           /* this instance's stream */
    double target_error;
    uint64_t max_model_rows;
    size_t index;          /* instance number, for messages */
    xq_explanation_t expl; /* the method fills it */
    xq_err_t rc;           /* a method's failure */
    xq_error_t err;
} xq_run_ctx_t;

/** What a method implements. */
typedef struct xq_method_ops {
    void *(*create)(xq_run_ctx_t *ctx);
    xq_step_t (*next)(const void *st);
    size_t (*plan)(void *st, xq_rows_t *rows, size_t budget);
    void (*reduce)(void *st, const xq_rows_t *rows, size_t first, size_t cnt);
    void (*destroy)(void *st);
} xq_method_ops_t;

/** Allocates @p cnt attributions of the layout's slot count into ctx->expl. */
void xq_run_alloc_attrs(xq_run_ctx_t *ctx, size_t cnt);

/** The relative sum-to-difference error of docs/design.md §4 (absolute under a 1e-12 difference).
 */
double xq_run_sum_error(double sum, double diff);

#endif /* XQ_METHODS_RUN_H */
