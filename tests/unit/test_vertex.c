/* test_vertex.c -- specs as Vertex users hold them: halves, Model resources, request overrides. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "gwconf.h"
#include "helpers.h"
#include "spec_helpers.h"
#include "suites.h"
#include "vertex.h"

static const char full[] = "{'parameters': {'sampledShapleyAttribution': {'pathCount': 7}, "
                           "'topK': 2}, 'metadata': {'inputs': {'a': {'inputBaselines': [1]}, "
                           "'b': {}}, 'outputs': {'y': {}}}}";

/* Parses the given pieces (' for ", NULL for none); @returns the spec or NULL with @p errs. */
static xq_spec_t *
parts(const char *spec, const char *meta, const char *params, xq_errlist_t *errs) {
    char *s = spec ? t_dq(spec) : NULL, *m = meta ? t_dq(meta) : NULL,
         *p = params ? t_dq(params) : NULL;
    xq_spec_t *out = NULL;

    xq_vertex_spec_parse((const uint8_t *)s, s ? strlen(s) : 0, (const uint8_t *)m,
                         m ? strlen(m) : 0, (const uint8_t *)p, p ? strlen(p) : 0, &out, errs);
    xq_free(s);
    xq_free(m);
    xq_free(p);
    return out;
}

START_TEST(test_vertex_halves_and_model) {
    char *json = t_dq(full);
    xq_spec_t *want = t_spec_ok(json), *got;
    xq_errlist_t errs;

    xq_errlist_init(&errs);
    /* the two halves, snake_case, with AI Platform's bookkeeping keys */
    got = parts(NULL,
                "{'inputs': {'a': {'input_baselines': [1]}, 'b': {}}, 'outputs': {'y': {}}, "
                "'framework': 'xgboost', 'tags': ['explainable_model']}",
                "{'sampled_shapley_attribution': {'path_count': 7}, 'top_k': 2}", &errs);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got->id, want->id);
    xq_spec_destroy(got);
    /* parameters wrapped in {"parameters": ...} */
    got =
        parts(NULL, "{'inputs': {'a': {'inputBaselines': [1]}, 'b': {}}, 'outputs': {'y': {}}}",
              "{'parameters': {'sampledShapleyAttribution': {'pathCount': 7}, 'topK': 2}}", &errs);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got->id, want->id);
    xq_spec_destroy(got);
    /* a Model resource */
    {
        char model[1024];

        snprintf(model, sizeof(model),
                 "{'name': 'projects/p/locations/l/models/1', 'displayName': 'm', "
                 "'explanationSpec': %s}",
                 full);
        got = parts(model, NULL, NULL, &errs);
        ck_assert_ptr_nonnull(got);
        ck_assert_str_eq(got->id, want->id);
        xq_spec_destroy(got);
        /* ... with its parameters replaced */
        got =
            parts(model, NULL, "{'sampledShapleyAttribution': {'pathCount': 7}, 'topK': 2}", &errs);
        ck_assert_ptr_nonnull(got);
        ck_assert_str_eq(got->id, want->id);
        xq_spec_destroy(got);
    }
    ck_assert_uint_eq(errs.cnt, 0);
    /* a Model without a spec; metadata without parameters; a bad half */
    ck_assert_ptr_null(parts("{'displayName': 'm'}", NULL, NULL, &errs));
    t_assert_error(&errs, "explanationSpec", "has no explanationSpec");
    xq_errlist_fini(&errs);
    xq_errlist_init(&errs);
    ck_assert_ptr_null(parts(NULL, "{'inputs': {'a': {}}, 'outputs': {'y': {}}}", NULL, &errs));
    t_assert_error(&errs, "parameters", "required");
    xq_errlist_fini(&errs);
    xq_errlist_init(&errs);
    ck_assert_ptr_null(parts(NULL, NULL, "{'sampledShapleyAttribution': {'pathCount': 0}}", &errs));
    t_assert_error(&errs, "parameters.sampledShapleyAttribution.pathCount", "outside [1, 50]");
    xq_errlist_fini(&errs);
    xq_errlist_init(&errs);
    ck_assert_ptr_null(parts(NULL, "{'inputs': ", "{}", &errs));
    t_assert_error(&errs, "metadata", "invalid JSON");
    xq_errlist_fini(&errs);
    xq_spec_destroy(want);
    xq_free(json);
}

END_TEST

/* Applies override @p ovr (' for ") to the full spec; @returns the result or NULL. */
static xq_spec_t * override(const xq_spec_t *base, const char *ovr, xq_errlist_t *errs) {
    msgpack_unpacked u;
    xq_spec_t *out = NULL;
    char *o = t_dq(ovr);
    xq_buf_t b;

    xq_buf_init(&b);
    t_json_to_mp(o, &b);
    t_unpack(&b, &u);
    xq_vertex_spec_override(base, &u.data, &out, errs);
    msgpack_unpacked_destroy(&u);
    xq_buf_fini(&b);
    xq_free(o);
    return out;
}

START_TEST(test_vertex_override) {
    char *json = t_dq(full);
    xq_spec_t *base = t_spec_ok(json), *got, *want;
    xq_errlist_t errs;

    xq_errlist_init(&errs);
    /* nothing overridden: the same spec */
    got = override(base, "{}", &errs);
    ck_assert_str_eq(got->id, base->id);
    xq_spec_destroy(got);
    /* the method's settings replaced, topK kept; a baseline replaced, b untouched */
    got = override(base,
                   "{'parameters': {'sampled_shapley_attribution': {'pathCount': 3}}, "
                   "'metadata': {'inputs': {'a': {'inputBaselines': [5]}}}, "
                   "'examplesOverride': {'neighborCount': 3}}",
                   &errs);
    ck_assert_ptr_nonnull(got);
    xq_free(json);
    json = t_dq("{'parameters': {'sampledShapleyAttribution': {'pathCount': 3}, 'topK': 2}, "
                "'metadata': {'inputs': {'a': {'inputBaselines': [5]}, 'b': {}}, "
                "'outputs': {'y': {}}}}");
    want = t_spec_ok(json);
    ck_assert_str_eq(got->id, want->id);
    xq_spec_destroy(got);
    xq_spec_destroy(want);
    /* topK replaced */
    got = override(base, "{'parameters': {'topK': 1}}", &errs);
    ck_assert_int_eq(got->params.top_k, 1);
    ck_assert_int_eq(got->params.path_count, 7);
    xq_spec_destroy(got);
    ck_assert_uint_eq(errs.cnt, 0);
    /* the method cannot change; inputs must exist; only baselines; checked like a spec */
    ck_assert_ptr_null(override(
        base, "{'parameters': {'integratedGradientsAttribution': {'stepCount': 5}}}", &errs));
    t_assert_error(&errs, "explanationSpecOverride.parameters", "cannot be changed");
    xq_errlist_fini(&errs);
    xq_errlist_init(&errs);
    ck_assert_ptr_null(
        override(base, "{'metadata': {'inputs': {'z': {'inputBaselines': [0]}}}}", &errs));
    t_assert_error(&errs, "explanationSpecOverride.metadata.inputs.z", "not an input");
    xq_errlist_fini(&errs);
    xq_errlist_init(&errs);
    ck_assert_ptr_null(
        override(base, "{'metadata': {'inputs': {'a': {'modality': 'image'}}}}", &errs));
    t_assert_error(&errs, "explanationSpecOverride.metadata.inputs.a", "only set inputBaselines");
    xq_errlist_fini(&errs);
    xq_errlist_init(&errs);
    ck_assert_ptr_null(
        override(base, "{'parameters': {'sampledShapleyAttribution': {'pathCount': 99}}}", &errs));
    t_assert_error(&errs, "explanationSpecOverride.parameters.sampledShapleyAttribution.pathCount",
                   "outside [1, 50]");
    xq_errlist_fini(&errs);
    xq_errlist_init(&errs);
    ck_assert_ptr_null(override(base, "{'deployedModelId': '1'}", &errs));
    t_assert_error(&errs, "explanationSpecOverride", "unknown field");
    xq_errlist_fini(&errs);
    xq_spec_destroy(base);
    xq_free(json);
}

END_TEST

START_TEST(test_vertex_errors) {
    xq_buf_t b;

    xq_buf_init(&b);
    xq_vertex_error_json(400, "instances[0].x: \"bad\"", &b);
    ck_assert_str_eq(xq_buf_cstr(&b), "{\"error\":{\"code\":400,\"message\":\"instances[0].x: "
                                      "\\\"bad\\\"\",\"status\":\"INVALID_ARGUMENT\"}}");
    xq_buf_fini(&b);
    ck_assert_int_eq(xq_vertex_http_status(XQ_EINVAL), 400);
    ck_assert_int_eq(xq_vertex_http_status(XQ_ESPEC), 400);
    ck_assert_int_eq(xq_vertex_http_status(XQ_ENOTFOUND), 404);
    ck_assert_int_eq(xq_vertex_http_status(XQ_ETIMEOUT), 504);
    ck_assert_int_eq(xq_vertex_http_status(XQ_EKAFKA), 503);
    ck_assert_int_eq(xq_vertex_http_status(XQ_EMODEL), 500);
    ck_assert_str_eq(xq_vertex_status_name(404), "NOT_FOUND");
    ck_assert_str_eq(xq_vertex_status_name(503), "UNAVAILABLE");
    ck_assert_str_eq(xq_vertex_status_name(504), "DEADLINE_EXCEEDED");
}

END_TEST

/* Writes @p text to @p path. */
static void put(const char *path, const char *text) {
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_vertex_gateway_conf) {
    char dir[64], conf[96], spec[96];
    xq_gw_conf_t *c = NULL;
    xq_errlist_t errs;

    snprintf(dir, sizeof(dir), "/tmp/explainq-gwconf-%d", (int)getpid());
    snprintf(conf, sizeof(conf), "%s-gw.json", dir);
    snprintf(spec, sizeof(spec), "%s-params.json", dir);
    put(spec, "{\"sampled_shapley_attribution\": {\"path_count\": 4}}");
    {
        char text[512];

        snprintf(text, sizeof(text),
                 "{\"listen\": \"0.0.0.0:9000\", \"timeoutMs\": 1500, \"endpoints\": ["
                 "{\"endpoint\": \"e1\", \"model\": \"m\", \"parameters\": \"%s\"},"
                 "{\"endpoint\": \"e1\", \"deployedModelId\": \"7\", \"model\": \"m2\","
                 " \"parameters\": \"%s\", \"seed\": 3}]}",
                 strrchr(spec, '/') + 1, spec);
        put(conf, text);
    }
    xq_errlist_init(&errs);
    ck_assert_int_eq(xq_gw_conf_load(conf, &c, &errs), XQ_OK);
    ck_assert_str_eq(c->host, "0.0.0.0");
    ck_assert_int_eq(c->port, 9000);
    ck_assert_int_eq(c->timeout_ms, 1500);
    ck_assert_str_eq(c->result_topic, "explain.results.gateway");
    ck_assert_int_eq(c->endpoints[0].spec->params.path_count, 4); /* relative to the config */
    ck_assert_str_eq(xq_gw_conf_find(c, "e1", NULL)->model, "m");
    ck_assert_str_eq(xq_gw_conf_find(c, "e1", "1")->model, "m");
    ck_assert_str_eq(xq_gw_conf_find(c, "e1", "7")->model, "m2");
    ck_assert(xq_gw_conf_find(c, "e1", "7")->has_seed);
    ck_assert_ptr_null(xq_gw_conf_find(c, "e1", "8"));
    ck_assert_ptr_null(xq_gw_conf_find(c, "e2", NULL));
    xq_gw_conf_destroy(c);
    /* every problem, named */
    put(conf, "{\"listen\": \"nope\", \"bogus\": 1, \"endpoints\": [{\"endpoint\": \"a/b\","
              " \"model\": \"m\"}, {\"endpoint\": \"x\", \"model\": \"m\","
              " \"spec\": \"/nonexistent.json\"}]}");
    ck_assert_int_ne(xq_gw_conf_load(conf, &c, &errs), XQ_OK);
    t_assert_error(&errs, "listen", "HOST:PORT");
    t_assert_error(&errs, "", "unknown field bogus");
    t_assert_error(&errs, "endpoints[0]", "no slashes");
    t_assert_error(&errs, "endpoints[0]", "needs a spec");
    t_assert_error(&errs, "endpoints[1].spec", "cannot read /nonexistent.json");
    xq_errlist_fini(&errs);
    unlink(conf);
    unlink(spec);
}

END_TEST

Suite *vertex_suite(void) {
    Suite *s = suite_create("vertex");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_vertex_halves_and_model);
    tcase_add_test(tc, test_vertex_override);
    tcase_add_test(tc, test_vertex_errors);
    tcase_add_test(tc, test_vertex_gateway_conf);
    suite_add_tcase(s, tc);
    return s;
}
