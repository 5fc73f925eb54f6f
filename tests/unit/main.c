/* main.c -- runs every registered Check suite; exits with the number of failures. */
#include <stdlib.h>

#include <check.h>

#include "suites.h"

int main(void) {
    SRunner *sr = srunner_create(NULL);
    int failed;

#define XQ_SUITE_ADD(name) srunner_add_suite(sr, name##_suite());
    XQ_SUITES(XQ_SUITE_ADD)
#undef XQ_SUITE_ADD
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
