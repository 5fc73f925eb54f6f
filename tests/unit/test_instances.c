/* test_instances.c -- instance files as users hold them: JSON lines, bodies, documents, CSV. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "helpers.h"
#include "instances.h"
#include "json.h"
#include "mp.h"
#include "spec_helpers.h"
#include "suites.h"

/* Reads every instance of @p text as JSON, one line per result: the JSON or "ERR <msg>". */
static char *read_all(const char *text, const char *name, const xq_inst_opts_t *o) {
    char *copy = xq_strdup(text);
    FILE *f = fmemopen(copy, strlen(text), "r");
    xq_inst_reader_t *r = NULL;
    xq_buf_t all, mp;
    xq_error_t err;
    size_t line;
    bool eof = false;

    ck_assert_ptr_nonnull(f);
    xq_buf_init(&all);
    xq_buf_init(&mp);
    if (xq_inst_reader_new(f, name, o, &r, &err) != XQ_OK) {
        xq_buf_appendf(&all, "NEW %s\n", err.msg);
        goto out;
    }
    for (;;) {
        xq_err_t rc;
        msgpack_unpacked u;

        mp.len = 0;
        rc = xq_inst_reader_next(r, &mp, &line, &eof, &err);
        if (rc == XQ_OK && eof)
            break;
        if (rc != XQ_OK) {
            xq_buf_appendf(&all, "%zu ERR %s\n", line, err.msg);
            if (rc == XQ_EIO)
                break;
            continue;
        }
        msgpack_unpacked_init(&u);
        ck_assert(xq_mp_unpack_one(mp.data, mp.len, &u));
        xq_buf_appendf(&all, "%zu ", line);
        ck_assert_int_eq(xq_json_from_msgpack(&u.data, 0, &all, NULL), XQ_OK);
        xq_buf_append(&all, "\n", 1);
        msgpack_unpacked_destroy(&u);
    }
out:
    xq_inst_reader_destroy(r);
    fclose(f);
    xq_free(copy);
    xq_buf_fini(&mp);
    xq_buf_cstr(&all);
    return (char *)xq_buf_detach(&all, NULL);
}

static void check(const char *text, const char *name, const xq_inst_opts_t *o, const char *want) {
    char *got = read_all(text, name, o);

    ck_assert_str_eq(got, want);
    xq_free(got);
}

START_TEST(test_instances_json) {
    /* lines, blank lines, bare arrays, a request body on one line, a bad line in between */
    check("{\"a\": 1}\n\n[1, \"2\"]\r\n{\"instances\": [{\"a\": 2}, [3]], \"parameters\": {}}\n"
          "{\"a\": \n{\"instances\": []}\n7\n",
          "x.jsonl", NULL,
          "1 {\"a\":1}\n3 [1,\"2\"]\n4 {\"a\":2}\n4 [3]\n5 ERR line 5: invalid JSON at line 1 "
          "column 6: unexpected token near end of file\n7 7\n");
    /* a document over several lines */
    check("{\n  \"instances\": [\n    {\"a\": 1},\n    {\"a\": null}\n  ]\n}\n", "body.json", NULL,
          "1 {\"a\":1}\n1 {\"a\":null}\n");
    /* one instance pretty-printed */
    check("\n{\n \"a\": 1\n}\n", "one.json", NULL, "2 {\"a\":1}\n");
    /* an object with other keys than instances/parameters is an instance */
    check("{\"instances\": [1], \"b\": 2}\n", "x.jsonl", NULL, "1 {\"instances\":[1],\"b\":2}\n");
}

END_TEST

START_TEST(test_instances_json_spec_named_instances) {
    char *json = t_dq("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}},"
                      " 'metadata': {'inputs': {'instances': {}}, 'outputs': {'y': {}}}}");
    xq_spec_t *spec = t_spec_ok(json);
    xq_inst_opts_t o = {.spec = spec};

    /* the spec's one input is called instances: the object is an instance */
    check("{\"instances\": [1, 2]}\n", "x.jsonl", &o, "1 {\"instances\":[1,2]}\n");
    xq_spec_destroy(spec);
    xq_free(json);
}

END_TEST

START_TEST(test_instances_csv) {
    char *json = t_dq("{'parameters': {'sampledShapleyAttribution': {'pathCount': 2}},"
                      " 'metadata': {'inputs': {'a': {}, 'b': {}}, 'outputs': {'y': {}}}}");
    xq_spec_t *spec = t_spec_ok(json);
    const char *text[] = {"id"};
    xq_inst_opts_t o = {.spec = spec}, o2 = {.text_fields = text, .text_cnt = 1};

    /* quotes, doubled quotes, a quoted newline, CRLF, blanks around numbers, empty = null;
     * columns not in the metadata stay strings */
    check("a,b,note\r\n1, 2.5 ,\"x, \"\"y\"\"\"\r\n\r\n,-3e2,\"two\nlines\"\n", "in.csv", &o,
          "2 {\"a\":1,\"b\":2.5,\"note\":\"x, \\\"y\\\"\"}\n"
          "4 {\"a\":null,\"b\":-300,\"note\":\"two\\nlines\"}\n");
    /* errors name line and column; the next row is still read */
    check("a,b,note\n1,abc,x\n1,2\n1,2,x\n", "in.csv", &o,
          "2 ERR line 2, column 2 (b): \"abc\" is not a number\n3 ERR line 3: 2 fields, the "
          "header has 3\n4 {\"a\":1,\"b\":2,\"note\":\"x\"}\n");
    check("a,b\n1,x\"y\n", "in.csv", &o,
          "2 ERR line 2, column 2: a quote inside an unquoted field\n");
    check("a,b\n1,\"2\n", "in.csv", &o, "2 ERR line 2: a quoted field is not closed\n");
    /* no metadata: every column is a number but the text ones */
    check("id,x\nk1,0.5\n", "in.csv", &o2, "2 {\"id\":\"k1\",\"x\":0.5}\n");
    check("id,x\nk1,0.5\n", "in.csv", NULL,
          "2 ERR line 2, column 1 (id): \"k1\" is not a number\n");
    /* the header */
    check("", "in.csv", NULL, "NEW in.csv: no header line\n");
    check("a,a\n", "in.csv", NULL, "NEW line 1: column a appears twice\n");
    /* format by option, not name */
    o.format = XQ_INST_CSV;
    check("a,b\n1,2\n", "stdin", &o, "2 {\"a\":1,\"b\":2}\n");
    xq_spec_destroy(spec);
    xq_free(json);
}

END_TEST

START_TEST(test_instances_number) {
    static const struct {
        const char *s;
        bool ok;
        double v;
    } cases[] = {{"1", true, 1},      {"-2.5", true, -2.5}, {"+3e2", true, 300}, {".5", true, 0.5},
                 {"1e400", false, 0}, {"0x10", false, 0},   {"nan", false, 0},   {"inf", false, 0},
                 {" 1", false, 0},    {"1 ", false, 0},     {"", false, 0},      {"-", false, 0},
                 {"1.2.3", false, 0}, {"e5", false, 0}};

    double d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(xq_inst_number(cases[i].s, strlen(cases[i].s), &d) == cases[i].ok, "%s",
                      cases[i].s);
        if (cases[i].ok)
            ck_assert_double_eq(d, cases[i].v);
    }
}

END_TEST

Suite *instances_suite(void) {
    Suite *s = suite_create("instances");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_instances_json);
    tcase_add_test(tc, test_instances_json_spec_named_instances);
    tcase_add_test(tc, test_instances_csv);
    tcase_add_test(tc, test_instances_number);
    suite_add_tcase(s, tc);
    return s;
}
