/* batchjob.h -- Vertex AI's BatchPredictionJob as a local file: inputs, instanceConfig, outputs. */
#ifndef XQ_BATCHJOB_H
#define XQ_BATCHJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "mem.h"

/** instanceConfig.instanceType. */
typedef enum xq_bj_type {
    XQ_BJ_AS_IS = 0, /* unset: JSONL lines as they are, CSV rows as arrays */
    XQ_BJ_OBJECT,
    XQ_BJ_ARRAY,
} xq_bj_type_t;

/** A parsed job: plain data; free with xq_bj_destroy(). */
typedef struct xq_bj {
    char *display_name; /* displayName, or "" */
    char *model;        /* the last segment of "model" ("projects/.../models/M" gives M) */
    bool csv;           /* inputConfig.instancesFormat: "csv" (else "jsonl") */
    char **paths;       /* inputConfig.gcsSource.uris as local paths (file:// stripped) */
    size_t path_cnt;
    xq_bj_type_t type; /* instanceConfig.instanceType */
    char *key_field;   /* instanceConfig.keyField, or NULL */
    char **included;   /* instanceConfig.includedFields */
    size_t included_cnt;
    char **excluded; /* instanceConfig.excludedFields */
    size_t excluded_cnt;
    char *out_dir;        /* outputConfig.gcsDestination.outputUriPrefix as a local folder */
    bool explain;         /* generateExplanation */
    xq_buf_t spec_meta;   /* explanationSpec.metadata, msgpack; empty when not given */
    xq_buf_t spec_params; /* explanationSpec.parameters, msgpack; empty when not given */
} xq_bj_t;

/**
 * Parses the BatchPredictionJob JSON @p text. URIs and the output prefix
 * must be local paths or file:// URIs (gs:// and BigQuery are refused with
 * what to do instead); relative paths are taken relative to @p base_dir.
 *
 * @returns XQ_OK and a new job in @p *out, or XQ_EINVAL with every problem in
 *          @p errs (paths like "inputConfig.gcsSource.uris[0]").
 */
xq_err_t
xq_bj_parse(const char *text, size_t len, const char *base_dir, xq_bj_t **out, xq_errlist_t *errs);

void xq_bj_destroy(xq_bj_t *j);

/**
 * Applies the job's instanceConfig to input instance @p in (from a CSV row
 * when @p csv): drops the key field (packing its value into @p key, if it has
 * one), keeps includedFields or drops excludedFields, and converts to an
 * object or an array (in includedFields order, else the input's order).
 * Packs the instance the model is sent into @p inst.
 *
 * @returns XQ_OK, or XQ_EINVAL with @p err naming the instanceConfig field.
 */
xq_err_t xq_bj_apply(
    const xq_bj_t *j, const msgpack_object *in, xq_buf_t *inst, xq_buf_t *key, xq_error_t *err);

#endif /* XQ_BATCHJOB_H */
