/* log.c -- one-line, thread-safe logging to stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The only process-wide state of libexplainq: like the terminal it writes to,
 * the log is one per process. Set once at start-up (see log.h).
 */
static xq_log_level_t log_level = XQ_LOG_INFO;
static xq_log_format_t log_format = XQ_LOG_FORMAT_TEXT;
static char log_worker_id[128];

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const level_tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void xq_log_set_level(xq_log_level_t level) {
    log_level = level;
}

xq_log_level_t xq_log_get_level(void) {
    return log_level;
}

void xq_log_set_format(xq_log_format_t format) {
    log_format = format;
}

void xq_log_set_worker_id(const char *id) {
    snprintf(log_worker_id, sizeof(log_worker_id), "%s", id ? id : "");
}

int xq_log_format_parse(const char *name) {
    if (strcmp(name, "text") == 0)
        return XQ_LOG_FORMAT_TEXT;
    if (strcmp(name, "json") == 0)
        return XQ_LOG_FORMAT_JSON;
    return -1;
}

int xq_log_level_parse(const char *name) {
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0)
            return i;
    }
    return -1;
}

/* Appends @p s JSON-escaped into line[*n..cap). */
static void append_json_str(char *line, size_t *n, size_t cap, const char *s) {
    for (; *s && *n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            line[(*n)++] = '\\';
            line[(*n)++] = (char)c;
        } else if (c < 0x20) {
            *n += (size_t)snprintf(line + *n, cap - *n, "\\u%04x", c);
        } else {
            line[(*n)++] = (char)c;
        }
    }
}

/* Formats one line of @p msg into @p line (cap bytes); @returns its length, '\n' included. */
static size_t format_line(char *line,
                          size_t cap,
                          xq_log_level_t level,
                          const char *comp,
                          const char *job,
                          const char *msg) {
    char ts[32];
    struct timespec now;
    struct tm tm;
    size_t n;
    int k;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    if (log_format != XQ_LOG_FORMAT_JSON) {
        k = snprintf(line, cap, "%s.%03ldZ %s %s %s", ts, now.tv_nsec / 1000000, level_tags[level],
                     comp, msg);
        n = k < 0 ? 0 : ((size_t)k >= cap - 1 ? cap - 2 : (size_t)k);
        line[n++] = '\n';
        return n;
    }
    /* room is kept at every step for the closing "}\n" and the fields after the message */
    k = snprintf(line, cap, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"component\":\"", ts,
                 now.tv_nsec / 1000000, level_names[level]);
    n = (size_t)k;
    append_json_str(line, &n, cap - 400, comp);
    n += (size_t)snprintf(line + n, cap - n, "\"");
    if (log_worker_id[0]) {
        n += (size_t)snprintf(line + n, cap - n, ",\"worker_id\":\"");
        append_json_str(line, &n, cap - 280, log_worker_id);
        line[n++] = '"';
    }
    if (job && job[0]) {
        n += (size_t)snprintf(line + n, cap - n, ",\"job_id\":\"");
        append_json_str(line, &n, cap - 260, job);
        line[n++] = '"';
    }
    n += (size_t)snprintf(line + n, cap - n, ",\"message\":\"");
    append_json_str(line, &n, cap - 4, msg);
    line[n++] = '"';
    line[n++] = '}';
    line[n++] = '\n';
    return n;
}

static void
log_v(xq_log_level_t level, const char *comp, const char *job, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void
log_v(xq_log_level_t level, const char *comp, const char *job, const char *fmt, va_list ap) {
    char line[2560], msg[1536];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if ((unsigned)level > XQ_LOG_ERROR)
        level = XQ_LOG_ERROR;
    n = format_line(line, sizeof(line), level, comp ? comp : "-", job, msg);
    /* one write(2) so lines from librdkafka's threads never interleave */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void xq_log_impl(xq_log_level_t level, const char *comp, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    log_v(level, comp, NULL, fmt, ap);
    va_end(ap);
}

void xq_log_job_impl(
    xq_log_level_t level, const char *comp, const char *job, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    log_v(level, comp, job, fmt, ap);
    va_end(ap);
}

void xq_assert_fail(const char *file, int line, const char *expr) {
    xq_log_impl(XQ_LOG_ERROR, "assert", "%s:%d: assertion failed: %s", file, line, expr);
    abort();
}
