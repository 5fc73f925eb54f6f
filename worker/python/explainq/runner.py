"""Serving a model to explainq workers over Kafka, as `explainq runner` does.

    from explainq.model import FunctionModel
    from explainq.runner import serve
    model = FunctionModel(clf.predict_proba, inputs=[("features", (4,))], output_name="probs")
    serve(model, name="iris", bootstrap="127.0.0.1:9092")

serve() consumes explain.infer.<name> in the consumer group explainq-runners-<name>
(cooperative-sticky: start several to share the load), answers each request on the topic and
partition its headers name, and stores a request's offset only once its reply is delivered
(offsets commit from there). A request it cannot serve gets an error reply; the runner goes
on. SIGTERM (or SIGINT) stops it cleanly: replies in flight are flushed, offsets committed;
a second signal exits at once.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import time
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from . import protocol
from .protocol import ProtocolError, Request

log = logging.getLogger("explainq.runner")


class Handler:
    """The protocol without Kafka: request bytes in, reply bytes out (tests use it directly)."""

    def __init__(self, model, max_elems: int = 0):
        self.model = model
        self.max_elems = max_elems
        self.served = 0
        self.failed = 0

    def describe(self, rid: str) -> bytes:
        m = self.model
        return protocol.pack_describe(rid, m.inputs, m.output, m.encoded, m.labels,
                                      getattr(m, "tables", None))

    def handle(self, payload: Optional[bytes], key: Optional[bytes]) -> Tuple[str, bytes]:
        """(the reply's id, the reply)."""
        msg = protocol.unpack(payload or b"")
        rid = protocol.describe_id(msg)
        if rid is not None:  # a worker learning the model's tensors
            return rid, self.describe(rid)
        req = Request()
        try:
            protocol.decode_request(msg, req, self.max_elems)
            out, grads = self.model.evaluate(req)
            if req.pick is not None and not req.grad:
                out = protocol.pick_outputs(np.asarray(out, dtype=np.float32), req.pick)
        except ProtocolError as e:
            rid = req.id or (key or b"").decode("utf-8", "replace")
            log.warning("error reply id=%s field=%s: %s", rid, e.field, e.message)
            self.failed += 1
            return rid, protocol.pack_error(rid, e.code, e.field, e.message)
        self.served += 1
        return req.id, protocol.pack_reply(req.id, self.model.output[0], out, grads)


def _header(msg, name: str) -> Optional[str]:
    val = None
    for k, v in msg.headers() or []:
        if k == name and v is not None:
            val = v  # the last one, as rd_kafka_header_get_last
    if val is None or len(val) >= 256:
        return None
    try:
        return val.decode()
    except UnicodeDecodeError:
        return None


class _Stop:
    def __init__(self):
        self.flag = False

    def __call__(self, sig, frame):
        if self.flag:
            os._exit(128 + sig)  # second signal: give up now
        self.flag = True


def serve(model, name: str, bootstrap: str = "127.0.0.1:9092",
          props: Optional[Dict[str, str]] = None, max_elems: int = 0,
          stop: Optional[object] = None, install_signals: bool = True) -> Tuple[int, int]:
    """Serves @model as explain.infer.<name> until SIGTERM/SIGINT (or stop.flag turns true).
    @props are librdkafka properties for both clients (SASL, TLS...). Returns (served, failed).
    """
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    if not name or len(name) > 200:
        raise ValueError("name must be 1 to 200 characters")
    topic = f"explain.infer.{name}"
    handler = Handler(model, max_elems)
    cconf = {"bootstrap.servers": bootstrap, "group.id": f"explainq-runners-{name}",
             "enable.auto.commit": True, "enable.auto.offset.store": False,
             "auto.offset.reset": "earliest",
             "partition.assignment.strategy": "cooperative-sticky"}
    pconf = {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 1}
    for k, v in (props or {}).items():  # the user's properties win
        cconf[k] = v
        pconf[k] = v
    consumer = Consumer(cconf)

    def on_assign(c, parts):
        c.incremental_assign(parts)
        log.info("assigned partitions=%d", len(parts))

    def on_revoke(c, parts):
        c.incremental_unassign(parts)
        log.info("revoked partitions=%d", len(parts))

    def delivered(err, msg, part=0, offset=0):
        if err is not None:  # the offset stays unstored: after a restart it is served again
            log.warning("reply not delivered: %s", err)
            return
        try:
            consumer.store_offsets(offsets=[TopicPartition(topic, part, offset + 1)])
        except KafkaException as e:  # the partition went to another runner meanwhile
            log.info("offset not stored: %s", e)

    producer = Producer(pconf)
    stop = stop or _Stop()
    if install_signals:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    log.info("serving topic=%s output=%s brokers=%s", topic, model.output[0], bootstrap)
    try:
        while not stop.flag:
            msg = consumer.poll(0.1)
            if msg is not None:
                if msg.error():
                    if msg.error().code() != -191:  # _PARTITION_EOF
                        log.warning("consumer: %s", msg.error())
                else:
                    _one(handler, producer, msg, delivered)
            producer.poll(0)  # delivery reports store offsets
    finally:
        left = producer.flush(10)  # replies first, then their offsets
        if left:
            log.warning("%d replies not delivered", left)
        consumer.close()  # commits the stored offsets
        log.info("stopping served=%d failed=%d", handler.served, handler.failed)
    return handler.served, handler.failed


def _one(handler: Handler, producer, msg, delivered) -> None:
    part, offset = msg.partition(), msg.offset()
    reply_topic = _header(msg, "reply.topic")
    pstr = _header(msg, "reply.partition")
    key = msg.key()
    if reply_topic is None or pstr is None or not pstr.isdigit():
        log.warning("request without reply headers skipped partition=%d offset=%d key=%s", part,
                    offset, (key or b"").decode("utf-8", "replace"))
        handler.failed += 1
        delivered(None, None, part, offset)
        return
    rid, reply = handler.handle(msg.value(), key)
    while True:
        try:
            producer.produce(reply_topic, value=reply, key=rid.encode(), partition=int(pstr),
                             on_delivery=lambda err, m, p=part, o=offset: delivered(err, m, p, o))
            return
        except BufferError:  # the local queue is full: let deliveries drain
            producer.poll(0.1)
        except Exception as e:  # e.g. an unknown topic: the offset stays unstored
            log.warning("cannot queue the reply: %s", e)
            return


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(stream=sys.stderr, level=level,
                        format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    logging.Formatter.converter = time.gmtime
