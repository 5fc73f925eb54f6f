/*
 * test_exindex.c -- example indexes through the real Redis: chunked storage
 * round-trips and answers identically from a new client (a worker restart);
 * unknown ids, lost chunks and altered bytes give clear errors. Needs
 * REDIS_URL; run by 0009-exindex.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exindex.h"
#include "itest.h"
#include "log.h"
#include "redis.h"
#include "rng.h"

static int failures;

enum {
    N = 2000,
    DIM = 16,
    NQ = 50,
    K = 10,
    CHUNK = 8192
};

static float *gaussian(size_t n, uint64_t seed) {
    float *x = malloc(n * DIM * sizeof(float));
    xq_rng_t r;

    xq_rng_init(&r, seed, 0);
    for (size_t i = 0; i < n * DIM; i++)
        x[i] = (float)xq_rng_normal(&r);
    return x;
}

static xq_exindex_t *preset(const float *x, xq_index_query_t q) {
    xq_exindex_t *p = xq_calloc(1, sizeof(*p));
    xq_error_t err = {0};
    char id[32];

    if (xq_index_new(DIM, XQ_INDEX_COSINE, q, &p->index, &err) != XQ_OK ||
        xq_index_add(p->index, x, N, &err) != XQ_OK) {
        fprintf(stderr, "index: %s\n", err.msg);
        exit(1);
    }
    p->ids = xq_calloc(N, sizeof(*p->ids));
    p->tags = xq_calloc(N, sizeof(*p->tags));
    for (p->id_cnt = 0; p->id_cnt < N; p->id_cnt++) {
        snprintf(id, sizeof(id), "ex-%zu", p->id_cnt);
        p->ids[p->id_cnt] = xq_strdup(id);
        snprintf(id, sizeof(id), "t%zu", p->id_cnt % 5);
        p->tags[p->id_cnt] = xq_strdup(id);
    }
    p->neighbor_count = 7;
    return p;
}

static xq_redis_t *client(const char *url) {
    xq_error_t err = {0};
    xq_redis_t *r = xq_redis_new(url, 2000, &err);

    if (!r) {
        fprintf(stderr, "test_exindex: %s: %s\n", url, err.msg);
        exit(2);
    }
    return r;
}

static void round_trip(const char *url, const float *x, const float *q, xq_index_query_t kind) {
    xq_redis_t *a = client(url), *b = client(url);
    xq_exindex_t *p = preset(x, kind), *back = NULL;
    char id[XQ_EXINDEX_ID_LEN + 1], id2[XQ_EXINDEX_ID_LEN + 1];
    float d1[NQ * K], d2[NQ * K];
    int64_t i1[NQ * K], i2[NQ * K];
    xq_error_t err = {0};
    xq_err_t rc;

    rc = xq_exindex_put(a, p, CHUNK, id, &err);
    CHECK(rc == XQ_OK, "put: %s", err.msg);
    /* a new client, as after a worker restart, gets the same index back */
    rc = xq_exindex_get(b, id, &back, &err);
    CHECK(rc == XQ_OK, "get: %s", err.msg);
    if (rc != XQ_OK)
        exit(1);
    CHECK(back->id_cnt == N && back->neighbor_count == 7, "%zu ids", back->id_cnt);
    CHECK(strcmp(back->ids[1234], "ex-1234") == 0, "id 1234 is %s", back->ids[1234]);
    CHECK(back->tags && strcmp(back->tags[1234], "t4") == 0, "the crowding tags were lost");
    CHECK(xq_index_search(p->index, q, NQ, K, d1, i1, &err) == XQ_OK, "%s", err.msg);
    CHECK(xq_index_search(back->index, q, NQ, K, d2, i2, &err) == XQ_OK, "%s", err.msg);
    CHECK(memcmp(i1, i2, sizeof(i1)) == 0 && memcmp(d1, d2, sizeof(d1)) == 0,
          "answers differ after the round trip");
    /* content-addressed: storing it again names the same id */
    CHECK(xq_exindex_put(a, back, CHUNK, id2, &err) == XQ_OK && strcmp(id, id2) == 0, "%s != %s",
          id, id2);
    printf("exindex %s: %zu examples in chunks of %d bytes, same answers from a new client\n",
           kind == XQ_INDEX_FAST ? "FAST" : "PRECISE", back->id_cnt, CHUNK);
    xq_exindex_destroy(back);
    xq_exindex_destroy(p);
    xq_redis_destroy(a);
    xq_redis_destroy(b);
}

static void bad_input(const char *url, const float *x) {
    xq_redis_t *r = client(url);
    xq_exindex_t *p = preset(x, XQ_INDEX_PRECISE), *back = NULL;
    char id[XQ_EXINDEX_ID_LEN + 1], key[160];
    const char *unknown = "0000000000000000000000000000000000000000000000000000000000000000";
    xq_error_t err = {0};
    xq_buf_t b;

    CHECK(xq_exindex_get(r, unknown, &back, &err) == XQ_ENOTFOUND && strstr(err.msg, unknown),
          "unknown id: %s", err.msg);
    CHECK(xq_exindex_get(r, "not-an-id", &back, &err) == XQ_EINVAL &&
              strstr(err.msg, "64 hex digits"),
          "bad id: %s", err.msg);

    /* one altered byte in a chunk: the bytes no longer hash to the id */
    CHECK(xq_exindex_put(r, p, CHUNK, id, &err) == XQ_OK, "put: %s", err.msg);
    xq_buf_init(&b);
    snprintf(key, sizeof(key), XQ_EXINDEX_PREFIX "%s:2", id);
    CHECK(xq_redis_get(r, key, &b, &err) == XQ_OK, "%s", err.msg);
    b.data[100] ^= 1;
    CHECK(xq_redis_set(r, key, b.data, b.len, 0, &err) == XQ_OK, "%s", err.msg);
    CHECK(xq_exindex_get(r, id, &back, &err) == XQ_EDECODE && strstr(err.msg, "do not hash"),
          "altered: %s", err.msg);
    /* a lost chunk */
    CHECK(xq_redis_del(r, key, &err) == XQ_OK, "%s", err.msg);
    CHECK(xq_exindex_get(r, id, &back, &err) == XQ_EDECODE && strstr(err.msg, "chunk 2"),
          "lost chunk: %s", err.msg);
    CHECK(back == NULL, "a failed get returned a preset");
    printf("exindex: unknown id, bad id, altered and lost chunks give clear errors\n");
    xq_buf_fini(&b);
    xq_exindex_destroy(p);
    xq_redis_destroy(r);
}

/* Workers keep loaded indexes: many acquires, one load; idle ones beyond the capacity go. */
static void cache(const char *url, const float *x) {
    xq_redis_t *r = client(url);
    xq_exindex_t *p = preset(x, XQ_INDEX_PRECISE);
    xq_exindex_cache_t *c = xq_exindex_cache_new(1);
    const xq_exindex_t *got[3] = {0}, *again = NULL;
    char ids[2][XQ_EXINDEX_ID_LEN + 1];
    xq_error_t err = {0};

    CHECK(xq_exindex_put(r, p, CHUNK, ids[0], &err) == XQ_OK, "put: %s", err.msg);
    p->neighbor_count = 3; /* another preset, another id */
    CHECK(xq_exindex_put(r, p, CHUNK, ids[1], &err) == XQ_OK, "put: %s", err.msg);
    for (int i = 0; i < 1000; i++) {
        CHECK(xq_exindex_cache_acquire(c, r, ids[0], &got[0], &err) == XQ_OK, "%s", err.msg);
        xq_exindex_cache_release(c, got[0]);
    }
    CHECK(xq_exindex_cache_loads(c) == 1, "%llu loads for one index",
          (unsigned long long)xq_exindex_cache_loads(c));
    /* both in use: both stay, over the capacity */
    CHECK(xq_exindex_cache_acquire(c, r, ids[0], &got[0], &err) == XQ_OK, "%s", err.msg);
    CHECK(xq_exindex_cache_acquire(c, r, ids[1], &got[1], &err) == XQ_OK, "%s", err.msg);
    CHECK(got[0]->neighbor_count == 7 && got[1]->neighbor_count == 3, "wrong presets");
    xq_exindex_cache_release(c, got[1]);
    xq_exindex_cache_release(c, got[0]); /* now ids[1] is the least recently used idle one */
    CHECK(xq_exindex_cache_acquire(c, r, ids[0], &again, &err) == XQ_OK && again == got[0],
          "the recently used index was evicted");
    xq_exindex_cache_release(c, again);
    CHECK(xq_exindex_cache_acquire(c, r, ids[1], &again, &err) == XQ_OK, "%s", err.msg);
    xq_exindex_cache_release(c, again);
    CHECK(xq_exindex_cache_loads(c) == 3, "ids[1] should have been loaded again, loads %llu",
          (unsigned long long)xq_exindex_cache_loads(c));
    CHECK(xq_exindex_cache_acquire(c, r, "0123", &again, &err) == XQ_EINVAL && !again,
          "a bad id was accepted");
    printf("exindex: the cache loads an index once and evicts idle ones, least recent first\n");
    xq_exindex_cache_destroy(c);
    xq_exindex_destroy(p);
    xq_redis_destroy(r);
}

int main(void) {
    const char *url = getenv("REDIS_URL");
    float *x, *q;

    if (!url) {
        fprintf(stderr, "test_exindex: REDIS_URL must be set\n");
        return 2;
    }
    xq_log_set_level(XQ_LOG_WARN);
    x = gaussian(N, 1);
    q = gaussian(NQ, 2);
    round_trip(url, x, q, XQ_INDEX_PRECISE);
    round_trip(url, x, q, XQ_INDEX_FAST);
    bad_input(url, x);
    cache(url, x);
    free(x);
    free(q);
    if (failures)
        fprintf(stderr, "test_exindex: %d checks failed\n", failures);
    return failures ? 1 : 0;
}
