/*
 * fuzz_picture.c -- libFuzzer entry point for picture decoding (an image
 * input's {"b64": ...} bytes come from the network): PNG or JPEG, any bytes
 * give pixels or an error, never a crash, a leak or a longjmp gone wrong.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mem.h"
#include "picture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    float *px = NULL;
    size_t h, w, c;
    xq_error_t err;

    if (xq_picture_decode(data, size, &px, &h, &w, &c, &err) == XQ_OK) {
        if (!px || !h || !w || (c != 1 && c != 3))
            abort(); /* decoded pixels always have a shape */
        xq_free(px);
    } else if (px) {
        abort(); /* a failed decode hands nothing back */
    }
    return 0;
}
