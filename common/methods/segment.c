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

/*
 * As scikit-image's resize(order=3, mode="constant", anti_aliasing=True), which Google's open
 * XRAI calls: per axis, a Gaussian blur of sigma max(0, (in/out - 1) / 2) when shrinking (zero
 * padding, cut at int(4 sigma + 0.5)), then scipy's zoom with grid_mode: the line padded by 12
 * zeros, turned into cubic B-spline coefficients (mirror boundary on the padded line), sampled
 * at (o + 0.5) in/out - 0.5. Both steps are linear and act on one axis each, so the axes go one
 * after the other.
 */
#define RESIZE_PAD 12

/* scipy.ndimage's cubic prefilter: causal then anti-causal recursion, pole sqrt(3) - 2 */
static void spline_coefficients(double *c, size_t n) {
    const double z = -0.26794919243112270, gain = (1 - z) * (1 - 1 / z);
    double zn, zi = z;

    if (n < 2)
        return;
    for (size_t i = 0; i < n; i++)
        c[i] *= gain;
    zn = pow(z, (double)(n - 1));
    c[0] += zn * c[n - 1];
    for (size_t i = 1; i + 1 < n; i++) {
        c[0] += zi * (c[i] + zn * c[n - 1 - i]);
        zi *= z;
    }
    c[0] /= 1 - zn * zn;
    for (size_t i = 1; i < n; i++)
        c[i] += z * c[i - 1];
    c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1);
    for (size_t i = n - 1; i-- > 0;)
        c[i] = z * (c[i + 1] - c[i]);
}

/* The normalized Gaussian of scipy.ndimage.gaussian_filter1d (truncate 4); returns the radius. */
static size_t gauss_kernel(double sigma, double **k) {
    size_t r = (size_t)(4 * sigma + 0.5);
    double sum = 0;

    *k = xq_reallocarray(*k, 2 * r + 1, sizeof(double));
    for (size_t i = 0; i <= 2 * r; i++) {
        double x = (double)i - (double)r;

        sum += ((*k)[i] = exp(-0.5 / (sigma * sigma) * x * x));
    }
    for (size_t i = 0; i <= 2 * r; i++)
        (*k)[i] /= sum;
    return r;
}

/* Scratch of one axis's resampling. */
typedef struct resampler {
    size_t in, out;
    double *kern; /* Gaussian, 2 radius + 1 (none when radius == 0 and sigma == 0) */
    size_t radius;
    bool blur;
    double *line, *coef; /* in, and in + 2 RESIZE_PAD */
} resampler_t;

static void resampler_init(resampler_t *r, size_t in, size_t out) {
    double sigma = ((double)in / (double)out - 1) / 2;

    memset(r, 0, sizeof(*r));
    r->in = in;
    r->out = out;
    r->blur = sigma > 1e-15;
    if (r->blur)
        r->radius = gauss_kernel(sigma, &r->kern);
    r->line = xq_malloc(in * sizeof(double));
    r->coef = xq_malloc((in + 2 * RESIZE_PAD) * sizeof(double));
}

static void resampler_fini(resampler_t *r) {
    xq_free(r->kern);
    xq_free(r->line);
    xq_free(r->coef);
}

/* Resamples r->line (r->in samples) to @p dst (r->out samples, stride @p ostride). */
static void resample_line(resampler_t *r, double *dst, size_t ostride) {
    const size_t n = r->in, N = n + 2 * RESIZE_PAD;
    double *c = r->coef, zoom = (double)n / (double)r->out;

    memset(c, 0, N * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double v = r->line[i];

        if (r->blur) { /* zeros outside the line */
            size_t lo = i > r->radius ? i - r->radius : 0, hi = i + r->radius;

            v = 0;
            for (size_t j = lo; j <= hi && j < n; j++)
                v += r->kern[j + r->radius - i] * r->line[j];
        }
        c[RESIZE_PAD + i] = v;
    }
    spline_coefficients(c, N);
    for (size_t o = 0; o < r->out; o++) {
        double cc = ((double)o + 0.5) * zoom - 0.5 + RESIZE_PAD, f = floor(cc), t = cc - f;
        double w[4] = {(1 - t) * (1 - t) * (1 - t) / 6, (4 - 6 * t * t + 3 * t * t * t) / 6,
                       (1 + 3 * t + 3 * t * t - 3 * t * t * t) / 6, t * t * t / 6};
        long i0 = (long)f - 1;
        double v = 0;

        for (long k = 0; k < 4; k++) {
            long j = i0 + k;

            if (j >= 0 && j < (long)N) /* always, for zoom factors a picture has */
                v += w[k] * c[j];
        }
        dst[o * ostride] = v;
    }
}

void xq_resize_image(
    const float *src, size_t h, size_t w, size_t c, float *dst, size_t oh, size_t ow) {
    double *tmp = xq_malloc(h * ow * c * sizeof(double)), *col = xq_malloc(oh * sizeof(double));
    float lo = INFINITY, hi = -INFINITY;
    resampler_t rx, ry;

    for (size_t i = 0; i < h * w * c; i++) {
        lo = src[i] < lo ? src[i] : lo;
        hi = src[i] > hi ? src[i] : hi;
    }
    resampler_init(&rx, w, ow);
    resampler_init(&ry, h, oh);
    /* along rows (x), one line per (y, channel); then along columns (y), one per (x, channel) */
    for (size_t y = 0; y < h; y++) {
        for (size_t k = 0; k < c; k++) {
            for (size_t x = 0; x < w; x++)
                rx.line[x] = (double)src[(y * w + x) * c + k];
            resample_line(&rx, tmp + y * ow * c + k, c);
        }
    }
    for (size_t x = 0; x < ow; x++) {
        for (size_t k = 0; k < c; k++) {
            for (size_t y = 0; y < h; y++)
                ry.line[y] = tmp[(y * ow + x) * c + k];
            resample_line(&ry, col, 1);
            for (size_t y = 0; y < oh; y++) { /* cubic overshoots: back into the input's range */
                double v = col[y];

                dst[(y * ow + x) * c + k] = v < (double)lo ? lo : v > (double)hi ? hi : (float)v;
            }
        }
    }
    resampler_fini(&rx);
    resampler_fini(&ry);
    xq_free(tmp);
    xq_free(col);
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
