/* names.h -- the names explainq spells on Kafka and in Redis: default topics, consumer groups,
 * transactional ids and Redis keys (docs/design.md §2 and §3).
 *
 * Every place that names a topic, a group or a key takes it from here, so a
 * name changes in one place. Topic and group names are defaults: the commands
 * read topic.* and group.id from their configuration (docs/configuration.md).
 */
#ifndef XQ_NAMES_H
#define XQ_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* ==== Kafka: default topics ==== */

#define XQ_TOPIC_JOBS            "explain.jobs"    /* topic.jobs: jobs in */
#define XQ_TOPIC_RESULTS         "explain.results" /* topic.results: results out */
#define XQ_TOPIC_DLQ             "explain.dlq"     /* topic.dlq: dead letters */
#define XQ_TOPIC_REPLIES         "explain.replies" /* topic.replies: inference replies to workers */
#define XQ_TOPIC_INSTANCES       "explain.instances" /* input.topic: a stream of prediction logs */
#define XQ_TOPIC_INFER           "explain.infer."    /* + model: a model's inference requests */
#define XQ_TOPIC_RESULTS_GATEWAY "explain.results.gateway" /* the gateway's results */
#define XQ_TOPIC_RESULTS_BATCH   "explain.results.batch"   /* `explainq batch`'s results */

/* ==== Kafka: consumer groups and transactional ids ==== */

#define XQ_GROUP_WORKERS "explainq-workers"  /* group.id: the workers */
#define XQ_GROUP_RUNNERS "explainq-runners-" /* + model: a model's runners */
#define XQ_GROUP_COLLECT "explainq-collect"  /* `explainq collect` (assigned, commits nothing) */
#define XQ_GROUP_CLI     "explainq-cli"      /* CLI tools reading replies (assigned) */
#define XQ_GROUP_GATEWAY "explainq-gateway"  /* the gateway (assigned) */
#define XQ_GROUP_REPLIES "explainq-replies-unused" /* a worker's replies consumer (assigned) */
#define XQ_TXN_ID        "explainq-"               /* + worker.id: a worker's transactional.id */

/* ==== Redis keys (docs/design.md §3) ==== */

#define XQ_KEY_PREFIX   "explainq:"               /* every key starts so */
#define XQ_KEY_SPEC     "explainq:spec:"          /* + spec id: a spec's canonical msgpack */
#define XQ_KEY_JOB      "explainq:job:"           /* + job id: a job's progress hash */
#define XQ_KEY_JOBID    "explainq:jobid:"         /* + job id: who claimed the id (dedup) */
#define XQ_KEY_LEASE    "explainq:lease:replies:" /* + partition: a reply partition's lease */
#define XQ_KEY_BASELINE "explainq:baseline:"      /* + model:sha256: outputs at a baseline row */
#define XQ_KEY_INDEX    "explainq:index:"         /* + index id [+ :chunk]: an example index */
#define XQ_KEY_EXAMPLES "explainq:examples:"      /* + spec id: the spec's latest index */

/*
 * Each writes one name into @p buf (@p size bytes, NUL-terminated) and
 * @returns true, or false when it did not fit (@p buf then holds as much as
 * fit): a name that was cut must not be used.
 */

/** explain.infer.<model>: where a model's inference requests go. */
bool xq_name_infer_topic(char *buf, size_t size, const char *model);

/** explainq-runners-<model>: the consumer group of a model's runners. */
bool xq_name_runner_group(char *buf, size_t size, const char *model);

/** explainq-<worker id>: a worker's transactional.id. */
bool xq_name_txn_id(char *buf, size_t size, const char *worker_id);

/** explainq:spec:<spec id>. */
bool xq_key_spec(char *buf, size_t size, const char *spec_id);

/** explainq:job:<job id>: the progress hash `explainq status JOB` reads. */
bool xq_key_job(char *buf, size_t size, const char *job_id);

/** explainq:jobid:<job id>: the claim of a job id (docs/design.md §5, rule 6). */
bool xq_key_jobid(char *buf, size_t size, const char *job_id);

/** explainq:lease:replies:<partition>. */
bool xq_key_lease(char *buf, size_t size, int partition);

/** explainq:baseline:<model>:<hex sha256 of the row>. */
bool xq_key_baseline(char *buf, size_t size, const char *model, const char *row_sha);

/** explainq:index:<index id>: an index's manifest. */
bool xq_key_index(char *buf, size_t size, const char *index_id);

/** explainq:index:<index id>:<k>: chunk k of an index. */
bool xq_key_index_chunk(char *buf, size_t size, const char *index_id, size_t k);

/** explainq:examples:<spec id>: the id of the last index built for a spec. */
bool xq_key_examples(char *buf, size_t size, const char *spec_id);

#endif /* XQ_NAMES_H */
