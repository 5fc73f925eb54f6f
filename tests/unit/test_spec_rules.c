/* test_spec_rules.c -- every validation rule of the ExplanationSpec, each with the path it names.
 */
#include <math.h>
#include <string.h>

#include <check.h>

#include "helpers.h"
#include "mem.h"
#include "mp.h"
#include "spec.h"
#include "spec_helpers.h"
#include "suites.h"

/* Specs below are written with ' for " to stay readable. */
#define dq t_dq

#define SHAP     "'parameters': {'sampledShapleyAttribution': {'pathCount': 5}}"
#define OUTS     "'outputs': {'o': {}}"
#define IGP      "'parameters': {'integratedGradientsAttribution': {'stepCount': 5}}"
#define INPUT(x) "{" SHAP ", 'metadata': {'inputs': {'f': " x "}, " OUTS "}}"
#define SG(x)                                                                                   \
    "{'parameters': {'integratedGradientsAttribution': {'stepCount': 5, 'smoothGradConfig': " x \
    "}}, 'metadata': {'inputs': {'f': {}, 'g': {}}, " OUTS "}}"
#define EX(x)  "{'parameters': {'examples': " x "}}"
#define VIZ(x) INPUT("{'visualization': " x "}")

static const struct rule {
    const char *json;
    const char *path;
    const char *msg;
} rules[] = {
    /* the document */
    {"[1]", "", "expected an object, got array"},
    {"{}", "parameters", "is required"},
    {"{'parameters': {}}", "parameters", "one of sampledShapleyAttribution"},
    {"{" SHAP ", 'extra': 1}", "extra", "unknown field (expected one of: parameters, metadata)"},
    {"{'parameters': 3}", "parameters", "expected an object, got integer"},
    /* the method union and its members */
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}, 'xraiAttribution': "
     "{'stepCount': 5}, 'examples': {}}}",
     "parameters", "union method holds sampledShapleyAttribution and xraiAttribution and examples"},
    {"{'parameters': {'sampledShapleyAttribution': {}}}",
     "parameters.sampledShapleyAttribution.pathCount", "is required"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 0}}}",
     "parameters.sampledShapleyAttribution.pathCount", "0 is outside [1, 50]"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 51}}}",
     "parameters.sampledShapleyAttribution.pathCount", "51 is outside [1, 50]"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 2.5}}}",
     "parameters.sampledShapleyAttribution.pathCount", "expected an integer, got 2.5"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 'ten'}}}",
     "parameters.sampledShapleyAttribution.pathCount", "expected an integer, got string"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': true}}}",
     "parameters.sampledShapleyAttribution.pathCount", "expected an integer, got boolean"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5, 'paths': 1}}}",
     "parameters.sampledShapleyAttribution.paths", "unknown field (expected one of: pathCount)"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5, 'path_count': 5}}}",
     "parameters.sampledShapleyAttribution.path_count", "is set twice"},
    {"{'parameters': {'integratedGradientsAttribution': {}}}",
     "parameters.integratedGradientsAttribution.stepCount", "is required"},
    {"{'parameters': {'integratedGradientsAttribution': {'stepCount': 0}}}",
     "parameters.integratedGradientsAttribution.stepCount", "0 is outside [1, 100]"},
    {"{'parameters': {'integratedGradientsAttribution': {'stepCount': 101}}}",
     "parameters.integratedGradientsAttribution.stepCount", "101 is outside [1, 100]"},
    {"{'parameters': {'xraiAttribution': {'stepCount': -3}}}",
     "parameters.xraiAttribution.stepCount", "-3 is outside [1, 100]"},
    {"{'parameters': {'xraiAttribution': {}}}", "parameters.xraiAttribution.stepCount",
     "is required"},
    {"{'parameters': {'xraiAttribution': {'stepCount': 5, 'blurBaselineConfig': "
     "{'maxBlurSigma': 0}}}}",
     "parameters.xraiAttribution.blurBaselineConfig.maxBlurSigma", "0 must be greater than 0"},
    {"{'parameters': {'integratedGradientsAttribution': {'stepCount': 5, 'blurBaselineConfig': "
     "{'maxBlurSigma': 'big'}}}}",
     "parameters.integratedGradientsAttribution.blurBaselineConfig.maxBlurSigma",
     "expected a number, got string"},
    {"{'parameters': {'integratedGradientsAttribution': {'stepCount': 5, 'blurBaselineConfig': "
     "{'sigma': 1}}}}",
     "parameters.integratedGradientsAttribution.blurBaselineConfig.sigma", "unknown field"},
    /* SmoothGradConfig and its GradientNoiseSigma union */
    {SG("{'noisySampleCount': 0}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.noisySampleCount",
     "0 is outside [1, 50]"},
    {SG("{'noisySampleCount': 51}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.noisySampleCount",
     "51 is outside [1, 50]"},
    {SG("{'noiseSigma': -0.5}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.noiseSigma", "-0.5 is negative"},
    {SG("{'noiseSigma': [0.1]}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.noiseSigma",
     "expected a number, got array"},
    {SG("{'noiseSigma': 0.1, 'featureNoiseSigma': {'noiseSigma': []}}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig",
     "union GradientNoiseSigma holds noiseSigma and featureNoiseSigma; only one may be set"},
    {SG("{'featureNoiseSigma': {'noiseSigma': [{'sigma': 1}]}}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.featureNoiseSigma.noiseSigma[0]"
     ".name",
     "is required"},
    {SG("{'featureNoiseSigma': {'noiseSigma': [{'name': 'f'}, {'name': 'h'}]}}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.featureNoiseSigma.noiseSigma[1]"
     ".name",
     "unknown feature \"h\" (not a key of metadata.inputs)"},
    {SG("{'featureNoiseSigma': {'noiseSigma': [{'name': 'f'}, {'name': 'f'}]}}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.featureNoiseSigma.noiseSigma[1]"
     ".name",
     "listed twice"},
    {SG("{'featureNoiseSigma': {'noiseSigma': [{'name': 'g', 'sigma': -1}]}}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.featureNoiseSigma.noiseSigma[0]"
     ".sigma",
     "-1 is negative"},
    {SG("{'featureNoiseSigma': {'noiseSigma': {'f': 1}}}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.featureNoiseSigma.noiseSigma",
     "expected an array, got object"},
    {SG("{'featureNoiseSigma': {'sigmas': []}}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.featureNoiseSigma.sigmas",
     "unknown field"},
    {SG("{'noisySamples': 3}"),
     "parameters.integratedGradientsAttribution.smoothGradConfig.noisySamples", "unknown field"},
    /* topK and outputIndices */
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}, 'topK': 0}}",
     "parameters.topK", "0 is not allowed"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}, 'topK': -2}}",
     "parameters.topK", "-2 is outside [-1, 2147483647]"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}, 'outputIndices': 3}}",
     "parameters.outputIndices", "expected an array of output indices, got integer"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}, 'outputIndices': []}}",
     "parameters.outputIndices", "must not be an empty array"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}, 'outputIndices': [1, -1]}}",
     "parameters.outputIndices[1]", "output index -1 is negative"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}, 'outputIndices': ['a']}}",
     "parameters.outputIndices[0]", "expected an output index (integer >= 0), got string"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}, 'outputIndices': [[0, 1], "
     "2]}}",
     "parameters.outputIndices[1]", "must be rectangular"},
    {"{'parameters': {'sampledShapleyAttribution': {'pathCount': 5}, 'outputIndices': [[0, 1], "
     "[2]]}}",
     "parameters.outputIndices[1]", "has another shape than element 0"},
    /* Examples */
    {EX("{'neighborCount': 0, 'presets': {'modality': 'TEXT'}}"),
     "parameters.examples.neighborCount", "0 is outside [1, 10000]"},
    {EX("{'presets': {'modality': 'TEXT'}, 'nearestNeighborSearchConfig': {}}"),
     "parameters.examples", "union config holds nearestNeighborSearchConfig and presets"},
    {EX("{'presets': {}}"), "parameters.examples.presets.modality", "is required"},
    {EX("{'presets': {'modality': 'MODALITY_UNSPECIFIED'}}"),
     "parameters.examples.presets.modality", "must not be set"},
    {EX("{'presets': {'modality': 'AUDIO'}}"), "parameters.examples.presets.modality",
     "unknown value \"AUDIO\" (expected one of: MODALITY_UNSPECIFIED, IMAGE, TEXT, TABULAR)"},
    {EX("{'presets': {'modality': 'IMAGE', 'query': 'SLOW'}}"), "parameters.examples.presets.query",
     "unknown value \"SLOW\" (expected one of: PRECISE, FAST)"},
    {EX("{'presets': {'modality': 'IMAGE', 'speed': 1}}"), "parameters.examples.presets.speed",
     "unknown field"},
    {EX("{'nearestNeighborSearchConfig': [1]}"), "parameters.examples.nearestNeighborSearchConfig",
     "expected an object, got array"},
    {EX("{'exampleGcsSource': {}}"), "parameters.examples.exampleGcsSource.gcsSource",
     "is required"},
    {EX("{'exampleGcsSource': {'gcsSource': {}}}"),
     "parameters.examples.exampleGcsSource.gcsSource.uris", "is required"},
    {EX("{'exampleGcsSource': {'gcsSource': {'uris': []}}}"),
     "parameters.examples.exampleGcsSource.gcsSource.uris", "at least one URI"},
    {EX("{'exampleGcsSource': {'gcsSource': {'uris': [7]}}}"),
     "parameters.examples.exampleGcsSource.gcsSource.uris[0]", "expected a string, got integer"},
    {EX("{'exampleGcsSource': {'dataFormat': 'CSV', 'gcsSource': {'uris': ['a']}}}"),
     "parameters.examples.exampleGcsSource.dataFormat",
     "unknown value \"CSV\" (expected one of: DATA_FORMAT_UNSPECIFIED, JSONL)"},
    {EX("{'k': 1}"), "parameters.examples.k", "unknown field"},
    /* ExplanationMetadata */
    {"{" SHAP ", 'metadata': {" OUTS "}}", "metadata.inputs", "is required"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}}}", "metadata.outputs", "is required"},
    {"{" SHAP ", 'metadata': {'inputs': {}, " OUTS "}}", "metadata.inputs", "at least one input"},
    {"{" SHAP ", 'metadata': {'inputs': [], " OUTS "}}", "metadata.inputs",
     "expected an object, got array"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, 'outputs': {}}}", "metadata.outputs",
     "has 0 keys; exactly one output must be described"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, 'outputs': {'a': {}, 'b': {}}}}",
     "metadata.outputs", "has 2 keys; exactly one output must be described"},
    {"{" SHAP ", 'metadata': {'inputs': {'': {}}, " OUTS "}}", "metadata.inputs[\"\"]",
     "must not be empty"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, " OUTS ", 'latentSpaceSource': 3}}",
     "metadata.latentSpaceSource", "expected a string, got integer"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, " OUTS ", 'featureAttributionsSchemaUri': ''}}",
     "metadata.featureAttributionsSchemaUri", "must not be empty"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, " OUTS ", 'schema': 'x'}}", "metadata.schema",
     "unknown field"},
    /* InputMetadata */
    {INPUT("{'encoding': 'ONE_HOT'}"), "metadata.inputs.f.encoding",
     "unknown value \"ONE_HOT\" (expected one of: ENCODING_UNSPECIFIED, IDENTITY"},
    {INPUT("{'encoding': 9}"), "metadata.inputs.f.encoding", "unknown value number"},
    {INPUT("{'encoding': 'BAG_OF_FEATURES'}"), "metadata.inputs.f.indexFeatureMapping",
     "is required (non-empty) when encoding is BAG_OF_FEATURES"},
    {INPUT("{'encoding': 'BAG_OF_FEATURES_SPARSE', 'indexFeatureMapping': []}"),
     "metadata.inputs.f.indexFeatureMapping",
     "is required (non-empty) when encoding is BAG_OF_FEATURES_SPARSE"},
    {INPUT("{'encoding': 'INDICATOR'}"), "metadata.inputs.f.indexFeatureMapping",
     "is required (non-empty) when encoding is INDICATOR"},
    {INPUT("{'encoding': 'COMBINED_EMBEDDING'}"), "metadata.inputs.f.encodedTensorName",
     "is required when encoding is COMBINED_EMBEDDING"},
    {INPUT("{'encoding': 'CONCAT_EMBEDDING'}"), "metadata.inputs.f.encodedTensorName",
     "is required when encoding is CONCAT_EMBEDDING"},
    {INPUT("{'indexFeatureMapping': ['a', 'b', 'a']}"), "metadata.inputs.f.indexFeatureMapping[2]",
     "\"a\" is listed twice"},
    {INPUT("{'indexFeatureMapping': ['a', 1]}"), "metadata.inputs.f.indexFeatureMapping[1]",
     "expected a string, got integer"},
    {INPUT("{'modality': 'text'}"), "metadata.inputs.f.modality",
     "unknown value \"text\" (expected one of: numeric, image)"},
    {INPUT("{'modality': 1}"), "metadata.inputs.f.modality", "expected a string"},
    {INPUT("{'inputTensorName': 5}"), "metadata.inputs.f.inputTensorName",
     "expected a string, got integer"},
    {INPUT("{'groupName': ['g']}"), "metadata.inputs.f.groupName", "expected a string, got array"},
    {INPUT("{'encodedTensorName': ''}"), "metadata.inputs.f.encodedTensorName",
     "must not be empty"},
    {INPUT("{'indicesTensorName': {}}"), "metadata.inputs.f.indicesTensorName",
     "expected a string, got object"},
    {INPUT("{'denseShapeTensorName': null}"), "metadata.inputs.f.denseShapeTensorName",
     "expected a string, got null"},
    {INPUT("{'inputBaselines': 0}"), "metadata.inputs.f.inputBaselines",
     "expected an array, got integer"},
    {INPUT("{'encodedBaselines': 'x'}"), "metadata.inputs.f.encodedBaselines",
     "expected an array, got string"},
    {INPUT("{'featureValueDomain': {'minValue': 1, 'maxValue': 1}}"),
     "metadata.inputs.f.featureValueDomain", "minValue (1) must be less than maxValue (1)"},
    {INPUT("{'featureValueDomain': {'originalStddev': 0}}"),
     "metadata.inputs.f.featureValueDomain.originalStddev", "0 must be greater than 0"},
    {INPUT("{'featureValueDomain': {'minValue': 'low'}}"),
     "metadata.inputs.f.featureValueDomain.minValue", "expected a number, got string"},
    {INPUT("{'featureValueDomain': {'mean': 0}}"), "metadata.inputs.f.featureValueDomain.mean",
     "unknown field"},
    {INPUT("{'baselines': []}"), "metadata.inputs.f.baselines", "unknown field"},
    {INPUT("[]"), "metadata.inputs.f", "expected an object, got array"},
    /* Visualization */
    {VIZ("{'type': 'HEATMAP'}"), "metadata.inputs.f.visualization.type",
     "unknown value \"HEATMAP\" (expected one of: TYPE_UNSPECIFIED, PIXELS, OUTLINES)"},
    {VIZ("{'polarity': 'UP'}"), "metadata.inputs.f.visualization.polarity", "unknown value \"UP\""},
    {VIZ("{'colorMap': 'BLUE'}"), "metadata.inputs.f.visualization.colorMap",
     "unknown value \"BLUE\""},
    {VIZ("{'overlayType': 'BLEND'}"), "metadata.inputs.f.visualization.overlayType",
     "unknown value \"BLEND\""},
    {VIZ("{'clipPercentUpperbound': 100.5}"),
     "metadata.inputs.f.visualization.clipPercentUpperbound", "100.5 is outside [0, 100]"},
    {VIZ("{'clipPercentLowerbound': -1}"), "metadata.inputs.f.visualization.clipPercentLowerbound",
     "-1 is outside [0, 100]"},
    {VIZ("{'clipPercentLowerbound': 50, 'clipPercentUpperbound': 50}"),
     "metadata.inputs.f.visualization",
     "clipPercentLowerbound (50) must be less than clipPercentUpperbound (50)"},
    {VIZ("{'clipPercentLowerbound': 99.95}"), "metadata.inputs.f.visualization",
     "clipPercentLowerbound (99.95) must be less than clipPercentUpperbound (99.9, the default)"},
    {VIZ("{'color': 'RED'}"), "metadata.inputs.f.visualization.color", "unknown field"},
    /* OutputMetadata */
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, 'outputs': {'o': {'indexDisplayNameMapping': "
     "['a'], 'displayNameMappingKey': 'k'}}}}",
     "metadata.outputs.o",
     "union display_name_mapping holds indexDisplayNameMapping and displayNameMappingKey"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, 'outputs': {'o': {'indexDisplayNameMapping': "
     "['a', 2]}}}}",
     "metadata.outputs.o.indexDisplayNameMapping[1]", "expected a display name (string)"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, 'outputs': {'o': {'indexDisplayNameMapping': "
     "'a'}}}}",
     "metadata.outputs.o.indexDisplayNameMapping", "expected an array of display names"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, 'outputs': {'o': {'displayNameMappingKey': "
     "''}}}}",
     "metadata.outputs.o.displayNameMappingKey", "must not be empty"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, 'outputs': {'o': {'outputTensorName': 1}}}}",
     "metadata.outputs.o.outputTensorName", "expected a string, got integer"},
    {"{" SHAP ", 'metadata': {'inputs': {'f': {}}, 'outputs': {'o': {'name': 'x'}}}}",
     "metadata.outputs.o.name", "unknown field"},
    /* rules across inputs */
    {"{" SHAP ", 'metadata': {'inputs': {'a': {'inputBaselines': [1, 2]}, 'b': {}, "
     "'c': {'inputBaselines': [3]}}, " OUTS "}}",
     "metadata.inputs.c.inputBaselines",
     "has 1 baselines but metadata.inputs.a.inputBaselines has 2; every input must list the same "
     "number"},
    {"{" SHAP ", 'metadata': {'inputs': {'a': {'inputBaselines': [1, 2]}, 'b': {'encoding': "
     "'COMBINED_EMBEDDING', 'encodedTensorName': 'e', 'encodedBaselines': [0, 1, 2]}}, " OUTS "}}",
     "metadata.inputs.b.encodedBaselines", "has 3 baselines but metadata.inputs.a.inputBaselines"},
    {"{" SHAP ", 'metadata': {'inputs': {'a': {'groupName': 'b'}, 'b': {}}, " OUTS "}}",
     "metadata.inputs.a.groupName", "group \"b\" has the name of an input outside the group"},
    /* Values */
    {"{" SHAP ", 'metadata': {'inputs': {'a': {'inputBaselines': [[1, {'x': [1, 2]}]]}}, "
     "'outputs': {'o': {'indexDisplayNameMapping': [['a'], ['b', 'c']]}}}}",
     "metadata.outputs.o.indexDisplayNameMapping[1]", "must be rectangular"},
};

START_TEST(test_spec_rule) {
    const struct rule *r = &rules[_i];
    char *json = dq(r->json);
    char *path = dq(r->path);
    char *msg = dq(r->msg);
    xq_errlist_t errs;

    t_spec_bad(json, &errs);
    t_assert_error(&errs, path, msg);
    xq_errlist_fini(&errs);
    xq_free(json);
    xq_free(path);
    xq_free(msg);
}

END_TEST

/* Every error of a spec is reported, not only the first. */
START_TEST(test_spec_reports_every_error) {
    char *json = dq("{'parameters': {'sampledShapleyAttribution': {'pathCount': 0}, 'topK': 0,"
                    "  'bogus': 1},"
                    " 'metadata': {'inputs': {'a': {'encoding': 'INDICATOR'},"
                    "   'b': {'visualization': {'clipPercentLowerbound': 120}}},"
                    "  'outputs': {'x': {}, 'y': {}}}}");
    xq_errlist_t errs;

    t_spec_bad(json, &errs);
    ck_assert_uint_eq(errs.cnt, 6);
    t_assert_error(&errs, "parameters.sampledShapleyAttribution.pathCount", "0 is outside [1, 50]");
    t_assert_error(&errs, "parameters.topK", "0 is not allowed");
    t_assert_error(&errs, "parameters.bogus", "unknown field");
    t_assert_error(&errs, "metadata.inputs.a.indexFeatureMapping", "is required");
    t_assert_error(&errs, "metadata.inputs.b.visualization.clipPercentLowerbound",
                   "120 is outside [0, 100]");
    t_assert_error(&errs, "metadata.outputs", "has 2 keys");
    xq_errlist_fini(&errs);
    xq_free(json);
}

END_TEST

START_TEST(test_spec_error_list_is_bounded) {
    xq_buf_t b;
    xq_errlist_t errs;

    xq_buf_init(&b);
    xq_buf_append_str(&b, "{\"parameters\": {\"sampledShapleyAttribution\": {\"pathCount\": 5}}");
    for (int i = 0; i < XQ_ERRLIST_MAX + 30; i++)
        xq_buf_appendf(&b, ", \"junk%d\": 0", i);
    xq_buf_append_str(&b, "}");
    t_spec_bad(xq_buf_cstr(&b), &errs);
    ck_assert_uint_eq(errs.cnt, XQ_ERRLIST_MAX);
    ck_assert_uint_eq(errs.dropped, 30);
    xq_errlist_fini(&errs);
    xq_buf_fini(&b);
}

END_TEST

START_TEST(test_spec_paths_quote_odd_names) {
    char *json =
        dq("{" SHAP ", 'metadata': {'inputs': {'a.b \\'c\\'': {'encoding': 'X'}}, " OUTS "}}");
    xq_errlist_t errs;

    t_spec_bad(json, &errs);
    t_assert_error(&errs, "metadata.inputs[\"a.b \\\"c\\\"\"].encoding", "unknown value");
    xq_errlist_fini(&errs);
    xq_free(json);
}

END_TEST

/* What JSON cannot carry but msgpack can: NaN, duplicate keys, non-string keys, NUL, trailing
 * bytes. */
START_TEST(test_spec_msgpack_only_faults) {
    msgpack_packer pk;
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;
    xq_buf_t b;

    xq_buf_init(&b);
    xq_errlist_init(&errs);
    xq_mp_packer_init(&pk, &b);
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "parameters");
    msgpack_pack_map(&pk, 3);
    xq_mp_pack_str(&pk, "integratedGradientsAttribution");
    msgpack_pack_map(&pk, 2);
    xq_mp_pack_str(&pk, "stepCount");
    msgpack_pack_int(&pk, 5);
    xq_mp_pack_str(&pk, "smoothGradConfig");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "noiseSigma");
    msgpack_pack_double(&pk, NAN);
    msgpack_pack_int(&pk, 7); /* a non-string key */
    msgpack_pack_int(&pk, 7);
    xq_mp_pack_str(&pk, "integratedGradientsAttribution"); /* the same key again */
    msgpack_pack_map(&pk, 0);
    ck_assert_int_eq(xq_spec_parse(b.data, b.len, &spec, &errs), XQ_ESPEC);
    t_assert_error(&errs, "parameters.integratedGradientsAttribution.smoothGradConfig.noiseSigma",
                   "must be a finite number");
    t_assert_error(&errs, "parameters", "has a key of type integer; keys must be strings");
    t_assert_error(&errs, "parameters.integratedGradientsAttribution", "is set twice");
    xq_errlist_fini(&errs);

    /* trailing bytes after one valid spec */
    xq_buf_fini(&b);
    xq_buf_init(&b);
    t_json_to_mp("{\"parameters\": {\"xraiAttribution\": {\"stepCount\": 5}}}", &b);
    xq_buf_append(&b, "\xc0", 1);
    ck_assert_int_eq(xq_spec_parse(b.data, b.len, &spec, &errs), XQ_EDECODE);
    t_assert_error(&errs, "", "not one valid msgpack object");
    xq_errlist_fini(&errs);
    ck_assert_int_eq(xq_spec_parse(b.data, b.len - 3, &spec, &errs), XQ_EDECODE);
    xq_errlist_fini(&errs);

    /* a NUL inside a name, and NaN inside a baseline Value */
    xq_buf_fini(&b);
    xq_buf_init(&b);
    xq_mp_packer_init(&pk, &b);
    msgpack_pack_map(&pk, 2);
    xq_mp_pack_str(&pk, "parameters");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "xraiAttribution");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "stepCount");
    msgpack_pack_int(&pk, 5);
    xq_mp_pack_str(&pk, "metadata");
    msgpack_pack_map(&pk, 2);
    xq_mp_pack_str(&pk, "inputs");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_strn(&pk, "a\0b", 3);
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "inputBaselines");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_double(&pk, 1.0);
    msgpack_pack_double(&pk, INFINITY);
    xq_mp_pack_str(&pk, "outputs");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "o");
    msgpack_pack_map(&pk, 0);
    ck_assert_int_eq(xq_spec_parse(b.data, b.len, &spec, &errs), XQ_ESPEC);
    t_assert_error(&errs, "metadata.inputs[\"a\\u0000b\"]", "must not contain NUL bytes");
    xq_errlist_fini(&errs);
    xq_buf_fini(&b);
}

END_TEST

/* Found by the fuzzer: a map32 header declaring ~1.6e9 pairs in 20 bytes. */
START_TEST(test_spec_inflated_msgpack_is_rejected_without_allocating) {
    static const uint8_t crash[] = {0x88, 0xf5, 0xdf, 0xdf, 0x62, 0x70, 0x21, 0x72, 0x61,
                                    0x69, 0x41, 0x74, 0x74, 0x72, 0x69, 0x62, 0x6d, 0,
                                    0,    0,    0,    0,    0,    0,    0};
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;

    xq_errlist_init(&errs);
    ck_assert_int_eq(xq_spec_parse(crash, sizeof(crash), &spec, &errs), XQ_EDECODE);
    ck_assert_ptr_null(spec);
    xq_errlist_fini(&errs);
}

END_TEST

START_TEST(test_spec_baseline_value_must_be_finite) {
    msgpack_packer pk;
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;
    xq_buf_t b;

    xq_buf_init(&b);
    xq_errlist_init(&errs);
    xq_mp_packer_init(&pk, &b);
    msgpack_pack_map(&pk, 2);
    xq_mp_pack_str(&pk, "parameters");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "xraiAttribution");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "stepCount");
    msgpack_pack_int(&pk, 5);
    xq_mp_pack_str(&pk, "metadata");
    msgpack_pack_map(&pk, 2);
    xq_mp_pack_str(&pk, "inputs");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "img");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "inputBaselines");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_double(&pk, 1.0);
    msgpack_pack_double(&pk, INFINITY);
    xq_mp_pack_str(&pk, "outputs");
    msgpack_pack_map(&pk, 1);
    xq_mp_pack_str(&pk, "o");
    msgpack_pack_map(&pk, 0);
    ck_assert_int_eq(xq_spec_parse(b.data, b.len, &spec, &errs), XQ_ESPEC);
    t_assert_error(&errs, "metadata.inputs.img.inputBaselines[0][1]", "must be a finite number");
    xq_errlist_fini(&errs);
    xq_buf_fini(&b);
}

END_TEST

START_TEST(test_spec_invalid_json_names_line) {
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;
    const char *json = "{\n \"parameters\": {\n  \"xraiAttribution\": {\"stepCount\": 5,}\n }\n}";

    xq_errlist_init(&errs);
    ck_assert_int_eq(xq_spec_parse_json(json, strlen(json), &spec, &errs), XQ_EDECODE);
    ck_assert_ptr_nonnull(strstr(errs.items[0].msg, "invalid JSON at line 3"));
    xq_errlist_fini(&errs);
}

END_TEST

Suite *spec_rules_suite(void) {
    Suite *s = suite_create("spec_rules");
    TCase *tc = tcase_create("invalid");

    tcase_add_loop_test(tc, test_spec_rule, 0, (int)(sizeof(rules) / sizeof(rules[0])));
    tcase_add_test(tc, test_spec_reports_every_error);
    tcase_add_test(tc, test_spec_error_list_is_bounded);
    tcase_add_test(tc, test_spec_paths_quote_odd_names);
    tcase_add_test(tc, test_spec_msgpack_only_faults);
    tcase_add_test(tc, test_spec_baseline_value_must_be_finite);
    tcase_add_test(tc, test_spec_inflated_msgpack_is_rejected_without_allocating);
    tcase_add_test(tc, test_spec_invalid_json_names_line);
    suite_add_tcase(s, tc);
    return s;
}
