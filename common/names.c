/* names.c -- topic, group and Redis key names, formatted into bounded buffers. */
#include "names.h"

#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 3, 4))) static bool
fmt(char *buf, size_t size, const char *format, ...) {
    va_list ap;
    int n;

    if (!size)
        return false;
    va_start(ap, format);
    n = vsnprintf(buf, size, format, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

bool xq_name_infer_topic(char *buf, size_t size, const char *model) {
    return fmt(buf, size, "%s%s", XQ_TOPIC_INFER, model);
}

bool xq_name_runner_group(char *buf, size_t size, const char *model) {
    return fmt(buf, size, "%s%s", XQ_GROUP_RUNNERS, model);
}

bool xq_name_txn_id(char *buf, size_t size, const char *worker_id) {
    return fmt(buf, size, "%s%s", XQ_TXN_ID, worker_id);
}

bool xq_key_spec(char *buf, size_t size, const char *spec_id) {
    return fmt(buf, size, "%s%s", XQ_KEY_SPEC, spec_id);
}

bool xq_key_job(char *buf, size_t size, const char *job_id) {
    return fmt(buf, size, "%s%s", XQ_KEY_JOB, job_id);
}

bool xq_key_jobid(char *buf, size_t size, const char *job_id) {
    return fmt(buf, size, "%s%s", XQ_KEY_JOBID, job_id);
}

bool xq_key_lease(char *buf, size_t size, int partition) {
    return fmt(buf, size, "%s%d", XQ_KEY_LEASE, partition);
}

bool xq_key_baseline(char *buf, size_t size, const char *model, const char *row_sha) {
    return fmt(buf, size, "%s%s:%s", XQ_KEY_BASELINE, model, row_sha);
}

bool xq_key_index(char *buf, size_t size, const char *index_id) {
    return fmt(buf, size, "%s%s", XQ_KEY_INDEX, index_id);
}

bool xq_key_index_chunk(char *buf, size_t size, const char *index_id, size_t k) {
    return fmt(buf, size, "%s%s:%zu", XQ_KEY_INDEX, index_id, k);
}

bool xq_key_examples(char *buf, size_t size, const char *spec_id) {
    return fmt(buf, size, "%s%s", XQ_KEY_EXAMPLES, spec_id);
}
