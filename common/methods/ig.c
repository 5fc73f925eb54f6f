/* ig.c -- Integrated Gradients: Gauss–Legendre nodes, several baselines, SmoothGrad, blur baseline.
 */
#include "methods/ig.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "methods/blur.h"
#include "methods/outputs.h"

#define XQ_PI 3.14159265358979323846

void xq_gauss_legendre(size_t n, double *alpha, double *omega) {
    /* Newton on the Legendre polynomial P_n from the usual cosine guesses (roots in (-1, 1)) */
    for (size_t i = 0; i < (n + 1) / 2; i++) {
        double z = cos(XQ_PI * ((double)i + 0.75) / ((double)n + 0.5)), pp = 1;

        for (int it = 0; it < 100; it++) {
            double p1 = 1, p2 = 0, z1 = z;

            for (size_t j = 1; j <= n; j++) {
                double p3 = p2;

                p2 = p1;
                p1 = ((2.0 * (double)j - 1) * z * p2 - ((double)j - 1) * p3) / (double)j;
            }
            pp = (double)n * (z * p1 - p2) / (z * z - 1);
            z = z1 - p1 / pp;
            if (fabs(z - z1) < 1e-15)
                break;
        }
        /* z is the i-th largest root: map [-1, 1] onto [0, 1] */
        alpha[n - 1 - i] = (1 + z) / 2;
        alpha[i] = (1 - z) / 2;
        omega[i] = omega[n - 1 - i] = 1 / ((1 - z * z) * pp * pp);
    }
}

typedef struct gl_rule {
    size_t n;
    double *alpha, *omega;
} gl_rule_t;

struct xq_gl_cache {
    pthread_mutex_t mu;
    gl_rule_t *rules; /* cnt, in the order first asked for; few distinct step counts */
    size_t cnt, cap;
};

xq_gl_cache_t *xq_gl_cache_new(void) {
    xq_gl_cache_t *c = xq_calloc(1, sizeof(*c));

    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void xq_gl_cache_destroy(xq_gl_cache_t *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->cnt; i++) {
        xq_free(c->rules[i].alpha);
        xq_free(c->rules[i].omega);
    }
    xq_free(c->rules);
    pthread_mutex_destroy(&c->mu);
    xq_free(c);
}

void xq_gl_cache_get(xq_gl_cache_t *c, size_t n, const double **alpha, const double **omega) {
    gl_rule_t *r = NULL;

    XQ_ASSERT(n >= 1);
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->cnt && !r; i++) {
        if (c->rules[i].n == n)
            r = &c->rules[i];
    }
    if (!r) {
        if (c->cnt == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 8;
            c->rules = xq_reallocarray(c->rules, c->cap, sizeof(*c->rules));
        }
        r = &c->rules[c->cnt++];
        r->n = n;
        r->alpha = xq_malloc(n * sizeof(double));
        r->omega = xq_malloc(n * sizeof(double));
        xq_gauss_legendre(n, r->alpha, r->omega);
    }
    *alpha = r->alpha;
    *omega = r->omega;
    pthread_mutex_unlock(&c->mu);
}

typedef struct ig {
    xq_run_ctx_t *ctx;
    size_t E, B, n, K, out_cnt;
    const double *alpha, *omega; /* the rule: from ctx->gl, or own_* */
    double *own_alpha, *own_omega;
    float *xb;   /* effective baselines, B * E (blurred images when asked) */
    float *yx;   /* outputs at the instance */
    float *yb;   /* outputs at each baseline, B * out_cnt */
    size_t *sel; /* outputs to explain */
    size_t sel_cnt;
    double *acc;  /* sel_cnt * E attributions */
    float *z, *g; /* scratch row and gradient */
    size_t fwd_planned, fwd_reduced;
    size_t grad_total, grad_planned, grad_reduced;
    bool on_path; /* gradient rows are exactly points of the baselines' paths (no noise, no
                     blur): ig_plan() says so to compact requests (xq_rows_set_path()) */
    bool done;
} ig_t;

static const char *param_name(const xq_run_ctx_t *ctx) {
    return ctx->spec->params.method == XQ_METHOD_XRAI ? "parameters.xraiAttribution.stepCount"
                                                      : "parameters.integratedGradientsAttribution."
                                                        "stepCount";
}

static void set_steps(ig_t *s, size_t n) {
    s->n = n;
    if (s->ctx->gl) {
        xq_gl_cache_get(s->ctx->gl, n, &s->alpha, &s->omega);
    } else {
        s->own_alpha = xq_reallocarray(s->own_alpha, n, sizeof(double));
        s->own_omega = xq_reallocarray(s->own_omega, n, sizeof(double));
        xq_gauss_legendre(n, s->own_alpha, s->own_omega);
        s->alpha = s->own_alpha;
        s->omega = s->own_omega;
    }
    s->grad_total = s->sel_cnt * s->B * s->n * s->K;
    s->grad_planned = s->grad_reduced = 0;
}

static void *ig_create(xq_run_ctx_t *ctx) {
    const xq_ig_params_t *p = &ctx->spec->params.ig;
    const xq_layout_t *l = ctx->layout;
    ig_t *s = xq_calloc(1, sizeof(*s));

    s->ctx = ctx;
    s->E = l->elem_total;
    s->B = l->baseline_cnt;
    s->K = p->smoothgrad.present ? (size_t)p->smoothgrad.noisy_sample_count : 1;
    s->out_cnt = ctx->out_desc->elem_cnt;
    s->n = (size_t)p->step_count;
    if (1 + s->B + s->B * s->n * s->K > ctx->max_model_rows) {
        ctx->rc = xq_error_set(&ctx->err, XQ_ELIMIT, param_name(ctx),
                               "instance %zu: needs %zu model rows per output, over the limit of "
                               "%llu (maxModelRows)",
                               ctx->index, 1 + s->B + s->B * s->n * s->K,
                               (unsigned long long)ctx->max_model_rows);
        s->done = true;
        return s;
    }
    s->on_path = !p->blur.has_sigma;
    for (size_t e = 0; e < s->E && s->on_path; e++)
        s->on_path = !(l->sigma[e] > 0);
    s->xb = xq_malloc(s->B * s->E * sizeof(float));
    memcpy(s->xb, l->base, s->B * s->E * sizeof(float));
    if (p->blur.has_sigma) {
        /* docs/design.md §4: an image input's baseline becomes its blur; the path runs from it */
        for (size_t b = 0; b < s->B; b++) {
            for (size_t i = 0; i < l->image_cnt; i++) {
                const xq_image_t *im = &l->images[i];

                xq_blur_image(l->x + im->off, s->xb + b * s->E + im->off, im->h, im->w, im->c,
                              p->blur.max_blur_sigma);
            }
        }
    }
    s->yx = xq_malloc(s->out_cnt * sizeof(float));
    s->yb = xq_malloc(s->B * s->out_cnt * sizeof(float));
    s->z = xq_malloc(s->E * sizeof(float));
    s->g = xq_malloc(s->E * sizeof(float));
    return s;
}

static xq_step_t ig_next(const void *st) {
    const ig_t *s = st;

    if (s->done)
        return XQ_STEP_DONE;
    return s->sel ? XQ_STEP_GRADIENT : XQ_STEP_FORWARD;
}

/* The row of gradient step q: (output, baseline, node, sample), sample fastest. */
static void grad_row(ig_t *s, size_t q, float *z, size_t *oi, size_t *b, size_t *k) {
    const xq_layout_t *l = s->ctx->layout;
    const float *xb;
    double a;

    *k = (q / s->K) % s->n;
    *b = (q / (s->K * s->n)) % s->B;
    *oi = q / (s->K * s->n * s->B);
    xb = s->xb + *b * s->E;
    a = s->alpha[*k];
    for (size_t e = 0; e < s->E; e++) {
        /* without noise this is path_elem() of common/compact.c, which compact requests expand
         * bit for bit: keep the two the same arithmetic (double, one rounding, no FMA: -std=c11) */
        double v = (double)xb[e] + a * ((double)l->x[e] - (double)xb[e]);

        if (l->sigma[e] > 0) {
            /* SmoothGrad: fresh noise at every node, kept inside the feature's domain */
            v += (double)l->sigma[e] * xq_rng_normal(&s->ctx->rng);
            if (v < (double)l->lo[e])
                v = (double)l->lo[e];
            if (v > (double)l->hi[e])
                v = (double)l->hi[e];
        }
        z[e] = (float)v;
    }
}

static size_t ig_plan(void *st, xq_rows_t *rows, size_t budget) {
    ig_t *s = st;
    const xq_layout_t *l = s->ctx->layout;
    size_t n = 0, oi, b, k;

    if (!s->sel) {
        while (s->fwd_planned < 1 + s->B && n < budget) {
            size_t i = xq_rows_add(
                rows, s->fwd_planned == 0 ? l->x : s->xb + (s->fwd_planned - 1) * s->E, -1);

            if (s->fwd_planned > 0)
                xq_rows_mark_baseline(rows, i);
            s->fwd_planned++;
            n++;
        }
        return n;
    }
    while (s->grad_planned < s->grad_total && n < budget) {
        size_t i;

        grad_row(s, s->grad_planned, s->z, &oi, &b, &k);
        i = xq_rows_add(rows, s->z, (int32_t)s->sel[oi]);
        if (s->on_path)
            xq_rows_set_path(rows, i, b, s->alpha[k]);
        s->grad_planned++;
        n++;
    }
    return n;
}

static void finish_round(ig_t *s) {
    xq_run_ctx_t *ctx = s->ctx;
    const xq_layout_t *l = ctx->layout;
    double worst = 0;

    if (!ctx->expl.attrs)
        xq_run_alloc_attrs(ctx, s->sel_cnt);
    for (size_t a = 0; a < s->sel_cnt; a++) {
        xq_attribution_t *at = &ctx->expl.attrs[a];
        const double *acc = s->acc + a * s->E;
        size_t o = s->sel[a];
        double fb = 0, sum = 0;

        for (size_t b = 0; b < s->B; b++)
            fb += (double)s->yb[b * s->out_cnt + o];
        fb /= (double)s->B;
        for (size_t e = 0; e < s->E; e++)
            sum += acc[e];
        for (size_t i = 0; i < l->slot_cnt; i++) {
            const xq_slot_t *slot = &l->slots[i];
            double v = 0;

            for (size_t r = 0; r < slot->range_cnt; r++) {
                const xq_range_t *rg = &l->ranges[slot->range_first + r];

                for (size_t e = 0; e < rg->len; e++)
                    v += acc[rg->off + e];
            }
            at->values[i] = v;
        }
        at->output = o;
        at->instance_output = (double)s->yx[o];
        at->baseline_output = fb;
        at->has_error = true;
        at->approx_error = xq_run_sum_error(sum, (double)s->yx[o] - fb);
        if (at->approx_error > worst)
            worst = at->approx_error;
    }
    if (ctx->target_error > 0) {
        uint64_t next = ctx->expl.model_rows + (uint64_t)s->sel_cnt * s->B * 2 * s->n * s->K;

        ctx->expl.adaptive = true;
        ctx->expl.adapted = "stepCount";
        ctx->expl.adapted_value = (int)s->n;
        ctx->expl.target_met = worst <= ctx->target_error;
        if (!ctx->expl.target_met && next <= ctx->max_model_rows) {
            /* Gauss–Legendre nodes do not nest: the doubled rule starts afresh */
            set_steps(s, 2 * s->n);
            memset(s->acc, 0, s->sel_cnt * s->E * sizeof(double));
            return;
        }
    }
    s->done = true;
}

static void ig_reduce(void *st, const xq_rows_t *rows, size_t first, size_t cnt) {
    ig_t *s = st;
    xq_run_ctx_t *ctx = s->ctx;
    const xq_layout_t *l = ctx->layout;
    size_t oi, b, k;

    ctx->expl.model_rows += cnt;
    if (!s->sel) {
        for (size_t j = 0; j < cnt; j++, s->fwd_reduced++) {
            float *dst = s->fwd_reduced == 0 ? s->yx : s->yb + (s->fwd_reduced - 1) * s->out_cnt;

            memcpy(dst, xq_rows_out(rows, first + j), s->out_cnt * sizeof(float));
        }
        if (s->fwd_reduced < 1 + s->B)
            return;
        if ((ctx->rc = xq_outputs_select(ctx->spec, s->yx, ctx->out_desc, &s->sel, &s->sel_cnt,
                                         &ctx->err)) != XQ_OK) {
            s->done = true;
            return;
        }
        s->acc = xq_calloc(s->sel_cnt * s->E, sizeof(double));
        set_steps(s, s->n);
        return;
    }
    for (size_t j = 0; j < cnt; j++, s->grad_reduced++) {
        size_t q = s->grad_reduced;
        const float *xb;
        double *acc, w;

        k = (q / s->K) % s->n;
        b = (q / (s->K * s->n)) % s->B;
        oi = q / (s->K * s->n * s->B);
        xb = s->xb + b * s->E;
        acc = s->acc + oi * s->E;
        w = s->omega[k] / (double)(s->K * s->B);
        xq_rows_grad(rows, first + j, s->g);
        for (size_t e = 0; e < s->E; e++)
            acc[e] += w * ((double)l->x[e] - (double)xb[e]) * (double)s->g[e];
    }
    if (s->grad_reduced == s->grad_total)
        finish_round(s);
}

static void ig_destroy(void *st) {
    ig_t *s = st;

    if (!s)
        return;
    xq_free(s->own_alpha);
    xq_free(s->own_omega);
    xq_free(s->xb);
    xq_free(s->yx);
    xq_free(s->yb);
    xq_free(s->sel);
    xq_free(s->acc);
    xq_free(s->z);
    xq_free(s->g);
    xq_free(s);
}

const xq_method_ops_t *xq_ig_ops(void) {
    static const xq_method_ops_t ops = {
        .create = ig_create,
        .next = ig_next,
        .plan = ig_plan,
        .reduce = ig_reduce,
        .destroy = ig_destroy,
    };

    return &ops;
}
