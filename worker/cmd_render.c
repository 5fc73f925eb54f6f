/* cmd_render.c -- `explainq render`: the picture of an image attribution, from a result line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cli.h"
#include "json.h"
#include "mem.h"
#include "mp.h"
#include "picture.h"
#include "viz.h"

static const char render_usage[] =
    "usage: explainq render --in RESULTS.jsonl --out FILE.png [--line N] [--input NAME]\n"
    "                       [--attribution K]\n"
    "\n"
    "Writes the picture of an image attribution to a PNG file. RESULTS holds lines\n"
    "as `explainq explain` and `collect` write them; --line picks one (default 1),\n"
    "--attribution the K-th attribution of it (default 1) and --input the feature\n"
    "(default: the first that is a picture or an image array). A {\"b64_png\": ...}\n"
    "value (the spec's visualization) is written as it is; a raw [H][W] or\n"
    "[H][W][C] array is drawn with the defaults (PIXELS, positive, viridis for\n"
    "one value a pixel as XRAI gives, pink/green otherwise, clip 99.9/62).\n";

/* Values of a nested [h][w] or [h][w][c] array of numbers; false if it is not one. */
static bool image_array(const msgpack_object *o, double **out, size_t *h, size_t *w, size_t *c) {
    size_t n = 0;

    if (o->type != MSGPACK_OBJECT_ARRAY || !o->via.array.size ||
        o->via.array.ptr[0].type != MSGPACK_OBJECT_ARRAY || !o->via.array.ptr[0].via.array.size)
        return false;
    *h = o->via.array.size;
    *w = o->via.array.ptr[0].via.array.size;
    *c = o->via.array.ptr[0].via.array.ptr[0].type == MSGPACK_OBJECT_ARRAY
             ? o->via.array.ptr[0].via.array.ptr[0].via.array.size
             : 1;
    if (!*c || *h * *w * *c > XQ_PICTURE_MAX_PIXELS)
        return false;
    *out = xq_malloc(*h * *w * *c * sizeof(double));
    for (size_t y = 0; y < *h; y++) {
        const msgpack_object *row = &o->via.array.ptr[y];

        if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size != *w)
            goto bad;
        for (size_t x = 0; x < *w; x++) {
            const msgpack_object *px = &row->via.array.ptr[x];

            for (size_t k = 0; k < *c; k++) {
                const msgpack_object *v =
                    *c == 1 && px->type != MSGPACK_OBJECT_ARRAY ? px
                    : px->type == MSGPACK_OBJECT_ARRAY && px->via.array.size == *c
                        ? &px->via.array.ptr[k]
                        : NULL;

                if (!v || !xq_mp_number(v, &(*out)[n++]))
                    goto bad;
            }
        }
    }
    return true;
bad:
    xq_free(*out);
    *out = NULL;
    return false;
}

/* A {"b64_jpeg"} picture as PNG bytes (decoded, then written again without loss). */
static bool jpeg_to_png(const msgpack_object *b64, xq_buf_t *png) {
    xq_buf_t jpg;
    float *px = NULL;
    uint8_t *rgb = NULL;
    size_t h, w, c;
    xq_error_t err;
    bool ok = false;

    xq_buf_init(&jpg);
    if (xq_base64_decode(b64->via.str.ptr, b64->via.str.size, &jpg) &&
        xq_picture_decode(jpg.data, jpg.len, &px, &h, &w, &c, &err) == XQ_OK) {
        rgb = xq_malloc(h * w * 3 + 1);
        for (size_t p = 0; p < h * w; p++)
            for (size_t k = 0; k < 3; k++)
                rgb[p * 3 + k] = (uint8_t)(px[p * c + (c == 3 ? k : 0)] * 255.0f + 0.5f);
        ok = xq_png_encode(rgb, h, w, png, &err) == XQ_OK;
    }
    xq_free(rgb);
    xq_free(px);
    xq_buf_fini(&jpg);
    return ok;
}

/* Writes the picture of feature value @p v to @p path; false (with a message) if it is none. */
static bool write_picture(const msgpack_object *v, const char *path) {
    const msgpack_object *b64 = v->type == MSGPACK_OBJECT_MAP ? xq_mp_map_get(v, "b64_png") : NULL,
                         *jpg = v->type == MSGPACK_OBJECT_MAP ? xq_mp_map_get(v, "b64_jpeg") : NULL;
    double *a = NULL;
    size_t h, w, c;
    xq_buf_t png;
    xq_error_t err;
    FILE *f;
    bool ok = false;

    xq_buf_init(&png);
    if (b64 && b64->type == MSGPACK_OBJECT_STR) {
        ok = xq_base64_decode(b64->via.str.ptr, b64->via.str.size, &png);
    } else if (jpg && jpg->type == MSGPACK_OBJECT_STR) {
        ok = jpeg_to_png(jpg, &png);
    } else if (image_array(v, &a, &h, &w, &c)) {
        xq_viz_t viz = {.present = true,
                        .type = XQ_VIZ_TYPE_PIXELS,
                        .polarity = XQ_POLARITY_POSITIVE,
                        .color_map = c == 1 ? XQ_COLOR_MAP_VIRIDIS : XQ_COLOR_MAP_PINK_GREEN,
                        .clip_upper = 99.9,
                        .clip_lower = 62,
                        .overlay = XQ_OVERLAY_NONE};

        ok = xq_viz_png(&viz, a, h, w, c, NULL, 0, &png, &err) == XQ_OK;
        xq_free(a);
    }
    if (ok) {
        f = fopen(path, "wb");
        ok = f && fwrite(png.data, 1, png.len, f) == png.len;
        if (f && fclose(f) != 0)
            ok = false;
        if (!ok)
            fprintf(stderr, "explainq render: cannot write %s: %s\n", path, strerror(errno));
    }
    xq_buf_fini(&png);
    return ok;
}

int xq_cmd_render(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *input = NULL;
    long line_no = 1, attr_no = 1, n = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = 0;
    FILE *f;
    xq_buf_t mp;
    msgpack_unpacked msg;
    const msgpack_object *attrs, *fa;
    xq_error_t err;
    int rc = XQ_EXIT_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(render_usage, stdout);
            return XQ_EXIT_OK;
        }
        if (!v) {
            fprintf(stderr, "explainq render: %s needs a value\n", a);
            return XQ_EXIT_USAGE;
        }
        i++;
        if (!strcmp(a, "--in"))
            in = v;
        else if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--input"))
            input = v;
        else if (!strcmp(a, "--line") && (line_no = atol(v)) > 0)
            continue;
        else if (!strcmp(a, "--attribution") && (attr_no = atol(v)) > 0)
            continue;
        else {
            fprintf(stderr, "explainq render: bad option %s %s\n\n%s", a, v, render_usage);
            return XQ_EXIT_USAGE;
        }
    }
    if (!in || !out) {
        fputs(render_usage, stderr);
        return XQ_EXIT_USAGE;
    }
    if (!(f = strcmp(in, "-") ? fopen(in, "r") : stdin)) {
        fprintf(stderr, "explainq render: cannot read %s: %s\n", in, strerror(errno));
        return XQ_EXIT_USAGE;
    }
    while (n < line_no && (got = getline(&line, &cap, f)) > 0)
        n++;
    if (f != stdin)
        fclose(f);
    xq_buf_init(&mp);
    msgpack_unpacked_init(&msg);
    if (n < line_no || got <= 0) {
        fprintf(stderr, "explainq render: %s has no line %ld\n", in, line_no);
        goto out;
    }
    if (xq_json_to_msgpack(line, (size_t)got, &mp, &err) != XQ_OK ||
        !xq_mp_unpack_one(mp.data, mp.len, &msg) || msg.data.type != MSGPACK_OBJECT_MAP) {
        fprintf(stderr, "explainq render: line %ld is not a JSON object\n", line_no);
        goto out;
    }
    attrs = xq_mp_map_get(&msg.data, "attributions");
    if (!attrs || attrs->type != MSGPACK_OBJECT_ARRAY || attrs->via.array.size < (size_t)attr_no ||
        !(fa = xq_mp_map_get(&attrs->via.array.ptr[attr_no - 1], "featureAttributions")) ||
        fa->type != MSGPACK_OBJECT_MAP) {
        fprintf(stderr, "explainq render: line %ld has no attribution %ld\n", line_no, attr_no);
        goto out;
    }
    rc = XQ_EXIT_RUNTIME;
    for (uint32_t i = 0; i < fa->via.map.size; i++) {
        const msgpack_object_kv *kv = &fa->via.map.ptr[i];

        if (input && !xq_mp_str_eq(&kv->key, input))
            continue;
        if (write_picture(&kv->val, out)) {
            rc = XQ_EXIT_OK;
            break;
        }
    }
    if (rc != XQ_EXIT_OK)
        fprintf(stderr, "explainq render: line %ld holds no picture or image array%s%s\n", line_no,
                input ? " under " : "", input ? input : "");
out:
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&mp);
    xq_free(line);
    return rc;
}
