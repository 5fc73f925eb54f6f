/* exindex.c -- example-index presets as msgpack, content-addressed and chunked in Redis. */
#include "exindex.h"

#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "mp.h"
#include "names.h"
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
    msgpack_pack_map(&pk, 4 + (x->tags != NULL));
    xq_mp_pack_str(&pk, "v");
    msgpack_pack_uint32(&pk, FORMAT_VERSION);
    xq_mp_pack_str(&pk, "neighborCount");
    msgpack_pack_uint32(&pk, x->neighbor_count);
    xq_mp_pack_str(&pk, "ids");
    msgpack_pack_array(&pk, x->id_cnt);
    for (size_t i = 0; i < x->id_cnt; i++)
        xq_mp_pack_str(&pk, x->ids[i]);
    if (x->tags) {
        xq_mp_pack_str(&pk, "tags");
        msgpack_pack_array(&pk, x->id_cnt);
        for (size_t i = 0; i < x->id_cnt; i++)
            xq_mp_pack_str(&pk, x->tags[i]);
    }
    xq_mp_pack_str(&pk, "index");
    msgpack_pack_bin(&pk, ib.len);
    msgpack_pack_bin_body(&pk, ib.data, ib.len);
out:
    xq_buf_fini(&ib);
    return rc;
}

/* A string array of @p cnt items into a new array of copies at @p *out. */
static xq_err_t
strings(const msgpack_object *a, size_t cnt, const char *field, char ***out, xq_error_t *err) {
    if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != cnt)
        return xq_error_set(err, XQ_EDECODE, field, "must be an array of %zu strings", cnt);
    *out = xq_calloc(cnt + 1, sizeof(**out));
    for (size_t i = 0; i < cnt; i++) {
        const msgpack_object *s = &a->via.array.ptr[i];

        if (s->type != MSGPACK_OBJECT_STR)
            return xq_error_set(err, XQ_EDECODE, field, "item %zu is not a string", i);
        (*out)[i] = xq_strndup(s->via.str.ptr, s->via.str.size);
    }
    return XQ_OK;
}

xq_err_t xq_exindex_unpack(const void *buf, size_t len, xq_exindex_t **out, xq_error_t *err) {
    const msgpack_object *v, *nc, *ids, *ix, *tags;
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
    tags = xq_mp_map_get(&msg.data, "tags");
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
    x->id_cnt = xq_index_count(x->index);
    if ((rc = strings(ids, x->id_cnt, "index.ids", &x->ids, err)) != XQ_OK ||
        (tags && (rc = strings(tags, x->id_cnt, "index.tags", &x->tags, err)) != XQ_OK))
        goto out;
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

        xq_key_index_chunk(key, sizeof(key), id, k);
        if ((rc = xq_redis_set(r, key, b.data + at, n, 0, err)) != XQ_OK)
            goto out;
    }
    pack_manifest(&m, b.len, chunks);
    xq_key_index(key, sizeof(key), id);
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
    xq_key_index(key, sizeof(key), id);
    rc = xq_redis_get(r, key, &m, err);
    if (rc == XQ_ENOTFOUND)
        xq_error_set(err, rc, "index", "no example index %s in Redis", id);
    if (rc != XQ_OK || (rc = read_manifest(&m, id, &bytes, &chunks, err)) != XQ_OK)
        goto out;
    xq_buf_reserve(&b, bytes < XQ_REDIS_MAX_VALUE ? bytes : XQ_REDIS_MAX_VALUE);
    for (uint64_t k = 0; k < chunks; k++) {
        xq_key_index_chunk(key, sizeof(key), id, (size_t)k);
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
    for (size_t i = 0; i < x->id_cnt; i++) {
        xq_free(x->ids ? x->ids[i] : NULL);
        xq_free(x->tags ? x->tags[i] : NULL);
    }
    xq_free(x->ids);
    xq_free(x->tags);
    xq_index_destroy(x->index);
    xq_free(x);
}

xq_err_t
xq_exindex_set_latest(xq_redis_t *r, const char *spec_id, const char *id, xq_error_t *err) {
    char key[sizeof(XQ_EXINDEX_LATEST_PREFIX) + XQ_SPEC_ID_LEN + 1];

    xq_key_examples(key, sizeof(key), spec_id); /* cut to 64 characters, like an id */
    return xq_redis_set(r, key, (const uint8_t *)id, strlen(id), 0, err);
}

xq_err_t xq_exindex_latest(xq_redis_t *r,
                           const char *spec_id,
                           char id[XQ_EXINDEX_ID_LEN + 1],
                           xq_error_t *err) {
    char key[sizeof(XQ_EXINDEX_LATEST_PREFIX) + XQ_SPEC_ID_LEN + 1];
    xq_buf_t b;
    xq_err_t rc;

    xq_buf_init(&b);
    xq_key_examples(key, sizeof(key), spec_id);
    rc = xq_redis_get(r, key, &b, err);
    if (rc == XQ_OK && b.len != XQ_EXINDEX_ID_LEN)
        rc = xq_error_set(err, XQ_EDECODE, "indexId", "%s does not hold an index id", key);
    if (rc == XQ_ENOTFOUND)
        xq_error_set(err, rc, "indexId",
                     "no example index was built for spec %.64s: run `explainq index build` "
                     "or name one with indexId",
                     spec_id);
    if (rc == XQ_OK) {
        memcpy(id, b.data, XQ_EXINDEX_ID_LEN);
        id[XQ_EXINDEX_ID_LEN] = '\0';
    }
    xq_buf_fini(&b);
    return rc;
}

/* ==== The in-memory cache ==== */

typedef struct cache_ent {
    char id[XQ_EXINDEX_ID_LEN + 1];
    xq_exindex_t *x;
    size_t uses;    /* acquired and not yet released */
    uint64_t stamp; /* last acquired or released, for LRU */
} cache_ent_t;

struct xq_exindex_cache {
    cache_ent_t *ents;
    size_t cnt, cap, capacity;
    uint64_t clock, loads;
};

xq_exindex_cache_t *xq_exindex_cache_new(size_t capacity) {
    xq_exindex_cache_t *c = xq_calloc(1, sizeof(*c));

    c->capacity = capacity ? capacity : 1;
    return c;
}

void xq_exindex_cache_destroy(xq_exindex_cache_t *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->cnt; i++)
        xq_exindex_destroy(c->ents[i].x);
    xq_free(c->ents);
    xq_free(c);
}

uint64_t xq_exindex_cache_loads(const xq_exindex_cache_t *c) {
    return c->loads;
}

/* Drops least recently used idle presets while more than the capacity are idle. */
static void evict(xq_exindex_cache_t *c) {
    for (;;) {
        size_t idle = 0, victim = c->cnt;

        for (size_t i = 0; i < c->cnt; i++) {
            if (c->ents[i].uses)
                continue;
            idle++;
            if (victim == c->cnt || c->ents[i].stamp < c->ents[victim].stamp)
                victim = i;
        }
        if (idle <= c->capacity)
            return;
        xq_exindex_destroy(c->ents[victim].x);
        c->ents[victim] = c->ents[--c->cnt];
    }
}

xq_err_t xq_exindex_cache_acquire(xq_exindex_cache_t *c,
                                  xq_redis_t *r,
                                  const char *id,
                                  const xq_exindex_t **out,
                                  xq_error_t *err) {
    xq_exindex_t *x;
    xq_err_t rc;

    *out = NULL;
    for (size_t i = 0; i < c->cnt; i++) {
        if (strcmp(c->ents[i].id, id) == 0) {
            c->ents[i].uses++;
            c->ents[i].stamp = ++c->clock;
            *out = c->ents[i].x;
            return XQ_OK;
        }
    }
    if ((rc = xq_exindex_get(r, id, &x, err)) != XQ_OK)
        return rc;
    c->loads++;
    if (c->cnt == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->ents = xq_reallocarray(c->ents, c->cap, sizeof(*c->ents));
    }
    snprintf(c->ents[c->cnt].id, sizeof(c->ents[c->cnt].id), "%s", id);
    c->ents[c->cnt].x = x;
    c->ents[c->cnt].uses = 1;
    c->ents[c->cnt].stamp = ++c->clock;
    c->cnt++;
    *out = x;
    return XQ_OK;
}

void xq_exindex_cache_release(xq_exindex_cache_t *c, const xq_exindex_t *x) {
    if (!x)
        return;
    for (size_t i = 0; i < c->cnt; i++) {
        if (c->ents[i].x == x && c->ents[i].uses) {
            c->ents[i].uses--;
            c->ents[i].stamp = ++c->clock; /* used until now */
            break;
        }
    }
    evict(c);
}
