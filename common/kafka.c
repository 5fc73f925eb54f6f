/* kafka.c -- librdkafka client construction with logging wired to xq_log. */
#include "kafka.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mem.h"

/* librdkafka's syslog levels (0 emerg .. 7 debug) onto ours. */
static xq_log_level_t map_level(int level) {
    if (level <= 3)
        return XQ_LOG_ERROR;
    if (level == 4)
        return XQ_LOG_WARN;
    if (level <= 6)
        return XQ_LOG_INFO;
    return XQ_LOG_DEBUG;
}

/* Runs on librdkafka's threads: xq_log() writes each line with one write(2). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    xq_log(map_level(level), "kafka", "%s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)opaque;
    xq_kafka_log_error(rk, err, reason);
}

void xq_kafka_log_error(rd_kafka_t *rk, int err, const char *reason) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));

        xq_log(XQ_LOG_ERROR, "kafka", "fatal error: %s: %s", rd_kafka_err2name(orig), fatal);
        return;
    }
    /* the client retries these itself (broker down, timeouts): informational */
    xq_log(XQ_LOG_WARN, "kafka", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

rd_kafka_t *xq_kafka_new(rd_kafka_type_t type,
                         const char *const *props,
                         size_t prop_cnt,
                         const xq_kafka_cbs_t *cbs,
                         char *errstr,
                         size_t errstr_size) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char key[256], reason[512];
    rd_kafka_t *rk;

    for (size_t i = 0; i < prop_cnt; i++) {
        const char *eq = strchr(props[i], '=');
        size_t klen = eq ? (size_t)(eq - props[i]) : 0;

        if (!eq || !klen || klen >= sizeof(key)) {
            snprintf(errstr, errstr_size, "%s: expected key=value", props[i]);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        memcpy(key, props[i], klen);
        key[klen] = '\0';
        if (rd_kafka_conf_set(conf, key, eq + 1, reason, sizeof(reason)) != RD_KAFKA_CONF_OK) {
            snprintf(errstr, errstr_size, "%s: %s", key, reason);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, cbs && cbs->error_cb ? cbs->error_cb : error_cb);
    if (cbs && cbs->dr_msg_cb)
        rd_kafka_conf_set_dr_msg_cb(conf, cbs->dr_msg_cb);
    if (cbs && cbs->rebalance_cb)
        rd_kafka_conf_set_rebalance_cb(conf, cbs->rebalance_cb);
    if (cbs)
        rd_kafka_conf_set_opaque(conf, cbs->opaque);
    rk = rd_kafka_new(type, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf); /* rd_kafka_new() owns conf only on success */
        return NULL;
    }
    return rk; /* conf is owned by rk now */
}

xq_err_t xq_kafka_create_topics(rd_kafka_t *rk,
                                const char *const *topics,
                                size_t cnt,
                                int partitions,
                                int timeout_ms,
                                char *errstr,
                                size_t errstr_size) {
    return xq_kafka_create_topics_ex(rk, topics, cnt, partitions, -1, NULL, 0, timeout_ms, errstr,
                                     errstr_size);
}

/* Sets "key=value" @p configs on @p nt; false with @p errstr on a malformed one. */
static bool topic_configs(rd_kafka_NewTopic_t *nt,
                          const char *const *configs,
                          size_t config_cnt,
                          char *errstr,
                          size_t errstr_size) {
    for (size_t k = 0; k < config_cnt; k++) {
        const char *eq = strchr(configs[k], '=');
        char key[256];

        if (!eq || eq == configs[k] || (size_t)(eq - configs[k]) >= sizeof(key)) {
            snprintf(errstr, errstr_size, "--config %s: expected key=value", configs[k]);
            return false;
        }
        snprintf(key, sizeof(key), "%.*s", (int)(eq - configs[k]), configs[k]);
        if (rd_kafka_NewTopic_set_config(nt, key, eq + 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(errstr, errstr_size, "--config %s: not accepted", configs[k]);
            return false;
        }
    }
    return true;
}

xq_err_t xq_kafka_create_topics_ex(rd_kafka_t *rk,
                                   const char *const *topics,
                                   size_t cnt,
                                   int partitions,
                                   int replication_factor,
                                   const char *const *configs,
                                   size_t config_cnt,
                                   int timeout_ms,
                                   char *errstr,
                                   size_t errstr_size) {
    rd_kafka_NewTopic_t **nt = xq_calloc(cnt ? cnt : 1, sizeof(*nt));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_event_t *ev = NULL;
    xq_err_t rc = XQ_OK;

    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, errstr, errstr_size);
    for (size_t i = 0; i < cnt && rc == XQ_OK; i++) {
        if (!(nt[i] = rd_kafka_NewTopic_new(topics[i], partitions, replication_factor, errstr,
                                            errstr_size)) ||
            !topic_configs(nt[i], configs, config_cnt, errstr, errstr_size))
            rc = XQ_EKAFKA;
    }
    if (rc == XQ_OK) {
        rd_kafka_CreateTopics(rk, nt, cnt, opts, q);
        ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
        if (!ev) {
            snprintf(errstr, errstr_size, "creating topics timed out");
            rc = XQ_EKAFKA;
        } else if (rd_kafka_event_error(ev)) {
            snprintf(errstr, errstr_size, "%s", rd_kafka_event_error_string(ev));
            rc = XQ_EKAFKA;
        } else {
            size_t n = 0;
            const rd_kafka_topic_result_t **res =
                rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);

            for (size_t i = 0; i < n && rc == XQ_OK; i++) {
                rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);

                if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                    snprintf(errstr, errstr_size, "%s: %s", rd_kafka_topic_result_name(res[i]),
                             rd_kafka_topic_result_error_string(res[i]));
                    rc = XQ_EKAFKA;
                }
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    for (size_t i = 0; i < cnt; i++) {
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    }
    xq_free(nt);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    return rc;
}

rd_kafka_topic_t *xq_kafka_topic_ready(rd_kafka_t *rk, const char *topic, int timeout_ms) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;

    if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    return rkt;
}
