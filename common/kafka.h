/* kafka.h -- librdkafka client construction: properties, logging and error callbacks wired to
 * xq_log. */
#ifndef XQ_KAFKA_H
#define XQ_KAFKA_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "err.h"

/** Optional callbacks for xq_kafka_new(); NULL members are not set. */
typedef struct xq_kafka_cbs {
    /** delivery report of each produced message (producers) */
    void (*dr_msg_cb)(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque);
    /** partition assignment changes (group consumers) */
    void (*rebalance_cb)(rd_kafka_t *rk,
                         rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts,
                         void *opaque);
    void *opaque; /* passed to the callbacks; borrowed for the handle's life */
    /** errors librdkafka reports asynchronously, instead of the default (which logs them:
     *  call xq_kafka_log_error() to keep that) */
    void (*error_cb)(rd_kafka_t *rk, int err, const char *reason, void *opaque);
} xq_kafka_cbs_t;

/** What xq_kafka_new()'s clients do with an asynchronous error by default: log it. */
void xq_kafka_log_error(rd_kafka_t *rk, int err, const char *reason);

/**
 * Creates a producer or consumer from "key=value" librdkafka properties
 * (@p props, @p prop_cnt of them), later ones overriding earlier ones. Its
 * log lines go through xq_log() (component "kafka"), and errors librdkafka
 * reports asynchronously are logged as warnings; a fatal one as an error.
 *
 * @returns a new handle (caller destroys with rd_kafka_destroy(), after
 *          rd_kafka_consumer_close() for a consumer), or NULL with the reason
 *          in @p errstr ("bootstrap.servers: ..." for a bad property).
 */
rd_kafka_t *xq_kafka_new(rd_kafka_type_t type,
                         const char *const *props,
                         size_t prop_cnt,
                         const xq_kafka_cbs_t *cbs,
                         char *errstr,
                         size_t errstr_size);

/**
 * Creates @p cnt topics of @p partitions partitions each (replication factor
 * -1: the broker's default) through @p rk's admin API, waiting at most
 * @p timeout_ms. Topics that exist already are fine.
 *
 * @returns XQ_OK, or XQ_EKAFKA with the first failure in @p errstr.
 */
xq_err_t xq_kafka_create_topics(rd_kafka_t *rk,
                                const char *const *topics,
                                size_t cnt,
                                int partitions,
                                int timeout_ms,
                                char *errstr,
                                size_t errstr_size);

/**
 * xq_kafka_create_topics() with a replication factor (-1: the brokers'
 * default.replication.factor) and topic configs ("min.insync.replicas=2")
 * for every topic. An existing topic is left as it is.
 */
xq_err_t xq_kafka_create_topics_ex(rd_kafka_t *rk,
                                   const char *const *topics,
                                   size_t cnt,
                                   int partitions,
                                   int replication_factor,
                                   const char *const *configs,
                                   size_t config_cnt,
                                   int timeout_ms,
                                   char *errstr,
                                   size_t errstr_size);

/**
 * Looks up @p topic's partitions now, waiting at most @p timeout_ms, so a producer's first
 * message does not wait for them: one that names a topic before its first broker connection is
 * up learns the partitions only at librdkafka's next topic scan, a second later (measured with
 * 2.0.2: `submit` sent nothing for its first 1.0 s). Best effort: an error leaves the producer
 * as it was.
 *
 * @returns the topic handle to keep while producing (destroy with rd_kafka_topic_destroy(),
 *          which keeps the topic known), or NULL.
 */
rd_kafka_topic_t *xq_kafka_topic_ready(rd_kafka_t *rk, const char *topic, int timeout_ms);

#endif /* XQ_KAFKA_H */
