/* spec_int.h -- the ExplanationSpec parser's parts (spec*.c): parser state, name tables, calls. */
#ifndef XQ_SPEC_INT_H
#define XQ_SPEC_INT_H

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "methods/registry.h"
#include "mp.h"
#include "sha256.h"
#include "spec.h"

/*
 * spec.c holds the entry points; spec_read.c the parser's state, JSON paths and readers of
 * maps and scalars; spec_params.c ExplanationParameters; spec_meta.c ExplanationMetadata and
 * the rules across its fields; spec_canon.c the canonical form and the id. Internal to them.
 */

#define PATH_MAX_LEN 480 /* longer paths are cut; xq_error_t keeps XQ_ERR_FIELD_SIZE - 1 of it */

typedef struct xq_spec_parser {
    msgpack_zone *zone;
    xq_errlist_t *errs;
    char path[PATH_MAX_LEN + 16];
    size_t path_len;
    const char **names; /* sorted input names, for lookups by name */
    size_t name_cnt;
} parser_t;

/* A message field: its JSON name, and its proto name when that differs. */
typedef struct field {
    const char *json;
    const char *proto;
} field_t;

#define FIELD_CNT(f) (sizeof(f) / sizeof((f)[0]))

/* Enum name tables, indexed by the proto number (the seed's enum order). */
static const char *const encoding_names[] = {
    "ENCODING_UNSPECIFIED",   "IDENTITY",  "BAG_OF_FEATURES",
    "BAG_OF_FEATURES_SPARSE", "INDICATOR", "COMBINED_EMBEDDING",
    "CONCAT_EMBEDDING",       NULL};
static const char *const viz_type_names[] = {"TYPE_UNSPECIFIED", "PIXELS", "OUTLINES", NULL};
static const char *const polarity_names[] = {"POLARITY_UNSPECIFIED", "POSITIVE", "NEGATIVE", "BOTH",
                                             NULL};
static const char *const color_map_names[] = {
    "COLOR_MAP_UNSPECIFIED", "PINK_GREEN", "VIRIDIS", "RED", "GREEN", "RED_GREEN",
    "PINK_WHITE_GREEN",      NULL};
static const char *const overlay_names[] = {
    "OVERLAY_TYPE_UNSPECIFIED", "NONE", "ORIGINAL", "GRAYSCALE", "MASK_BLACK", NULL};
static const char *const data_format_names[] = {"DATA_FORMAT_UNSPECIFIED", "JSONL", NULL};
static const char *const preset_modality_names[] = {"MODALITY_UNSPECIFIED", "IMAGE", "TEXT",
                                                    "TABULAR", NULL};
static const char *const query_names[] = {"PRECISE", "FAST", NULL};
static const char *const modality_names[] = {"numeric", "image", NULL};


/* spec_canon.c */
void xq_sp_apply_defaults(xq_spec_t *spec);
void xq_sp_make_canonical(xq_spec_t *spec);
void xq_sp_make_id(xq_spec_t *spec);

/* spec_meta.c */
void xq_sp_parse_metadata(parser_t *p, const msgpack_object *v, xq_metadata_t *meta);
void xq_sp_check_inputs(parser_t *p, xq_spec_t *spec);

/* spec_params.c */
void xq_sp_parse_params(parser_t *p, const msgpack_object *v, bool have_meta, xq_params_t *params);

/* Each method's parameters, as the method table (common/methods/registry.c) calls them: the
 * parsers are in spec_params.c, the canonical packers in spec_canon.c. */
void xq_sp_parse_shapley(parser_t *p, const msgpack_object *v, bool have_meta, xq_params_t *params);
void xq_sp_parse_ig(parser_t *p, const msgpack_object *v, bool have_meta, xq_params_t *params);
void xq_sp_parse_examples(parser_t *p,
                          const msgpack_object *v,
                          bool have_meta,
                          xq_params_t *params);
void xq_sp_canon_shapley(msgpack_packer *pk, const xq_params_t *params);
void xq_sp_canon_ig(msgpack_packer *pk, const xq_params_t *params);
void xq_sp_canon_examples(msgpack_packer *pk, const xq_params_t *params);

/* spec_read.c */
bool xq_sp_leaf_index(parser_t *p, const msgpack_object *v);
bool xq_sp_leaf_string(parser_t *p, const msgpack_object *v);
int xq_sp_cmp_str(const void *a, const void *b);
size_t xq_sp_push(parser_t *p, const char *key);
void xq_sp_fail(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool xq_sp_get_str(parser_t *p, const msgpack_object *v, const char **out);
bool xq_sp_get_value(parser_t *p, const msgpack_object *v, msgpack_object *out);
int xq_sp_check_ndarray(parser_t *p,
                        const msgpack_object *v,
                        bool (*leaf_ok)(parser_t *, const msgpack_object *),
                        int depth);
bool xq_sp_walk_map(parser_t *p,
                    const msgpack_object *o,
                    const field_t *fields,
                    size_t n,
                    const msgpack_object **slot);
bool xq_sp_get_str_list(parser_t *p, const msgpack_object *v, const char ***out, size_t *cnt);
const char *xq_sp_type_name(const msgpack_object *o);
bool xq_sp_get_int(parser_t *p, const msgpack_object *v, long long lo, long long hi, int *out);
bool xq_sp_get_double(parser_t *p, const msgpack_object *v, double *out);
bool xq_sp_get_enum(parser_t *p, const msgpack_object *v, const char *const *names, int *out);
bool xq_sp_check_value(parser_t *p, const msgpack_object *v, int depth);
void xq_sp_pop(parser_t *p, size_t saved);
int xq_sp_check_union(parser_t *p,
                      const char *union_name,
                      const msgpack_object **slot,
                      const char *const *names,
                      size_t n);
size_t xq_sp_push_key(parser_t *p, const char *key, size_t len);
bool xq_sp_get_value_list(parser_t *p, const msgpack_object *v, msgpack_object **out, size_t *cnt);
bool xq_sp_has_input(const parser_t *p, const char *name);
size_t xq_sp_push_index(parser_t *p, size_t i);

#endif /* XQ_SPEC_INT_H */
