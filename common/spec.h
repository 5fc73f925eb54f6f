/* spec.h -- ExplanationSpec (Vertex AI's schema): parse, validate, defaults, canonical msgpack, id.
 */
#ifndef XQ_SPEC_H
#define XQ_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "mem.h"
#include "sha256.h"

/*
 * A parsed spec is plain, read-only data: the methods read its fields
 * directly, so the structs below are public. Only xq_spec_parse*() creates one;
 * everything it points to lives in the spec's own zone and goes with
 * xq_spec_destroy(). Fields of JSON type `Value` (baselines, outputIndices,
 * display-name mappings, nearestNeighborSearchConfig) stay msgpack objects.
 *
 * Every enum keeps the seed's *_UNSPECIFIED value as 0; after parsing, the
 * defaults are applied, so a field that has a default never reads UNSPECIFIED.
 */

#define XQ_SPEC_ID_LEN XQ_SHA256_HEX_LEN /* of the canonical encoding */

typedef enum xq_method {
    XQ_METHOD_NONE = 0,
    XQ_METHOD_SAMPLED_SHAPLEY,
    XQ_METHOD_INTEGRATED_GRADIENTS,
    XQ_METHOD_XRAI,
    XQ_METHOD_EXAMPLES,
} xq_method_t;

typedef enum xq_encoding {
    XQ_ENCODING_UNSPECIFIED = 0, /* read as IDENTITY */
    XQ_ENCODING_IDENTITY,
    XQ_ENCODING_BAG_OF_FEATURES,
    XQ_ENCODING_BAG_OF_FEATURES_SPARSE,
    XQ_ENCODING_INDICATOR,
    XQ_ENCODING_COMBINED_EMBEDDING,
    XQ_ENCODING_CONCAT_EMBEDDING,
} xq_encoding_t;

typedef enum xq_modality {
    XQ_MODALITY_NUMERIC = 0, /* InputMetadata.modality "numeric" (default) */
    XQ_MODALITY_IMAGE,       /* "image" */
} xq_modality_t;

typedef enum xq_viz_type {
    XQ_VIZ_TYPE_UNSPECIFIED = 0,
    XQ_VIZ_TYPE_PIXELS,
    XQ_VIZ_TYPE_OUTLINES,
} xq_viz_type_t;

typedef enum xq_polarity {
    XQ_POLARITY_UNSPECIFIED = 0,
    XQ_POLARITY_POSITIVE,
    XQ_POLARITY_NEGATIVE,
    XQ_POLARITY_BOTH,
} xq_polarity_t;

typedef enum xq_color_map {
    XQ_COLOR_MAP_UNSPECIFIED = 0,
    XQ_COLOR_MAP_PINK_GREEN,
    XQ_COLOR_MAP_VIRIDIS,
    XQ_COLOR_MAP_RED,
    XQ_COLOR_MAP_GREEN,
    XQ_COLOR_MAP_RED_GREEN,
    XQ_COLOR_MAP_PINK_WHITE_GREEN,
} xq_color_map_t;

typedef enum xq_overlay {
    XQ_OVERLAY_UNSPECIFIED = 0,
    XQ_OVERLAY_NONE,
    XQ_OVERLAY_ORIGINAL,
    XQ_OVERLAY_GRAYSCALE,
    XQ_OVERLAY_MASK_BLACK,
} xq_overlay_t;

typedef enum xq_data_format {
    XQ_DATA_FORMAT_UNSPECIFIED = 0, /* read as JSONL */
    XQ_DATA_FORMAT_JSONL,
} xq_data_format_t;

typedef enum xq_preset_modality {
    XQ_PRESET_MODALITY_UNSPECIFIED = 0,
    XQ_PRESET_MODALITY_IMAGE,
    XQ_PRESET_MODALITY_TEXT,
    XQ_PRESET_MODALITY_TABULAR,
} xq_preset_modality_t;

typedef enum xq_query {
    XQ_QUERY_PRECISE = 0, /* default */
    XQ_QUERY_FAST,
} xq_query_t;

/** SmoothGradConfig: which member of the GradientNoiseSigma union is set. */
typedef enum xq_noise_kind {
    XQ_NOISE_SIGMA = 0, /* noiseSigma, or neither (then noiseSigma = 0.1) */
    XQ_NOISE_FEATURE,   /* featureNoiseSigma */
} xq_noise_kind_t;

/** NoiseSigmaForFeature. */
typedef struct xq_feature_sigma {
    const char *name; /* an input name of metadata.inputs */
    double sigma;     /* >= 0; default 0.1 */
} xq_feature_sigma_t;

/** SmoothGradConfig. */
typedef struct xq_smoothgrad {
    bool present;                /* the config was given; false: plain gradients */
    int noisy_sample_count;      /* [1, 50], default 3 */
    xq_noise_kind_t noise_kind;  /* which sigma below applies */
    double noise_sigma;          /* >= 0, default 0.1; for XQ_NOISE_SIGMA */
    xq_feature_sigma_t *feature; /* featureNoiseSigma.noiseSigma[], feature_cnt entries */
    size_t feature_cnt;
} xq_smoothgrad_t;

/** BlurBaselineConfig. */
typedef struct xq_blur {
    bool present;          /* the config was given */
    bool has_sigma;        /* maxBlurSigma set; without it the zero baseline is used */
    double max_blur_sigma; /* > 0 when has_sigma */
} xq_blur_t;

/** IntegratedGradientsAttribution and XraiAttribution share this shape. */
typedef struct xq_ig_params {
    int step_count; /* [1, 100], required */
    xq_smoothgrad_t smoothgrad;
    xq_blur_t blur;
} xq_ig_params_t;

/** Examples.presets. */
typedef struct xq_presets {
    xq_preset_modality_t modality; /* required, not UNSPECIFIED */
    xq_query_t query;              /* default PRECISE */
} xq_presets_t;

typedef enum xq_examples_config {
    XQ_EXAMPLES_CONFIG_NONE = 0,
    XQ_EXAMPLES_CONFIG_NEAREST_NEIGHBOR, /* nearestNeighborSearchConfig (a Value map) */
    XQ_EXAMPLES_CONFIG_PRESETS,          /* presets */
} xq_examples_config_t;

/** Examples. */
typedef struct xq_examples {
    bool has_neighbor_count;
    int neighbor_count;           /* >= 1 when set */
    bool has_gcs_source;          /* exampleGcsSource given */
    xq_data_format_t data_format; /* default JSONL */
    const char **gcs_uris;        /* exampleGcsSource.gcsSource.uris[] */
    size_t gcs_uri_cnt;           /* >= 1 when has_gcs_source */
    xq_examples_config_t config;  /* which member of the config union */
    msgpack_object nn_config;     /* a map, when config is NEAREST_NEIGHBOR */
    xq_presets_t presets;         /* when config is PRESETS */
} xq_examples_t;

/** ExplanationParameters. */
typedef struct xq_params {
    xq_method_t method;            /* never NONE after a successful parse */
    int path_count;                /* sampledShapleyAttribution.pathCount, [1, 50] */
    xq_ig_params_t ig;             /* integratedGradientsAttribution or xraiAttribution */
    xq_examples_t examples;        /* examples */
    bool has_top_k;                /* topK was given */
    int top_k;                     /* -1 (all) or >= 1; default 1 */
    bool has_output_indices;       /* outputIndices was given */
    msgpack_object output_indices; /* non-empty array of (arrays of) integers >= 0 */
} xq_params_t;

/** FeatureValueDomain; each has_* says whether the field was given. */
typedef struct xq_domain {
    bool present;
    bool has_min, has_max, has_mean, has_stddev;
    double min_value, max_value, original_mean, original_stddev;
} xq_domain_t;

/** Visualization, with the seed's defaults applied when present. */
typedef struct xq_viz {
    bool present;
    xq_viz_type_t type;       /* default OUTLINES (IG), PIXELS (XRAI) */
    xq_polarity_t polarity;   /* default POSITIVE */
    xq_color_map_t color_map; /* default PINK_GREEN (IG), VIRIDIS (XRAI) */
    double clip_upper;        /* clipPercentUpperbound, [0, 100], default 99.9 */
    double clip_lower;        /* clipPercentLowerbound, [0, 100], default 62 */
    xq_overlay_t overlay;     /* default NONE */
} xq_viz_t;

/** InputMetadata, with its key in metadata.inputs as name. */
typedef struct xq_input_meta {
    const char *name;          /* the feature name (map key) */
    msgpack_object *baselines; /* inputBaselines[], baseline_cnt Values */
    size_t baseline_cnt;
    const char *input_tensor_name;       /* NULL when not given */
    xq_encoding_t encoding;              /* default IDENTITY */
    xq_modality_t modality;              /* default NUMERIC */
    xq_domain_t domain;                  /* featureValueDomain */
    const char *indices_tensor_name;     /* NULL when not given */
    const char *dense_shape_tensor_name; /* NULL when not given */
    const char **index_feature_mapping;  /* index_feature_cnt names */
    size_t index_feature_cnt;
    const char *encoded_tensor_name;   /* NULL when not given */
    msgpack_object *encoded_baselines; /* encodedBaselines[], encoded_baseline_cnt Values */
    size_t encoded_baseline_cnt;
    xq_viz_t viz;           /* visualization */
    const char *group_name; /* NULL when not given */
} xq_input_meta_t;

typedef enum xq_display_kind {
    XQ_DISPLAY_NONE = 0,
    XQ_DISPLAY_INDEX_MAPPING, /* indexDisplayNameMapping (n-d array of strings) */
    XQ_DISPLAY_KEY,           /* displayNameMappingKey */
} xq_display_kind_t;

/** OutputMetadata, with its key in metadata.outputs as name. */
typedef struct xq_output_meta {
    const char *name;                          /* the output name (map key) */
    const char *output_tensor_name;            /* NULL when not given */
    xq_display_kind_t display;                 /* which member of display_name_mapping */
    msgpack_object index_display_name_mapping; /* when XQ_DISPLAY_INDEX_MAPPING */
    const char *display_name_mapping_key;      /* when XQ_DISPLAY_KEY */
} xq_output_meta_t;

/** ExplanationMetadata. */
typedef struct xq_metadata {
    bool present;            /* metadata was given */
    xq_input_meta_t *inputs; /* in the order of the document */
    size_t input_cnt;
    xq_output_meta_t *outputs; /* exactly one when present */
    size_t output_cnt;
    const char *feature_attributions_schema_uri; /* NULL when not given */
    const char *latent_space_source;             /* NULL when not given */
} xq_metadata_t;

/** A validated ExplanationSpec. Read-only; free with xq_spec_destroy(). */
typedef struct xq_spec {
    xq_params_t params;
    xq_metadata_t meta;
    size_t baseline_cnt;         /* the common count of inputBaselines over inputs (0: zeros) */
    char id[XQ_SPEC_ID_LEN + 1]; /* hex SHA-256 of the canonical encoding */
    uint8_t *canonical;          /* canonical msgpack encoding, canonical_len bytes */
    size_t canonical_len;
    msgpack_zone *zone; /* owns everything above */
} xq_spec_t;

/**
 * Parses and validates the ExplanationSpec in @p obj (a msgpack map, as
 * decoded from a job or from JSON). Everything of @p obj the spec needs is
 * copied, so @p obj may be freed afterwards.
 *
 * Field names are Vertex's JSON names (camelCase); the proto names
 * (snake_case) are accepted too, as proto3 JSON parsers do. Enum values are
 * names or their numbers. Integer fields take integral floats.
 *
 * @returns XQ_OK and a new spec in @p *out (caller frees it with
 *          xq_spec_destroy()), or XQ_ESPEC with every problem found in
 *          @p errs (each "path: message"), and @p *out untouched.
 */
xq_err_t xq_spec_parse_object(const msgpack_object *obj, xq_spec_t **out, xq_errlist_t *errs);

/** As xq_spec_parse_object(), from one msgpack object in @p buf (trailing bytes are an error). */
xq_err_t xq_spec_parse(const uint8_t *buf, size_t len, xq_spec_t **out, xq_errlist_t *errs);

/** As xq_spec_parse_object(), from JSON text. */
xq_err_t xq_spec_parse_json(const char *text, size_t len, xq_spec_t **out, xq_errlist_t *errs);

/**
 * Parses JSON text when the first non-blank byte of @p buf is '{', msgpack
 * otherwise, so files and stdin of either form are accepted.
 */
xq_err_t xq_spec_parse_any(const uint8_t *buf, size_t len, xq_spec_t **out, xq_errlist_t *errs);

/**
 * Appends the normalized spec (the canonical form, defaults applied, keys
 * sorted) to @p out as JSON text; @p flags as for xq_json_from_msgpack().
 */
void xq_spec_to_json(const xq_spec_t *spec, int flags, xq_buf_t *out);

/** Frees @p spec; NULL is a no-op. */
void xq_spec_destroy(xq_spec_t *spec);

/** Name of a method as the seed spells its union member ("sampledShapleyAttribution"). */
const char *xq_method_name(xq_method_t m);

/** Name of an encoding ("BAG_OF_FEATURES"). */
const char *xq_encoding_name(xq_encoding_t e);

#endif /* XQ_SPEC_H */
