/* job.c -- explain jobs and results: strict decoding, packing. */
#include "job.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mp.h"
#include "sha256.h"

/* Copies a string field into @p dst; false if missing, not a string, empty or too long. */
static bool str_field(const msgpack_object *v, char *dst, size_t size) {
    if (!v || v->type != MSGPACK_OBJECT_STR || !v->via.str.size || v->via.str.size >= size ||
        memchr(v->via.str.ptr, '\0', v->via.str.size))
        return false;
    memcpy(dst, v->via.str.ptr, v->via.str.size);
    dst[v->via.str.size] = '\0';
    return true;
}

/*
 * The id of a job that cannot be decoded, so it still gets its error result:
 * read without unpacking (any depth), cut to XQ_JOB_ID_SIZE - 1 bytes at a
 * UTF-8 boundary when longer. @returns the id's whole length (0: none).
 */
static size_t peek_id(const uint8_t *buf, size_t len, xq_job_msg_t *job) {
    const uint8_t *v;
    size_t n, keep;

    if (!xq_mp_peek_str(buf, len, "id", &v, &n) || !n || memchr(v, '\0', n))
        return 0;
    keep = n < XQ_JOB_ID_SIZE ? n : XQ_JOB_ID_SIZE - 1;
    while (keep < n && keep && (v[keep] & 0xc0) == 0x80)
        keep--; /* not inside a character */
    memcpy(job->id, v, keep);
    job->id[keep] = '\0';
    return n;
}

/* examplesOverride: {"neighborCount", "crowdingCount"}, each in [1, 10000]. */
static xq_err_t decode_override(const msgpack_object *v, xq_job_msg_t *job, xq_error_t *err) {
    static const char *const names[] = {"neighborCount", "crowdingCount"};
    uint32_t *dst[] = {&job->neighbor_count, &job->crowding_count};

    if (v->type != MSGPACK_OBJECT_MAP)
        return xq_error_set(err, XQ_EINVAL, "examplesOverride", "must be a map");
    for (uint32_t i = 0; i < v->via.map.size; i++) {
        const msgpack_object_kv *kv = &v->via.map.ptr[i];
        size_t f = 0;

        while (f < 2 && !xq_mp_str_eq(&kv->key, names[f]))
            f++;
        if (f == 2)
            return xq_error_set(err, XQ_EINVAL, "examplesOverride",
                                "supported fields are neighborCount and crowdingCount");
        if (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER || kv->val.via.u64 < 1 ||
            kv->val.via.u64 > 10000) {
            char field[40];

            snprintf(field, sizeof(field), "examplesOverride.%s", names[f]);
            return xq_error_set(err, XQ_EINVAL, field, "must be an integer in [1, 10000]");
        }
        *dst[f] = (uint32_t)kv->val.via.u64;
    }
    return XQ_OK;
}

xq_err_t xq_job_decode(
    const uint8_t *buf, size_t len, size_t max_instances, xq_job_msg_t *job, xq_error_t *err) {
    static const char *const known[] = {"id",
                                        "model",
                                        "spec",
                                        "specId",
                                        "instances",
                                        "seed",
                                        "targetApproximationError",
                                        "outputTopic",
                                        "indexId",
                                        "examplesOverride",
                                        "lowLatency"};
    const msgpack_object *o, *v;

    memset(job, 0, sizeof(*job));
    msgpack_unpacked_init(&job->msg);
    if (!xq_mp_unpack_one(buf, len, &job->msg) || job->msg.data.type != MSGPACK_OBJECT_MAP) {
        peek_id(buf, len, job);
        return xq_error_set(err, XQ_EDECODE, "",
                            "the job is not one msgpack map of at most %d levels of nesting",
                            XQ_MP_MAX_DEPTH);
    }
    o = &job->msg.data;
    if (!str_field(xq_mp_map_get(o, "id"), job->id, sizeof(job->id))) {
        size_t n = peek_id(buf, len, job);

        if (n >= XQ_JOB_ID_SIZE)
            return xq_error_set(err, XQ_ELIMIT, "id",
                                "is %zu bytes: at most %d (answered under its first bytes)", n,
                                XQ_JOB_ID_SIZE - 1);
        return xq_error_set(err, XQ_EDECODE, "id", "is required: a string of 1 to %d bytes",
                            XQ_JOB_ID_SIZE - 1);
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        bool ok = false;

        for (size_t j = 0; j < sizeof(known) / sizeof(known[0]) && !ok; j++)
            ok = xq_mp_str_eq(k, known[j]);
        if (!ok && k->type == MSGPACK_OBJECT_STR)
            return xq_error_set(err, XQ_EINVAL, "", "unknown job field %.*s",
                                (int)(k->via.str.size > 60 ? 60 : k->via.str.size), k->via.str.ptr);
        if (!ok)
            return xq_error_set(err, XQ_EINVAL, "", "job keys must be strings");
    }
    if (!str_field(xq_mp_map_get(o, "model"), job->model, sizeof(job->model)) ||
        strspn(job->model, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            strlen(job->model))
        return xq_error_set(err, XQ_EINVAL, "model",
                            "is required: a model name of letters, digits, '.', '_' and '-'");
    job->spec = xq_mp_map_get(o, "spec");
    v = xq_mp_map_get(o, "specId");
    if ((job->spec != NULL) == (v != NULL))
        return xq_error_set(err, XQ_EINVAL, "spec",
                            "exactly one of spec (inline) and specId must be given");
    if (v && !str_field(v, job->spec_id, sizeof(job->spec_id)))
        return xq_error_set(err, XQ_EINVAL, "specId", "must be a spec id (64 hex digits)");
    v = xq_mp_map_get(o, "instances");
    if (!v || v->type != MSGPACK_OBJECT_ARRAY || !v->via.array.size)
        return xq_error_set(err, XQ_EINVAL, "instances", "is required: a non-empty array");
    if (max_instances && v->via.array.size > max_instances)
        return xq_error_set(err, XQ_ELIMIT, "instances",
                            "holds %u instances, over max.instances.per.job (%zu)",
                            v->via.array.size, max_instances);
    job->instances = v->via.array.ptr;
    job->instance_cnt = v->via.array.size;
    if ((v = xq_mp_map_get(o, "seed"))) {
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return xq_error_set(err, XQ_EINVAL, "seed", "must be an unsigned integer");
        job->has_seed = true;
        job->seed = v->via.u64;
    }
    if ((v = xq_mp_map_get(o, "targetApproximationError"))) {
        if (!xq_mp_number(v, &job->target_error) || !(job->target_error > 0) ||
            !isfinite(job->target_error))
            return xq_error_set(err, XQ_EINVAL, "targetApproximationError",
                                "must be a positive number");
    }
    if ((v = xq_mp_map_get(o, "outputTopic")) &&
        (!str_field(v, job->output_topic, sizeof(job->output_topic)) ||
         strlen(job->output_topic) > 249 ||
         strspn(job->output_topic,
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
             strlen(job->output_topic))) {
        job->output_topic[0] = '\0'; /* the error result goes to the default topic */
        return xq_error_set(err, XQ_EINVAL, "outputTopic",
                            "must be a Kafka topic name: 1 to 249 letters, digits, '.', '_', '-'");
    }
    if ((v = xq_mp_map_get(o, "indexId")) && (!str_field(v, job->index_id, sizeof(job->index_id)) ||
                                              !xq_sha256_hex_valid(job->index_id)))
        return xq_error_set(err, XQ_EINVAL, "indexId", "must be an index id (64 hex digits)");
    if ((v = xq_mp_map_get(o, "lowLatency"))) {
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
            return xq_error_set(err, XQ_EINVAL, "lowLatency", "must be true or false");
        job->low_latency = v->via.boolean;
    }
    if ((v = xq_mp_map_get(o, "examplesOverride")))
        return decode_override(v, job, err);
    return XQ_OK;
}

void xq_job_msg_fini(xq_job_msg_t *job) {
    msgpack_unpacked_destroy(&job->msg);
    memset(job, 0, sizeof(*job));
}

void xq_job_pack(const xq_job_view_t *v, xq_buf_t *out) {
    msgpack_packer pk;

    xq_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, 4 + v->has_seed + (v->target_error > 0) + (v->index_id != NULL) +
                              (v->neighbor_count || v->crowding_count) + (v->output_topic != NULL) +
                              v->low_latency);
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, v->id);
    xq_mp_pack_str(&pk, "model");
    xq_mp_pack_str(&pk, v->model);
    if (v->spec) {
        xq_mp_pack_str(&pk, "spec");
        xq_buf_append(out, v->spec, v->spec_len);
    } else {
        xq_mp_pack_str(&pk, "specId");
        xq_mp_pack_str(&pk, v->spec_id);
    }
    xq_mp_pack_str(&pk, "instances");
    msgpack_pack_array(&pk, v->instance_cnt);
    xq_buf_append(out, v->instances, v->instances_len);
    if (v->has_seed) {
        xq_mp_pack_str(&pk, "seed");
        msgpack_pack_uint64(&pk, v->seed);
    }
    if (v->target_error > 0) {
        xq_mp_pack_str(&pk, "targetApproximationError");
        msgpack_pack_double(&pk, v->target_error);
    }
    if (v->index_id) {
        xq_mp_pack_str(&pk, "indexId");
        xq_mp_pack_str(&pk, v->index_id);
    }
    if (v->output_topic) {
        xq_mp_pack_str(&pk, "outputTopic");
        xq_mp_pack_str(&pk, v->output_topic);
    }
    if (v->low_latency) {
        xq_mp_pack_str(&pk, "lowLatency");
        msgpack_pack_true(&pk);
    }
    if (v->neighbor_count || v->crowding_count) {
        xq_mp_pack_str(&pk, "examplesOverride");
        msgpack_pack_map(&pk, (v->neighbor_count > 0) + (v->crowding_count > 0));
        if (v->neighbor_count) {
            xq_mp_pack_str(&pk, "neighborCount");
            msgpack_pack_uint32(&pk, v->neighbor_count);
        }
        if (v->crowding_count) {
            xq_mp_pack_str(&pk, "crowdingCount");
            msgpack_pack_uint32(&pk, v->crowding_count);
        }
    }
}

void xq_result_pack_error(const char *id, const xq_error_t *e, xq_buf_t *out) {
    msgpack_packer pk;

    xq_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, 2);
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, id);
    xq_mp_pack_str(&pk, "error");
    xq_error_pack(&pk, e);
}

void xq_error_pack(msgpack_packer *pk, const xq_error_t *e) {
    msgpack_pack_map(pk, 3);
    xq_mp_pack_str(pk, "code");
    xq_mp_pack_str(pk, xq_err_wire(e->code));
    xq_mp_pack_str(pk, "field");
    xq_mp_pack_str(pk, e->field);
    xq_mp_pack_str(pk, "message");
    xq_mp_pack_str(pk, e->msg);
}
