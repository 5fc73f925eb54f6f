/* spec_params.c -- ExplanationParameters: methods, SmoothGrad, blur, examples, outputs. */
#include "spec_int.h"

/* ==== ExplanationParameters ==== */

static void
parse_smoothgrad(parser_t *p, const msgpack_object *v, bool have_meta, xq_smoothgrad_t *sg) {
    static const field_t f[] = {{"noisySampleCount", "noisy_sample_count"},
                                {"noiseSigma", "noise_sigma"},
                                {"featureNoiseSigma", "feature_noise_sigma"}};
    static const field_t fns[] = {{"noiseSigma", "noise_sigma"}};
    static const field_t fone[] = {{"name", NULL}, {"sigma", NULL}};
    static const char *const union_names[] = {"noiseSigma", "featureNoiseSigma"};
    const msgpack_object *s[FIELD_CNT(f)], *sl[1], *so[2];
    size_t saved;

    sg->present = true;
    sg->noisy_sample_count = 3;
    sg->noise_kind = XQ_NOISE_SIGMA;
    sg->noise_sigma = 0.1;
    if (!xq_sp_walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    xq_sp_check_union(p, "GradientNoiseSigma", s + 1, union_names, 2);
    if (s[0]) {
        saved = xq_sp_push(p, "noisySampleCount");
        xq_sp_get_int(p, s[0], 1, 50, &sg->noisy_sample_count);
        xq_sp_pop(p, saved);
    }
    if (s[1]) {
        saved = xq_sp_push(p, "noiseSigma");
        if (xq_sp_get_double(p, s[1], &sg->noise_sigma) && sg->noise_sigma < 0)
            xq_sp_fail(p, "%g is negative; a standard deviation must be >= 0", sg->noise_sigma);
        xq_sp_pop(p, saved);
    }
    if (!s[2])
        return;
    sg->noise_kind = XQ_NOISE_FEATURE;
    saved = xq_sp_push(p, "featureNoiseSigma");
    if (!xq_sp_walk_map(p, s[2], fns, 1, sl) || !sl[0]) {
        xq_sp_pop(p, saved);
        return;
    }
    xq_sp_push(p, "noiseSigma");
    if (sl[0]->type != MSGPACK_OBJECT_ARRAY) {
        xq_sp_fail(p, "expected an array, got %s", xq_sp_type_name(sl[0]));
        xq_sp_pop(p, saved);
        return;
    }
    sg->feature_cnt = sl[0]->via.array.size;
    sg->feature = xq_mp_zone_alloc(p->zone, sizeof(*sg->feature) * (sg->feature_cnt + 1));
    for (size_t i = 0; i < sg->feature_cnt; i++) {
        xq_feature_sigma_t *fs = &sg->feature[i];
        size_t si = xq_sp_push_index(p, i), sn;

        fs->name = NULL;
        fs->sigma = 0.1;
        if (xq_sp_walk_map(p, &sl[0]->via.array.ptr[i], fone, 2, so)) {
            sn = xq_sp_push(p, "name");
            if (!so[0]) {
                xq_sp_fail(p, "is required");
            } else if (xq_sp_get_str(p, so[0], &fs->name)) {
                if (have_meta && !xq_sp_has_input(p, fs->name))
                    xq_sp_fail(p, "unknown feature \"%s\" (not a key of metadata.inputs)",
                               fs->name);
                for (size_t j = 0; j < i; j++) {
                    if (sg->feature[j].name && strcmp(sg->feature[j].name, fs->name) == 0) {
                        xq_sp_fail(p, "feature \"%s\" is listed twice", fs->name);
                        break;
                    }
                }
            }
            xq_sp_pop(p, sn);
            if (so[1]) {
                sn = xq_sp_push(p, "sigma");
                if (xq_sp_get_double(p, so[1], &fs->sigma) && fs->sigma < 0)
                    xq_sp_fail(p, "%g is negative; a standard deviation must be >= 0", fs->sigma);
                xq_sp_pop(p, sn);
            }
        }
        xq_sp_pop(p, si);
    }
    xq_sp_pop(p, saved);
}

static void parse_blur(parser_t *p, const msgpack_object *v, xq_blur_t *blur) {
    static const field_t f[] = {{"maxBlurSigma", "max_blur_sigma"}};
    const msgpack_object *s[1];

    blur->present = true;
    if (!xq_sp_walk_map(p, v, f, 1, s) || !s[0])
        return;
    size_t saved = xq_sp_push(p, "maxBlurSigma");
    if (xq_sp_get_double(p, s[0], &blur->max_blur_sigma)) {
        if (blur->max_blur_sigma <= 0)
            xq_sp_fail(p, "%g must be greater than 0", blur->max_blur_sigma);
        else
            blur->has_sigma = true;
    }
    xq_sp_pop(p, saved);
}

/* integratedGradientsAttribution and xraiAttribution have the same fields. */
void xq_sp_parse_ig(parser_t *p, const msgpack_object *v, bool have_meta, xq_params_t *params) {
    static const field_t f[] = {{"stepCount", "step_count"},
                                {"smoothGradConfig", "smooth_grad_config"},
                                {"blurBaselineConfig", "blur_baseline_config"}};
    const msgpack_object *s[FIELD_CNT(f)];
    xq_ig_params_t *ig = &params->ig;
    size_t saved;

    if (!xq_sp_walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    saved = xq_sp_push(p, "stepCount");
    if (!s[0])
        xq_sp_fail(p, "is required");
    else
        xq_sp_get_int(p, s[0], 1, 100, &ig->step_count);
    xq_sp_pop(p, saved);
    if (s[1]) {
        saved = xq_sp_push(p, "smoothGradConfig");
        parse_smoothgrad(p, s[1], have_meta, &ig->smoothgrad);
        xq_sp_pop(p, saved);
    }
    if (s[2]) {
        saved = xq_sp_push(p, "blurBaselineConfig");
        parse_blur(p, s[2], &ig->blur);
        xq_sp_pop(p, saved);
    }
}

void xq_sp_parse_shapley(parser_t *p,
                         const msgpack_object *v,
                         bool have_meta,
                         xq_params_t *params) {
    static const field_t f[] = {{"pathCount", "path_count"}};
    const msgpack_object *s[1];

    (void)have_meta;
    if (!xq_sp_walk_map(p, v, f, 1, s))
        return;
    size_t saved = xq_sp_push(p, "pathCount");
    if (!s[0])
        xq_sp_fail(p, "is required");
    else
        xq_sp_get_int(p, s[0], 1, 50, &params->path_count);
    xq_sp_pop(p, saved);
}

static void parse_gcs_source(parser_t *p, const msgpack_object *v, xq_examples_t *ex) {
    static const field_t f[] = {{"dataFormat", "data_format"}, {"gcsSource", "gcs_source"}};
    static const field_t fg[] = {{"uris", NULL}};
    const msgpack_object *s[2], *sg[1];
    size_t saved;
    int e;

    ex->has_gcs_source = true;
    ex->data_format = XQ_DATA_FORMAT_JSONL;
    if (!xq_sp_walk_map(p, v, f, 2, s))
        return;
    if (s[0]) {
        saved = xq_sp_push(p, "dataFormat");
        if (xq_sp_get_enum(p, s[0], data_format_names, &e) && e != XQ_DATA_FORMAT_UNSPECIFIED)
            ex->data_format = (xq_data_format_t)e;
        xq_sp_pop(p, saved);
    }
    saved = xq_sp_push(p, "gcsSource");
    if (!s[1]) {
        xq_sp_fail(p, "is required");
    } else if (xq_sp_walk_map(p, s[1], fg, 1, sg)) {
        xq_sp_push(p, "uris");
        if (!sg[0])
            xq_sp_fail(p, "is required");
        else if (xq_sp_get_str_list(p, sg[0], &ex->gcs_uris, &ex->gcs_uri_cnt) && !ex->gcs_uri_cnt)
            xq_sp_fail(p, "must list at least one URI");
    }
    xq_sp_pop(p, saved);
}

static void parse_presets(parser_t *p, const msgpack_object *v, xq_presets_t *pr) {
    static const field_t f[] = {{"modality", NULL}, {"query", NULL}};
    const msgpack_object *s[2];
    size_t saved;
    int e;

    pr->query = XQ_QUERY_PRECISE;
    if (!xq_sp_walk_map(p, v, f, 2, s))
        return;
    saved = xq_sp_push(p, "modality");
    if (!s[0]) {
        xq_sp_fail(p, "is required (IMAGE, TEXT or TABULAR)");
    } else if (xq_sp_get_enum(p, s[0], preset_modality_names, &e)) {
        if (e == XQ_PRESET_MODALITY_UNSPECIFIED)
            xq_sp_fail(p, "MODALITY_UNSPECIFIED must not be set; choose IMAGE, TEXT or TABULAR");
        pr->modality = (xq_preset_modality_t)e;
    }
    xq_sp_pop(p, saved);
    if (s[1]) {
        saved = xq_sp_push(p, "query");
        if (xq_sp_get_enum(p, s[1], query_names, &e))
            pr->query = (xq_query_t)e;
        xq_sp_pop(p, saved);
    }
}

void xq_sp_parse_examples(parser_t *p,
                          const msgpack_object *v,
                          bool have_meta,
                          xq_params_t *params) {
    static const field_t f[] = {{"neighborCount", "neighbor_count"},
                                {"exampleGcsSource", "example_gcs_source"},
                                {"nearestNeighborSearchConfig", "nearest_neighbor_search_config"},
                                {"presets", NULL}};
    static const char *const config_names[] = {"nearestNeighborSearchConfig", "presets"};
    const msgpack_object *s[FIELD_CNT(f)];
    xq_examples_t *ex = &params->examples;
    size_t saved;

    (void)have_meta;
    if (!xq_sp_walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    xq_sp_check_union(p, "config", s + 2, config_names, 2);
    if (s[0]) {
        saved = xq_sp_push(p, "neighborCount");
        ex->has_neighbor_count = xq_sp_get_int(p, s[0], 1, 10000, &ex->neighbor_count);
        xq_sp_pop(p, saved);
    }
    if (s[1]) {
        saved = xq_sp_push(p, "exampleGcsSource");
        parse_gcs_source(p, s[1], ex);
        xq_sp_pop(p, saved);
    }
    if (s[2]) {
        saved = xq_sp_push(p, "nearestNeighborSearchConfig");
        ex->config = XQ_EXAMPLES_CONFIG_NEAREST_NEIGHBOR;
        if (s[2]->type != MSGPACK_OBJECT_MAP)
            xq_sp_fail(p, "expected an object, got %s", xq_sp_type_name(s[2]));
        else
            xq_sp_get_value(p, s[2], &ex->nn_config);
        xq_sp_pop(p, saved);
    }
    if (s[3]) {
        saved = xq_sp_push(p, "presets");
        ex->config = XQ_EXAMPLES_CONFIG_PRESETS;
        parse_presets(p, s[3], &ex->presets);
        xq_sp_pop(p, saved);
    }
}

void xq_sp_parse_params(parser_t *p, const msgpack_object *v, bool have_meta, xq_params_t *params) {
    /* the methods' union members (common/methods/registry.c), then the output selection */
    field_t f[XQ_METHOD_MAX + 2];
    const char *union_names[XQ_METHOD_MAX];
    const msgpack_object *s[XQ_METHOD_MAX + 2], **sel;
    size_t n = xq_method_cnt(), saved;

    params->top_k = 1;
    for (size_t m = 0; m < n; m++) {
        f[m] = (field_t){xq_method_at(m)->name, xq_method_at(m)->proto};
        union_names[m] = xq_method_at(m)->name;
    }
    f[n] = (field_t){"topK", "top_k"};
    f[n + 1] = (field_t){"outputIndices", "output_indices"};
    if (!xq_sp_walk_map(p, v, f, n + 2, s))
        return;
    if (xq_sp_check_union(p, "method", s, union_names, n) == 0) {
        char names[256];
        size_t off = 0;

        for (size_t m = 0; m < n && off < sizeof(names); m++)
            off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", m ? ", " : "",
                                    union_names[m]);
        xq_sp_fail(p, "one of %s is required", names);
    }
    for (size_t m = 0; m < n; m++) {
        if (!s[m])
            continue;
        params->method = xq_method_at(m)->method;
        saved = xq_sp_push(p, union_names[m]);
        xq_method_at(m)->parse(p, s[m], have_meta, params);
        xq_sp_pop(p, saved);
    }
    sel = s + n; /* topK, outputIndices */
    if (sel[0]) {
        saved = xq_sp_push(p, "topK");
        if (xq_sp_get_int(p, sel[0], -1, INT32_MAX, &params->top_k)) {
            if (params->top_k == 0)
                xq_sp_fail(p, "0 is not allowed; use -1 for all outputs or a count >= 1");
            else
                params->has_top_k = true;
        }
        xq_sp_pop(p, saved);
    }
    if (sel[1]) {
        saved = xq_sp_push(p, "outputIndices");
        if (sel[1]->type != MSGPACK_OBJECT_ARRAY)
            xq_sp_fail(p, "expected an array of output indices, got %s", xq_sp_type_name(sel[1]));
        else if (xq_sp_check_ndarray(p, sel[1], xq_sp_leaf_index, 0) > 0)
            params->has_output_indices = xq_sp_get_value(p, sel[1], &params->output_indices);
        xq_sp_pop(p, saved);
    }
}
