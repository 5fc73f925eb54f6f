/* worker_int.h -- the explain worker's parts (wk_*.c, cmd_worker.c): its state and internal calls.
 */
#ifndef XQ_WORKER_INT_H
#define XQ_WORKER_INT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "clock.h"
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
#include "rowsched.h"
#include "sha256.h"
#include "signals.h"
#include "spec.h"

/*
 * One worker, one thread (docs/internals.md): cmd_worker.c sets it up and runs the loop;
 * wk_jobs.c takes jobs in and finishes them, wk_batch.c packs their rows into requests and
 * reads the replies, wk_baseline.c caches outputs at baselines, wk_txn.c publishes and commits,
 * wk_lease.c holds the reply partition. Everything here is internal to the worker.
 */

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
    bool dirty;      /* runs may want rows planned, or be done: wk_plan() and wk_reap() look */
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
    unsigned compact;   /* the compact request version its runner expands (its description
                           said so; capped at ours), 0: none */
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

/*
 * Rows of many jobs' runs for one model, of one kind and shape (common/sched.h): sb's segments
 * name the job (the owner) and the run. Freed batches keep their buffers in the worker's spare
 * list, so the next batch of the same shape allocates nothing.
 */
typedef struct batch {
    struct batch *next;
    xq_sched_batch_t sb; /* the rows and whose they are; sb.model is `model` */
    model_ent_t *model;
    /* baseline rows (wk_use_baseline_cache()): when some were answered from the cache, only
     * the rows sel[0..sel_cnt) are sent (subset); the outputs of the baseline rows key_row[k]
     * sent are cached under keys[k] */
    size_t *sel, sel_cnt, sel_cap;
    size_t *key_row, key_cnt, key_cap;
    char (*keys)[XQ_SHA256_HEX_LEN + 1];
    size_t *dup_row, *dup_of, dup_cnt; /* baseline rows not sent: row dup_row[d] is row
                                          key_row[dup_of[d]]'s twin (wk_baseline_dups()) */
    bool subset;
    /* compact requests (compact.h): the rows' instances and baselines (anchors), and per row
     * which anchors it may be made of; kept with the batch's buffers */
    xq_rows_t anc;
    uint32_t *ax, *abf, *abc;
    size_t a_cap;
    bool pick;         /* the request said which output element each row needs ("pick") */
    bool local;        /* answered here (cache or local model): no request */
    bool local_failed; /* the local model failed: local_err says why */
    xq_error_t local_err;
    long long open_ms, sent_ms;
    char corr[200];
    int attempts;
    bool sent;
} batch_t;

#define SPARE_BATCHES 8 /* freed batches whose buffers are kept for the next ones */

#define SPEC_CACHE  64
#define SPEC_PUTS   8     /* inline spec ids remembered as put */
#define SPEC_PUT_MS 60000 /* ... for this long, then put again (the key may have gone) */

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
    /* inline specs this worker put into Redis lately (wk_jobs.c): not put again per job */
    char put_ids[SPEC_PUTS][XQ_SPEC_ID_LEN + 1];
    long long put_ms[SPEC_PUTS];
    size_t put_next;
    const char *source_topic; /* topic.jobs, or input.topic for a stream */
    bool stream;
    char id[128];
    char txnid[200]; /* transactional.id=explainq-<id> */
    rd_kafka_t *consumer, *txn, *infer, *replies;
    rd_kafka_queue_t *replies_q, *jobs_q; /* replies forwarded into the jobs' queue */
    xq_redis_t *redis;
    xq_exindex_cache_t *excache; /* example indexes, loaded once */
    int32_t reply_partition;
    job_t *jobs;
    size_t job_cnt;
    model_ent_t *models;
    batch_t *open, *inflight;
    batch_t *spare; /* freed batches, their buffers kept (at most SPARE_BATCHES) */
    size_t spare_cnt;
    size_t inflight_rows;
    uint64_t seq;
    bool in_txn, fatal, paused;
    bool committing, aborting;   /* a commit or abort to finish before anything else */
    bool txn_dead;               /* the producer had a fatal error: make a new one */
    unsigned send_offsets_calls; /* for a test's stall (wk_txncall.c) */
    bool need_rewind;            /* jobs were dropped and the consumer not yet set back */
    bool commit_now;             /* a lowLatency job was published: commit without waiting */
    long long txn_retry_ms;      /* when to try committing (or a new producer) again */
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
    long job_ttl_ms; /* job.ttl.s, in ms: progress hashes, job id claims, cached baselines */
    size_t max_queued_instances, max_queued_bytes;
    long long commit_ms;
    /* options the loop reads, read once (xq_conf_num() looks them up by name) */
    long long linger_ms, request_timeout_ms;
    int request_retries;
    size_t max_inflight_rows;
    const char *replies_topic;
    bool compact_requests; /* compact.requests: to runners that announce them */
    xq_obs_t *obs;         /* metrics and readiness (obs.h) */
} worker_t;

/* cmd_worker.c */
rd_kafka_t *wk_client(worker_t *w,
                      rd_kafka_type_t type,
                      const char *kind,
                      const char *dflt,
                      const char *const *forced,
                      size_t forced_cnt,
                      const xq_kafka_cbs_t *cbs);

/* wk_baseline.c */
void wk_baseline_put(
    worker_t *w, model_ent_t *m, const char *key, const float *out, size_t out_cnt);
void wk_use_baseline_cache(worker_t *w, batch_t *b);
void wk_baseline_dups(batch_t *b);

/* wk_batch.c */
model_ent_t *wk_model_get(worker_t *w, const char *name);
void wk_model_describe(worker_t *w, model_ent_t *m);
void wk_batch_free(batch_t *b);
void wk_batch_release(worker_t *w, batch_t *b);
void wk_flush_batches(worker_t *w, bool all);
void wk_plan(worker_t *w);
void wk_handle_reply(worker_t *w, const rd_kafka_message_t *rkm);
void wk_complete_local(worker_t *w);
void wk_check_timeouts(worker_t *w);
bool wk_load_local_models(worker_t *w);

/* wk_jobs.c */
void wk_job_unlink(worker_t *w, job_t *j);
void wk_progress(worker_t *w, const job_t *j, const char *state);
const char *wk_result_topic(const worker_t *w, const job_t *j);
void wk_release_id(worker_t *w, const job_t *j);
void wk_job_fail(job_t *j, const xq_error_t *e);
void wk_accept_job(worker_t *w, const rd_kafka_message_t *rkm);
void wk_accept_instance(worker_t *w, const rd_kafka_message_t *rkm);
void wk_reap(worker_t *w);
void wk_advance(worker_t *w);
void wk_drop_jobs_of(worker_t *w, const rd_kafka_topic_partition_list_t *parts);
void wk_drop_all_jobs(worker_t *w);

/* wk_lease.c */
int wk_reply_partitions(worker_t *w, int tries_max);
int32_t wk_lease_partition(worker_t *w, int n);
void wk_renew_lease(worker_t *w);

/* wk_txn.c */
void wk_fatal_error(worker_t *w, const char *what, rd_kafka_error_t *error);
txn_rc_t wk_txn_error(worker_t *w, const char *what, rd_kafka_error_t *error);
void wk_txn_begin(worker_t *w);
bool wk_load_ahead(worker_t *w, const rd_kafka_topic_partition_list_t *parts);
bool wk_rewind_to_committed(worker_t *w);
txn_rc_t wk_txn_commit(worker_t *w);
void wk_publish(worker_t *w);
bool wk_txn_producer_start(worker_t *w);

/* wk_txncall.c */
/* rd_kafka_send_offsets_to_transaction() on w->txn, with a deadline: when the
 * call has not returned well past @p timeout_ms, sets *hung, w->txn = NULL and
 * w->txn_dead (the blocked call's thread owns the producer) and returns NULL.
 * Otherwise the call's error (the caller frees it) or NULL. */
rd_kafka_error_t *wk_send_offsets(worker_t *w,
                                  const rd_kafka_topic_partition_list_t *pos,
                                  int timeout_ms,
                                  bool *hung);
void wk_settle_txn(worker_t *w);

#endif /* XQ_WORKER_INT_H */
