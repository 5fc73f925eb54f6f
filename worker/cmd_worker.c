/*
 * cmd_worker.c -- `explainq worker`: consumes explain jobs, plans their model
 * rows, coalesces the rows of many jobs into inference requests for the
 * runners, reduces the replies, and publishes results and the job offsets in
 * one Kafka transaction (docs/design.md §1-§3 and §5, docs/internals.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "codec.h"
#include "conf.h"
#include "config.h"
#include "exindex.h"
#include "idset.h"
#include "job.h"
#include "json.h"
#include "kafka.h"
#include "layout.h"
#include "log.h"
#include "mem.h"
#include "methods/examples.h"
#include "methods/ig.h"
#include "methods/run.h"
#include "models/load.h"
#include "models/remote.h"
#include "mp.h"
#include "obs.h"
#include "offsets.h"
#include "parts.h"
#include "redis.h"
#include "rng.h"
#include "rows.h"
#include "sha256.h"
#include "signals.h"
#include "spec.h"

extern char **environ;

#define STR_(x) #x
#define STR(x)  STR_(x)

static const xq_conf_opt_t options[] = {
    {"bootstrap.servers", "127.0.0.1:9092", 0, 0, 1, "Kafka brokers"},
    {"redis.url", "127.0.0.1:6379", 0, 0, 1,
     "Redis host:port (a cache: jobs with inline specs run without it)"},
    {"worker.id", "", 0, 0, 1, "this worker's id (default: host-pid)"},
    {"topic.jobs", "explain.jobs", 0, 0, 1, "jobs topic"},
    {"topic.results", "explain.results", 0, 0, 1, "results topic"},
    {"topic.dlq", "explain.dlq", 0, 0, 1, "dead-letter topic"},
    {"topic.replies", "explain.replies", 0, 0, 1, "inference replies topic"},
    {"group.id", "explainq-workers", 0, 0, 1, "consumer group of the workers"},
    {"replies.partitions", "16", 1, 4096, 0,
     "partitions of the replies topic when the worker creates it"},
    {"max.batch.rows", "1024", 1, 1 << 20, 0, "rows per inference request, at most"},
    {"max.request.bytes", STR(XQ_REMOTE_REQUEST_BYTES), 1024, 1e9, 0,
     "tensor bytes per inference request (and reply), at most: under the brokers' "
     "message.max.bytes"},
    {"batch.linger.ms", "2", 0, 10000, 0, "how long a partial request waits for more rows"},
    {"max.inflight.rows", "262144", 1, 1 << 26, 0,
     "rows in flight before the job partitions pause"},
    {"max.instances.per.job", "10000", 1, 1000000, 0, "larger jobs get an error result"},
    {"max.tensor.elements", "16777216", 1, 1 << 30, 0, "largest instance, in elements"},
    {"max.model.rows", "100000", 1, 1e9, 0, "model rows per instance (maxModelRows)"},
    {"request.timeout.ms", "30000", 100, 3600000, 0,
     "a request unanswered this long is sent again"},
    {"request.retries", "3", 0, 100, 0, "resends before the jobs get an error result"},
    {"commit.interval.ms", "500", 1, 60000, 0, "results and offsets commit at least this often"},
    {"commit.jobs", "500", 1, 1000000, 0, "... or after this many finished jobs"},
    {"commit.timeout.ms", "10000", 100, 600000, 0,
     "how long one commit (or abort) may block; an unfinished one is tried again"},
    {"shutdown.grace.ms", "10000", 0, 600000, 0, "on SIGTERM, time to finish the jobs in flight"},
    {"redis.wait.ms", "5000", 0, 600000, 0, "how long a job needing Redis waits for it"},
    {"redis.timeout.ms", "250", 10, 60000, 0,
     "one Redis call waits at most this long (then Redis counts as down, with backoff)"},
    {"job.ttl.s", "86400", 1, 1e8, 0, "lifetime of explainq:job:<id> progress hashes"},
    {"input.format", "jobs", 0, 0, 1,
     "jobs (explain jobs), or instances (a stream of prediction logs)"},
    {"input.topic", "explain.instances", 0, 0, 1, "the stream's topic (input.format=instances)"},
    {"stream.spec.id", "", 0, 0, 1, "spec id for the stream's instances (explainq spec put)"},
    {"stream.model", "", 0, 0, 1, "model for the stream's instances"},
    {"stream.index.id", "", 0, 0, 1,
     "example index for the stream (examples specs; default: the spec's latest)"},
    {"xrai.algorithm", "full", 0, 0, 1, "XRAI's region selection: full or fast"},
    {"examples.cache.indexes", "4", 1, 1024, 0,
     "example indexes kept in memory when no job uses them (least recently used go)"},
    {"result.max.bytes", "900000", 4096, 1e9, 0,
     "results larger than this go out in parts (under the brokers' message.max.bytes)"},
    {"dlq.max.bytes", "900000", 4096, 1e9, 0,
     "dead letters keep at most this much of the message (headers give the size)"},
    {"max.queued.instances", "10000", 1, 1e8, 0,
     "instances accepted and not yet answered before the job partitions pause"},
    {"max.queued.bytes", "67108864", 65536, 1e12, 0,
     "bytes of accepted, unanswered jobs before the job partitions pause"},
    {"dedup.window", "100000", 0, 1e8, 0,
     "job ids this worker remembers as answered (beside Redis) to skip duplicates"},
    {"sample.rate", "1", 0, 1, 0,
     "share of the stream's messages explained (by offset, repeatable)"},
    {"viz.format", "jpeg", 0, 0, 1,
     "attribution pictures in results: jpeg ({\"b64_jpeg\"}, as Vertex AI) or png"},
    {"models", "", 0, 0, 1,
     "models this worker evaluates itself, no runner: NAME=FILE[,NAME=FILE...] (any backend "
     "explainq runner takes; its first output)"},
    {"log.level", "info", 0, 0, 1, "debug, info, warn or error"},
    {"log.format", "text", 0, 0, 1, "text, or json: one JSON object per line"},
    {"metrics.port", "0", 0, 65535, 0,
     "serve /metrics, /healthz and /readyz on this port (0: off)"},
    {"metrics.host", "0.0.0.0", 0, 0, 1, "address the metrics port binds"},
    {"redis.user", "", 0, 0, 1, "Redis ACL user (with redis.password)"},
    {"redis.password", "", 0, 0, 1, "Redis AUTH password"},
    {"redis.db", "0", 0, 1e6, 0, "Redis database number (SELECT)"},
    {"redis.tls", "false", 0, 0, 1, "TLS to Redis: not available with hiredis 0.14 (see README)"},
};
#define OPT_CNT (sizeof(options) / sizeof(options[0]))

/* ==== Jobs, models, batches ==== */

typedef enum jstate {
    J_WAIT_SPEC,
    J_WAIT_MODEL,
    J_RUNNING,
    J_DONE,
} jstate_t;

struct model_ent;

typedef struct job {
    struct job *next;
    char id[XQ_JOB_ID_SIZE];
    int32_t partition;
    int64_t offset;
    xq_buf_t raw; /* the job's bytes (its objects point into them) */
    uint8_t *dlq; /* the source message when it differs (streams), for the DLQ */
    size_t dlq_len;
    uint8_t *key; /* the source message's key, kept for the DLQ */
    size_t key_len;
    xq_job_msg_t msg;
    xq_spec_t *spec; /* owned when own_spec, else borrowed from the worker's cache */
    bool own_spec;
    struct model_ent *model;
    xq_exindex_cache_t *excache; /* the worker's, when exq.index is held */
    xq_examples_query_t exq;     /* examples: the index (acquired) and the overrides */
    size_t queued, queued_bytes; /* what it adds to the intake bounds */
    size_t n;
    xq_layout_t **layouts;
    xq_run_t **runs;
    bool *busy; /* the run has rows in flight */
    size_t done;
    jstate_t state;
    bool dirty;      /* runs may want rows planned, or be done: plan() and reap() look */
    bool finished;   /* its result is packed, waiting for the jobs before it */
    bool dlq_only;   /* no id could be read: only the dead letter goes out */
    bool duplicate;  /* its id was answered before: nothing goes out, the offset commits */
    xq_buf_t result; /* the packed result */
    bool failed;
    xq_error_t err;
    long long start_ms, wait_until_ms;
} job_t;

typedef struct model_ent {
    struct model_ent *next;
    char name[XQ_JOB_MODEL_SIZE];
    xq_model_t *remote; /* NULL until described; the model itself when local */
    bool local;         /* evaluated in this worker (models option), no runner */
    char corr[200];     /* the describe request in flight */
    long long sent_ms;
    int attempts;
    bool failed;
    xq_error_t err;
    /* outputs at baselines, by content: shared by all its jobs, and through Redis by all
     * workers (docs/design.md §3); a small ring, as a spec has few baselines */
    char cache_key[64][XQ_SHA256_HEX_LEN + 1];
    float *cache_out[64];
    size_t cache_next;
} model_ent_t;

typedef struct segment {
    job_t *job; /* NULL once the job was dropped */
    size_t run;
    size_t first, cnt;
} segment_t;

typedef struct batch {
    struct batch *next;
    xq_rows_t send; /* the rows actually sent when some came from the baseline cache */
    size_t *map;    /* send row k is rows row map[k] */
    char (*keys)[XQ_SHA256_HEX_LEN + 1]; /* per send row: its baseline key, or "" */
    bool compact;                        /* send/map are in use */
    bool local;                          /* answered here (cache or local model): no request */
    bool local_failed;                   /* the local model failed: local_err says why */
    xq_error_t local_err;
    model_ent_t *model;
    bool grad;
    const xq_layout_t *shape; /* a layout of the rows' shape (of the first segment) */
    xq_rows_t rows;
    segment_t *seg;
    size_t seg_cnt, seg_cap;
    long long open_ms, sent_ms;
    char corr[200];
    int attempts;
    bool sent;
} batch_t;

#define SPEC_CACHE 64

/*
 * What one transaction produced, so a delivery report that fails can be tied
 * to its job: the message's opaque is (generation << 32 | index + 1).
 */
typedef struct pubrec {
    int32_t partition;
    int64_t offset;
    bool custom_topic; /* the job's own outputTopic */
    rd_kafka_resp_err_t err;
} pubrec_t;

/*
 * Jobs whose messages could not be written: redone after the abort, they
 * answer with less each time (an error result on topic.results, then the
 * dead letter alone) rather than fail the same way forever.
 */
#define QUARANTINE 256

typedef struct quarantine {
    int32_t partition;
    int64_t offset;
    int level;     /* 0: as it is; 1: error result; 2: dead letter only; 3+: nothing writable */
    int transient; /* failures that may pass (a broker down): redone as it is, up to a bound */
    bool used;
    bool custom_topic;
    rd_kafka_resp_err_t err;
} quarantine_t;

/* Failures after which a job is redone as it is, at most this often, before it answers less. */
#define TRANSIENT_REDOS 5

typedef enum txn_rc {
    TXN_OK,      /* committed */
    TXN_RETRY,   /* not yet: call again later */
    TXN_ABORT,   /* (internal) the transaction must abort */
    TXN_ABORTED, /* aborted and rewound: the jobs in flight are consumed again */
} txn_rc_t;

typedef struct worker {
    xq_conf_t *conf;
    xq_spec_t *specs[SPEC_CACHE]; /* specs by id, owned; jobs borrow them */
    size_t spec_next;
    const char *source_topic; /* topic.jobs, or input.topic for a stream */
    bool stream;
    char id[128];
    char txnid[200]; /* transactional.id=explainq-<id> */
    rd_kafka_t *consumer, *txn, *infer, *replies;
    xq_redis_t *redis;
    xq_exindex_cache_t *excache; /* example indexes, loaded once */
    int32_t reply_partition;
    job_t *jobs;
    size_t job_cnt;
    model_ent_t *models;
    batch_t *open, *inflight;
    size_t inflight_rows;
    uint64_t seq;
    bool in_txn, fatal, paused;
    bool committing, aborting; /* a commit or abort to finish before anything else */
    bool txn_dead;             /* the producer had a fatal error: make a new one */
    bool need_rewind;          /* jobs were dropped and the consumer not yet set back */
    bool commit_now;           /* a lowLatency job was published: commit without waiting */
    long long txn_retry_ms;    /* when to try committing (or a new producer) again */
    size_t finished_since_commit;
    long long last_commit_ms, last_lease_ms;
    xq_buf_t buf;
    uint64_t jobs_done, jobs_failed;
    uint64_t baseline_hits; /* rows answered from the baseline cache */
    uint64_t duplicates;    /* jobs skipped: their id was answered */
    pubrec_t *recs;         /* this transaction's messages */
    size_t rec_cnt, rec_cap;
    uint32_t txn_gen;
    bool txn_failed; /* a message of this transaction failed: it must abort */
    quarantine_t quarantine[QUARANTINE];
    size_t quarantine_next;
    size_t queued_instances, queued_bytes; /* of the jobs accepted and not yet answered */
    xq_idset_t *seen;                      /* job ids lately answered (dedup.window) */
    xq_offsets_t *offsets; /* per partition: jobs in flight, commits, jobs answered ahead */
    xq_gl_cache_t *gl;     /* IG's Gauss-Legendre rules, shared by every job's runs */
    size_t max_batch_rows, max_request_bytes; /* read once: batch_rows() runs per planned run */
    size_t commit_jobs;
    size_t max_queued_instances, max_queued_bytes;
    long long commit_ms;
    xq_obs_t *obs; /* metrics and readiness (obs.h) */
} worker_t;

static long long now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ==== Transactions and offsets ==== */

static void fatal_error(worker_t *w, const char *what, rd_kafka_error_t *error) {
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
static txn_rc_t txn_error(worker_t *w, const char *what, rd_kafka_error_t *error) {
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

static void txn_begin(worker_t *w) {
    rd_kafka_error_t *error;

    if (w->in_txn || !w->txn || w->txn_dead)
        return;
    if ((error = rd_kafka_begin_transaction(w->txn))) {
        txn_error(w, "begin transaction", error);
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
static bool load_ahead(worker_t *w, const rd_kafka_topic_partition_list_t *parts) {
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
static bool rewind_to_committed(worker_t *w) {
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
    if (!load_ahead(w, parts))
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
static txn_rc_t txn_commit(worker_t *w) {
    rd_kafka_topic_partition_list_t *pos = NULL, *parts = NULL;
    rd_kafka_consumer_group_metadata_t *cgm;
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
                cgm = rd_kafka_consumer_group_metadata(w->consumer);
                error = rd_kafka_send_offsets_to_transaction(w->txn, pos, cgm, timeout);
                rd_kafka_consumer_group_metadata_destroy(cgm);
                if (error)
                    rc = txn_error(w, "send offsets", error);
            }
        }
        if (rc == TXN_OK) {
            w->committing = true; /* from here on only commit_transaction() may be called */
            if ((error = rd_kafka_commit_transaction(w->txn, timeout)))
                rc = txn_error(w, "commit", error);
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
            rc = txn_error(w, "abort transaction", error);
        else
            rc = TXN_ABORTED;
        if (rc == TXN_ABORT)
            rc = TXN_RETRY; /* an abort that needs an abort: try the abort again */
    }
    if (rc == TXN_ABORTED) {
        w->aborting = false;
        w->committing = false;
        quarantine_failed(w);
        rewind_to_committed(w);
    }
    if (rc == TXN_OK || rc == TXN_ABORTED)
        xq_obs_txn(w->obs, rc == TXN_OK);
    if (rc != TXN_RETRY) {
        w->in_txn = false;
        w->finished_since_commit = 0;
        w->commit_now = false;
    }
    w->last_commit_ms = now_ms();
    if (pos)
        rd_kafka_topic_partition_list_destroy(pos);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

/* ==== Jobs ==== */

static void job_free(job_t *j) {
    for (size_t i = 0; i < j->n; i++) {
        xq_run_destroy(j->runs ? j->runs[i] : NULL);
        xq_layout_destroy(j->layouts ? j->layouts[i] : NULL);
    }
    xq_free(j->runs);
    xq_free(j->layouts);
    xq_free(j->busy);
    if (j->excache)
        xq_exindex_cache_release(j->excache, j->exq.index);
    if (j->own_spec)
        xq_spec_destroy(j->spec);
    xq_job_msg_fini(&j->msg);
    xq_buf_fini(&j->raw);
    xq_free(j->dlq);
    xq_free(j->key);
    xq_buf_fini(&j->result);
    xq_free(j);
}

/* Forgets @p j: its rows still in flight lose their owner. */
static void batch_free(batch_t *b);

/*
 * Batches that held rows of @p j (going): a batch left with no job goes too
 * (a late reply finds no owner); one whose rows took their tensor names from
 * j's layout takes them from a live job's (compatible layouts name the same
 * tensors), so nothing points into j once it is freed.
 */
static void forget_in_batches(worker_t *w, const job_t *j) {
    for (batch_t **lists[2] = {&w->open, &w->inflight}, ***l = lists; l < lists + 2; l++) {
        for (batch_t **p = *l; *p;) {
            batch_t *b = *p;
            const segment_t *live = NULL;
            bool borrowed = false;

            for (size_t s = 0; s < b->seg_cnt; s++) {
                if (b->seg[s].job == j)
                    b->seg[s].job = NULL;
                if (b->seg[s].job && !live)
                    live = &b->seg[s];
            }
            for (size_t k = 0; j->layouts && k < j->n && !borrowed; k++)
                borrowed = b->shape == j->layouts[k];
            if (!live && (borrowed || b->seg_cnt)) {
                *p = b->next;
                if (b->sent)
                    w->inflight_rows -= b->rows.cnt;
                batch_free(b);
                continue;
            }
            if (borrowed) {
                const xq_layout_t *nl = live->job->layouts[live->run];

                b->shape = nl;
                memcpy(b->rows.names, nl->tensor_names, nl->tensor_cnt * sizeof(*nl->tensor_names));
                if (b->compact)
                    memcpy(b->send.names, nl->tensor_names,
                           nl->tensor_cnt * sizeof(*nl->tensor_names));
            }
            p = &b->next;
        }
    }
}

static void job_unlink(worker_t *w, job_t *j) {
    forget_in_batches(w, j);
    for (job_t **p = &w->jobs; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            w->job_cnt--;
            break;
        }
    }
    w->queued_instances -= j->queued;
    w->queued_bytes -= j->queued_bytes;
    xq_offsets_untrack(w->offsets, j->partition, j->offset);
    job_free(j);
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

static void progress(worker_t *w, const job_t *j, const char *state) {
    char key[XQ_JOB_ID_SIZE + 16], inst[32], done[32], started[32], updated[32];
    const char *fields[] = {"state", "instances", "done", "worker", "started", "updated", "error"};
    const char *values[] = {
        state, inst, done, w->id, started, updated, j->failed ? j->err.msg : ""};
    struct timespec now;
    xq_error_t err;

    if (!w->redis)
        return;
    /* best effort: progress is for people; the result topic is the record */
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(key, sizeof(key), "explainq:job:%s", j->id);
    snprintf(inst, sizeof(inst), "%zu", j->msg.instance_cnt);
    snprintf(done, sizeof(done), "%zu", strcmp(state, "done") ? j->done : j->n);
    snprintf(started, sizeof(started), "%lld",
             (long long)now.tv_sec * 1000 - (now_ms() - j->start_ms));
    snprintf(updated, sizeof(updated), "%lld", (long long)now.tv_sec * 1000);
    xq_redis_hset(w->redis, key, fields, values, j->failed ? 7 : 6,
                  (long)xq_conf_num(w->conf, "job.ttl.s") * 1000, &err);
}

static const char *result_topic(const worker_t *w, const job_t *j) {
    return j->msg.output_topic[0] ? j->msg.output_topic : xq_conf_str(w->conf, "topic.results");
}

/* Publishes the job's one result (inside the transaction) and forgets the job. */
/*
 * Packs the job's one result; publish() sends it when every earlier job of its
 * partition has been sent. Publishing in offset order keeps exactly once: a
 * committed transaction never holds a result whose offset it does not also
 * commit, so a worker taking the partition over never redoes a published job.
 */
static void job_finish(worker_t *w, job_t *j) {
    msgpack_packer pk;
    uint64_t rows = 0, failed = 0;

    j->finished = true;
    xq_buf_init(&j->result);
    if (j->failed) {
        xq_result_pack_error(j->id, &j->err, &j->result);
        w->jobs_failed++;
        xq_obs_job_failed(w->obs, xq_err_wire(j->err.code));
        xq_log_job(XQ_LOG_WARN, "worker", j->id, "job failed id=%s field=%s: %s",
                   j->id[0] ? j->id : "-", j->err.field, j->err.msg);
        return;
    }
    xq_mp_packer_init(&pk, &j->result);
    msgpack_pack_map(&pk, 4);
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, j->id);
    xq_mp_pack_str(&pk, "specId");
    xq_mp_pack_str(&pk, j->spec->id);
    xq_mp_pack_str(&pk, "explanations");
    msgpack_pack_array(&pk, j->n);
    for (size_t i = 0; i < j->n; i++) {
        xq_error_t err;

        rows += xq_run_explanation(j->runs[i])->model_rows;
        if (xq_run_status(j->runs[i], &err) == XQ_OK) {
            xq_run_pack(j->runs[i], &pk);
            continue;
        }
        /* failed alone (reap): {"error": {...}} in its place, as explain writes it */
        failed++;
        msgpack_pack_map(&pk, 1);
        xq_mp_pack_str(&pk, "error");
        xq_error_pack(&pk, &err);
        xq_log(XQ_LOG_WARN, "worker", "job %s: instance %zu failed: %s", j->id, i, err.msg);
    }
    xq_mp_pack_str(&pk, "stats");
    msgpack_pack_map(&pk, 2 + (failed > 0));
    if (failed) {
        xq_mp_pack_str(&pk, "failedInstances");
        msgpack_pack_uint64(&pk, failed);
    }
    xq_mp_pack_str(&pk, "modelRows");
    msgpack_pack_uint64(&pk, rows);
    xq_mp_pack_str(&pk, "elapsedMs");
    msgpack_pack_int64(&pk, now_ms() - j->start_ms);
    w->jobs_done++;
    xq_obs_job_done(w->obs, xq_method_name(j->spec->params.method), j->runs, j->n);
}

/*
 * The job id is the idempotency key: the first message with an id claims it
 * (for job.ttl.s in Redis, across workers, and in this worker's window of
 * dedup.window ids); a later message with the same id is answered by the
 * first one's result and skipped. The same message consumed again (after a
 * crash or an abort) is still its own holder.
 */
static bool claim_id(worker_t *w, const job_t *j) {
    char where[320], key[XQ_JOB_ID_SIZE + 32];
    xq_error_t err;
    xq_buf_t holder;
    bool mine;

    snprintf(where, sizeof(where), "%.200s:%d:%lld", w->source_topic, (int)j->partition,
             (long long)j->offset);
    if (!xq_idset_claim(w->seen, xq_rng_seed_from(j->id), xq_rng_seed_from(where))) {
        xq_log_job(XQ_LOG_INFO, "worker", j->id, "job %s: answered before (a duplicate); skipped",
                   j->id);
        return false;
    }
    if (!w->redis)
        return true;
    snprintf(key, sizeof(key), "explainq:jobid:%s", j->id);
    xq_buf_init(&holder);
    /* Redis down: the window above is all there is, as without Redis */
    mine = xq_redis_claim(w->redis, key, where, (long)xq_conf_num(w->conf, "job.ttl.s") * 1000,
                          &holder, &err) != XQ_OK ||
           !holder.len || (holder.len == strlen(where) && !memcmp(holder.data, where, holder.len));
    if (!mine)
        xq_log_job(XQ_LOG_INFO, "worker", j->id,
                   "job %s: answered before at %.*s (a duplicate); skipped", j->id, (int)holder.len,
                   (const char *)holder.data);
    xq_buf_fini(&holder);
    return mine;
}

/* A job whose error may pass (a model that timed out, Redis down) frees its id for a retry. */
static void release_id(worker_t *w, const job_t *j) {
    char key[XQ_JOB_ID_SIZE + 32];
    xq_error_t err;

    if (w->stream || !j->id[0] || !j->failed ||
        (j->err.code != XQ_ETIMEOUT && j->err.code != XQ_EREDIS && j->err.code != XQ_EKAFKA))
        return;
    xq_idset_release(w->seen, xq_rng_seed_from(j->id));
    if (w->redis) {
        snprintf(key, sizeof(key), "explainq:jobid:%s", j->id);
        xq_redis_del(w->redis, key, &err);
    }
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
        if (j->failed)
            dead_letter(w, j, &j->err);
        if (!j->dlq_only) {
            produce_result(w, result_topic(w, j), j, &j->result);
            progress(w, j, j->failed ? "error" : "done");
        }
        return;
    }
    xq_error_set(&qerr, XQ_EKAFKA, q->custom_topic ? "outputTopic" : "",
                 "the %s of %zu bytes could not be written to %s: %s",
                 j->failed ? "error result" : "result", j->result.len, result_topic(w, j),
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
        progress(w, j, "error");
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
static void publish(worker_t *w) {
    for (job_t *j = w->jobs, *next; j; j = next) {
        next = j->next;
        if (!j->finished || !xq_offsets_may_publish(w->offsets, j->partition, j->offset))
            continue;
        publish_job(w, j);
        w->commit_now |= j->msg.low_latency; /* an online caller waits for the commit */
        release_id(w, j);
        w->finished_since_commit++;
        job_unlink(w, j);
    }
}

static void job_fail(job_t *j, const xq_error_t *e) {
    if (j->failed)
        return;
    j->failed = true;
    j->err = *e;
    j->state = J_DONE;
}

/* ==== Models: learned from their runners ==== */

static void send_request(worker_t *w, const char *model, const char *corr, const xq_buf_t *b) {
    char topic[256], part[16];
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_resp_err_t e;

    snprintf(topic, sizeof(topic), "explain.infer.%s", model);
    snprintf(part, sizeof(part), "%d", (int)w->reply_partition);
    rd_kafka_header_add(h, "reply.topic", -1, xq_conf_str(w->conf, "topic.replies"), -1);
    rd_kafka_header_add(h, "reply.partition", -1, part, -1);
    e = rd_kafka_producev(
        w->infer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)(uintptr_t)corr, strlen(corr)),
        RD_KAFKA_V_VALUE(b->data, b->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (e) {
        /* left unanswered, it times out and is sent again */
        xq_log(XQ_LOG_WARN, "kafka", "request to %s not queued: %s", topic, rd_kafka_err2str(e));
        rd_kafka_headers_destroy(h);
    }
}

static model_ent_t *model_get(worker_t *w, const char *name) {
    model_ent_t *m;

    for (m = w->models; m; m = m->next) {
        if (strcmp(m->name, name) == 0)
            return m;
    }
    m = xq_calloc(1, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->next = w->models;
    w->models = m;
    return m;
}

static void model_describe(worker_t *w, model_ent_t *m) {
    snprintf(m->corr, sizeof(m->corr), "%s:d%llu", w->id, (unsigned long long)++w->seq);
    w->buf.len = 0;
    xq_remote_describe_request(m->corr, &w->buf);
    send_request(w, m->name, m->corr, &w->buf);
    m->sent_ms = now_ms();
    m->attempts++;
}

/* ==== Accepting jobs ==== */

/*
 * Examples: the job's index (indexId, else the spec's latest) from the cache,
 * loaded from Redis on first use. XQ_EREDIS means try again later.
 */
static xq_err_t acquire_index(worker_t *w, job_t *j, xq_error_t *err) {
    char latest[XQ_EXINDEX_ID_LEN + 1];
    const char *id = j->msg.index_id;
    xq_err_t rc;

    if (!w->redis)
        return xq_error_set(err, XQ_EREDIS, "indexId",
                            "examples need Redis (redis.url), where example indexes live");
    if (!id[0]) {
        if ((rc = xq_exindex_latest(w->redis, j->spec->id, latest, err)) != XQ_OK)
            return rc;
        id = latest;
    }
    if ((rc = xq_exindex_cache_acquire(w->excache, w->redis, id, &j->exq.index, err)) != XQ_OK)
        return rc;
    j->excache = w->excache;
    j->exq.neighbor_count = j->msg.neighbor_count;
    j->exq.crowding_count = j->msg.crowding_count;
    return XQ_OK;
}

static void start_runs(worker_t *w, job_t *j) {
    xq_run_opts_t ro = {
        .seed = j->msg.has_seed ? j->msg.seed : xq_rng_seed_from(j->id),
        .target_error = j->msg.target_error,
        .max_model_rows = (uint64_t)xq_conf_num(w->conf, "max.model.rows"),
        .model = j->model->remote,
        .examples = &j->exq,
        .xrai_fast = strcmp(xq_conf_str(w->conf, "xrai.algorithm"), "fast") == 0,
        .gl = w->gl,
        .viz_png = strcmp(xq_conf_str(w->conf, "viz.format"), "png") == 0,
    };
    xq_error_t err;
    xq_err_t rc;

    if (j->spec->params.method == XQ_METHOD_EXAMPLES && !j->exq.index &&
        (rc = acquire_index(w, j, &err)) != XQ_OK) {
        if (rc != XQ_EREDIS || !w->redis || now_ms() >= j->wait_until_ms)
            job_fail(j, &err); /* else Redis is down: wait for it, as for specs */
        return;
    }

    j->n = j->msg.instance_cnt;
    j->layouts = xq_calloc(j->n, sizeof(*j->layouts));
    j->runs = xq_calloc(j->n, sizeof(*j->runs));
    j->busy = xq_calloc(j->n, sizeof(*j->busy));
    for (size_t i = 0; i < j->n; i++) {
        if (xq_layout_build(j->spec, j->model->remote, &j->msg.instances[i], i, &j->layouts[i],
                            &err) != XQ_OK) {
            job_fail(j, &err);
            return;
        }
        if (j->layouts[i]->elem_total > (size_t)xq_conf_num(w->conf, "max.tensor.elements")) {
            xq_error_set(&err, XQ_ELIMIT, "instances",
                         "instance %zu has %zu elements, over "
                         "max.tensor.elements",
                         i, j->layouts[i]->elem_total);
            job_fail(j, &err);
            return;
        }
        j->runs[i] = xq_run_new(j->spec, j->layouts[i], xq_model_output(j->model->remote), &ro, i);
        if (xq_run_next(j->runs[i]) == XQ_STEP_DONE && xq_run_status(j->runs[i], &err) != XQ_OK) {
            job_fail(j, &err);
            return;
        }
    }
    j->state = J_RUNNING;
    j->dirty = true;
    progress(w, j, "running");
}

/* Resolves the spec: inline (validated, cached in Redis) or by id (from Redis). */
static void resolve_spec(worker_t *w, job_t *j) {
    xq_errlist_t errs;
    xq_error_t err;
    xq_err_t rc = XQ_OK;

    if (j->msg.spec) {
        xq_errlist_init(&errs);
        j->own_spec = true;
        if (xq_spec_parse_object(j->msg.spec, &j->spec, &errs) != XQ_OK) {
            /* the spec's own path, under the job's "spec" field */
            xq_error_set(&err, XQ_ESPEC, "spec", "%.200s%s",
                         errs.cnt ? errs.items[0].msg : "invalid",
                         xq_errlist_total(&errs) > 1 ? " (and more)" : "");
            if (errs.cnt && errs.items[0].field[0])
                snprintf(err.field, sizeof(err.field), "spec.%.240s", errs.items[0].field);
            job_fail(j, &err);
        } else if (w->redis) {
            xq_redis_put_spec(w->redis, j->spec, &err); /* a cache: failing is fine */
        }
        xq_errlist_fini(&errs);
    } else if (!w->redis) {
        xq_error_set(&err, XQ_EREDIS, "specId", "specId needs Redis, which is not configured");
        job_fail(j, &err);
    } else {
        for (size_t i = 0; i < SPEC_CACHE && !j->spec; i++) {
            if (w->specs[i] && strcmp(w->specs[i]->id, j->msg.spec_id) == 0)
                j->spec = w->specs[i];
        }
        if (!j->spec &&
            (rc = xq_redis_get_spec(w->redis, j->msg.spec_id, &j->spec, &err)) != XQ_OK) {
            if (rc == XQ_EREDIS && now_ms() < j->wait_until_ms)
                return; /* Redis down: wait with backoff, then fail */
            if (!err.field[0])
                snprintf(err.field, sizeof(err.field), "specId"); /* Redis down: the spec is it */
            job_fail(j, &err);
        } else if (rc == XQ_OK && j->spec) {
            /* into the cache (round robin): stream jobs all name one spec; jobs in flight still
             * hold an evicted one, so it is only freed when no job borrows it */
            xq_spec_t *old = w->specs[w->spec_next];
            bool used = false;

            for (job_t *o = w->jobs; o && old; o = o->next)
                used |= o->spec == old && !o->own_spec;
            if (!used) {
                xq_spec_destroy(old);
                w->specs[w->spec_next] = j->spec;
                w->spec_next = (w->spec_next + 1) % SPEC_CACHE;
            } else {
                j->own_spec = true;
            }
        }
    }
    if (j->state == J_WAIT_SPEC && j->spec)
        j->state = J_WAIT_MODEL;
}

/*
 * A job from @p job (@p job_len bytes, copied); @p raw is the message as it
 * came, for the DLQ (the same bytes for explain jobs; the prediction log for
 * a stream).
 */
static void
accept_bytes(worker_t *w, const void *job, size_t job_len, const rd_kafka_message_t *rkm) {
    job_t *j = xq_calloc(1, sizeof(*j));
    const void *raw = rkm->payload;

    xq_obs_job_received(w->obs);
    size_t raw_len = rkm->len;
    int32_t partition = rkm->partition;
    int64_t offset = rkm->offset;
    xq_error_t err;

    if (rkm->key_len) {
        j->key = xq_malloc(rkm->key_len);
        memcpy(j->key, rkm->key, rkm->key_len);
        j->key_len = rkm->key_len;
    }

    j->partition = partition;
    j->offset = offset;
    j->start_ms = now_ms();
    j->wait_until_ms = j->start_ms + (long long)xq_conf_num(w->conf, "redis.wait.ms");
    xq_buf_init(&j->raw);
    xq_buf_append(&j->raw, job, job_len);
    j->dlq = raw == job ? NULL : xq_malloc(raw_len + 1);
    j->dlq_len = raw_len;
    if (j->dlq)
        memcpy(j->dlq, raw, raw_len);
    /* decoded from the copy: msgpack objects point into their buffer, and the message goes */
    if (xq_job_decode(j->raw.data, j->raw.len,
                      (size_t)xq_conf_num(w->conf, "max.instances.per.job"), &j->msg,
                      &err) != XQ_OK) {
        snprintf(j->id, sizeof(j->id), "%s", j->msg.id);
        j->failed = true;
        j->err = err;
        j->state = J_DONE;
        if (!j->id[0]) {
            /* no id: nobody to answer; the DLQ keeps it, in its turn */
            j->dlq_only = true;
            xq_log(XQ_LOG_WARN, "worker", "undecodable job partition=%d offset=%lld: %s",
                   (int)partition, (long long)offset, err.msg);
        }
    } else {
        snprintf(j->id, sizeof(j->id), "%s", j->msg.id);
        j->model = model_get(w, j->msg.model);
        j->state = J_WAIT_SPEC;
        if (!w->stream && !claim_id(w, j)) {
            j->duplicate = j->finished = true;
            j->state = J_DONE;
            w->duplicates++;
        }
    }
    j->queued = j->msg.instance_cnt ? j->msg.instance_cnt : 1;
    j->queued_bytes = j->raw.len + j->dlq_len + sizeof(*j);
    w->queued_instances += j->queued;
    w->queued_bytes += j->queued_bytes;
    /* in arrival order, so the oldest jobs are planned first */
    job_t **p = &w->jobs;
    while (*p)
        p = &(*p)->next;
    *p = j;
    w->job_cnt++;
    xq_offsets_track(w->offsets, partition, offset);
}

static void accept_job(worker_t *w, const rd_kafka_message_t *rkm) {
    accept_bytes(w, rkm->payload, rkm->len, rkm);
}

/*
 * Streaming mode: a message is one instance (a JSON or msgpack object) or a
 * Vertex-style request log {"instances": [...]}. A sample of sample.rate is
 * kept, chosen by a hash of the offset so a replay keeps the same messages;
 * each becomes a job "<topic>-<partition>-<offset>", and its result is keyed
 * by that id.
 */
static void accept_instance(worker_t *w, const rd_kafka_message_t *rkm) {
    char id[XQ_JOB_ID_SIZE];
    const uint8_t *p = rkm->payload;
    size_t i = 0, cnt = 0;
    msgpack_unpacked msg;
    xq_buf_t mp, insts, job;
    xq_job_view_t v;
    xq_error_t err;

    snprintf(id, sizeof(id), "%.200s-%d-%lld", w->source_topic, (int)rkm->partition,
             (long long)rkm->offset);
    if ((double)(xq_rng_seed_from(id) >> 11) * 0x1.0p-53 >= xq_conf_num(w->conf, "sample.rate")) {
        w->finished_since_commit++; /* not sampled: done as it is */
        return;
    }
    xq_buf_init(&mp);
    xq_buf_init(&insts);
    xq_buf_init(&job);
    msgpack_unpacked_init(&msg);
    while (i < rkm->len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r'))
        i++;
    if (i < rkm->len && p[i] == '{') {
        if (xq_json_to_msgpack((const char *)p, rkm->len, &mp, &err) != XQ_OK)
            mp.len = 0;
    } else {
        xq_buf_append(&mp, p, rkm->len);
    }
    if (mp.len && xq_mp_unpack_one(mp.data, mp.len, &msg) && msg.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object *arr = xq_mp_map_get(&msg.data, "instances");
        msgpack_packer pk;

        xq_mp_packer_init(&pk, &insts);
        if (arr && arr->type == MSGPACK_OBJECT_ARRAY) {
            for (uint32_t k = 0; k < arr->via.array.size; k++)
                msgpack_pack_object(&pk, arr->via.array.ptr[k]);
            cnt = arr->via.array.size;
        } else {
            msgpack_pack_object(&pk, msg.data);
            cnt = 1;
        }
    }
    /* an undecodable message still becomes a job: the decoder rejects it under its id */
    memset(&v, 0, sizeof(v));
    v.id = id;
    v.model = xq_conf_str(w->conf, "stream.model");
    v.spec_id = xq_conf_str(w->conf, "stream.spec.id");
    v.index_id =
        xq_conf_str(w->conf, "stream.index.id")[0] ? xq_conf_str(w->conf, "stream.index.id") : NULL;
    v.instances = insts.data;
    v.instances_len = insts.len;
    v.instance_cnt = cnt;
    xq_job_pack(&v, &job);
    accept_bytes(w, job.data, job.len, rkm);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&mp);
    xq_buf_fini(&insts);
    xq_buf_fini(&job);
}

/* ==== Batches: rows of many jobs, one request ==== */

static void batch_free(batch_t *b) {
    xq_rows_fini(&b->rows);
    xq_rows_fini(&b->send);
    xq_free(b->map);
    xq_free(b->keys);
    xq_free(b->seg);
    xq_free(b);
}

static batch_t *batch_for(worker_t *w, model_ent_t *m, bool grad, const xq_layout_t *l) {
    batch_t *b;

    for (b = w->open; b; b = b->next) {
        if (b->model == m && b->grad == grad && xq_layout_compatible(b->shape, l))
            return b;
    }
    b = xq_calloc(1, sizeof(*b));
    b->model = m;
    b->grad = grad;
    b->shape = l;
    xq_rows_init(&b->rows);
    xq_rows_reset(&b->rows, l, xq_model_output(m->remote)->elem_cnt, grad);
    b->open_ms = now_ms();
    b->next = w->open;
    w->open = b;
    return b;
}

/* The content key of baseline row @p i: sha256 of the model name and the row's values. */
static void baseline_key(const batch_t *b, size_t i, char *key) {
    const xq_rows_t *r = &b->rows;
    xq_sha256_ctx_t *c = xq_sha256_begin();

    xq_sha256_add(c, b->model->name, strlen(b->model->name) + 1);
    for (size_t t = 0; t < r->tensor_cnt; t++) {
        xq_sha256_add(c, r->names[t], strlen(r->names[t]) + 1);
        xq_sha256_add(c, r->in[t] + i * r->elem_cnt[t], r->elem_cnt[t] * sizeof(float));
    }
    xq_sha256_end_hex(c, key);
}

/* The cached output at a baseline (in-process, else Redis), or NULL. */
static const float *baseline_get(worker_t *w, model_ent_t *m, const char *key, size_t out_cnt) {
    char rkey[XQ_SHA256_HEX_LEN + 256];
    xq_error_t err;
    xq_buf_t b;
    const float *hit = NULL;

    for (size_t c = 0; c < 64; c++) {
        if (m->cache_out[c] && strcmp(m->cache_key[c], key) == 0)
            return m->cache_out[c];
    }
    if (!w->redis)
        return NULL;
    snprintf(rkey, sizeof(rkey), "explainq:baseline:%s:%s", m->name, key);
    xq_buf_init(&b);
    if (xq_redis_get(w->redis, rkey, &b, &err) == XQ_OK && b.len == out_cnt * sizeof(float)) {
        xq_free(m->cache_out[m->cache_next]);
        m->cache_out[m->cache_next] = xq_malloc(b.len);
        memcpy(m->cache_out[m->cache_next], b.data, b.len);
        snprintf(m->cache_key[m->cache_next], sizeof(m->cache_key[0]), "%s", key);
        hit = m->cache_out[m->cache_next];
        m->cache_next = (m->cache_next + 1) % 64;
    }
    xq_buf_fini(&b);
    return hit;
}

static void
baseline_put(worker_t *w, model_ent_t *m, const char *key, const float *out, size_t out_cnt) {
    char rkey[XQ_SHA256_HEX_LEN + 256];
    xq_error_t err;

    for (size_t c = 0; c < 64; c++) {
        if (m->cache_out[c] && strcmp(m->cache_key[c], key) == 0)
            return;
    }
    xq_free(m->cache_out[m->cache_next]);
    m->cache_out[m->cache_next] = xq_malloc(out_cnt * sizeof(float));
    memcpy(m->cache_out[m->cache_next], out, out_cnt * sizeof(float));
    snprintf(m->cache_key[m->cache_next], sizeof(m->cache_key[0]), "%s", key);
    m->cache_next = (m->cache_next + 1) % 64;
    if (w->redis) {
        snprintf(rkey, sizeof(rkey), "explainq:baseline:%s:%s", m->name, key);
        xq_redis_set(w->redis, rkey, (const uint8_t *)out, out_cnt * sizeof(float),
                     (long)xq_conf_num(w->conf, "job.ttl.s") * 1000, &err);
    }
}

/*
 * Before a forward batch is sent the first time: rows at a baseline whose
 * output is known take it from the cache, and only the others are sent; the
 * keys of the baseline rows sent are kept, to cache their outputs.
 */
static void use_baseline_cache(worker_t *w, batch_t *b) {
    xq_rows_t *r = &b->rows;
    size_t hits = 0, baselines = 0;
    const float **hit;

    if (b->grad)
        return;
    for (size_t i = 0; i < r->cnt; i++)
        baselines += r->baseline[i];
    if (!baselines)
        return;
    b->keys = xq_calloc(r->cnt, sizeof(*b->keys));
    hit = xq_calloc(r->cnt, sizeof(*hit));
    for (size_t i = 0; i < r->cnt; i++) {
        if (!r->baseline[i])
            continue;
        baseline_key(b, i, b->keys[i]);
        if ((hit[i] = baseline_get(w, b->model, b->keys[i], r->out_cnt)))
            hits++;
    }
    xq_obs_baseline(w->obs, hits, baselines - hits);
    if (hits) {
        /* send the rest only: keys and map follow the rows sent */
        char(*keys)[XQ_SHA256_HEX_LEN + 1] = xq_calloc(r->cnt, sizeof(*keys));

        b->compact = true;
        xq_rows_init(&b->send);
        xq_rows_reset(&b->send, b->shape, r->out_cnt, false);
        b->map = xq_calloc(r->cnt, sizeof(*b->map));
        for (size_t i = 0; i < r->cnt; i++) {
            size_t k;

            if (hit[i]) {
                w->baseline_hits++;
                memcpy(r->out + i * r->out_cnt, hit[i], r->out_cnt * sizeof(float));
                continue;
            }
            k = xq_rows_copy_row(&b->send, r, i);
            b->map[k] = i;
            memcpy(keys[k], b->keys[i], sizeof(keys[k]));
        }
        xq_free(b->keys);
        b->keys = keys;
        b->local = b->send.cnt == 0;
    }
    xq_free(hit);
}

/* Sends @p b (first time or again) as one inference request. */
static void batch_send(worker_t *w, batch_t *b) {
    const xq_rows_t *r;

    if (b->model->local) {
        /* a local model: evaluated now, completed like a reply by complete_local() */
        if (xq_rows_eval(&b->rows, b->model->remote, w->max_batch_rows, &b->local_err) != XQ_OK)
            b->local_failed = true;
        b->local = true;
    } else if (!b->sent) {
        use_baseline_cache(w, b);
    }
    if (b->local) {
        if (!b->sent)
            w->inflight_rows += b->rows.cnt; /* complete_local() takes them off */
        b->sent = true; /* answered from the cache or here: handled like a reply */
        b->sent_ms = now_ms();
        return;
    }
    r = b->compact ? &b->send : &b->rows;
    const float *data[XQ_CODEC_MAX_TENSORS];
    xq_batch_t req = {.rows = r->cnt,
                      .tensor_cnt = r->tensor_cnt,
                      .names = r->names,
                      .data = data,
                      .grad = b->grad,
                      .grad_index = r->grad_index};

    for (size_t t = 0; t < r->tensor_cnt && t < XQ_CODEC_MAX_TENSORS; t++)
        data[t] = r->in[t];
    if (!b->corr[0])
        snprintf(b->corr, sizeof(b->corr), "%s:%llu", w->id, (unsigned long long)++w->seq);
    w->buf.len = 0;
    xq_remote_pack_request(b->model->remote, b->corr, &req, &w->buf);
    send_request(w, b->model->name, b->corr, &w->buf);
    xq_obs_rows_sent(w->obs, b->model->name, r->cnt);
    if (!b->sent)
        w->inflight_rows += b->rows.cnt;
    b->sent = true;
    b->sent_ms = now_ms();
    b->attempts++;
}

/* Rows of layout @p l one request takes: max.batch.rows, fewer for large rows (images), so a
 * request and its gradient reply stay under the brokers' message size. */
static size_t batch_rows(const worker_t *w, const xq_layout_t *l) {
    size_t by_bytes = xq_remote_rows_per_request(l->elem_total, w->max_request_bytes);

    return by_bytes < w->max_batch_rows ? by_bytes : w->max_batch_rows;
}

/* Moves full or lingering open batches to the in-flight list. */
static void flush_batches(worker_t *w, bool all) {
    long long t = now_ms(), linger = (long long)xq_conf_num(w->conf, "batch.linger.ms");

    for (batch_t **p = &w->open; *p;) {
        batch_t *b = *p;

        if (b->rows.cnt &&
            (all || b->rows.cnt >= batch_rows(w, b->shape) || t - b->open_ms >= linger)) {
            *p = b->next;
            batch_send(w, b);
            b->next = w->inflight;
            w->inflight = b;
        } else {
            p = &b->next;
        }
    }
}

/* Plans the next rows of every run that has none in flight (of the jobs something happened to). */
static void plan(worker_t *w) {
    size_t limit = (size_t)xq_conf_num(w->conf, "max.inflight.rows");

    for (job_t *j = w->jobs; j && w->inflight_rows < limit; j = j->next) {
        bool all = true;

        if (j->state != J_RUNNING || !j->dirty)
            continue;
        for (size_t i = 0; i < j->n; i++) {
            xq_step_t step;
            batch_t *b;
            size_t first, n, max;

            if (j->busy[i] || (step = xq_run_next(j->runs[i])) == XQ_STEP_DONE)
                continue;
            if (w->inflight_rows >= limit) {
                all = false; /* back-pressure: the rest waits for replies */
                break;
            }
            b = batch_for(w, j->model, step == XQ_STEP_GRADIENT, j->layouts[i]);
            max = batch_rows(w, j->layouts[i]);
            first = b->rows.cnt;
            n = xq_run_plan(j->runs[i], &b->rows, max > first ? max - first : 1);
            if (b->seg_cnt == b->seg_cap) {
                b->seg_cap = b->seg_cap ? 2 * b->seg_cap : 16;
                b->seg = xq_reallocarray(b->seg, b->seg_cap, sizeof(*b->seg));
            }
            b->seg[b->seg_cnt++] = (segment_t){.job = j, .run = i, .first = first, .cnt = n};
            j->busy[i] = true;
            if (b->rows.cnt >= max)
                flush_batches(w, false);
        }
        j->dirty = !all;
    }
}

/* After a reduce or a failure: jobs whose runs are all done are finished. */
static void reap(worker_t *w) {
    for (job_t *j = w->jobs, *next; j; j = next) {
        bool done = j->state == J_DONE;
        xq_error_t err;

        next = j->next;
        if (j->finished)
            continue;
        if (j->state == J_RUNNING && j->dirty) {
            done = true;
            for (size_t i = 0; i < j->n && done; i++)
                done = !j->busy[i] && xq_run_next(j->runs[i]) == XQ_STEP_DONE;
            for (size_t i = 0; done && i < j->n && !j->failed; i++) {
                /* an instance the model cannot evaluate is answered in its place (job_finish) */
                if (xq_run_status(j->runs[i], &err) != XQ_OK && !xq_run_failed_alone(j->runs[i]))
                    job_fail(j, &err);
            }
        }
        if (done) {
            bool busy = false;

            /* a failed job may still have rows in flight: they are dropped with it */
            for (size_t i = 0; i < j->n && j->busy; i++)
                busy |= j->busy[i];
            (void)busy;
            job_finish(w, j);
        }
    }
}

/*
 * A runner's error for a batch shared by several jobs: the error may be one
 * instance's doing, so each job's rows go again in a request of their own,
 * and only the job whose rows fail alone gets the error.
 */
static bool batch_split(worker_t *w, batch_t *b) {
    size_t jobs = 0;

    for (size_t s = 0; s < b->seg_cnt; s++) {
        bool seen = false;

        for (size_t k = 0; k < s && !seen && b->seg[s].job; k++)
            seen = b->seg[k].job == b->seg[s].job;
        jobs += b->seg[s].job && !seen;
    }
    if (jobs < 2)
        return false;
    for (size_t s = 0; s < b->seg_cnt; s++) {
        const segment_t *sg = &b->seg[s];
        batch_t *nb;

        if (!sg->job)
            continue;
        nb = xq_calloc(1, sizeof(*nb));
        nb->model = b->model;
        nb->grad = b->grad;
        nb->shape = sg->job->layouts[sg->run];
        xq_rows_init(&nb->rows);
        xq_rows_reset(&nb->rows, nb->shape, b->rows.out_cnt, b->grad);
        for (size_t k = sg->first; k < sg->first + sg->cnt; k++)
            xq_rows_copy_row(&nb->rows, &b->rows, k);
        nb->seg = xq_calloc(1, sizeof(*nb->seg));
        nb->seg[0] = (segment_t){.job = sg->job, .run = sg->run, .first = 0, .cnt = sg->cnt};
        nb->seg_cnt = nb->seg_cap = 1;
        nb->open_ms = now_ms();
        batch_send(w, nb);
        nb->next = w->inflight;
        w->inflight = nb;
    }
    return true;
}

/* The reply to batch @p b: outputs (and gradients) into its rows, then every segment reduces. */
static void batch_reply(worker_t *w, batch_t *b, const msgpack_object *reply) {
    const msgpack_object *outs = reply ? xq_mp_map_get(reply, "outputs") : NULL,
                         *grads = reply ? xq_mp_map_get(reply, "grads") : NULL,
                         *e = reply ? xq_mp_map_get(reply, "error") : NULL;
    xq_rows_t *r = &b->rows;
    xq_error_t err;
    bool ok = true;

    if (!reply && !b->local_failed) {
        /* every output came from the baseline cache, or a local model */
    } else if (e || b->local_failed) {
        const msgpack_object *msg = e ? xq_mp_map_get(e, "message") : NULL;

        if (batch_split(w, b)) {
            xq_log(XQ_LOG_INFO, "worker",
                   "model %s: error for a shared request; each job's rows "
                   "go again alone",
                   b->model->name);
            return; /* the segments now belong to the new requests */
        }

        if (b->local_failed)
            xq_error_set(&err, XQ_EMODEL, "model", "model %s: %s", b->model->name,
                         b->local_err.msg);
        else
            xq_error_set(&err, XQ_EMODEL, "model", "model %s: %.*s", b->model->name,
                         msg && msg->type == MSGPACK_OBJECT_STR ? (int)msg->via.str.size : 5,
                         msg && msg->type == MSGPACK_OBJECT_STR ? msg->via.str.ptr : "error");
        ok = false;
    } else {
        xq_tensor_t t;
        const msgpack_object *ov = outs && outs->type == MSGPACK_OBJECT_MAP && outs->via.map.size
                                       ? &outs->via.map.ptr[0].val
                                       : NULL;

        xq_rows_t *sent = b->compact ? &b->send : r;

        if (!ov || xq_tensor_decode_results(ov, "outputs", 0, &t, &err) != XQ_OK) {
            xq_error_set(&err, XQ_EMODEL, "model", "model %s replied without outputs",
                         b->model->name);
            ok = false;
        } else {
            if (t.cnt != sent->cnt * r->out_cnt) {
                xq_error_set(&err, XQ_EMODEL, "model", "model %s replied %zu outputs for %zu rows",
                             b->model->name, t.cnt, sent->cnt);
                ok = false;
            } else if (b->compact) {
                for (size_t k = 0; k < sent->cnt; k++) {
                    memcpy(r->out + b->map[k] * r->out_cnt, t.data + k * r->out_cnt,
                           r->out_cnt * sizeof(float));
                    if (b->keys[k][0])
                        baseline_put(w, b->model, b->keys[k], t.data + k * r->out_cnt, r->out_cnt);
                }
            } else {
                memcpy(r->out, t.data, t.cnt * sizeof(float));
                for (size_t i = 0; b->keys && i < r->cnt; i++) {
                    if (b->keys[i][0])
                        baseline_put(w, b->model, b->keys[i], t.data + i * r->out_cnt, r->out_cnt);
                }
            }
            xq_tensor_fini(&t);
        }
        for (size_t k = 0; ok && b->grad && k < r->tensor_cnt; k++) {
            const msgpack_object *gv = grads ? xq_mp_map_get(grads, r->names[k]) : NULL;

            if (!gv || xq_tensor_decode_results(gv, "grads", 0, &t, &err) != XQ_OK ||
                t.cnt != r->cnt * r->elem_cnt[k]) {
                xq_error_set(&err, XQ_EMODEL, "model", "model %s replied without gradients of %s",
                             b->model->name, r->names[k]);
                ok = false;
            } else {
                memcpy(r->gout[k], t.data, t.cnt * sizeof(float));
            }
            xq_tensor_fini(&t);
        }
    }
    for (size_t s = 0; s < b->seg_cnt; s++) {
        segment_t *sg = &b->seg[s];

        if (!sg->job)
            continue; /* its job was dropped meanwhile */
        sg->job->busy[sg->run] = false;
        sg->job->dirty = true;
        if (!ok)
            job_fail(sg->job, &err);
        else if (!sg->job->failed)
            xq_run_reduce(sg->job->runs[sg->run], r, sg->first, sg->cnt);
    }
}

static void handle_reply(worker_t *w, const rd_kafka_message_t *rkm) {
    msgpack_unpacked msg;
    const msgpack_object *id;
    size_t off = 0, used = 0;

    msgpack_unpacked_init(&msg);
    if (!xq_mp_validate(rkm->payload, rkm->len, &used) ||
        msgpack_unpack_next(&msg, rkm->payload, rkm->len, &off) != MSGPACK_UNPACK_SUCCESS ||
        !(id = xq_mp_map_get(&msg.data, "id")) || id->type != MSGPACK_OBJECT_STR)
        goto out;
    /* a describe reply? */
    for (model_ent_t *m = w->models; m; m = m->next) {
        const msgpack_object *desc = xq_mp_map_get(&msg.data, "model");
        xq_error_t err;

        if (m->remote || !m->corr[0] || !xq_mp_str_eq(id, m->corr))
            continue;
        if (!desc || xq_remote_model_new(desc, &m->remote, &err) != XQ_OK) {
            m->failed = true;
            xq_error_set(&m->err, XQ_EMODEL, "model", "model %s: bad description", m->name);
        } else {
            xq_log(XQ_LOG_INFO, "worker", "model %s: %zu inputs, output %s", m->name,
                   xq_model_input_cnt(m->remote), xq_model_output(m->remote)->name);
        }
        goto out;
    }
    for (batch_t **p = &w->inflight; *p; p = &(*p)->next) {
        batch_t *b = *p;

        if (!xq_mp_str_eq(id, b->corr))
            continue;
        *p = b->next;
        w->inflight_rows -= b->rows.cnt;
        xq_obs_reply(w->obs, b->model->name, b->compact ? b->send.cnt : b->rows.cnt,
                     now_ms() - b->sent_ms);
        batch_reply(w, b, &msg.data);
        batch_free(b);
        break;
    }
    /* unknown ids (late, duplicate, another worker's) are dropped */
out:
    msgpack_unpacked_destroy(&msg);
}

/* Batches answered from the baseline cache alone are done without a request. */
static void complete_local(worker_t *w) {
    for (batch_t **p = &w->inflight; *p;) {
        batch_t *b = *p;

        if (!b->local) {
            p = &b->next;
            continue;
        }
        *p = b->next;
        w->inflight_rows -= b->rows.cnt;
        batch_reply(w, b, NULL);
        batch_free(b);
    }
}

/* Requests without a reply in time are sent again; after the last retry their jobs fail. */
static void check_timeouts(worker_t *w) {
    long long t = now_ms(), timeout = (long long)xq_conf_num(w->conf, "request.timeout.ms");
    int retries = (int)xq_conf_num(w->conf, "request.retries");
    xq_error_t err;

    for (batch_t **p = &w->inflight; *p;) {
        batch_t *b = *p;
        /* every attempt waits request.timeout.ms: a dead runner fails its jobs after
         * request.timeout.ms x (request.retries + 1) */
        if (t - b->sent_ms < timeout) {
            p = &b->next;
            continue;
        }
        if (b->attempts <= retries) {
            xq_log(XQ_LOG_WARN, "worker", "request %s to model %s unanswered; sending again",
                   b->corr, b->model->name);
            xq_obs_request_timeout(w->obs, b->model->name);
            batch_send(w, b);
            p = &b->next;
            continue;
        }
        *p = b->next;
        w->inflight_rows -= b->rows.cnt;
        xq_error_set(&err, XQ_ETIMEOUT, "model", "model %s did not answer %d requests in time",
                     b->model->name, b->attempts);
        for (size_t s = 0; s < b->seg_cnt; s++) {
            if (b->seg[s].job) {
                b->seg[s].job->busy[b->seg[s].run] = false;
                job_fail(b->seg[s].job, &err);
            }
        }
        batch_free(b);
    }
    for (model_ent_t *m = w->models; m; m = m->next) {
        if (m->remote || m->failed || !m->corr[0] || t - m->sent_ms < timeout)
            continue;
        if (m->attempts <= retries) {
            model_describe(w, m);
        } else {
            m->failed = true;
            xq_error_set(&m->err, XQ_ETIMEOUT, "model",
                         "no runner answered for model %s (is explainq runner --name %s up?)",
                         m->name, m->name);
        }
    }
}

/* Moves waiting jobs along: spec, then the model's description, then runs. */
static void advance(worker_t *w) {
    for (job_t *j = w->jobs; j; j = j->next) {
        if (j->state == J_WAIT_SPEC)
            resolve_spec(w, j);
        if (j->state == J_WAIT_MODEL) {
            model_ent_t *m = j->model;

            if (m->failed) {
                job_fail(j, &m->err);
                /* a later job may find a runner: ask again then */
                m->failed = false;
                m->attempts = 0;
                m->corr[0] = '\0';
            } else if (m->remote) {
                start_runs(w, j);
            } else if (!m->corr[0]) {
                model_describe(w, m);
            }
        }
    }
}

/* ==== Rebalancing and the reply partition ==== */

static void drop_jobs_of(worker_t *w, const rd_kafka_topic_partition_list_t *parts) {
    for (job_t *j = w->jobs, *next; j; j = next) {
        next = j->next;
        for (int i = 0; i < parts->cnt; i++) {
            if (parts->elems[i].partition == j->partition) {
                job_unlink(w, j); /* the partition's new owner does it again */
                break;
            }
        }
    }
}

static void drop_all_jobs(worker_t *w) {
    while (w->jobs)
        job_unlink(w, w->jobs);
}

static void rebalance_cb(rd_kafka_t *rk,
                         rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    worker_t *w = opaque;
    rd_kafka_error_t *error = NULL;

    switch (e) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        xq_log(XQ_LOG_INFO, "kafka", "assigned partitions=%d", parts->cnt);
        /* which jobs past the committed offsets were answered already: before any is
         * consumed (else the abort path drops everything and sets the consumer back) */
        if (rd_kafka_committed(rk, parts, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            !load_ahead(w, parts)) {
            if (w->in_txn)
                w->txn_failed = true;
            else
                drop_all_jobs(w);
            w->need_rewind = true;
        }
        error = rd_kafka_incremental_assign(rk, parts);
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        xq_log(XQ_LOG_INFO, "kafka", "revoked partitions=%d lost=%d", parts->cnt,
               rd_kafka_assignment_lost(rk));
        if (w->in_txn) {
            /* what finished is published with its offsets; when the partitions are lost, or
             * the commit cannot finish now, the transaction aborts and every job is redone */
            txn_rc_t trc = rd_kafka_assignment_lost(rk) ? TXN_RETRY : txn_commit(w);

            if (trc == TXN_RETRY) {
                rd_kafka_error_t *ae = rd_kafka_abort_transaction(w->txn, 10000);

                if (ae) {
                    txn_error(w, "abort transaction", ae);
                    w->txn_dead = true; /* a new producer aborts it when it starts */
                }
                w->in_txn = w->committing = w->aborting = false;
                xq_obs_txn(w->obs, false);
                rewind_to_committed(w);
                trc = TXN_ABORTED;
            }
            if (trc == TXN_ABORTED)
                drop_all_jobs(w);
        }
        drop_jobs_of(w, parts);
        for (int i = 0; i < parts->cnt; i++)
            xq_offsets_forget(w->offsets, parts->elems[i].partition);
        if (xq_run_flag && !w->fatal)
            txn_begin(w);
        error = rd_kafka_incremental_unassign(rk, parts);
        break;
    default:
        xq_log(XQ_LOG_ERROR, "kafka", "unexpected rebalance event: %s", rd_kafka_err2name(e));
        w->fatal = true;
        break;
    }
    if (error)
        fatal_error(w, "rebalance", error);
}

static int reply_partitions(worker_t *w, int tries_max) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(w->infer, xq_conf_str(w->conf, "topic.replies"), NULL);
    int n = 0;

    for (int tries = 0; tries < tries_max && n <= 0; tries++) {
        if (rd_kafka_metadata(w->infer, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && !md->topics[0].err)
            n = md->topics[0].partition_cnt;
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        if (n <= 0 && tries + 1 < tries_max)
            nanosleep(&(struct timespec){0, 250 * 1000 * 1000}, NULL);
    }
    rd_kafka_topic_destroy(t);
    return n;
}

/*
 * One partition of the replies topic per worker, leased in Redis
 * (SET explainq:lease:replies:<p> <worker> NX PX ttl). Without Redis the
 * worker hashes its id: sharing a partition is safe, since a worker drops
 * replies whose correlation id it does not know; it only costs reading.
 */
static int32_t lease_partition(worker_t *w, int n) {
    char key[128];
    xq_error_t err;
    xq_buf_t cur;
    uint64_t h = xq_rng_seed_from(w->id);

    xq_buf_init(&cur);
    for (int k = 0; w->redis && k < n; k++) {
        int p = (int)((h + (uint64_t)k) % (uint64_t)n);

        snprintf(key, sizeof(key), "explainq:lease:replies:%d", p);
        if (xq_redis_get(w->redis, key, &cur, &err) == XQ_ENOTFOUND ||
            (cur.len == strlen(w->id) && !memcmp(cur.data, w->id, cur.len))) {
            if (xq_redis_set(w->redis, key, (const uint8_t *)w->id, strlen(w->id), 30000, &err) ==
                XQ_OK) {
                xq_buf_fini(&cur);
                return p;
            }
        }
    }
    xq_buf_fini(&cur);
    return (int32_t)(h % (uint64_t)n);
}

static void renew_lease(worker_t *w) {
    char key[128];
    xq_error_t err;

    if (!w->redis || now_ms() - w->last_lease_ms < 10000)
        return;
    w->last_lease_ms = now_ms();
    snprintf(key, sizeof(key), "explainq:lease:replies:%d", (int)w->reply_partition);
    xq_redis_set(w->redis, key, (const uint8_t *)w->id, strlen(w->id), 30000, &err);
}

/* ==== Setup and the loop ==== */

/* The job consumer's asynchronous errors: logged, and all brokers down makes it not ready. */
static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    xq_kafka_log_error(rk, err, reason);
    xq_obs_kafka_error(((worker_t *)opaque)->obs, err);
}

static const char worker_usage[] =
    "usage: explainq worker [-c FILE] [-X key=value ...] [--input-format jobs|instances]\n"
    "                       [--dump-config]\n"
    "\n"
    "Consumes explain jobs (topic.jobs) in the consumer group group.id, has the\n"
    "runners evaluate their model rows (explain.infer.<model>), and publishes one\n"
    "result per job to topic.results, with the job offsets, in one transaction.\n"
    "Bad jobs get an error result and a copy in topic.dlq. SIGTERM drains.\n"
    "\n"
    "  -c FILE          key=value configuration file\n"
    "  -X key=value     an option below, or kafka.<prop> / kafka.consumer.<prop> /\n"
    "                   kafka.producer.<prop> for librdkafka (SASL, TLS, ...)\n"
    "  -b BROKERS       the same as -X bootstrap.servers=BROKERS\n"
    "  --dump-config    print every option, its value and where it came from\n"
    "Options may also come from EXPLAINQ_<NAME> variables (max.batch.rows:\n"
    "EXPLAINQ_MAX_BATCH_ROWS). Precedence: defaults, file, environment, -X.\n";

static void dump_line(const char *text, void *ud) {
    (void)ud;
    puts(text);
}

static rd_kafka_t *client(worker_t *w,
                          rd_kafka_type_t type,
                          const char *kind,
                          const char *const *forced,
                          size_t forced_cnt,
                          const xq_kafka_cbs_t *cbs) {
    const char *props[160];
    char bs[512], errstr[512];
    size_t n = 0;
    rd_kafka_t *rk;

    snprintf(bs, sizeof(bs), "bootstrap.servers=%s", xq_conf_str(w->conf, "bootstrap.servers"));
    props[n++] = bs;
    if (type == RD_KAFKA_CONSUMER) {
        /* a dead worker's partitions move in ~10 s, not librdkafka's 45; kafka.consumer.*
         * settings (after these) still win */
        props[n++] = "session.timeout.ms=10000";
        props[n++] = "heartbeat.interval.ms=1000";
    }
    n += xq_conf_kafka(w->conf, kind, props + n, 100);
    for (size_t i = 0; i < forced_cnt; i++)
        props[n++] = forced[i]; /* last: what the loop's correctness needs wins */
    if (!(rk = xq_kafka_new(type, props, n, cbs, errstr, sizeof(errstr))))
        xq_log(XQ_LOG_ERROR, "kafka", "%s client: %s", kind, errstr);
    return rk;
}

/*
 * (Re)starts the transactional producer. A new one with the same
 * transactional.id fences the old one and aborts what it left open, so after
 * a fatal error (a fenced producer) the worker carries on. False when the
 * brokers cannot be reached yet: the loop tries again.
 */
static bool txn_producer_start(worker_t *w) {
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
    if (!(w->txn = client(w, RD_KAFKA_PRODUCER, "producer", forced, 2, &cbs))) {
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

/* Enough jobs accepted and not yet answered: take no more until some are. */
static bool intake_full(const worker_t *w) {
    return w->queued_instances >= w->max_queued_instances || w->queued_bytes >= w->max_queued_bytes;
}

/*
 * Once per loop: commits when enough finished (or a commit or abort is
 * unfinished and its retry time came), restarts a dead producer, and sets the
 * consumer back when that is still owed. Aborted work is dropped: its jobs are
 * consumed again from the committed offsets.
 */
static void settle_txn(worker_t *w) {
    long long t = now_ms();
    bool due;

    if (w->txn_dead || !w->txn) {
        if (t < w->txn_retry_ms)
            return;
        drop_all_jobs(w); /* what they published died with the producer's transaction */
        if (!txn_producer_start(w)) {
            w->txn_retry_ms = t + 1000;
            return;
        }
        xq_log(XQ_LOG_INFO, "kafka", "transactional producer restarted");
        rewind_to_committed(w);
    }
    if (w->need_rewind && t >= w->txn_retry_ms && !rewind_to_committed(w))
        w->txn_retry_ms = t + 1000;
    if (!w->in_txn) {
        txn_begin(w);
        return;
    }
    if (w->committing || w->aborting)
        due = t >= w->txn_retry_ms;
    else
        due = w->txn_failed || (w->finished_since_commit &&
                                (w->commit_now || w->finished_since_commit >= w->commit_jobs ||
                                 t - w->last_commit_ms >= w->commit_ms));
    if (!due)
        return;
    switch (txn_commit(w)) {
    case TXN_RETRY:
        w->txn_retry_ms = now_ms() + 1000;
        break;
    case TXN_ABORTED:
        drop_all_jobs(w);
        /* fall through */
    default:
        txn_begin(w);
        break;
    }
}

/*
 * The models option: NAME=FILE pairs the worker evaluates itself, with the
 * backends of explainq runner (their first output, as a runner serves it).
 * Small models then need no round trip through the brokers.
 */
static bool load_local_models(worker_t *w) {
    char *list = xq_strdup(xq_conf_str(w->conf, "models")), *save = NULL;
    bool ok = true;

    for (char *item = strtok_r(list, ",", &save); item && ok; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        xq_model_t *model = NULL;
        model_ent_t *m;
        xq_error_t err;

        if (!eq || eq == item || !eq[1] || (size_t)(eq - item) >= XQ_JOB_MODEL_SIZE) {
            fprintf(stderr, "explainq worker: models: '%s' is not NAME=FILE\n", item);
            ok = false;
            break;
        }
        *eq = '\0';
        if (xq_model_load(eq + 1, NULL, &model, &err) != XQ_OK) {
            fprintf(stderr, "explainq worker: models: %s: %s\n", item, err.msg);
            ok = false;
            break;
        }
        m = model_get(w, item);
        if (m->remote) {
            fprintf(stderr, "explainq worker: models: %s is given twice\n", item);
            xq_model_destroy(model);
            ok = false;
            break;
        }
        m->remote = model;
        m->local = true;
        xq_log(XQ_LOG_INFO, "worker", "model %s: local, from %s (%zu inputs, output %s)", item,
               eq + 1, xq_model_input_cnt(model), xq_model_output(model)->name);
    }
    xq_free(list);
    return ok;
}

int xq_cmd_worker(int argc, char **argv) {
    worker_t w;
    xq_errlist_t errs;
    xq_error_t err;
    bool dump = false;
    char host[64] = "worker", gid[320], part[32];
    rd_kafka_queue_t *replies_q = NULL, *jobs_q = NULL;
    const char *replies_topic = NULL;
    int rc = XQ_EXIT_USAGE;
    long long drain_until = 0;

    memset(&w, 0, sizeof(w));
    xq_buf_init(&w.buf);
    w.conf = xq_conf_new(options, OPT_CNT);
    w.obs = xq_obs_new_worker();
    xq_errlist_init(&errs);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            xq_conf_load_file(w.conf, argv[++i], &errs);
    }
    xq_conf_load_env(w.conf, environ, &errs);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(worker_usage, stdout);
            rc = XQ_EXIT_OK;
            goto out;
        } else if (!strcmp(a, "--dump-config")) {
            dump = true;
        } else if (!strcmp(a, "-c") && i + 1 < argc) {
            i++;
        } else if (!strcmp(a, "--input-format") && i + 1 < argc) {
            if (xq_conf_set(w.conf, "input.format", argv[++i], "--input-format", &err) != XQ_OK)
                xq_errlist_add(&errs, XQ_EINVAL, "--input-format", "%s", err.msg);
        } else if ((!strcmp(a, "-X") || !strcmp(a, "-b")) && i + 1 < argc) {
            const char *kv = argv[++i], *eq = strchr(kv, '=');
            char key[256];

            if (!strcmp(a, "-b")) {
                xq_conf_set(w.conf, "bootstrap.servers", kv, "-b", &err);
                continue;
            }
            if (!eq || (size_t)(eq - kv) >= sizeof(key)) {
                xq_errlist_add(&errs, XQ_EINVAL, "-X", "%s: expected key=value", kv);
                continue;
            }
            memcpy(key, kv, (size_t)(eq - kv));
            key[eq - kv] = '\0';
            if (xq_conf_set(w.conf, key, eq + 1, "-X", &err) != XQ_OK)
                xq_errlist_add(&errs, XQ_EINVAL, "-X", "%s: %s", err.field, err.msg);
        } else {
            xq_errlist_add(&errs, XQ_EINVAL, "", "unknown argument %s", a);
        }
    }
    if (errs.cnt) {
        fprintf(stderr, "explainq worker: configuration errors:\n");
        xq_cli_print_errors(&errs);
        goto out;
    }
    if (!xq_cli_log_apply(xq_conf_str(w.conf, "log.level"), xq_conf_str(w.conf, "log.format"),
                          &err)) {
        fprintf(stderr, "explainq worker: %s: %s\n", err.field, err.msg);
        goto out;
    }
    if (dump) {
        xq_conf_dump(w.conf, dump_line, NULL);
        rc = XQ_EXIT_OK;
        goto out;
    }
    w.stream = strcmp(xq_conf_str(w.conf, "input.format"), "instances") == 0;
    w.source_topic = xq_conf_str(w.conf, w.stream ? "input.topic" : "topic.jobs");
    if (!w.stream && strcmp(xq_conf_str(w.conf, "input.format"), "jobs") != 0) {
        fprintf(stderr, "explainq worker: input.format must be jobs or instances\n");
        goto out;
    }
    if (strcmp(xq_conf_str(w.conf, "viz.format"), "jpeg") != 0 &&
        strcmp(xq_conf_str(w.conf, "viz.format"), "png") != 0) {
        fprintf(stderr, "explainq worker: viz.format must be jpeg or png\n");
        goto out;
    }
    if (strcmp(xq_conf_str(w.conf, "xrai.algorithm"), "full") != 0 &&
        strcmp(xq_conf_str(w.conf, "xrai.algorithm"), "fast") != 0) {
        fprintf(stderr, "explainq worker: xrai.algorithm must be full or fast\n");
        goto out;
    }
    if (w.stream && (strlen(xq_conf_str(w.conf, "stream.spec.id")) != XQ_SPEC_ID_LEN ||
                     !xq_conf_str(w.conf, "stream.model")[0])) {
        fprintf(stderr, "explainq worker: input.format=instances needs stream.model and "
                        "stream.spec.id (from explainq spec put)\n");
        goto out;
    }
    gethostname(host, sizeof(host) - 1);
    if (!xq_cli_check_id("worker.id", xq_conf_str(w.conf, "worker.id"), XQ_WORKER_ID_MAX, &err)) {
        fprintf(stderr, "explainq worker: %s: %s\n", err.field, err.msg);
        goto out;
    }
    if (xq_conf_str(w.conf, "worker.id")[0])
        snprintf(w.id, sizeof(w.id), "%s", xq_conf_str(w.conf, "worker.id"));
    else
        snprintf(w.id, sizeof(w.id), "%.60s-%d", host, (int)getpid());
    xq_log_set_worker_id(w.id);
    rc = XQ_EXIT_RUNTIME;
    if (!xq_obs_serve(w.obs, xq_conf_str(w.conf, "metrics.host"),
                      (int)xq_conf_num(w.conf, "metrics.port"), &err)) {
        fprintf(stderr, "explainq worker: metrics.port: %s\n", err.msg);
        goto out;
    }
    w.excache = xq_exindex_cache_new((size_t)xq_conf_num(w.conf, "examples.cache.indexes"));
    w.seen = xq_idset_new((size_t)xq_conf_num(w.conf, "dedup.window"));
    w.offsets = xq_offsets_new();
    w.gl = xq_gl_cache_new();
    w.max_batch_rows = (size_t)xq_conf_num(w.conf, "max.batch.rows");
    w.max_request_bytes = (size_t)xq_conf_num(w.conf, "max.request.bytes");
    w.commit_jobs = (size_t)xq_conf_num(w.conf, "commit.jobs");
    w.max_queued_instances = (size_t)xq_conf_num(w.conf, "max.queued.instances");
    w.max_queued_bytes = (size_t)xq_conf_num(w.conf, "max.queued.bytes");
    w.commit_ms = (long long)xq_conf_num(w.conf, "commit.interval.ms");
    if (!load_local_models(&w)) {
        rc = XQ_EXIT_USAGE;
        goto out;
    }
    if (xq_conf_str(w.conf, "redis.url")[0] &&
        !(w.redis =
              xq_cli_redis(w.conf, NULL, (int)xq_conf_num(w.conf, "redis.timeout.ms"), &err))) {
        fprintf(stderr, "explainq worker: %s: %s\n", err.field, err.msg);
        rc = XQ_EXIT_USAGE;
        goto out;
    }
    {
        /* four clients, one thread (docs/internals.md) */
        const xq_kafka_cbs_t ccbs = {
            .rebalance_cb = rebalance_cb, .opaque = &w, .error_cb = kafka_error_cb};
        snprintf(gid, sizeof(gid), "group.id=%s", xq_conf_str(w.conf, "group.id"));
        snprintf(w.txnid, sizeof(w.txnid), "transactional.id=explainq-%s", w.id);
        const char *cforced[] = {gid, "enable.auto.commit=false", "isolation.level=read_committed",
                                 "partition.assignment.strategy=cooperative-sticky",
                                 "auto.offset.reset=earliest"};
        const char *iforced[] = {"enable.idempotence=true", "linger.ms=0"};
        const char *rforced[] = {"group.id=explainq-replies-unused", "enable.auto.commit=false",
                                 "isolation.level=read_uncommitted"};

        if (!(w.consumer = client(&w, RD_KAFKA_CONSUMER, "consumer", cforced, 5, &ccbs)) ||
            !(w.infer = client(&w, RD_KAFKA_PRODUCER, "producer", iforced, 2, NULL)) ||
            !(w.replies = client(&w, RD_KAFKA_CONSUMER, "consumer", rforced, 3, NULL)))
            goto out;
    }
    {
        const char *topics[] = {xq_conf_str(w.conf, "topic.replies")};
        char errstr[256];
        rd_kafka_topic_partition_list_t *l;
        int n;

        /* the replies topic needs its partitions before anyone leases one; a broker that
         * cannot create topics (the dev broker) made it already */
        if ((n = reply_partitions(&w, 1)) <= 0) {
            xq_kafka_create_topics(w.infer, topics, 1,
                                   (int)xq_conf_num(w.conf, "replies.partitions"), 10000, errstr,
                                   sizeof(errstr));
            n = reply_partitions(&w, 20);
        }
        if (n <= 0) {
            xq_log(XQ_LOG_ERROR, "worker", "topic %s has no partitions", topics[0]);
            goto out;
        }
        w.reply_partition = lease_partition(&w, n);
        w.last_lease_ms = now_ms();
        /* start at the partition's end as of now, resolved here: an "end" resolved later
         * by the fetcher would skip replies that arrive in between */
        {
            int64_t lo = 0, hi = RD_KAFKA_OFFSET_END;

            if (rd_kafka_query_watermark_offsets(w.replies, topics[0], w.reply_partition, &lo, &hi,
                                                 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                hi = RD_KAFKA_OFFSET_END;
            l = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(l, topics[0], w.reply_partition)->offset = hi;
        }
        rd_kafka_assign(w.replies, l);
        rd_kafka_topic_partition_list_destroy(l);
        for (int tries = 0; !txn_producer_start(&w); tries++) {
            if (w.fatal || tries >= 2)
                goto out;
        }
    }
    rd_kafka_poll_set_consumer(w.consumer);
    /* replies join the job consumer's queue, so one poll waits for both */
    replies_topic = xq_conf_str(w.conf, "topic.replies");
    replies_q = rd_kafka_queue_get_consumer(w.replies);
    jobs_q = rd_kafka_queue_get_consumer(w.consumer);
    rd_kafka_queue_forward(replies_q, jobs_q);
    {
        rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);

        rd_kafka_topic_partition_list_add(subs, w.source_topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(w.consumer, subs);
        rd_kafka_topic_partition_list_destroy(subs);
    }
    xq_signals_install();
    snprintf(part, sizeof(part), "%d", (int)w.reply_partition);
    xq_log(XQ_LOG_INFO, "worker", "started id=%s %s=%s replies=%s/%s redis=%s", w.id,
           w.stream ? "instances" : "jobs", w.source_topic, xq_conf_str(w.conf, "topic.replies"),
           part, w.redis ? xq_conf_str(w.conf, "redis.url") : "none");
    txn_begin(&w);
    w.last_commit_ms = now_ms();
    rc = XQ_EXIT_OK;
    while (!w.fatal) {
        rd_kafka_message_t *rkm;
        bool draining = !xq_run_flag;

        if (draining && !drain_until) {
            /* SIGTERM: stop taking jobs, finish the ones in flight within the grace time */
            rd_kafka_topic_partition_list_t *parts = NULL;

            drain_until = now_ms() + (long long)xq_conf_num(w.conf, "shutdown.grace.ms");
            if (!rd_kafka_assignment(w.consumer, &parts)) {
                rd_kafka_pause_partitions(w.consumer, parts);
                rd_kafka_topic_partition_list_destroy(parts);
            }
            xq_log(XQ_LOG_INFO, "worker", "draining jobs=%zu", w.job_cnt);
        }
        if (draining && (!w.job_cnt || now_ms() >= drain_until))
            break;
        /* jobs and replies arrive on one queue: wait for either, then take what is there */
        for (int k = 0; k < 1000 && (k == 0 || !intake_full(&w)); k++) {
            rkm = rd_kafka_consumer_poll(w.consumer, k ? 0 : w.open ? 1 : 50);
            if (!rkm)
                break;
            if (rkm->err) {
                if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    xq_log(XQ_LOG_WARN, "kafka", "consumer: %s", rd_kafka_message_errstr(rkm));
            } else if (rkm->rkt && !strcmp(rd_kafka_topic_name(rkm->rkt), replies_topic)) {
                handle_reply(&w, rkm);
            } else if (xq_offsets_answered(w.offsets, rkm->partition, rkm->offset)) {
                xq_log(XQ_LOG_INFO, "worker", "partition %d offset %lld answered before; skipped",
                       (int)rkm->partition, (long long)rkm->offset);
            } else if (!draining && !w.need_rewind && w.txn && !w.txn_dead) {
                /* (else dropped: it is consumed again once the consumer is set back) */
                if (w.stream)
                    accept_instance(&w, rkm);
                else
                    accept_job(&w, rkm);
            }
            rd_kafka_message_destroy(rkm); /* never kept past this iteration */
        }
        reap(&w); /* before plan(), which clears the flags reap() reads */
        if (w.in_txn && !w.committing && !w.aborting)
            publish(&w);
        advance(&w);
        plan(&w);
        flush_batches(&w, false);
        complete_local(&w);
        check_timeouts(&w);
        renew_lease(&w);
        rd_kafka_poll(w.infer, 0);
        if (w.txn) /* NULL while a new producer cannot reach the brokers */
            rd_kafka_poll(w.txn, 0);
        {
            /* back-pressure: a full row budget, or enough accepted and unanswered, pauses the
             * job partitions (memory stays bounded whatever the backlog) */
            bool full = w.inflight_rows >= (size_t)xq_conf_num(w.conf, "max.inflight.rows") ||
                        intake_full(&w);
            rd_kafka_topic_partition_list_t *parts = NULL;

            if (full != w.paused && !draining && !rd_kafka_assignment(w.consumer, &parts)) {
                if (full)
                    rd_kafka_pause_partitions(w.consumer, parts);
                else
                    rd_kafka_resume_partitions(w.consumer, parts);
                rd_kafka_topic_partition_list_destroy(parts);
                w.paused = full;
            }
        }
        settle_txn(&w);
        xq_obs_tick(w.obs, w.consumer, w.inflight_rows, xq_exindex_cache_loads(w.excache));
    }
    xq_log(XQ_LOG_INFO, "worker",
           "stopping done=%llu failed=%llu unfinished=%zu baseline_hits=%llu",
           (unsigned long long)w.jobs_done, (unsigned long long)w.jobs_failed, w.job_cnt,
           (unsigned long long)w.baseline_hits);
    /* unfinished jobs are handed back: their offsets stay uncommitted */
    if (!w.fatal && w.in_txn && w.txn && !w.txn_dead && txn_commit(&w) == TXN_RETRY) {
        rd_kafka_error_t *ae = rd_kafka_abort_transaction(w.txn, 10000);

        if (ae)
            rd_kafka_error_destroy(ae); /* whoever takes over fences and aborts it */
        w.in_txn = false;
    }
    while (w.jobs)
        job_unlink(&w, w.jobs);
    if (replies_q)
        rd_kafka_queue_forward(replies_q, NULL);
    rd_kafka_consumer_close(w.consumer); /* REVOKE: commits nothing more, leaves the group */
    if (w.in_txn && w.txn && !w.txn_dead) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(w.txn, 10000);

        if (e)
            rd_kafka_error_destroy(e);
    }
    rc = w.fatal ? XQ_EXIT_RUNTIME : XQ_EXIT_OK;
out:
    while (w.open) {
        batch_t *b = w.open;

        w.open = b->next;
        batch_free(b);
    }
    while (w.inflight) {
        batch_t *b = w.inflight;

        w.inflight = b->next;
        batch_free(b);
    }
    while (w.models) {
        model_ent_t *m = w.models;

        w.models = m->next;
        for (size_t c = 0; c < 64; c++)
            xq_free(m->cache_out[c]);
        xq_model_destroy(m->remote);
        xq_free(m);
    }
    if (replies_q)
        rd_kafka_queue_destroy(replies_q);
    if (jobs_q)
        rd_kafka_queue_destroy(jobs_q);
    if (w.consumer)
        rd_kafka_destroy(w.consumer);
    if (w.replies) {
        rd_kafka_consumer_close(w.replies);
        rd_kafka_destroy(w.replies);
    }
    if (w.txn) {
        rd_kafka_flush(w.txn, 10000);
        rd_kafka_destroy(w.txn);
    }
    if (w.infer) {
        rd_kafka_flush(w.infer, 10000);
        rd_kafka_destroy(w.infer);
    }
    for (size_t i = 0; i < SPEC_CACHE; i++)
        xq_spec_destroy(w.specs[i]);
    xq_exindex_cache_destroy(w.excache);
    xq_idset_destroy(w.seen);
    xq_offsets_destroy(w.offsets);
    xq_gl_cache_destroy(w.gl);
    xq_free(w.recs);
    xq_redis_destroy(w.redis);
    xq_errlist_fini(&errs);
    xq_buf_fini(&w.buf);
    xq_conf_destroy(w.conf);
    xq_obs_destroy(w.obs);
    return rc;
}
