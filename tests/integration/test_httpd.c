/* test_httpd.c -- the HTTP server module on loopback, driven by libcurl as any client would. */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "itest.h"
#include "mem.h"

static int failures;

/* Echoes the method, path, one header, one argument and the body length. */
static void echo(void *opaque, const xq_http_req_t *req, xq_http_resp_t *resp) {
    const char *h = xq_http_req_header(req, "X-Test");
    const char *a = xq_http_req_arg(req, "q");

    (void)opaque;
    if (strcmp(req->path, "/missing") == 0) {
        resp->status = 404;
        xq_buf_append_str(&resp->body, "{}");
        return;
    }
    resp->content_type = "text/plain";
    xq_buf_appendf(&resp->body, "%s %s %s %s %zu", req->method, req->path, h ? h : "-", a ? a : "-",
                   req->body_len);
}

static size_t collect(char *p, size_t size, size_t n, void *ud) {
    xq_buf_append(ud, p, size * n);
    return size * n;
}

/* One request; returns the status and fills @p out with the body. */
static long call(int port, const char *path, const char *body, size_t body_len, xq_buf_t *out) {
    char url[256];
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "X-Test: yes");
    long status = -1;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return status;
}

int main(void) {
    xq_httpd_opts_t opts = {.max_body = 1000};
    xq_error_t err;
    xq_httpd_t *h;
    xq_buf_t out;
    char big[2000];
    long st;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = xq_httpd_start(&opts, echo, NULL, &err);
    CHECK(h != NULL, "start: %s", err.msg);
    if (h == NULL)
        return 1;
    CHECK(xq_httpd_port(h) > 0, "port %d", xq_httpd_port(h));

    xq_buf_init(&out);
    st = call(xq_httpd_port(h), "/v1/projects/p/endpoints/e:explain?q=1", "abc", 3, &out);
    CHECK(st == 200, "status %ld", st);
    CHECK(strcmp(xq_buf_cstr(&out), "POST /v1/projects/p/endpoints/e:explain yes 1 3") == 0,
          "echo '%s'", xq_buf_cstr(&out));

    out.len = 0;
    st = call(xq_httpd_port(h), "/healthz", NULL, 0, &out);
    CHECK(st == 200 && strcmp(xq_buf_cstr(&out), "GET /healthz yes - 0") == 0, "%ld '%s'", st,
          xq_buf_cstr(&out));

    out.len = 0;
    st = call(xq_httpd_port(h), "/missing", NULL, 0, &out);
    CHECK(st == 404, "status %ld", st);

    /* over max_body: refused with 413, the handler never runs */
    memset(big, 'x', sizeof(big));
    out.len = 0;
    st = call(xq_httpd_port(h), "/big", big, sizeof(big), &out);
    CHECK(st == 413, "status %ld '%s'", st, xq_buf_cstr(&out));

    /* a port in use is a clear error */
    {
        xq_httpd_opts_t o2 = {.port = xq_httpd_port(h)};
        xq_httpd_t *h2 = xq_httpd_start(&o2, echo, NULL, &err);

        CHECK(h2 == NULL && strstr(err.msg, "cannot listen") != NULL, "second start: %s", err.msg);
        xq_httpd_stop(h2);
    }
    xq_buf_fini(&out);
    xq_httpd_stop(h);
    curl_global_cleanup();
    printf("httpd: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
