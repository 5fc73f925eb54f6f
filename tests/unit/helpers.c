/* helpers.c -- small helpers the unit tests share. */
#include "helpers.h"

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "json.h"
#include "mp.h"

void t_json_to_mp(const char *json, xq_buf_t *b) {
    xq_error_t err;

    if (xq_json_to_msgpack(json, strlen(json), b, &err) != XQ_OK)
        ck_abort_msg("bad test JSON: %s", err.msg);
}

void t_json_file_to_mp(const char *path, xq_buf_t *b) {
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    xq_buf_t text;
    size_t n;

    ck_assert_msg(f != NULL, "cannot read %s", path);
    xq_buf_init(&text);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        xq_buf_append(&text, chunk, n);
    fclose(f);
    xq_buf_cstr(&text);
    t_json_to_mp((const char *)text.data, b);
    xq_buf_fini(&text);
}

void t_unpack(const xq_buf_t *b, msgpack_unpacked *msg) {
    size_t off = 0;

    msgpack_unpacked_init(msg);
    ck_assert_int_eq(msgpack_unpack_next(msg, (const char *)b->data, b->len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, b->len);
}

char *t_hex(const uint8_t *p, size_t len) {
    static const char hex[] = "0123456789abcdef";
    char *s = xq_malloc(2 * len + 1);

    for (size_t i = 0; i < len; i++) {
        s[2 * i] = hex[p[i] >> 4];
        s[2 * i + 1] = hex[p[i] & 0xf];
    }
    s[2 * len] = '\0';
    return s;
}

char *t_canonical_hex(const char *json) {
    msgpack_unpacked msg;
    msgpack_packer pk;
    xq_buf_t b, c;
    char *hex;

    xq_buf_init(&b);
    xq_buf_init(&c);
    t_json_to_mp(json, &b);
    t_unpack(&b, &msg);
    xq_mp_packer_init(&pk, &c);
    ck_assert(xq_mp_pack_canonical(&pk, &msg.data));
    hex = t_hex(c.data, c.len);
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&b);
    xq_buf_fini(&c);
    return hex;
}

char *t_dq(const char *s) {
    char *d = xq_strdup(s);

    for (char *p = d; *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    return d;
}
