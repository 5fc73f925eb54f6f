/* test_index.c -- the example index: exact search against brute force, HNSW recall, metrics, bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "exindex.h"
#include "index.h"
#include "rng.h"
#include "suites.h"

/* @p n points around @p clusters centres in [-10, 10]^dim, unit noise: a known structure. */
static float *clustered(size_t n, size_t dim, size_t clusters, uint64_t seed) {
    float *c = calloc(clusters * dim, sizeof(float)), *x = calloc(n * dim, sizeof(float));
    xq_rng_t r;

    xq_rng_init(&r, seed, 0);
    for (size_t i = 0; i < clusters * dim; i++)
        c[i] = (float)(20 * xq_rng_uniform(&r) - 10);
    for (size_t i = 0; i < n; i++) {
        size_t k = xq_rng_below(&r, clusters);

        for (size_t j = 0; j < dim; j++)
            x[i * dim + j] = c[k * dim + j] + (float)xq_rng_normal(&r);
    }
    free(c);
    return x;
}

typedef struct {
    double d;
    int64_t id;
} cand_t;

static int by_distance(const void *a, const void *b) {
    const cand_t *x = a, *y = b;

    return x->d < y->d ? -1 : x->d > y->d ? 1 : (x->id > y->id) - (x->id < y->id);
}

/* The true k nearest by squared L2, in double, by sorting every distance (independent of FAISS). */
static void brute_force(
    const float *x, size_t n, size_t dim, const float *q, size_t k, int64_t *ids, double *dist) {
    cand_t *c = malloc(n * sizeof(*c));

    for (size_t i = 0; i < n; i++) {
        double s = 0;

        for (size_t j = 0; j < dim; j++) {
            double d = (double)x[i * dim + j] - (double)q[j];

            s += d * d;
        }
        c[i].d = s;
        c[i].id = (int64_t)i;
    }
    qsort(c, n, sizeof(*c), by_distance);
    for (size_t i = 0; i < k; i++) {
        ids[i] = c[i].id;
        dist[i] = c[i].d;
    }
    free(c);
}

static xq_index_t *
built(const float *x, size_t n, size_t dim, xq_index_metric_t m, xq_index_query_t q) {
    xq_index_t *ix;
    xq_error_t err = {0};

    ck_assert_int_eq(xq_index_new(dim, m, q, &ix, &err), XQ_OK);
    ck_assert_int_eq(xq_index_add(ix, x, n, &err), XQ_OK);
    ck_assert_uint_eq(xq_index_count(ix), n);
    return ix;
}

enum {
    N = 3000,
    DIM = 16,
    NQ = 100,
    K = 10
};

START_TEST(test_index_precise_is_brute_force) {
    float *x = clustered(N, DIM, 20, 1), *q = clustered(NQ, DIM, 20, 2);
    xq_index_t *ix = built(x, N, DIM, XQ_INDEX_SQUARED_L2, XQ_INDEX_PRECISE);
    float dist[NQ * K];
    int64_t ids[NQ * K], want[K];
    double wd[K];
    xq_error_t err = {0};

    ck_assert_int_eq(xq_index_search(ix, q, NQ, K, dist, ids, &err), XQ_OK);
    for (size_t i = 0; i < NQ; i++) {
        brute_force(x, N, DIM, q + i * DIM, K, want, wd);
        for (size_t j = 0; j < K; j++) {
            ck_assert_int_eq(ids[i * K + j], want[j]);
            ck_assert_double_eq_tol(dist[i * K + j], wd[j], 1e-4 * (1 + wd[j]));
        }
    }
    xq_index_destroy(ix);
    free(x);
    free(q);
}

END_TEST

START_TEST(test_index_fast_recall) {
    float *x = clustered(N, 32, 30, 3), *q = clustered(NQ, 32, 30, 4);
    xq_index_t *ix = built(x, N, 32, XQ_INDEX_SQUARED_L2, XQ_INDEX_FAST);
    float dist[NQ * K];
    int64_t ids[NQ * K], want[K];
    double wd[K];
    size_t hits = 0;
    xq_error_t err = {0};

    ck_assert_int_eq(xq_index_search(ix, q, NQ, K, dist, ids, &err), XQ_OK);
    for (size_t i = 0; i < NQ; i++) {
        brute_force(x, N, 32, q + i * 32, K, want, wd);
        for (size_t j = 0; j < K; j++) {
            for (size_t l = 0; l < K; l++)
                hits += ids[i * K + j] == want[l];
        }
    }
    ck_assert_msg(hits >= 0.95 * NQ * K, "recall@10 %.3f < 0.95", (double)hits / (NQ * K));
    xq_index_destroy(ix);
    free(x);
    free(q);
}

END_TEST

/* q = (1, 0) against points whose angle and length disagree: the two metrics order them apart. */
START_TEST(test_index_cosine_and_l2_orders) {
    const float x[] = {100, 100, 0.5f, 0, 3, 0.3f, 0, 1}; /* a 45°, b 0°, c 5.7°, d 90° */
    const float q[] = {1, 0};
    const int64_t by_angle[] = {1, 2, 0, 3}, by_l2[] = {1, 3, 2, 0};
    float dist[4];
    int64_t ids[4];
    xq_error_t err = {0};
    xq_index_t *cos = built(x, 4, 2, XQ_INDEX_COSINE, XQ_INDEX_PRECISE);
    xq_index_t *l2 = built(x, 4, 2, XQ_INDEX_SQUARED_L2, XQ_INDEX_PRECISE);

    ck_assert_int_eq(xq_index_search(cos, q, 1, 4, dist, ids, &err), XQ_OK);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(ids[i], by_angle[i]);
    ck_assert_double_eq_tol(dist[0], 0, 1e-6);
    ck_assert_double_eq_tol(dist[1], 1 - 3 / sqrt(9.09), 1e-6);
    ck_assert_double_eq_tol(dist[2], 1 - 1 / sqrt(2), 1e-6);
    ck_assert_double_eq_tol(dist[3], 1, 1e-6);

    ck_assert_int_eq(xq_index_search(l2, q, 1, 4, dist, ids, &err), XQ_OK);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(ids[i], by_l2[i]);
    ck_assert_double_eq_tol(dist[0], 0.25, 1e-6);
    ck_assert_double_eq_tol(dist[1], 2, 1e-6);
    ck_assert_double_eq_tol(dist[2], 4.09, 1e-5);
    ck_assert_double_eq_tol(dist[3], 99.0 * 99 + 100.0 * 100, 1e-2);
    xq_index_destroy(cos);
    xq_index_destroy(l2);
}

END_TEST

/* Saved and loaded, both kinds answer exactly as before; fewer points than k pad with -1. */
START_TEST(test_index_bytes_round_trip) {
    float *x = clustered(500, 8, 5, 5), *q = clustered(20, 8, 5, 6);
    float d1[20 * K], d2[20 * K];
    int64_t i1[20 * K], i2[20 * K];
    xq_error_t err = {0};

    for (int kind = XQ_INDEX_PRECISE; kind <= XQ_INDEX_FAST; kind++) {
        xq_index_t *ix = built(x, 500, 8, XQ_INDEX_COSINE, kind), *back;
        xq_buf_t b;

        xq_buf_init(&b);
        ck_assert_int_eq(xq_index_save(ix, &b, &err), XQ_OK);
        ck_assert_int_eq(xq_index_load(b.data, b.len, &back, &err), XQ_OK);
        ck_assert_uint_eq(xq_index_dim(back), 8);
        ck_assert_uint_eq(xq_index_count(back), 500);
        ck_assert_int_eq(xq_index_metric(back), XQ_INDEX_COSINE);
        ck_assert_int_eq(xq_index_query(back), kind);
        ck_assert_int_eq(xq_index_search(ix, q, 20, K, d1, i1, &err), XQ_OK);
        ck_assert_int_eq(xq_index_search(back, q, 20, K, d2, i2, &err), XQ_OK);
        ck_assert_mem_eq(i1, i2, sizeof(i1));
        ck_assert_mem_eq(d1, d2, sizeof(d1));
        xq_index_destroy(back);
        xq_index_destroy(ix);
        xq_buf_fini(&b);
    }

    xq_index_t *few = built(x, 3, 8, XQ_INDEX_SQUARED_L2, XQ_INDEX_PRECISE);
    ck_assert_int_eq(xq_index_search(few, q, 1, 5, d1, i1, &err), XQ_OK);
    ck_assert_int_ge(i1[2], 0);
    ck_assert_int_eq(i1[3], -1);
    ck_assert_int_eq(i1[4], -1);
    xq_index_destroy(few);
    free(x);
    free(q);
}

END_TEST

START_TEST(test_index_bad_input) {
    const float zero[4] = {0}, nan_row[4] = {1, NAN, 0, 0}, ok[4] = {1, 2, 3, 4};
    xq_index_t *ix, *back;
    xq_error_t err = {0};
    xq_buf_t b;

    ck_assert_int_eq(xq_index_new(0, XQ_INDEX_COSINE, XQ_INDEX_PRECISE, &ix, &err), XQ_EINVAL);
    ck_assert_str_eq(err.field, "index.dimensions");

    ck_assert_int_eq(xq_index_new(4, XQ_INDEX_COSINE, XQ_INDEX_FAST, &ix, &err), XQ_OK);
    ck_assert_int_eq(xq_index_add(ix, ok, 1, &err), XQ_OK);
    ck_assert_int_eq(xq_index_add(ix, zero, 1, &err), XQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "vector 0 has zero norm"));
    ck_assert_int_eq(xq_index_add(ix, nan_row, 1, &err), XQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "non-finite"));
    ck_assert_uint_eq(xq_index_count(ix), 1);

    /* bytes from Redis: wrong magic, other version, truncated, a flipped byte */
    xq_buf_init(&b);
    ck_assert_int_eq(xq_index_save(ix, &b, &err), XQ_OK);
    ck_assert_int_eq(xq_index_load("nope", 4, &back, &err), XQ_EDECODE);
    ck_assert_ptr_null(back);
    b.data[4] = 9;
    ck_assert_int_eq(xq_index_load(b.data, b.len, &back, &err), XQ_EDECODE);
    ck_assert_ptr_nonnull(strstr(err.msg, "version"));
    b.data[4] = 1;
    for (size_t cut = 0; cut < b.len; cut += b.len / 7 + 1) {
        ck_assert_int_eq(xq_index_load(b.data, cut, &back, &err), XQ_EDECODE);
        ck_assert_ptr_null(back);
    }
    b.data[b.len - 5] ^= 0x40;
    ck_assert_int_eq(xq_index_load(b.data, b.len, &back, &err), XQ_EDECODE);
    ck_assert_ptr_nonnull(strstr(err.msg, "checksum"));
    b.data[b.len - 5] ^= 0x40;
    ck_assert_int_eq(xq_index_load(b.data, b.len, &back, &err), XQ_OK);
    xq_index_destroy(back);
    xq_buf_fini(&b);
    xq_index_destroy(ix);
}

END_TEST

/* A preset's bytes carry the index, its ids and neighborCount; damaged bytes are refused. */
START_TEST(test_exindex_pack_round_trip) {
    float *x = clustered(50, 4, 3, 7);
    char *ids[50], *tags[50], name[16];
    xq_exindex_t p = {.ids = ids, .tags = tags, .id_cnt = 50, .neighbor_count = 5}, *back = NULL;
    xq_error_t err = {0};
    xq_buf_t b;

    for (size_t i = 0; i < 50; i++) {
        snprintf(name, sizeof(name), "row-%zu", i);
        ids[i] = strdup(name);
        tags[i] = strdup(i % 2 ? "odd" : "even");
    }
    p.index = built(x, 50, 4, XQ_INDEX_SQUARED_L2, XQ_INDEX_PRECISE);
    xq_buf_init(&b);
    ck_assert_int_eq(xq_exindex_pack(&p, &b, &err), XQ_OK);
    ck_assert_int_eq(xq_exindex_unpack(b.data, b.len, &back, &err), XQ_OK);
    ck_assert_uint_eq(back->id_cnt, 50);
    ck_assert_uint_eq(back->neighbor_count, 5);
    ck_assert_str_eq(back->ids[49], "row-49");
    ck_assert_str_eq(back->tags[49], "odd");
    ck_assert_uint_eq(xq_index_count(back->index), 50);
    xq_exindex_destroy(back);
    for (size_t cut = 0; cut < b.len; cut += b.len / 5 + 1) {
        ck_assert_int_eq(xq_exindex_unpack(b.data, cut, &back, &err), XQ_EDECODE);
        ck_assert_ptr_null(back);
    }
    p.id_cnt = 49; /* ids must match the index one for one */
    ck_assert_int_eq(xq_exindex_pack(&p, &b, &err), XQ_EINVAL);
    ck_assert_str_eq(err.field, "ids");
    xq_buf_fini(&b);
    xq_index_destroy(p.index);
    for (size_t i = 0; i < 50; i++) {
        free(ids[i]);
        free(tags[i]);
    }
    free(x);
}

END_TEST

Suite *index_suite(void) {
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_index_precise_is_brute_force);
    tcase_add_test(tc, test_index_fast_recall);
    tcase_add_test(tc, test_index_cosine_and_l2_orders);
    tcase_add_test(tc, test_index_bytes_round_trip);
    tcase_add_test(tc, test_index_bad_input);
    tcase_add_test(tc, test_exindex_pack_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
