/* wk_txncall.c -- rd_kafka_send_offsets_to_transaction() under a deadline librdkafka cannot miss.
 */
#include <pthread.h>
#include <time.h>

#include "worker_int.h"

/*
 * librdkafka (2.0.2, and later ones: its issues 5456 and 5511) can block in
 * rd_kafka_send_offsets_to_transaction() for ever: when a FindCoordinator
 * answer fails with an error it does not retry, the request waits for a
 * broker state change that a broker that stays up never makes. Seen here after
 * a broker restart, it left a worker silent with its jobs unanswered. So the
 * call runs on a thread of its own; when it has not returned well past its
 * timeout (deadline_ms()) the worker gives the producer up to that thread (which destroys it
 * if the call ever returns) and starts a new one with the same
 * transactional.id, which fences the old one: nothing it holds can commit.
 */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *pos;
    rd_kafka_consumer_group_metadata_t *cgm;
    rd_kafka_error_t *error;
    int timeout_ms, stall_ms;
    bool done, abandoned;
} call_t;

static void call_free(call_t *c) {
    rd_kafka_topic_partition_list_destroy(c->pos);
    rd_kafka_consumer_group_metadata_destroy(c->cgm);
    if (c->error)
        rd_kafka_error_destroy(c->error);
    pthread_cond_destroy(&c->done_cv);
    pthread_mutex_destroy(&c->lock);
    xq_free(c);
}

static void *call_main(void *arg) {
    call_t *c = arg;
    rd_kafka_error_t *error;
    bool abandoned;

    if (c->stall_ms) /* the fault a test asked for (stall_calls()) */
        nanosleep(&(struct timespec){c->stall_ms / 1000, (c->stall_ms % 1000) * 1000000L}, NULL);
    error = rd_kafka_send_offsets_to_transaction(c->rk, c->pos, c->cgm, c->timeout_ms);

    pthread_mutex_lock(&c->lock);
    c->error = error;
    c->done = true;
    abandoned = c->abandoned;
    pthread_cond_signal(&c->done_cv);
    pthread_mutex_unlock(&c->lock);
    if (abandoned) { /* the worker has a new producer: this one and the call are ours to end */
        rd_kafka_destroy(c->rk);
        call_free(c);
    }
    return NULL;
}

/* How long the call may take before it counts as lost: its own timeout twice, and 5 s for a
 * loaded machine. */
static int deadline_ms(int timeout_ms) {
    return 2 * timeout_ms + 5000;
}

/*
 * EXPLAINQ_TEST_STALL_SEND_OFFSETS=N makes the Nth call (counting from 1) stall past its
 * deadline before it calls librdkafka, as issue 5456 does, so the tests can see the worker
 * recover. Read per call: a commit is rare next to everything else the loop does.
 */
static int stall_ms(worker_t *w, int timeout_ms) {
    const char *v = getenv("EXPLAINQ_TEST_STALL_SEND_OFFSETS");

    w->send_offsets_calls++;
    return v && strtoul(v, NULL, 10) == w->send_offsets_calls ? deadline_ms(timeout_ms) + 2000 : 0;
}

rd_kafka_error_t *wk_send_offsets(worker_t *w,
                                  const rd_kafka_topic_partition_list_t *pos,
                                  int timeout_ms,
                                  bool *hung) {
    call_t *c = xq_calloc(1, sizeof(*c));
    rd_kafka_error_t *error = NULL;
    struct timespec until;
    pthread_t tid;
    bool done;

    *hung = false;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done_cv, NULL);
    c->rk = w->txn;
    c->pos = rd_kafka_topic_partition_list_copy(pos);
    c->cgm = rd_kafka_consumer_group_metadata(w->consumer);
    c->timeout_ms = timeout_ms;
    c->stall_ms = stall_ms(w, timeout_ms);
    if (pthread_create(&tid, NULL, call_main, c) != 0) { /* no thread: call it here */
        error = rd_kafka_send_offsets_to_transaction(c->rk, c->pos, c->cgm, timeout_ms);
        call_free(c);
        return error;
    }
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += deadline_ms(timeout_ms) / 1000;
    until.tv_nsec += (deadline_ms(timeout_ms) % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    while (!c->done && pthread_cond_timedwait(&c->done_cv, &c->lock, &until) == 0)
        ;
    done = c->done;
    c->abandoned = !done;
    pthread_mutex_unlock(&c->lock);
    if (!done) {
        pthread_detach(tid);
        xq_log(XQ_LOG_ERROR, "kafka",
               "send offsets: librdkafka has not returned in %d ms (its issue 5456); giving this "
               "producer up and starting a new one (the jobs of this transaction are redone)",
               deadline_ms(timeout_ms));
        w->txn = NULL; /* the call's thread owns it now */
        w->txn_dead = true;
        *hung = true;
        return NULL;
    }
    pthread_join(tid, NULL);
    error = c->error;
    c->error = NULL;
    call_free(c);
    return error;
}
