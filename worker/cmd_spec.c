/* cmd_spec.c -- `explainq spec validate|id FILE`: check an ExplanationSpec and print it or its id.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "mem.h"
#include "spec.h"

static const char spec_usage[] =
    "usage: explainq spec validate FILE\n"
    "       explainq spec id FILE\n"
    "\n"
    "FILE holds an ExplanationSpec (Vertex AI's JSON, or the same as msgpack);\n"
    "- reads standard input.\n"
    "\n"
    "  validate  prints the normalized spec (defaults applied, keys sorted) as JSON\n"
    "            and exits 0; or prints every error, one a line as \"path: message\",\n"
    "            and exits 2\n"
    "  id        prints the spec's id: the hex SHA-256 of its canonical msgpack\n"
    "            encoding, the same for any key order or spacing; exits 2 if invalid\n";

/* Parses FILE; prints errors and returns NULL when it cannot. */
static xq_spec_t *load(const char *path) {
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;
    uint8_t *buf;
    size_t len;

    if (!(buf = xq_cli_read_file(path, &len)))
        return NULL;
    xq_errlist_init(&errs);
    if (xq_spec_parse_any(buf, len, &spec, &errs) != XQ_OK)
        xq_cli_print_errors(&errs);
    xq_errlist_fini(&errs);
    xq_free(buf);
    return spec;
}

int xq_cmd_spec(int argc, char **argv) {
    xq_spec_t *spec;
    xq_buf_t out;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(spec_usage, stdout);
        return XQ_EXIT_OK;
    }
    if (argc != 3 || (strcmp(argv[1], "validate") != 0 && strcmp(argv[1], "id") != 0)) {
        fputs(spec_usage, stderr);
        return XQ_EXIT_USAGE;
    }
    if (!(spec = load(argv[2])))
        return XQ_EXIT_USAGE;
    xq_buf_init(&out);
    if (strcmp(argv[1], "id") == 0)
        xq_buf_append_str(&out, spec->id);
    else
        xq_spec_to_json(spec, XQ_JSON_PRETTY, &out);
    xq_buf_append(&out, "\n", 1);
    fwrite(out.data, 1, out.len, stdout);
    xq_buf_fini(&out);
    xq_spec_destroy(spec);
    return fflush(stdout) == 0 ? XQ_EXIT_OK : XQ_EXIT_RUNTIME;
}
