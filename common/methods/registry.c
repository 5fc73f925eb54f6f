/* registry.c -- the table of explanation methods: one line per method. */
#include "methods/registry.h"

#include <string.h>

#include "methods/examples.h"
#include "methods/ig.h"
#include "methods/shapley.h"
#include "methods/xrai.h"
#include "spec_int.h"

/* In the order of ExplanationParameters' oneof in Vertex's proto: error messages list them so. */
static const xq_method_def_t methods[] = {
    {XQ_METHOD_SAMPLED_SHAPLEY, "sampledShapleyAttribution", "sampled_shapley_attribution", 0,
     xq_sp_parse_shapley, xq_sp_canon_shapley, xq_shapley_ops, NULL},
    {XQ_METHOD_INTEGRATED_GRADIENTS, "integratedGradientsAttribution",
     "integrated_gradients_attribution", XQ_METHOD_F_GRADIENTS, xq_sp_parse_ig, xq_sp_canon_ig,
     xq_ig_ops, NULL},
    {XQ_METHOD_XRAI, "xraiAttribution", "xrai_attribution",
     XQ_METHOD_F_GRADIENTS | XQ_METHOD_F_PIXELS, xq_sp_parse_ig, xq_sp_canon_ig, xq_xrai_ops, NULL},
    {XQ_METHOD_EXAMPLES, "examples", NULL, 0, xq_sp_parse_examples, xq_sp_canon_examples,
     xq_examples_ops, xq_examples_pack},
};

#define METHOD_CNT (sizeof(methods) / sizeof(methods[0]))

_Static_assert(METHOD_CNT <= XQ_METHOD_MAX, "raise XQ_METHOD_MAX in common/methods/registry.h");

size_t xq_method_cnt(void) {
    return METHOD_CNT;
}

const xq_method_def_t *xq_method_at(size_t i) {
    return i < METHOD_CNT ? &methods[i] : NULL;
}

const xq_method_def_t *xq_method_get(xq_method_t m) {
    for (size_t i = 0; i < METHOD_CNT; i++) {
        if (methods[i].method == m)
            return &methods[i];
    }
    return NULL;
}

static bool name_is(const char *name, size_t len, const char *want) {
    return want && strlen(want) == len && memcmp(name, want, len) == 0;
}

const xq_method_def_t *xq_method_find(const char *name, size_t len) {
    for (size_t i = 0; name && i < METHOD_CNT; i++) {
        if (name_is(name, len, methods[i].name) || name_is(name, len, methods[i].proto))
            return &methods[i];
    }
    return NULL;
}
