/*
 * fuzz_codec.c -- libFuzzer entry point for the inference-request decoder: any
 * bytes give a request or an error naming a field, never a crash, a leak or an
 * allocation the message did not pay for.
 */
#include <stdint.h>
#include <stdlib.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    xq_infer_req_t req;
    xq_error_t err;

    /* a small element limit keeps the fuzzer's memory flat */
    if (xq_infer_req_decode(data, size, 1 << 16, &req, &err) == XQ_OK && !req.rows)
        abort(); /* a decoded request always has rows */
    xq_infer_req_fini(&req);
    return 0;
}
