/* cmd_explain.c -- `explainq explain`: the attribution engine in-process, JSONL in, JSONL out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "engine.h"
#include "exindex.h"
#include "instances.h"
#include "json.h"
#include "layout.h"
#include "mem.h"
#include "methods/examples.h"
#include "methods/registry.h"
#include "models/load.h"
#include "redis.h"
#include "spec.h"

/* Instances explained together: their rows share model batches. */
#define WINDOW 256

static const char explain_usage[] =
    "usage: explainq explain (--spec SPEC | --metadata M --parameters P) --model MODEL\n"
    "                        --instances IN.jsonl [options]\n"
    "\n"
    "Explains every instance of IN.jsonl (one JSON instance a line, - for stdin) with\n"
    "the model in this process, and writes one line per instance to OUT:\n"
    "{\"attributions\": [...]} as Vertex AI returns them, or {\"error\": {...}}.\n"
    "\n"
    "  --spec FILE            ExplanationSpec, JSON or msgpack, or a Model resource\n"
    "                         with explanationSpec\n"
    "  --metadata FILE        ExplanationMetadata (explanation_metadata.json)\n"
    "  --parameters FILE      ExplanationParameters; with --metadata instead of --spec\n"
    "  --model FILE|URL       ONNX file, XGBoost model (.json/.ubj), a model server\n"
    "                         URL (KServe v2 or :predict), or explainq-dense-v1 JSON\n"
    "  --backend NAME         " XQ_CLI_BACKENDS "\n"
    "                         (default: by the path and content)\n"
    "  --image-layout L       nchw or nhwc: how image tensors order their dimensions\n"
    "                         when their shape cannot tell (default: by the shape)\n"
    "  --dims N=V,...         values for inputs' named dynamic dimensions (ONNX),\n"
    "                         e.g. seq=128: only the batch may vary\n"
    "  --fd-step H            finite-difference gradients (step H) for models that\n"
    "                         have none (xgboost), so IG can run on them\n"
    "  --instances FILE       instances: JSON lines (objects, or bare arrays for a spec\n"
    "                         of one input), a {\"instances\": [...]} body, or CSV with\n"
    "                         a header (by the .csv suffix, or --format csv)\n"
    "  --format F             json or csv (default: by the file name)\n"
    "  --out FILE             results (default: standard output)\n"
    "  --seed N               random seed (default 0); same seed, same bits\n"
    "  --target-error X       targetApproximationError: double stepCount (IG) or\n"
    "                         pathCount (Shapley) until every error is <= X\n"
    "  --max-model-rows N     model rows per instance, at most (default 100000)\n"
    "  --batch-rows N         rows per model call (default 1024)\n"
    "  --xrai-fast            XRAI's 'fast' region selection (default 'full')\n"
    "  --viz-png              visualizations as {\"b64_png\"} (default {\"b64_jpeg\"},\n"
    "                         as Vertex AI returns them)\n"
    "  --timing               also print the time spent explaining in memory (no\n"
    "                         start-up, model load or JSON): what make bench compares\n"
    "\n"
    "Specs with examples return {\"neighbors\": [...]} from an example index in Redis:\n"
    "  --index ID             the index (default: the last one built for the spec)\n"
    "  --redis HOST:PORT      where it is (default 127.0.0.1:6379)\n"
    "  --neighbor-count N     neighbours per instance (default: the spec's)\n"
    "  --crowding-count N     at most N neighbours sharing a crowding tag\n"
    "\n"
    "Exits 0 when every instance was explained, 1 when any failed (its line holds\n"
    "the error), 2 on bad usage, spec or model.\n";

typedef struct opts {
    const char *spec, *meta, *params, *model, *instances, *out, *index, *redis;
    xq_inst_format_t format;
    xq_examples_query_t query;
    xq_model_opts_t mopts;
    xq_engine_opts_t eng;
    bool timing;
} opts_t;

static bool parse_double(const char *s, double *v) {
    char *end;

    errno = 0;
    *v = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0';
}

static int parse_args(int argc, char **argv, opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->redis = "127.0.0.1:6379";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            xq_cli_usage(stdout, explain_usage);
            return 0;
        }
        if (strcmp(a, "--xrai-fast") == 0) {
            o->eng.run.xrai_fast = true;
            continue;
        }
        if (strcmp(a, "--viz-png") == 0) {
            o->eng.run.viz_png = true;
            continue;
        }
        if (strcmp(a, "--timing") == 0) {
            o->timing = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "explainq explain: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--spec") == 0) {
            o->spec = v;
        } else if (strcmp(a, "--metadata") == 0) {
            o->meta = v;
        } else if (strcmp(a, "--parameters") == 0) {
            o->params = v;
        } else if (strcmp(a, "--format") == 0 && (!strcmp(v, "csv") || !strcmp(v, "json"))) {
            o->format = strcmp(v, "csv") ? XQ_INST_JSON : XQ_INST_CSV;
        } else if (strcmp(a, "--model") == 0) {
            o->model = v;
        } else if (strcmp(a, "--backend") == 0) {
            o->mopts.backend = v;
        } else if (strcmp(a, "--image-layout") == 0) {
            o->mopts.image_layout = v;
        } else if (strcmp(a, "--dims") == 0) {
            o->mopts.dims = v;
        } else if (strcmp(a, "--fd-step") == 0 && parse_double(v, &o->mopts.fd_step) &&
                   o->mopts.fd_step > 0) {
            continue;
        } else if (strcmp(a, "--instances") == 0) {
            o->instances = v;
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--seed") == 0 && xq_cli_parse_u64(v, &u)) {
            o->eng.run.seed = u;
        } else if (strcmp(a, "--target-error") == 0 && parse_double(v, &o->eng.run.target_error) &&
                   o->eng.run.target_error > 0) {
            continue;
        } else if (strcmp(a, "--max-model-rows") == 0 && xq_cli_parse_u64(v, &u) && u > 0) {
            o->eng.run.max_model_rows = u;
        } else if (strcmp(a, "--index") == 0) {
            o->index = v;
        } else if (strcmp(a, "--redis") == 0) {
            o->redis = v;
        } else if (strcmp(a, "--neighbor-count") == 0 && xq_cli_parse_u64(v, &u) && u > 0 &&
                   u <= 10000) {
            o->query.neighbor_count = (uint32_t)u;
        } else if (strcmp(a, "--crowding-count") == 0 && xq_cli_parse_u64(v, &u) && u > 0 &&
                   u <= 10000) {
            o->query.crowding_count = (uint32_t)u;
        } else if (strcmp(a, "--batch-rows") == 0 && xq_cli_parse_u64(v, &u) && u > 0 &&
                   u <= 1u << 20) {
            o->eng.batch_rows = (size_t)u;
        } else {
            fprintf(stderr, "explainq explain: bad option %s %s\n", a, v);
            return -1;
        }
    }
    if ((!o->spec && !o->params && !o->meta) || !o->model || !o->instances) {
        fprintf(stderr, "explainq explain: --spec (or --metadata and --parameters), --model and "
                        "--instances are required\n\n");
        xq_cli_usage(stderr, explain_usage);
        return -1;
    }
    return 1;
}

/* One window of parsed instances: their msgpack bytes and the objects unpacked from them. */
typedef struct window {
    xq_buf_t mp[WINDOW];
    msgpack_unpacked msg[WINDOW];
    msgpack_object obj[WINDOW];
    bool bad[WINDOW];
    xq_error_t err[WINDOW];
    size_t cnt;
    long long engine_us; /* spent in xq_engine_explain(), for --timing */
} window_t;

static void write_error(FILE *out, const xq_error_t *e) {
    xq_buf_t b;

    xq_buf_init(&b);
    xq_buf_append_str(&b, "{\"error\":{\"code\":");
    xq_json_append_str(&b, xq_err_wire(e->code), strlen(xq_err_wire(e->code)));
    xq_buf_append_str(&b, ",\"field\":");
    xq_json_append_str(&b, e->field, strlen(e->field));
    xq_buf_append_str(&b, ",\"message\":");
    xq_json_append_str(&b, e->msg, strlen(e->msg));
    xq_buf_append_str(&b, "}}\n");
    fwrite(b.data, 1, b.len, out);
    xq_buf_fini(&b);
}

/* Explains the window and writes its lines in order; @returns the instances that failed. */
static size_t flush_window(xq_engine_t *eng, window_t *w, size_t first_index, FILE *out) {
    xq_engine_result_t res[WINDOW];
    msgpack_object good[WINDOW];
    size_t idx[WINDOW], ngood = 0, failed = 0;
    xq_buf_t packed, json;

    /* instance numbers stay line numbers, so a bad line does not shift the others' seeds */
    for (size_t i = 0; i < w->cnt; i++) {
        if (!w->bad[i]) {
            idx[ngood] = first_index + i;
            good[ngood++] = w->obj[i];
        }
    }
    xq_buf_init(&packed);
    xq_buf_init(&json);
    w->engine_us -= xq_now_us();
    xq_engine_explain(eng, good, idx, ngood, &packed, res);
    w->engine_us += xq_now_us();
    for (size_t i = 0, g = 0; i < w->cnt; i++) {
        const xq_error_t *e = w->bad[i] ? &w->err[i] : res[g].rc != XQ_OK ? &res[g].err : NULL;
        msgpack_unpacked m;
        size_t off = 0;

        if (e) {
            write_error(out, e);
            fprintf(stderr, "explainq explain: %s: %s\n", e->field, e->msg);
            failed++;
            g += !w->bad[i];
            continue;
        }
        msgpack_unpacked_init(&m);
        msgpack_unpack_next(&m, (const char *)packed.data + res[g].off, res[g].len, &off);
        json.len = 0;
        xq_json_from_msgpack(&m.data, 0, &json, NULL);
        xq_buf_append(&json, "\n", 1);
        fwrite(json.data, 1, json.len, out);
        msgpack_unpacked_destroy(&m);
        g++;
    }
    xq_buf_fini(&packed);
    xq_buf_fini(&json);
    for (size_t i = 0; i < w->cnt; i++) {
        msgpack_unpacked_destroy(&w->msg[i]);
        xq_buf_fini(&w->mp[i]);
    }
    w->cnt = 0;
    return failed;
}

/* Reads the next instance into the window's next slot; @returns false at the end or on an i/o
 * error (in @p *io_err). */
static bool add_next(window_t *w, xq_inst_reader_t *r, size_t index, xq_err_t *io_err) {
    size_t k = w->cnt, off = 0, line;
    bool eof;
    xq_err_t rc;

    xq_buf_init(&w->mp[k]);
    msgpack_unpacked_init(&w->msg[k]);
    w->bad[k] = false;
    rc = xq_inst_reader_next(r, &w->mp[k], &line, &eof, &w->err[k]);
    if (rc == XQ_EIO || (rc == XQ_OK && eof)) {
        *io_err = rc;
        msgpack_unpacked_destroy(&w->msg[k]);
        xq_buf_fini(&w->mp[k]);
        return false;
    }
    w->cnt++;
    if (rc != XQ_OK) {
        snprintf(w->err[k].field, sizeof(w->err[k].field), "instances[%zu]", index);
        w->bad[k] = true;
        return true;
    }
    msgpack_unpack_next(&w->msg[k], (const char *)w->mp[k].data, w->mp[k].len, &off);
    w->obj[k] = w->msg[k].data;
    return true;
}

static void progress(size_t done, time_t start, bool final) {
    double secs = difftime(time(NULL), start);

    fprintf(stderr, "\rexplain: %zu instances, %.0f/s%s", done, secs > 0 ? (double)done / secs : 0,
            final ? "\n" : "");
}

/* Examples: the example index to search, from Redis (--index, or the spec's latest). */
static bool
load_index(opts_t *o, const xq_spec_t *spec, xq_redis_t **redis, xq_exindex_t **exindex) {
    char id[XQ_EXINDEX_ID_LEN + 1];
    xq_error_t err;

    if (!(*redis = xq_redis_new(o->redis, 5000, &err)) ||
        (!o->index && xq_exindex_latest(*redis, spec->id, id, &err) != XQ_OK) ||
        xq_exindex_get(*redis, o->index ? o->index : id, exindex, &err) != XQ_OK) {
        fprintf(stderr, "explainq explain: example index: %s%s%s\n", err.field,
                err.field[0] ? ": " : "", err.msg);
        return false;
    }
    o->query.index = *exindex;
    o->eng.run.examples = &o->query;
    return true;
}

int xq_cmd_explain(int argc, char **argv) {
    xq_model_t *model = NULL;
    xq_spec_t *spec = NULL;
    xq_engine_t *eng = NULL;
    xq_redis_t *redis = NULL;
    xq_exindex_t *exindex = NULL;
    xq_inst_reader_t *reader = NULL;
    xq_inst_opts_t iopts = {0};
    xq_err_t io_rc = XQ_OK;
    xq_error_t err;
    window_t *w = NULL;
    FILE *in = NULL, *out = stdout;
    size_t index = 0, failed = 0;
    bool tty = isatty(STDERR_FILENO);
    time_t start = time(NULL), last = 0;
    opts_t o;
    int rc;

    if ((rc = parse_args(argc, argv, &o)) <= 0) {
        rc = rc == 0 ? XQ_EXIT_OK : XQ_EXIT_USAGE;
        goto out;
    }
    rc = XQ_EXIT_USAGE;
    if (!(spec = xq_cli_load_spec_parts("explain", o.spec, o.meta, o.params)))
        goto out;
    if (!xq_method_get(spec->params.method)) {
        fprintf(stderr, "explainq explain: %s is not available in this build yet\n",
                xq_method_name(spec->params.method));
        goto out;
    }
    o.mopts.output = spec->meta.present ? spec->meta.outputs[0].output_tensor_name : NULL;
    if (spec->params.method == XQ_METHOD_EXAMPLES && spec->meta.latent_space_source)
        o.mopts.output = spec->meta.latent_space_source; /* the embedding is what is searched */
    if (xq_model_load(o.model, &o.mopts, &model, &err) != XQ_OK) {
        fprintf(stderr, "explainq explain: model %s: %s%s%s\n", o.model, err.field,
                err.field[0] ? ": " : "", err.msg);
        goto out;
    }
    if (xq_layout_check_names(spec, model, &err) != XQ_OK) {
        fprintf(stderr, "explainq explain: %s: %s\n", err.field, err.msg);
        goto out;
    }
    if (spec->params.method == XQ_METHOD_EXAMPLES && !load_index(&o, spec, &redis, &exindex))
        goto out;
    if (!(in = strcmp(o.instances, "-") == 0 ? stdin : fopen(o.instances, "r"))) {
        fprintf(stderr, "explainq explain: cannot read %s: %s\n", o.instances, strerror(errno));
        goto out;
    }
    if (o.out && !(out = fopen(o.out, "w"))) {
        fprintf(stderr, "explainq explain: cannot write %s: %s\n", o.out, strerror(errno));
        out = stdout;
        goto out;
    }
    iopts.format = o.format;
    iopts.spec = spec;
    if (xq_inst_reader_new(in, o.instances, &iopts, &reader, &err) != XQ_OK) {
        fprintf(stderr, "explainq explain: %s: %s\n", o.instances, err.msg);
        goto out;
    }
    rc = XQ_EXIT_OK;
    eng = xq_engine_new(spec, model, &o.eng);
    w = xq_calloc(1, sizeof(*w));
    while (add_next(w, reader, index, &io_rc)) {
        index++;
        if (w->cnt == WINDOW) {
            failed += flush_window(eng, w, index - WINDOW, out);
            if (tty && time(NULL) != last) {
                last = time(NULL);
                progress(index, start, false);
            }
        }
    }
    failed += flush_window(eng, w, index - w->cnt, out);
    if (tty)
        progress(index, start, true);
    if (o.timing)
        fprintf(stderr, "explainq explain: timing: %zu instances in %.6f s in memory\n", index,
                (double)w->engine_us / 1e6);
    if (io_rc != XQ_OK || ferror(in) || fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "explainq explain: i/o error: %s\n", strerror(errno));
        rc = XQ_EXIT_RUNTIME;
    } else if (failed) {
        fprintf(stderr, "explainq explain: %zu of %zu instances failed\n", failed, index);
        rc = XQ_EXIT_RUNTIME;
    }
out:
    xq_inst_reader_destroy(reader);
    xq_free(w);
    if (in && in != stdin)
        fclose(in);
    if (out != stdout)
        fclose(out);
    xq_engine_destroy(eng);
    xq_exindex_destroy(exindex);
    xq_redis_destroy(redis);
    xq_model_destroy(model);
    xq_spec_destroy(spec);
    return rc;
}
