/* registry.h -- the explanation methods as one table: name, spec parser, run operations, packer.
 *
 * Every place that depends on which methods exist reads this table: the spec parser (the
 * ExplanationParameters union, its canonical form, method names), xq_run_new() and
 * xq_run_pack() in common/methods/run.c, and `explainq explain`. A new method is its own files
 * plus one line in the table of common/methods/registry.c (CONTRIBUTING.md, "A new explanation
 * method").
 */
#ifndef XQ_METHODS_REGISTRY_H
#define XQ_METHODS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "methods/run.h"
#include "spec.h"

/** At most this many methods (the spec parser sizes its field table by it). */
#define XQ_METHOD_MAX 16

/* Flags of a method. */
#define XQ_METHOD_F_GRADIENTS 1u /* differentiates the model: integer inputs need an embedding */
#define XQ_METHOD_F_PIXELS    2u /* one value per pixel: image attributions as [H][W] */

struct xq_spec_parser; /* the ExplanationSpec parser's state (common/spec_int.h) */

/** One explanation method. Every member is set; the table outlives every caller. */
typedef struct xq_method_def {
    xq_method_t method; /* its value of xq_params_t.method (common/spec.h) */
    const char *name;   /* its ExplanationParameters member as JSON spells it */
    const char *proto;  /* ... and as the proto does (snake_case); NULL when the same */
    unsigned flags;     /* XQ_METHOD_F_* */
    /* Reads the member's value @p v into @p params (method already set), reporting every
     * problem through the parser; @p have_meta: metadata was given (common/spec_params.c). */
    void (*parse)(struct xq_spec_parser *p,
                  const msgpack_object *v,
                  bool have_meta,
                  xq_params_t *params);
    /* Packs the member's value in canonical form: one map, defaults made explicit, so the
     * spec id covers every parameter (common/spec_canon.c). */
    void (*canon)(msgpack_packer *pk, const xq_params_t *params);
    /* The method's operations (common/methods/run.h). */
    const xq_method_ops_t *(*ops)(void);
    /* Packs one instance's explanation (docs/design.md §2.2); NULL: the attribution list
     * {"attributions": [...], "adaptive"?} that xq_run_pack() writes. */
    void (*pack)(const xq_run_ctx_t *ctx, msgpack_packer *pk);
} xq_method_def_t;

/** The number of methods in the table. */
size_t xq_method_cnt(void);

/** The @p i-th method (0 <= i < xq_method_cnt()), in the proto's order (borrowed, static). */
const xq_method_def_t *xq_method_at(size_t i);

/** The method @p m, or NULL when the table has none (XQ_METHOD_NONE). */
const xq_method_def_t *xq_method_get(xq_method_t m);

/** The method whose JSON or proto name is @p name (@p len bytes), or NULL. */
const xq_method_def_t *xq_method_find(const char *name, size_t len);

#endif /* XQ_METHODS_REGISTRY_H */
