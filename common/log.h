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
    XQ_LOG_FORMAT_JSON = 1, /* {"ts":...,"level":...,"comp":...,"msg":...} */
} xq_log_format_t;

/*
 * The log level and format are process settings that worker/ sets once at
 * start-up, before any thread runs; reading them is then race-free.
 */
void xq_log_set_level(xq_log_level_t level);
xq_log_level_t xq_log_get_level(void);
void xq_log_set_format(xq_log_format_t format);

/** Level name ("debug", "info", ...) to level; -1 when unknown. */
int xq_log_level_parse(const char *name);

/** Formats and writes one line with a single write(2); safe from any thread. */
void xq_log_impl(xq_log_level_t level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Tests the level before evaluating the arguments (redis serverLog). */
#define xq_log(level, comp, ...)                       \
    do {                                               \
        if ((level) >= xq_log_get_level())             \
            xq_log_impl((level), (comp), __VA_ARGS__); \
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
