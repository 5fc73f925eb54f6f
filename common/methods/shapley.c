/* shapley.c -- Sampled Shapley: permutation walks from each baseline to the instance. */
#include "methods/shapley.h"

#include <math.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "methods/outputs.h"

typedef struct shapley {
    xq_run_ctx_t *ctx;
    size_t M;       /* players (layout slots) */
    size_t B;       /* baselines */
    size_t P;       /* paths drawn so far */
    uint32_t *perm; /* P * M */
    size_t out_cnt;
    float *outs;       /* outputs of every logical row, rows_total * out_cnt */
    size_t rows_total; /* logical rows for P paths */
    size_t rows_planned;
    size_t rows_reduced;
    float *z;    /* the row being walked */
    size_t *sel; /* outputs to explain */
    size_t sel_cnt;
    double *mean, *m2, *m; /* per player: running mean and M2 of marginals; one path's marginals */
    bool exact;            /* the paths are all M! orders: the Shapley value itself */
    bool done;
} shapley_t;

size_t xq_shapley_rows(size_t players, size_t paths, size_t baselines) {
    return 1 + baselines + paths * baselines * (players ? players - 1 : 0);
}

/* Logical row of step k (0-based, k < M-1) of path p from baseline b. */
static size_t walk_row(const shapley_t *s, size_t p, size_t b, size_t k) {
    return 1 + s->B + (p * s->B + b) * (s->M - 1) + k;
}

static void draw_paths(shapley_t *s, size_t from, size_t to) {
    s->perm = xq_reallocarray(s->perm, to * s->M, sizeof(*s->perm));
    for (size_t p = from; p < to; p++)
        xq_rng_permutation(&s->ctx->rng, s->perm + p * s->M, s->M);
    s->P = to;
    s->rows_total = xq_shapley_rows(s->M, s->P, s->B);
    s->outs = xq_reallocarray(s->outs, s->rows_total, s->out_cnt * sizeof(float));
}

/* Every order of M players, lexicographic (M! of them; only for tiny M). */
static void all_orders(shapley_t *s, size_t count) {
    uint32_t *p = s->perm;

    for (size_t i = 0; i < s->M; i++)
        p[i] = (uint32_t)i;
    for (size_t k = 1; k < count; k++) {
        uint32_t *q = p + s->M;
        size_t i, j;

        memcpy(q, p, s->M * sizeof(*q));
        /* next permutation: the longest descending suffix, swap, reverse */
        for (i = s->M - 1; i > 0 && q[i - 1] > q[i]; i--)
            ;
        for (j = s->M - 1; q[j] < q[i - 1]; j--)
            ;
        uint32_t t = q[i - 1];
        q[i - 1] = q[j];
        q[j] = t;
        for (size_t a = i, b = s->M - 1; a < b; a++, b--) {
            t = q[a];
            q[a] = q[b];
            q[b] = t;
        }
        p = q;
    }
}

static void *shapley_create(xq_run_ctx_t *ctx) {
    shapley_t *s = xq_calloc(1, sizeof(*s));
    const xq_layout_t *l = ctx->layout;
    size_t P = (size_t)ctx->spec->params.path_count;

    s->ctx = ctx;
    s->M = l->slot_cnt;
    s->B = l->baseline_cnt;
    s->out_cnt = ctx->out_desc->elem_cnt;
    if (xq_shapley_rows(s->M, P, s->B) > ctx->max_model_rows) {
        ctx->rc =
            xq_error_set(&ctx->err, XQ_ELIMIT, "parameters.sampledShapleyAttribution.pathCount",
                         "instance %zu: Sampled Shapley needs %zu model rows for %zu players, "
                         "over the limit of %llu (maxModelRows); lower pathCount or group "
                         "features",
                         ctx->index, xq_shapley_rows(s->M, P, s->B), s->M,
                         (unsigned long long)ctx->max_model_rows);
        s->done = true;
        return s;
    }
    s->z = xq_malloc(l->elem_total * sizeof(float));
    s->mean = xq_calloc(s->M, sizeof(double));
    s->m2 = xq_calloc(s->M, sizeof(double));
    s->m = xq_calloc(s->M, sizeof(double));
    {
        /* pathCount >= M!: walking every order once gives the exact value, with fewer rows */
        size_t fact = 1;

        for (size_t i = 2; i <= s->M && fact <= P; i++)
            fact *= i;
        if (s->M > 1 && fact <= P) {
            s->exact = true;
            draw_paths(s, 0, fact);
            all_orders(s, fact);
            return s;
        }
    }
    draw_paths(s, 0, P);
    return s;
}

void xq_shapley_set_permutations(void *st, const uint32_t *perms, size_t paths) {
    shapley_t *s = st;

    XQ_ASSERT(s->rows_planned == 0);
    s->exact = false;
    draw_paths(s, 0, paths);
    memcpy(s->perm, perms, paths * s->M * sizeof(*perms));
}

static xq_step_t shapley_next(const void *st) {
    const shapley_t *s = st;

    return s->done ? XQ_STEP_DONE : XQ_STEP_FORWARD;
}

/* Puts player @p i's instance values into the row. */
static void switch_player(shapley_t *s, size_t i) {
    const xq_layout_t *l = s->ctx->layout;
    const xq_slot_t *slot = &l->slots[i];

    for (size_t r = 0; r < slot->range_cnt; r++) {
        const xq_range_t *rg = &l->ranges[slot->range_first + r];

        if (rg->len == 1) /* a tabular player: one element, no call */
            s->z[rg->off] = l->x[rg->off];
        else
            memcpy(s->z + rg->off, l->x + rg->off, rg->len * sizeof(float));
    }
}

static size_t shapley_plan(void *st, xq_rows_t *rows, size_t budget) {
    shapley_t *s = st;
    const xq_layout_t *l = s->ctx->layout;
    size_t n = 0;

    while (s->rows_planned < s->rows_total && n < budget) {
        size_t L = s->rows_planned;

        if (L == 1 + s->B && !s->sel) {
            /* the walks wait for the outputs at the instance: they pick the outputs explained,
             * and a walk row then needs only that one (the row's output hint, see below) */
            break;
        }
        if (L == 0) {
            xq_rows_add(rows, l->x, -1);
        } else if (L <= s->B) {
            xq_rows_mark_baseline(rows, xq_rows_add(rows, l->base + (L - 1) * l->elem_total, -1));
        } else {
            size_t q = L - 1 - s->B, k = q % (s->M - 1), pb = q / (s->M - 1);
            size_t p = pb / s->B, b = pb % s->B;

            /* rows of one walk are planned in order, so z carries the walk so far */
            if (k == 0)
                memcpy(s->z, l->base + b * l->elem_total, l->elem_total * sizeof(float));
            switch_player(s, s->perm[p * s->M + k]);
            /* one output explained: the row's hint says which (a runner may reply only it) */
            xq_rows_add(rows, s->z, s->sel_cnt == 1 ? (int32_t)s->sel[0] : -1);
        }
        s->rows_planned++;
        n++;
    }
    return n;
}

/* Estimates every selected output's Shapley values from the rows of all P paths. */
static void compute(shapley_t *s) {
    xq_run_ctx_t *ctx = s->ctx;
    const float *yx = s->outs;
    double worst = 0;

    if (!s->sel && (ctx->rc = xq_outputs_select(ctx->spec, yx, ctx->out_desc, &s->sel, &s->sel_cnt,
                                                &ctx->err)) != XQ_OK)
        return;
    if (!ctx->expl.attrs)
        xq_run_alloc_attrs(ctx, s->sel_cnt);
    for (size_t a = 0; a < s->sel_cnt; a++) {
        xq_attribution_t *at = &ctx->expl.attrs[a];
        size_t o = s->sel[a];
        double fx = (double)yx[o], fb = 0, var = 0;

        for (size_t b = 0; b < s->B; b++)
            fb += (double)s->outs[(1 + b) * s->out_cnt + o];
        fb /= (double)s->B;
        memset(s->mean, 0, s->M * sizeof(double));
        memset(s->m2, 0, s->M * sizeof(double));
        for (size_t p = 0; p < s->P; p++) {
            const uint32_t *perm = s->perm + p * s->M;

            memset(s->m, 0, s->M * sizeof(double));
            for (size_t b = 0; b < s->B; b++) {
                double prev = (double)s->outs[(1 + b) * s->out_cnt + o];

                for (size_t k = 0; k < s->M; k++) {
                    double cur =
                        k + 1 == s->M ? fx : (double)s->outs[walk_row(s, p, b, k) * s->out_cnt + o];

                    s->m[perm[k]] += (cur - prev) / (double)s->B;
                    prev = cur;
                }
            }
            for (size_t i = 0; i < s->M; i++) {
                /* Welford: the spread of a player's marginal over the paths */
                double d = s->m[i] - s->mean[i];

                s->mean[i] += d / (double)(p + 1);
                s->m2[i] += d * (s->m[i] - s->mean[i]);
            }
        }
        at->output = o;
        at->instance_output = fx;
        at->baseline_output = fb;
        for (size_t i = 0; i < s->M; i++) {
            at->values[i] = s->mean[i];
            if (s->P > 1)
                var += s->m2[i] / (double)(s->P - 1);
        }
        at->has_error = s->P > 1 || s->exact;
        if (s->exact) {
            at->approx_error = 0; /* every order was walked: no sampling error */
        } else if (at->has_error) {
            /* relative standard error; absolute when F(x) and F(x') coincide (docs/design.md §4) */
            double se = sqrt(var / (double)s->P), d = fabs(fx - fb);

            at->approx_error = d < 1e-12 ? se : se / d;
        }
        if (at->approx_error > worst)
            worst = at->approx_error;
    }
    if (ctx->target_error > 0 && !s->exact) {
        size_t more = xq_shapley_rows(s->M, 2 * s->P, s->B);

        ctx->expl.adaptive = true;
        ctx->expl.adapted = "pathCount";
        ctx->expl.adapted_value = (int)s->P;
        ctx->expl.target_met = s->P > 1 && worst <= ctx->target_error;
        if (!ctx->expl.target_met && more <= ctx->max_model_rows && s->M > 1) {
            draw_paths(s, s->P, 2 * s->P); /* the earlier paths stay: their rows are kept */
            return;
        }
    }
    s->done = true;
}

static void shapley_reduce(void *st, const xq_rows_t *rows, size_t first, size_t cnt) {
    shapley_t *s = st;

    /* a run's rows are consecutive, and so are their outputs: one copy */
    memcpy(s->outs + s->rows_reduced * s->out_cnt, xq_rows_out(rows, first),
           cnt * s->out_cnt * sizeof(float));
    s->rows_reduced += cnt;
    s->ctx->expl.model_rows += cnt;
    if (!s->sel && s->rows_reduced == 1 + s->B && s->rows_reduced < s->rows_total &&
        (s->ctx->rc = xq_outputs_select(s->ctx->spec, s->outs, s->ctx->out_desc, &s->sel,
                                        &s->sel_cnt, &s->ctx->err)) != XQ_OK) {
        s->done = true;
        return;
    }
    if (s->rows_reduced == s->rows_total) {
        compute(s);
        if (s->ctx->rc != XQ_OK)
            s->done = true;
    }
}

static void shapley_destroy(void *st) {
    shapley_t *s = st;

    if (!s)
        return;
    xq_free(s->perm);
    xq_free(s->outs);
    xq_free(s->z);
    xq_free(s->sel);
    xq_free(s->mean);
    xq_free(s->m2);
    xq_free(s->m);
    xq_free(s);
}

const xq_method_ops_t *xq_shapley_ops(void) {
    static const xq_method_ops_t ops = {
        .create = shapley_create,
        .next = shapley_next,
        .plan = shapley_plan,
        .reduce = shapley_reduce,
        .destroy = shapley_destroy,
    };

    return &ops;
}
