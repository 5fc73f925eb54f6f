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

void xq_log_impl(xq_log_level_t level, const char *comp, const char *fmt, ...) {
    char line[2048], msg[1536], ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;
    size_t n;
    int k;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if ((unsigned)level > XQ_LOG_ERROR)
        level = XQ_LOG_ERROR;

    if (log_format == XQ_LOG_FORMAT_JSON) {
        k = snprintf(line, sizeof(line), "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"comp\":\"", ts,
                     now.tv_nsec / 1000000, level_names[level]);
        n = (size_t)k;
        append_json_str(line, &n, sizeof(line) - 16, comp);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"msg\":\"");
        append_json_str(line, &n, sizeof(line) - 4, msg);
        line[n++] = '"';
        line[n++] = '}';
    } else {
        k = snprintf(line, sizeof(line), "%s.%03ldZ %s %s %s", ts, now.tv_nsec / 1000000,
                     level_tags[level], comp, msg);
        n = k < 0 ? 0 : ((size_t)k >= sizeof(line) - 1 ? sizeof(line) - 2 : (size_t)k);
    }
    line[n++] = '\n';
    /* one write(2) so lines from librdkafka's threads never interleave */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void xq_assert_fail(const char *file, int line, const char *expr) {
    xq_log_impl(XQ_LOG_ERROR, "assert", "%s:%d: assertion failed: %s", file, line, expr);
    abort();
}
