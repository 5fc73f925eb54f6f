/* spec.c -- ExplanationSpec: parse and validate (every error, with its path), defaults, canonical
 * form. */
#include "spec.h"

#include "spec_int.h"

/* ==== Names ==== */

const char *xq_method_name(xq_method_t m) {
    const xq_method_def_t *def = xq_method_get(m);

    return def ? def->name : m == XQ_METHOD_NONE ? "none" : "unknown";
}

const char *xq_encoding_name(xq_encoding_t e) {
    return (unsigned)e <= XQ_ENCODING_CONCAT_EMBEDDING ? encoding_names[e] : "unknown";
}

/* ==== Entry points ==== */

xq_err_t xq_spec_parse_object(const msgpack_object *obj, xq_spec_t **out, xq_errlist_t *errs) {
    static const field_t f[] = {{"parameters", NULL}, {"metadata", NULL}};
    const msgpack_object *s[2];
    size_t before = xq_errlist_total(errs);
    msgpack_zone *zone;
    xq_spec_t *spec;
    parser_t p;

    zone = msgpack_zone_new(4096);
    XQ_ASSERT(zone != NULL);
    spec = xq_mp_zone_alloc(zone, sizeof(*spec));
    memset(spec, 0, sizeof(*spec));
    spec->zone = zone;
    memset(&p, 0, sizeof(p));
    p.zone = zone;
    p.errs = errs;

    if (xq_sp_walk_map(&p, obj, f, 2, s)) {
        /* metadata first: the parameters' rules look inputs up by name */
        if (s[1]) {
            size_t saved = xq_sp_push(&p, "metadata");
            xq_sp_parse_metadata(&p, s[1], &spec->meta);
            xq_sp_pop(&p, saved);
        }
        size_t saved = xq_sp_push(&p, "parameters");
        if (!s[0])
            xq_sp_fail(&p, "is required");
        else
            xq_sp_parse_params(&p, s[0], spec->meta.present, &spec->params);
        xq_sp_pop(&p, saved);
        xq_sp_check_inputs(&p, spec);
    }
    xq_free(p.names);

    if (xq_errlist_total(errs) != before) {
        msgpack_zone_free(zone);
        return XQ_ESPEC;
    }
    xq_sp_apply_defaults(spec);
    xq_sp_make_canonical(spec);
    xq_sp_make_id(spec);
    *out = spec;
    return XQ_OK;
}

xq_err_t xq_spec_parse(const uint8_t *buf, size_t len, xq_spec_t **out, xq_errlist_t *errs) {
    msgpack_unpacked msg;
    xq_err_t rc;

    msgpack_unpacked_init(&msg);
    if (!xq_mp_unpack_one(buf, len, &msg)) {
        xq_errlist_add(errs, XQ_EDECODE, "", "spec is not one valid msgpack object");
        rc = XQ_EDECODE;
        goto out;
    }
    rc = xq_spec_parse_object(&msg.data, out, errs);
out:
    msgpack_unpacked_destroy(&msg);
    return rc;
}

xq_err_t xq_spec_parse_json(const char *text, size_t len, xq_spec_t **out, xq_errlist_t *errs) {
    xq_error_t err;
    xq_buf_t mp;
    xq_err_t rc;

    xq_buf_init(&mp);
    if ((rc = xq_json_to_msgpack(text, len, &mp, &err)) != XQ_OK) {
        xq_errlist_add(errs, rc, err.field, "%s", err.msg);
        goto out;
    }
    rc = xq_spec_parse(mp.data, mp.len, out, errs);
out:
    xq_buf_fini(&mp);
    return rc;
}

xq_err_t xq_spec_parse_any(const uint8_t *buf, size_t len, xq_spec_t **out, xq_errlist_t *errs) {
    size_t i = 0;

    while (i < len && isspace(buf[i]))
        i++;
    if (i < len && (buf[i] == '{' || buf[i] == '['))
        return xq_spec_parse_json((const char *)buf, len, out, errs);
    return xq_spec_parse(buf, len, out, errs);
}

void xq_spec_to_json(const xq_spec_t *spec, int flags, xq_buf_t *out) {
    msgpack_unpack_return ur;
    msgpack_unpacked msg;
    size_t off = 0;
    xq_err_t rc;

    msgpack_unpacked_init(&msg);
    ur = msgpack_unpack_next(&msg, (const char *)spec->canonical, spec->canonical_len, &off);
    XQ_ASSERT(ur == MSGPACK_UNPACK_SUCCESS);
    rc = xq_json_from_msgpack(&msg.data, flags, out, NULL);
    XQ_ASSERT(rc == XQ_OK); /* the canonical form has only str keys and finite numbers */
    msgpack_unpacked_destroy(&msg);
}

void xq_spec_destroy(xq_spec_t *spec) {
    if (spec)
        msgpack_zone_free(spec->zone);
}
