/* picture.h -- pictures as bytes: PNG and JPEG decoding for image inputs, PNG and JPEG encoding. */
#ifndef XQ_PICTURE_H
#define XQ_PICTURE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"

/** Largest picture decoded, in pixels (sizes come from the network). */
#define XQ_PICTURE_MAX_PIXELS (8u << 20) /* 8 megapixels, as the layout allows */

/**
 * Decodes PNG or JPEG bytes (told apart by their signature) into floats in
 * [0, 1], [h][w][c] row-major with c = 1 (gray) or 3 (RGB; alpha dropped).
 *
 * @returns XQ_OK and a new array in @p *px (caller frees with xq_free()), or
 *          XQ_EDECODE naming what is wrong, XQ_ELIMIT over XQ_PICTURE_MAX_PIXELS.
 */
xq_err_t xq_picture_decode(
    const uint8_t *buf, size_t len, float **px, size_t *h, size_t *w, size_t *c, xq_error_t *err);

/** JPEG quality of xq_jpeg_encode() (libjpeg's scale, 1..100). */
#define XQ_JPEG_QUALITY 95

/** Appends the JPEG (baseline, 4:2:0, XQ_JPEG_QUALITY) of the [h][w][3] RGB pixels @p rgb. */
xq_err_t xq_jpeg_encode(const uint8_t *rgb, size_t h, size_t w, xq_buf_t *out, xq_error_t *err);

/** Appends the PNG of the [h][w][3] RGB pixels @p rgb to @p out. */
xq_err_t xq_png_encode(const uint8_t *rgb, size_t h, size_t w, xq_buf_t *out, xq_error_t *err);

#endif /* XQ_PICTURE_H */
