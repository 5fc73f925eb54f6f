/* wk_batch.c -- the worker's models and batches: rows of many jobs into inference requests, replies
 * back into runs. */
#include "names.h"
#include "worker_int.h"

static void send_request(worker_t *w, const char *model, const char *corr, const xq_buf_t *b) {
    char topic[256], part[16];
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_resp_err_t e;

    xq_name_infer_topic(topic, sizeof(topic), model);
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

model_ent_t *wk_model_get(worker_t *w, const char *name) {
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

void wk_model_describe(worker_t *w, model_ent_t *m) {
    snprintf(m->corr, sizeof(m->corr), "%s:d%llu", w->id, (unsigned long long)++w->seq);
    w->buf.len = 0;
    xq_remote_describe_request(m->corr, &w->buf);
    send_request(w, m->name, m->corr, &w->buf);
    m->sent_ms = xq_now_ms();
    m->attempts++;
}

void wk_batch_free(batch_t *b) {
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
    b->open_ms = xq_now_ms();
    b->next = w->open;
    w->open = b;
    return b;
}

/* Sends @p b (first time or again) as one inference request. */
static void batch_send(worker_t *w, batch_t *b) {
    const xq_rows_t *r;

    if (b->model->local) {
        /* a local model: evaluated now, completed like a reply by wk_complete_local() */
        if (xq_rows_eval(&b->rows, b->model->remote, w->max_batch_rows, &b->local_err) != XQ_OK)
            b->local_failed = true;
        b->local = true;
    } else if (!b->sent) {
        wk_use_baseline_cache(w, b);
    }
    if (b->local) {
        if (!b->sent)
            w->inflight_rows += b->rows.cnt; /* wk_complete_local() takes them off */
        b->sent = true; /* answered from the cache or here: handled like a reply */
        b->sent_ms = xq_now_ms();
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
    b->sent_ms = xq_now_ms();
    b->attempts++;
}

/* Rows of layout @p l one request takes: max.batch.rows, fewer for large rows (images), so a
 * request and its gradient reply stay under the brokers' message size. */
static size_t batch_rows(const worker_t *w, const xq_layout_t *l) {
    size_t by_bytes = xq_remote_rows_per_request(l->elem_total, w->max_request_bytes);

    return by_bytes < w->max_batch_rows ? by_bytes : w->max_batch_rows;
}

/* Moves full or lingering open batches to the in-flight list. */
void wk_flush_batches(worker_t *w, bool all) {
    long long t = xq_now_ms(), linger = (long long)xq_conf_num(w->conf, "batch.linger.ms");

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
void wk_plan(worker_t *w) {
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
                wk_flush_batches(w, false);
        }
        j->dirty = !all;
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
        nb->open_ms = xq_now_ms();
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
                        wk_baseline_put(w, b->model, b->keys[k], t.data + k * r->out_cnt,
                                        r->out_cnt);
                }
            } else {
                memcpy(r->out, t.data, t.cnt * sizeof(float));
                for (size_t i = 0; b->keys && i < r->cnt; i++) {
                    if (b->keys[i][0])
                        wk_baseline_put(w, b->model, b->keys[i], t.data + i * r->out_cnt,
                                        r->out_cnt);
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
            wk_job_fail(sg->job, &err);
        else if (!sg->job->failed)
            xq_run_reduce(sg->job->runs[sg->run], r, sg->first, sg->cnt);
    }
}

void wk_handle_reply(worker_t *w, const rd_kafka_message_t *rkm) {
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
                     xq_now_ms() - b->sent_ms);
        batch_reply(w, b, &msg.data);
        wk_batch_free(b);
        break;
    }
    /* unknown ids (late, duplicate, another worker's) are dropped */
out:
    msgpack_unpacked_destroy(&msg);
}

/* Batches answered from the baseline cache alone are done without a request. */
void wk_complete_local(worker_t *w) {
    for (batch_t **p = &w->inflight; *p;) {
        batch_t *b = *p;

        if (!b->local) {
            p = &b->next;
            continue;
        }
        *p = b->next;
        w->inflight_rows -= b->rows.cnt;
        batch_reply(w, b, NULL);
        wk_batch_free(b);
    }
}

/* Requests without a reply in time are sent again; after the last retry their jobs fail. */
void wk_check_timeouts(worker_t *w) {
    long long t = xq_now_ms(), timeout = (long long)xq_conf_num(w->conf, "request.timeout.ms");
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
                wk_job_fail(b->seg[s].job, &err);
            }
        }
        wk_batch_free(b);
    }
    for (model_ent_t *m = w->models; m; m = m->next) {
        if (m->remote || m->failed || !m->corr[0] || t - m->sent_ms < timeout)
            continue;
        if (m->attempts <= retries) {
            wk_model_describe(w, m);
        } else {
            m->failed = true;
            xq_error_set(&m->err, XQ_ETIMEOUT, "model",
                         "no runner answered for model %s (is explainq runner --name %s up?)",
                         m->name, m->name);
        }
    }
}

/*
 * The models option: NAME=FILE pairs the worker evaluates itself, with the
 * backends of explainq runner (their first output, as a runner serves it).
 * Small models then need no round trip through the brokers.
 */
bool wk_load_local_models(worker_t *w) {
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
        m = wk_model_get(w, item);
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
