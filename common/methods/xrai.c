/* xrai.c -- XRAI's greedy region selection over segmentation masks, on top of IG. */
#include "methods/xrai.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "methods/ig.h"

/* Pixels of mask @p k not yet covered: their count and sum of A. */
static size_t
fresh(const xq_masks_t *m, size_t k, const uint64_t *covered, const double *A, double *sum) {
    size_t cnt = 0, w0, w1;
    const uint64_t *bits = m->bits + k * m->words;

    *sum = 0;
    if (m->row0[k] > m->row1[k])
        return 0;
    w0 = (size_t)m->row0[k] * m->w / 64;
    w1 = (((size_t)m->row1[k] + 1) * m->w + 63) / 64;
    for (size_t i = w0; i < w1 && i < m->words; i++) {
        uint64_t b = bits[i] & (covered ? ~covered[i] : ~(uint64_t)0);

        while (b) {
            size_t p = i * 64 + (size_t)__builtin_ctzll(b);

            *sum += A[p];
            cnt++;
            b &= b - 1;
        }
    }
    return cnt;
}

/* Covers the new pixels of mask @p k as region @p r valued @p v. */
static void take(const xq_masks_t *m,
                 size_t k,
                 uint64_t *covered,
                 double v,
                 int32_t r,
                 double *out,
                 int32_t *region) {
    const uint64_t *bits = m->bits + k * m->words;

    for (size_t i = 0; i < m->words; i++) {
        uint64_t b = bits[i] & ~covered[i];

        covered[i] |= bits[i];
        while (b) {
            size_t p = i * 64 + (size_t)__builtin_ctzll(b);

            out[p] = v;
            region[p] = r;
            b &= b - 1;
        }
    }
}

typedef struct ranked {
    double gain;
    size_t idx;
} ranked_t;

static int by_gain_desc(const void *x, const void *y) {
    const ranked_t *a = x, *b = y;

    if (a->gain != b->gain)
        return a->gain > b->gain ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx; /* stable: first mask first */
}

/* 'fast': the masks ranked once by their whole mean, then taken in that order. */
static size_t select_fast(const double *A,
                          const xq_masks_t *m,
                          size_t min_pixel_diff,
                          uint64_t *covered,
                          double *out,
                          int32_t *region,
                          double *gains) {
    ranked_t *order = xq_malloc((m->cnt + 1) * sizeof(*order));
    size_t nreg = 0;

    for (size_t k = 0; k < m->cnt; k++) {
        double s;
        size_t c = fresh(m, k, NULL, A, &s);

        order[k].gain = c ? s / (double)c : -HUGE_VAL;
        order[k].idx = k;
    }
    qsort(order, m->cnt, sizeof(*order), by_gain_desc);
    for (size_t j = 0; j < m->cnt; j++) {
        double s;
        size_t k = order[j].idx, c = fresh(m, k, covered, A, &s);

        if (c < min_pixel_diff || c == 0 || isnan(s))
            continue;
        gains[nreg] = s / (double)c;
        take(m, k, covered, gains[nreg], (int32_t)nreg, out, region);
        nreg++;
    }
    xq_free(order);
    return nreg;
}

/* 'full': each round, the mask whose not yet covered pixels have the highest mean. */
static size_t select_full(const double *A,
                          const xq_masks_t *m,
                          size_t min_pixel_diff,
                          uint64_t *covered,
                          double *out,
                          int32_t *region,
                          double *gains) {
    bool *alive = xq_malloc(m->cnt ? m->cnt : 1);
    size_t nreg = 0;

    memset(alive, 1, m->cnt);
    for (;;) {
        size_t best = m->cnt;
        double best_gain = -HUGE_VAL;

        for (size_t k = 0; k < m->cnt; k++) {
            double s, g;
            size_t c;

            if (!alive[k])
                continue;
            if ((c = fresh(m, k, covered, A, &s)) < min_pixel_diff || c == 0) {
                alive[k] = false; /* it only shrinks from here */
                continue;
            }
            g = s / (double)c;
            if (g > best_gain || (best == m->cnt && !isnan(g))) {
                best = k;
                best_gain = g;
            }
        }
        if (best == m->cnt)
            break;
        take(m, best, covered, best_gain, (int32_t)nreg, out, region);
        alive[best] = false;
        gains[nreg++] = best_gain;
    }
    xq_free(alive);
    return nreg;
}

size_t xq_xrai_select(const double *A,
                      const xq_masks_t *m,
                      xq_xrai_algo_t algo,
                      size_t min_pixel_diff,
                      double *out,
                      int32_t *rank) {
    size_t n = m->h * m->w, nreg, left = 0;
    uint64_t *covered = xq_calloc(m->words ? m->words : 1, sizeof(uint64_t));
    int32_t *region = xq_malloc(n * sizeof(int32_t));
    double *gains = xq_malloc((m->cnt + 1) * sizeof(double)), rest = 0;

    for (size_t p = 0; p < n; p++)
        region[p] = -1;
    nreg = (algo == XQ_XRAI_FAST ? select_fast : select_full)(A, m, min_pixel_diff, covered, out,
                                                              region, gains);
    /* what no mask covered is one last region, valued at its own mean */
    for (size_t p = 0; p < n; p++) {
        if (region[p] < 0) {
            rest += A[p];
            left++;
        }
    }
    for (size_t p = 0; left && p < n; p++) {
        if (region[p] < 0)
            out[p] = rest / (double)left;
    }
    if (rank) {
        ranked_t *order = xq_malloc((nreg + 1) * sizeof(*order));
        int32_t *rank_of = xq_malloc((nreg + 1) * sizeof(int32_t));

        for (size_t r = 0; r < nreg; r++) {
            order[r].gain = gains[r];
            order[r].idx = r;
        }
        qsort(order, nreg, sizeof(*order), by_gain_desc);
        for (size_t r = 0; r < nreg; r++)
            rank_of[order[r].idx] = (int32_t)r + 1;
        for (size_t p = 0; p < n; p++)
            rank[p] = region[p] < 0 ? (int32_t)nreg + 1 : rank_of[region[p]];
        xq_free(rank_of);
        xq_free(order);
    }
    xq_free(covered);
    xq_free(region);
    xq_free(gains);
    return nreg + (left > 0);
}

/* ==== The method: IG, then XRAI per image input ==== */

typedef struct xrai {
    xq_run_ctx_t *ctx;
    void *ig;
} xrai_t;

/* Replaces every attribution's values of image @p im by XRAI's, in channel 0 of each pixel. */
static void post_image(xq_run_ctx_t *ctx, const xq_image_t *im) {
    const xq_layout_t *l = ctx->layout;
    const xq_entry_t *en = &l->entries[im->entry];
    size_t n = im->h * im->w;
    double *A = xq_malloc(n * sizeof(double)), *out = xq_malloc(n * sizeof(double));
    xq_masks_t m;

    xq_xrai_masks(l->x + im->off, im->h, im->w, im->c, &m);
    for (size_t a = 0; a < ctx->expl.attr_cnt; a++) {
        double *v = ctx->expl.attrs[a].values + en->slot_first;

        for (size_t p = 0; p < n; p++) {
            A[p] = v[p * im->c];
            for (size_t c = 1; c < im->c; c++) /* the signed max over channels */
                A[p] = v[p * im->c + c] > A[p] ? v[p * im->c + c] : A[p];
        }
        xq_xrai_select(A, &m, ctx->xrai_fast ? XQ_XRAI_FAST : XQ_XRAI_FULL, XQ_XRAI_MIN_PIXEL_DIFF,
                       out, NULL);
        for (size_t p = 0; p < n; p++) {
            v[p * im->c] = out[p];
            for (size_t c = 1; c < im->c; c++)
                v[p * im->c + c] = 0;
        }
    }
    xq_masks_fini(&m);
    xq_free(A);
    xq_free(out);
}

static void *xrai_create(xq_run_ctx_t *ctx) {
    xrai_t *s = xq_calloc(1, sizeof(*s));
    size_t images = 0;

    s->ctx = ctx;
    for (size_t i = 0; i < ctx->layout->image_cnt; i++)
        images += ctx->layout->images[i].entry != SIZE_MAX;
    if (!images) {
        ctx->rc = xq_error_set(&ctx->err, XQ_EINVAL, "metadata.inputs",
                               "instance %zu: XRAI explains images: give an input modality "
                               "\"image\" ([height][width] or [height][width][channels])",
                               ctx->index);
        return s;
    }
    s->ig = xq_ig_ops()->create(ctx);
    return s;
}

static xq_step_t xrai_next(const void *st) {
    const xrai_t *s = st;

    return s->ig ? xq_ig_ops()->next(s->ig) : XQ_STEP_DONE;
}

static size_t xrai_plan(void *st, xq_rows_t *rows, size_t budget) {
    xrai_t *s = st;

    return xq_ig_ops()->plan(s->ig, rows, budget);
}

static void xrai_reduce(void *st, const xq_rows_t *rows, size_t first, size_t cnt) {
    xrai_t *s = st;
    xq_run_ctx_t *ctx = s->ctx;

    xq_ig_ops()->reduce(s->ig, rows, first, cnt);
    if (xq_ig_ops()->next(s->ig) != XQ_STEP_DONE || ctx->rc != XQ_OK)
        return;
    for (size_t i = 0; i < ctx->layout->image_cnt; i++) {
        if (ctx->layout->images[i].entry != SIZE_MAX)
            post_image(ctx, &ctx->layout->images[i]);
    }
}

static void xrai_destroy(void *st) {
    xrai_t *s = st;

    if (!s)
        return;
    if (s->ig)
        xq_ig_ops()->destroy(s->ig);
    xq_free(s);
}

const xq_method_ops_t *xq_xrai_ops(void) {
    static const xq_method_ops_t ops = {xrai_create, xrai_next, xrai_plan, xrai_reduce,
                                        xrai_destroy};

    return &ops;
}
