/* spec_canon.c -- the canonical msgpack form of a spec (documents that mean the same, the same
 * bytes) and its id. */
#include "spec_int.h"

/* ==== Canonical form ==== */

static void pack_kv_str(msgpack_packer *pk, const char *key, const char *val) {
    xq_mp_pack_str(pk, key);
    xq_mp_pack_str(pk, val);
}

static void pack_kv_num(msgpack_packer *pk, const char *key, double val) {
    xq_mp_pack_str(pk, key);
    xq_mp_pack_number(pk, val);
}

static void pack_values(msgpack_packer *pk, const msgpack_object *v, size_t n) {
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_object(pk, v[i]);
}

void xq_sp_canon_ig(msgpack_packer *pk, const xq_params_t *params) {
    const xq_ig_params_t *ig = &params->ig;

    msgpack_pack_map(pk, 1 + ig->smoothgrad.present + ig->blur.present);
    pack_kv_num(pk, "stepCount", ig->step_count);
    if (ig->smoothgrad.present) {
        const xq_smoothgrad_t *sg = &ig->smoothgrad;

        xq_mp_pack_str(pk, "smoothGradConfig");
        msgpack_pack_map(pk, 2);
        pack_kv_num(pk, "noisySampleCount", sg->noisy_sample_count);
        if (sg->noise_kind == XQ_NOISE_SIGMA) {
            pack_kv_num(pk, "noiseSigma", sg->noise_sigma);
        } else {
            xq_mp_pack_str(pk, "featureNoiseSigma");
            msgpack_pack_map(pk, 1);
            xq_mp_pack_str(pk, "noiseSigma");
            msgpack_pack_array(pk, sg->feature_cnt);
            for (size_t i = 0; i < sg->feature_cnt; i++) {
                msgpack_pack_map(pk, 2);
                pack_kv_str(pk, "name", sg->feature[i].name);
                pack_kv_num(pk, "sigma", sg->feature[i].sigma);
            }
        }
    }
    if (ig->blur.present) {
        xq_mp_pack_str(pk, "blurBaselineConfig");
        msgpack_pack_map(pk, ig->blur.has_sigma);
        if (ig->blur.has_sigma)
            pack_kv_num(pk, "maxBlurSigma", ig->blur.max_blur_sigma);
    }
}

void xq_sp_canon_examples(msgpack_packer *pk, const xq_params_t *params) {
    const xq_examples_t *ex = &params->examples;

    msgpack_pack_map(pk, ex->has_neighbor_count + ex->has_gcs_source +
                             (ex->config != XQ_EXAMPLES_CONFIG_NONE));
    if (ex->has_neighbor_count)
        pack_kv_num(pk, "neighborCount", ex->neighbor_count);
    if (ex->has_gcs_source) {
        xq_mp_pack_str(pk, "exampleGcsSource");
        msgpack_pack_map(pk, 2);
        pack_kv_str(pk, "dataFormat", data_format_names[ex->data_format]);
        xq_mp_pack_str(pk, "gcsSource");
        msgpack_pack_map(pk, 1);
        xq_mp_pack_str(pk, "uris");
        msgpack_pack_array(pk, ex->gcs_uri_cnt);
        for (size_t i = 0; i < ex->gcs_uri_cnt; i++)
            xq_mp_pack_str(pk, ex->gcs_uris[i]);
    }
    if (ex->config == XQ_EXAMPLES_CONFIG_NEAREST_NEIGHBOR) {
        xq_mp_pack_str(pk, "nearestNeighborSearchConfig");
        msgpack_pack_object(pk, ex->nn_config);
    } else if (ex->config == XQ_EXAMPLES_CONFIG_PRESETS) {
        xq_mp_pack_str(pk, "presets");
        msgpack_pack_map(pk, 2);
        pack_kv_str(pk, "modality", preset_modality_names[ex->presets.modality]);
        pack_kv_str(pk, "query", query_names[ex->presets.query]);
    }
}

void xq_sp_canon_shapley(msgpack_packer *pk, const xq_params_t *params) {
    msgpack_pack_map(pk, 1);
    pack_kv_num(pk, "pathCount", params->path_count);
}

static void pack_params(msgpack_packer *pk, const xq_params_t *params) {
    const xq_method_def_t *m = xq_method_get(params->method);

    XQ_ASSERT(m != NULL); /* a parsed spec names a method of the table */
    msgpack_pack_map(pk, 2 + params->has_output_indices);
    xq_mp_pack_str(pk, m->name);
    m->canon(pk, params);
    pack_kv_num(pk, "topK", params->top_k);
    if (params->has_output_indices) {
        xq_mp_pack_str(pk, "outputIndices");
        msgpack_pack_object(pk, params->output_indices);
    }
}

static void pack_input(msgpack_packer *pk, const xq_input_meta_t *in) {
    const char *strs[][2] = {{"inputTensorName", in->input_tensor_name},
                             {"indicesTensorName", in->indices_tensor_name},
                             {"denseShapeTensorName", in->dense_shape_tensor_name},
                             {"encodedTensorName", in->encoded_tensor_name},
                             {"groupName", in->group_name}};
    size_t n = 2 + (in->baseline_cnt > 0) + in->domain.present + (in->index_feature_cnt > 0) +
               (in->encoded_baseline_cnt > 0) + in->viz.present;

    for (size_t i = 0; i < 5; i++)
        n += strs[i][1] != NULL;
    msgpack_pack_map(pk, n);
    pack_kv_str(pk, "encoding", encoding_names[in->encoding]);
    pack_kv_str(pk, "modality", modality_names[in->modality]);
    for (size_t i = 0; i < 5; i++) {
        if (strs[i][1])
            pack_kv_str(pk, strs[i][0], strs[i][1]);
    }
    if (in->baseline_cnt) {
        xq_mp_pack_str(pk, "inputBaselines");
        pack_values(pk, in->baselines, in->baseline_cnt);
    }
    if (in->encoded_baseline_cnt) {
        xq_mp_pack_str(pk, "encodedBaselines");
        pack_values(pk, in->encoded_baselines, in->encoded_baseline_cnt);
    }
    if (in->domain.present) {
        const xq_domain_t *d = &in->domain;

        xq_mp_pack_str(pk, "featureValueDomain");
        msgpack_pack_map(pk, d->has_min + d->has_max + d->has_mean + d->has_stddev);
        if (d->has_min)
            pack_kv_num(pk, "minValue", d->min_value);
        if (d->has_max)
            pack_kv_num(pk, "maxValue", d->max_value);
        if (d->has_mean)
            pack_kv_num(pk, "originalMean", d->original_mean);
        if (d->has_stddev)
            pack_kv_num(pk, "originalStddev", d->original_stddev);
    }
    if (in->index_feature_cnt) {
        xq_mp_pack_str(pk, "indexFeatureMapping");
        msgpack_pack_array(pk, in->index_feature_cnt);
        for (size_t i = 0; i < in->index_feature_cnt; i++)
            xq_mp_pack_str(pk, in->index_feature_mapping[i]);
    }
    if (in->viz.present) {
        const xq_viz_t *viz = &in->viz;

        xq_mp_pack_str(pk, "visualization");
        msgpack_pack_map(pk, 6);
        pack_kv_str(pk, "type", viz_type_names[viz->type]);
        pack_kv_str(pk, "polarity", polarity_names[viz->polarity]);
        pack_kv_str(pk, "colorMap", color_map_names[viz->color_map]);
        pack_kv_num(pk, "clipPercentUpperbound", viz->clip_upper);
        pack_kv_num(pk, "clipPercentLowerbound", viz->clip_lower);
        pack_kv_str(pk, "overlayType", overlay_names[viz->overlay]);
    }
}

static void pack_outputs(msgpack_packer *pk, const xq_metadata_t *meta) {
    const xq_output_meta_t *out = &meta->outputs[0];

    msgpack_pack_map(pk, 1);
    xq_mp_pack_str(pk, out->name);
    msgpack_pack_map(pk, (out->output_tensor_name != NULL) + (out->display != XQ_DISPLAY_NONE));
    if (out->output_tensor_name)
        pack_kv_str(pk, "outputTensorName", out->output_tensor_name);
    if (out->display == XQ_DISPLAY_INDEX_MAPPING) {
        xq_mp_pack_str(pk, "indexDisplayNameMapping");
        msgpack_pack_object(pk, out->index_display_name_mapping);
    } else if (out->display == XQ_DISPLAY_KEY) {
        pack_kv_str(pk, "displayNameMappingKey", out->display_name_mapping_key);
    }
}

/* What one packer callback writes, re-packed by xq_mp_pack_canonical() into @p pk. */
typedef void (*pack_fn)(msgpack_packer *pk, const void *what);

static void pack_canonical(msgpack_packer *pk, pack_fn fn, const void *what) {
    msgpack_unpacked msg;
    msgpack_packer raw_pk;
    msgpack_unpack_return ur;
    xq_buf_t raw;
    size_t off = 0;
    bool ok;

    xq_buf_init(&raw);
    xq_mp_packer_init(&raw_pk, &raw);
    fn(&raw_pk, what);
    msgpack_unpacked_init(&msg);
    ur = msgpack_unpack_next(&msg, (const char *)raw.data, raw.len, &off);
    XQ_ASSERT(ur == MSGPACK_UNPACK_SUCCESS);
    ok = xq_mp_pack_canonical(pk, &msg.data);
    XQ_ASSERT(ok); /* every Value passed xq_sp_check_value() */
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&raw);
}

static void pack_input_fn(msgpack_packer *pk, const void *in) {
    pack_input(pk, in);
}

static void pack_outputs_fn(msgpack_packer *pk, const void *meta) {
    pack_outputs(pk, meta);
}

static void pack_params_fn(msgpack_packer *pk, const void *params) {
    pack_params(pk, params);
}

/*
 * The canonical form: every map with its keys sorted bytewise and every
 * number in its one encoding (xq_mp_pack_canonical()), except metadata.inputs,
 * which keeps the order of the document: features that feed one tensor are
 * concatenated in that order, so the order is part of what the spec means
 * (and of its id). The keys written here by hand are in sorted order.
 */
void xq_sp_make_canonical(xq_spec_t *spec) {
    const xq_metadata_t *meta = &spec->meta;
    msgpack_packer pk;
    xq_buf_t canon;

    xq_buf_init(&canon);
    xq_mp_packer_init(&pk, &canon);
    msgpack_pack_map(&pk, 1 + meta->present);
    if (meta->present) {
        xq_mp_pack_str(&pk, "metadata");
        msgpack_pack_map(&pk, 2 + (meta->feature_attributions_schema_uri != NULL) +
                                  (meta->latent_space_source != NULL));
        if (meta->feature_attributions_schema_uri)
            pack_kv_str(&pk, "featureAttributionsSchemaUri", meta->feature_attributions_schema_uri);
        xq_mp_pack_str(&pk, "inputs");
        msgpack_pack_map(&pk, meta->input_cnt);
        for (size_t i = 0; i < meta->input_cnt; i++) {
            xq_mp_pack_str(&pk, meta->inputs[i].name);
            pack_canonical(&pk, pack_input_fn, &meta->inputs[i]);
        }
        if (meta->latent_space_source)
            pack_kv_str(&pk, "latentSpaceSource", meta->latent_space_source);
        xq_mp_pack_str(&pk, "outputs");
        pack_canonical(&pk, pack_outputs_fn, meta);
    }
    xq_mp_pack_str(&pk, "parameters");
    pack_canonical(&pk, pack_params_fn, &spec->params);

    spec->canonical = xq_mp_zone_alloc(spec->zone, canon.len);
    memcpy(spec->canonical, canon.data, canon.len);
    spec->canonical_len = canon.len;
    xq_buf_fini(&canon);
}

void xq_sp_make_id(xq_spec_t *spec) {
    xq_sha256_hex(spec->canonical, spec->canonical_len, spec->id);
}

/* Defaults that depend on more than one field. */
void xq_sp_apply_defaults(xq_spec_t *spec) {
    for (size_t i = 0; i < spec->meta.input_cnt; i++) {
        xq_viz_t *viz = &spec->meta.inputs[i].viz;

        if (viz->present && viz->color_map == XQ_COLOR_MAP_UNSPECIFIED)
            viz->color_map = spec->params.method == XQ_METHOD_XRAI ? XQ_COLOR_MAP_VIRIDIS
                                                                   : XQ_COLOR_MAP_PINK_GREEN;
        /* OUTLINES is the proto's default, for IG; XRAI's regions are shown as PIXELS */
        if (viz->present && viz->type == XQ_VIZ_TYPE_UNSPECIFIED)
            viz->type =
                spec->params.method == XQ_METHOD_XRAI ? XQ_VIZ_TYPE_PIXELS : XQ_VIZ_TYPE_OUTLINES;
    }
}
