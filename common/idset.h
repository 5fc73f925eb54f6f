/* idset.h -- the job ids a worker answered lately: bounded memory, no per-id allocation. */
#ifndef XQ_IDSET_H
#define XQ_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Keys and holders are 64-bit hashes (of a job id, and of the message that
 * first carried it). The set remembers at least the last @p window keys and
 * at most twice as many: two generations, the older dropped whole when the
 * newer is full.
 */
typedef struct xq_idset xq_idset_t;

/** A set remembering @p window keys (0: remembers nothing, every claim succeeds). */
xq_idset_t *xq_idset_new(size_t window);
void xq_idset_destroy(xq_idset_t *s);

/**
 * Claims @p key for @p holder (non-zero). @returns true when the key was
 * free, released, or held by @p holder already; false when another holder
 * has it.
 */
bool xq_idset_claim(xq_idset_t *s, uint64_t key, uint64_t holder);

/** Frees @p key for the next claim (its job's answer did not stick). */
void xq_idset_release(xq_idset_t *s, uint64_t key);

#endif /* XQ_IDSET_H */
