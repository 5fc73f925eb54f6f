/* explain_helpers.h -- run the engine on test instances and read the results back. */
#ifndef XQ_TESTS_EXPLAIN_HELPERS_H
#define XQ_TESTS_EXPLAIN_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "engine.h"
#include "mem.h"
#include "model.h"

#define T_MAX_INST 64

typedef struct texpl {
    size_t cnt;
    xq_buf_t packed;
    xq_engine_result_t res[T_MAX_INST];
    msgpack_unpacked msg[T_MAX_INST];
    uint64_t fwd_rows, grad_rows; /* rows the model evaluated */
} texpl_t;

/**
 * Explains the instances in @p insts_json (a JSON array; ' for ") with the spec
 * @p spec_json (' for ") and @p model. @p o may be NULL (defaults).
 */
void t_explain(const char *spec_json,
               xq_model_t *model,
               const char *insts_json,
               const xq_engine_opts_t *o,
               texpl_t *e);

void t_explain_fini(texpl_t *e);

/** Number of attributions of instance @p i. */
size_t t_attr_cnt(const texpl_t *e, size_t i);

/** Attribution @p a of instance @p i, as a msgpack map. */
const msgpack_object *t_attr(const texpl_t *e, size_t i, size_t a);

/** A number field of an attribution ("approximationError", ...); fails the test if absent. */
double t_num(const texpl_t *e, size_t i, size_t a, const char *field);

/** true when the attribution has @p field. */
bool t_has(const texpl_t *e, size_t i, size_t a, const char *field);

/** featureAttributions[key], element @p elem of its flattened value (0 for a number). */
double t_fa(const texpl_t *e, size_t i, size_t a, const char *key, size_t elem);

/** Number of keys in featureAttributions. */
size_t t_fa_cnt(const texpl_t *e, size_t i, size_t a);

/** outputIndex[0] (or -1 when empty). */
long t_out_index(const texpl_t *e, size_t i, size_t a);

/** A field of the explanation map itself ("adaptive"), or NULL. */
const msgpack_object *t_expl_field(const texpl_t *e, size_t i, const char *field);

/** Looks @p key up in map @p o; NULL if absent. */
const msgpack_object *t_get(const msgpack_object *o, const char *key);

#endif /* XQ_TESTS_EXPLAIN_HELPERS_H */
