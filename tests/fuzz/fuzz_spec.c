/*
 * fuzz_spec.c -- libFuzzer entry point for the ExplanationSpec parser: any
 * bytes, as JSON or msgpack, must give a spec or errors, never a crash or a
 * leak; a spec that parses must re-parse from its canonical form to the same id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    xq_spec_t *spec = NULL, *again = NULL;
    xq_errlist_t errs;

    xq_errlist_init(&errs);
    if (xq_spec_parse_any(data, size, &spec, &errs) == XQ_OK) {
        if (xq_spec_parse(spec->canonical, spec->canonical_len, &again, &errs) != XQ_OK ||
            strcmp(again->id, spec->id) != 0)
            abort(); /* the canonical form must be a fixed point */
        xq_spec_destroy(again);
        xq_spec_destroy(spec);
    }
    xq_errlist_fini(&errs);
    return 0;
}
