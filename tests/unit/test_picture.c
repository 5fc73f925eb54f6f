/* test_picture.c -- JPEG encoding for b64_jpeg visualizations: read back by libjpeg's decoder. */
#include <stdlib.h>

#include <check.h>

#include "base64.h"
#include "picture.h"
#include "suites.h"

START_TEST(test_picture_jpeg_round_trip) {
    enum {
        H = 16,
        W = 24
    };

    uint8_t rgb[H * W * 3];
    xq_buf_t jpg;
    xq_error_t err;
    float *px = NULL;
    size_t h, w, c;

    /* flat colour blocks: a JPEG at quality 95 keeps them within a few levels */
    for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++) {
            rgb[(y * W + x) * 3 + 0] = x < W / 2 ? 200 : 20;
            rgb[(y * W + x) * 3 + 1] = y < H / 2 ? 40 : 180;
            rgb[(y * W + x) * 3 + 2] = 90;
        }
    xq_buf_init(&jpg);
    ck_assert_int_eq(xq_jpeg_encode(rgb, H, W, &jpg, &err), XQ_OK);
    ck_assert(jpg.len > 3 && jpg.data[0] == 0xff && jpg.data[1] == 0xd8 && jpg.data[2] == 0xff);
    ck_assert_int_eq(xq_picture_decode(jpg.data, jpg.len, &px, &h, &w, &c, &err), XQ_OK);
    ck_assert_uint_eq(h, H);
    ck_assert_uint_eq(w, W);
    ck_assert_uint_eq(c, 3);
    for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++) {
            /* away from the block edges, where 4:2:0 chroma blurs */
            if ((x + 2 >= W / 2 && x <= W / 2 + 1) || (y + 2 >= H / 2 && y <= H / 2 + 1))
                continue;
            for (size_t k = 0; k < 3; k++)
                ck_assert_int_le(abs((int)(px[(y * W + x) * 3 + k] * 255.0f + 0.5f) -
                                     (int)rgb[(y * W + x) * 3 + k]),
                                 6);
        }
    xq_free(px);
    /* nothing to encode */
    jpg.len = 0;
    ck_assert_int_eq(xq_jpeg_encode(rgb, 0, W, &jpg, &err), XQ_EINVAL);
    xq_buf_fini(&jpg);
}

END_TEST

Suite *picture_suite(void) {
    Suite *s = suite_create("picture");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_picture_jpeg_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
