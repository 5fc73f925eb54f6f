"""explainq.Client: explain lists of dicts, NumPy arrays or pandas DataFrames through explainq
workers on Kafka, and get one result per instance back, in input order.

    from explainq import Client
    c = Client(bootstrap="127.0.0.1:9092")
    results = c.explain(df, spec="spec.json", model="mymodel")      # Vertex-shaped dicts
    table = c.explain(df, spec=spec, model="mymodel", output="dataframe")
    for i, r in c.explain_iter(stream_of_dicts, spec=spec, model="m"): ...
    results = await c.explain_async(rows, spec=spec, model="m")

Each result is {"attributions": [Attribution...]} (Vertex's Attribution: featureAttributions,
baselineOutputValue, instanceOutputValue, outputIndex, approximationError, ...), or
{"neighbors": [...]} for example-based specs, or {"error": {"code", "field", "message"}} for an
instance that could not be explained. A worker fails a whole job when one of its instances is
bad; the client then gives that instance its error and resubmits the others of the job, so one
bad row costs one error, never its neighbours (their random draws then come from new job
numbers: Shapley and SmoothGrad values of those rows differ from a run without the bad row,
within their sampling error).
"""
from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import OrderedDict
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import msgpack
import numpy as np

_INSTANCE_FIELD = re.compile(r"^instances\[(\d+)\]")


class JobError(Exception):
    """The service could not be reached or did not answer in time."""


def _load_spec(spec) -> dict:
    if isinstance(spec, dict):
        return spec
    if isinstance(spec, str) and spec.lstrip().startswith("{"):
        return json.loads(spec)
    with open(spec) as fh:
        return json.load(fh)


def _feature_names(spec: dict) -> List[str]:
    inputs = (spec.get("metadata") or {}).get("inputs") or {}
    return list(inputs)


def _py(v):
    """NumPy / pandas scalars and arrays as plain msgpack-able values."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_py(x) for x in v]
    return v


def to_instances(instances, spec: dict) -> Iterable[dict]:
    """Instances as dicts: a list (or iterable) of dicts as they are; a 2-D NumPy array's columns
    named by the spec's metadata.inputs, in order; a DataFrame's rows by its column names."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        pd = None
    if pd is not None and isinstance(instances, pd.DataFrame):
        cols = [str(c) for c in instances.columns]
        return ({c: _py(v) for c, v in zip(cols, row)}
                for row in instances.itertuples(index=False, name=None))
    if isinstance(instances, np.ndarray):
        names = _feature_names(spec)
        if instances.ndim != 2:
            raise ValueError(f"a NumPy array of instances must be 2-D (rows x features); "
                             f"it is {instances.ndim}-D")
        if len(names) != instances.shape[1]:
            raise ValueError(f"the array has {instances.shape[1]} columns but the spec's "
                             f"metadata.inputs names {len(names)} features; give a DataFrame "
                             f"or dicts for other layouts")
        return ({n: _py(v) for n, v in zip(names, row)} for row in instances)
    return ({str(k): _py(v) for k, v in inst.items()} for inst in instances)


class _Job:
    __slots__ = ("id", "indices", "instances")

    def __init__(self, jid, indices, instances):
        self.id, self.indices, self.instances = jid, indices, instances


class Client:
    """A client of explainq workers: submits jobs to the jobs topic, reads the results topic
    (read_committed). @redis is accepted for symmetry with the workers; specs go inline."""

    def __init__(self, bootstrap: str = "127.0.0.1:9092", redis: Optional[str] = None,
                 jobs_topic: str = "explain.jobs", results_topic: str = "explain.results",
                 props: Optional[Dict[str, str]] = None, job_size: int = 100,
                 max_inflight_jobs: int = 256, timeout: float = 600.0):
        from confluent_kafka import Consumer, Producer

        if not 1 <= job_size <= 10000:
            raise ValueError("job_size must be in [1, 10000] (max.instances.per.job)")
        self.bootstrap, self.redis = bootstrap, redis
        self.jobs_topic, self.results_topic = jobs_topic, results_topic
        self.job_size, self.max_inflight, self.timeout = job_size, max_inflight_jobs, timeout
        base = {"bootstrap.servers": bootstrap, **(props or {})}
        self._producer = Producer({**base, "enable.idempotence": True, "linger.ms": 5})
        self._consumer = Consumer({**base, "group.id": f"explainq-client-{uuid.uuid4().hex}",
                                   "enable.auto.commit": False,
                                   "isolation.level": "read_committed",
                                   "auto.offset.reset": "earliest"})
        self._assigned = False

    def close(self) -> None:
        self._producer.flush(10)
        self._consumer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- the public forms ----

    def explain(self, instances, spec, model: str, *, seed: Optional[int] = None,
                output: str = "dicts", progress: Optional[bool] = None,
                target_error: Optional[float] = None):
        """One result per instance, in input order (see the module doc). output="dataframe"
        gives a pandas DataFrame of attributions instead (see to_dataframe())."""
        spec = _load_spec(spec)
        items = list(to_instances(instances, spec))
        bar = None
        if progress or (progress is None and len(items) >= 1000):
            from tqdm import tqdm

            bar = tqdm(total=len(items), unit="inst", desc=f"explain {model}")
        out: List[Any] = []
        try:
            for _, r in self._run(iter(items), spec, model, seed, target_error):
                out.append(r)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        if output == "dataframe":
            return to_dataframe(out)
        if output != "dicts":
            raise ValueError("output must be 'dicts' or 'dataframe'")
        return out

    def explain_iter(self, instances, spec, model: str, *, seed: Optional[int] = None,
                     target_error: Optional[float] = None) -> Iterator[Tuple[int, dict]]:
        """(index, result) pairs in input order, for streams: instances are read lazily and at
        most max_inflight_jobs jobs are out at once."""
        spec = _load_spec(spec)
        return self._run(iter(to_instances(instances, spec)), spec, model, seed, target_error)

    async def explain_async(self, instances, spec, model: str, **kw):
        """explain() without blocking the event loop (it runs in a thread)."""
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.explain(instances, spec, model, **kw))

    # ---- the machinery ----

    def _assign_at_end(self) -> None:
        """Reads the results topic from its current end: results of earlier runs are skipped
        without reading them, and none of ours can be missed."""
        from confluent_kafka import TopicPartition

        if self._assigned:
            return
        md = self._consumer.list_topics(self.results_topic, timeout=30)
        t = md.topics.get(self.results_topic)
        if t is None or t.error is not None or not t.partitions:
            raise JobError(f"results topic {self.results_topic} is not there: "
                           f"{t.error if t is not None else 'no metadata'}")
        parts = []
        for p in t.partitions:
            _, hi = self._consumer.get_watermark_offsets(
                TopicPartition(self.results_topic, p), timeout=30)
            parts.append(TopicPartition(self.results_topic, p, hi))
        self._consumer.assign(parts)
        self._assigned = True

    def _submit(self, job: _Job, spec, model, seed, target_error) -> None:
        m = {"id": job.id, "model": model, "spec": spec, "instances": job.instances}
        if seed is not None:
            m["seed"] = int(seed)
        if target_error is not None:
            m["targetApproximationError"] = float(target_error)
        payload = msgpack.packb(m, use_bin_type=True)
        while True:
            try:
                self._producer.produce(self.jobs_topic, value=payload, key=job.id.encode())
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)

    def _run(self, it, spec, model, seed, target_error) -> Iterator[Tuple[int, dict]]:
        self._assign_at_end()
        prefix = f"pyc-{uuid.uuid4().hex[:12]}"
        seq = 0
        jobs: Dict[str, _Job] = {}
        done: Dict[int, dict] = {}
        next_out, total, exhausted = 0, 0, False
        deadline = time.monotonic() + self.timeout

        def new_job(indices, insts):
            nonlocal seq
            j = _Job(f"{prefix}-{seq}", indices, insts)
            seq += 1
            jobs[j.id] = j
            self._submit(j, spec, model, seed, target_error)

        while True:
            while not exhausted and len(jobs) < self.max_inflight:
                batch = []
                for inst in it:
                    batch.append(inst)
                    if len(batch) == self.job_size:
                        break
                if len(batch) < self.job_size:
                    exhausted = True
                if batch:
                    new_job(list(range(total, total + len(batch))), batch)
                    total += len(batch)
                self._producer.flush(0)
            while next_out in done:
                yield next_out, done.pop(next_out)
                next_out += 1
            if exhausted and next_out == total:
                return
            if time.monotonic() > deadline:
                for j in list(jobs.values()):
                    for i in j.indices:
                        done[i] = {"error": {"code": "timeout", "field": "",
                                             "message": f"no result for job {j.id} within "
                                                        f"{self.timeout:g} s"}}
                jobs.clear()
                continue
            msg = self._consumer.poll(0.2)
            self._producer.poll(0)
            if msg is None or msg.error():
                continue
            key = (msg.key() or b"").decode("utf-8", "replace")
            j = jobs.get(key)
            if j is None:
                continue
            try:
                res = msgpack.unpackb(msg.value(), raw=False, strict_map_key=False)
            except Exception:
                continue
            deadline = time.monotonic() + self.timeout
            del jobs[key]
            self._take(j, res, done, new_job)

    @staticmethod
    def _take(j: _Job, res: dict, done: Dict[int, dict], new_job) -> None:
        if "explanations" in res and len(res["explanations"]) == len(j.indices):
            for i, e in zip(j.indices, res["explanations"]):
                done[i] = e
            return
        err = res.get("error") or {"code": "undecodable", "field": "",
                                   "message": "a result with neither explanations nor error"}
        m = _INSTANCE_FIELD.match(err.get("field", ""))
        k = int(m.group(1)) if m else -1
        if 0 <= k < len(j.indices):
            g = j.indices[k]
            done[g] = {"error": {
                "code": err.get("code", ""),
                "field": _INSTANCE_FIELD.sub(f"instances[{g}]", err.get("field", ""), count=1),
                "message": re.sub(r"^instance \d+:", f"instance {g}:", err.get("message", ""))}}
            rest = [(i, x) for n, (i, x) in enumerate(zip(j.indices, j.instances)) if n != k]
            if rest:
                new_job([i for i, _ in rest], [x for _, x in rest])
            return
        for i in j.indices:  # the job as a whole failed: every instance says why
            done[i] = {"error": dict(err)}


def _flat(v) -> list:
    if isinstance(v, list):
        return [y for x in v for y in _flat(x)]
    return [v]


def to_dataframe(results: List[dict]):
    """A DataFrame with one row per (instance, attribution): "instance", "outputIndex",
    "outputDisplayName", "instanceOutputValue", "baselineOutputValue", "approximationError",
    one column per feature (scalars; arrays flattened as name[i]), and "error" (the message)
    for instances that failed."""
    import pandas as pd

    rows = []
    for i, r in enumerate(results):
        if "error" in r:
            rows.append({"instance": i, "error": r["error"].get("message", "")})
            continue
        for a in r.get("attributions", []):
            row = OrderedDict(instance=i)
            oi = a.get("outputIndex", [])
            row["outputIndex"] = oi[0] if len(oi) == 1 else tuple(oi)
            for k in ("outputDisplayName", "instanceOutputValue", "baselineOutputValue",
                      "approximationError"):
                if k in a:
                    row[k] = a[k]
            for f, v in a.get("featureAttributions", {}).items():
                if isinstance(v, list):
                    for n, x in enumerate(_flat(v)):
                        row[f"{f}[{n}]"] = x
                else:
                    row[f] = v
            rows.append(row)
    df = pd.DataFrame(rows)
    if "error" not in df.columns:
        df["error"] = None
    df["error"] = df["error"].where(df["error"].notna(), None)
    return df

