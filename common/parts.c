/* parts.c -- split results larger than one Kafka message, and put them together again. */
#include "parts.h"

#include <string.h>

#include "mp.h"

size_t xq_parts_count(size_t len, size_t chunk) {
    return len ? (len + chunk - 1) / chunk : 1;
}

void xq_parts_pack(
    const char *id, const uint8_t *msg, size_t len, size_t chunk, size_t k, xq_buf_t *out) {
    size_t first = k * chunk, n = len - first < chunk ? len - first : chunk;
    msgpack_packer pk;

    out->len = 0;
    xq_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, 5);
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, id);
    xq_mp_pack_str(&pk, "part");
    msgpack_pack_uint64(&pk, k);
    xq_mp_pack_str(&pk, "parts");
    msgpack_pack_uint64(&pk, xq_parts_count(len, chunk));
    xq_mp_pack_str(&pk, "bytes");
    msgpack_pack_uint64(&pk, len);
    xq_mp_pack_str(&pk, "data");
    msgpack_pack_bin(&pk, n);
    msgpack_pack_bin_body(&pk, msg + first, n);
}

bool xq_parts_is_part(const msgpack_object *o) {
    return o->type == MSGPACK_OBJECT_MAP && xq_mp_map_get(o, "parts") != NULL;
}

typedef struct pending {
    struct pending *next;
    char *id;
    uint64_t next_part, parts, bytes;
    xq_buf_t data;
} pending_t;

struct xq_parts {
    pending_t *list;
    size_t held, max_bytes;
    xq_buf_t done; /* the last completed result */
};

xq_parts_t *xq_parts_new(size_t max_bytes) {
    xq_parts_t *p = xq_calloc(1, sizeof(*p));

    p->max_bytes = max_bytes;
    xq_buf_init(&p->done);
    return p;
}

static void pending_drop(xq_parts_t *p, pending_t **link) {
    pending_t *e = *link;

    *link = e->next;
    p->held -= e->data.len;
    xq_free(e->id);
    xq_buf_fini(&e->data);
    xq_free(e);
}

void xq_parts_destroy(xq_parts_t *p) {
    if (!p)
        return;
    while (p->list)
        pending_drop(p, &p->list);
    xq_buf_fini(&p->done);
    xq_free(p);
}

static bool get_u64(const msgpack_object *o, const char *key, uint64_t *v) {
    const msgpack_object *x = xq_mp_map_get(o, key);

    if (!x || x->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = x->via.u64;
    return true;
}

xq_err_t xq_parts_add(xq_parts_t *p,
                      const msgpack_object *o,
                      const uint8_t **whole,
                      size_t *whole_len,
                      xq_error_t *err) {
    const msgpack_object *id = xq_mp_map_get(o, "id"), *data = xq_mp_map_get(o, "data");
    uint64_t part, parts, bytes;
    pending_t **link, *e;

    *whole = NULL;
    *whole_len = 0;
    if (!id || id->type != MSGPACK_OBJECT_STR || !data || data->type != MSGPACK_OBJECT_BIN ||
        !get_u64(o, "part", &part) || !get_u64(o, "parts", &parts) ||
        !get_u64(o, "bytes", &bytes) || part >= parts)
        return xq_error_set(err, XQ_EDECODE, "parts", "a malformed result part");
    for (link = &p->list; *link && !xq_mp_str_eq(id, (*link)->id); link = &(*link)->next)
        ;
    if (*link &&
        ((*link)->next_part != part || (*link)->parts != parts || (*link)->bytes != bytes)) {
        pending_drop(p, link);
        return xq_error_set(err, XQ_EDECODE, "parts", "result %.*s: part %llu out of order",
                            (int)id->via.str.size, id->via.str.ptr, (unsigned long long)part);
    }
    if (!*link) {
        if (part != 0)
            return xq_error_set(err, XQ_EDECODE, "parts", "result %.*s: part %llu without part 0",
                                (int)id->via.str.size, id->via.str.ptr, (unsigned long long)part);
        e = xq_calloc(1, sizeof(*e));
        e->id = xq_malloc(id->via.str.size + 1);
        memcpy(e->id, id->via.str.ptr, id->via.str.size);
        e->id[id->via.str.size] = '\0';
        e->parts = parts;
        e->bytes = bytes;
        xq_buf_init(&e->data);
        e->next = p->list;
        p->list = e;
        link = &p->list;
    }
    e = *link;
    if (e->data.len + data->via.bin.size > e->bytes ||
        p->held + data->via.bin.size > p->max_bytes) {
        pending_drop(p, link);
        return xq_error_set(err, XQ_ELIMIT, "parts",
                            "result %.*s: parts larger than announced or than %zu bytes held",
                            (int)id->via.str.size, id->via.str.ptr, p->max_bytes);
    }
    xq_buf_append(&e->data, data->via.bin.ptr, data->via.bin.size);
    p->held += data->via.bin.size;
    e->next_part++;
    if (e->next_part < e->parts)
        return XQ_OK;
    if (e->data.len != e->bytes) {
        pending_drop(p, link);
        return xq_error_set(err, XQ_EDECODE, "parts", "result %.*s: %llu bytes announced",
                            (int)id->via.str.size, id->via.str.ptr, (unsigned long long)bytes);
    }
    p->done.len = 0;
    xq_buf_append(&p->done, e->data.data, e->data.len);
    pending_drop(p, link);
    *whole = p->done.data;
    *whole_len = p->done.len;
    return XQ_OK;
}
