/* cli.c -- helpers the subcommands share. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "models/load.h"
#include "spec.h"
#include "vertex.h"

uint8_t *xq_cli_read_file(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    xq_buf_t b;
    size_t n;

    if (!f) {
        fprintf(stderr, "explainq: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    xq_buf_init(&b);
    do {
        xq_buf_reserve(&b, 65536);
        n = fread(b.data + b.len, 1, 65536, f);
        b.len += n;
    } while (n > 0 && b.len <= XQ_CLI_MAX_FILE);
    if (ferror(f) || b.len > XQ_CLI_MAX_FILE) {
        fprintf(stderr, "explainq: cannot read %s: %s\n", path,
                ferror(f) ? strerror(errno) : "file larger than 256 MiB");
        xq_buf_fini(&b);
        if (f != stdin)
            fclose(f);
        return NULL;
    }
    if (f != stdin)
        fclose(f);
    xq_buf_cstr(&b);
    return xq_buf_detach(&b, len);
}

void xq_cli_print_errors(const xq_errlist_t *errs) {
    for (size_t i = 0; i < errs->cnt; i++) {
        const xq_error_t *e = &errs->items[i];

        if (e->field[0])
            fprintf(stderr, "%s: %s\n", e->field, e->msg);
        else
            fprintf(stderr, "%s\n", e->msg);
    }
    if (errs->dropped)
        fprintf(stderr, "... and %zu more errors\n", errs->dropped);
}

xq_spec_t *xq_cli_load_spec(const char *cmd, const char *path) {
    return xq_cli_load_spec_parts(cmd, path, NULL, NULL);
}

xq_spec_t *
xq_cli_load_spec_parts(const char *cmd, const char *path, const char *meta, const char *params) {
    const char *paths[3] = {path, meta, params};
    uint8_t *buf[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;

    xq_errlist_init(&errs);
    for (int i = 0; i < 3; i++) {
        if (paths[i] && !(buf[i] = xq_cli_read_file(paths[i], &len[i])))
            goto out;
    }
    if (xq_vertex_spec_parse(buf[0], len[0], buf[1], len[1], buf[2], len[2], &spec, &errs) !=
        XQ_OK) {
        if (cmd)
            fprintf(stderr, "explainq %s: invalid spec %s:\n", cmd,
                    path     ? path
                    : params ? params
                             : meta);
        xq_cli_print_errors(&errs);
    }
out:
    xq_errlist_fini(&errs);
    for (int i = 0; i < 3; i++)
        xq_free(buf[i]);
    return spec;
}

bool xq_cli_parse_u64(const char *s, uint64_t *v) {
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' && s[0] != '-';
}

bool xq_cli_log_apply(const char *level, const char *format, xq_error_t *err) {
    int l = level ? xq_log_level_parse(level) : (int)xq_log_get_level();
    int f = format ? xq_log_format_parse(format) : 0;

    if (l < 0) {
        xq_error_set(err, XQ_EINVAL, "log.level", "\"%s\" is not one of debug, info, warn, error",
                     level);
        return false;
    }
    if (f < 0) {
        xq_error_set(err, XQ_EINVAL, "log.format", "\"%s\" is not one of text, json", format);
        return false;
    }
    xq_log_set_level((xq_log_level_t)l);
    if (format)
        xq_log_set_format((xq_log_format_t)f);
    return true;
}

bool xq_cli_log_args(int *argc, char **argv, char *const *envp) {
    const char *level = NULL, *format = NULL;
    xq_error_t err;
    int out = 1;

    for (; envp && *envp; envp++) {
        if (!strncmp(*envp, "EXPLAINQ_LOG_LEVEL=", 19))
            level = *envp + 19;
        else if (!strncmp(*envp, "EXPLAINQ_LOG_FORMAT=", 20))
            format = *envp + 20;
    }
    for (int i = 1; i < *argc; i++) {
        const char *v = i + 1 < *argc ? argv[i + 1] : "";

        if (!strcmp(argv[i], "-X") && !strncmp(v, "log.level=", 10)) {
            level = v + 10;
            i++;
        } else if (!strcmp(argv[i], "-X") && !strncmp(v, "log.format=", 11)) {
            format = v + 11;
            i++;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    if (!xq_cli_log_apply(level, format, &err)) {
        fprintf(stderr, "explainq: %s: %s\n", err.field, err.msg);
        return false;
    }
    return true;
}

void xq_cli_usage(FILE *f, const char *usage) {
    size_t k = strlen(XQ_CLI_BACKENDS);
    const char *at;
    char names[256];

    xq_backend_list(names, sizeof(names));
    while ((at = strstr(usage, XQ_CLI_BACKENDS))) {
        fwrite(usage, 1, (size_t)(at - usage), f);
        fputs(names, f);
        usage = at + k;
    }
    fputs(usage, f);
}
