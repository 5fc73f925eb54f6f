/* redis.h -- the Redis client explainq uses: reconnects with backoff, typed helpers, spec cache. */
#ifndef XQ_REDIS_H
#define XQ_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"
#include "names.h"
#include "spec.h"

typedef struct xq_redis xq_redis_t; /* opaque */

/** Key prefix of cached specs (docs/design.md §3): explainq:spec:<id> (common/names.h). */
#define XQ_REDIS_SPEC_PREFIX XQ_KEY_SPEC

/** Largest value xq_redis_get() accepts; a larger one is an error, not an allocation. */
#define XQ_REDIS_MAX_VALUE (64u << 20)

/**
 * Creates a client for @p url ("host:port" or "redis://host[:port]", port
 * 6379 by default). It connects on first use; every command waits at most
 * @p timeout_ms. After a connection fails or drops, the next calls fail fast
 * with XQ_EREDIS until a backoff (100 ms doubling to 5 s, with jitter) has
 * passed, and then reconnect.
 *
 * @returns a new client (free with xq_redis_destroy()), or NULL with @p err
 *          set when @p url cannot be parsed.
 */
xq_redis_t *xq_redis_new(const char *url, int timeout_ms, xq_error_t *err);

/**
 * Credentials and database for every connection of @p r (strings copied):
 * AUTH [user] password (Redis 6 ACL users, or requirepass without @p user)
 * when @p password is non-empty, then SELECT @p db when it is not 0. A
 * refusal is an XQ_EREDIS error of the command that connects, naming the
 * option. @returns XQ_EINVAL for a user without a password, too-long values
 * or a negative @p db.
 */
xq_err_t
xq_redis_set_auth(xq_redis_t *r, const char *user, const char *password, int db, xq_error_t *err);

/** Closes the connection and frees @p r; NULL is a no-op. */
void xq_redis_destroy(xq_redis_t *r);

/** PING. @returns XQ_OK, or XQ_EREDIS with the reason in @p err. */
xq_err_t xq_redis_ping(xq_redis_t *r, xq_error_t *err);

/** SET @p key to the @p len bytes at @p val, with a TTL when @p ttl_ms > 0. */
xq_err_t xq_redis_set(
    xq_redis_t *r, const char *key, const uint8_t *val, size_t len, long ttl_ms, xq_error_t *err);

/**
 * SET @p key @p val NX GET PX @p ttl_ms: claims @p key unless it is held.
 * @p holder is emptied when the claim was taken, else filled with the value
 * of whoever holds it. Needs Redis 7 (SET ... NX GET).
 *
 * @returns XQ_OK either way, or XQ_EREDIS.
 */
xq_err_t xq_redis_claim(xq_redis_t *r,
                        const char *key,
                        const char *val,
                        long ttl_ms,
                        xq_buf_t *holder,
                        xq_error_t *err);

/**
 * GET @p key into @p out (replacing its contents).
 *
 * @returns XQ_OK, XQ_ENOTFOUND when the key does not exist, XQ_ELIMIT for a
 *          value over XQ_REDIS_MAX_VALUE, or XQ_EREDIS.
 */
xq_err_t xq_redis_get(xq_redis_t *r, const char *key, xq_buf_t *out, xq_error_t *err);

/** HSET @p key with @p n field/value pairs, then a TTL when @p ttl_ms > 0 (one round trip). */
xq_err_t xq_redis_hset(xq_redis_t *r,
                       const char *key,
                       const char *const *fields,
                       const char *const *values,
                       size_t n,
                       long ttl_ms,
                       xq_error_t *err);

/**
 * Like xq_redis_hset(), but does not wait for the replies: they are read before the next
 * command's (or once 256 are owed). For writes that are best effort (job progress):
 * a failure is logged, never reported, and a lost connection drops them.
 */
void xq_redis_hset_nowait(xq_redis_t *r,
                          const char *key,
                          const char *const *fields,
                          const char *const *values,
                          size_t n,
                          long ttl_ms);

/**
 * HGETALL @p key into @p out as "field=value" lines.
 * @returns XQ_OK, XQ_ENOTFOUND for an absent key, or XQ_EREDIS.
 */
xq_err_t xq_redis_hgetall(xq_redis_t *r, const char *key, xq_buf_t *out, xq_error_t *err);

/** DEL @p key (absent is fine). */
xq_err_t xq_redis_del(xq_redis_t *r, const char *key, xq_error_t *err);

/** Stores the canonical encoding of @p spec under explainq:spec:<id> (no TTL: ids never change). */
xq_err_t xq_redis_put_spec(xq_redis_t *r, const xq_spec_t *spec, xq_error_t *err);

/**
 * Loads and re-validates the spec stored under @p id.
 *
 * @returns XQ_OK and a new spec in @p *out (caller frees with
 *          xq_spec_destroy()); XQ_ENOTFOUND for an unknown id; XQ_ESPEC when
 *          the stored bytes are not a valid spec or not the one @p id names.
 */
xq_err_t xq_redis_get_spec(xq_redis_t *r, const char *id, xq_spec_t **out, xq_error_t *err);

#endif /* XQ_REDIS_H */
