/* wk_txn.c -- the worker's transactions: what may be published, when it commits, how it aborts and
 * recovers (docs/design.md §5). */
#include "worker_int.h"

void wk_fatal_error(worker_t *w, const char *what, rd_kafka_error_t *error) {
    xq_log(XQ_LOG_ERROR, "kafka", "%s: %s", what, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    w->fatal = true;
}

/*
 * Logs a transactional call's error and says what to do about it: Kafka's
 * fatal errors (a fenced producer, say) restart the producer; everything else
 * aborts (when the transaction requires it) or is tried again later: a broker
 * down for minutes is an outage to ride through, not a reason to exit.
 */
txn_rc_t wk_txn_error(worker_t *w, const char *what, rd_kafka_error_t *error) {
    txn_rc_t rc = TXN_RETRY;

    xq_obs_broker_error(w->obs);
    xq_log(XQ_LOG_WARN, "kafka", "%s: %s%s", what, rd_kafka_error_string(error),
           rd_kafka_error_is_fatal(error)             ? " (fatal: restarting the producer)"
           : rd_kafka_error_txn_requires_abort(error) ? " (aborting)"
                                                      : " (trying again)");
    if (rd_kafka_error_is_fatal(error)) {
        w->txn_dead = true;
        rc = TXN_ABORTED;
    } else if (rd_kafka_error_txn_requires_abort(error)) {
        rc = TXN_ABORT;
    }
    rd_kafka_error_destroy(error);
    return rc;
}

void wk_txn_begin(worker_t *w) {
    rd_kafka_error_t *error;

    if (w->in_txn || !w->txn || w->txn_dead)
        return;
    if ((error = rd_kafka_begin_transaction(w->txn))) {
        wk_txn_error(w, "begin transaction", error);
        return;
    }
    w->in_txn = true;
    w->txn_failed = false;
    w->rec_cnt = 0;
    w->txn_gen++; /* late delivery reports of the last transaction are told apart */
}

/*
 * The offsets to commit (offsets.h): per partition its oldest job in flight,
 * or one past the last consumed when none is, with the jobs answered past it
 * in the metadata. NULL when there are none.
 */
static rd_kafka_topic_partition_list_t *committable(worker_t *w,
                                                    rd_kafka_topic_partition_list_t *parts) {
    rd_kafka_topic_partition_list_t *pos;

    if (!parts || !parts->cnt)
        return NULL;
    rd_kafka_position(w->consumer, parts);
    pos = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        int64_t off =
            xq_offsets_committable(w->offsets, parts->elems[i].partition, parts->elems[i].offset);
        rd_kafka_topic_partition_t *e;
        char meta[XQ_OFFSETS_META_MAX + 1];
        size_t len;

        if (off < 0)
            continue;
        e = rd_kafka_topic_partition_list_add(pos, parts->elems[i].topic,
                                              parts->elems[i].partition);
        e->offset = off;
        if ((len = xq_offsets_metadata(w->offsets, e->partition, off, meta, sizeof(meta)))) {
            e->metadata = xq_malloc(len); /* librdkafka frees it with the list */
            memcpy(e->metadata, meta, len);
            e->metadata_size = len;
        }
    }
    if (!pos->cnt) {
        rd_kafka_topic_partition_list_destroy(pos);
        return NULL;
    }
    return pos;
}

/* Kafka's errors of a produce that trying again cannot mend. */
static bool permanent(rd_kafka_resp_err_t e) {
    switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return true;
    default:
        return false;
    }
}

/* The jobs whose messages failed in the aborted transaction answer with less next time. */
static void quarantine_failed(worker_t *w) {
    const pubrec_t *last = NULL; /* a job's messages are contiguous: one step per job */

    for (size_t i = 0; i < w->rec_cnt; i++) {
        const pubrec_t *r = &w->recs[i];
        quarantine_t *q = NULL;

        if (!r->err || (last && last->partition == r->partition && last->offset == r->offset))
            continue;
        last = r;
        for (size_t k = 0; k < QUARANTINE && !q; k++) {
            if (w->quarantine[k].used && w->quarantine[k].partition == r->partition &&
                w->quarantine[k].offset == r->offset)
                q = &w->quarantine[k];
        }
        if (!q) {
            q = &w->quarantine[w->quarantine_next];
            w->quarantine_next = (w->quarantine_next + 1) % QUARANTINE;
            *q = (quarantine_t){.partition = r->partition, .offset = r->offset, .used = true};
        }
        q->custom_topic = r->custom_topic;
        q->err = r->err;
        /* a broker down or a leader moving passes: the job is redone as it is; what cannot
         * pass (too large, no such topic, not allowed) answers with less at once */
        if (!permanent(r->err) && ++q->transient < TRANSIENT_REDOS)
            continue;
        q->level++;
    }
}

/*
 * Learns, from @p parts as rd_kafka_committed() filled them, which jobs past
 * each committed offset were answered ahead (committable()): consumed again,
 * they are skipped. False when a partition's committed offset is unknown.
 */
bool wk_load_ahead(worker_t *w, const rd_kafka_topic_partition_list_t *parts) {
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].err) {
            xq_log(XQ_LOG_WARN, "kafka", "committed offset of partition %d: %s (trying again)",
                   (int)parts->elems[i].partition, rd_kafka_err2str(parts->elems[i].err));
            return false;
        }
    }
    for (int i = 0; i < parts->cnt; i++)
        xq_offsets_reset(w->offsets, parts->elems[i].partition, parts->elems[i].offset,
                         parts->elems[i].metadata, parts->elems[i].metadata_size);
    return true;
}

/*
 * Sets the consumer back to the committed offsets, so the jobs of an aborted
 * transaction are consumed again. When that fails, intake stays off
 * (need_rewind) and it is tried again: committing past the dropped jobs would
 * lose them.
 */
bool wk_rewind_to_committed(worker_t *w) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t e;
    rd_kafka_error_t *se = NULL;
    bool ok = false;

    if (rd_kafka_assignment(w->consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto out;
    if (!parts->cnt) {
        ok = true;
        goto out;
    }
    if ((e = rd_kafka_committed(w->consumer, parts, 5000)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        xq_log(XQ_LOG_WARN, "kafka", "committed offsets: %s (trying again)", rd_kafka_err2str(e));
        goto out;
    }
    if (!wk_load_ahead(w, parts))
        goto out;
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].offset < 0)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if ((se = rd_kafka_seek_partitions(w->consumer, parts, 5000))) {
        xq_log(XQ_LOG_WARN, "kafka", "seek: %s (trying again)", rd_kafka_error_string(se));
        rd_kafka_error_destroy(se);
        goto out;
    }
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].err) {
            xq_log(XQ_LOG_WARN, "kafka", "seek partition %d: %s (trying again)",
                   (int)parts->elems[i].partition, rd_kafka_err2str(parts->elems[i].err));
            goto out;
        }
    }
    ok = true;
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    w->need_rewind = !ok;
    return ok;
}

/*
 * Does the consumer group's coordinator answer now? librdkafka (2.0.2, and
 * later ones: its issue 5456) blocks in rd_kafka_send_offsets_to_transaction()
 * past the timeout while that broker is down, so a worker would hang for the
 * length of an outage; rd_kafka_committed() keeps its timeout, so it asks
 * first (a small race remains).
 */
static bool coordinator_up(worker_t *w, const rd_kafka_topic_partition_list_t *pos, int timeout) {
    rd_kafka_topic_partition_list_t *probe = rd_kafka_topic_partition_list_copy(pos);
    rd_kafka_resp_err_t e = rd_kafka_committed(w->consumer, probe, timeout < 2000 ? timeout : 2000);

    rd_kafka_topic_partition_list_destroy(probe);
    if (e)
        xq_log(XQ_LOG_WARN, "kafka", "group coordinator: %s (committing later)",
               rd_kafka_err2str(e));
    return e == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/*
 * Commits results and offsets, or aborts. TXN_RETRY leaves the transaction
 * as it is (committing or aborting) to be finished by a later call; the
 * loop publishes nothing meanwhile.
 */
txn_rc_t wk_txn_commit(worker_t *w) {
    rd_kafka_topic_partition_list_t *pos = NULL, *parts = NULL;
    rd_kafka_error_t *error;
    int timeout = (int)xq_conf_num(w->conf, "commit.timeout.ms");
    txn_rc_t rc = TXN_OK;

    if (!w->in_txn)
        return TXN_OK;
    if (w->txn_failed || w->aborting) {
        rc = TXN_ABORT;
    } else {
        if (!w->committing) {
            if (rd_kafka_assignment(w->consumer, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR)
                pos = committable(w, parts);
            if (pos && !coordinator_up(w, pos, timeout)) {
                rc = TXN_RETRY;
            } else if (pos) {
                bool hung;

                error = wk_send_offsets(w, pos, timeout, &hung);
                if (hung) /* the producer is gone as after a fatal error: w->txn_dead */
                    rc = TXN_ABORTED;
                else if (error)
                    rc = wk_txn_error(w, "send offsets", error);
            }
        }
        if (rc == TXN_OK) {
            w->committing = true; /* from here on only commit_transaction() may be called */
            if ((error = rd_kafka_commit_transaction(w->txn, timeout)))
                rc = wk_txn_error(w, "commit", error);
            if (rc == TXN_OK && w->txn_failed)
                rc = TXN_ABORT; /* a delivery report of the flush: cannot happen, but be sure */
            if (rc != TXN_RETRY)
                w->committing = false;
        }
    }
    if (rc == TXN_ABORT) {
        w->committing = false;
        w->aborting = true;
        if ((error = rd_kafka_abort_transaction(w->txn, timeout)))
            rc = wk_txn_error(w, "abort transaction", error);
        else
            rc = TXN_ABORTED;
        if (rc == TXN_ABORT)
            rc = TXN_RETRY; /* an abort that needs an abort: try the abort again */
    }
    if (rc == TXN_ABORTED) {
        w->aborting = false;
        w->committing = false;
        quarantine_failed(w);
        wk_rewind_to_committed(w);
    }
    if (rc == TXN_OK || rc == TXN_ABORTED)
        xq_obs_txn(w->obs, rc == TXN_OK);
    if (rc != TXN_RETRY) {
        w->in_txn = false;
        w->finished_since_commit = 0;
        w->commit_now = false;
    }
    w->last_commit_ms = xq_now_ms();
    if (pos)
        rd_kafka_topic_partition_list_destroy(pos);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

/* The delivery report of a transactional message: a failure dooms the transaction. */
static void txn_dr(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    worker_t *w = opaque;
    uint64_t tag = (uint64_t)(uintptr_t)rkm->_private;
    size_t i = (size_t)(tag & 0xffffffffu);

    (void)rk;
    if (!rkm->err)
        return;
    xq_log(XQ_LOG_WARN, "kafka", "delivery to %s failed: %s", rd_kafka_topic_name(rkm->rkt),
           rd_kafka_err2str(rkm->err));
    if ((uint32_t)(tag >> 32) != w->txn_gen)
        return; /* a message of a transaction already aborted */
    w->txn_failed = true;
    if (i >= 1 && i <= w->rec_cnt && !w->recs[i - 1].err)
        w->recs[i - 1].err = rkm->err;
}

/* Records that this transaction carries a message of job @p j; returns its opaque tag. */
static void *pub_record(worker_t *w, const job_t *j, bool custom_topic) {
    if (w->rec_cnt == w->rec_cap) {
        w->rec_cap = w->rec_cap ? 2 * w->rec_cap : 256;
        w->recs = xq_reallocarray(w->recs, w->rec_cap, sizeof(*w->recs));
    }
    w->recs[w->rec_cnt++] =
        (pubrec_t){.partition = j->partition, .offset = j->offset, .custom_topic = custom_topic};
    return (void *)(uintptr_t)(((uint64_t)w->txn_gen << 32) | w->rec_cnt);
}

/*
 * Produces inside the transaction. A message that cannot be queued fails the
 * transaction like one whose delivery fails: it aborts, and the job is done
 * again and answered with less (see quarantine_t).
 */
static void produce_txn(worker_t *w,
                        const char *topic,
                        const void *key,
                        size_t key_len,
                        const void *val,
                        size_t len,
                        rd_kafka_headers_t *hdrs,
                        void *tag) {
    rd_kafka_resp_err_t e;

    for (int tries = 0;; tries++) {
        e = rd_kafka_producev(
            w->txn, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)(uintptr_t)key, key_len),
            RD_KAFKA_V_VALUE((void *)(uintptr_t)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(tag), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries >= 600)
            break;
        rd_kafka_poll(w->txn, 100); /* the queue drains as the brokers acknowledge */
    }
    if (e) {
        size_t i = (size_t)((uint64_t)(uintptr_t)tag & 0xffffffffu);

        xq_log(XQ_LOG_ERROR, "kafka", "produce to %s: %s", topic, rd_kafka_err2str(e));
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        w->txn_failed = true;
        if (i >= 1 && i <= w->rec_cnt && !w->recs[i - 1].err)
            w->recs[i - 1].err = e;
    }
}

/*
 * docs/design.md §2.3: the raw message with its key, and what went wrong in its
 * headers. A message over dlq.max.bytes keeps its first dlq.max.bytes; the
 * headers give its size.
 */
static void dead_letter(worker_t *w, const job_t *j, const xq_error_t *e) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    const void *raw = j->dlq ? j->dlq : j->raw.data;
    size_t len = j->dlq ? j->dlq_len : j->raw.len,
           max = (size_t)xq_conf_num(w->conf, "dlq.max.bytes");
    char part[16], off[32], bytes[32];

    snprintf(part, sizeof(part), "%d", (int)j->partition);
    snprintf(off, sizeof(off), "%lld", (long long)j->offset);
    snprintf(bytes, sizeof(bytes), "%zu", len);
    xq_obs_dead_letter(w->obs, xq_err_wire(e->code));
    rd_kafka_header_add(h, "error.code", -1, xq_err_wire(e->code), -1);
    rd_kafka_header_add(h, "error.message", -1, e->msg, -1);
    rd_kafka_header_add(h, "error.field", -1, e->field, -1);
    rd_kafka_header_add(h, "source.topic", -1, w->source_topic, -1);
    rd_kafka_header_add(h, "source.partition", -1, part, -1);
    rd_kafka_header_add(h, "source.offset", -1, off, -1);
    rd_kafka_header_add(h, "source.bytes", -1, bytes, -1);
    if (len > max) {
        rd_kafka_header_add(h, "truncated", -1, "true", -1);
        len = max;
    }
    produce_txn(w, xq_conf_str(w->conf, "topic.dlq"), j->key, j->key_len, raw, len, h,
                pub_record(w, j, false));
}

static quarantine_t *quarantined(worker_t *w, const job_t *j) {
    for (size_t q = 0; q < QUARANTINE; q++) {
        quarantine_t *e = &w->quarantine[q];

        if (e->level && e->partition == j->partition && e->offset == j->offset)
            return e;
    }
    return NULL;
}

/* A result, in parts when it is over result.max.bytes (see parts.h). */
static void produce_result(worker_t *w, const char *topic, const job_t *j, const xq_buf_t *res) {
    size_t max = (size_t)xq_conf_num(w->conf, "result.max.bytes");
    size_t chunk = max - XQ_PARTS_OVERHEAD - strlen(j->id), n = xq_parts_count(res->len, chunk);
    bool custom = topic != xq_conf_str(w->conf, "topic.results");

    if (res->len <= max) {
        produce_txn(w, topic, j->id, strlen(j->id), res->data, res->len, NULL,
                    pub_record(w, j, custom));
        return;
    }
    for (size_t k = 0; k < n; k++) {
        xq_parts_pack(j->id, res->data, res->len, chunk, k, &w->buf);
        produce_txn(w, topic, j->id, strlen(j->id), w->buf.data, w->buf.len, NULL,
                    pub_record(w, j, custom));
    }
}

/*
 * Sends what job @p j answers with: its result (and a dead letter when it
 * failed); after its messages once failed to be written, an error result on
 * topic.results and the dead letter; after that failed too, the dead letter.
 */
static void publish_job(worker_t *w, job_t *j) {
    quarantine_t *q = quarantined(w, j);
    xq_error_t qerr;
    xq_buf_t eres;

    if (j->duplicate)
        return;
    if (!q) {
        /* counted as it is published: the metrics keep it until the transaction commits */
        if (j->failed)
            xq_obs_job_failed(w->obs, xq_err_wire(j->err.code));
        else
            xq_obs_job_done(w->obs, xq_method_name(j->spec->params.method), j->runs, j->n);
        if (j->failed)
            dead_letter(w, j, &j->err);
        if (!j->dlq_only) {
            produce_result(w, wk_result_topic(w, j), j, &j->result);
            wk_progress(w, j, j->failed ? "error" : "done");
        }
        return;
    }
    xq_error_set(&qerr, XQ_EKAFKA, q->custom_topic ? "outputTopic" : "",
                 "the %s of %zu bytes could not be written to %s: %s",
                 j->failed ? "error result" : "result", j->result.len, wk_result_topic(w, j),
                 rd_kafka_err2str(q->err));
    xq_log_job(XQ_LOG_ERROR, "worker", j->id, "job %s (partition %d offset %lld): %s (attempt %d)",
               j->id[0] ? j->id : "-", (int)j->partition, (long long)j->offset, qerr.msg, q->level);
    if (q->level == 1 && !j->dlq_only) {
        xq_buf_init(&eres);
        xq_result_pack_error(j->id, &qerr, &eres);
        produce_result(w, xq_conf_str(w->conf, "topic.results"), j, &eres);
        xq_buf_fini(&eres);
        j->failed = true;
        j->err = qerr;
        xq_obs_job_failed(w->obs, xq_err_wire(qerr.code));
        wk_progress(w, j, "error");
    }
    if (q->level <= 2)
        dead_letter(w, j, &qerr);
    /* past that nothing can be written: the transaction aborts again and the offset stays */
    if (q->level > 2)
        w->txn_failed = true;
}

/*
 * Sends finished results in offset order, per partition (the jobs list is in
 * arrival order); a result behind an unfinished job goes ahead of it when the
 * commit's metadata can name it (offsets.h), so one slow job does not hold
 * the others back.
 */
void wk_publish(worker_t *w) {
    for (job_t *j = w->jobs, *next; j; j = next) {
        next = j->next;
        if (!j->finished || !xq_offsets_may_publish(w->offsets, j->partition, j->offset))
            continue;
        publish_job(w, j);
        w->commit_now |= j->msg.low_latency; /* an online caller waits for the commit */
        wk_release_id(w, j);
        w->finished_since_commit++;
        wk_job_unlink(w, j);
    }
}

/*
 * (Re)starts the transactional producer. A new one with the same
 * transactional.id fences the old one and aborts what it left open, so after
 * a fatal error (a fenced producer) the worker carries on. False when the
 * brokers cannot be reached yet: the loop tries again.
 */
bool wk_txn_producer_start(worker_t *w) {
    const xq_kafka_cbs_t cbs = {.dr_msg_cb = txn_dr, .opaque = w};
    const char *forced[] = {w->txnid, "enable.idempotence=true"};
    rd_kafka_error_t *error;

    if (w->txn) {
        rd_kafka_purge(w->txn, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(w->txn);
        w->txn = NULL;
    }
    w->txn_dead = w->in_txn = w->committing = w->aborting = false;
    w->txn_gen++;
    if (!(w->txn = wk_client(w, RD_KAFKA_PRODUCER, "producer", NULL, forced, 2, &cbs))) {
        w->fatal = true; /* a configuration error: no use trying again */
        return false;
    }
    if ((error =
             rd_kafka_init_transactions(w->txn, (int)xq_conf_num(w->conf, "commit.timeout.ms")))) {
        xq_log(XQ_LOG_WARN, "kafka", "init transactions: %s (trying again)",
               rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        rd_kafka_destroy(w->txn);
        w->txn = NULL;
        return false;
    }
    return true;
}

/*
 * Once per loop: commits when enough finished or nothing is left to do (or a commit or abort is
 * unfinished and its retry time came), restarts a dead producer, and sets the
 * consumer back when that is still owed. Aborted work is dropped: its jobs are
 * consumed again from the committed offsets.
 */
void wk_settle_txn(worker_t *w) {
    long long t = xq_now_ms();
    bool due;

    if (w->txn_dead || !w->txn) {
        if (t < w->txn_retry_ms)
            return;
        wk_drop_all_jobs(w); /* what they published died with the producer's transaction */
        if (!wk_txn_producer_start(w)) {
            w->txn_retry_ms = t + 1000;
            return;
        }
        xq_log(XQ_LOG_INFO, "kafka", "transactional producer restarted");
        wk_rewind_to_committed(w);
    }
    if (w->need_rewind && t >= w->txn_retry_ms && !wk_rewind_to_committed(w))
        w->txn_retry_ms = t + 1000;
    if (!w->in_txn) {
        wk_txn_begin(w);
        return;
    }
    if (w->committing || w->aborting)
        due = t >= w->txn_retry_ms;
    else
        /* idle (every job taken is published): nothing to gain by waiting, and the last
         * results of a batch would wait up to commit.interval.ms for nothing (a fifth of a
         * 40,000-instance run in make bench) */
        due = w->txn_failed || (w->finished_since_commit &&
                                (w->commit_now || w->finished_since_commit >= w->commit_jobs ||
                                 t - w->last_commit_ms >= w->commit_ms || !w->jobs));
    if (!due)
        return;
    switch (wk_txn_commit(w)) {
    case TXN_RETRY:
        w->txn_retry_ms = xq_now_ms() + 1000;
        break;
    case TXN_ABORTED:
        wk_drop_all_jobs(w);
        /* fall through */
    default:
        wk_txn_begin(w);
        break;
    }
}
