/* log.h -- one-line, thread-safe logging to stderr with levels and components. */
#ifndef XQ_LOG_H
#define XQ_LOG_H

typedef enum xq_log_level {
    XQ_LOG_DEBUG = 0,
    XQ_LOG_INFO = 1,
    XQ_LOG_WARN = 2,
    XQ_LOG_ERROR = 3,
} xq_log_level_t;

typedef enum xq_log_format {
    XQ_LOG_FORMAT_TEXT = 0, /* 2026-11-23T08:37:00.123Z WARN kafka message */
    XQ_LOG_FORMAT_JSON = 1, /* {"time":...,"level":...,"component":...,"message":...} */
} xq_log_format_t;

/*
 * The log level and format are process settings that worker/ sets once at
 * start-up, before any thread runs; reading them is then race-free.
 */
void xq_log_set_level(xq_log_level_t level);
xq_log_level_t xq_log_get_level(void);
void xq_log_set_format(xq_log_format_t format);

/**
 * The process's own id (a worker's worker.id), added to every JSON line as
 * "worker_id"; copied (at most 127 bytes kept). Set once at start-up like the
 * level; NULL or "" removes it.
 */
void xq_log_set_worker_id(const char *id);

/** Level name ("debug", "info", ...) to level; -1 when unknown. */
int xq_log_level_parse(const char *name);

/** Format name ("text", "json") to format; -1 when unknown. */
int xq_log_format_parse(const char *name);

/** Formats and writes one line with a single write(2); safe from any thread. */
void xq_log_impl(xq_log_level_t level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** xq_log_impl() about one job: JSON lines carry "job_id" (text lines are unchanged). */
void xq_log_job_impl(xq_log_level_t level, const char *comp, const char *job, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Tests the level before evaluating the arguments (redis serverLog). */
#define xq_log(level, comp, ...)                       \
    do {                                               \
        if ((level) >= xq_log_get_level())             \
            xq_log_impl((level), (comp), __VA_ARGS__); \
    } while (0)

/** xq_log() for a line about the job @p job (its id; NULL or "" for none). */
#define xq_log_job(level, comp, job, ...)                         \
    do {                                                          \
        if ((level) >= xq_log_get_level())                        \
            xq_log_job_impl((level), (comp), (job), __VA_ARGS__); \
    } while (0)

/**
 * An invariant that stays checked in release builds (redis serverAssert): on
 * failure logs file:line and the expression, then abort()s. Input errors are
 * never asserts (see err.h).
 */
#define XQ_ASSERT(expr)                                \
    do {                                               \
        if (!(expr))                                   \
            xq_assert_fail(__FILE__, __LINE__, #expr); \
    } while (0)

/** Logs the failed assertion and aborts; use XQ_ASSERT(). */
void xq_assert_fail(const char *file, int line, const char *expr) __attribute__((noreturn));

#endif /* XQ_LOG_H */
