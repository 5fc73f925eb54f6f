/* gwconf.h -- the gateway's config file: where it listens, its topics, and its endpoints. */
#ifndef XQ_GWCONF_H
#define XQ_GWCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "spec.h"

/*
 * A JSON file (README "The Vertex front door"):
 *
 *   {"listen": "127.0.0.1:8080", "jobsTopic": "explain.jobs",
 *    "resultTopic": "explain.results.gateway", "resultPartitions": 4,
 *    "repliesTopic": "explain.replies",
 *    "timeoutMs": 30000, "maxBodyBytes": 10485760, "maxInstances": 1000,
 *    "redis": "127.0.0.1:6379", "authTokensFile": "tokens.txt",
 *    "endpoints": [{"endpoint": "1234", "deployedModelId": "1", "model": "mlp20",
 *                   "spec": "spec.json" | "specId": "<id>" |
 *                   "metadata": "m.json", "parameters": "p.json",
 *                   "seed": 0, "displayName": "..."}]}
 *
 * Only "endpoints" is required; each needs "endpoint", "model" and a spec
 * (a file: a spec or a Model resource, and/or metadata + parameters halves,
 * paths relative to the config file; or "specId", fetched from Redis).
 * Several entries may share an endpoint with different deployedModelIds; the
 * first is the endpoint's default. "authTokensFile" (relative to the config
 * file) lists the bearer tokens the gateway accepts, one per line ('#'
 * starts a comment); without it every caller is served.
 */

/** One deployed model. */
typedef struct xq_gw_endpoint {
    char *endpoint;     /* the endpoint id (the last segment of its resource name) */
    char *deployed_id;  /* deployedModelId; defaults to "1" */
    char *model;        /* the model name its runners serve */
    char *display_name; /* defaults to the model name */
    char *spec_id;      /* when the spec is fetched from Redis, else NULL */
    xq_spec_t *spec;    /* the spec (NULL while spec_id is not fetched) */
    bool has_seed;      /* "seed" given: jobs carry it (results equal explain --seed) */
    uint64_t seed;
} xq_gw_endpoint_t;

/** Bytes of one bearer token, at most (longer lines in authTokensFile are refused). */
#define XQ_GW_TOKEN_MAX 512

/** A loaded config: plain data, freed with xq_gw_conf_destroy(). */
typedef struct xq_gw_conf {
    char host[64];           /* listen address; default 127.0.0.1 */
    int port;                /* default 8080; 0: any free port */
    char jobs_topic[256];    /* default explain.jobs */
    char result_topic[256];  /* default explain.results.gateway */
    char replies_topic[256]; /* where runners answer the gateway; default explain.replies */
    int result_partitions;   /* when the gateway creates it; default 4 */
    long timeout_ms;         /* per request; default 30000 */
    size_t max_body;         /* request bytes; default 10 MiB */
    size_t max_instances;    /* per request; default 1000 */
    char redis[256];         /* "" : none */
    char **tokens;           /* accepted bearer tokens (owned); none: no authentication */
    size_t token_cnt;
    xq_gw_endpoint_t *endpoints;
    size_t endpoint_cnt;
} xq_gw_conf_t;

/**
 * Reads the config at @p path.
 * @returns XQ_OK and a new config in @p *out, or an error with every problem
 *          in @p errs ("endpoints[1].spec: ..." paths).
 */
xq_err_t xq_gw_conf_load(const char *path, xq_gw_conf_t **out, xq_errlist_t *errs);

/**
 * The entry for endpoint id @p endpoint and @p deployed_id (NULL or "": the
 * endpoint's first), or NULL.
 */
xq_gw_endpoint_t *
xq_gw_conf_find(const xq_gw_conf_t *c, const char *endpoint, const char *deployed_id);

/** Frees @p c and its specs; NULL is a no-op. */
void xq_gw_conf_destroy(xq_gw_conf_t *c);

#endif /* XQ_GWCONF_H */
