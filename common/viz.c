/* viz.c -- attribution pictures: polarity, cumulative-mass clipping, outlines, colour, overlay. */
#include "viz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "picture.h"

static const uint8_t viridis[256][3] = {
#include "viz_viridis.inc"
};

static int desc(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;

    return a > b ? -1 : a < b;
}

/* T(p) over @p s, sorted descending, summing to @p total. */
static double threshold_sorted(const double *s, size_t n, double total, double p) {
    double cum = 0;

    for (size_t i = 0; p < 100 && i < n; i++) {
        cum += s[i];
        if (cum >= total * p / 100)
            return s[i];
    }
    return n ? s[n - 1] : 0; /* p = 100 and rounding shortfalls end at the smallest value */
}

/* A copy of @p g sorted descending (caller frees), and its sum. */
static double *sorted_desc(const double *g, size_t n, double *total) {
    double *s = xq_malloc((n ? n : 1) * sizeof(double));

    memcpy(s, g, n * sizeof(double));
    qsort(s, n, sizeof(double), desc);
    *total = 0;
    for (size_t i = 0; i < n; i++)
        *total += s[i];
    return s;
}

double xq_viz_threshold(const double *g, size_t n, double p) {
    double total, *s = sorted_desc(g, n, &total), v = threshold_sorted(s, n, total, p);

    xq_free(s);
    return v;
}

void xq_viz_scale(const double *g, size_t n, double upper, double lower, double *t) {
    double total, *s = sorted_desc(g, n, &total);
    double m = threshold_sorted(s, n, total, 100 - upper);
    double e = threshold_sorted(s, n, total, 100 - lower);

    xq_free(s);
    for (size_t i = 0; i < n; i++) {
        if (m > e)
            t[i] = fmin(1, fmax(0, (g[i] - e) / (m - e)));
        else /* m == e would divide by zero (docs/design.md §4 "Visualization"): show exactly what
                reaches it */
            t[i] = g[i] >= m && g[i] > 0;
    }
}

/* The red ramp R[i] of docs/design.md §4 "Visualization". */
static double red(int i) {
    return i == 0 ? 0 : i == 1 ? 255.0 * 129 / 512 : i == 255 ? 255 : 255.0 * (i + 256) / 512;
}

/* The green ramp G[i] of docs/design.md §4 "Visualization". */
static double green(int i) {
    return i == 0 ? 0 : i == 1 ? green(2) / 2 : i == 255 ? 255 : 255 * (0.3 + 0.7 * i / 254.0);
}

void xq_viz_table(xq_color_map_t table, int i, double rgb[3]) {
    rgb[0] = rgb[1] = rgb[2] = 0;
    switch (table) {
    case XQ_COLOR_MAP_RED:
        rgb[0] = red(i);
        break;
    case XQ_COLOR_MAP_GREEN:
        rgb[1] = green(i);
        break;
    case XQ_COLOR_MAP_PINK_GREEN: /* as a table: the pink ramp */
        rgb[0] = rgb[2] = red(i);
        break;
    case XQ_COLOR_MAP_PINK_WHITE_GREEN:
        if (i < 128) {
            rgb[0] = rgb[2] = 255;
            rgb[1] = 2 * i;
        } else {
            rgb[0] = rgb[2] = 255 - 2 * (i - 128);
            rgb[1] = 255;
        }
        break;
    case XQ_COLOR_MAP_VIRIDIS:
        for (int c = 0; c < 3; c++)
            rgb[c] = viridis[i][c];
        break;
    default:
        break;
    }
}

/* The colour of strength @p t for the positive or negative side of @p map. */
static void colour(xq_color_map_t map, bool positive, double t, double rgb[3]) {
    int i = (int)lround(t * 255);

    switch (map) {
    case XQ_COLOR_MAP_PINK_GREEN:
        xq_viz_table(positive ? XQ_COLOR_MAP_GREEN : XQ_COLOR_MAP_PINK_GREEN, i, rgb);
        break;
    case XQ_COLOR_MAP_RED_GREEN:
        xq_viz_table(positive ? XQ_COLOR_MAP_GREEN : XQ_COLOR_MAP_RED, i, rgb);
        break;
    case XQ_COLOR_MAP_PINK_WHITE_GREEN: /* diverging: white in the middle, green positive */
        i = (int)lround(t * 127);
        xq_viz_table(map, positive ? 128 + i : 127 - i, rgb);
        break;
    default:
        xq_viz_table(map, i, rgb);
        break;
    }
}

/* Flood fill of 0 pixels reachable from the border through 4-neighbours: what is not, is a hole. */
static void fill_holes(uint8_t *m, size_t h, size_t w) {
    uint8_t *seen = xq_calloc(h * w, 1);
    size_t *stack = xq_malloc(h * w * sizeof(size_t)), top = 0;

    for (size_t p = 0; p < h * w; p++) {
        size_t y = p / w, x = p % w;

        if ((y == 0 || x == 0 || y == h - 1 || x == w - 1) && !m[p]) {
            seen[p] = 1;
            stack[top++] = p;
        }
    }
    while (top) {
        size_t p = stack[--top], y = p / w, x = p % w;
        size_t nb[4] = {y ? p - w : p, y + 1 < h ? p + w : p, x ? p - 1 : p, x + 1 < w ? p + 1 : p};

        for (int k = 0; k < 4; k++) {
            if (!seen[nb[k]] && !m[nb[k]]) {
                seen[nb[k]] = 1;
                stack[top++] = nb[k];
            }
        }
    }
    for (size_t p = 0; p < h * w; p++)
        m[p] |= !seen[p];
    xq_free(seen);
    xq_free(stack);
}

typedef struct comp {
    size_t size;
    int32_t id;
} comp_t;

static int by_size_desc(const void *x, const void *y) {
    const comp_t *a = x, *b = y;

    return a->size > b->size ? -1 : a->size < b->size ? 1 : a->id - b->id;
}

/*
 * OUTLINES (docs/design.md §4 "Visualization", OUTLINES): binarize, fill holes, keep the largest
 * 8-connected components holding 90% of the pixels (at most 3), draw their 1-pixel borders at full
 * strength and shade their insides at half.
 */
static void outlines(double *t, size_t h, size_t w) {
    size_t n = h * w, ncomp = 0, *stack = xq_malloc(n * sizeof(size_t));
    uint8_t *m = xq_malloc(n), *keep = xq_calloc(ncomp + n + 1, 1);
    int32_t *lab = xq_malloc(n * sizeof(int32_t));
    comp_t *comps = xq_malloc((n + 1) * sizeof(*comps));
    size_t total = 0, cum = 0;

    for (size_t p = 0; p < n; p++) {
        m[p] = t[p] > 0.001;
        lab[p] = -1;
    }
    fill_holes(m, h, w);
    for (size_t p0 = 0; p0 < n; p0++) {
        size_t top = 0;

        if (!m[p0] || lab[p0] >= 0)
            continue;
        comps[ncomp].id = (int32_t)ncomp;
        comps[ncomp].size = 0;
        lab[p0] = (int32_t)ncomp;
        stack[top++] = p0;
        while (top) {
            size_t p = stack[--top];
            long y = (long)(p / w), x = (long)(p % w);

            comps[ncomp].size++;
            for (long dy = -1; dy <= 1; dy++) {
                for (long dx = -1; dx <= 1; dx++) {
                    long yy = y + dy, xx = x + dx;
                    size_t q;

                    if (yy < 0 || xx < 0 || yy >= (long)h || xx >= (long)w)
                        continue;
                    q = (size_t)yy * w + (size_t)xx;
                    if (m[q] && lab[q] < 0) {
                        lab[q] = (int32_t)ncomp;
                        stack[top++] = q;
                    }
                }
            }
        }
        total += comps[ncomp++].size;
    }
    qsort(comps, ncomp, sizeof(*comps), by_size_desc);
    for (size_t i = 0; i < ncomp && i < 3 && (i == 0 || cum < total * 0.9); i++) {
        keep[comps[i].id] = 1;
        cum += comps[i].size;
    }
    for (size_t p = 0; p < n; p++) {
        size_t y = p / w, x = p % w;
        bool in = lab[p] >= 0 && keep[lab[p]], inner;

        /* eroded by the 4-neighbour cross: what is left of the mask is its border */
        inner = in && y > 0 && x > 0 && y + 1 < h && x + 1 < w && m[p - w] && m[p + w] &&
                m[p - 1] && m[p + 1] && keep[lab[p - w]] && keep[lab[p + w]] && keep[lab[p - 1]] &&
                keep[lab[p + 1]];
        t[p] = !in ? 0 : inner ? 0.5 * t[p] : 1;
    }
    xq_free(stack);
    xq_free(m);
    xq_free(keep);
    xq_free(lab);
    xq_free(comps);
}

/* One side's strength per pixel: the mean over channels of the clipped attributions, scaled. */
static void side(const xq_viz_t *viz,
                 const double *a,
                 size_t n,
                 size_t ca,
                 bool positive,
                 size_t h,
                 size_t w,
                 double *t) {
    double *g = xq_malloc(n * sizeof(double));

    for (size_t p = 0; p < n; p++) {
        double s = 0;

        for (size_t c = 0; c < ca; c++)
            s += positive ? fmax(a[p * ca + c], 0) : fmax(-a[p * ca + c], 0);
        g[p] = s / (double)ca;
    }
    xq_viz_scale(g, n, viz->clip_upper, viz->clip_lower, t);
    if (viz->type == XQ_VIZ_TYPE_OUTLINES)
        outlines(t, h, w);
    xq_free(g);
}

void xq_viz_render(const xq_viz_t *viz,
                   const double *a,
                   size_t h,
                   size_t w,
                   size_t ca,
                   const float *img,
                   size_t ci,
                   uint8_t *rgb) {
    size_t n = h * w;
    double *tp = xq_calloc(n, sizeof(double)), *tn = xq_calloc(n, sizeof(double));
    bool pos = viz->polarity != XQ_POLARITY_NEGATIVE, neg = viz->polarity != XQ_POLARITY_POSITIVE;
    float lo = INFINITY, hi = -INFINITY;

    if (pos)
        side(viz, a, n, ca, true, h, w, tp);
    if (neg)
        side(viz, a, n, ca, false, h, w, tn);
    for (size_t i = 0; img && i < n * ci; i++) {
        lo = img[i] < lo ? img[i] : lo;
        hi = img[i] > hi ? img[i] : hi;
    }
    for (size_t p = 0; p < n; p++) {
        double c[3] = {0, 0, 0}, cp[3], cn[3], px[3] = {0, 0, 0}, out[3];

        if (pos) {
            colour(viz->color_map, true, tp[p], cp);
            for (int k = 0; k < 3; k++)
                c[k] += cp[k];
        }
        if (neg) {
            colour(viz->color_map, false, tn[p], cn);
            for (int k = 0; k < 3; k++)
                c[k] += cn[k];
        }
        for (int k = 0; img && k < 3; k++) /* the image, normalized to 0..255 */
            px[k] = hi > lo ? 255.0 * (double)(img[p * ci + (ci >= 3 ? (size_t)k : 0)] - lo) /
                                  (double)(hi - lo)
                            : 0;
        if (img && viz->overlay == XQ_OVERLAY_GRAYSCALE)
            px[0] = px[1] = px[2] = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
        for (int k = 0; k < 3; k++) {
            switch (img ? viz->overlay : XQ_OVERLAY_NONE) {
            case XQ_OVERLAY_ORIGINAL:
            case XQ_OVERLAY_GRAYSCALE:
                out[k] = 0.7 * px[k] + 0.5 * c[k];
                break;
            case XQ_OVERLAY_MASK_BLACK:
                out[k] = px[k] * fmax(tp[p], tn[p]);
                break;
            default:
                out[k] = c[k];
                break;
            }
            rgb[p * 3 + (size_t)k] = (uint8_t)lround(fmin(255, fmax(0, out[k])));
        }
    }
    xq_free(tp);
    xq_free(tn);
}

xq_err_t xq_viz_png(const xq_viz_t *viz,
                    const double *a,
                    size_t h,
                    size_t w,
                    size_t ca,
                    const float *img,
                    size_t ci,
                    xq_buf_t *out,
                    xq_error_t *err) {
    uint8_t *rgb = xq_malloc(h * w * 3 + 1);
    xq_err_t rc;

    xq_viz_render(viz, a, h, w, ca, img, ci, rgb);
    rc = xq_png_encode(rgb, h, w, out, err);
    xq_free(rgb);
    return rc;
}

xq_err_t xq_viz_png_b64(const xq_viz_t *viz,
                        const double *a,
                        size_t h,
                        size_t w,
                        size_t ca,
                        const float *img,
                        size_t ci,
                        xq_buf_t *out,
                        xq_error_t *err) {
    xq_buf_t png;
    xq_err_t rc;

    xq_buf_init(&png);
    if ((rc = xq_viz_png(viz, a, h, w, ca, img, ci, &png, err)) == XQ_OK)
        xq_base64_encode(png.data, png.len, out);
    xq_buf_fini(&png);
    return rc;
}

xq_err_t xq_viz_b64(const xq_viz_t *viz,
                    const double *a,
                    size_t h,
                    size_t w,
                    size_t ca,
                    const float *img,
                    size_t ci,
                    bool png,
                    xq_buf_t *out,
                    xq_error_t *err) {
    uint8_t *rgb = xq_malloc(h * w * 3 + 1);
    xq_buf_t pic;
    xq_err_t rc;

    xq_buf_init(&pic);
    xq_viz_render(viz, a, h, w, ca, img, ci, rgb);
    rc = png ? xq_png_encode(rgb, h, w, &pic, err) : xq_jpeg_encode(rgb, h, w, &pic, err);
    if (rc == XQ_OK)
        xq_base64_encode(pic.data, pic.len, out);
    xq_buf_fini(&pic);
    xq_free(rgb);
    return rc;
}
