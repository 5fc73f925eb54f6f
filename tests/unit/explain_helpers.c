/* explain_helpers.c -- run the engine on test instances and read the results back. */
#include "explain_helpers.h"

#include <string.h>

#include <check.h>

#include "helpers.h"
#include "mp.h"
#include "spec_helpers.h"

void t_explain(const char *spec_json,
               xq_model_t *model,
               const char *insts_json,
               const xq_engine_opts_t *o,
               texpl_t *e) {
    xq_engine_opts_t def = {0};
    char *sj = t_dq(spec_json), *ij = t_dq(insts_json);
    xq_spec_t *spec = t_spec_ok(sj);
    size_t idx[T_MAX_INST];
    msgpack_unpacked insts;
    xq_engine_t *eng;
    uint64_t f0, g0;
    xq_buf_t b;

    memset(e, 0, sizeof(*e));
    xq_buf_init(&b);
    xq_buf_init(&e->packed);
    t_json_to_mp(ij, &b);
    t_unpack(&b, &insts);
    ck_assert_int_eq(insts.data.type, MSGPACK_OBJECT_ARRAY);
    e->cnt = insts.data.via.array.size;
    ck_assert_uint_le(e->cnt, T_MAX_INST);
    for (size_t i = 0; i < e->cnt; i++)
        idx[i] = i;
    xq_model_rows_evaluated(model, &f0, &g0);
    eng = xq_engine_new(spec, model, o ? o : &def);
    xq_engine_explain(eng, insts.data.via.array.ptr, idx, e->cnt, &e->packed, e->res);
    xq_engine_destroy(eng);
    xq_model_rows_evaluated(model, &e->fwd_rows, &e->grad_rows);
    e->fwd_rows -= f0;
    e->grad_rows -= g0;
    for (size_t i = 0; i < e->cnt; i++) {
        size_t off = 0;

        msgpack_unpacked_init(&e->msg[i]);
        if (e->res[i].rc == XQ_OK)
            ck_assert_int_eq(msgpack_unpack_next(&e->msg[i],
                                                 (const char *)e->packed.data + e->res[i].off,
                                                 e->res[i].len, &off),
                             MSGPACK_UNPACK_SUCCESS);
    }
    msgpack_unpacked_destroy(&insts);
    xq_buf_fini(&b);
    xq_spec_destroy(spec);
    xq_free(sj);
    xq_free(ij);
}

void t_explain_fini(texpl_t *e) {
    for (size_t i = 0; i < e->cnt; i++)
        msgpack_unpacked_destroy(&e->msg[i]);
    xq_buf_fini(&e->packed);
}

const msgpack_object *t_get(const msgpack_object *o, const char *key) {
    return xq_mp_map_get(o, key);
}

static void must_be_ok(const texpl_t *e, size_t i) {
    if (e->res[i].rc != XQ_OK)
        ck_abort_msg("instance %zu failed: %s: %s", i, e->res[i].err.field, e->res[i].err.msg);
}

size_t t_attr_cnt(const texpl_t *e, size_t i) {
    must_be_ok(e, i);
    return t_get(&e->msg[i].data, "attributions")->via.array.size;
}

const msgpack_object *t_attr(const texpl_t *e, size_t i, size_t a) {
    const msgpack_object *arr;

    must_be_ok(e, i);
    arr = t_get(&e->msg[i].data, "attributions");
    ck_assert_uint_lt(a, arr->via.array.size);
    return &arr->via.array.ptr[a];
}

double t_num(const texpl_t *e, size_t i, size_t a, const char *field) {
    const msgpack_object *v = t_get(t_attr(e, i, a), field);
    double d = 0;

    if (!v || !xq_mp_number(v, &d))
        ck_abort_msg("attribution has no number %s", field);
    return d;
}

bool t_has(const texpl_t *e, size_t i, size_t a, const char *field) {
    return t_get(t_attr(e, i, a), field) != NULL;
}

static bool nth(const msgpack_object *v, size_t *elem, double *out) {
    if (v->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t k = 0; k < v->via.array.size; k++) {
            if (nth(&v->via.array.ptr[k], elem, out))
                return true;
        }
        return false;
    }
    if (*elem == 0)
        return xq_mp_number(v, out);
    (*elem)--;
    return false;
}

double t_fa(const texpl_t *e, size_t i, size_t a, const char *key, size_t elem) {
    const msgpack_object *fa = t_get(t_attr(e, i, a), "featureAttributions");
    const msgpack_object *v = fa ? t_get(fa, key) : NULL;
    double d = 0;

    if (!v || !nth(v, &elem, &d))
        ck_abort_msg("featureAttributions has no %s element", key);
    return d;
}

size_t t_fa_cnt(const texpl_t *e, size_t i, size_t a) {
    return t_get(t_attr(e, i, a), "featureAttributions")->via.map.size;
}

long t_out_index(const texpl_t *e, size_t i, size_t a) {
    const msgpack_object *v = t_get(t_attr(e, i, a), "outputIndex");

    return v->via.array.size ? (long)v->via.array.ptr[0].via.u64 : -1;
}

const msgpack_object *t_expl_field(const texpl_t *e, size_t i, const char *field) {
    must_be_ok(e, i);
    return t_get(&e->msg[i].data, field);
}
