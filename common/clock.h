/* clock.h -- a monotonic clock in milliseconds, for timeouts, backoff and rates. */
#ifndef XQ_CLOCK_H
#define XQ_CLOCK_H

/** Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
long long xq_now_ms(void);

/** Microseconds of CLOCK_MONOTONIC: to time work shorter than a millisecond adds up to. */
long long xq_now_us(void);

#endif /* XQ_CLOCK_H */
