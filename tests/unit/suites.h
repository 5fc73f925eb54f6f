/* suites.h -- the registry of unit-test suites (one X line per tests/unit/test_<module>.c). */
#ifndef XQ_TESTS_SUITES_H
#define XQ_TESTS_SUITES_H

#include <check.h>

#define XQ_SUITES(X) \
    X(err)           \
    X(mem)           \
    X(sha256)        \
    X(mp)            \
    X(json)          \
    X(numfmt)        \
    X(spec)          \
    X(spec_rules)    \
    X(ig)            \
    X(shapley)       \
    X(layout)        \
    X(outputs)       \
    X(engine)        \
    X(onnx)          \
    X(ort)           \
    X(xgboost)       \
    X(codec)         \
    X(conf)          \
    X(job)           \
    X(index)         \
    X(examples)      \
    X(xrai)          \
    X(parts)         \
    X(idset)         \
    X(offsets)       \
    X(instances)     \
    X(vertex)        \
    X(batchjob)      \
    X(picture)       \
    X(metrics)       \
    X(log)           \
    X(clock)         \
    X(registry)      \
    X(load)          \
    X(names)         \
    X(rowsched)      \
    X(compact)

#define XQ_SUITE_DECL(name) Suite *name##_suite(void);
XQ_SUITES(XQ_SUITE_DECL)
#undef XQ_SUITE_DECL

#endif /* XQ_TESTS_SUITES_H */
