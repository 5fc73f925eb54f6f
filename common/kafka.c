/* kafka.c -- librdkafka client construction with logging wired to xq_log. */
#include "kafka.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

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
    rd_kafka_conf_set_error_cb(conf, error_cb);
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
