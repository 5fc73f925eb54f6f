/* test_xrai.c -- XRAI's invariants (docs/design.md §4.1 T4), segmentation of known regions,
 * pictures (T5 thresholds, T6 colour tables), and PNG/base64 round trips. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base64.h"
#include "methods/segment.h"
#include "methods/xrai.h"
#include "picture.h"
#include "resize_ref.h"
#include "rng.h"
#include "suites.h"
#include "viz.h"

#define H 40
#define W 48

/* Random attributions and masks of random blocks (some overlapping), as injected segments. */
static void random_case(uint64_t seed, double *A, xq_masks_t *m) {
    int32_t lab[H * W];
    xq_rng_t r;

    xq_rng_init(&r, seed, 0);
    for (size_t p = 0; p < H * W; p++)
        A[p] = xq_rng_normal(&r) + (p % W < 10 ? 2 : 0); /* a denser strip on the left */
    xq_masks_init(m, H, W);
    for (int s = 0; s < 3; s++) {
        size_t bh = 4 + 4 * (size_t)s, bw = 5 + 3 * (size_t)s, nx = (W + bw - 1) / bw;

        for (size_t p = 0; p < H * W; p++)
            lab[p] = (int32_t)((p / W) / bh * nx + (p % W) / bw);
        xq_masks_add_labels(m, lab, ((H + bh - 1) / bh) * nx, s); /* dilated by 0, 1, 2 */
    }
}

/* T4: sums kept, region values are the region means, ranks 1..N by value. */
START_TEST(test_xrai_invariants) {
    for (int algo = 0; algo < 2; algo++) {
        for (uint64_t seed = 1; seed <= 5; seed++) {
            double A[H * W], out[H * W], sa = 0, so = 0;
            int32_t rank[H * W];
            xq_masks_t m;
            size_t n;

            random_case(seed, A, &m);
            n = xq_xrai_select(A, &m, (xq_xrai_algo_t)algo, XQ_XRAI_MIN_PIXEL_DIFF, out, rank);
            ck_assert_uint_ge(n, 2);
            for (size_t p = 0; p < H * W; p++) {
                sa += A[p];
                so += out[p];
            }
            ck_assert_double_eq_tol(so, sa, 1e-9 * (1 + fabs(sa)));
            for (size_t r = 1; r <= n; r++) {
                double sum = 0, val = NAN;
                size_t cnt = 0;

                for (size_t p = 0; p < H * W; p++) {
                    if (rank[p] != (int32_t)r)
                        continue;
                    if (cnt == 0)
                        val = out[p];
                    ck_assert_double_eq(out[p], val); /* one value a region */
                    sum += A[p];
                    cnt++;
                }
                ck_assert_uint_ge(cnt, 1); /* ranks are contiguous */
                ck_assert_double_eq_tol(val, sum / (double)cnt, 1e-12);
            }
            xq_masks_fini(&m);
        }
    }
}

END_TEST

/* Ranks follow density: rank r's value is at least rank r+1's (the uncovered rest aside). */
START_TEST(test_xrai_rank_order) {
    double A[H * W], out[H * W];
    int32_t rank[H * W];
    xq_masks_t m;
    size_t n;

    random_case(9, A, &m);
    n = xq_xrai_select(A, &m, XQ_XRAI_FULL, XQ_XRAI_MIN_PIXEL_DIFF, out, rank);
    for (size_t r = 1; r + 1 < n; r++) {
        double vr = NAN, vn = NAN;

        for (size_t p = 0; p < H * W; p++) {
            if (rank[p] == (int32_t)r)
                vr = out[p];
            if (rank[p] == (int32_t)r + 1)
                vn = out[p];
        }
        ck_assert_msg(vr >= vn, "rank %zu (%g) below rank %zu (%g)", r, vr, r + 1, vn);
    }
    xq_masks_fini(&m);
}

END_TEST

/* One mask over everything: every pixel gets mean(A); a dense mask of 30 pixels is never used. */
START_TEST(test_xrai_single_mask_and_min_diff) {
    double A[H * W], out[H * W], mean = 0;
    int32_t lab[H * W], rank[H * W];
    xq_masks_t m;

    for (size_t p = 0; p < H * W; p++) {
        A[p] = (double)(p % 7);
        mean += A[p] / (H * W);
        lab[p] = 0;
    }
    xq_masks_init(&m, H, W);
    xq_masks_add_labels(&m, lab, 1, 0);
    ck_assert_uint_eq(xq_xrai_select(A, &m, XQ_XRAI_FULL, 50, out, rank), 1);
    for (size_t p = 0; p < H * W; p++)
        ck_assert_double_eq_tol(out[p], mean, 1e-12);
    xq_masks_fini(&m);
    /* a tiny, very dense mask first, then the whole image: the tiny one adds < 50 pixels */
    for (size_t p = 0; p < H * W; p++) {
        lab[p] = p < 30 ? 0 : 1;
        A[p] = p < 30 ? 100 : 0;
    }
    xq_masks_init(&m, H, W);
    xq_masks_add_labels(&m, lab, 2, 0);
    for (size_t p = 0; p < H * W; p++)
        lab[p] = 0;
    xq_masks_add_labels(&m, lab, 1, 0);
    for (int algo = 0; algo < 2; algo++) {
        xq_xrai_select(A, &m, (xq_xrai_algo_t)algo, 50, out, rank);
        /* had the 30-pixel mask been taken, its pixels would hold 100 */
        ck_assert_double_lt(out[0], 100);
        ck_assert_double_eq_tol(out[0], 3000.0 / (H * W), 1e-9);
    }
    xq_masks_fini(&m);
}

END_TEST

/* Three flat rectangles: at every scale each is one segment, apart from their borders. */
START_TEST(test_felzenszwalb_known_regions) {
    enum {
        S = 96
    };

    static float img[S * S * 3];
    int32_t labels[XQ_XRAI_SCALE_CNT * S * S];
    size_t nlabels[XQ_XRAI_SCALE_CNT];
    xq_masks_t m;
    size_t total = 0, k;

    for (size_t y = 0; y < S; y++) {
        for (size_t x = 0; x < S; x++) {
            float v = x < 40 ? -0.8f : y < 50 ? 0.1f : 0.9f; /* left, top right, bottom right */

            for (size_t c = 0; c < 3; c++)
                img[(y * S + x) * 3 + c] = c == 1 ? -v : v;
        }
    }
    xq_felzenszwalb(img, S, S, 3, xq_xrai_scales, XQ_XRAI_SCALE_CNT, 0.8, 150, labels, nlabels);
    for (size_t s = 0; s < XQ_XRAI_SCALE_CNT; s++) {
        const int32_t *l = labels + s * S * S;
        int32_t id[3] = {l[0], l[S - 1], l[(S - 1) * S + S - 1]};

        /* the three regions, and at most a strip or two along their blurred borders */
        ck_assert_uint_ge(nlabels[s], 3);
        ck_assert_uint_le(nlabels[s], 5);
        ck_assert_int_eq(id[0], 0); /* numbered by first pixel in raster order */
        ck_assert(id[0] != id[1] && id[1] != id[2] && id[0] != id[2]);
        for (size_t y = 0; y < S; y++) {
            for (size_t x = 0; x < S; x++) {
                int region = x < 40 ? 0 : y < 50 ? 1 : 2;

                if ((x > 34 && x < 46) || (x >= 40 && y > 44 && y < 56))
                    continue; /* the blurred borders may go either way */
                ck_assert_int_eq(l[y * S + x], id[region]);
            }
        }
    }
    /* XRAI's masks of the same picture (segmented at 224 x 224): at least the three regions at
     * each scale, each dilated past its region */
    xq_xrai_masks(img, S, S, 3, &m);
    for (size_t s = 0; s < XQ_XRAI_SCALE_CNT; s++)
        total += 3;
    ck_assert_uint_ge(m.cnt, total);
    /* the first scale's mask of the left region (zero padding may put a thin border segment
     * first in raster order) ... */
    for (k = 0; k < m.cnt && !xq_mask_has(&m, k, 10 * S + 20); k++)
        ;
    ck_assert_uint_lt(k, m.cnt);
    ck_assert(xq_mask_has(&m, k, 10 * S + 38)); /* ... dilated over the strip at its border */
    ck_assert(!xq_mask_has(&m, k, 10 * S + 60));
    xq_masks_fini(&m);
}

END_TEST

/* T5: cumulative-mass thresholds, and the m == e guard. */
START_TEST(test_viz_thresholds) {
    const double g[10] = {10, 5, 3, 1, 1, 0, 0, 0, 0, 0};
    const double want100[10] = {1, .5, .3, .1, .1, 0, 0, 0, 0, 0};
    double t[10];

    ck_assert_double_eq(xq_viz_threshold(g, 10, 100 - 99.9), 10);
    ck_assert_double_eq(xq_viz_threshold(g, 10, 100 - 35), 5);
    xq_viz_scale(g, 10, 99.9, 35, t);
    ck_assert_double_eq(t[0], 1);
    for (int i = 1; i < 10; i++)
        ck_assert_double_eq(t[i], 0);
    xq_viz_scale(g, 10, 100, 0, t);
    for (int i = 0; i < 10; i++)
        ck_assert_double_eq_tol(t[i], want100[i], 1e-12);
    xq_viz_scale(g, 10, 99.9, 62, t); /* m = e = 10 */
    ck_assert_double_eq(t[0], 1);
    for (int i = 1; i < 10; i++)
        ck_assert(t[i] == 0 && !isnan(t[i]));
}

END_TEST

/* T6: the colour tables' spot values. */
START_TEST(test_viz_tables) {
    double c[3];

    xq_viz_table(XQ_COLOR_MAP_RED, 1, c);
    ck_assert_double_eq_tol(c[0], 64.248046875, 1e-9);
    xq_viz_table(XQ_COLOR_MAP_RED, 254, c);
    ck_assert_double_eq_tol(c[0], 254.00390625, 1e-9);
    xq_viz_table(XQ_COLOR_MAP_GREEN, 2, c);
    ck_assert_double_eq_tol(c[1], 77.90551181, 1e-6);
    xq_viz_table(XQ_COLOR_MAP_GREEN, 253, c);
    ck_assert_double_eq_tol(c[1], 254.297244, 1e-6);
    xq_viz_table(XQ_COLOR_MAP_PINK_WHITE_GREEN, 127, c);
    ck_assert(c[0] == 255 && c[1] == 254 && c[2] == 255);
    xq_viz_table(XQ_COLOR_MAP_PINK_WHITE_GREEN, 128, c);
    ck_assert(c[0] == 255 && c[1] == 255 && c[2] == 255);
    xq_viz_table(XQ_COLOR_MAP_VIRIDIS, 0, c);
    ck_assert(c[0] == 68 && c[1] == 1 && c[2] == 84);
    xq_viz_table(XQ_COLOR_MAP_VIRIDIS, 255, c);
    ck_assert(c[0] == 253 && c[1] == 231 && c[2] == 36);
}

END_TEST

/* A PNG made here decodes to the same pixels; base64 round-trips; junk is refused. */
START_TEST(test_picture_round_trip) {
    uint8_t rgb[5 * 7 * 3];
    xq_buf_t png, text, back;
    float *px = NULL;
    size_t h, w, c;
    xq_error_t err;

    for (size_t i = 0; i < sizeof(rgb); i++)
        rgb[i] = (uint8_t)(i * 7);
    xq_buf_init(&png);
    xq_buf_init(&text);
    xq_buf_init(&back);
    ck_assert_int_eq(xq_png_encode(rgb, 5, 7, &png, &err), XQ_OK);
    xq_base64_encode(png.data, png.len, &text);
    ck_assert(xq_base64_decode((const char *)text.data, text.len, &back));
    ck_assert_uint_eq(back.len, png.len);
    ck_assert_mem_eq(back.data, png.data, png.len);
    ck_assert_int_eq(xq_picture_decode(back.data, back.len, &px, &h, &w, &c, &err), XQ_OK);
    ck_assert(h == 5 && w == 7 && c == 3);
    for (size_t i = 0; i < sizeof(rgb); i++)
        ck_assert_float_eq_tol(px[i], rgb[i] / 255.0f, 1e-7f);
    xq_free(px);
    ck_assert_int_eq(xq_picture_decode(png.data, png.len / 2, &px, &h, &w, &c, &err), XQ_EDECODE);
    ck_assert_int_eq(xq_picture_decode((const uint8_t *)"GIF89a", 6, &px, &h, &w, &c, &err),
                     XQ_EDECODE);
    ck_assert(!xq_base64_decode("ab$d", 4, &back));
    xq_buf_fini(&png);
    xq_buf_fini(&text);
    xq_buf_fini(&back);
}

END_TEST

/* A JPEG from elsewhere (Pillow, quality 80) decodes to its size and, within JPEG's loss, colour.
 */
START_TEST(test_picture_jpeg) {
    FILE *f = fopen("tests/data/xrai/red.jpg", "rb");
    uint8_t buf[4096];
    size_t len, h, w, c;
    float *px = NULL;
    xq_error_t err;

    ck_assert_ptr_nonnull(f);
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    ck_assert_int_eq(xq_picture_decode(buf, len, &px, &h, &w, &c, &err), XQ_OK);
    ck_assert(h == 6 && w == 8 && c == 3);
    for (size_t p = 0; p < h * w; p++) { /* (200, 30, 40) */
        ck_assert_float_eq_tol(px[p * 3], 200 / 255.0f, 0.03f);
        ck_assert_float_eq_tol(px[p * 3 + 1], 30 / 255.0f, 0.03f);
        ck_assert_float_eq_tol(px[p * 3 + 2], 40 / 255.0f, 0.03f);
    }
    xq_free(px);
    ck_assert_int_eq(xq_picture_decode(buf, len / 3, &px, &h, &w, &c, &err), XQ_EDECODE);
    ck_assert_ptr_null(px);
}

END_TEST

/* A 10x10 square of positive attribution: PIXELS shows it, OUTLINES its border, NEGATIVE
 * nothing, MASK_BLACK the image where it is. */
START_TEST(test_viz_render) {
    enum {
        N = 30
    };

    double a[N * N];
    float img[N * N];
    uint8_t rgb[N * N * 3];
    xq_viz_t viz = {.present = true,
                    .type = XQ_VIZ_TYPE_PIXELS,
                    .polarity = XQ_POLARITY_POSITIVE,
                    .color_map = XQ_COLOR_MAP_GREEN,
                    .clip_upper = 100,
                    .clip_lower = 0,
                    .overlay = XQ_OVERLAY_NONE};
    double g128[3];

    for (size_t p = 0; p < N * N; p++) {
        size_t y = p / N, x = p % N;

        a[p] = y >= 10 && y < 20 && x >= 10 && x < 20;
        img[p] = (float)(x % 2);
    }
    xq_viz_render(&viz, a, N, N, 1, NULL, 0, rgb);
    ck_assert(rgb[(15 * N + 15) * 3 + 1] == 255 && rgb[(15 * N + 15) * 3] == 0);
    ck_assert(rgb[(5 * N + 5) * 3 + 1] == 0);
    viz.type = XQ_VIZ_TYPE_OUTLINES;
    xq_viz_render(&viz, a, N, N, 1, NULL, 0, rgb);
    xq_viz_table(XQ_COLOR_MAP_GREEN, 128, g128);
    ck_assert_int_eq(rgb[(10 * N + 15) * 3 + 1], 255);                  /* the border */
    ck_assert_int_eq(rgb[(15 * N + 15) * 3 + 1], (int)lround(g128[1])); /* inside, at half */
    ck_assert_int_eq(rgb[(5 * N + 5) * 3 + 1], 0);
    viz.polarity = XQ_POLARITY_NEGATIVE;
    xq_viz_render(&viz, a, N, N, 1, NULL, 0, rgb);
    for (size_t i = 0; i < sizeof(rgb); i++)
        ck_assert_int_eq(rgb[i], 0);
    viz.type = XQ_VIZ_TYPE_PIXELS;
    viz.polarity = XQ_POLARITY_POSITIVE;
    viz.overlay = XQ_OVERLAY_MASK_BLACK;
    xq_viz_render(&viz, a, N, N, 1, img, 1, rgb);
    ck_assert_int_eq(rgb[(15 * N + 15) * 3], 255); /* x odd: white image, shown */
    ck_assert_int_eq(rgb[(15 * N + 14) * 3], 0);   /* x even: black image */
    ck_assert_int_eq(rgb[(5 * N + 5) * 3], 0);     /* outside: masked */
}

END_TEST

/* The formula of tests/models/make_resize_ref.py, rounded to float32 as there. */
static float ref_pixel(size_t y, size_t x, size_t c) {
    double v = sin(0.37 * (double)y + 0.11 * (double)x * (double)(c + 1)) *
               cos(0.05 * (double)x - 0.03 * (double)y);

    if ((y / 5 + x / 7 + c) % 3 == 0)
        v += 0.8;
    return (float)v;
}

/* xq_resize_image = scikit-image's resize(order=3, mode="constant", anti_aliasing=True), 1e-4. */
START_TEST(test_resize_matches_skimage) {
    for (size_t i = 0; i < sizeof(resize_ref_cases) / sizeof(resize_ref_cases[0]); i++) {
        const resize_ref_case_t *rc = &resize_ref_cases[i];
        float *src = malloc(rc->h * rc->w * rc->c * sizeof(float));
        float *dst = malloc(rc->oh * rc->ow * rc->c * sizeof(float));
        double worst = 0;

        for (size_t y = 0; y < rc->h; y++)
            for (size_t x = 0; x < rc->w; x++)
                for (size_t k = 0; k < rc->c; k++)
                    src[(y * rc->w + x) * rc->c + k] = ref_pixel(y, x, k);
        xq_resize_image(src, rc->h, rc->w, rc->c, dst, rc->oh, rc->ow);
        for (size_t p = 0; p < rc->cnt; p++) {
            const resize_ref_pt_t *pt = &rc->pts[p];
            double got =
                (double)dst[((size_t)pt->y * rc->ow + (size_t)pt->x) * rc->c + (size_t)pt->c];

            if (fabs(got - pt->v) > worst)
                worst = fabs(got - pt->v);
        }
        ck_assert_msg(worst <= 1e-4, "case %zu (%zux%zux%zu -> %zux%zu): worst difference %g", i,
                      rc->h, rc->w, rc->c, rc->oh, rc->ow, worst);
        free(src);
        free(dst);
    }
}

END_TEST

static bool read_exact(FILE *f, void *dst, size_t bytes) {
    return fread(dst, 1, bytes, f) == bytes;
}

/*
 * XRAI's regions equal Google's open implementation's (saliency 0.2.1 on scikit-image 0.24,
 * tests/models/make_xrai_ref.py) on the test pictures, given the same attribution: the
 * resize, segmentation, masks and both selections together.
 */
START_TEST(test_xrai_matches_saliency) {
    FILE *f = fopen("tests/data/xrai/saliency_ref.bin", "rb");
    int32_t cnt, dims[3];

    ck_assert_ptr_nonnull(f);
    ck_assert(read_exact(f, &cnt, sizeof(cnt)) && cnt > 0 && cnt < 100);
    for (int32_t k = 0; k < cnt; k++) {
        size_t h, w, c, n;
        float *img;
        double *A, *ref, *px, *out, amax = 0;
        xq_masks_t m;

        ck_assert(read_exact(f, dims, sizeof(dims)));
        ck_assert(dims[0] > 0 && dims[0] <= 1024 && dims[1] > 0 && dims[1] <= 1024 && dims[2] > 0 &&
                  dims[2] <= 4);
        h = (size_t)dims[0], w = (size_t)dims[1], c = (size_t)dims[2], n = h * w;
        img = malloc(n * c * sizeof(float));
        A = malloc(n * c * sizeof(double));
        ref = malloc(2 * n * sizeof(double));
        px = malloc(n * sizeof(double));
        out = malloc(n * sizeof(double));
        ck_assert(read_exact(f, img, n * c * sizeof(float)) &&
                  read_exact(f, A, n * c * sizeof(double)) &&
                  read_exact(f, ref, 2 * n * sizeof(double)));
        for (size_t p = 0; p < n; p++) { /* the max over channels, as both aggregate */
            px[p] = A[p * c];
            for (size_t ch = 1; ch < c; ch++)
                px[p] = A[p * c + ch] > px[p] ? A[p * c + ch] : px[p];
            amax = fabs(px[p]) > amax ? fabs(px[p]) : amax;
        }
        xq_xrai_masks(img, h, w, c, &m);
        for (int fast = 0; fast < 2; fast++) {
            xq_xrai_select(px, &m, fast ? XQ_XRAI_FAST : XQ_XRAI_FULL, XQ_XRAI_MIN_PIXEL_DIFF, out,
                           NULL);
            for (size_t p = 0; p < n; p++)
                ck_assert_msg(fabs(out[p] - ref[fast * n + p]) <= 1e-12 * amax,
                              "picture %d (%s), pixel %zu: %g, saliency %g", k,
                              fast ? "fast" : "full", p, out[p], ref[fast * n + p]);
        }
        xq_masks_fini(&m);
        free(img);
        free(A);
        free(ref);
        free(px);
        free(out);
    }
    fclose(f);
}

END_TEST

Suite *xrai_suite(void) {
    Suite *s = suite_create("xrai");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_xrai_invariants);
    tcase_add_test(tc, test_xrai_rank_order);
    tcase_add_test(tc, test_xrai_single_mask_and_min_diff);
    tcase_add_test(tc, test_felzenszwalb_known_regions);
    tcase_add_test(tc, test_viz_thresholds);
    tcase_add_test(tc, test_viz_tables);
    tcase_add_test(tc, test_picture_round_trip);
    tcase_add_test(tc, test_picture_jpeg);
    tcase_add_test(tc, test_viz_render);
    tcase_add_test(tc, test_resize_matches_skimage);
    tcase_add_test(tc, test_xrai_matches_saliency);
    suite_add_tcase(s, tc);
    return s;
}
