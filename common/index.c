/* index.c -- nearest-neighbour search over example embeddings, on FAISS through faiss_shim. */
#include "index.h"

#include <math.h>
#include <string.h>

#include "faiss_shim.h"
#include "sha256.h"

#define MAGIC   "XQIX"
#define VERSION 1
/* magic 4, version 4, metric 1, query 1, pad 2, dim 4, count 8, payload length 8, SHA-256 32 */
#define HEADER_LEN 64
#define HNSW_M     32 /* links per node: FAISS's usual choice for recall above 0.95 */
#define MAX_DIM    65536

struct xq_index {
    xq_faiss_t *f;
    xq_index_metric_t metric;
    xq_index_query_t query;
    size_t dim;
};

static xq_err_t faiss_error(xq_error_t *err, const char *what, const char *msg) {
    return xq_error_set(err, XQ_EINVAL, "index", "%s: %s", what, msg);
}

xq_err_t xq_index_new(size_t dim,
                      xq_index_metric_t metric,
                      xq_index_query_t query,
                      xq_index_t **out,
                      xq_error_t *err) {
    char msg[256];
    xq_index_t *ix;

    *out = NULL;
    if (dim < 1 || dim > MAX_DIM)
        return xq_error_set(err, XQ_EINVAL, "index.dimensions", "%zu is outside [1, %d]", dim,
                            MAX_DIM);
    ix = xq_calloc(1, sizeof(*ix));
    ix->metric = metric;
    ix->query = query;
    ix->dim = dim;
    if (xq_faiss_new(dim, metric == XQ_INDEX_COSINE, query == XQ_INDEX_FAST ? HNSW_M : 0, &ix->f,
                     msg, sizeof(msg)) != 0) {
        xq_free(ix);
        return faiss_error(err, "cannot create the index", msg);
    }
    *out = ix;
    return XQ_OK;
}

/*
 * Vectors as FAISS should see them: all finite, and for cosine unit-length
 * copies in @p *out (inner product on the sphere; NULL otherwise, the
 * caller's own vectors then serve).
 */
static xq_err_t prepare(const xq_index_t *ix,
                        const float *v,
                        size_t n,
                        const char *what,
                        float **out,
                        xq_error_t *err) {
    float *u;

    *out = NULL;
    for (size_t i = 0; i < n * ix->dim; i++) {
        if (!isfinite(v[i]))
            return xq_error_set(err, XQ_EINVAL, "index", "%s %zu has a non-finite value", what,
                                i / ix->dim);
    }
    if (ix->metric != XQ_INDEX_COSINE)
        return XQ_OK;
    if (!(u = xq_try_malloc(n * ix->dim * sizeof(float))))
        return xq_error_set(err, XQ_ENOMEM, "index", "no memory for %zu vectors", n);
    for (size_t i = 0; i < n; i++) {
        const float *x = v + i * ix->dim;
        double ss = 0; /* finite: float squares cannot overflow a double sum */

        for (size_t j = 0; j < ix->dim; j++)
            ss += (double)x[j] * (double)x[j];
        if (ss == 0) {
            xq_free(u);
            return xq_error_set(err, XQ_EINVAL, "index",
                                "%s %zu has zero norm, so its cosine distance is undefined", what,
                                i);
        }
        for (size_t j = 0; j < ix->dim; j++)
            u[i * ix->dim + j] = (float)((double)x[j] / sqrt(ss));
    }
    *out = u;
    return XQ_OK;
}

xq_err_t xq_index_add(xq_index_t *ix, const float *vecs, size_t n, xq_error_t *err) {
    char msg[256];
    float *u = NULL;
    xq_err_t rc;

    if ((rc = prepare(ix, vecs, n, "vector", &u, err)) != XQ_OK)
        return rc;
    if (xq_faiss_add(ix->f, n, u ? u : vecs, msg, sizeof(msg)) != 0)
        rc = faiss_error(err, "cannot add to the index", msg);
    xq_free(u);
    return rc;
}

xq_err_t xq_index_search(const xq_index_t *ix,
                         const float *queries,
                         size_t nq,
                         size_t k,
                         float *dist,
                         int64_t *ids,
                         xq_error_t *err) {
    char msg[256];
    float *u = NULL;
    xq_err_t rc;

    if (k < 1)
        return xq_error_set(err, XQ_EINVAL, "neighborCount", "must be at least 1");
    if ((rc = prepare(ix, queries, nq, "query", &u, err)) != XQ_OK)
        return rc;
    if (xq_faiss_search(ix->f, nq, u ? u : queries, k, dist, ids, msg, sizeof(msg)) != 0) {
        rc = faiss_error(err, "search failed", msg);
    } else if (ix->metric == XQ_INDEX_COSINE) {
        /* FAISS ranks by inner product, largest first; report 1 - cos, smallest first */
        for (size_t i = 0; i < nq * k; i++)
            dist[i] = ids[i] < 0 ? INFINITY : 1.0f - dist[i];
    } else {
        for (size_t i = 0; i < nq * k; i++)
            dist[i] = ids[i] < 0 ? INFINITY : dist[i];
    }
    xq_free(u);
    return rc;
}

size_t xq_index_dim(const xq_index_t *ix) {
    return ix->dim;
}

size_t xq_index_count(const xq_index_t *ix) {
    return xq_faiss_count(ix->f);
}

xq_index_metric_t xq_index_metric(const xq_index_t *ix) {
    return ix->metric;
}

xq_index_query_t xq_index_query(const xq_index_t *ix) {
    return ix->query;
}

static void put_le(uint8_t *p, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void append(void *ud, const void *p, size_t n) {
    xq_buf_append(ud, p, n);
}

xq_err_t xq_index_save(const xq_index_t *ix, xq_buf_t *out, xq_error_t *err) {
    uint8_t h[HEADER_LEN] = {0};
    char msg[256];
    size_t start = out->len;

    memcpy(h, MAGIC, 4);
    put_le(h + 4, VERSION, 4);
    h[8] = (uint8_t)ix->metric;
    h[9] = (uint8_t)ix->query;
    put_le(h + 12, ix->dim, 4);
    put_le(h + 16, xq_index_count(ix), 8);
    xq_buf_append(out, h, sizeof(h));
    if (xq_faiss_write(ix->f, append, out, msg, sizeof(msg)) != 0) {
        out->len = start;
        return faiss_error(err, "cannot serialize the index", msg);
    }
    put_le(out->data + start + 24, out->len - start - HEADER_LEN, 8);
    xq_sha256(out->data + start + HEADER_LEN, out->len - start - HEADER_LEN,
              out->data + start + 32);
    return XQ_OK;
}

xq_err_t xq_index_load(const void *data, size_t len, xq_index_t **out, xq_error_t *err) {
    const uint8_t *h = data;
    uint8_t md[XQ_SHA256_LEN];
    char msg[256];
    xq_index_t *ix;
    uint64_t count;

    *out = NULL;
    if (len < HEADER_LEN || memcmp(h, MAGIC, 4) != 0)
        return xq_error_set(err, XQ_EDECODE, "index", "not an explainq example index");
    if (get_le(h + 4, 4) != VERSION)
        return xq_error_set(err, XQ_EDECODE, "index", "format version %u is not %d",
                            (unsigned)get_le(h + 4, 4), VERSION);
    if (h[8] > XQ_INDEX_COSINE || h[9] > XQ_INDEX_FAST || get_le(h + 12, 4) < 1 ||
        get_le(h + 12, 4) > MAX_DIM)
        return xq_error_set(err, XQ_EDECODE, "index", "the header is malformed");
    if (get_le(h + 24, 8) != len - HEADER_LEN)
        return xq_error_set(err, XQ_EDECODE, "index", "%zu bytes where the header says %llu",
                            len - HEADER_LEN, (unsigned long long)get_le(h + 24, 8));
    /* FAISS's reader leaks what it allocated when it meets malformed bytes, and
     * trusts the sizes it reads: it only sees bytes that hash as when saved */
    xq_sha256(h + HEADER_LEN, len - HEADER_LEN, md);
    if (memcmp(md, h + 32, XQ_SHA256_LEN) != 0)
        return xq_error_set(err, XQ_EDECODE, "index", "the checksum does not match: corrupted");
    ix = xq_calloc(1, sizeof(*ix));
    ix->metric = h[8];
    ix->query = h[9];
    ix->dim = get_le(h + 12, 4);
    count = get_le(h + 16, 8);
    if (xq_faiss_read(h + HEADER_LEN, len - HEADER_LEN, &ix->f, msg, sizeof(msg)) != 0) {
        xq_free(ix);
        return xq_error_set(err, XQ_EDECODE, "index", "the FAISS index is unreadable: %s", msg);
    }
    if (xq_faiss_dim(ix->f) != ix->dim || xq_faiss_count(ix->f) != count) {
        xq_index_destroy(ix);
        return xq_error_set(err, XQ_EDECODE, "index", "the header does not match the FAISS index");
    }
    *out = ix;
    return XQ_OK;
}

void xq_index_destroy(xq_index_t *ix) {
    if (!ix)
        return;
    xq_faiss_free(ix->f);
    xq_free(ix);
}
