/* main.c -- the explainq binary: subcommand dispatch. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"

extern char **environ;

#define XQ_VERSION "0.1.0"

static const char usage[] =
    "usage: explainq <command> [args]\n"
    "\n"
    "explainq explains machine-learning predictions at scale: it takes Vertex AI's\n"
    "ExplanationSpec as it is and returns the same Attribution results.\n"
    "\n"
    "commands:\n"
    "  spec validate FILE   check an ExplanationSpec; print it normalized, or every error\n"
    "  spec id FILE         print a spec's id (hex SHA-256 of its canonical form)\n"
    "  explain              explain instances in-process (--spec, --model, --instances)\n"
    "  runner               serve a model to the workers over Kafka (--model, --name)\n"
    "  topics create T...   create Kafka topics with the partitions wanted\n"
    "  worker               the explain worker: jobs from Kafka, results to Kafka\n"
    "  submit               split instances into explain jobs and publish them\n"
    "  collect              read results back as JSON lines\n"
    "  status [JOB]         a job's progress, or the workers' consumer lag\n"
    "  index build|info     build an example index into Redis (--spec, --model, --examples)\n"
    "  render               write an image attribution's picture to a PNG file\n"
    "  gateway              Vertex AI's REST prediction API (:explain, :predict) over workers\n"
    "  batch                run a Vertex BatchPredictionJob file on local files\n"
    "  model info FILE|URL  a model's tensors, operators and whether gradients work\n"
    "  dev-broker           an in-process Kafka for trying explainq (not production)\n"
    "\n"
    "  explainq <command> --help   describes one command\n"
    "  explainq --version          prints the version and the library versions\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command_t;

static const command_t commands[] = {
    {"spec", xq_cmd_spec},       {"explain", xq_cmd_explain}, {"runner", xq_cmd_runner},
    {"topics", xq_cmd_topics},   {"worker", xq_cmd_worker},   {"submit", xq_cmd_submit},
    {"collect", xq_cmd_collect}, {"status", xq_cmd_status},   {"dev-broker", xq_cmd_dev_broker},
    {"index", xq_cmd_index},     {"render", xq_cmd_render},   {"gateway", xq_cmd_gateway},
    {"batch", xq_cmd_batch},     {"model", xq_cmd_model},
};

int main(int argc, char **argv) {
    /* hiredis and librdkafka write to sockets: a closed peer must not kill us */
    signal(SIGPIPE, SIG_IGN);

    if (argc < 2) {
        fputs(usage, stderr);
        return XQ_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return XQ_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("explainq %s (librdkafka %s)\n", XQ_VERSION, rd_kafka_version_str());
        return XQ_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        int sub_argc = argc - 1;

        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        {
            /* -X log.level / log.format for every command; those with the option table
             * (worker, runner, submit, collect, status, topics, index) read them from it */
            char tok[80];

            snprintf(tok, sizeof(tok), " %.60s ", argv[1]);
            if (!strstr(" worker runner submit collect status topics index ", tok) &&
                !xq_cli_log_args(&sub_argc, argv + 1, environ))
                return XQ_EXIT_USAGE;
        }
        return commands[i].run(sub_argc, argv + 1);
    }
    fprintf(stderr, "explainq: unknown command '%s'\n\n%s", argv[1], usage);
    return XQ_EXIT_USAGE;
}
