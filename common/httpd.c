/* httpd.c -- a small HTTP/1.1 server over libmicrohttpd: whole bodies, one handler. */
#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

struct xq_httpd {
    struct MHD_Daemon *d;
    xq_httpd_handler_fn fn;
    void *opaque;
    size_t max_body;
    int port;
};

/* One request's state across the access handler's calls. */
typedef struct req_state {
    xq_buf_t body;
    bool too_large;
} req_state_t;

static enum MHD_Result queue(struct MHD_Connection *conn, xq_http_resp_t *resp) {
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t len = resp->body.len;
    /* MHD frees with free(): detach the buffer that xq_malloc made (plain malloc underneath) */
    uint8_t *data = xq_buf_detach(&resp->body, &len);

    r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", resp->content_type);
    ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result answer_error(struct MHD_Connection *conn, int status, const char *msg) {
    xq_http_resp_t resp = {status, "application/json", {0}};

    xq_buf_init(&resp.body);
    xq_buf_appendf(&resp.body, "{\"error\":{\"code\":%d,\"message\":\"%s\"}}", status, msg);
    return queue(conn, &resp);
}

static enum MHD_Result on_request(void *cls,
                                  struct MHD_Connection *conn,
                                  const char *url,
                                  const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size,
                                  void **con_cls) {
    xq_httpd_t *h = cls;
    req_state_t *st = *con_cls;
    xq_http_req_t req;
    xq_http_resp_t resp;

    (void)version;
    if (st == NULL) { /* headers only: refuse a declared oversize body before reading it */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

        if (cl != NULL && strtoull(cl, NULL, 10) > h->max_body)
            return answer_error(conn, 413, "request body is larger than the server accepts");
        st = xq_calloc(1, sizeof(*st));
        xq_buf_init(&st->body);
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!st->too_large && st->body.len + *upload_data_size <= h->max_body)
            xq_buf_append(&st->body, upload_data, *upload_data_size);
        else
            st->too_large = true; /* keep reading so the answer can be sent */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->too_large)
        return answer_error(conn, 413, "request body is larger than the server accepts");

    req.method = method;
    req.path = url;
    req.body = st->body.data ? st->body.data : (const uint8_t *)"";
    req.body_len = st->body.len;
    req.conn = conn;
    resp.status = 200;
    resp.content_type = "application/json";
    xq_buf_init(&resp.body);
    h->fn(h->opaque, &req, &resp);
    return queue(conn, &resp);
}

static void on_completed(void *cls,
                         struct MHD_Connection *conn,
                         void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    req_state_t *st = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (st == NULL)
        return;
    xq_buf_fini(&st->body);
    xq_free(st);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap) {
    char line[512];

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    xq_log(XQ_LOG_WARN, "http", "%s", line);
}

xq_httpd_t *
xq_httpd_start(const xq_httpd_opts_t *opts, xq_httpd_handler_fn fn, void *opaque, xq_error_t *err) {
    struct sockaddr_in sa;
    const char *host = opts->host && opts->host[0] ? opts->host : "127.0.0.1";
    const union MHD_DaemonInfo *info;
    xq_httpd_t *h;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)opts->port);
    if (opts->port < 0 || opts->port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        xq_error_set(err, XQ_EINVAL, "", "cannot listen on %s:%d: not an IPv4 address and port",
                     host, opts->port);
        return NULL;
    }
    h = xq_calloc(1, sizeof(*h));
    h->fn = fn;
    h->opaque = opaque;
    h->max_body = opts->max_body ? opts->max_body : 10u * 1000 * 1000;
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_ERROR_LOG,
                            0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
                            NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_LIMIT, opts->max_conns ? opts->max_conns : 256u,
                            MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s ? opts->timeout_s : 60u,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (h->d == NULL) {
        xq_error_set(err, XQ_EIO, "", "cannot listen on %s:%d (port in use?)", host, opts->port);
        xq_free(h);
        return NULL;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : opts->port;
    return h;
}

int xq_httpd_port(const xq_httpd_t *h) {
    return h->port;
}

void xq_httpd_stop(xq_httpd_t *h) {
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d);
    xq_free(h);
}

const char *xq_http_req_header(const xq_http_req_t *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *xq_http_req_arg(const xq_http_req_t *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}
