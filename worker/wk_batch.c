/* wk_batch.c -- the worker's models and batches: rows of many jobs into inference requests, replies
 * back into runs. */
#include "names.h"
#include "worker_int.h"

/*
 * Produces request @p b (its data handed to librdkafka, which frees it once delivered: no copy;
 * @p b is empty afterwards) to the model's topic, replies to this worker's partition.
 */
static void send_request(worker_t *w, const char *model, const char *corr, xq_buf_t *b) {
    char topic[256], part[16];
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_resp_err_t e;
    size_t len = 0;
    uint8_t *data = xq_buf_detach(b, &len);

    xq_name_infer_topic(topic, sizeof(topic), model);
    snprintf(part, sizeof(part), "%d", (int)w->reply_partition);
    rd_kafka_header_add(h, "reply.topic", -1, w->replies_topic, -1);
    rd_kafka_header_add(h, "reply.partition", -1, part, -1);
    e = rd_kafka_producev(w->infer, RD_KAFKA_V_TOPIC(topic),
                          RD_KAFKA_V_KEY((void *)(uintptr_t)corr, strlen(corr)),
                          RD_KAFKA_V_VALUE(data, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
                          RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (e) {
        /* left unanswered, it times out and is sent again */
        xq_log(XQ_LOG_WARN, "kafka", "request to %s not queued: %s", topic, rd_kafka_err2str(e));
        rd_kafka_headers_destroy(h);
        xq_free(data); /* librdkafka takes it only when queued */
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
    xq_buf_t req;

    snprintf(m->corr, sizeof(m->corr), "%s:d%llu", w->id, (unsigned long long)++w->seq);
    xq_buf_init(&req);
    xq_remote_describe_request(m->corr, &req);
    send_request(w, m->name, m->corr, &req);
    m->sent_ms = xq_now_ms();
    m->attempts++;
}

/* Rows of layout @p l one request takes: max.batch.rows, fewer for large rows (images), so a
 * request and its gradient reply stay under the brokers' message size. */
static size_t batch_rows(const worker_t *w, const xq_layout_t *l) {
    size_t by_bytes = xq_remote_rows_per_request(l->elem_total, w->max_request_bytes);

    return by_bytes < w->max_batch_rows ? by_bytes : w->max_batch_rows;
}

void wk_batch_free(batch_t *b) {
    xq_sched_batch_fini(&b->sb);
    xq_rows_fini(&b->anc);
    xq_free(b->ax);
    xq_free(b->abf);
    xq_free(b->abc);
    xq_free(b->sel);
    xq_free(b->key_row);
    xq_free(b->keys);
    xq_free(b->dup_row);
    xq_free(b->dup_of);
    xq_free(b);
}

/* Done with @p b (off every list): its buffers wait in the spare list for the next batch. */
void wk_batch_release(worker_t *w, batch_t *b) {
    batch_t keep;

    if (w->spare_cnt >= SPARE_BATCHES) {
        wk_batch_free(b);
        return;
    }
    memset(&keep, 0, sizeof(keep));
    keep.sb = b->sb;
    keep.sb.seg_cnt = keep.sb.rows.cnt = 0;
    keep.sel = b->sel;
    keep.sel_cap = b->sel_cap;
    keep.key_row = b->key_row;
    keep.keys = b->keys;
    keep.key_cap = b->key_cap;
    keep.dup_row = b->dup_row;
    keep.dup_of = b->dup_of;
    keep.anc = b->anc;
    keep.ax = b->ax;
    keep.abf = b->abf;
    keep.abc = b->abc;
    keep.a_cap = b->a_cap;
    *b = keep;
    b->next = w->spare;
    w->spare = b;
    w->spare_cnt++;
}

/* An empty batch for rows of @p m shaped like @p l: a spare of that shape if there is one. */
static batch_t *batch_new(worker_t *w, model_ent_t *m, bool grad, const xq_layout_t *l) {
    size_t out_cnt = xq_model_output(m->remote)->elem_cnt;
    batch_t **pick = NULL, *b;

    for (batch_t **p = &w->spare; *p && !pick; p = &(*p)->next) {
        const xq_rows_t *r = &(*p)->sb.rows;

        if (r->elem_total == l->elem_total && r->out_cnt == out_cnt)
            pick = p; /* xq_rows_reset() keeps buffers of the same shape */
    }
    if (!pick && w->spare)
        pick = &w->spare;
    if (pick) {
        b = *pick;
        *pick = b->next;
        w->spare_cnt--;
    } else {
        b = xq_calloc(1, sizeof(*b));
        xq_sched_batch_init(&b->sb);
    }
    b->next = NULL;
    b->model = m;
    xq_sched_batch_reset(&b->sb, m, grad, l, out_cnt, batch_rows(w, l));
    b->open_ms = xq_now_ms();
    return b;
}

static batch_t *batch_for(worker_t *w, model_ent_t *m, bool grad, const xq_layout_t *l) {
    batch_t *b;

    for (b = w->open; b; b = b->next) {
        if (xq_sched_batch_takes(&b->sb, m, grad, l))
            return b;
    }
    b = batch_new(w, m, grad, l);
    b->next = w->open;
    w->open = b;
    return b;
}

/* true when some row of segment @p sg says it is a point of a path (xq_rows_set_path()). */
static bool seg_has_path(const xq_rows_t *r, const xq_sched_seg_t *sg) {
    for (size_t i = sg->first; i < sg->first + sg->cnt; i++) {
        if (r->path_b[i] >= 0)
            return true;
    }
    return false;
}

/*
 * The anchors of a compact request (compact.h): each live segment's instance and baselines,
 * in the rows' own tensor order, and per row the anchors it may be made of. Rows of dropped
 * jobs, of runs with no more rows than anchors, of gradient runs whose rows are not on a path
 * (SmoothGrad noise, blurred baselines), and past XQ_COMPACT_MAX_ANCHORS anchors go as they are.
 */
static void compact_anchors(batch_t *b) {
    const xq_rows_t *r = &b->sb.rows;

    if (r->cap > b->a_cap) {
        b->a_cap = r->cap;
        b->ax = xq_reallocarray(b->ax, b->a_cap, sizeof(*b->ax));
        b->abf = xq_reallocarray(b->abf, b->a_cap, sizeof(*b->abf));
        b->abc = xq_reallocarray(b->abc, b->a_cap, sizeof(*b->abc));
    }
    const xq_layout_t *prev = NULL; /* the last run given anchors, and its baselines' */
    uint32_t prev_b = 0;

    xq_rows_reset(&b->anc, b->sb.shape, r->out_cnt, false);
    for (size_t s = 0; s < b->sb.seg_cnt; s++) {
        const xq_sched_seg_t *sg = &b->sb.seg[s];
        const xq_layout_t *l = sg->layout;
        uint32_t xa = XQ_COMPACT_NONE, bf = 0;

        /* anchors cost as much as rows: only for runs sending more rows than anchors (not the
         * instance and baseline rows alone, which go as they are) */
        if (sg->owner && sg->cnt > 1 + l->baseline_cnt &&
            b->anc.cnt + 1 + l->baseline_cnt <= XQ_COMPACT_MAX_ANCHORS &&
            (!b->sb.grad || seg_has_path(r, sg))) {
            xa = (uint32_t)xq_rows_add(&b->anc, l->x, -1);
            /* instances of one spec share their baselines: sent once */
            if (prev && prev->baseline_cnt == l->baseline_cnt &&
                !memcmp(prev->base, l->base, l->baseline_cnt * l->elem_total * sizeof(float))) {
                bf = prev_b;
            } else {
                bf = (uint32_t)b->anc.cnt;
                for (size_t k = 0; k < l->baseline_cnt; k++)
                    xq_rows_add(&b->anc, l->base + k * l->elem_total, -1);
                prev = l;
                prev_b = bf;
            }
        }
        for (size_t i = sg->first; i < sg->first + sg->cnt; i++) {
            b->ax[i] = xa;
            b->abf[i] = bf;
            b->abc[i] = xa == XQ_COMPACT_NONE ? 0 : (uint32_t)l->baseline_cnt;
        }
    }
}

/* true when some forward row needs one output element only (its hint: see xq_rows_add()). */
static bool wants_pick(const xq_rows_t *r) {
    for (size_t i = 0; i < r->cnt; i++) {
        if (r->grad_index[i] >= 0)
            return true;
    }
    return false;
}

/* Sends @p b (first time or again) as one inference request. */
static void batch_send(worker_t *w, batch_t *b) {
    const xq_rows_t *r;
    xq_compact_rows_t cr[XQ_CODEC_MAX_TENSORS], *compact;
    xq_buf_t msg;

    if (b->model->local) {
        /* a local model: evaluated now, completed like a reply by wk_complete_local() */
        if (xq_rows_eval(&b->sb.rows, b->model->remote, w->max_batch_rows, &b->local_err) != XQ_OK)
            b->local_failed = true;
        b->local = true;
    } else if (!b->sent) {
        wk_use_baseline_cache(w, b);
    }
    if (b->local) {
        if (!b->sent)
            w->inflight_rows += b->sb.rows.cnt; /* wk_complete_local() takes them off */
        b->sent = true; /* answered from the cache or here: handled like a reply */
        b->sent_ms = xq_now_ms();
        return;
    }
    r = &b->sb.rows;
    const float *data[XQ_CODEC_MAX_TENSORS];
    xq_batch_t req = {.rows = b->subset ? b->sel_cnt : r->cnt,
                      .tensor_cnt = r->tensor_cnt,
                      .names = r->names,
                      .data = data,
                      .grad = b->sb.grad,
                      .grad_index = r->grad_index};

    for (size_t t = 0; t < r->tensor_cnt && t < XQ_CODEC_MAX_TENSORS; t++)
        data[t] = r->in[t];
    if (!b->corr[0])
        snprintf(b->corr, sizeof(b->corr), "%s:%llu", w->id, (unsigned long long)++w->seq);
    xq_buf_init(&msg);
    /* version 1 has forward rows (masks), 2 gradient rows too (paths); NULL: plain tensors */
    compact = b->model->compact >= (b->sb.grad ? 2u : 1u) && r->tensor_cnt <= XQ_CODEC_MAX_TENSORS
                  ? cr
                  : NULL;
    if (compact) {
        /* rows to a runner that expands them: masks and paths over instances and baselines */
        compact_anchors(b);
        for (size_t t = 0; t < r->tensor_cnt; t++)
            cr[t] = (xq_compact_rows_t){.rows = req.rows,
                                        .elems = r->elem_cnt[t],
                                        .data = r->in[t],
                                        .sel = b->subset ? b->sel : NULL,
                                        .anchors = b->anc.in[t],
                                        .anchor_cnt = b->anc.cnt,
                                        .x = b->ax,
                                        .b_first = b->abf,
                                        .b_cnt = b->abc,
                                        .path_b = b->model->compact >= 2 ? r->path_b : NULL,
                                        .alpha = r->path_alpha};
        if (b->sb.grad && !b->anc.cnt)
            compact = NULL; /* no row on a path (SmoothGrad): plain rows cost less */
    }
    /* one allocation: the tensors, the gradient indices and room for the names and headers */
    if (compact)
        xq_buf_reserve(&msg, req.rows * ((r->elem_total + 7) / 8 + 13 * r->tensor_cnt) +
                                 b->anc.cnt * r->elem_total * sizeof(float) + 4096);
    else
        xq_buf_reserve(&msg, req.rows * (r->elem_total * sizeof(float) + 8) + 4096);
    b->pick = b->model->compact && !b->sb.grad && wants_pick(r);
    xq_remote_pack_request(b->model->remote, b->corr, &req, b->subset ? b->sel : NULL, compact,
                           b->pick ? r->grad_index : NULL, &msg);
    send_request(w, b->model->name, b->corr, &msg);
    xq_obs_rows_sent(w->obs, b->model->name, req.rows);
    if (!b->sent)
        w->inflight_rows += b->sb.rows.cnt;
    b->sent = true;
    b->sent_ms = xq_now_ms();
    b->attempts++;
}

/* Moves full or lingering open batches to the in-flight list. */
void wk_flush_batches(worker_t *w, bool all) {
    long long t = xq_now_ms();

    for (batch_t **p = &w->open; *p;) {
        batch_t *b = *p;

        if (b->sb.rows.cnt &&
            (all || xq_sched_batch_full(&b->sb) || t - b->open_ms >= w->linger_ms)) {
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
    size_t limit = w->max_inflight_rows;

    for (job_t *j = w->jobs; j && w->inflight_rows < limit; j = j->next) {
        bool all = true;

        if (j->state != J_RUNNING || !j->dirty)
            continue;
        for (size_t i = 0; i < j->n; i++) {
            xq_step_t step;
            batch_t *b;

            if (j->busy[i] || (step = xq_run_next(j->runs[i])) == XQ_STEP_DONE)
                continue;
            if (w->inflight_rows >= limit) {
                all = false; /* back-pressure: the rest waits for replies */
                break;
            }
            b = batch_for(w, j->model, step == XQ_STEP_GRADIENT, j->layouts[i]);
            xq_sched_batch_plan(&b->sb, j, i, j->runs[i], j->layouts[i]);
            j->busy[i] = true;
            if (xq_sched_batch_full(&b->sb))
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
    if (xq_sched_batch_owners(&b->sb) < 2)
        return false;
    for (size_t s = 0; s < b->sb.seg_cnt; s++) {
        const xq_sched_seg_t *sg = &b->sb.seg[s];
        batch_t *nb;

        if (!sg->owner)
            continue;
        nb = batch_new(w, b->model, b->sb.grad, sg->layout);
        xq_sched_batch_move(&nb->sb, &b->sb, s);
        batch_send(w, nb);
        nb->next = w->inflight;
        w->inflight = nb;
    }
    return true;
}

/* The reply to batch @p b: outputs (and gradients) into its rows, then every segment reduces. */
static void batch_reply(worker_t *w, batch_t *b, const msgpack_object *reply) {
    xq_rows_t *r = &b->sb.rows;
    xq_error_t err;
    bool ok = true, runner_error = false;

    if (b->local_failed) {
        xq_error_set(&err, XQ_EMODEL, "model", "model %s: %s", b->model->name, b->local_err.msg);
        runner_error = true;
        ok = false;
    } else if (reply) {
        xq_infer_reply_dst_t dst = {.model = b->model->name,
                                    .rows = b->subset ? b->sel_cnt : r->cnt,
                                    .row_map = b->subset ? b->sel : NULL,
                                    .pick = b->pick ? r->grad_index : NULL,
                                    .out = r->out,
                                    .out_cnt = r->out_cnt,
                                    .grad_cnt = b->sb.grad ? r->tensor_cnt : 0,
                                    .grad_names = r->names,
                                    .grad_elems = r->elem_cnt,
                                    .grads = r->gout};

        ok = xq_infer_reply_decode(reply, &dst, &runner_error, &err) == XQ_OK;
        if (ok)
            wk_baseline_dups(b);
        for (size_t k = 0; ok && k < b->key_cnt; k++)
            wk_baseline_put(w, b->model, b->keys[k], r->out + b->key_row[k] * r->out_cnt,
                            r->out_cnt);
    } /* else every output came from the baseline cache, or a local model */
    if (!ok && runner_error && batch_split(w, b)) {
        /* the error may be one instance's doing: each job's rows go again alone */
        xq_log(XQ_LOG_INFO, "worker",
               "model %s: error for a shared request; each job's rows go again alone",
               b->model->name);
        return; /* the segments now belong to the new requests */
    }
    for (size_t s = 0; s < b->sb.seg_cnt; s++) {
        xq_sched_seg_t *sg = &b->sb.seg[s];
        job_t *j = sg->owner;

        if (!j)
            continue; /* its job was dropped meanwhile */
        j->busy[sg->index] = false;
        j->dirty = true;
        if (!ok)
            wk_job_fail(j, &err);
        else if (!j->failed)
            xq_run_reduce(sg->run, r, sg->first, sg->cnt);
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
            const msgpack_object *c = xq_mp_map_get(&msg.data, "compact");

            /* each version adds to the last: a runner announcing a later one expands ours */
            m->compact = 0;
            if (w->compact_requests && c && c->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                m->compact =
                    c->via.u64 < XQ_COMPACT_VERSION ? (unsigned)c->via.u64 : XQ_COMPACT_VERSION;
            xq_log(XQ_LOG_INFO, "worker", "model %s: %zu inputs, output %s%s%.0u", m->name,
                   xq_model_input_cnt(m->remote), xq_model_output(m->remote)->name,
                   m->compact ? ", compact requests v" : "", m->compact); /* %.0u: "" for 0 */
        }
        goto out;
    }
    for (batch_t **p = &w->inflight; *p; p = &(*p)->next) {
        batch_t *b = *p;

        if (!xq_mp_str_eq(id, b->corr))
            continue;
        *p = b->next;
        w->inflight_rows -= b->sb.rows.cnt;
        xq_obs_reply(w->obs, b->model->name, b->subset ? b->sel_cnt : b->sb.rows.cnt,
                     xq_now_ms() - b->sent_ms);
        batch_reply(w, b, &msg.data);
        wk_batch_release(w, b);
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
        w->inflight_rows -= b->sb.rows.cnt;
        batch_reply(w, b, NULL);
        wk_batch_release(w, b);
    }
}

/* Requests without a reply in time are sent again; after the last retry their jobs fail. */
void wk_check_timeouts(worker_t *w) {
    long long t = xq_now_ms(), timeout = w->request_timeout_ms;
    int retries = w->request_retries;
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
        w->inflight_rows -= b->sb.rows.cnt;
        xq_error_set(&err, XQ_ETIMEOUT, "model", "model %s did not answer %d requests in time",
                     b->model->name, b->attempts);
        for (size_t s = 0; s < b->sb.seg_cnt; s++) {
            job_t *j = b->sb.seg[s].owner;

            if (j) {
                j->busy[b->sb.seg[s].index] = false;
                j->dirty = true;
                wk_job_fail(j, &err);
            }
        }
        wk_batch_release(w, b);
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
