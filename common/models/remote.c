/* remote.c -- models served by runners: describe requests and their descriptors. */
#include "models/remote.h"

#include <math.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "mp.h"

#define MAX_DESC   256
#define MAX_TABLES 16

/* An encoded tensor that is an embedding lookup of a raw input's token ids. */
typedef struct table {
    char *encoded, *input; /* owned */
    size_t vocab, dim;
    xq_tensor_t rows; /* vocab x dim */
} table_t;

typedef struct remote {
    xq_tensor_desc_t in[MAX_DESC], enc[MAX_DESC], out;
    size_t in_cnt, enc_cnt;
    char *pool; /* tensor names */
    table_t tables[MAX_TABLES];
    size_t table_cnt;
} remote_t;

static void pack_desc(msgpack_packer *pk, const xq_tensor_desc_t *d) {
    msgpack_pack_map(pk, d->is_integer ? 3 : 2);
    xq_mp_pack_str(pk, "name");
    xq_mp_pack_str(pk, d->name);
    xq_mp_pack_str(pk, "shape");
    msgpack_pack_array(pk, d->ndim);
    for (size_t i = 0; i < d->ndim; i++)
        msgpack_pack_uint64(pk, d->dims[i]);
    if (d->is_integer) { /* token ids: workers refuse IG on them without an embedding */
        xq_mp_pack_str(pk, "integer");
        msgpack_pack_true(pk);
    }
}

void xq_remote_describe_pack(const xq_model_t *m, const char *id, xq_buf_t *out) {
    msgpack_packer pk;

    xq_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, 3);
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, id);
    xq_mp_pack_str(&pk, "compact"); /* it expands compact requests (compact.h) */
    msgpack_pack_uint64(&pk, XQ_COMPACT_VERSION);
    xq_mp_pack_str(&pk, "model");
    msgpack_pack_map(&pk, xq_model_image_layout(m) ? 6 : 5);
    xq_mp_pack_str(&pk, "missing"); /* NaN inputs are missing values */
    if (xq_model_missing_ok(m))
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    if (xq_model_image_layout(m)) { /* the runner's --image-layout, for the workers' layouts */
        xq_mp_pack_str(&pk, "imageLayout");
        xq_mp_pack_str(&pk, xq_model_image_layout(m) == XQ_IMAGE_LAYOUT_NCHW ? "nchw" : "nhwc");
    }
    xq_mp_pack_str(&pk, "inputs");
    msgpack_pack_array(&pk, xq_model_input_cnt(m));
    for (size_t i = 0; i < xq_model_input_cnt(m); i++)
        pack_desc(&pk, xq_model_input(m, i));
    xq_mp_pack_str(&pk, "output");
    pack_desc(&pk, xq_model_output(m));
    xq_mp_pack_str(&pk, "encoded");
    msgpack_pack_array(&pk,
                       xq_model_encoded_cnt(m) < MAX_DESC ? xq_model_encoded_cnt(m) : MAX_DESC);
    for (size_t i = 0; i < xq_model_encoded_cnt(m) && i < MAX_DESC; i++)
        pack_desc(&pk, xq_model_encoded(m, i));
    /* display names, for displayNameMappingKey */
    xq_mp_pack_str(&pk, "labels");
    msgpack_pack_map(&pk, xq_model_label_key_cnt(m));
    for (size_t k = 0; k < xq_model_label_key_cnt(m); k++) {
        const char *const *names;
        size_t cnt;

        xq_mp_pack_str(&pk, xq_model_label_key(m, k, &names, &cnt));
        msgpack_pack_array(&pk, cnt);
        for (size_t i = 0; i < cnt; i++)
            xq_mp_pack_str(&pk, names[i]);
    }
}

void xq_remote_describe_request(const char *id, xq_buf_t *out) {
    msgpack_packer pk;

    xq_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, 2);
    xq_mp_pack_str(&pk, "id");
    xq_mp_pack_str(&pk, id);
    xq_mp_pack_str(&pk, "describe");
    msgpack_pack_true(&pk);
}

bool xq_remote_is_describe(const uint8_t *buf, size_t len, char *id, size_t id_size) {
    msgpack_unpacked msg;
    const msgpack_object *d, *i;
    bool yes = false;

    msgpack_unpacked_init(&msg);
    if (xq_mp_unpack_one(buf, len, &msg) && (d = xq_mp_map_get(&msg.data, "describe")) &&
        d->type == MSGPACK_OBJECT_BOOLEAN && d->via.boolean &&
        (i = xq_mp_map_get(&msg.data, "id")) && i->type == MSGPACK_OBJECT_STR &&
        i->via.str.size < id_size) {
        memcpy(id, i->via.str.ptr, i->via.str.size);
        id[i->via.str.size] = '\0';
        yes = true;
    }
    msgpack_unpacked_destroy(&msg);
    return yes;
}

static xq_err_t remote_eval(void *impl, xq_batch_t *b, xq_error_t *err) {
    (void)impl;
    (void)b;
    return xq_error_set(err, XQ_EMODEL, "model", "a remote model is evaluated through Kafka");
}

static void remote_free(void *impl) {
    remote_t *r = impl;

    if (r) {
        xq_free(r->pool);
        for (size_t i = 0; i < r->table_cnt; i++) {
            xq_free(r->tables[i].encoded);
            xq_free(r->tables[i].input);
            xq_tensor_fini(&r->tables[i].rows);
        }
    }
    xq_free(r);
}

/* Embedding lookups of the runner's tables: raw token ids to their rows. */
static xq_err_t remote_encode(void *impl,
                              const char *encoded,
                              const float *raw,
                              size_t rows,
                              size_t raw_cnt,
                              float *out,
                              size_t out_cnt,
                              xq_error_t *err) {
    const remote_t *r = impl;
    const table_t *t = NULL;

    for (size_t i = 0; i < r->table_cnt && !t; i++) {
        if (strcmp(r->tables[i].encoded, encoded) == 0)
            t = &r->tables[i];
    }
    if (!t)
        return xq_error_set(err, XQ_EMODEL, encoded,
                            "the runner cannot compute %s here: it sent no lookup table for it "
                            "(feed encodedBaselines and encoded instances, or use a runner that "
                            "describes the embedding)",
                            encoded);
    if (out_cnt != raw_cnt * t->dim)
        return xq_error_set(err, XQ_EMODEL, encoded,
                            "%s has %zu elements per row; %zu token ids of dimension %zu make %zu",
                            encoded, out_cnt, raw_cnt, t->dim, raw_cnt * t->dim);
    for (size_t i = 0; i < rows * raw_cnt; i++) {
        float id = raw[i];

        if (!(id >= 0 && id < (float)t->vocab) || id != floorf(id))
            return xq_error_set(err, XQ_EINVAL, t->input,
                                "token id %g is not an integer in [0, %zu) (the vocabulary of %s)",
                                (double)id, t->vocab, encoded);
        memcpy(out + i * t->dim, t->rows.data + (size_t)id * t->dim, t->dim * sizeof(float));
    }
    return XQ_OK;
}

static const xq_model_ops_t remote_ops = {
    .eval = remote_eval, .encode = remote_encode, .destroy = remote_free};

/* Reads "tables" (optional); false if malformed. */
static bool read_tables(remote_t *r, const msgpack_object *tables) {
    xq_error_t err;

    if (!tables)
        return true;
    if (tables->type != MSGPACK_OBJECT_MAP || tables->via.map.size > MAX_TABLES)
        return false;
    for (uint32_t i = 0; i < tables->via.map.size; i++) {
        const msgpack_object *k = &tables->via.map.ptr[i].key, *v = &tables->via.map.ptr[i].val;
        const msgpack_object *in = xq_mp_map_get(v, "input"), *tab = xq_mp_map_get(v, "table");
        table_t *t = &r->tables[r->table_cnt];

        if (k->type != MSGPACK_OBJECT_STR || !k->via.str.size || !in ||
            in->type != MSGPACK_OBJECT_STR || !in->via.str.size || !tab)
            return false;
        if (xq_tensor_decode(tab, "tables", 0, &t->rows, &err) != XQ_OK)
            return false;
        r->table_cnt++;
        t->encoded = xq_strndup(k->via.str.ptr, k->via.str.size);
        t->input = xq_strndup(in->via.str.ptr, in->via.str.size);
        if (t->rows.ndim != 2)
            return false;
        t->vocab = t->rows.dims[0];
        t->dim = t->rows.dims[1];
    }
    return true;
}

/* Copies the runner's class-label lists (displayNameMappingKey) into @p m; lists that
 * are not arrays of strings are skipped, since labels only decorate results. */
static void read_labels(xq_model_t *m, const msgpack_object *labels) {
    if (!labels || labels->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t k = 0; k < labels->via.map.size; k++) {
        const msgpack_object *key = &labels->via.map.ptr[k].key, *v = &labels->via.map.ptr[k].val;
        char *kbuf, **names;
        size_t n = 0;

        if (key->type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_ARRAY)
            continue;
        kbuf = xq_strndup(key->via.str.ptr, key->via.str.size);
        names = xq_calloc(v->via.array.size + 1, sizeof(*names));
        for (; n < v->via.array.size && v->via.array.ptr[n].type == MSGPACK_OBJECT_STR; n++)
            names[n] =
                xq_strndup(v->via.array.ptr[n].via.str.ptr, v->via.array.ptr[n].via.str.size);
        xq_model_set_labels(m, kbuf, (const char *const *)names, n);
        for (size_t i = 0; i < n; i++)
            xq_free(names[i]);
        xq_free(names);
        xq_free(kbuf);
    }
}

/* Reads a {"name", "shape"} into @p d, its name appended to @p pool (offset in d->name). */
static bool read_desc(const msgpack_object *o, xq_tensor_desc_t *d, xq_buf_t *pool) {
    const msgpack_object *n = xq_mp_map_get(o, "name"), *s = xq_mp_map_get(o, "shape");
    const msgpack_object *integer = xq_mp_map_get(o, "integer");

    if (!n || n->type != MSGPACK_OBJECT_STR || !n->via.str.size || !s ||
        s->type != MSGPACK_OBJECT_ARRAY || s->via.array.size > XQ_MAX_DIMS)
        return false;
    d->name = (const char *)(uintptr_t)pool->len;
    xq_buf_append(pool, n->via.str.ptr, n->via.str.size);
    xq_buf_append(pool, "", 1);
    d->is_integer = integer && integer->type == MSGPACK_OBJECT_BOOLEAN && integer->via.boolean;
    d->ndim = s->via.array.size;
    d->elem_cnt = 1;
    for (size_t i = 0; i < d->ndim; i++) {
        const msgpack_object *x = &s->via.array.ptr[i];

        if (x->type != MSGPACK_OBJECT_POSITIVE_INTEGER || !x->via.u64 || x->via.u64 > (1u << 26))
            return false;
        d->dims[i] = (size_t)x->via.u64;
        d->elem_cnt *= d->dims[i];
        if (d->elem_cnt > (1u << 26))
            return false;
    }
    return true;
}

xq_err_t xq_remote_model_new(const msgpack_object *model, xq_model_t **out, xq_error_t *err) {
    const msgpack_object *in = xq_mp_map_get(model, "inputs"), *o = xq_mp_map_get(model, "output"),
                         *enc = xq_mp_map_get(model, "encoded");
    remote_t *r = xq_calloc(1, sizeof(*r));
    xq_buf_t pool;

    xq_buf_init(&pool);
    if (in && in->type == MSGPACK_OBJECT_ARRAY &&
        in->via.array.size + (enc && enc->type == MSGPACK_OBJECT_ARRAY ? enc->via.array.size : 0) >
            XQ_CODEC_MAX_TENSORS) {
        xq_free(r);
        return xq_error_set(err, XQ_EMODEL, "model",
                            "the model has %u input and encoded tensors; an inference request "
                            "carries at most %d",
                            in->via.array.size + (enc && enc->type == MSGPACK_OBJECT_ARRAY
                                                      ? enc->via.array.size
                                                      : 0),
                            XQ_CODEC_MAX_TENSORS);
    }
    if (!in || in->type != MSGPACK_OBJECT_ARRAY || !in->via.array.size ||
        in->via.array.size > MAX_DESC || !o || !read_desc(o, &r->out, &pool) ||
        (enc && (enc->type != MSGPACK_OBJECT_ARRAY || enc->via.array.size > MAX_DESC)))
        goto bad;
    for (uint32_t i = 0; i < in->via.array.size; i++) {
        if (!read_desc(&in->via.array.ptr[i], &r->in[r->in_cnt++], &pool))
            goto bad;
    }
    for (uint32_t i = 0; enc && i < enc->via.array.size; i++) {
        if (!read_desc(&enc->via.array.ptr[i], &r->enc[r->enc_cnt++], &pool))
            goto bad;
    }
    if (!read_tables(r, xq_mp_map_get(model, "tables")))
        goto bad;
    /* names were offsets into the pool until it stopped moving */
    r->pool = (char *)xq_buf_detach(&pool, NULL);
    r->out.name = r->pool + (uintptr_t)r->out.name;
    for (size_t i = 0; i < r->in_cnt; i++)
        r->in[i].name = r->pool + (uintptr_t)r->in[i].name;
    for (size_t i = 0; i < r->enc_cnt; i++)
        r->enc[i].name = r->pool + (uintptr_t)r->enc[i].name;
    *out = xq_model_new(&remote_ops, r, r->in, r->in_cnt, r->enc, r->enc_cnt, &r->out);
    read_labels(*out, xq_mp_map_get(model, "labels"));
    {
        const msgpack_object *miss = xq_mp_map_get(model, "missing");
        const msgpack_object *il = xq_mp_map_get(model, "imageLayout");

        xq_model_set_missing_ok(*out,
                                miss && miss->type == MSGPACK_OBJECT_BOOLEAN && miss->via.boolean);
        if (il && xq_mp_str_eq(il, "nchw"))
            xq_model_set_image_layout(*out, XQ_IMAGE_LAYOUT_NCHW);
        else if (il && xq_mp_str_eq(il, "nhwc"))
            xq_model_set_image_layout(*out, XQ_IMAGE_LAYOUT_NHWC);
    }
    return XQ_OK;
bad:
    xq_buf_fini(&pool);
    remote_free(r);
    return xq_error_set(err, XQ_EMODEL, "model", "the runner's model description is malformed");
}

void xq_remote_pack_request(const xq_model_t *remote,
                            const char *id,
                            const xq_batch_t *b,
                            const size_t *sel,
                            const xq_compact_rows_t *compact,
                            const int32_t *pick,
                            xq_buf_t *out) {
    const size_t *dims[XQ_CODEC_MAX_TENSORS];
    size_t ndim[XQ_CODEC_MAX_TENSORS], cnt = b->tensor_cnt, enc_cnt = 0;
    const char *enc[XQ_CODEC_MAX_TENSORS];
    xq_infer_req_view_t v;

    XQ_ASSERT(cnt <= XQ_CODEC_MAX_TENSORS); /* xq_remote_model_new() refused larger models */
    for (size_t t = 0; t < cnt; t++) {
        bool is_enc = false;
        const xq_tensor_desc_t *d = xq_model_find(remote, b->names[t], &is_enc);

        dims[t] = d->dims;
        ndim[t] = d->ndim;
        if (is_enc)
            enc[enc_cnt++] = b->names[t];
    }
    memset(&v, 0, sizeof(v));
    v.id = id;
    v.rows = b->rows;
    v.input_cnt = cnt;
    v.names = b->names;
    v.data = b->data;
    v.dims = dims;
    v.ndim = ndim;
    v.output = xq_model_output(remote)->name;
    v.grad_index = b->grad ? b->grad_index : NULL;
    v.encoded_cnt = enc_cnt;
    v.encoded = enc;
    v.sel = sel;
    v.compact = compact;
    v.pick = pick;
    xq_infer_req_pack(&v, out);
}

size_t xq_remote_rows_per_request(size_t row_elems, size_t max_bytes) {
    size_t rows = max_bytes / (row_elems * sizeof(float) + 8); /* + its gradient index */

    return rows ? rows : 1;
}
