/* spec_helpers.h -- parsing specs from JSON in tests, and finding their errors. */
#ifndef XQ_TESTS_SPEC_HELPERS_H
#define XQ_TESTS_SPEC_HELPERS_H

#include "err.h"
#include "spec.h"

/** Parses @p json; fails the test, listing the errors, if it is invalid. Caller destroys. */
xq_spec_t *t_spec_ok(const char *json);

/** Parses @p json, expects it invalid, and returns the errors (caller finis @p errs). */
void t_spec_bad(const char *json, xq_errlist_t *errs);

/** Fails the test unless @p errs has an error at @p path whose message contains @p msg. */
void t_assert_error(const xq_errlist_t *errs, const char *path, const char *msg);

#endif /* XQ_TESTS_SPEC_HELPERS_H */
