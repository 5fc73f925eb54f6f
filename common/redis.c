/* redis.c -- hiredis 0.14 wrapper: lazy connect, reconnect with backoff, no redisReply leaks out.
 */
#include "redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "log.h"
#include "names.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct xq_redis {
    char host[256];
    int port;
    int timeout_ms;
    redisContext *c;               /* NULL while disconnected */
    long backoff_ms;               /* current reconnect delay; 0 after a success */
    long long retry_at_ms;         /* no connection attempt before this (monotonic) */
    uint64_t jitter;               /* xorshift state for the backoff jitter */
    char errstr[XQ_ERRSTR_SIZE];   /* why the last connection failed or dropped */
    char user[128], password[256]; /* AUTH after connecting, when password is set */
    int db;                        /* SELECT after connecting, when not 0 */
    size_t pending;                /* replies owed to commands sent without waiting */
};

/* Most replies left owed (xq_redis_hset_nowait()) before they are read. */
#define PENDING_MAX 256

static bool parse_url(const char *url, char *host, size_t host_size, int *port) {
    const char *h = url, *colon;
    size_t hlen;

    if (strncmp(h, "redis://", 8) == 0)
        h += 8;
    colon = strrchr(h, ':');
    hlen = colon ? (size_t)(colon - h) : strlen(h);
    if (!hlen || hlen >= host_size)
        return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = 6379;
    if (colon) {
        char *end;
        long p;

        errno = 0;
        p = strtol(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end != '\0' || p < 1 || p > 65535)
            return false;
        *port = (int)p;
    }
    return true;
}

xq_redis_t *xq_redis_new(const char *url, int timeout_ms, xq_error_t *err) {
    xq_redis_t *r = xq_calloc(1, sizeof(*r));

    if (!parse_url(url, r->host, sizeof(r->host), &r->port)) {
        xq_error_set(err, XQ_EINVAL, "redis.url", "\"%s\" is not host:port", url);
        xq_free(r);
        return NULL;
    }
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    r->jitter = (uint64_t)xq_now_ms() * 2654435761u + (uint64_t)(uintptr_t)r;
    return r;
}

void xq_redis_destroy(xq_redis_t *r) {
    if (!r)
        return;
    if (r->c)
        redisFree(r->c);
    xq_free(r);
}

/* Drops the connection and schedules the next attempt. */
static void disconnect(xq_redis_t *r, const char *why) {
    long jitter;

    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
    r->pending = 0; /* owed by the connection that is gone */
    snprintf(r->errstr, sizeof(r->errstr), "%s", why);
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (r->backoff_ms > BACKOFF_MAX_MS)
        r->backoff_ms = BACKOFF_MAX_MS;
    r->jitter ^= r->jitter << 13;
    r->jitter ^= r->jitter >> 7;
    r->jitter ^= r->jitter << 17;
    jitter = (long)(r->jitter % (uint64_t)(r->backoff_ms / 2 + 1));
    r->retry_at_ms = xq_now_ms() + r->backoff_ms / 2 + jitter;
    xq_log(XQ_LOG_WARN, "redis", "connection to %s:%d lost: %s; retry in %ld ms", r->host, r->port,
           why, (long)(r->retry_at_ms - xq_now_ms()));
}

/* The connection failed mid-command (hiredis cannot reuse its context): dropped, and the reason
 * kept in r->errstr. */
static void drop_broken(xq_redis_t *r) {
    char why[XQ_ERRSTR_SIZE];

    snprintf(why, sizeof(why), "%s", r->c->errstr[0] ? r->c->errstr : "connection closed");
    disconnect(r, why);
}

/* One command of the connection's set-up; false (the reason in @p why) on an error reply. */
static bool setup_command(xq_redis_t *r, int argc, const char **argv, char *why, size_t len) {
    redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
    bool ok = rep && rep->type != REDIS_REPLY_ERROR;

    if (!rep)
        snprintf(why, len, "%s: %s", argv[0], r->c->errstr);
    else if (!ok)
        snprintf(why, len, "%s: %.*s", argv[0], (int)rep->len, rep->str);
    if (rep)
        freeReplyObject(rep);
    return ok;
}

/* AUTH and SELECT on a new connection; a refusal drops it (and is retried with backoff). */
static xq_err_t handshake(xq_redis_t *r, xq_error_t *err) {
    char why[XQ_ERRSTR_SIZE], db[16];
    const char *auth[] = {"AUTH", r->user, r->password}, *sel[] = {"SELECT", db};

    snprintf(db, sizeof(db), "%d", r->db);
    if ((r->password[0] && !(r->user[0] ? setup_command(r, 3, auth, why, sizeof(why))
                                        : setup_command(r, 2, (const char *[]){"AUTH", r->password},
                                                        why, sizeof(why)))) ||
        (r->db && !setup_command(r, 2, sel, why, sizeof(why)))) {
        disconnect(r, why);
        return xq_error_set(err, XQ_EREDIS,
                            r->db && strncmp(why, "AUTH", 4) ? "redis.db" : "redis.password",
                            "redis %s:%d: %s", r->host, r->port, why);
    }
    return XQ_OK;
}

xq_err_t
xq_redis_set_auth(xq_redis_t *r, const char *user, const char *password, int db, xq_error_t *err) {
    if ((user && strlen(user) >= sizeof(r->user)) ||
        (password && strlen(password) >= sizeof(r->password)))
        return xq_error_set(err, XQ_EINVAL, "redis.password",
                            "redis.user and redis.password take at most %zu and %zu bytes",
                            sizeof(r->user) - 1, sizeof(r->password) - 1);
    if (user && user[0] && !(password && password[0]))
        return xq_error_set(err, XQ_EINVAL, "redis.user", "redis.user needs redis.password");
    if (db < 0)
        return xq_error_set(err, XQ_EINVAL, "redis.db", "%d is not a database number", db);
    snprintf(r->user, sizeof(r->user), "%s", user ? user : "");
    snprintf(r->password, sizeof(r->password), "%s", password ? password : "");
    r->db = db;
    if (r->c)
        disconnect(r, "credentials changed");
    return XQ_OK;
}

static xq_err_t ensure_connected(xq_redis_t *r, xq_error_t *err) {
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};

    if (r->c)
        return XQ_OK;
    if (xq_now_ms() < r->retry_at_ms)
        return xq_error_set(err, XQ_EREDIS, "", "redis %s:%d unavailable: %s", r->host, r->port,
                            r->errstr);
    r->c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->c || r->c->err) {
        char why[XQ_ERRSTR_SIZE];

        snprintf(why, sizeof(why), "%s", r->c ? r->c->errstr : "cannot allocate context");
        disconnect(r, why);
        return xq_error_set(err, XQ_EREDIS, "", "cannot connect to redis %s:%d: %s", r->host,
                            r->port, why);
    }
    redisSetTimeout(r->c, tv);
    redisEnableKeepAlive(r->c);
    if (handshake(r, err) != XQ_OK)
        return XQ_EREDIS;
    /* the backoff resets after a command succeeds, not here: a server that accepts
     * connections but hangs would otherwise be retried at full rate */
    return XQ_OK;
}

/*
 * Reads the replies owed to commands sent without waiting, so the next reply read is the next
 * command's. They are best effort: an error reply is only logged.
 */
static xq_err_t drain(xq_redis_t *r, xq_error_t *err) {
    while (r->c && r->pending) {
        redisReply *rep = NULL;

        if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep) {
            drop_broken(r);
            return xq_error_set(err, XQ_EREDIS, "", "redis %s:%d: %s", r->host, r->port, r->errstr);
        }
        if (rep->type == REDIS_REPLY_ERROR)
            xq_log(XQ_LOG_WARN, "redis", "a command sent without waiting failed: %.*s",
                   (int)rep->len, rep->str);
        freeReplyObject(rep);
        r->pending--;
    }
    return XQ_OK;
}

/*
 * Runs one command; on success *reply is the reply (caller frees it) unless it
 * was a Redis error, which becomes XQ_EREDIS here.
 */
static xq_err_t command(xq_redis_t *r,
                        int argc,
                        const char **argv,
                        const size_t *argvlen,
                        redisReply **reply,
                        xq_error_t *err) {
    redisReply *rep;
    xq_err_t rc;

    if ((rc = ensure_connected(r, err)) != XQ_OK || (rc = drain(r, err)) != XQ_OK)
        return rc;
    rep = redisCommandArgv(r->c, argc, argv, argvlen);
    if (!rep) { /* hiredis: a NULL reply means the context cannot be reused */
        drop_broken(r);
        return xq_error_set(err, XQ_EREDIS, "", "redis %s failed: %s", argv[0], r->errstr);
    }
    if (r->backoff_ms)
        xq_log(XQ_LOG_INFO, "redis", "reconnected to %s:%d", r->host, r->port);
    r->backoff_ms = 0;
    if (rep->type == REDIS_REPLY_ERROR) {
        rc = xq_error_set(err, XQ_EREDIS, "", "redis %s: %.*s", argv[0], (int)rep->len, rep->str);
        freeReplyObject(rep);
        return rc;
    }
    *reply = rep;
    return XQ_OK;
}

xq_err_t xq_redis_ping(xq_redis_t *r, xq_error_t *err) {
    const char *argv[] = {"PING"};
    size_t argvlen[] = {4};
    redisReply *rep = NULL;
    xq_err_t rc;

    if ((rc = command(r, 1, argv, argvlen, &rep, err)) != XQ_OK)
        return rc;
    freeReplyObject(rep);
    return XQ_OK;
}

xq_err_t xq_redis_set(
    xq_redis_t *r, const char *key, const uint8_t *val, size_t len, long ttl_ms, xq_error_t *err) {
    const char *argv[5] = {"SET", key, (const char *)val, "PX", NULL};
    size_t argvlen[5] = {3, strlen(key), len, 2, 0};
    redisReply *rep = NULL;
    char ttl[32];
    xq_err_t rc;
    int argc = 3;

    if (ttl_ms > 0) {
        argvlen[4] = (size_t)snprintf(ttl, sizeof(ttl), "%ld", ttl_ms);
        argv[4] = ttl;
        argc = 5;
    }
    if ((rc = command(r, argc, argv, argvlen, &rep, err)) != XQ_OK)
        return rc;
    freeReplyObject(rep);
    return XQ_OK;
}

xq_err_t xq_redis_claim(xq_redis_t *r,
                        const char *key,
                        const char *val,
                        long ttl_ms,
                        xq_buf_t *holder,
                        xq_error_t *err) {
    const char *argv[] = {"SET", key, val, "NX", "GET", "PX", NULL};
    size_t argvlen[] = {3, strlen(key), strlen(val), 2, 3, 2, 0};
    redisReply *rep = NULL;
    char ttl[32];
    xq_err_t rc;

    argvlen[6] = (size_t)snprintf(ttl, sizeof(ttl), "%ld", ttl_ms > 0 ? ttl_ms : 1);
    argv[6] = ttl;
    if ((rc = command(r, 7, argv, argvlen, &rep, err)) != XQ_OK)
        return rc;
    holder->len = 0;
    if (rep->type == REDIS_REPLY_STRING)
        xq_buf_append(holder, rep->str, rep->len); /* held already: by whom */
    else if (rep->type != REDIS_REPLY_NIL)
        rc = xq_error_set(err, XQ_EREDIS, "", "redis SET NX GET: unexpected reply");
    freeReplyObject(rep);
    return rc;
}

xq_err_t xq_redis_get(xq_redis_t *r, const char *key, xq_buf_t *out, xq_error_t *err) {
    const char *argv[] = {"GET", key};
    size_t argvlen[] = {3, strlen(key)};
    redisReply *rep = NULL;
    xq_err_t rc;

    if ((rc = command(r, 2, argv, argvlen, &rep, err)) != XQ_OK)
        return rc;
    if (rep->type == REDIS_REPLY_NIL) {
        rc = xq_error_set(err, XQ_ENOTFOUND, "", "no redis key %s", key);
    } else if (rep->type != REDIS_REPLY_STRING) {
        rc = xq_error_set(err, XQ_EREDIS, "", "redis GET %s: unexpected reply type %d", key,
                          rep->type);
    } else if ((size_t)rep->len > XQ_REDIS_MAX_VALUE) {
        rc = xq_error_set(err, XQ_ELIMIT, "", "redis key %s holds %zu bytes, over the %u limit",
                          key, (size_t)rep->len, XQ_REDIS_MAX_VALUE);
    } else {
        out->len = 0;
        xq_buf_append(out, rep->str, (size_t)rep->len);
        rc = XQ_OK;
    }
    freeReplyObject(rep);
    return rc;
}

#define HSET_MAX 16

/*
 * Queues HSET @p key and, when @p ttl_ms > 0, PEXPIRE into the connection's output buffer
 * (argument strings are copied); @returns the commands queued, 0 when not connected.
 */
static size_t queue_hset(xq_redis_t *r,
                         const char *key,
                         const char *const *fields,
                         const char *const *values,
                         size_t n,
                         long ttl_ms,
                         xq_error_t *err) {
    const char *argv[2 + 2 * HSET_MAX];
    size_t argvlen[2 + 2 * HSET_MAX];
    char ttl[32];

    if (ensure_connected(r, err) != XQ_OK)
        return 0;
    argv[0] = "HSET";
    argvlen[0] = 4;
    argv[1] = key;
    argvlen[1] = strlen(key);
    for (size_t i = 0; i < n; i++) {
        argv[2 + 2 * i] = fields[i];
        argvlen[2 + 2 * i] = strlen(fields[i]);
        argv[3 + 2 * i] = values[i];
        argvlen[3 + 2 * i] = strlen(values[i]);
    }
    if (redisAppendCommandArgv(r->c, (int)(2 + 2 * n), argv, argvlen) != REDIS_OK)
        return 0;
    if (ttl_ms <= 0)
        return 1;
    argv[0] = "PEXPIRE";
    argvlen[0] = 7;
    argvlen[2] = (size_t)snprintf(ttl, sizeof(ttl), "%ld", ttl_ms);
    argv[2] = ttl;
    return redisAppendCommandArgv(r->c, 3, argv, argvlen) == REDIS_OK ? 2 : 1;
}

xq_err_t xq_redis_hset(xq_redis_t *r,
                       const char *key,
                       const char *const *fields,
                       const char *const *values,
                       size_t n,
                       long ttl_ms,
                       xq_error_t *err) {
    size_t queued;
    xq_err_t rc = XQ_OK;

    if (n > HSET_MAX)
        return xq_error_set(err, XQ_EINVAL, key, "at most %d fields", HSET_MAX);
    if (ensure_connected(r, err) != XQ_OK || drain(r, err) != XQ_OK)
        return XQ_EREDIS;
    if (!(queued = queue_hset(r, key, fields, values, n, ttl_ms, err))) {
        disconnect(r, "cannot queue a command");
        return xq_error_set(err, XQ_EREDIS, key, "redis HSET failed: cannot queue a command");
    }
    /* both replies in one round trip: the first read sends both commands */
    for (size_t i = 0; i < queued; i++) {
        redisReply *rep = NULL;

        if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep) {
            drop_broken(r);
            return xq_error_set(err, XQ_EREDIS, "", "redis HSET failed: %s", r->errstr);
        }
        if (rep->type == REDIS_REPLY_ERROR && rc == XQ_OK)
            rc = xq_error_set(err, XQ_EREDIS, "", "redis %s: %.*s", i ? "PEXPIRE" : "HSET",
                              (int)rep->len, rep->str);
        freeReplyObject(rep);
    }
    if (rc == XQ_OK)
        r->backoff_ms = 0;
    return rc;
}

void xq_redis_hset_nowait(xq_redis_t *r,
                          const char *key,
                          const char *const *fields,
                          const char *const *values,
                          size_t n,
                          long ttl_ms) {
    xq_error_t err;
    size_t queued;
    int done = 0;

    if (n > HSET_MAX || ensure_connected(r, &err) != XQ_OK ||
        (r->pending >= PENDING_MAX && drain(r, &err) != XQ_OK))
        return;
    if (!(queued = queue_hset(r, key, fields, values, n, ttl_ms, &err))) {
        disconnect(r, "cannot queue a command");
        return;
    }
    /* sent now (a few hundred bytes: the socket takes them), the replies read later */
    while (!done) {
        if (redisBufferWrite(r->c, &done) != REDIS_OK) {
            drop_broken(r);
            return;
        }
    }
    r->pending += queued;
}

xq_err_t xq_redis_hgetall(xq_redis_t *r, const char *key, xq_buf_t *out, xq_error_t *err) {
    const char *argv[] = {"HGETALL", key};
    size_t argvlen[] = {7, strlen(key)};
    redisReply *rep = NULL;
    xq_err_t rc;

    if ((rc = command(r, 2, argv, argvlen, &rep, err)) != XQ_OK)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY) {
        rc = xq_error_set(err, XQ_EREDIS, "", "redis HGETALL %s: unexpected reply", key);
    } else if (!rep->elements) {
        rc = xq_error_set(err, XQ_ENOTFOUND, "", "no redis key %s", key);
    } else {
        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
            const redisReply *f = rep->element[i], *v = rep->element[i + 1];

            if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING)
                xq_buf_appendf(out, "%.*s=%.*s\n", (int)f->len, f->str, (int)v->len, v->str);
        }
    }
    freeReplyObject(rep);
    return rc;
}

xq_err_t xq_redis_del(xq_redis_t *r, const char *key, xq_error_t *err) {
    const char *argv[] = {"DEL", key};
    size_t argvlen[] = {3, strlen(key)};
    redisReply *rep = NULL;
    xq_err_t rc;

    if ((rc = command(r, 2, argv, argvlen, &rep, err)) != XQ_OK)
        return rc;
    freeReplyObject(rep);
    return XQ_OK;
}

xq_err_t xq_redis_put_spec(xq_redis_t *r, const xq_spec_t *spec, xq_error_t *err) {
    char key[sizeof(XQ_REDIS_SPEC_PREFIX) + XQ_SPEC_ID_LEN];

    xq_key_spec(key, sizeof(key), spec->id);
    return xq_redis_set(r, key, spec->canonical, spec->canonical_len, 0, err);
}

xq_err_t xq_redis_get_spec(xq_redis_t *r, const char *id, xq_spec_t **out, xq_error_t *err) {
    char key[sizeof(XQ_REDIS_SPEC_PREFIX) + XQ_SPEC_ID_LEN];
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;
    xq_err_t rc;
    xq_buf_t b;

    if (!xq_sha256_hex_valid(id))
        return xq_error_set(err, XQ_EINVAL, "specId", "\"%.80s\" is not a spec id (64 hex digits)",
                            id);
    xq_key_spec(key, sizeof(key), id);
    xq_buf_init(&b);
    xq_errlist_init(&errs);
    if ((rc = xq_redis_get(r, key, &b, err)) != XQ_OK) {
        if (rc == XQ_ENOTFOUND)
            xq_error_set(err, rc, "specId", "unknown spec id %s (store it with explainq spec put)",
                         id);
        goto out;
    }
    /* a cache is only trusted after the same validation as a fresh spec */
    if (xq_spec_parse(b.data, b.len, &spec, &errs) != XQ_OK) {
        rc = xq_error_set(err, XQ_ESPEC, "specId", "stored spec %s is invalid: %s: %s", id,
                          errs.cnt ? errs.items[0].field : "", errs.cnt ? errs.items[0].msg : "");
        goto out;
    }
    if (strcmp(spec->id, id) != 0) {
        rc = xq_error_set(err, XQ_ESPEC, "specId", "stored spec under %s has id %s", id, spec->id);
        goto out;
    }
    *out = spec;
    spec = NULL; /* owned by the caller now */
out:
    xq_spec_destroy(spec);
    xq_errlist_fini(&errs);
    xq_buf_fini(&b);
    return rc;
}
