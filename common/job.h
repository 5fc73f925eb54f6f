/* job.h -- explain jobs and their results on the wire (docs/design.md §2.1-2.3). */
#ifndef XQ_JOB_H
#define XQ_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "mem.h"
#include "sha256.h"
#include "spec.h"

#define XQ_JOB_ID_SIZE    256
#define XQ_JOB_MODEL_SIZE 200

/** A decoded job. Owns its message copy; instances point into it. */
typedef struct xq_job_msg {
    char id[XQ_JOB_ID_SIZE]; /* "" when it could not be read */
    char model[XQ_JOB_MODEL_SIZE];
    char spec_id[XQ_SPEC_ID_LEN + 1]; /* "" when the spec is inline */
    const msgpack_object *spec;       /* inline spec, or NULL */
    const msgpack_object *instances;  /* array items */
    size_t instance_cnt;
    bool has_seed;
    uint64_t seed;
    double target_error;                  /* 0: none */
    char output_topic[256];               /* "" : the default */
    char index_id[XQ_SHA256_HEX_LEN + 1]; /* indexId; "": the spec's latest example index */
    uint32_t neighbor_count;              /* examplesOverride.neighborCount; 0: the index's */
    uint32_t crowding_count;              /* examplesOverride.crowdingCount; 0: none */
    bool low_latency;     /* lowLatency: commit its result at once, not on the commit interval */
    msgpack_unpacked msg; /* owns the objects above */
} xq_job_msg_t;

/**
 * Decodes job @p buf, checking every field of docs/design.md §2.1 and the limit
 * @p max_instances. The objects point into @p buf: keep it as long as @p job.
 * On failure @p job->id holds the id if it could be read. Call
 * xq_job_msg_fini() either way.
 */
xq_err_t xq_job_decode(
    const uint8_t *buf, size_t len, size_t max_instances, xq_job_msg_t *job, xq_error_t *err);

void xq_job_msg_fini(xq_job_msg_t *job);

/** Packs a job (for submit and tests): instances are packed msgpack maps, back to back. */
typedef struct xq_job_view {
    const char *id;
    const char *model;
    const uint8_t *spec; /* canonical msgpack of an inline spec, or NULL */
    size_t spec_len;
    const char *spec_id;      /* or this */
    const uint8_t *instances; /* instance_cnt packed maps */
    size_t instances_len;
    size_t instance_cnt;
    bool has_seed;
    uint64_t seed;
    double target_error;
    const char *index_id;    /* NULL: none */
    uint32_t neighbor_count; /* examplesOverride, 0: none */
    uint32_t crowding_count;
    const char *output_topic; /* NULL: the default result topic */
    bool low_latency;         /* lowLatency: the worker commits this job's result at once */
} xq_job_view_t;

void xq_job_pack(const xq_job_view_t *v, xq_buf_t *out);

/** Packs an error result {"id", "error": {"code", "field", "message"}}. */
void xq_result_pack_error(const char *id, const xq_error_t *e, xq_buf_t *out);

/** Packs @p e as {"code", "field", "message"} (the error of a result or of one instance). */
void xq_error_pack(msgpack_packer *pk, const xq_error_t *e);

#endif /* XQ_JOB_H */
