/* spec_meta.c -- ExplanationMetadata: inputs, outputs, domains, visualizations, and the rules
 * across them. */
#include "spec_int.h"

/* ==== ExplanationMetadata ==== */

static void parse_domain(parser_t *p, const msgpack_object *v, xq_domain_t *d) {
    static const field_t f[] = {{"minValue", "min_value"},
                                {"maxValue", "max_value"},
                                {"originalMean", "original_mean"},
                                {"originalStddev", "original_stddev"}};
    const msgpack_object *s[4];
    double *dst[4] = {&d->min_value, &d->max_value, &d->original_mean, &d->original_stddev};
    bool *has[4] = {&d->has_min, &d->has_max, &d->has_mean, &d->has_stddev};

    d->present = true;
    if (!xq_sp_walk_map(p, v, f, 4, s))
        return;
    for (int i = 0; i < 4; i++) {
        if (!s[i])
            continue;
        size_t saved = xq_sp_push(p, f[i].json);
        *has[i] = xq_sp_get_double(p, s[i], dst[i]);
        xq_sp_pop(p, saved);
    }
    if (d->has_min && d->has_max && !(d->min_value < d->max_value))
        xq_sp_fail(p, "minValue (%g) must be less than maxValue (%g)", d->min_value, d->max_value);
    if (d->has_stddev && !(d->original_stddev > 0)) {
        size_t saved = xq_sp_push(p, "originalStddev");
        xq_sp_fail(p, "%g must be greater than 0", d->original_stddev);
        xq_sp_pop(p, saved);
    }
}

static void parse_viz(parser_t *p, const msgpack_object *v, xq_viz_t *viz) {
    static const field_t f[] = {{"type", NULL},
                                {"polarity", NULL},
                                {"colorMap", "color_map"},
                                {"clipPercentUpperbound", "clip_percent_upperbound"},
                                {"clipPercentLowerbound", "clip_percent_lowerbound"},
                                {"overlayType", "overlay_type"}};
    const char *const *enums[] = {viz_type_names, polarity_names, color_map_names};
    int *dst[] = {(int *)&viz->type, (int *)&viz->polarity, (int *)&viz->color_map};
    const msgpack_object *s[FIELD_CNT(f)];
    bool ok_upper = true, ok_lower = true;
    size_t saved;
    int e;

    viz->present = true;
    viz->type = XQ_VIZ_TYPE_UNSPECIFIED; /* by method, see xq_sp_apply_defaults() */
    viz->polarity = XQ_POLARITY_POSITIVE;
    viz->color_map = XQ_COLOR_MAP_UNSPECIFIED; /* by method, see xq_sp_apply_defaults() */
    viz->clip_upper = 99.9;
    viz->clip_lower = 62;
    viz->overlay = XQ_OVERLAY_NONE;
    if (!xq_sp_walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    for (int i = 0; i < 3; i++) {
        if (!s[i])
            continue;
        saved = xq_sp_push(p, f[i].json);
        if (xq_sp_get_enum(p, s[i], enums[i], &e) && e != 0)
            *dst[i] = e;
        xq_sp_pop(p, saved);
    }
    for (int i = 3; i < 5; i++) {
        double *clip = i == 3 ? &viz->clip_upper : &viz->clip_lower;
        bool *ok = i == 3 ? &ok_upper : &ok_lower;

        if (!s[i])
            continue;
        saved = xq_sp_push(p, f[i].json);
        if (!xq_sp_get_double(p, s[i], clip)) {
            *ok = false;
        } else if (*clip < 0 || *clip > 100) {
            xq_sp_fail(p, "%g is outside [0, 100]", *clip);
            *ok = false;
        }
        xq_sp_pop(p, saved);
    }
    if (ok_upper && ok_lower && !(viz->clip_lower < viz->clip_upper))
        xq_sp_fail(p, "clipPercentLowerbound (%g%s) must be less than clipPercentUpperbound (%g%s)",
                   viz->clip_lower, s[4] ? "" : ", the default", viz->clip_upper,
                   s[3] ? "" : ", the default");
    if (s[5]) {
        saved = xq_sp_push(p, "overlayType");
        if (xq_sp_get_enum(p, s[5], overlay_names, &e) && e != 0)
            viz->overlay = (xq_overlay_t)e;
        xq_sp_pop(p, saved);
    }
}

static void parse_input(parser_t *p, const msgpack_object *v, xq_input_meta_t *in) {
    static const field_t f[] = {
        {"inputBaselines", "input_baselines"},
        {"inputTensorName", "input_tensor_name"},
        {"encoding", NULL},
        {"modality", NULL},
        {"featureValueDomain", "feature_value_domain"},
        {"indicesTensorName", "indices_tensor_name"},
        {"denseShapeTensorName", "dense_shape_tensor_name"},
        {"indexFeatureMapping", "index_feature_mapping"},
        {"encodedTensorName", "encoded_tensor_name"},
        {"encodedBaselines", "encoded_baselines"},
        {"visualization", NULL},
        {"groupName", "group_name"},
    };
    const msgpack_object *s[FIELD_CNT(f)];
    const char **strs[FIELD_CNT(f)] = {
        [1] = &in->input_tensor_name,
        [5] = &in->indices_tensor_name,
        [6] = &in->dense_shape_tensor_name,
        [8] = &in->encoded_tensor_name,
        [11] = &in->group_name,
    };
    bool has_mapping = false;
    size_t saved;
    int e;

    in->encoding = XQ_ENCODING_IDENTITY;
    in->modality = XQ_MODALITY_NUMERIC;
    if (!xq_sp_walk_map(p, v, f, FIELD_CNT(f), s))
        return;
    for (size_t i = 0; i < FIELD_CNT(f); i++) {
        if (!s[i])
            continue;
        saved = xq_sp_push(p, f[i].json);
        switch (i) {
        case 0:
            xq_sp_get_value_list(p, s[i], &in->baselines, &in->baseline_cnt);
            break;
        case 2:
            if (xq_sp_get_enum(p, s[i], encoding_names, &e) && e != XQ_ENCODING_UNSPECIFIED)
                in->encoding = (xq_encoding_t)e;
            break;
        case 3:
            if (s[i]->type == MSGPACK_OBJECT_STR && xq_sp_get_enum(p, s[i], modality_names, &e))
                in->modality = (xq_modality_t)e;
            else if (s[i]->type != MSGPACK_OBJECT_STR)
                xq_sp_fail(p, "expected a string (numeric or image), got %s",
                           xq_sp_type_name(s[i]));
            break;
        case 4:
            parse_domain(p, s[i], &in->domain);
            break;
        case 7:
            if (xq_sp_get_str_list(p, s[i], &in->index_feature_mapping, &in->index_feature_cnt)) {
                has_mapping = in->index_feature_cnt > 0;
                for (size_t a = 0; a < in->index_feature_cnt; a++) {
                    for (size_t b = 0; b < a; b++) {
                        if (strcmp(in->index_feature_mapping[a], in->index_feature_mapping[b]))
                            continue;
                        size_t si = xq_sp_push_index(p, a);
                        xq_sp_fail(p, "\"%s\" is listed twice", in->index_feature_mapping[a]);
                        xq_sp_pop(p, si);
                        break;
                    }
                }
            } else {
                has_mapping = true; /* reported already; do not also say it is missing */
            }
            break;
        case 9:
            xq_sp_get_value_list(p, s[i], &in->encoded_baselines, &in->encoded_baseline_cnt);
            break;
        case 10:
            parse_viz(p, s[i], &in->viz);
            break;
        default:
            xq_sp_get_str(p, s[i], strs[i]);
            break;
        }
        xq_sp_pop(p, saved);
    }
    switch (in->encoding) {
    case XQ_ENCODING_BAG_OF_FEATURES:
    case XQ_ENCODING_BAG_OF_FEATURES_SPARSE:
    case XQ_ENCODING_INDICATOR:
        if (!has_mapping) {
            saved = xq_sp_push(p, "indexFeatureMapping");
            xq_sp_fail(p, "is required (non-empty) when encoding is %s",
                       encoding_names[in->encoding]);
            xq_sp_pop(p, saved);
        }
        break;
    case XQ_ENCODING_COMBINED_EMBEDDING:
    case XQ_ENCODING_CONCAT_EMBEDDING:
        if (!s[8]) {
            saved = xq_sp_push(p, "encodedTensorName");
            xq_sp_fail(p, "is required when encoding is %s", encoding_names[in->encoding]);
            xq_sp_pop(p, saved);
        }
        break;
    default:
        break;
    }
}

static void parse_output(parser_t *p, const msgpack_object *v, xq_output_meta_t *out) {
    static const field_t f[] = {{"outputTensorName", "output_tensor_name"},
                                {"indexDisplayNameMapping", "index_display_name_mapping"},
                                {"displayNameMappingKey", "display_name_mapping_key"}};
    static const char *const union_names[] = {"indexDisplayNameMapping", "displayNameMappingKey"};
    const msgpack_object *s[3];
    size_t saved;

    if (!xq_sp_walk_map(p, v, f, 3, s))
        return;
    xq_sp_check_union(p, "display_name_mapping", s + 1, union_names, 2);
    if (s[0]) {
        saved = xq_sp_push(p, "outputTensorName");
        xq_sp_get_str(p, s[0], &out->output_tensor_name);
        xq_sp_pop(p, saved);
    }
    if (s[1]) {
        saved = xq_sp_push(p, "indexDisplayNameMapping");
        if (s[1]->type != MSGPACK_OBJECT_ARRAY)
            xq_sp_fail(p, "expected an array of display names, got %s", xq_sp_type_name(s[1]));
        else if (xq_sp_check_ndarray(p, s[1], xq_sp_leaf_string, 0) > 0 &&
                 xq_sp_get_value(p, s[1], &out->index_display_name_mapping))
            out->display = XQ_DISPLAY_INDEX_MAPPING;
        xq_sp_pop(p, saved);
    }
    if (s[2]) {
        saved = xq_sp_push(p, "displayNameMappingKey");
        if (xq_sp_get_str(p, s[2], &out->display_name_mapping_key))
            out->display = XQ_DISPLAY_KEY;
        xq_sp_pop(p, saved);
    }
}

/* Reads the keys of a name -> message map; @returns its size, or -1 if not a map. */
static long map_names(parser_t *p, const msgpack_object *v, const char ***names) {
    uint32_t n;

    if (v->type != MSGPACK_OBJECT_MAP) {
        xq_sp_fail(p, "expected an object, got %s", xq_sp_type_name(v));
        return -1;
    }
    n = v->via.map.size;
    *names = xq_mp_zone_alloc(p->zone, sizeof(**names) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *k = &v->via.map.ptr[i].key;

        (*names)[i] = NULL;
        if (k->type != MSGPACK_OBJECT_STR) {
            xq_sp_fail(p, "has a key of type %s; keys must be strings", xq_sp_type_name(k));
            continue;
        }
        size_t saved = xq_sp_push_key(p, k->via.str.ptr, k->via.str.size);
        xq_sp_get_str(p, k, &(*names)[i]);
        for (uint32_t j = 0; j < i && (*names)[i]; j++) {
            if ((*names)[j] && strcmp((*names)[j], (*names)[i]) == 0) {
                xq_sp_fail(p, "is set twice");
                break;
            }
        }
        xq_sp_pop(p, saved);
    }
    return n;
}

void xq_sp_parse_metadata(parser_t *p, const msgpack_object *v, xq_metadata_t *meta) {
    static const field_t f[] = {{"inputs", NULL},
                                {"outputs", NULL},
                                {"featureAttributionsSchemaUri", "feature_attributions_schema_uri"},
                                {"latentSpaceSource", "latent_space_source"}};
    const msgpack_object *s[FIELD_CNT(f)];
    const char **names;
    size_t saved;
    long n;

    meta->present = true;
    if (!xq_sp_walk_map(p, v, f, FIELD_CNT(f), s))
        return;

    saved = xq_sp_push(p, "inputs");
    if (!s[0]) {
        xq_sp_fail(p, "is required");
    } else if ((n = map_names(p, s[0], &names)) == 0) {
        xq_sp_fail(p, "must describe at least one input");
    } else if (n > 0) {
        meta->input_cnt = (size_t)n;
        meta->inputs = xq_mp_zone_alloc(p->zone, sizeof(*meta->inputs) * (size_t)n);
        memset(meta->inputs, 0, sizeof(*meta->inputs) * (size_t)n);
        for (long i = 0; i < n; i++) {
            meta->inputs[i].name = names[i];
            if (!names[i])
                continue;
            size_t si = xq_sp_push(p, names[i]);
            parse_input(p, &s[0]->via.map.ptr[i].val, &meta->inputs[i]);
            xq_sp_pop(p, si);
        }
    }
    xq_sp_pop(p, saved);

    saved = xq_sp_push(p, "outputs");
    if (!s[1]) {
        xq_sp_fail(p, "is required");
    } else if ((n = map_names(p, s[1], &names)) >= 0 && n != 1) {
        xq_sp_fail(p, "has %ld keys; exactly one output must be described", n);
    } else if (n == 1) {
        meta->output_cnt = 1;
        meta->outputs = xq_mp_zone_alloc(p->zone, sizeof(*meta->outputs));
        memset(meta->outputs, 0, sizeof(*meta->outputs));
        meta->outputs[0].name = names[0];
        if (names[0]) {
            size_t si = xq_sp_push(p, names[0]);
            parse_output(p, &s[1]->via.map.ptr[0].val, &meta->outputs[0]);
            xq_sp_pop(p, si);
        }
    }
    xq_sp_pop(p, saved);

    if (s[2]) {
        saved = xq_sp_push(p, "featureAttributionsSchemaUri");
        xq_sp_get_str(p, s[2], &meta->feature_attributions_schema_uri);
        xq_sp_pop(p, saved);
    }
    if (s[3]) {
        saved = xq_sp_push(p, "latentSpaceSource");
        xq_sp_get_str(p, s[3], &meta->latent_space_source);
        xq_sp_pop(p, saved);
    }

    /* a sorted copy of the input names serves the rules that look inputs up by name */
    p->name_cnt = 0;
    p->names = xq_calloc(meta->input_cnt + 1, sizeof(*p->names));
    for (size_t i = 0; i < meta->input_cnt; i++) {
        if (meta->inputs[i].name)
            p->names[p->name_cnt++] = meta->inputs[i].name;
    }
    qsort(p->names, p->name_cnt, sizeof(*p->names), xq_sp_cmp_str);
}

/* Rules that span inputs: equal baseline counts; group names apart from input names. */
void xq_sp_check_inputs(parser_t *p, xq_spec_t *spec) {
    const xq_metadata_t *meta = &spec->meta;
    char first[PATH_MAX_LEN + 16] = ""; /* path of the first baseline list seen */
    size_t k = 0, saved;

    for (size_t i = 0; i < meta->input_cnt; i++) {
        const xq_input_meta_t *in = &meta->inputs[i];
        const char *fields[2] = {"inputBaselines", "encodedBaselines"};
        size_t cnt[2] = {in->baseline_cnt, in->encoded_baseline_cnt};

        if (!in->name)
            continue;
        for (int j = 0; j < 2; j++) {
            if (!cnt[j])
                continue;
            if (!first[0] || cnt[j] != k) {
                saved = xq_sp_push(p, "metadata");
                xq_sp_push(p, "inputs");
                xq_sp_push(p, in->name);
                xq_sp_push(p, fields[j]);
                if (!first[0]) {
                    memcpy(first, p->path, p->path_len + 1);
                    k = cnt[j];
                } else {
                    xq_sp_fail(
                        p,
                        "has %zu baselines but %s has %zu; every input must list the same number",
                        cnt[j], first, k);
                }
                xq_sp_pop(p, saved);
            }
        }
        if (in->group_name && strcmp(in->group_name, in->name) != 0 &&
            xq_sp_has_input(p, in->group_name)) {
            /* the group's attribution would be keyed like the input's own */
            const xq_input_meta_t *other = NULL;

            for (size_t j = 0; j < meta->input_cnt; j++) {
                if (meta->inputs[j].name && strcmp(meta->inputs[j].name, in->group_name) == 0)
                    other = &meta->inputs[j];
            }
            if (other && (!other->group_name || strcmp(other->group_name, in->group_name) != 0)) {
                saved = xq_sp_push(p, "metadata");
                xq_sp_push(p, "inputs");
                xq_sp_push(p, in->name);
                xq_sp_push(p, "groupName");
                xq_sp_fail(p, "group \"%s\" has the name of an input outside the group",
                           in->group_name);
                xq_sp_pop(p, saved);
            }
        }
    }
    spec->baseline_cnt = k;
}
