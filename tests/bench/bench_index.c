/*
 * bench_index.c -- `make bench`: example-index build time and queries per
 * second, PRECISE (flat) and FAST (HNSW), at 10k and 100k examples of
 * dimension 64. Each line: "bench index=... n=...: build X s, Y queries/s".
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "index.h"
#include "rng.h"

enum {
    DIM = 64,
    CLUSTERS = 100,
    NQ = 1000,
    K = 10
};

static double now(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Clustered points: a uniform cloud would flatter HNSW less realistically. */
static float *points(size_t n, uint64_t seed) {
    float *c = malloc(CLUSTERS * DIM * sizeof(float)), *x = malloc(n * DIM * sizeof(float));
    xq_rng_t r;

    xq_rng_init(&r, seed, 0);
    for (size_t i = 0; i < CLUSTERS * DIM; i++)
        c[i] = (float)(20 * xq_rng_uniform(&r) - 10);
    for (size_t i = 0; i < n; i++) {
        size_t k = xq_rng_below(&r, CLUSTERS);

        for (size_t j = 0; j < DIM; j++)
            x[i * DIM + j] = c[k * DIM + j] + (float)xq_rng_normal(&r);
    }
    free(c);
    return x;
}

static void bench(size_t n, xq_index_query_t query) {
    float *x = points(n, 1), *q = points(NQ, 2), *dist = malloc(NQ * K * sizeof(float));
    int64_t *ids = malloc(NQ * K * sizeof(int64_t));
    xq_index_t *ix = NULL;
    xq_error_t err;
    double t0, build, dt;
    size_t done = 0;

    t0 = now();
    if (xq_index_new(DIM, XQ_INDEX_SQUARED_L2, query, &ix, &err) != XQ_OK ||
        xq_index_add(ix, x, n, &err) != XQ_OK) {
        fprintf(stderr, "bench: %s: %s\n", err.field, err.msg);
        exit(1);
    }
    build = now() - t0;
    t0 = now();
    do {
        /* one query at a time, as a worker asks for each instance */
        for (size_t i = 0; i < NQ; i++) {
            if (xq_index_search(ix, q + i * DIM, 1, K, dist + i * K, ids + i * K, &err) != XQ_OK) {
                fprintf(stderr, "bench: %s\n", err.msg);
                exit(1);
            }
        }
        done += NQ;
    } while ((dt = now() - t0) < 0.5);
    printf("bench index=%-7s n=%-6zu dim=%d k=%d: build %7.2f s, %10.0f queries/s\n",
           query == XQ_INDEX_FAST ? "FAST" : "PRECISE", n, DIM, K, build, (double)done / dt);
    xq_index_destroy(ix);
    free(x);
    free(q);
    free(dist);
    free(ids);
}

int main(void) {
    static const size_t sizes[] = {10000, 100000};

    for (size_t s = 0; s < 2; s++) {
        bench(sizes[s], XQ_INDEX_PRECISE);
        bench(sizes[s], XQ_INDEX_FAST);
    }
    return 0;
}
