/* cli.h -- helpers the subcommands share: reading inputs, printing errors, exit codes. */
#ifndef XQ_WORKER_CLI_H
#define XQ_WORKER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

/* Exit codes (CONTRIBUTING.md "Errors"). */
#define XQ_EXIT_OK      0
#define XQ_EXIT_RUNTIME 1
#define XQ_EXIT_USAGE   2

/** Largest input file the CLI reads whole (specs, instance files are streamed). */
#define XQ_CLI_MAX_FILE (256u << 20)

/**
 * Reads all of @p path ("-" = stdin) into a new buffer (caller frees with
 * xq_free()), NUL-terminated past @p *len. On failure prints
 * "explainq: cannot read PATH: reason" and returns NULL.
 */
uint8_t *xq_cli_read_file(const char *path, size_t *len);

/**
 * Reads and validates the ExplanationSpec at @p path (JSON or msgpack). On
 * failure prints "explainq CMD: invalid spec PATH:" (unless @p cmd is NULL,
 * for `spec validate`, whose output is the errors alone) and every error, and
 * returns NULL; else a new spec (caller frees with xq_spec_destroy()).
 */
struct xq_spec *xq_cli_load_spec(const char *cmd, const char *path);

/**
 * As xq_cli_load_spec(), from a spec (or a Model resource with
 * explanationSpec) at @p path and/or its halves: ExplanationMetadata at
 * @p meta and ExplanationParameters at @p params (each may be NULL; see
 * xq_vertex_spec_parse()).
 */
struct xq_spec *
xq_cli_load_spec_parts(const char *cmd, const char *path, const char *meta, const char *params);

/** Reads a decimal unsigned integer, the whole of @p s; false on anything else or overflow. */
bool xq_cli_parse_u64(const char *s, uint64_t *v);

/**
 * The log options every command takes: EXPLAINQ_LOG_LEVEL / EXPLAINQ_LOG_FORMAT
 * from @p envp, then `-X log.level=L` / `-X log.format=F` arguments, which are
 * taken out of @p argv (so a command passing -X on to librdkafka never sees
 * them). Applies them to the process log. @returns false after printing a
 * message naming the bad option.
 */
bool xq_cli_log_args(int *argc, char **argv, char *const *envp);

/** Applies log.level=@p level and log.format=@p format; false with @p err naming the bad one. */
bool xq_cli_log_apply(const char *level, const char *format, xq_error_t *err);

/** Prints every error of @p errs as "path: message" lines on stderr. */
void xq_cli_print_errors(const xq_errlist_t *errs);

/** What a usage text says where the model backends' names go (common/models/load.h). */
#define XQ_CLI_BACKENDS "@BACKENDS@"

/**
 * Writes the usage text @p usage to @p f with each XQ_CLI_BACKENDS replaced by the
 * names of the backend table ("onnx, onnx-interp, ... or dense"), so no usage
 * text lists the backends by hand.
 */
void xq_cli_usage(FILE *f, const char *usage);

/** The subcommands; each returns a process exit code. */
int xq_cmd_spec(int argc, char **argv);
int xq_cmd_explain(int argc, char **argv);
int xq_cmd_runner(int argc, char **argv);
int xq_cmd_topics(int argc, char **argv);
int xq_cmd_worker(int argc, char **argv);
int xq_cmd_submit(int argc, char **argv);
int xq_cmd_collect(int argc, char **argv);
int xq_cmd_status(int argc, char **argv);
int xq_cmd_dev_broker(int argc, char **argv);
int xq_cmd_index(int argc, char **argv);
int xq_cmd_model(int argc, char **argv);
int xq_cmd_render(int argc, char **argv);
int xq_cmd_gateway(int argc, char **argv);
int xq_cmd_batch(int argc, char **argv);

#endif /* XQ_WORKER_CLI_H */
