/* httpd.h -- a small HTTP/1.1 server (libmicrohttpd) for the gateway, metrics and probes. */
#ifndef XQ_HTTPD_H
#define XQ_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"

/*
 * libmicrohttpd parses HTTP; this module reads a whole request body (bounded
 * by max_body, larger ones get 413 before the handler runs) and hands it to
 * one handler. Each connection has its own thread, so a handler may block
 * (the gateway waits for a result there); handlers run concurrently and must
 * be thread-safe.
 */

/** A request, borrowed for the duration of the handler call. */
typedef struct xq_http_req {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* the URL path (unescaped), without the query string */
    const uint8_t *body;
    size_t body_len;
    void *conn; /* opaque: for xq_http_req_header() */
} xq_http_req_t;

/** The handler's answer: it sets status and content_type and fills body. */
typedef struct xq_http_resp {
    int status;               /* HTTP status code; 200 unless set */
    const char *content_type; /* static storage; "application/json" unless set */
    xq_buf_t body;            /* initialized empty; the server frees it */
} xq_http_resp_t;

typedef void (*xq_httpd_handler_fn)(void *opaque, const xq_http_req_t *req, xq_http_resp_t *resp);

typedef struct xq_httpd xq_httpd_t; /* opaque */

/** Options of xq_httpd_start(); zero values take the defaults. */
typedef struct xq_httpd_opts {
    const char *host;   /* address to bind: "127.0.0.1" (default) or "0.0.0.0" */
    int port;           /* 0: any free port (see xq_httpd_port()) */
    size_t max_body;    /* bytes; default 10 MB */
    unsigned max_conns; /* concurrent connections; default 256 */
    unsigned timeout_s; /* idle connection timeout; default 60 */
} xq_httpd_opts_t;

/**
 * Starts serving on @p opts->host:@p opts->port with @p fn (called with
 * @p opaque, which must outlive the server).
 * @returns a new server (stop it with xq_httpd_stop()), or NULL with @p err set.
 */
xq_httpd_t *
xq_httpd_start(const xq_httpd_opts_t *opts, xq_httpd_handler_fn fn, void *opaque, xq_error_t *err);

/** The port the server listens on (the one chosen when 0 was asked). */
int xq_httpd_port(const xq_httpd_t *h);

/** Stops accepting, waits for handlers in progress, frees @p h; NULL is a no-op. */
void xq_httpd_stop(xq_httpd_t *h);

/** A request header by name (case-insensitive), or NULL; borrowed like @p req. */
const char *xq_http_req_header(const xq_http_req_t *req, const char *name);

/** A query-string argument by name, or NULL; borrowed like @p req. */
const char *xq_http_req_arg(const xq_http_req_t *req, const char *name);

#endif /* XQ_HTTPD_H */
