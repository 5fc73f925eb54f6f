/* itest.h -- the soft assertion the integration programs share: count failures, keep going. */
#ifndef XQ_ITEST_H
#define XQ_ITEST_H

#include <stdio.h>

/* Each program defines `static int failures;` and returns non-zero when it is. */
#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            failures++;                                                     \
        }                                                                   \
    } while (0)

#endif
