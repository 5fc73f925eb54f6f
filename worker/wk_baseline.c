/* wk_baseline.c -- model outputs at baselines, cached in the worker and in Redis by the row's
 * content. */
#include "names.h"
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
    xq_key_baseline(rkey, sizeof(rkey), m->name, key);
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
        xq_key_baseline(rkey, sizeof(rkey), m->name, key);
        xq_redis_set(w->redis, rkey, (const uint8_t *)out, out_cnt * sizeof(float), w->job_ttl_ms,
                     &err);
    }
}

/*
 * Before a forward batch is sent the first time: rows at a baseline whose
 * output is known take it from the cache, a baseline row equal to one sent in
 * the same batch takes that one's output once the reply is in
 * (wk_baseline_dups()), and only the others are sent; the keys of the
 * baseline rows sent are kept, to cache their outputs. Nothing is copied: the
 * request packs the rows sent from the batch's own buffers.
 */
void wk_use_baseline_cache(worker_t *w, batch_t *b) {
    xq_rows_t *r = &b->sb.rows;
    size_t hits = 0, baselines = 0;

    b->key_cnt = b->sel_cnt = b->dup_cnt = 0;
    b->subset = false;
    if (b->sb.grad)
        return;
    for (size_t i = 0; i < r->cnt; i++)
        baselines += r->baseline[i];
    if (!baselines)
        return;
    if (baselines > b->key_cap) {
        b->key_cap = baselines;
        b->key_row = xq_reallocarray(b->key_row, b->key_cap, sizeof(*b->key_row));
        b->keys = xq_reallocarray(b->keys, b->key_cap, sizeof(*b->keys));
        b->dup_row = xq_reallocarray(b->dup_row, b->key_cap, sizeof(*b->dup_row));
        b->dup_of = xq_reallocarray(b->dup_of, b->key_cap, sizeof(*b->dup_of));
    }
    if (r->cnt > b->sel_cap) {
        b->sel_cap = r->cap;
        b->sel = xq_reallocarray(b->sel, b->sel_cap, sizeof(*b->sel));
    }
    for (size_t i = 0; i < r->cnt; i++) {
        const float *hit;
        size_t k = 0;

        if (r->baseline[i]) {
            baseline_key(b, i, b->keys[b->key_cnt]);
            if ((hit = baseline_get(w, b->model, b->keys[b->key_cnt], r->out_cnt))) {
                memcpy(r->out + i * r->out_cnt, hit, r->out_cnt * sizeof(float));
                hits++;
                continue;
            }
            /* a spec's instances share their baselines: one row of each goes */
            while (k < b->key_cnt && strcmp(b->keys[k], b->keys[b->key_cnt]) != 0)
                k++;
            if (k < b->key_cnt) {
                b->dup_row[b->dup_cnt] = i;
                b->dup_of[b->dup_cnt++] = k;
                hits++;
                continue;
            }
            b->key_row[b->key_cnt++] = i;
        }
        b->sel[b->sel_cnt++] = i;
    }
    xq_obs_baseline(w->obs, hits, baselines - hits);
    w->baseline_hits += hits;
    b->subset = hits > 0; /* send the rest only */
    b->local = b->sel_cnt == 0;
}

void wk_baseline_dups(batch_t *b) {
    xq_rows_t *r = &b->sb.rows;

    for (size_t d = 0; d < b->dup_cnt; d++)
        memcpy(r->out + b->dup_row[d] * r->out_cnt, r->out + b->key_row[b->dup_of[d]] * r->out_cnt,
               r->out_cnt * sizeof(float));
}
