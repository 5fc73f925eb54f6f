/* wk_lease.c -- the worker's partition of the replies topic, leased in Redis. */
#include "names.h"
#include "worker_int.h"

int wk_reply_partitions(worker_t *w, int tries_max) {
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
int32_t wk_lease_partition(worker_t *w, int n) {
    char key[128];
    xq_error_t err;
    xq_buf_t cur;
    uint64_t h = xq_rng_seed_from(w->id);

    xq_buf_init(&cur);
    for (int k = 0; w->redis && k < n; k++) {
        int p = (int)((h + (uint64_t)k) % (uint64_t)n);

        xq_key_lease(key, sizeof(key), p);
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

void wk_renew_lease(worker_t *w) {
    char key[128];
    xq_error_t err;

    if (!w->redis || xq_now_ms() - w->last_lease_ms < 10000)
        return;
    w->last_lease_ms = xq_now_ms();
    xq_key_lease(key, sizeof(key), (int)w->reply_partition);
    xq_redis_set(w->redis, key, (const uint8_t *)w->id, strlen(w->id), 30000, &err);
}
