/*
 * cmd_worker.c -- `explainq worker`: consumes explain jobs, plans their model
 * rows, coalesces the rows of many jobs into inference requests for the
 * runners, reduces the replies, and publishes results and the job offsets in
 * one Kafka transaction (docs/design.md §1-§3 and §5, docs/internals.md).
 */

#include "names.h"
#include "worker_int.h"

extern char **environ;

#define STR_(x) #x
#define STR(x)  STR_(x)

static const xq_conf_opt_t options[] = {
    {"bootstrap.servers", "127.0.0.1:9092", 0, 0, 1, "Kafka brokers"},
    {"redis.url", "127.0.0.1:6379", 0, 0, 1,
     "Redis host:port (a cache: jobs with inline specs run without it)"},
    {"worker.id", "", 0, 0, 1, "this worker's id (default: host-pid)"},
    {"topic.jobs", XQ_TOPIC_JOBS, 0, 0, 1, "jobs topic"},
    {"topic.results", XQ_TOPIC_RESULTS, 0, 0, 1, "results topic"},
    {"topic.dlq", XQ_TOPIC_DLQ, 0, 0, 1, "dead-letter topic"},
    {"topic.replies", XQ_TOPIC_REPLIES, 0, 0, 1, "inference replies topic"},
    {"group.id", XQ_GROUP_WORKERS, 0, 0, 1, "consumer group of the workers"},
    {"replies.partitions", "16", 1, 4096, 0,
     "partitions of the replies topic when the worker creates it"},
    {"max.batch.rows", "8192", 1, 1 << 20, 0,
     "rows per inference request, at most (fewer when max.request.bytes says so)"},
    {"max.request.bytes", STR(XQ_REMOTE_REQUEST_BYTES), 1024, 1e9, 0,
     "tensor bytes per inference request (and reply), at most: under the brokers' "
     "message.max.bytes"},
    {"batch.linger.ms", "2", 0, 10000, 0, "how long a partial request waits for more rows"},
    {"compact.requests", "1", 0, 1, 0,
     "rows as masks over their instance and baseline, to runners that expand them "
     "(docs/protocol.md); 0: full rows"},
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
    {"input.topic", XQ_TOPIC_INSTANCES, 0, 0, 1, "the stream's topic (input.format=instances)"},
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

/* ==== Rebalancing ==== */

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
            !wk_load_ahead(w, parts)) {
            if (w->in_txn)
                w->txn_failed = true;
            else
                wk_drop_all_jobs(w);
            w->need_rewind = true;
        }
        if (!(error = rd_kafka_incremental_assign(rk, parts))) {
            /* librdkafka keeps a partition's pause across its revocation: one paused by
             * backpressure() and given back later would be paused still while w->paused may
             * say otherwise, and its jobs never come. So its state is set here. */
            if (w->paused || !xq_run_flag)
                rd_kafka_pause_partitions(rk, parts);
            else
                rd_kafka_resume_partitions(rk, parts);
        }
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        xq_log(XQ_LOG_INFO, "kafka", "revoked partitions=%d lost=%d", parts->cnt,
               rd_kafka_assignment_lost(rk));
        if (w->in_txn) {
            /* what finished is published with its offsets; when the partitions are lost, or
             * the commit cannot finish now, the transaction aborts and every job is redone */
            txn_rc_t trc = rd_kafka_assignment_lost(rk) ? TXN_RETRY : wk_txn_commit(w);

            if (trc == TXN_RETRY) {
                rd_kafka_error_t *ae = rd_kafka_abort_transaction(w->txn, 10000);

                if (ae) {
                    wk_txn_error(w, "abort transaction", ae);
                    w->txn_dead = true; /* a new producer aborts it when it starts */
                }
                w->in_txn = w->committing = w->aborting = false;
                xq_obs_txn(w->obs, false);
                wk_rewind_to_committed(w);
                trc = TXN_ABORTED;
            }
            if (trc == TXN_ABORTED)
                wk_drop_all_jobs(w);
        }
        wk_drop_jobs_of(w, parts);
        for (int i = 0; i < parts->cnt; i++)
            xq_offsets_forget(w->offsets, parts->elems[i].partition);
        if (xq_run_flag && !w->fatal)
            wk_txn_begin(w);
        error = rd_kafka_incremental_unassign(rk, parts);
        break;
    default:
        xq_log(XQ_LOG_ERROR, "kafka", "unexpected rebalance event: %s", rd_kafka_err2name(e));
        w->fatal = true;
        break;
    }
    if (error)
        wk_fatal_error(w, "rebalance", error);
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

rd_kafka_t *wk_client(worker_t *w,
                      rd_kafka_type_t type,
                      const char *kind,
                      const char *dflt,
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
    if (dflt)
        props[n++] = dflt; /* a default of this client's: the user's kafka.* settings win */
    n += xq_conf_kafka(w->conf, kind, props + n, 100);
    for (size_t i = 0; i < forced_cnt; i++)
        props[n++] = forced[i]; /* last: what the loop's correctness needs wins */
    if (!(rk = xq_kafka_new(type, props, n, cbs, errstr, sizeof(errstr))))
        xq_log(XQ_LOG_ERROR, "kafka", "%s client: %s", kind, errstr);
    return rk;
}

/* Enough jobs accepted and not yet answered: take no more until some are. */
static bool intake_full(const worker_t *w) {
    return w->queued_instances >= w->max_queued_instances || w->queued_bytes >= w->max_queued_bytes;
}

/* -c, EXPLAINQ_*, -X and -b into w->conf; bad ones into @p errs. */
static void
parse_args(worker_t *w, int argc, char **argv, xq_errlist_t *errs, bool *help, bool *dump) {
    xq_error_t err;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            xq_conf_load_file(w->conf, argv[++i], errs);
    }
    xq_conf_load_env(w->conf, environ, errs);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = true;
        } else if (!strcmp(a, "--dump-config")) {
            *dump = true;
        } else if (!strcmp(a, "-c") && i + 1 < argc) {
            i++;
        } else if (!strcmp(a, "--input-format") && i + 1 < argc) {
            if (xq_conf_set(w->conf, "input.format", argv[++i], "--input-format", &err) != XQ_OK)
                xq_errlist_add(errs, XQ_EINVAL, "--input-format", "%s", err.msg);
        } else if (!strcmp(a, "-b") && i + 1 < argc) {
            xq_conf_set(w->conf, "bootstrap.servers", argv[++i], "-b", &err);
        } else if (!strcmp(a, "-X") && i + 1 < argc) {
            xq_cli_set_kv(w->conf, argv[++i], errs);
        } else {
            xq_errlist_add(errs, XQ_EINVAL, "", "unknown argument %s", a);
        }
    }
}

/* The choices among words and the stream's settings; false after saying what is wrong. */
static bool check_options(worker_t *w) {
    const char *input = xq_conf_str(w->conf, "input.format");
    xq_error_t err;

    w->stream = strcmp(input, "instances") == 0;
    w->source_topic = xq_conf_str(w->conf, w->stream ? "input.topic" : "topic.jobs");
    if (!w->stream && strcmp(input, "jobs") != 0) {
        fprintf(stderr, "explainq worker: input.format must be jobs or instances\n");
        return false;
    }
    if (strcmp(xq_conf_str(w->conf, "viz.format"), "jpeg") != 0 &&
        strcmp(xq_conf_str(w->conf, "viz.format"), "png") != 0) {
        fprintf(stderr, "explainq worker: viz.format must be jpeg or png\n");
        return false;
    }
    if (strcmp(xq_conf_str(w->conf, "xrai.algorithm"), "full") != 0 &&
        strcmp(xq_conf_str(w->conf, "xrai.algorithm"), "fast") != 0) {
        fprintf(stderr, "explainq worker: xrai.algorithm must be full or fast\n");
        return false;
    }
    if (w->stream && (strlen(xq_conf_str(w->conf, "stream.spec.id")) != XQ_SPEC_ID_LEN ||
                      !xq_conf_str(w->conf, "stream.model")[0])) {
        fprintf(stderr, "explainq worker: input.format=instances needs stream.model and "
                        "stream.spec.id (from explainq spec put)\n");
        return false;
    }
    if (!xq_cli_check_id("worker.id", xq_conf_str(w->conf, "worker.id"), XQ_WORKER_ID_MAX, &err)) {
        fprintf(stderr, "explainq worker: %s: %s\n", err.field, err.msg);
        return false;
    }
    return true;
}

/*
 * The configuration, from argv and the environment. @returns -1 to go on, or
 * the exit code: 0 after --help or --dump-config, XQ_EXIT_USAGE after errors.
 */
static int configure(worker_t *w, int argc, char **argv) {
    xq_errlist_t errs;
    xq_error_t err;
    bool help = false, dump = false;
    int rc = XQ_EXIT_USAGE;

    xq_errlist_init(&errs);
    parse_args(w, argc, argv, &errs, &help, &dump);
    if (help) {
        fputs(worker_usage, stdout);
        rc = XQ_EXIT_OK;
    } else if (errs.cnt) {
        fprintf(stderr, "explainq worker: configuration errors:\n");
        xq_cli_print_errors(&errs);
    } else if (!xq_cli_log_apply(xq_conf_str(w->conf, "log.level"),
                                 xq_conf_str(w->conf, "log.format"), &err)) {
        fprintf(stderr, "explainq worker: %s: %s\n", err.field, err.msg);
    } else if (dump) {
        xq_conf_dump(w->conf, dump_line, NULL);
        rc = XQ_EXIT_OK;
    } else if (check_options(w)) {
        rc = -1;
    }
    xq_errlist_fini(&errs);
    return rc;
}

/* The worker's own state from its options: id, caches, limits, local models, Redis. */
static int start_state(worker_t *w) {
    char host[64] = "worker";
    xq_error_t err;

    gethostname(host, sizeof(host) - 1);
    if (xq_conf_str(w->conf, "worker.id")[0])
        snprintf(w->id, sizeof(w->id), "%s", xq_conf_str(w->conf, "worker.id"));
    else
        snprintf(w->id, sizeof(w->id), "%.60s-%d", host, (int)getpid());
    xq_log_set_worker_id(w->id);
    if (!xq_obs_serve(w->obs, xq_conf_str(w->conf, "metrics.host"),
                      (int)xq_conf_num(w->conf, "metrics.port"), &err)) {
        fprintf(stderr, "explainq worker: metrics.port: %s\n", err.msg);
        return XQ_EXIT_RUNTIME;
    }
    w->excache = xq_exindex_cache_new((size_t)xq_conf_num(w->conf, "examples.cache.indexes"));
    w->seen = xq_idset_new((size_t)xq_conf_num(w->conf, "dedup.window"));
    w->offsets = xq_offsets_new();
    w->gl = xq_gl_cache_new();
    w->max_batch_rows = (size_t)xq_conf_num(w->conf, "max.batch.rows");
    w->max_request_bytes = (size_t)xq_conf_num(w->conf, "max.request.bytes");
    w->commit_jobs = (size_t)xq_conf_num(w->conf, "commit.jobs");
    w->job_ttl_ms = (long)xq_conf_num(w->conf, "job.ttl.s") * 1000;
    w->max_queued_instances = (size_t)xq_conf_num(w->conf, "max.queued.instances");
    w->max_queued_bytes = (size_t)xq_conf_num(w->conf, "max.queued.bytes");
    w->commit_ms = (long long)xq_conf_num(w->conf, "commit.interval.ms");
    w->linger_ms = (long long)xq_conf_num(w->conf, "batch.linger.ms");
    w->request_timeout_ms = (long long)xq_conf_num(w->conf, "request.timeout.ms");
    w->request_retries = (int)xq_conf_num(w->conf, "request.retries");
    w->max_inflight_rows = (size_t)xq_conf_num(w->conf, "max.inflight.rows");
    w->replies_topic = xq_conf_str(w->conf, "topic.replies");
    w->compact_requests = xq_conf_num(w->conf, "compact.requests") > 0;
    if (!wk_load_local_models(w))
        return XQ_EXIT_USAGE;
    if (xq_conf_str(w->conf, "redis.url")[0] &&
        !(w->redis =
              xq_cli_redis(w->conf, NULL, (int)xq_conf_num(w->conf, "redis.timeout.ms"), &err))) {
        fprintf(stderr, "explainq worker: %s: %s\n", err.field, err.msg);
        return XQ_EXIT_USAGE;
    }
    return 0;
}

/* The three plain clients (docs/internals.md: four clients, one thread; the fourth is the
 * transactional producer, wk_txn_producer_start()). */
static bool start_clients(worker_t *w) {
    const xq_kafka_cbs_t ccbs = {
        .rebalance_cb = rebalance_cb, .opaque = w, .error_cb = kafka_error_cb};
    char gid[320];
    const char *cforced[] = {gid, "enable.auto.commit=false", "isolation.level=read_committed",
                             "partition.assignment.strategy=cooperative-sticky",
                             "auto.offset.reset=earliest"};
    const char *iforced[] = {"enable.idempotence=true", "linger.ms=0"};
    /* inference requests: lz4 took compact requests from 1,524 to 1,389 bytes per instance on
     * the mlp20 bench (README, "Throughput"); results stay as they are (their size limits are
     * the user's topics') */
    const char *lz4 = "compression.type=lz4";
    const char *rforced[] = {("group.id=" XQ_GROUP_REPLIES), "enable.auto.commit=false",
                             "isolation.level=read_uncommitted"};

    snprintf(gid, sizeof(gid), "group.id=%s", xq_conf_str(w->conf, "group.id"));
    snprintf(w->txnid, sizeof(w->txnid), "transactional.id=" XQ_TXN_ID "%s", w->id);
    return (w->consumer = wk_client(w, RD_KAFKA_CONSUMER, "consumer", NULL, cforced, 5, &ccbs)) &&
           (w->infer = wk_client(w, RD_KAFKA_PRODUCER, "producer", lz4, iforced, 2, NULL)) &&
           (w->replies = wk_client(w, RD_KAFKA_CONSUMER, "consumer", NULL, rforced, 3, NULL));
}

/* The reply partition: the topic's partitions (made when missing), a lease, assigned at its end. */
static bool start_replies(worker_t *w) {
    const char *topics[] = {xq_conf_str(w->conf, "topic.replies")};
    char errstr[256];
    rd_kafka_topic_partition_list_t *l;
    int64_t lo = 0, hi = RD_KAFKA_OFFSET_END;
    int n;

    /* the replies topic needs its partitions before anyone leases one; a broker that
     * cannot create topics (the dev broker) made it already */
    if ((n = wk_reply_partitions(w, 1)) <= 0) {
        xq_kafka_create_topics(w->infer, topics, 1, (int)xq_conf_num(w->conf, "replies.partitions"),
                               10000, errstr, sizeof(errstr));
        n = wk_reply_partitions(w, 20);
    }
    if (n <= 0) {
        xq_log(XQ_LOG_ERROR, "worker", "topic %s has no partitions", topics[0]);
        return false;
    }
    w->reply_partition = wk_lease_partition(w, n);
    w->last_lease_ms = xq_now_ms();
    /* start at the partition's end as of now, resolved here: an "end" resolved later
     * by the fetcher would skip replies that arrive in between */
    if (rd_kafka_query_watermark_offsets(w->replies, topics[0], w->reply_partition, &lo, &hi,
                                         10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        hi = RD_KAFKA_OFFSET_END;
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topics[0], w->reply_partition)->offset = hi;
    rd_kafka_assign(w->replies, l);
    rd_kafka_topic_partition_list_destroy(l);
    return true;
}

/* Subscribes to the jobs (or the stream); replies join the same queue, so one poll waits for
 * both. */
static void subscribe(worker_t *w) {
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);

    rd_kafka_poll_set_consumer(w->consumer);
    w->replies_q = rd_kafka_queue_get_consumer(w->replies);
    w->jobs_q = rd_kafka_queue_get_consumer(w->consumer);
    rd_kafka_queue_forward(w->replies_q, w->jobs_q);
    rd_kafka_topic_partition_list_add(subs, w->source_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(w->consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
}

/* Takes what arrived (jobs and replies, one queue), waiting a little for the first. */
static void take(worker_t *w, bool draining) {
    const char *replies_topic = w->replies_topic;

    for (int k = 0; k < 1000 && (k == 0 || !intake_full(w)); k++) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(w->consumer, k ? 0 : w->open ? 1 : 50);

        if (!rkm)
            break;
        if (rkm->err) {
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                xq_log(XQ_LOG_WARN, "kafka", "consumer: %s", rd_kafka_message_errstr(rkm));
        } else if (rkm->rkt && !strcmp(rd_kafka_topic_name(rkm->rkt), replies_topic)) {
            wk_handle_reply(w, rkm);
        } else if (xq_offsets_answered(w->offsets, rkm->partition, rkm->offset)) {
            xq_log(XQ_LOG_INFO, "worker", "partition %d offset %lld answered before; skipped",
                   (int)rkm->partition, (long long)rkm->offset);
        } else if (!draining && !w->need_rewind && w->txn && !w->txn_dead) {
            /* (else dropped: it is consumed again once the consumer is set back) */
            if (w->stream)
                wk_accept_instance(w, rkm);
            else
                wk_accept_job(w, rkm);
        }
        rd_kafka_message_destroy(rkm); /* never kept past this iteration */
    }
}

/* Back-pressure: a full row budget, or enough accepted and unanswered, pauses the job
 * partitions (memory stays bounded whatever the backlog). */
static void backpressure(worker_t *w, bool draining) {
    bool full = w->inflight_rows >= w->max_inflight_rows || intake_full(w);
    rd_kafka_topic_partition_list_t *parts = NULL;

    if (full != w->paused && !draining && !rd_kafka_assignment(w->consumer, &parts)) {
        if (full)
            rd_kafka_pause_partitions(w->consumer, parts);
        else
            rd_kafka_resume_partitions(w->consumer, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        w->paused = full;
    }
}

/* The loop (docs/internals.md): until a fatal error, or SIGTERM and the jobs in flight are done
 * or the grace time is over. */
static void run(worker_t *w) {
    long long drain_until = 0;

    wk_txn_begin(w);
    w->last_commit_ms = xq_now_ms();
    while (!w->fatal) {
        bool draining = !xq_run_flag;

        if (draining && !drain_until) {
            /* SIGTERM: stop taking jobs, finish the ones in flight within the grace time */
            rd_kafka_topic_partition_list_t *parts = NULL;

            drain_until = xq_now_ms() + (long long)xq_conf_num(w->conf, "shutdown.grace.ms");
            if (!rd_kafka_assignment(w->consumer, &parts)) {
                rd_kafka_pause_partitions(w->consumer, parts);
                rd_kafka_topic_partition_list_destroy(parts);
            }
            xq_log(XQ_LOG_INFO, "worker", "draining jobs=%zu", w->job_cnt);
        }
        if (draining && (!w->job_cnt || xq_now_ms() >= drain_until))
            break;
        take(w, draining);
        wk_reap(w); /* before wk_plan(), which clears the flags wk_reap() reads */
        if (w->in_txn && !w->committing && !w->aborting)
            wk_publish(w);
        wk_advance(w);
        wk_plan(w);
        wk_flush_batches(w, false);
        wk_complete_local(w);
        wk_check_timeouts(w);
        wk_renew_lease(w);
        rd_kafka_poll(w->infer, 0);
        if (w->txn) /* NULL while a new producer cannot reach the brokers */
            rd_kafka_poll(w->txn, 0);
        backpressure(w, draining);
        wk_settle_txn(w);
        xq_obs_tick(w->obs, w->consumer, w->inflight_rows, xq_exindex_cache_loads(w->excache));
    }
}

/* After the loop: what finished commits, unfinished jobs are handed back (their offsets stay
 * uncommitted), the consumer leaves the group. */
static void stop(worker_t *w) {
    xq_log(XQ_LOG_INFO, "worker",
           "stopping done=%llu failed=%llu unfinished=%zu baseline_hits=%llu",
           (unsigned long long)w->jobs_done, (unsigned long long)w->jobs_failed, w->job_cnt,
           (unsigned long long)w->baseline_hits);
    if (!w->fatal && w->in_txn && w->txn && !w->txn_dead && wk_txn_commit(w) == TXN_RETRY) {
        rd_kafka_error_t *ae = rd_kafka_abort_transaction(w->txn, 10000);

        if (ae)
            rd_kafka_error_destroy(ae); /* whoever takes over fences and aborts it */
        w->in_txn = false;
    }
    while (w->jobs)
        wk_job_unlink(w, w->jobs);
    if (w->replies_q)
        rd_kafka_queue_forward(w->replies_q, NULL);
    rd_kafka_consumer_close(w->consumer); /* REVOKE: commits nothing more, leaves the group */
    if (w->in_txn && w->txn && !w->txn_dead) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(w->txn, 10000);

        if (e)
            rd_kafka_error_destroy(e);
    }
}

/* Frees everything the worker holds, whatever stage it reached. */
static void teardown(worker_t *w) {
    for (batch_t *lists[3] = {w->open, w->inflight, w->spare}, **l = lists; l < lists + 3; l++) {
        while (*l) {
            batch_t *b = *l;

            *l = b->next;
            wk_batch_free(b);
        }
    }
    while (w->models) {
        model_ent_t *m = w->models;

        w->models = m->next;
        for (size_t c = 0; c < 64; c++)
            xq_free(m->cache_out[c]);
        xq_model_destroy(m->remote);
        xq_free(m);
    }
    if (w->replies_q)
        rd_kafka_queue_destroy(w->replies_q);
    if (w->jobs_q)
        rd_kafka_queue_destroy(w->jobs_q);
    if (w->consumer)
        rd_kafka_destroy(w->consumer);
    if (w->replies) {
        rd_kafka_consumer_close(w->replies);
        rd_kafka_destroy(w->replies);
    }
    for (rd_kafka_t **p = (rd_kafka_t *[]){w->txn, w->infer}, **e = p + 2; p < e; p++) {
        if (*p) {
            rd_kafka_flush(*p, 10000);
            rd_kafka_destroy(*p);
        }
    }
    for (size_t i = 0; i < SPEC_CACHE; i++)
        xq_spec_destroy(w->specs[i]);
    xq_exindex_cache_destroy(w->excache);
    xq_idset_destroy(w->seen);
    xq_offsets_destroy(w->offsets);
    xq_gl_cache_destroy(w->gl);
    xq_free(w->recs);
    xq_redis_destroy(w->redis);
    xq_buf_fini(&w->buf);
    xq_conf_destroy(w->conf);
    xq_obs_destroy(w->obs);
}

int xq_cmd_worker(int argc, char **argv) {
    worker_t w;
    int rc;

    memset(&w, 0, sizeof(w));
    xq_buf_init(&w.buf);
    w.conf = xq_conf_new(options, OPT_CNT);
    w.obs = xq_obs_new_worker();
    if ((rc = configure(&w, argc, argv)) >= 0 || (rc = start_state(&w)) != 0)
        goto out;
    rc = XQ_EXIT_RUNTIME;
    if (!start_clients(&w) || !start_replies(&w))
        goto out;
    for (int tries = 0; !wk_txn_producer_start(&w); tries++) {
        if (w.fatal || tries >= 2)
            goto out;
    }
    subscribe(&w);
    xq_signals_install();
    xq_log(XQ_LOG_INFO, "worker", "started id=%s %s=%s replies=%s/%d redis=%s", w.id,
           w.stream ? "instances" : "jobs", w.source_topic, xq_conf_str(w.conf, "topic.replies"),
           (int)w.reply_partition, w.redis ? xq_conf_str(w.conf, "redis.url") : "none");
    run(&w);
    stop(&w);
    rc = w.fatal ? XQ_EXIT_RUNTIME : XQ_EXIT_OK;
out:
    teardown(&w);
    return rc;
}
