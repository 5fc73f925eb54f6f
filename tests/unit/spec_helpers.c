/* spec_helpers.c -- parsing specs from JSON in tests, and finding their errors. */
#include "spec_helpers.h"

#include <string.h>

#include <check.h>

#include "mem.h"

static void list_errors(const xq_errlist_t *errs, xq_buf_t *b) {
    for (size_t i = 0; i < errs->cnt; i++)
        xq_buf_appendf(b, "\n  %s: %s", errs->items[i].field, errs->items[i].msg);
}

xq_spec_t *t_spec_ok(const char *json) {
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;
    xq_buf_t b;

    xq_errlist_init(&errs);
    if (xq_spec_parse_json(json, strlen(json), &spec, &errs) != XQ_OK) {
        xq_buf_init(&b);
        list_errors(&errs, &b);
        ck_abort_msg("spec rejected:%s", xq_buf_cstr(&b));
    }
    ck_assert_uint_eq(xq_errlist_total(&errs), 0);
    xq_errlist_fini(&errs);
    return spec;
}

void t_spec_bad(const char *json, xq_errlist_t *errs) {
    xq_spec_t *spec = NULL;

    xq_errlist_init(errs);
    ck_assert_int_ne(xq_spec_parse_json(json, strlen(json), &spec, errs), XQ_OK);
    ck_assert_ptr_null(spec);
    ck_assert_uint_gt(errs->cnt, 0);
}

void t_assert_error(const xq_errlist_t *errs, const char *path, const char *msg) {
    xq_buf_t b;

    for (size_t i = 0; i < errs->cnt; i++) {
        if (strcmp(errs->items[i].field, path) == 0 && strstr(errs->items[i].msg, msg))
            return;
    }
    xq_buf_init(&b);
    list_errors(errs, &b);
    ck_abort_msg("no error \"%s: ...%s...\" among:%s", path, msg, xq_buf_cstr(&b));
}
