/* wk_jobs.c -- the worker's jobs: accepted from Kafka, their spec and runs, finished into results,
 * dropped. */
#include "names.h"
#include "worker_int.h"

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

/*
 * Batches that held rows of @p j (going): its segments are forgotten
 * (xq_sched_batch_forget(), which also takes the batch's tensor names from a
 * live job's layout if they were j's), and a batch left with no job goes too (a
 * late reply finds no owner), so nothing points into j once it is freed.
 */
static void forget_in_batches(worker_t *w, const job_t *j) {
    for (batch_t **lists[2] = {&w->open, &w->inflight}, ***l = lists; l < lists + 2; l++) {
        for (batch_t **p = *l; *p;) {
            batch_t *b = *p;

            if (!xq_sched_batch_forget(&b->sb, j)) {
                *p = b->next;
                if (b->sent)
                    w->inflight_rows -= b->sb.rows.cnt;
                wk_batch_release(w, b);
                continue;
            }
            p = &b->next;
        }
    }
}

/* Forgets @p j: its rows still in flight lose their owner, and it is freed. */
void wk_job_unlink(worker_t *w, job_t *j) {
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

void wk_progress(worker_t *w, const job_t *j, const char *state) {
    char key[XQ_JOB_ID_SIZE + 16], inst[32], done[32], started[32], updated[32];
    const char *fields[] = {"state", "instances", "done", "worker", "started", "updated", "error"};
    const char *values[] = {
        state, inst, done, w->id, started, updated, j->failed ? j->err.msg : ""};
    struct timespec now;

    if (!w->redis)
        return;
    /* best effort: progress is for people; the result topic is the record */
    clock_gettime(CLOCK_REALTIME, &now);
    xq_key_job(key, sizeof(key), j->id);
    snprintf(inst, sizeof(inst), "%zu", j->msg.instance_cnt);
    snprintf(done, sizeof(done), "%zu", strcmp(state, "done") ? j->done : j->n);
    snprintf(started, sizeof(started), "%lld",
             (long long)now.tv_sec * 1000 - (xq_now_ms() - j->start_ms));
    snprintf(updated, sizeof(updated), "%lld", (long long)now.tv_sec * 1000);
    /* not waited for: two round trips a job were a tenth of a worker's wall time */
    xq_redis_hset_nowait(w->redis, key, fields, values, j->failed ? 7 : 6, w->job_ttl_ms);
}

const char *wk_result_topic(const worker_t *w, const job_t *j) {
    return j->msg.output_topic[0] ? j->msg.output_topic : xq_conf_str(w->conf, "topic.results");
}

/*
 * Packs the job's one result; wk_publish() sends it when every earlier job of its
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
        /* failed alone (wk_reap): {"error": {...}} in its place, as explain writes it */
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
    msgpack_pack_int64(&pk, xq_now_ms() - j->start_ms);
    w->jobs_done++;
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
    xq_key_jobid(key, sizeof(key), j->id);
    xq_buf_init(&holder);
    /* Redis down: the window above is all there is, as without Redis */
    mine = xq_redis_claim(w->redis, key, where, w->job_ttl_ms, &holder, &err) != XQ_OK ||
           !holder.len || (holder.len == strlen(where) && !memcmp(holder.data, where, holder.len));
    if (!mine)
        xq_log_job(XQ_LOG_INFO, "worker", j->id,
                   "job %s: answered before at %.*s (a duplicate); skipped", j->id, (int)holder.len,
                   (const char *)holder.data);
    xq_buf_fini(&holder);
    return mine;
}

/* A job whose error may pass (a model that timed out, Redis down) frees its id for a retry. */
void wk_release_id(worker_t *w, const job_t *j) {
    char key[XQ_JOB_ID_SIZE + 32];
    xq_error_t err;

    if (w->stream || !j->id[0] || !j->failed ||
        (j->err.code != XQ_ETIMEOUT && j->err.code != XQ_EREDIS && j->err.code != XQ_EKAFKA))
        return;
    xq_idset_release(w->seen, xq_rng_seed_from(j->id));
    if (w->redis) {
        xq_key_jobid(key, sizeof(key), j->id);
        xq_redis_del(w->redis, key, &err);
    }
}

void wk_job_fail(job_t *j, const xq_error_t *e) {
    if (j->failed)
        return;
    j->failed = true;
    j->err = *e;
    j->state = J_DONE;
}

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
        if (rc != XQ_EREDIS || !w->redis || xq_now_ms() >= j->wait_until_ms)
            wk_job_fail(j, &err); /* else Redis is down: wait for it, as for specs */
        return;
    }

    j->n = j->msg.instance_cnt;
    j->layouts = xq_calloc(j->n, sizeof(*j->layouts));
    j->runs = xq_calloc(j->n, sizeof(*j->runs));
    j->busy = xq_calloc(j->n, sizeof(*j->busy));
    for (size_t i = 0; i < j->n; i++) {
        if (xq_layout_build(j->spec, j->model->remote, &j->msg.instances[i], i, &j->layouts[i],
                            &err) != XQ_OK) {
            wk_job_fail(j, &err);
            return;
        }
        if (j->layouts[i]->elem_total > (size_t)xq_conf_num(w->conf, "max.tensor.elements")) {
            xq_error_set(&err, XQ_ELIMIT, "instances",
                         "instance %zu has %zu elements, over "
                         "max.tensor.elements",
                         i, j->layouts[i]->elem_total);
            wk_job_fail(j, &err);
            return;
        }
        j->runs[i] = xq_run_new(j->spec, j->layouts[i], xq_model_output(j->model->remote), &ro, i);
        if (xq_run_next(j->runs[i]) == XQ_STEP_DONE && xq_run_status(j->runs[i], &err) != XQ_OK) {
            wk_job_fail(j, &err);
            return;
        }
    }
    j->state = J_RUNNING;
    j->dirty = true;
    wk_progress(w, j, "running");
}

/*
 * Puts an inline spec into Redis (a cache for jobs naming it by specId: failing is fine), once
 * a minute per id: jobs of one batch all carry the same spec, and a round trip per job was a
 * worker's largest wait.
 */
static void put_spec_once(worker_t *w, const xq_spec_t *spec) {
    long long now = xq_now_ms();
    xq_error_t err;

    for (size_t i = 0; i < SPEC_PUTS; i++) {
        if (strcmp(w->put_ids[i], spec->id) == 0 && now - w->put_ms[i] < SPEC_PUT_MS)
            return;
    }
    if (xq_redis_put_spec(w->redis, spec, &err) != XQ_OK)
        return;
    snprintf(w->put_ids[w->put_next], sizeof(w->put_ids[0]), "%s", spec->id);
    w->put_ms[w->put_next] = now;
    w->put_next = (w->put_next + 1) % SPEC_PUTS;
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
            wk_job_fail(j, &err);
        } else if (w->redis) {
            put_spec_once(w, j->spec);
        }
        xq_errlist_fini(&errs);
    } else if (!w->redis) {
        xq_error_set(&err, XQ_EREDIS, "specId", "specId needs Redis, which is not configured");
        wk_job_fail(j, &err);
    } else {
        for (size_t i = 0; i < SPEC_CACHE && !j->spec; i++) {
            if (w->specs[i] && strcmp(w->specs[i]->id, j->msg.spec_id) == 0)
                j->spec = w->specs[i];
        }
        if (!j->spec &&
            (rc = xq_redis_get_spec(w->redis, j->msg.spec_id, &j->spec, &err)) != XQ_OK) {
            if (rc == XQ_EREDIS && xq_now_ms() < j->wait_until_ms)
                return; /* Redis down: wait with backoff, then fail */
            if (!err.field[0])
                snprintf(err.field, sizeof(err.field), "specId"); /* Redis down: the spec is it */
            wk_job_fail(j, &err);
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
    j->start_ms = xq_now_ms();
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
        j->model = wk_model_get(w, j->msg.model);
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

void wk_accept_job(worker_t *w, const rd_kafka_message_t *rkm) {
    accept_bytes(w, rkm->payload, rkm->len, rkm);
}

/*
 * Streaming mode: a message is one instance (a JSON or msgpack object) or a
 * Vertex-style request log {"instances": [...]}. A sample of sample.rate is
 * kept, chosen by a hash of the offset so a replay keeps the same messages;
 * each becomes a job "<topic>-<partition>-<offset>", and its result is keyed
 * by that id.
 */
void wk_accept_instance(worker_t *w, const rd_kafka_message_t *rkm) {
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

/* After a reduce or a failure: jobs whose runs are all done are finished. */
void wk_reap(worker_t *w) {
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
                    wk_job_fail(j, &err);
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

/* Moves waiting jobs along: spec, then the model's description, then runs. */
void wk_advance(worker_t *w) {
    for (job_t *j = w->jobs; j; j = j->next) {
        if (j->state == J_WAIT_SPEC)
            resolve_spec(w, j);
        if (j->state == J_WAIT_MODEL) {
            model_ent_t *m = j->model;

            if (m->failed) {
                wk_job_fail(j, &m->err);
                /* a later job may find a runner: ask again then */
                m->failed = false;
                m->attempts = 0;
                m->corr[0] = '\0';
            } else if (m->remote) {
                start_runs(w, j);
            } else if (!m->corr[0]) {
                wk_model_describe(w, m);
            }
        }
    }
}

void wk_drop_jobs_of(worker_t *w, const rd_kafka_topic_partition_list_t *parts) {
    for (job_t *j = w->jobs, *next; j; j = next) {
        next = j->next;
        for (int i = 0; i < parts->cnt; i++) {
            if (parts->elems[i].partition == j->partition) {
                wk_job_unlink(w, j); /* the partition's new owner does it again */
                break;
            }
        }
    }
}

void wk_drop_all_jobs(worker_t *w) {
    while (w->jobs)
        wk_job_unlink(w, w->jobs);
}
