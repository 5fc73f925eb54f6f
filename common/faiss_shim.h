/* faiss_shim.h -- the few FAISS calls explainq needs, as plain C (see faiss_shim.cc for why). */
#ifndef XQ_FAISS_SHIM_H
#define XQ_FAISS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An owned faiss::Index; free with xq_faiss_free. */
typedef struct xq_faiss xq_faiss_t;

/*
 * Every call returns 0, or -1 with FAISS's message in @p msg (size @p msglen):
 * FAISS reports errors as C++ exceptions, which must not cross into C.
 */

/** A flat index (@p hnsw_m == 0) or HNSW with @p hnsw_m links; L2 or inner product. */
int xq_faiss_new(
    size_t dim, int inner_product, int hnsw_m, xq_faiss_t **out, char *msg, size_t msglen);
int xq_faiss_add(xq_faiss_t *f, size_t n, const float *x, char *msg, size_t msglen);
/** @p k results per query into @p dist and @p labels (label -1 where fewer exist). */
int xq_faiss_search(const xq_faiss_t *f,
                    size_t nq,
                    const float *q,
                    size_t k,
                    float *dist,
                    int64_t *labels,
                    char *msg,
                    size_t msglen);
/** Serializes through @p put, called with consecutive pieces of the bytes. */
int xq_faiss_write(const xq_faiss_t *f,
                   void (*put)(void *ud, const void *p, size_t n),
                   void *ud,
                   char *msg,
                   size_t msglen);
int xq_faiss_read(const void *data, size_t len, xq_faiss_t **out, char *msg, size_t msglen);
size_t xq_faiss_count(const xq_faiss_t *f);
size_t xq_faiss_dim(const xq_faiss_t *f);
void xq_faiss_free(xq_faiss_t *f);

#ifdef __cplusplus
}
#endif

#endif
