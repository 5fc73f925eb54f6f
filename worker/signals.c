/* signals.c -- the run flag and its handlers (worker/ owns the process, so the global lives here).
 */
#include "signals.h"

#include <string.h>
#include <unistd.h>

volatile sig_atomic_t xq_run_flag = 1;

static void on_term(int sig) {
    if (!xq_run_flag)
        _exit(128 + sig); /* second signal: give up now */
    xq_run_flag = 0;
}

void xq_signals_install(void) {
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}
