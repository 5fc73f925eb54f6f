/* exindex.c -- example-index presets as msgpack, content-addressed and chunked in Redis. */
#include "exindex.h"

#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "mp.h"
#include "sha256.h"

#define FORMAT_VERSION 1

xq_err_t xq_exindex_pack(const xq_exindex_t *x, xq_buf_t *out, xq_error_t *err) {
    msgpack_packer pk;
    xq_buf_t ib;
    xq_err_t rc;

    if (x->id_cnt != xq_index_count(x->index))
        return xq_error_set(err, XQ_EINVAL, "ids", "%zu ids for %zu indexed examples", x->id_cnt,
                            xq_index_count(x->index));
    xq_buf_init(&ib);
    if ((rc = xq_index_save(x->index, &ib, err)) != XQ_OK)
        goto out;
    xq_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, 4);
    xq_mp_pack_str(&pk, "v");
    msgpack_pack_uint32(&pk, FORMAT_VERSION);
    xq_mp_pack_str(&pk, "neighborCount");
    msgpack_pack_uint32(&pk, x->neighbor_count);
    xq_mp_pack_str(&pk, "ids");
    msgpack_pack_array(&pk, x->id_cnt);
    for (size_t i = 0; i < x->id_cnt; i++)
        xq_mp_pack_str(&pk, x->ids[i]);
    xq_mp_pack_str(&pk, "index");
    msgpack_pack_bin(&pk, ib.len);
    msgpack_pack_bin_body(&pk, ib.data, ib.len);
out:
    xq_buf_fini(&ib);
    return rc;
}

xq_err_t xq_exindex_unpack(const void *buf, size_t len, xq_exindex_t **out, xq_error_t *err) {
    const msgpack_object *v, *nc, *ids, *ix;
    msgpack_unpacked msg;
    xq_exindex_t *x = NULL;
    xq_err_t rc = XQ_EDECODE;

    *out = NULL;
    msgpack_unpacked_init(&msg);
    if (!xq_mp_unpack_one(buf, len, &msg) || msg.data.type != MSGPACK_OBJECT_MAP) {
        xq_error_set(err, rc, "index", "not an example-index preset (one msgpack map)");
        goto out;
    }
    v = xq_mp_map_get(&msg.data, "v");
    nc = xq_mp_map_get(&msg.data, "neighborCount");
    ids = xq_mp_map_get(&msg.data, "ids");
    ix = xq_mp_map_get(&msg.data, "index");
    if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != FORMAT_VERSION) {
        xq_error_set(err, rc, "index.v", "must be format version %d", FORMAT_VERSION);
        goto out;
    }
    if (!nc || nc->type != MSGPACK_OBJECT_POSITIVE_INTEGER || nc->via.u64 > UINT32_MAX || !ids ||
        ids->type != MSGPACK_OBJECT_ARRAY || !ix || ix->type != MSGPACK_OBJECT_BIN) {
        xq_error_set(err, rc, "index", "neighborCount, ids or index is missing or mistyped");
        goto out;
    }
    x = xq_calloc(1, sizeof(*x));
    x->neighbor_count = (uint32_t)nc->via.u64;
    if ((rc = xq_index_load(ix->via.bin.ptr, ix->via.bin.size, &x->index, err)) != XQ_OK)
        goto out;
    rc = XQ_EDECODE;
    if (ids->via.array.size != xq_index_count(x->index)) {
        xq_error_set(err, rc, "index.ids", "%u ids for %zu indexed examples", ids->via.array.size,
                     xq_index_count(x->index));
        goto out;
    }
    x->ids = xq_calloc(ids->via.array.size + 1, sizeof(*x->ids));
    for (; x->id_cnt < ids->via.array.size; x->id_cnt++) {
        const msgpack_object *s = &ids->via.array.ptr[x->id_cnt];

        if (s->type != MSGPACK_OBJECT_STR) {
            xq_error_set(err, rc, "index.ids", "id %zu is not a string", x->id_cnt);
            goto out;
        }
        x->ids[x->id_cnt] = xq_strndup(s->via.str.ptr, s->via.str.size);
    }
    rc = XQ_OK;
    *out = x;
    x = NULL;
out:
    xq_exindex_destroy(x);
    msgpack_unpacked_destroy(&msg);
    return rc;
}

/* The manifest: {"v", "bytes", "chunks"}; chunks are plain byte ranges of the preset. */
static void pack_manifest(xq_buf_t *b, size_t bytes, size_t chunks) {
    msgpack_packer pk;

    xq_mp_packer_init(&pk, b);
    msgpack_pack_map(&pk, 3);
    xq_mp_pack_str(&pk, "v");
    msgpack_pack_uint32(&pk, FORMAT_VERSION);
    xq_mp_pack_str(&pk, "bytes");
    msgpack_pack_uint64(&pk, bytes);
    xq_mp_pack_str(&pk, "chunks");
    msgpack_pack_uint64(&pk, chunks);
}

xq_err_t xq_exindex_put(xq_redis_t *r,
                        const xq_exindex_t *x,
                        size_t chunk_bytes,
                        char id[XQ_EXINDEX_ID_LEN + 1],
                        xq_error_t *err) {
    char key[sizeof(XQ_EXINDEX_PREFIX) + XQ_EXINDEX_ID_LEN + 24];
    xq_buf_t b, m;
    size_t chunks;
    xq_err_t rc;

    if (chunk_bytes < 1 || chunk_bytes > XQ_REDIS_MAX_VALUE)
        chunk_bytes = XQ_REDIS_MAX_VALUE;
    xq_buf_init(&b);
    xq_buf_init(&m);
    if ((rc = xq_exindex_pack(x, &b, err)) != XQ_OK)
        goto out;
    xq_sha256_hex(b.data, b.len, id);
    chunks = (b.len + chunk_bytes - 1) / chunk_bytes;
    for (size_t k = 0; k < chunks; k++) {
        size_t at = k * chunk_bytes, n = b.len - at < chunk_bytes ? b.len - at : chunk_bytes;

        snprintf(key, sizeof(key), XQ_EXINDEX_PREFIX "%s:%zu", id, k);
        if ((rc = xq_redis_set(r, key, b.data + at, n, 0, err)) != XQ_OK)
            goto out;
    }
    pack_manifest(&m, b.len, chunks);
    snprintf(key, sizeof(key), XQ_EXINDEX_PREFIX "%s", id);
    rc = xq_redis_set(r, key, m.data, m.len, 0, err);
out:
    xq_buf_fini(&b);
    xq_buf_fini(&m);
    return rc;
}

/* Reads the manifest's sizes, bounded before anything is allocated from them. */
static xq_err_t read_manifest(
    const xq_buf_t *m, const char *id, uint64_t *bytes, uint64_t *chunks, xq_error_t *err) {
    msgpack_unpacked msg;
    const msgpack_object *b, *c;
    xq_err_t rc = XQ_EDECODE;

    msgpack_unpacked_init(&msg);
    if (xq_mp_unpack_one(m->data, m->len, &msg) && msg.data.type == MSGPACK_OBJECT_MAP &&
        (b = xq_mp_map_get(&msg.data, "bytes")) && (c = xq_mp_map_get(&msg.data, "chunks")) &&
        b->type == MSGPACK_OBJECT_POSITIVE_INTEGER && c->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        b->via.u64 <= XQ_EXINDEX_MAX_BYTES && c->via.u64 >= 1 && c->via.u64 <= b->via.u64) {
        *bytes = b->via.u64;
        *chunks = c->via.u64;
        rc = XQ_OK;
    } else {
        xq_error_set(err, rc, "index", "the manifest of example index %s is malformed", id);
    }
    msgpack_unpacked_destroy(&msg);
    return rc;
}

xq_err_t xq_exindex_get(xq_redis_t *r, const char *id, xq_exindex_t **out, xq_error_t *err) {
    char key[sizeof(XQ_EXINDEX_PREFIX) + XQ_EXINDEX_ID_LEN + 24], got[XQ_EXINDEX_ID_LEN + 1];
    uint64_t bytes = 0, chunks = 0;
    xq_buf_t m, b;
    xq_err_t rc;

    *out = NULL;
    if (!xq_sha256_hex_valid(id))
        return xq_error_set(err, XQ_EINVAL, "index", "\"%.80s\" is not an index id (64 hex digits)",
                            id);
    xq_buf_init(&m);
    xq_buf_init(&b);
    snprintf(key, sizeof(key), XQ_EXINDEX_PREFIX "%s", id);
    rc = xq_redis_get(r, key, &m, err);
    if (rc == XQ_ENOTFOUND)
        xq_error_set(err, rc, "index", "no example index %s in Redis", id);
    if (rc != XQ_OK || (rc = read_manifest(&m, id, &bytes, &chunks, err)) != XQ_OK)
        goto out;
    xq_buf_reserve(&b, bytes < XQ_REDIS_MAX_VALUE ? bytes : XQ_REDIS_MAX_VALUE);
    for (uint64_t k = 0; k < chunks; k++) {
        snprintf(key, sizeof(key), XQ_EXINDEX_PREFIX "%s:%llu", id, (unsigned long long)k);
        if ((rc = xq_redis_get(r, key, &m, err)) != XQ_OK) {
            if (rc == XQ_ENOTFOUND)
                rc =
                    xq_error_set(err, XQ_EDECODE, "index", "chunk %llu of example index %s is gone",
                                 (unsigned long long)k, id);
            goto out;
        }
        if (b.len + m.len > bytes) {
            rc = xq_error_set(err, XQ_EDECODE, "index",
                              "example index %s is longer than its manifest", id);
            goto out;
        }
        xq_buf_append(&b, m.data, m.len);
    }
    xq_sha256_hex(b.data, b.len, got);
    if (b.len != bytes || strcmp(got, id) != 0) {
        rc = xq_error_set(err, XQ_EDECODE, "index",
                          "the stored bytes of example index %s do not hash to its id", id);
        goto out;
    }
    rc = xq_exindex_unpack(b.data, b.len, out, err);
out:
    xq_buf_fini(&m);
    xq_buf_fini(&b);
    return rc;
}

void xq_exindex_destroy(xq_exindex_t *x) {
    if (!x)
        return;
    for (size_t i = 0; i < x->id_cnt; i++)
        xq_free(x->ids[i]);
    xq_free(x->ids);
    xq_index_destroy(x->index);
    xq_free(x);
}
