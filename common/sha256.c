/* sha256.c -- SHA-256 through OpenSSL's EVP interface. */
#include "sha256.h"

#include <string.h>

#include <openssl/evp.h>

#include "log.h"

/* EVP_sha256 cannot fail short of a broken libcrypto, so failures are assertions */

static void to_hex(const uint8_t md[XQ_SHA256_LEN], char hex[XQ_SHA256_HEX_LEN + 1]) {
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < XQ_SHA256_LEN; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    hex[XQ_SHA256_HEX_LEN] = '\0';
}

void xq_sha256(const void *p, size_t len, uint8_t md[XQ_SHA256_LEN]) {
    unsigned int md_len = 0;
    int rc = EVP_Digest(p, len, md, &md_len, EVP_sha256(), NULL);

    XQ_ASSERT(rc == 1 && md_len == XQ_SHA256_LEN);
}

void xq_sha256_hex(const void *p, size_t len, char hex[XQ_SHA256_HEX_LEN + 1]) {
    uint8_t md[XQ_SHA256_LEN];

    xq_sha256(p, len, md);
    to_hex(md, hex);
}

bool xq_sha256_hex_valid(const char *s) {
    return strlen(s) == XQ_SHA256_HEX_LEN && strspn(s, "0123456789abcdef") == XQ_SHA256_HEX_LEN;
}

xq_sha256_ctx_t *xq_sha256_begin(void) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;

    XQ_ASSERT(ok);
    return (xq_sha256_ctx_t *)c;
}

void xq_sha256_add(xq_sha256_ctx_t *c, const void *p, size_t len) {
    int ok = EVP_DigestUpdate((EVP_MD_CTX *)c, p, len) == 1;

    XQ_ASSERT(ok);
}

void xq_sha256_end_hex(xq_sha256_ctx_t *c, char hex[XQ_SHA256_HEX_LEN + 1]) {
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int ok = EVP_DigestFinal_ex((EVP_MD_CTX *)c, md, &md_len) == 1 && md_len == XQ_SHA256_LEN;

    XQ_ASSERT(ok);
    EVP_MD_CTX_free((EVP_MD_CTX *)c);
    to_hex(md, hex);
}
