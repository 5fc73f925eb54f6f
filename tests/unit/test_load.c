/* test_load.c -- the backend table: names, sniffing by path and content, and what loads. */
#include <string.h>

#include <check.h>

#include "model.h"
#include "models/load.h"
#include "suites.h"

static const char *sniff(const char *path, const char *head) {
    return xq_backend_sniff(path, (const uint8_t *)head, head ? strlen(head) : 0)->name;
}

START_TEST(test_load_names) {
    char buf[256], small[12];

    ck_assert_uint_eq(xq_backend_cnt(), 5);
    ck_assert_str_eq(xq_backend_list(buf, sizeof(buf)),
                     "onnx, onnx-interp, xgboost, http or dense");
    /* cut, never overrun */
    ck_assert_str_eq(xq_backend_list(small, sizeof(small)), "onnx, onnx-");
    ck_assert_ptr_null(xq_backend_at(xq_backend_cnt()));
    for (size_t i = 0; i < xq_backend_cnt(); i++) {
        const xq_backend_t *b = xq_backend_at(i);

        ck_assert_ptr_eq(xq_backend_find(b->name), b);
        ck_assert_ptr_nonnull(b->load);
        ck_assert_ptr_nonnull(b->what);
    }
    ck_assert_ptr_null(xq_backend_find("ONNX"));
    ck_assert_ptr_null(xq_backend_find("onnx-"));
    ck_assert_ptr_null(xq_backend_find(NULL));
    ck_assert(xq_backend_find("onnx")->flags & XQ_BACKEND_F_ONNX);
    ck_assert(xq_backend_find("onnx-interp")->flags & XQ_BACKEND_F_ONNX);
    ck_assert(!(xq_backend_find("xgboost")->flags & XQ_BACKEND_F_ONNX));
}

END_TEST

START_TEST(test_load_sniff) {
    /* by the path alone */
    ck_assert_str_eq(sniff("http://127.0.0.1:8080/v2/models/m", NULL), "http");
    ck_assert_str_eq(sniff("https://host/v1/models/m:predict", NULL), "http");
    ck_assert_str_eq(sniff("m.ubj", NULL), "xgboost");
    ck_assert_str_eq(sniff("dir/m.model", "{\"format\": \"explainq-dense-v1\"}"), "xgboost");
    /* a URL wins over a suffix */
    ck_assert_str_eq(sniff("http://host/m.json", NULL), "http");
    /* .json by its content: the dense format names itself */
    ck_assert_str_eq(sniff("m.json", "{\"format\": \"explainq-dense-v1\", \"layers\": []}"),
                     "dense");
    ck_assert_str_eq(sniff("m.json", "{\"learner\": {\"attributes\": {}}}"), "xgboost");
    ck_assert_str_eq(sniff("m.json", NULL), "xgboost");
    /* the tag only counts in a .json file */
    ck_assert_str_eq(sniff("m.onnx", "explainq-dense-v1"), "onnx");
    /* everything else: ONNX (never the interpreter alone, which is asked for by name) */
    ck_assert_str_eq(sniff("m.onnx", NULL), "onnx");
    ck_assert_str_eq(sniff("model", "\x08\x07\x12"), "onnx");
    ck_assert_str_eq(sniff("ftp://host/m", NULL), "onnx");
    ck_assert_str_eq(sniff("m.jsonl", NULL), "onnx");
}

END_TEST

START_TEST(test_load_sniff_tag_in_head_only) {
    /* the tag is looked for in the first XQ_BACKEND_SNIFF_LEN bytes only */
    static char head[XQ_BACKEND_SNIFF_LEN + 64];
    const char tag[] = "explainq-dense-v1";

    memset(head, ' ', sizeof(head) - 1);
    memcpy(head + XQ_BACKEND_SNIFF_LEN - sizeof(tag) + 1, tag, sizeof(tag) - 1);
    ck_assert_str_eq(sniff("m.json", head), "dense");
    memset(head, ' ', sizeof(head) - 1);
    memcpy(head + XQ_BACKEND_SNIFF_LEN - sizeof(tag) + 2, tag, sizeof(tag) - 1);
    ck_assert_str_eq(sniff("m.json", head), "xgboost");
}

END_TEST

START_TEST(test_load_choose_and_load) {
    xq_model_t *m = NULL;
    xq_error_t err;

    /* by content, from the file */
    ck_assert_str_eq(xq_backend_choose("tests/data/models/linear3.json", NULL, &err)->name,
                     "dense");
    ck_assert_str_eq(xq_backend_choose("tests/data/models/xgb_stump.json", NULL, &err)->name,
                     "xgboost");
    ck_assert_str_eq(xq_backend_choose("tests/data/onnx/mlp20.onnx", NULL, &err)->name, "onnx");
    /* a name wins over the file */
    ck_assert_str_eq(xq_backend_choose("tests/data/onnx/mlp20.onnx", "onnx-interp", &err)->name,
                     "onnx-interp");
    ck_assert_ptr_null(xq_backend_choose("tests/data/onnx/mlp20.onnx", "tflite", &err));
    ck_assert_int_eq(err.code, XQ_EINVAL);
    ck_assert_str_eq(err.field, "backend");
    ck_assert_ptr_nonnull(
        strstr(err.msg, "\"tflite\" (onnx, onnx-interp, xgboost, http or dense)"));
    ck_assert_ptr_null(xq_backend_choose("tests/data/no-such-model.json", NULL, &err));
    ck_assert_int_eq(err.code, XQ_EIO);

    /* what the table picks is what loads: the dense network has its 3 inputs */
    ck_assert_int_eq(xq_model_load("tests/data/models/linear3.json", NULL, &m, &err), XQ_OK);
    ck_assert_uint_eq(xq_model_input(m, 0)->elem_cnt, 3);
    xq_model_destroy(m);
    /* the dense file is no booster: asking for xgboost fails as a model error */
    ck_assert_int_ne(xq_model_load("tests/data/models/linear3.json",
                                   &(xq_model_opts_t){.backend = "xgboost"}, &m, &err),
                     XQ_OK);
    ck_assert_int_eq(xq_model_load("tests/data/models/linear3.json",
                                   &(xq_model_opts_t){.backend = "svm"}, &m, &err),
                     XQ_EINVAL);
    ck_assert_int_eq(xq_model_load("tests/data/models/linear3.json", NULL, &m, NULL), XQ_OK);
    xq_model_destroy(m);
    ck_assert_int_eq(xq_model_load("tests/data/none.onnx", NULL, &m, NULL), XQ_EIO);
}

END_TEST

Suite *load_suite(void) {
    Suite *s = suite_create("load");
    TCase *tc = tcase_create("load");

    tcase_add_test(tc, test_load_names);
    tcase_add_test(tc, test_load_sniff);
    tcase_add_test(tc, test_load_sniff_tag_in_head_only);
    tcase_add_test(tc, test_load_choose_and_load);
    suite_add_tcase(s, tc);
    return s;
}
