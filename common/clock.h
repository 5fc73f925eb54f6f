/* clock.h -- a monotonic clock in milliseconds, for timeouts, backoff and rates. */
#ifndef XQ_CLOCK_H
#define XQ_CLOCK_H

/** Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
long long xq_now_ms(void);

#endif /* XQ_CLOCK_H */
