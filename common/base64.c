/* base64.c -- base64 encoding and decoding. */
#include "base64.h"

#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void xq_base64_encode(const uint8_t *buf, size_t len, xq_buf_t *out) {
    size_t at = out->len;

    xq_buf_reserve(out, (len + 2) / 3 * 4 + 1);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)buf[i] << 16;
        char q[4];

        if (i + 1 < len)
            v |= (uint32_t)buf[i + 1] << 8;
        if (i + 2 < len)
            v |= buf[i + 2];
        q[0] = b64[v >> 18 & 63];
        q[1] = b64[v >> 12 & 63];
        q[2] = i + 1 < len ? b64[v >> 6 & 63] : '=';
        q[3] = i + 2 < len ? b64[v & 63] : '=';
        memcpy(out->data + at, q, 4);
        at += 4;
    }
    out->len = at;
}

bool xq_base64_decode(const char *s, size_t len, xq_buf_t *out) {
    uint32_t v = 0;
    int bits = 0;
    size_t pad = 0;

    for (size_t i = 0; i < len; i++) {
        const char *p;
        char ch = s[i];

        if (ch == '=') {
            pad++;
            continue;
        }
        if (ch == '\n' || ch == '\r')
            continue;
        /* URL-safe alphabets are common in JSON too */
        if (ch == '-')
            ch = '+';
        else if (ch == '_')
            ch = '/';
        if (pad || !(p = memchr(b64, ch, 64)) || !ch)
            return false;
        v = v << 6 | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            uint8_t byte = (uint8_t)(v >> (bits - 8));

            bits -= 8;
            xq_buf_append(out, &byte, 1);
        }
    }
    return pad <= 2;
}
