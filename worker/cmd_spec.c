/* cmd_spec.c -- `explainq spec validate|id FILE`: check an ExplanationSpec and print it or its id.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "json.h"
#include "mem.h"
#include "redis.h"
#include "spec.h"

extern char **environ;

static const char spec_usage[] =
    "usage: explainq spec validate (FILE | --metadata M [--parameters P] | --parameters P)\n"
    "       explainq spec id (FILE | ...)\n"
    "       explainq spec put (FILE | ...) [--redis HOST:PORT]\n"
    "\n"
    "FILE holds an ExplanationSpec (Vertex AI's JSON, or the same as msgpack), or a\n"
    "Model resource with explanationSpec; - reads standard input. --metadata\n"
    "(explanation_metadata.json) and --parameters (ExplanationParameters) give the\n"
    "spec in halves, as Model.upload takes them, or replace those halves of FILE.\n"
    "\n"
    "  validate  prints the normalized spec (defaults applied, keys sorted) as JSON\n"
    "            and exits 0; or prints every error, one a line as \"path: message\",\n"
    "            and exits 2\n"
    "  id        prints the spec's id: the hex SHA-256 of its canonical msgpack\n"
    "            encoding, the same for any key order or spacing; exits 2 if invalid\n"
    "  put       stores the spec in Redis (explainq:spec:<id>) for jobs that name it\n"
    "            by specId, and prints the id (--redis, default redis.url); it takes\n"
    "            the options of every command: -c FILE, EXPLAINQ_*, -X redis.password=...\n";

int xq_cmd_spec(int argc, char **argv) {
    const char *file = NULL, *meta = NULL, *params = NULL, *url = NULL;
    xq_spec_t *spec;
    xq_redis_t *r = NULL;
    xq_conf_t *conf = NULL;
    xq_error_t err;
    xq_buf_t out;
    int rc = XQ_EXIT_OK;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(spec_usage, stdout);
        return XQ_EXIT_OK;
    }
    if (argc < 3 ||
        (strcmp(argv[1], "validate") && strcmp(argv[1], "id") && strcmp(argv[1], "put"))) {
        fputs(spec_usage, stderr);
        return XQ_EXIT_USAGE;
    }
    /* put: redis.url, redis.password... from -c, EXPLAINQ_* and -X, as for every command */
    if (strcmp(argv[1], "put") == 0 &&
        !(conf = xq_cli_config("spec put", &argc, argv, environ, &rc)))
        return rc;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (a[0] != '-' || !strcmp(a, "-")) {
            if (file)
                goto usage;
            file = a;
            continue;
        }
        if (!v)
            goto usage;
        i++;
        if (!strcmp(a, "--metadata"))
            meta = v;
        else if (!strcmp(a, "--parameters"))
            params = v;
        else if (!strcmp(a, "--redis") && !strcmp(argv[1], "put"))
            url = v;
        else
            goto usage;
    }
    if (!file && !params && !meta)
        goto usage;
    if (!(spec = xq_cli_load_spec_parts(NULL, file, meta, params))) {
        xq_conf_destroy(conf);
        return XQ_EXIT_USAGE;
    }
    xq_buf_init(&out);
    if (strcmp(argv[1], "put") == 0) {
        if (!(r = xq_cli_redis(conf, url ? url : xq_conf_str(conf, "redis.url"), 2000, &err)) ||
            xq_redis_put_spec(r, spec, &err) != XQ_OK) {
            fprintf(stderr, "explainq spec put: %s\n", err.msg);
            rc = XQ_EXIT_RUNTIME;
        } else {
            xq_buf_append_str(&out, spec->id);
        }
    } else if (strcmp(argv[1], "id") == 0) {
        xq_buf_append_str(&out, spec->id);
    } else {
        xq_spec_to_json(spec, XQ_JSON_PRETTY, &out);
    }
    if (rc == XQ_EXIT_OK) {
        xq_buf_append(&out, "\n", 1);
        fwrite(out.data, 1, out.len, stdout);
    }
    xq_buf_fini(&out);
    xq_redis_destroy(r);
    xq_spec_destroy(spec);
    xq_conf_destroy(conf);
    return rc == XQ_EXIT_OK && fflush(stdout) != 0 ? XQ_EXIT_RUNTIME : rc;
usage:
    fputs(spec_usage, stderr);
    xq_conf_destroy(conf);
    return XQ_EXIT_USAGE;
}
