/* signals.h -- SIGTERM/SIGINT set a flag the daemons' loops poll; a second one exits at once. */
#ifndef XQ_WORKER_SIGNALS_H
#define XQ_WORKER_SIGNALS_H

#include <signal.h>

/** 1 while the daemon should run; the handlers only clear it (docs/internals.md). */
extern volatile sig_atomic_t xq_run_flag;

/** Installs the handlers for SIGTERM and SIGINT. */
void xq_signals_install(void);

#endif /* XQ_WORKER_SIGNALS_H */
