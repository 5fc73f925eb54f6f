/* cmd_index.c -- `explainq index`: build example indexes into Redis, and describe them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "exbuild.h"
#include "exindex.h"
#include "json.h"
#include "kmodel.h"
#include "layout.h"
#include "mem.h"
#include "models/load.h"
#include "mp.h"
#include "names.h"
#include "redis.h"
#include "spec.h"

extern char **environ;

static const char index_usage[] =
    "usage: explainq index build --spec SPEC --model FILE|URL [--examples EX.jsonl] [options]\n"
    "       explainq index build --spec SPEC --model NAME -b BROKERS [--examples ...]\n"
    "       explainq index info ID [--redis HOST:PORT]\n"
    "\n"
    "build embeds every example (one JSON object a line) through the model's\n"
    "latentSpaceSource output, indexes the embeddings as the spec's examples\n"
    "ask (presets or nearestNeighborSearchConfig), stores the index in Redis at\n" XQ_KEY_INDEX
    "<id>, records it as the spec's latest index, and prints <id>.\n"
    "An example's \"id\" field is its neighborId (else its line number), and its\n"
    "\"crowdingTag\" field the tag crowdingCount limits; neither goes to the model.\n"
    "\n"
    "  --spec FILE            ExplanationSpec with examples, JSON or msgpack\n"
    "  --model FILE|URL       the model (as for explain); its latentSpaceSource\n"
    "                         output is the embedding\n"
    "  -b, --brokers LIST     embed through the runners of model NAME over Kafka\n"
    "                         instead (they must serve latentSpaceSource: runner\n"
    "                         --output); -X kafka.<prop>=value sets a librdkafka\n"
    "                         property; -c FILE and EXPLAINQ_* as for every command\n"
    "  --reply-topic T        where runners answer (default explain.replies)\n"
    "  --backend NAME         " XQ_CLI_BACKENDS "\n"
    "                         (default: by the path and content)\n"
    "  --image-layout L       nchw or nhwc, when an image tensor's shape cannot tell\n"
    "  --dims N=V,...         values for inputs' named dynamic dimensions (ONNX)\n"
    "  --examples FILE        JSON lines (default: the spec's exampleGcsSource\n"
    "                         uris, which must be local paths or file:// URIs)\n"
    "  --redis HOST:PORT      where the index goes (default 127.0.0.1:6379)\n"
    "  --id-field NAME        the examples' id field (default id)\n"
    "  --crowding-field NAME  the examples' crowding tag field (default crowdingTag)\n"
    "  --batch-rows N         examples per model call (default 1024)\n"
    "  --chunk-bytes N        largest Redis value of the stored index (default 64 MiB)\n"
    "\n"
    "info prints an index's size, dimension, metric and query kind as JSON.\n";

typedef struct opts {
    const char *spec, *model, *examples, *redis, *brokers;
    char bs[512];
    const char *props[160];
    xq_kmodel_opts_t kopts;
    xq_model_opts_t mopts;
    xq_exbuild_opts_t build;
    size_t chunk_bytes;
} opts_t;

static int parse_args(int argc, char **argv, const xq_conf_t *conf, opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->redis = xq_conf_str(conf, "redis.url");
    /* through the runners when the brokers are given on the command line (-b, -X or -c FILE;
     * not by the environment, which a pod sets for every command) */
    if (strcmp(xq_conf_source(conf, "bootstrap.servers"), "default") != 0 &&
        strcmp(xq_conf_source(conf, "bootstrap.servers"), "env") != 0)
        o->brokers = xq_conf_str(conf, "bootstrap.servers");
    o->chunk_bytes = 64u << 20;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u = 0;
        bool num = v && xq_cli_parse_u64(v, &u);

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            xq_cli_usage(stdout, index_usage);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "explainq index: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--spec")) {
            o->spec = v;
        } else if (!strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "--backend")) {
            o->mopts.backend = v;
        } else if (!strcmp(a, "--image-layout")) {
            o->mopts.image_layout = v;
        } else if (!strcmp(a, "--dims")) {
            o->mopts.dims = v;
        } else if (!strcmp(a, "--examples")) {
            o->examples = v;
        } else if (!strcmp(a, "--redis")) {
            o->redis = v;
        } else if (!strcmp(a, "--reply-topic")) {
            o->kopts.reply_topic = v;
        } else if (!strcmp(a, "--id-field")) {
            o->build.id_field = v;
        } else if (!strcmp(a, "--crowding-field")) {
            o->build.tag_field = v;
        } else if (!strcmp(a, "--batch-rows") && num && u > 0 && u <= 1u << 20) {
            o->build.batch_rows = (size_t)u;
        } else if (!strcmp(a, "--chunk-bytes") && num && u >= 1024 && u <= 512ull << 20) {
            o->chunk_bytes = (size_t)u;
        } else {
            fprintf(stderr, "explainq index: bad option %s %s\n", a, v);
            return -1;
        }
    }
    o->kopts.prop_cnt = xq_cli_kafka_props(conf, "consumer", o->bs, sizeof(o->bs), o->props, 160);
    o->kopts.props = o->props;
    if (!o->spec || !o->model) {
        fprintf(stderr, "explainq index build: --spec and --model are required\n\n");
        xq_cli_usage(stderr, index_usage);
        return -1;
    }
    return 1;
}

/* A source's local path: plain paths and file:// URIs; other schemes are refused. */
static const char *local_path(const char *uri, const char *field) {
    if (strncmp(uri, "file://", 7) == 0)
        return uri + 7;
    if (strstr(uri, "://")) {
        fprintf(stderr,
                "explainq index build: %s: %s is not supported here; give a local JSONL file "
                "or file:// URI\n",
                field, uri);
        return NULL;
    }
    return uri;
}

typedef struct progress {
    bool tty;
    time_t start, last;
    size_t next_line; /* when not a terminal: a line every so many examples */
} progress_t;

static void show(progress_t *p, size_t done, bool final) {
    double secs = difftime(time(NULL), p->start);
    char rate[48] = "";

    if (secs > 0)
        snprintf(rate, sizeof(rate), ", %.0f/s", (double)done / secs);
    if (p->tty && (final || time(NULL) != p->last)) {
        p->last = time(NULL);
        fprintf(stderr, "\rindex build: %zu examples embedded%s%s", done, rate, final ? "\n" : "");
    } else if (!p->tty && (final || done >= p->next_line)) {
        fprintf(stderr, "index build: %zu examples embedded%s\n", done, rate);
        p->next_line = done + 10000;
    }
}

/* Reads one JSONL file into the build; *line counts on over files. */
static int read_examples(xq_exbuild_t *b, const char *path, size_t *line, progress_t *p) {
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    xq_buf_t mp;
    msgpack_unpacked msg;
    char *text = NULL;
    size_t cap = 0;
    xq_error_t err = {0};
    ssize_t n;
    int rc = XQ_EXIT_OK;

    if (!in) {
        fprintf(stderr, "explainq index build: cannot read %s: %s\n", path, strerror(errno));
        return XQ_EXIT_USAGE;
    }
    xq_buf_init(&mp);
    msgpack_unpacked_init(&msg);
    while ((n = getline(&text, &cap, in)) > 0) {
        size_t l = (size_t)n;

        ++*line;
        while (l && (text[l - 1] == '\n' || text[l - 1] == '\r' || text[l - 1] == ' '))
            l--;
        if (!l)
            continue;
        mp.len = 0;
        if (xq_json_to_msgpack(text, l, &mp, &err) != XQ_OK ||
            !xq_mp_unpack_one(mp.data, mp.len, &msg)) {
            fprintf(stderr, "explainq index build: %s line %zu: not JSON: %s\n", path, *line,
                    err.msg);
            rc = XQ_EXIT_USAGE;
            break;
        }
        if (xq_exbuild_add(b, &msg.data, *line, &err) != XQ_OK) {
            fprintf(stderr, "explainq index build: %s: %s: %s\n", path, err.field, err.msg);
            rc = XQ_EXIT_USAGE;
            break;
        }
        show(p, xq_exbuild_embedded(b), false);
    }
    if (rc == XQ_EXIT_OK && ferror(in)) {
        fprintf(stderr, "explainq index build: cannot read %s: %s\n", path, strerror(errno));
        rc = XQ_EXIT_RUNTIME;
    }
    msgpack_unpacked_destroy(&msg);
    xq_buf_fini(&mp);
    xq_free(text);
    if (in != stdin)
        fclose(in);
    return rc;
}

static const char *metric_name(xq_index_metric_t m) {
    return m == XQ_INDEX_COSINE ? "COSINE" : "SQUARED_L2";
}

static const char *query_name(xq_index_query_t q) {
    return q == XQ_INDEX_FAST ? "FAST" : "PRECISE";
}

/* The examples: --examples, else the spec's exampleGcsSource files. @returns an exit code. */
static int read_sources(
    xq_exbuild_t *b, const char *examples, const xq_spec_t *spec, size_t *line, progress_t *prog) {
    const char *path;

    if (examples) {
        if (!(path = local_path(examples, "--examples")))
            return XQ_EXIT_USAGE;
        return read_examples(b, path, line, prog);
    }
    for (size_t i = 0; i < spec->params.examples.gcs_uri_cnt; i++) {
        char field[80];

        snprintf(field, sizeof(field), "examples.exampleGcsSource.gcsSource.uris[%zu]", i);
        if (!(path = local_path(spec->params.examples.gcs_uris[i], field)) ||
            read_examples(b, path, line, prog) != XQ_EXIT_OK)
            return XQ_EXIT_USAGE;
    }
    return XQ_EXIT_OK;
}

static int build(int argc, char **argv, const xq_conf_t *conf) {
    xq_spec_t *spec = NULL;
    xq_model_t *model = NULL;
    xq_exbuild_t *b = NULL;
    xq_exindex_t *x = NULL;
    xq_redis_t *r = NULL;
    xq_error_t err;
    char id[XQ_EXINDEX_ID_LEN + 1];
    progress_t prog = {.tty = isatty(STDERR_FILENO), .start = time(NULL), .next_line = 10000};
    struct timespec t0, t1;
    size_t line = 0;
    opts_t o;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = parse_args(argc, argv, conf, &o)) <= 0) {
        rc = rc == 0 ? XQ_EXIT_OK : XQ_EXIT_USAGE;
        goto out;
    }
    rc = XQ_EXIT_USAGE;
    if (!(spec = xq_cli_load_spec("index build", o.spec)))
        goto out;
    if (spec->params.method != XQ_METHOD_EXAMPLES) {
        fprintf(stderr, "explainq index build: %s: parameters: the spec has no examples\n", o.spec);
        goto out;
    }
    if (!o.examples && !spec->params.examples.has_gcs_source) {
        fprintf(stderr, "explainq index build: give --examples, or exampleGcsSource in the spec\n");
        goto out;
    }
    /* the embedding is the latent-space output; without one, the model's own output */
    o.mopts.output = spec->meta.latent_space_source ? spec->meta.latent_space_source
                     : spec->meta.present           ? spec->meta.outputs[0].output_tensor_name
                                                    : NULL;
    if ((o.brokers ? xq_kmodel_open(o.model, &o.kopts, &model, &err)
                   : xq_model_load(o.model, &o.mopts, &model, &err)) != XQ_OK) {
        fprintf(stderr, "explainq index build: model %s: %s%s%s\n", o.model, err.field,
                err.field[0] ? ": " : "", err.msg);
        goto out;
    }
    if (o.brokers && o.mopts.output && strcmp(xq_model_output(model)->name, o.mopts.output)) {
        fprintf(stderr,
                "explainq index build: model %s: its runners serve output %s, not the "
                "latentSpaceSource %s (run them with --output %s)\n",
                o.model, xq_model_output(model)->name, o.mopts.output, o.mopts.output);
        goto out;
    }
    if (xq_layout_check_names(spec, model, &err) != XQ_OK) {
        fprintf(stderr, "explainq index build: %s: %s\n", err.field, err.msg);
        goto out;
    }
    if (xq_exbuild_new(spec, model, &o.build, &b, &err) != XQ_OK) {
        fprintf(stderr, "explainq index build: %s: %s\n", err.field, err.msg);
        goto out;
    }
    if (!(r = xq_cli_redis(conf, o.redis, 5000, &err)) || xq_redis_ping(r, &err) != XQ_OK) {
        fprintf(stderr, "explainq index build: redis %s: %s\n", o.redis, err.msg);
        rc = XQ_EXIT_RUNTIME;
        goto out;
    }
    if ((rc = read_sources(b, o.examples, spec, &line, &prog)) != XQ_EXIT_OK)
        goto out;
    rc = XQ_EXIT_USAGE;
    if (xq_exbuild_finish(b, &x, &err) != XQ_OK) {
        fprintf(stderr, "\nexplainq index build: %s: %s\n", err.field, err.msg);
        goto out;
    }
    show(&prog, x->id_cnt, true);
    rc = XQ_EXIT_RUNTIME;
    if (xq_exindex_put(r, x, o.chunk_bytes, id, &err) != XQ_OK ||
        xq_redis_put_spec(r, spec, &err) != XQ_OK ||
        xq_exindex_set_latest(r, spec->id, id, &err) != XQ_OK) {
        fprintf(stderr, "explainq index build: redis %s: %s\n", o.redis, err.msg);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr,
            "index build: %zu examples, dimension %zu, %s, %s, neighborCount %u, %.1f s; "
            "spec %s\n",
            x->id_cnt, xq_index_dim(x->index), metric_name(xq_index_metric(x->index)),
            query_name(xq_index_query(x->index)), x->neighbor_count,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, spec->id);
    printf("%s\n", id);
    rc = XQ_EXIT_OK;
out:
    xq_redis_destroy(r);
    xq_exindex_destroy(x);
    xq_exbuild_destroy(b);
    xq_model_destroy(model);
    xq_spec_destroy(spec);
    return rc;
}

static int info(int argc, char **argv, const xq_conf_t *conf) {
    const char *url =
        argc == 5 && strcmp(argv[3], "--redis") == 0 ? argv[4] : xq_conf_str(conf, "redis.url");
    xq_exindex_t *x = NULL;
    xq_redis_t *r;
    xq_error_t err;
    int rc = XQ_EXIT_RUNTIME;

    if (argc != 3 && argc != 5) {
        xq_cli_usage(stderr, index_usage);
        return XQ_EXIT_USAGE;
    }
    if ((r = xq_cli_redis(conf, url, 5000, &err)) &&
        xq_exindex_get(r, argv[2], &x, &err) == XQ_OK) {
        printf("{\"id\":\"%s\",\"examples\":%zu,\"dimension\":%zu,\"metric\":\"%s\","
               "\"query\":\"%s\",\"neighborCount\":%u,\"crowdingTags\":%s}\n",
               argv[2], x->id_cnt, xq_index_dim(x->index), metric_name(xq_index_metric(x->index)),
               query_name(xq_index_query(x->index)), x->neighbor_count, x->tags ? "true" : "false");
        rc = XQ_EXIT_OK;
    } else {
        fprintf(stderr, "explainq index info: %s%s%s\n", err.field, err.field[0] ? ": " : "",
                err.msg);
    }
    xq_exindex_destroy(x);
    xq_redis_destroy(r);
    return rc;
}

int xq_cmd_index(int argc, char **argv) {
    xq_conf_t *conf;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            xq_cli_usage(stdout, index_usage);
            return XQ_EXIT_OK;
        }
    }
    if (!(conf = xq_cli_config("index", &argc, argv, environ, &rc)))
        return rc;
    if (argc >= 2 && !strcmp(argv[1], "build")) {
        rc = build(argc, argv, conf);
    } else if (argc >= 3 && !strcmp(argv[1], "info")) {
        rc = info(argc, argv, conf);
    } else {
        xq_cli_usage(stderr, index_usage);
        rc = XQ_EXIT_USAGE;
    }
    xq_conf_destroy(conf);
    return rc;
}
