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
    "usage: explainq spec validate FILE\n"
    "       explainq spec id FILE\n"
    "       explainq spec put FILE [--redis HOST:PORT]\n"
    "\n"
    "FILE holds an ExplanationSpec (Vertex AI's JSON, or the same as msgpack);\n"
    "- reads standard input.\n"
    "\n"
    "  validate  prints the normalized spec (defaults applied, keys sorted) as JSON\n"
    "            and exits 0; or prints every error, one a line as \"path: message\",\n"
    "            and exits 2\n"
    "  id        prints the spec's id: the hex SHA-256 of its canonical msgpack\n"
    "            encoding, the same for any key order or spacing; exits 2 if invalid\n"
    "  put       stores the spec in Redis (explainq:spec:<id>) for jobs that name it\n"
    "            by specId, and prints the id: explainq spec put FILE [--redis HOST:PORT]\n"
    "            [-c FILE] [-X redis.password=...]: the options of every command\n";

static int put(int argc, char **argv) {
    const char *url;
    xq_spec_t *spec = NULL;
    xq_redis_t *r = NULL;
    xq_conf_t *conf;
    xq_error_t err;
    int rc = XQ_EXIT_OK;

    /* redis.url, redis.password... from -c, EXPLAINQ_* and -X, as for every command */
    if (!(conf = xq_cli_config("spec put", &argc, argv, environ, &rc)))
        return rc;
    url = argc == 5 && strcmp(argv[3], "--redis") == 0 ? argv[4] : xq_conf_str(conf, "redis.url");
    if (argc != 3 && argc != 5) {
        fputs(spec_usage, stderr);
        rc = XQ_EXIT_USAGE;
        goto out;
    }
    if (!(spec = xq_cli_load_spec(NULL, argv[2]))) {
        rc = XQ_EXIT_USAGE;
        goto out;
    }
    if (!(r = xq_cli_redis(conf, url, 2000, &err)) || xq_redis_put_spec(r, spec, &err) != XQ_OK) {
        fprintf(stderr, "explainq spec put: %s\n", err.msg);
        rc = XQ_EXIT_RUNTIME;
    } else {
        printf("%s\n", spec->id);
    }
out:
    xq_redis_destroy(r);
    xq_spec_destroy(spec);
    xq_conf_destroy(conf);
    return rc;
}

int xq_cmd_spec(int argc, char **argv) {
    xq_spec_t *spec;
    xq_buf_t out;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(spec_usage, stdout);
        return XQ_EXIT_OK;
    }
    if (argc >= 3 && strcmp(argv[1], "put") == 0)
        return put(argc, argv);
    if (argc != 3 || (strcmp(argv[1], "validate") != 0 && strcmp(argv[1], "id") != 0)) {
        fputs(spec_usage, stderr);
        return XQ_EXIT_USAGE;
    }
    if (!(spec = xq_cli_load_spec(NULL, argv[2])))
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
