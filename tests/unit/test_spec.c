/* test_spec.c -- valid ExplanationSpecs: every field, the defaults, canonical form and id. */
#include <math.h>
#include <string.h>

#include <check.h>

#include "helpers.h"
#include "json.h"
#include "mp.h"
#include "spec.h"
#include "spec_helpers.h"
#include "suites.h"

/* Every field of IG's parameters and of InputMetadata/OutputMetadata, set away from defaults. */
static const char full_ig[] =
    "{\"parameters\": {"
    "  \"integratedGradientsAttribution\": {\"stepCount\": 50,"
    "    \"smoothGradConfig\": {\"noisySampleCount\": 7,"
    "      \"featureNoiseSigma\": {\"noiseSigma\": [{\"name\": \"img\", \"sigma\": 0.25},"
    "                                              {\"name\": \"age\"}]}},"
    "    \"blurBaselineConfig\": {\"maxBlurSigma\": 12.5}},"
    "  \"topK\": -1, \"outputIndices\": [2, 0]},"
    " \"metadata\": {"
    "  \"inputs\": {"
    "   \"img\": {\"inputTensorName\": \"image_in\", \"modality\": \"image\","
    "     \"inputBaselines\": [0, [[1, 2], [3, 4]]],"
    "     \"featureValueDomain\": {\"minValue\": -1, \"maxValue\": 1, \"originalMean\": 120.5,"
    "                              \"originalStddev\": 40},"
    "     \"visualization\": {\"type\": \"PIXELS\", \"polarity\": \"BOTH\", \"colorMap\": "
    "\"RED_GREEN\","
    "       \"clipPercentUpperbound\": 99, \"clipPercentLowerbound\": 10, \"overlayType\": "
    "\"GRAYSCALE\"}},"
    "   \"age\": {\"encoding\": \"IDENTITY\", \"groupName\": \"person\", \"inputBaselines\": [30, "
    "40]},"
    "   \"words\": {\"encoding\": \"CONCAT_EMBEDDING\", \"encodedTensorName\": \"emb\","
    "     \"encodedBaselines\": [0, 0.5], \"indicesTensorName\": \"idx\","
    "     \"denseShapeTensorName\": \"shape\"},"
    "   \"bag\": {\"encoding\": \"BAG_OF_FEATURES\", \"indexFeatureMapping\": [\"x\", \"y\", "
    "\"z\"]}},"
    "  \"outputs\": {\"probs\": {\"outputTensorName\": \"softmax\","
    "     \"indexDisplayNameMapping\": [\"cat\", \"dog\", \"emu\"]}},"
    "  \"featureAttributionsSchemaUri\": \"gs://b/schema.yaml\","
    "  \"latentSpaceSource\": \"dense_2\"}}";

static const xq_input_meta_t *input(const xq_spec_t *spec, const char *name) {
    for (size_t i = 0; i < spec->meta.input_cnt; i++) {
        if (strcmp(spec->meta.inputs[i].name, name) == 0)
            return &spec->meta.inputs[i];
    }
    ck_abort_msg("no input %s", name);
    return NULL;
}

START_TEST(test_spec_ig_every_field) {
    xq_spec_t *spec = t_spec_ok(full_ig);
    const xq_params_t *pa = &spec->params;
    const xq_input_meta_t *in;

    ck_assert_int_eq(pa->method, XQ_METHOD_INTEGRATED_GRADIENTS);
    ck_assert_int_eq(pa->ig.step_count, 50);
    ck_assert(pa->ig.smoothgrad.present);
    ck_assert_int_eq(pa->ig.smoothgrad.noisy_sample_count, 7);
    ck_assert_int_eq(pa->ig.smoothgrad.noise_kind, XQ_NOISE_FEATURE);
    ck_assert_uint_eq(pa->ig.smoothgrad.feature_cnt, 2);
    ck_assert_str_eq(pa->ig.smoothgrad.feature[0].name, "img");
    ck_assert_double_eq(pa->ig.smoothgrad.feature[0].sigma, 0.25);
    ck_assert_double_eq(pa->ig.smoothgrad.feature[1].sigma, 0.1); /* default */
    ck_assert(pa->ig.blur.present && pa->ig.blur.has_sigma);
    ck_assert_double_eq(pa->ig.blur.max_blur_sigma, 12.5);
    ck_assert(pa->has_top_k);
    ck_assert_int_eq(pa->top_k, -1);
    ck_assert(pa->has_output_indices);
    ck_assert_uint_eq(pa->output_indices.via.array.size, 2);
    ck_assert_uint_eq(pa->output_indices.via.array.ptr[0].via.u64, 2);

    ck_assert(spec->meta.present);
    ck_assert_uint_eq(spec->meta.input_cnt, 4);
    ck_assert_str_eq(spec->meta.inputs[0].name, "img"); /* document order */
    in = input(spec, "img");
    ck_assert_str_eq(in->input_tensor_name, "image_in");
    ck_assert_int_eq(in->modality, XQ_MODALITY_IMAGE);
    ck_assert_int_eq(in->encoding, XQ_ENCODING_IDENTITY);
    ck_assert_uint_eq(in->baseline_cnt, 2);
    ck_assert_int_eq(in->baselines[1].type, MSGPACK_OBJECT_ARRAY);
    ck_assert(in->domain.present && in->domain.has_min && in->domain.has_max &&
              in->domain.has_mean && in->domain.has_stddev);
    ck_assert_double_eq(in->domain.min_value, -1);
    ck_assert_double_eq(in->domain.max_value, 1);
    ck_assert_double_eq(in->domain.original_mean, 120.5);
    ck_assert_double_eq(in->domain.original_stddev, 40);
    ck_assert(in->viz.present);
    ck_assert_int_eq(in->viz.type, XQ_VIZ_TYPE_PIXELS);
    ck_assert_int_eq(in->viz.polarity, XQ_POLARITY_BOTH);
    ck_assert_int_eq(in->viz.color_map, XQ_COLOR_MAP_RED_GREEN);
    ck_assert_double_eq(in->viz.clip_upper, 99);
    ck_assert_double_eq(in->viz.clip_lower, 10);
    ck_assert_int_eq(in->viz.overlay, XQ_OVERLAY_GRAYSCALE);
    in = input(spec, "age");
    ck_assert_str_eq(in->group_name, "person");
    ck_assert_ptr_null(in->input_tensor_name);
    in = input(spec, "words");
    ck_assert_int_eq(in->encoding, XQ_ENCODING_CONCAT_EMBEDDING);
    ck_assert_str_eq(in->encoded_tensor_name, "emb");
    ck_assert_uint_eq(in->encoded_baseline_cnt, 2);
    ck_assert_str_eq(in->indices_tensor_name, "idx");
    ck_assert_str_eq(in->dense_shape_tensor_name, "shape");
    in = input(spec, "bag");
    ck_assert_int_eq(in->encoding, XQ_ENCODING_BAG_OF_FEATURES);
    ck_assert_uint_eq(in->index_feature_cnt, 3);
    ck_assert_str_eq(in->index_feature_mapping[2], "z");
    ck_assert_uint_eq(spec->baseline_cnt, 2);

    ck_assert_uint_eq(spec->meta.output_cnt, 1);
    ck_assert_str_eq(spec->meta.outputs[0].name, "probs");
    ck_assert_str_eq(spec->meta.outputs[0].output_tensor_name, "softmax");
    ck_assert_int_eq(spec->meta.outputs[0].display, XQ_DISPLAY_INDEX_MAPPING);
    ck_assert_uint_eq(spec->meta.outputs[0].index_display_name_mapping.via.array.size, 3);
    ck_assert_str_eq(spec->meta.feature_attributions_schema_uri, "gs://b/schema.yaml");
    ck_assert_str_eq(spec->meta.latent_space_source, "dense_2");
    ck_assert_uint_eq(strlen(spec->id), XQ_SPEC_ID_LEN);
    xq_spec_destroy(spec);
}

END_TEST

START_TEST(test_spec_shapley_and_defaults) {
    xq_spec_t *spec =
        t_spec_ok("{\"parameters\": {\"sampledShapleyAttribution\": {\"pathCount\": 1}},"
                  " \"metadata\": {\"inputs\": {\"x\": {}},"
                  "   \"outputs\": {\"y\": {\"displayNameMappingKey\": \"labels\"}}}}");

    ck_assert_int_eq(spec->params.method, XQ_METHOD_SAMPLED_SHAPLEY);
    ck_assert_int_eq(spec->params.path_count, 1);
    ck_assert(!spec->params.has_top_k);
    ck_assert_int_eq(spec->params.top_k, 1); /* seed: topK defaults to 1 */
    ck_assert(!spec->params.has_output_indices);
    ck_assert_int_eq(spec->meta.inputs[0].encoding, XQ_ENCODING_IDENTITY);
    ck_assert_int_eq(spec->meta.inputs[0].modality, XQ_MODALITY_NUMERIC);
    ck_assert_uint_eq(spec->meta.inputs[0].baseline_cnt, 0);
    ck_assert(!spec->meta.inputs[0].viz.present);
    ck_assert_int_eq(spec->meta.outputs[0].display, XQ_DISPLAY_KEY);
    ck_assert_str_eq(spec->meta.outputs[0].display_name_mapping_key, "labels");
    ck_assert_uint_eq(spec->baseline_cnt, 0);
    xq_spec_destroy(spec);
}

END_TEST

START_TEST(test_spec_smoothgrad_defaults) {
    xq_spec_t *spec = t_spec_ok("{\"parameters\": {\"integratedGradientsAttribution\":"
                                " {\"stepCount\": 1, \"smoothGradConfig\": {}, "
                                "  \"blurBaselineConfig\": {}}}}");
    const xq_ig_params_t *ig = &spec->params.ig;

    ck_assert(!spec->meta.present);
    ck_assert(ig->smoothgrad.present);
    ck_assert_int_eq(ig->smoothgrad.noisy_sample_count, 3); /* seed default */
    ck_assert_int_eq(ig->smoothgrad.noise_kind, XQ_NOISE_SIGMA);
    ck_assert_double_eq(ig->smoothgrad.noise_sigma, 0.1); /* seed default */
    ck_assert(ig->blur.present);
    ck_assert(!ig->blur.has_sigma); /* no sigma: the zero baseline */
    xq_spec_destroy(spec);
}

END_TEST

START_TEST(test_spec_visualization_defaults_by_method) {
    static const char fmt[] =
        "{\"parameters\": {\"%s\": {\"stepCount\": 10}},"
        " \"metadata\": {\"inputs\": {\"i\": {\"visualization\": {}}}, \"outputs\": {\"o\": {}}}}";
    char json[512];
    xq_spec_t *spec;

    snprintf(json, sizeof(json), fmt, "integratedGradientsAttribution");
    spec = t_spec_ok(json);
    ck_assert_int_eq(spec->meta.inputs[0].viz.type, XQ_VIZ_TYPE_OUTLINES);
    ck_assert_int_eq(spec->meta.inputs[0].viz.polarity, XQ_POLARITY_POSITIVE);
    ck_assert_int_eq(spec->meta.inputs[0].viz.color_map, XQ_COLOR_MAP_PINK_GREEN);
    ck_assert_double_eq(spec->meta.inputs[0].viz.clip_upper, 99.9);
    ck_assert_double_eq(spec->meta.inputs[0].viz.clip_lower, 62);
    ck_assert_int_eq(spec->meta.inputs[0].viz.overlay, XQ_OVERLAY_NONE);
    xq_spec_destroy(spec);
    snprintf(json, sizeof(json), fmt, "xraiAttribution");
    spec = t_spec_ok(json);
    ck_assert_int_eq(spec->params.method, XQ_METHOD_XRAI);
    ck_assert_int_eq(spec->params.ig.step_count, 10);
    ck_assert_int_eq(spec->meta.inputs[0].viz.color_map, XQ_COLOR_MAP_VIRIDIS);
    xq_spec_destroy(spec);
}

END_TEST

START_TEST(test_spec_xrai_every_field) {
    xq_spec_t *spec =
        t_spec_ok("{\"parameters\": {\"xraiAttribution\": {\"stepCount\": 100,"
                  "  \"smoothGradConfig\": {\"noisySampleCount\": 50, \"noiseSigma\": 0.3},"
                  "  \"blurBaselineConfig\": {\"maxBlurSigma\": 40}}}}");

    ck_assert_int_eq(spec->params.method, XQ_METHOD_XRAI);
    ck_assert_int_eq(spec->params.ig.step_count, 100);
    ck_assert_int_eq(spec->params.ig.smoothgrad.noisy_sample_count, 50);
    ck_assert_double_eq(spec->params.ig.smoothgrad.noise_sigma, 0.3);
    ck_assert_double_eq(spec->params.ig.blur.max_blur_sigma, 40);
    xq_spec_destroy(spec);
}

END_TEST

START_TEST(test_spec_examples_presets_and_source) {
    xq_spec_t *spec =
        t_spec_ok("{\"parameters\": {\"examples\": {\"neighborCount\": 10,"
                  "  \"exampleGcsSource\": {\"dataFormat\": \"JSONL\","
                  "     \"gcsSource\": {\"uris\": [\"gs://b/a.jsonl\", \"file:///tmp/b.jsonl\"]}},"
                  "  \"presets\": {\"modality\": \"TABULAR\", \"query\": \"FAST\"}}},"
                  " \"metadata\": {\"inputs\": {\"x\": {}}, \"outputs\": {\"emb\": {}},"
                  "   \"latentSpaceSource\": \"emb\"}}");
    const xq_examples_t *ex = &spec->params.examples;

    ck_assert_int_eq(spec->params.method, XQ_METHOD_EXAMPLES);
    ck_assert(ex->has_neighbor_count);
    ck_assert_int_eq(ex->neighbor_count, 10);
    ck_assert(ex->has_gcs_source);
    ck_assert_int_eq(ex->data_format, XQ_DATA_FORMAT_JSONL);
    ck_assert_uint_eq(ex->gcs_uri_cnt, 2);
    ck_assert_str_eq(ex->gcs_uris[1], "file:///tmp/b.jsonl");
    ck_assert_int_eq(ex->config, XQ_EXAMPLES_CONFIG_PRESETS);
    ck_assert_int_eq(ex->presets.modality, XQ_PRESET_MODALITY_TABULAR);
    ck_assert_int_eq(ex->presets.query, XQ_QUERY_FAST);
    xq_spec_destroy(spec);
}

END_TEST

START_TEST(test_spec_examples_nn_config_and_defaults) {
    xq_spec_t *spec = t_spec_ok(
        "{\"parameters\": {\"examples\": {"
        "  \"exampleGcsSource\": {\"gcsSource\": {\"uris\": [\"x.jsonl\"]}},"
        "  \"nearestNeighborSearchConfig\": {\"dimensions\": 64, \"approximateNeighborsCount\": 20,"
        "     \"distanceMeasureType\": \"DOT_PRODUCT_DISTANCE\"}}}}");
    const xq_examples_t *ex = &spec->params.examples;
    xq_spec_t *p2;

    ck_assert(!ex->has_neighbor_count);
    ck_assert_int_eq(ex->data_format, XQ_DATA_FORMAT_JSONL); /* seed: JSONL if unspecified */
    ck_assert_int_eq(ex->config, XQ_EXAMPLES_CONFIG_NEAREST_NEIGHBOR);
    ck_assert_int_eq(ex->nn_config.type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(ex->nn_config.via.map.size, 3);
    p2 = t_spec_ok("{\"parameters\": {\"examples\": {\"presets\": {\"modality\": \"IMAGE\"}}}}");
    ck_assert_int_eq(p2->params.examples.presets.query, XQ_QUERY_PRECISE); /* seed default */
    xq_spec_destroy(p2);
    xq_spec_destroy(spec);
}

END_TEST

START_TEST(test_spec_every_encoding_and_enum_numbers) {
    static const struct {
        const char *json;
        xq_encoding_t want;
    } cases[] = {
        {"\"ENCODING_UNSPECIFIED\"", XQ_ENCODING_IDENTITY},
        {"\"IDENTITY\"", XQ_ENCODING_IDENTITY},
        {"\"BAG_OF_FEATURES\"", XQ_ENCODING_BAG_OF_FEATURES},
        {"\"BAG_OF_FEATURES_SPARSE\"", XQ_ENCODING_BAG_OF_FEATURES_SPARSE},
        {"\"INDICATOR\"", XQ_ENCODING_INDICATOR},
        {"\"COMBINED_EMBEDDING\"", XQ_ENCODING_COMBINED_EMBEDDING},
        {"\"CONCAT_EMBEDDING\"", XQ_ENCODING_CONCAT_EMBEDDING},
        {"4", XQ_ENCODING_INDICATOR}, /* proto3 JSON: enums by number too */
    };

    char json[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(json, sizeof(json),
                 "{\"parameters\": {\"sampledShapleyAttribution\": {\"pathCount\": 5}},"
                 " \"metadata\": {\"inputs\": {\"f\": {\"encoding\": %s,"
                 "   \"indexFeatureMapping\": [\"a\"], \"encodedTensorName\": \"e\"}},"
                 "  \"outputs\": {\"o\": {}}}}",
                 cases[i].json);
        xq_spec_t *spec = t_spec_ok(json);
        ck_assert_int_eq(spec->meta.inputs[0].encoding, cases[i].want);
        ck_assert_str_eq(xq_encoding_name(spec->meta.inputs[0].encoding),
                         xq_encoding_name(cases[i].want));
        xq_spec_destroy(spec);
    }
}

END_TEST

START_TEST(test_spec_every_visualization_enum) {
    static const char *const colors[] = {"PINK_GREEN", "VIRIDIS",   "RED",
                                         "GREEN",      "RED_GREEN", "PINK_WHITE_GREEN"};
    static const char *const overlays[] = {"NONE", "ORIGINAL", "GRAYSCALE", "MASK_BLACK"};
    static const char *const polarities[] = {"POSITIVE", "NEGATIVE", "BOTH"};
    char json[640];

    for (int i = 0; i < 6; i++) {
        snprintf(json, sizeof(json),
                 "{\"parameters\": {\"xraiAttribution\": {\"stepCount\": 5}},"
                 " \"metadata\": {\"inputs\": {\"f\": {\"visualization\": {\"type\": \"%s\","
                 "   \"colorMap\": \"%s\", \"overlayType\": \"%s\", \"polarity\": \"%s\"}}},"
                 "  \"outputs\": {\"o\": {}}}}",
                 i % 2 ? "OUTLINES" : "PIXELS", colors[i], overlays[i % 4], polarities[i % 3]);
        xq_spec_t *spec = t_spec_ok(json);
        const xq_viz_t *viz = &spec->meta.inputs[0].viz;
        ck_assert_int_eq(viz->type, i % 2 ? XQ_VIZ_TYPE_OUTLINES : XQ_VIZ_TYPE_PIXELS);
        ck_assert_int_eq(viz->color_map, XQ_COLOR_MAP_PINK_GREEN + i);
        ck_assert_int_eq(viz->overlay, XQ_OVERLAY_NONE + i % 4);
        ck_assert_int_eq(viz->polarity, XQ_POLARITY_POSITIVE + i % 3);
        xq_spec_destroy(spec);
    }
}

END_TEST

/* Same meaning, other spelling: key order, spacing, snake_case, 10 vs 10.0 vs "10" (the order of
 * metadata.inputs is meaning: see test_spec_input_order). */
START_TEST(test_spec_id_ignores_spelling) {
    static const char *const same[] = {
        "{\"parameters\":{\"sampledShapleyAttribution\":{\"pathCount\":10}},"
        "\"metadata\":{\"inputs\":{\"a\":{\"inputBaselines\":[1.0]},\"b\":{}},"
        "\"outputs\":{\"y\":{}}}}",
        "{\n  \"metadata\": {\"outputs\": {\"y\": {}},\n   \"inputs\": {\"a\": "
        "{\"input_baselines\": "
        "[1]}, \"b\": {\"encoding\": \"IDENTITY\"}}},\n  \"parameters\": "
        "{\"sampled_shapley_attribution\": {\"path_count\": 10.0}, \"topK\": 1}\n}\n",
        "{\"parameters\":{\"topK\":\"1\",\"sampledShapleyAttribution\":{\"pathCount\":\"10\"}},"
        "\"metadata\":{\"inputs\":{\"a\":{\"inputBaselines\":[1]},\"b\":{\"modality\":\"numeric\"}}"
        ","
        "\"outputs\":{\"y\":{}}}}",
    };
    xq_spec_t *first = t_spec_ok(same[0]);

    for (size_t i = 1; i < sizeof(same) / sizeof(same[0]); i++) {
        xq_spec_t *spec = t_spec_ok(same[i]);
        ck_assert_str_eq(spec->id, first->id);
        ck_assert_uint_eq(spec->canonical_len, first->canonical_len);
        ck_assert_int_eq(memcmp(spec->canonical, first->canonical, first->canonical_len), 0);
        xq_spec_destroy(spec);
    }
    xq_spec_destroy(first);
}

END_TEST

/* Features feeding one tensor are concatenated in metadata order: the canonical form keeps that
 * order (a round trip through it changes no column), and another order is another spec. */
START_TEST(test_spec_input_order) {
    const char *zy = "{\"parameters\":{\"sampledShapleyAttribution\":{\"pathCount\":4}},"
                     "\"metadata\":{\"inputs\":{\"zeta\":{},\"alpha\":{},\"mid\":{}},"
                     "\"outputs\":{\"y\":{}}}}";
    const char *az = "{\"parameters\":{\"sampledShapleyAttribution\":{\"pathCount\":4}},"
                     "\"metadata\":{\"inputs\":{\"alpha\":{},\"mid\":{},\"zeta\":{}},"
                     "\"outputs\":{\"y\":{}}}}";
    xq_spec_t *a = t_spec_ok(zy), *b = t_spec_ok(az), *c;
    xq_errlist_t errs;
    xq_buf_t json;

    ck_assert_str_ne(a->id, b->id);
    xq_buf_init(&json);
    xq_spec_to_json(a, 0, &json);
    xq_errlist_init(&errs);
    ck_assert_int_eq(xq_spec_parse_json((const char *)json.data, json.len, &c, &errs), XQ_OK);
    ck_assert_str_eq(c->id, a->id);
    ck_assert_str_eq(c->meta.inputs[0].name, "zeta");
    ck_assert_str_eq(c->meta.inputs[1].name, "alpha");
    ck_assert_str_eq(c->meta.inputs[2].name, "mid");
    xq_spec_destroy(c);
    ck_assert_int_eq(xq_spec_parse(a->canonical, a->canonical_len, &c, &errs), XQ_OK);
    ck_assert_str_eq(c->meta.inputs[0].name, "zeta");
    ck_assert_str_eq(c->id, a->id);
    xq_spec_destroy(c);
    xq_errlist_fini(&errs);
    xq_buf_fini(&json);
    xq_spec_destroy(a);
    xq_spec_destroy(b);
}

END_TEST

START_TEST(test_spec_id_tells_specs_apart) {
    static const char *const differ[] = {
        "{\"parameters\":{\"sampledShapleyAttribution\":{\"pathCount\":10}}}",
        "{\"parameters\":{\"sampledShapleyAttribution\":{\"pathCount\":11}}}",
        "{\"parameters\":{\"sampledShapleyAttribution\":{\"pathCount\":10},\"topK\":2}}",
        "{\"parameters\":{\"integratedGradientsAttribution\":{\"stepCount\":10}}}",
        "{\"parameters\":{\"xraiAttribution\":{\"stepCount\":10}}}",
        "{\"parameters\":{\"sampledShapleyAttribution\":{\"pathCount\":10}},"
        "\"metadata\":{\"inputs\":{\"a\":{}},\"outputs\":{\"y\":{}}}}",
        "{\"parameters\":{\"sampledShapleyAttribution\":{\"pathCount\":10}},"
        "\"metadata\":{\"inputs\":{\"a\":{\"inputBaselines\":[0.5]}},\"outputs\":{\"y\":{}}}}",
    };
    char ids[sizeof(differ) / sizeof(differ[0])][XQ_SPEC_ID_LEN + 1];

    for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
        xq_spec_t *spec = t_spec_ok(differ[i]);
        memcpy(ids[i], spec->id, sizeof(ids[i]));
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(ids[i], ids[j]);
        xq_spec_destroy(spec);
    }
}

END_TEST

/*
 * The canonical form is a stored contract (ids are Redis keys): these bytes
 * are written out by hand from the msgpack format and the rules in spec.h,
 * and the id is `printf <bytes> | sha256sum`.
 */
START_TEST(test_spec_canonical_bytes_are_stable) {
    xq_spec_t *spec =
        t_spec_ok("{\"parameters\":{\"sampledShapleyAttribution\":{\"pathCount\":10}}}");
    char *hex = t_hex(spec->canonical, spec->canonical_len);

    /* {"parameters": {"sampledShapleyAttribution": {"pathCount": 10}, "topK": 1}} */
    ck_assert_str_eq(hex, "81aa706172616d657465727382b973616d706c6564536861706c6579417474726962"
                          "757469"
                          "6f6e81a970617468436f756e740aa4746f704b01");
    ck_assert_str_eq(spec->id, "26626bf3d51a6d23568792262feb9ebde621b7d258ddf46bb09cdb4b4bae03b2");
    xq_free(hex);
    xq_spec_destroy(spec);
}

END_TEST

/* JSON -> spec -> normalized JSON -> spec, and msgpack -> spec: one canonical form. */
START_TEST(test_spec_round_trips) {
    xq_spec_t *a = t_spec_ok(full_ig), *b, *c = NULL;
    xq_errlist_t errs;
    xq_buf_t json, mp;

    xq_buf_init(&json);
    xq_spec_to_json(a, XQ_JSON_PRETTY, &json);
    b = t_spec_ok(xq_buf_cstr(&json));
    ck_assert_str_eq(a->id, b->id);

    /* the same document as msgpack, through xq_spec_parse() and parse_any() */
    xq_buf_init(&mp);
    t_json_to_mp(full_ig, &mp);
    xq_errlist_init(&errs);
    ck_assert_int_eq(xq_spec_parse(mp.data, mp.len, &c, &errs), XQ_OK);
    ck_assert_str_eq(c->id, a->id);
    xq_spec_destroy(c);
    ck_assert_int_eq(xq_spec_parse_any(mp.data, mp.len, &c, &errs), XQ_OK);
    ck_assert_str_eq(c->id, a->id);
    xq_spec_destroy(c);
    /* and the canonical bytes parse to themselves */
    ck_assert_int_eq(xq_spec_parse(a->canonical, a->canonical_len, &c, &errs), XQ_OK);
    ck_assert_uint_eq(c->canonical_len, a->canonical_len);
    ck_assert_int_eq(memcmp(c->canonical, a->canonical, a->canonical_len), 0);
    ck_assert_uint_eq(xq_errlist_total(&errs), 0);
    xq_spec_destroy(c);
    xq_errlist_fini(&errs);
    xq_buf_fini(&mp);
    xq_buf_fini(&json);
    xq_spec_destroy(a);
    xq_spec_destroy(b);
}

END_TEST

/* msgpack written the way other encoders do: float32, bin-free, unsigned ints. */
START_TEST(test_spec_msgpack_float32_and_ints) {
    msgpack_packer pk;
    xq_spec_t *spec = NULL, *ref;
    xq_errlist_t errs;
    xq_buf_t b;

    xq_buf_init(&b);
    xq_mp_packer_init(&pk, &b);
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "parameters");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "integratedGradientsAttribution");
    msgpack_pack_map(&pk, 2);
    xq_mp_pack_str(&pk, "stepCount");
    msgpack_pack_uint8(&pk, 25);
    xq_mp_pack_str(&pk, "smoothGradConfig");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "noiseSigma");
    msgpack_pack_float(&pk, 0.5f);
    xq_errlist_init(&errs);
    ck_assert_int_eq(xq_spec_parse(b.data, b.len, &spec, &errs), XQ_OK);
    ck_assert_double_eq(spec->params.ig.smoothgrad.noise_sigma, 0.5);
    ref = t_spec_ok("{\"parameters\": {\"integratedGradientsAttribution\": {\"stepCount\": 25,"
                    " \"smoothGradConfig\": {\"noiseSigma\": 0.5}}}}");
    ck_assert_str_eq(spec->id, ref->id);
    xq_spec_destroy(ref);
    xq_spec_destroy(spec);
    xq_errlist_fini(&errs);
    xq_buf_fini(&b);
}

END_TEST

START_TEST(test_spec_value_fields_keep_their_shape) {
    xq_spec_t *spec = t_spec_ok(
        "{\"parameters\": {\"sampledShapleyAttribution\": {\"pathCount\": 3},"
        "   \"outputIndices\": [[0, 1], [2, 3]]},"
        " \"metadata\": {\"inputs\": {\"pic\": {\"inputBaselines\": [{\"b64\": \"AAAA\"}]},"
        "   \"txt\": {\"inputBaselines\": [\"\"]}},"
        "  \"outputs\": {\"o\": {\"indexDisplayNameMapping\": [[\"a\", \"b\"], [\"c\", "
        "\"d\"]]}}}}");
    const msgpack_object *b0 = &spec->meta.inputs[0].baselines[0];

    ck_assert_int_eq(b0->type, MSGPACK_OBJECT_MAP);
    ck_assert(xq_mp_str_eq(&b0->via.map.ptr[0].key, "b64"));
    ck_assert(xq_mp_str_eq(&spec->meta.inputs[1].baselines[0], ""));
    ck_assert_uint_eq(spec->params.output_indices.via.array.ptr[1].via.array.ptr[0].via.u64, 2);
    xq_spec_destroy(spec);
}

END_TEST

START_TEST(test_spec_normalized_json_has_defaults) {
    xq_spec_t *spec =
        t_spec_ok("{\"parameters\": {\"integratedGradientsAttribution\":"
                  " {\"stepCount\": 5, \"smoothGradConfig\": {}}},"
                  " \"metadata\": {\"inputs\": {\"x\": {}}, \"outputs\": {\"y\": {}}}}");
    xq_buf_t b;

    xq_buf_init(&b);
    xq_spec_to_json(spec, 0, &b);
    ck_assert_str_eq(xq_buf_cstr(&b),
                     "{\"metadata\":{\"inputs\":{\"x\":{\"encoding\":\"IDENTITY\",\"modality\":"
                     "\"numeric\"}},\"outputs\":{\"y\":{}}},\"parameters\":{"
                     "\"integratedGradientsAttribution\":{\"smoothGradConfig\":{"
                     "\"noiseSigma\":0.1,\"noisySampleCount\":3},\"stepCount\":5},\"topK\":1}}");
    xq_buf_fini(&b);
    xq_spec_destroy(spec);
}

END_TEST

Suite *spec_suite(void) {
    Suite *s = suite_create("spec");
    TCase *tc = tcase_create("valid");

    tcase_add_test(tc, test_spec_ig_every_field);
    tcase_add_test(tc, test_spec_shapley_and_defaults);
    tcase_add_test(tc, test_spec_smoothgrad_defaults);
    tcase_add_test(tc, test_spec_visualization_defaults_by_method);
    tcase_add_test(tc, test_spec_xrai_every_field);
    tcase_add_test(tc, test_spec_examples_presets_and_source);
    tcase_add_test(tc, test_spec_examples_nn_config_and_defaults);
    tcase_add_test(tc, test_spec_every_encoding_and_enum_numbers);
    tcase_add_test(tc, test_spec_every_visualization_enum);
    tcase_add_test(tc, test_spec_id_ignores_spelling);
    tcase_add_test(tc, test_spec_input_order);
    tcase_add_test(tc, test_spec_id_tells_specs_apart);
    tcase_add_test(tc, test_spec_canonical_bytes_are_stable);
    tcase_add_test(tc, test_spec_round_trips);
    tcase_add_test(tc, test_spec_msgpack_float32_and_ints);
    tcase_add_test(tc, test_spec_value_fields_keep_their_shape);
    tcase_add_test(tc, test_spec_normalized_json_has_defaults);
    suite_add_tcase(s, tc);
    return s;
}
