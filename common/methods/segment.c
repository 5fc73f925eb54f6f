/* segment.c -- Felzenszwalb segmentation, cubic resizing, and dilated region masks for XRAI. */
#include "methods/segment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "methods/blur.h"

const double xq_xrai_scales[XQ_XRAI_SCALE_CNT] = {50, 100, 150, 250, 500, 1200};

void xq_masks_init(xq_masks_t *m, size_t h, size_t w) {
    memset(m, 0, sizeof(*m));
    m->h = h;
    m->w = w;
    m->words = (h * w + 63) / 64;
}

void xq_masks_fini(xq_masks_t *m) {
    xq_free(m->bits);
    xq_free(m->row0);
    xq_free(m->row1);
    memset(m, 0, sizeof(*m));
}

static void grow(xq_masks_t *m, size_t more) {
    if (m->cnt + more <= m->cap)
        return;
    while (m->cap < m->cnt + more)
        m->cap = m->cap ? m->cap * 2 : 64;
    m->bits = xq_reallocarray(m->bits, m->cap, m->words * sizeof(uint64_t));
    m->row0 = xq_reallocarray(m->row0, m->cap, sizeof(uint32_t));
    m->row1 = xq_reallocarray(m->row1, m->cap, sizeof(uint32_t));
}

void xq_masks_add_labels(xq_masks_t *m, const int32_t *labels, size_t nlabels, int radius) {
    size_t h = m->h, w = m->w, first = m->cnt;
    int off[(2 * 32 + 1) * (2 * 32 + 1)][2], noff = 0;

    if (radius > 32)
        radius = 32;
    for (int dy = -radius; dy <= radius; dy++)
        for (int dx = -radius; dx <= radius; dx++)
            if (dy * dy + dx * dx <= radius * radius) {
                off[noff][0] = dy;
                off[noff++][1] = dx;
            }
    grow(m, nlabels);
    memset(m->bits + first * m->words, 0, nlabels * m->words * sizeof(uint64_t));
    for (size_t k = first; k < first + nlabels; k++) {
        m->row0[k] = UINT32_MAX;
        m->row1[k] = 0;
    }
    m->cnt += nlabels;
    /* pixel p is in the dilation of label l when a pixel of l lies within the disk around p */
    for (size_t y = 0; y < h; y++) {
        for (size_t x = 0; x < w; x++) {
            size_t p = y * w + x;

            for (int o = 0; o < noff; o++) {
                long yy = (long)y + off[o][0], xx = (long)x + off[o][1];
                size_t k;

                if (yy < 0 || xx < 0 || yy >= (long)h || xx >= (long)w)
                    continue;
                k = first + (size_t)labels[(size_t)yy * w + (size_t)xx];
                m->bits[k * m->words + p / 64] |= (uint64_t)1 << (p % 64);
                if (y < m->row0[k])
                    m->row0[k] = (uint32_t)y;
                if (y > m->row1[k])
                    m->row1[k] = (uint32_t)y;
            }
        }
    }
}

/* ==== Resizing ==== */

/* Keys' cubic convolution kernel (a = -0.5). */
static double cubic(double t) {
    t = fabs(t);
    if (t < 1)
        return (1.5 * t - 2.5) * t * t + 1;
    if (t < 2)
        return ((-0.5 * t + 2.5) * t - 4) * t + 2;
    return 0;
}

/*
 * Resamples @p n lines of @p in samples (stride @p istride between samples,
 * @p lstride between lines) to @p out samples; the kernel widens by the
 * shrink factor, which anti-aliases.
 */
static void resample(const float *src,
                     size_t in,
                     size_t istride,
                     float *dst,
                     size_t out,
                     size_t ostride,
                     size_t n,
                     size_t src_lstride,
                     size_t dst_lstride) {
    double s = (double)in / (double)out, support = 2 * (s > 1 ? s : 1), scale = s > 1 ? s : 1;

    for (size_t o = 0; o < out; o++) {
        double centre = ((double)o + 0.5) * s - 0.5, wsum = 0;
        long lo = (long)floor(centre - support) + 1, hi = (long)floor(centre + support);
        double wts[512];

        if (hi - lo + 1 > 512) /* shrinking over 128 times: the kernel's far tails go */
            hi = lo + 511;
        for (long i = lo; i <= hi; i++)
            wsum += (wts[i - lo] = cubic(((double)i - centre) / scale));
        for (size_t l = 0; l < n; l++) {
            double v = 0;

            for (long i = lo; i <= hi; i++) {
                long j = i < 0 ? 0 : i >= (long)in ? (long)in - 1 : i; /* edges repeat */

                v += wts[i - lo] * (double)src[l * src_lstride + (size_t)j * istride];
            }
            dst[l * dst_lstride + o * ostride] = (float)(v / wsum);
        }
    }
}

void xq_resize_image(
    const float *src, size_t h, size_t w, size_t c, float *dst, size_t oh, size_t ow) {
    float *tmp = xq_malloc(h * ow * c * sizeof(float));
    float lo = INFINITY, hi = -INFINITY;

    for (size_t i = 0; i < h * w * c; i++) {
        lo = src[i] < lo ? src[i] : lo;
        hi = src[i] > hi ? src[i] : hi;
    }
    /* along rows (x), one line per (y, channel); then along columns (y), one per (x, channel) */
    for (size_t y = 0; y < h; y++)
        resample(src + y * w * c, w, c, tmp + y * ow * c, ow, c, c, 1, 1);
    for (size_t x = 0; x < ow; x++)
        resample(tmp + x * c, h, ow * c, dst + x * c, oh, ow * c, c, 1, 1);
    for (size_t i = 0; i < oh * ow * c; i++) /* cubic overshoots: back into the input's range */
        dst[i] = dst[i] < lo ? lo : dst[i] > hi ? hi : dst[i];
    xq_free(tmp);
}

/* ==== Felzenszwalb ==== */

typedef struct edge {
    float w;
    uint32_t a, b;
} edge_t;

static int by_weight(const void *x, const void *y) {
    const edge_t *a = x, *b = y;

    return a->w < b->w ? -1 : a->w > b->w ? 1 : 0;
}

static uint32_t find(uint32_t *parent, uint32_t p) {
    while (parent[p] != p) {
        parent[p] = parent[parent[p]];
        p = parent[p];
    }
    return p;
}

/* Joins two roots; the smaller pixel index stays the root. */
static uint32_t join(uint32_t *parent, uint32_t *size, uint32_t a, uint32_t b) {
    if (b < a) {
        uint32_t t = a;

        a = b;
        b = t;
    }
    parent[b] = a;
    size[a] += size[b];
    return a;
}

void xq_felzenszwalb(const float *img,
                     size_t h,
                     size_t w,
                     size_t c,
                     const double *scales,
                     size_t nscales,
                     double sigma,
                     size_t min_size,
                     int32_t *labels,
                     size_t *nlabels) {
    size_t n = h * w, ne = 0;
    float *sm = xq_malloc(n * c * sizeof(float));
    edge_t *e = xq_malloc((4 * n + 1) * sizeof(*e));
    uint32_t *parent = xq_malloc(n * sizeof(uint32_t)), *size = xq_malloc(n * sizeof(uint32_t));
    float *inner = xq_malloc(n * sizeof(float));
    int32_t *lab_of = xq_malloc(n * sizeof(int32_t));
    static const int nb[4][2] = {{0, 1}, {1, 0}, {1, 1}, {-1, 1}}; /* right, down, and diagonals */

    xq_blur_image(img, sm, h, w, c, sigma);
    for (size_t y = 0; y < h; y++) {
        for (size_t x = 0; x < w; x++) {
            for (int k = 0; k < 4; k++) {
                long yy = (long)y + nb[k][0], xx = (long)x + nb[k][1];
                size_t p = y * w + x, q;
                double d = 0;

                if (yy < 0 || yy >= (long)h || xx >= (long)w)
                    continue;
                q = (size_t)yy * w + (size_t)xx;
                for (size_t ch = 0; ch < c; ch++) {
                    double t = (double)sm[p * c + ch] - (double)sm[q * c + ch];

                    d += t * t;
                }
                e[ne].w = (float)sqrt(d);
                e[ne].a = (uint32_t)p;
                e[ne++].b = (uint32_t)q;
            }
        }
    }
    qsort(e, ne, sizeof(*e), by_weight); /* one sort serves every scale */
    for (size_t s = 0; s < nscales; s++) {
        double k = scales[s] / 255.0;
        int32_t *lab = labels + s * n, next = 0;

        for (size_t p = 0; p < n; p++) {
            parent[p] = (uint32_t)p;
            size[p] = 1;
            inner[p] = 0;
        }
        for (size_t i = 0; i < ne; i++) {
            uint32_t a = find(parent, e[i].a), b = find(parent, e[i].b);

            if (a != b && (double)e[i].w <
                              fmin((double)inner[a] + k / size[a], (double)inner[b] + k / size[b]))
                inner[join(parent, size, a, b)] = e[i].w;
        }
        for (size_t i = 0; i < ne; i++) {
            uint32_t a = find(parent, e[i].a), b = find(parent, e[i].b);

            if (a != b && (size[a] < min_size || size[b] < min_size))
                join(parent, size, a, b);
        }
        for (size_t p = 0; p < n; p++)
            lab_of[p] = -1;
        for (size_t p = 0; p < n; p++) {
            uint32_t r = find(parent, (uint32_t)p);

            if (lab_of[r] < 0)
                lab_of[r] = next++;
            lab[p] = lab_of[r];
        }
        nlabels[s] = (size_t)next;
    }
    xq_free(sm);
    xq_free(e);
    xq_free(parent);
    xq_free(size);
    xq_free(inner);
    xq_free(lab_of);
}

void xq_xrai_masks(const float *img, size_t h, size_t w, size_t c, xq_masks_t *out) {
    const size_t S = XQ_XRAI_SIZE, n = h * w;
    float *norm = xq_malloc(n * c * sizeof(float)), *big = xq_malloc(S * S * c * sizeof(float));
    int32_t *labels = xq_malloc(XQ_XRAI_SCALE_CNT * S * S * sizeof(int32_t));
    int32_t *back = xq_malloc(n * sizeof(int32_t));
    size_t nlabels[XQ_XRAI_SCALE_CNT];
    float lo = INFINITY, hi = -INFINITY;

    for (size_t i = 0; i < n * c; i++) {
        lo = img[i] < lo ? img[i] : lo;
        hi = img[i] > hi ? img[i] : hi;
    }
    /* to [-1, 1]; a constant image (no range) is all zeros rather than NaN */
    for (size_t i = 0; i < n * c; i++)
        norm[i] = hi > lo ? (img[i] - lo) / (hi - lo) * 2 - 1 : 0;
    xq_resize_image(norm, h, w, c, big, S, S);
    xq_felzenszwalb(big, S, S, c, xq_xrai_scales, XQ_XRAI_SCALE_CNT, XQ_XRAI_SIGMA,
                    XQ_XRAI_MIN_SIZE, labels, nlabels);
    xq_masks_init(out, h, w);
    for (size_t s = 0; s < XQ_XRAI_SCALE_CNT; s++) {
        /* nearest label at each pixel centre; labels that vanish leave empty masks */
        for (size_t y = 0; y < h; y++) {
            size_t sy = (size_t)(((double)y + 0.5) * (double)S / (double)h);

            for (size_t x = 0; x < w; x++) {
                size_t sx = (size_t)(((double)x + 0.5) * (double)S / (double)w);

                back[y * w + x] =
                    labels[s * S * S + (sy < S ? sy : S - 1) * S + (sx < S ? sx : S - 1)];
            }
        }
        xq_masks_add_labels(out, back, nlabels[s], XQ_XRAI_DILATE);
    }
    xq_free(norm);
    xq_free(big);
    xq_free(labels);
    xq_free(back);
}
