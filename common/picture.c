/* picture.c -- libpng's simplified API both ways, libjpeg for reading, and base64. */
#include "picture.h"

#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#include <jpeglib.h>
#include <png.h>

/* clang-format on */

/* ==== PNG ==== */

static xq_err_t png_decode(
    const uint8_t *buf, size_t len, float **px, size_t *h, size_t *w, size_t *c, xq_error_t *err) {
    png_image im;
    uint8_t *raw = NULL;
    size_t n;

    memset(&im, 0, sizeof(im));
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, buf, len))
        return xq_error_set(err, XQ_EDECODE, "b64", "not a readable PNG: %s", im.message);
    if ((size_t)im.width * im.height > XQ_PICTURE_MAX_PIXELS) {
        png_image_free(&im);
        return xq_error_set(err, XQ_ELIMIT, "b64", "a %ux%u picture is over the limit of %u pixels",
                            im.width, im.height, XQ_PICTURE_MAX_PIXELS);
    }
    *c = im.format & PNG_FORMAT_FLAG_COLOR ? 3 : 1;
    im.format = *c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    n = (size_t)im.width * im.height * *c;
    raw = xq_malloc(n ? n : 1);
    if (!png_image_finish_read(&im, NULL, raw, 0, NULL)) {
        xq_free(raw);
        return xq_error_set(err, XQ_EDECODE, "b64", "a damaged PNG: %s", im.message);
    }
    *h = im.height;
    *w = im.width;
    *px = xq_malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        (*px)[i] = (float)raw[i] / 255.0f;
    xq_free(raw);
    return XQ_OK;
}

xq_err_t xq_png_encode(const uint8_t *rgb, size_t h, size_t w, xq_buf_t *out, xq_error_t *err) {
    png_image im;
    png_alloc_size_t size = 0;

    memset(&im, 0, sizeof(im));
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)w;
    im.height = (png_uint_32)h;
    im.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_memory(&im, NULL, &size, 0, rgb, 0, NULL))
        return xq_error_set(err, XQ_EINVAL, "png", "cannot encode: %s", im.message);
    xq_buf_reserve(out, size);
    if (!png_image_write_to_memory(&im, out->data + out->len, &size, 0, rgb, 0, NULL))
        return xq_error_set(err, XQ_EINVAL, "png", "cannot encode: %s", im.message);
    out->len += size;
    return XQ_OK;
}

/* ==== JPEG ==== */

typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr_t;

static void jpeg_fail(j_common_ptr cinfo) {
    jerr_t *e = (jerr_t *)cinfo->err;

    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level) {
    (void)cinfo;
    (void)level;
}

static xq_err_t jpeg_decode(
    const uint8_t *buf, size_t len, float **px, size_t *h, size_t *w, size_t *c, xq_error_t *err) {
    struct jpeg_decompress_struct ci;
    jerr_t je;
    uint8_t *volatile row = NULL;
    float *volatile dst = NULL;

    ci.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = jpeg_fail;
    je.mgr.emit_message = jpeg_quiet;
    if (setjmp(je.jump)) {
        jpeg_destroy_decompress(&ci);
        xq_free(row);
        xq_free(dst);
        return xq_error_set(err, XQ_EDECODE, "b64", "not a readable JPEG: %s", je.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = ci.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    if ((size_t)ci.image_width * ci.image_height > XQ_PICTURE_MAX_PIXELS) {
        jpeg_destroy_decompress(&ci);
        return xq_error_set(err, XQ_ELIMIT, "b64", "a %ux%u picture is over the limit of %u pixels",
                            ci.image_width, ci.image_height, XQ_PICTURE_MAX_PIXELS);
    }
    jpeg_start_decompress(&ci);
    *h = ci.output_height;
    *w = ci.output_width;
    *c = (size_t)ci.output_components;
    row = xq_malloc(*w * *c);
    dst = xq_malloc(*h * *w * *c * sizeof(float) + 1);
    while (ci.output_scanline < ci.output_height) {
        size_t y = ci.output_scanline;
        JSAMPROW r = row;

        jpeg_read_scanlines(&ci, &r, 1);
        for (size_t i = 0; i < *w * *c; i++)
            dst[y * *w * *c + i] = (float)row[i] / 255.0f;
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    xq_free(row);
    *px = dst;
    return XQ_OK;
}

xq_err_t xq_jpeg_encode(const uint8_t *rgb, size_t h, size_t w, xq_buf_t *out, xq_error_t *err) {
    struct jpeg_compress_struct ci;
    jerr_t je;

    struct {
        unsigned char *mem; /* libjpeg's buffer (malloc), in memory as its address is given */
        unsigned long size;
    } d = {NULL, 0};

    if (!h || !w || h > 65500 || w > 65500)
        return xq_error_set(err, XQ_EINVAL, "jpeg", "cannot encode a %zux%zu picture", h, w);
    ci.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = jpeg_fail;
    je.mgr.emit_message = jpeg_quiet;
    if (setjmp(je.jump)) {
        jpeg_destroy_compress(&ci);
        free(d.mem); /* libjpeg's jpeg_mem_dest allocates with malloc */
        return xq_error_set(err, XQ_EINVAL, "jpeg", "cannot encode: %s", je.msg);
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &d.mem, &d.size);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, XQ_JPEG_QUALITY, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW r = (JSAMPROW)(uintptr_t)(rgb + (size_t)ci.next_scanline * w * 3);

        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    xq_buf_append(out, d.mem, d.size);
    free(d.mem);
    return XQ_OK;
}

xq_err_t xq_picture_decode(
    const uint8_t *buf, size_t len, float **px, size_t *h, size_t *w, size_t *c, xq_error_t *err) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    *px = NULL;
    if (len >= 8 && memcmp(buf, png_sig, 8) == 0)
        return png_decode(buf, len, px, h, w, c, err);
    if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
        return jpeg_decode(buf, len, px, h, w, c, err);
    return xq_error_set(err, XQ_EDECODE, "b64", "neither PNG nor JPEG bytes");
}
