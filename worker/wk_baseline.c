/* wk_baseline.c -- model outputs at baselines, cached in the worker and in Redis by the row's
 * content. */
#include "worker_int.h"

/* The content key of baseline row @p i: sha256 of the model name and the row's values. */
static void baseline_key(const batch_t *b, size_t i, char *key) {
    const xq_rows_t *r = &b->sb.rows;
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

void wk_baseline_put(
    worker_t *w, model_ent_t *m, const char *key, const float *out, size_t out_cnt) {
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
void wk_use_baseline_cache(worker_t *w, batch_t *b) {
    xq_rows_t *r = &b->sb.rows;
    size_t hits = 0, baselines = 0;
    const float **hit;

    if (b->sb.grad)
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
        xq_rows_reset(&b->send, b->sb.shape, r->out_cnt, false);
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
