#!/usr/bin/env python3
"""`make bench`: explainq's ONNX forward rows/s (onnxruntime through its C API, build/bench_models
MODEL LABEL BATCH) against onnxruntime's own Python API on the same model and batch, one
thread each, on the same core (make bench runs this under taskset -c 0; the explainq side is
a child process, so it inherits the core). The two alternate ROUNDS times and each keeps its
best, so a busy machine slows both rather than one. Prints each side's line (engine=onnx,
engine=onnxruntime-py) and one ratio line per model and batch; target: ratio >= 0.9.
Needs the venv of `make models-venv`."""
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCH = os.path.join(TOP, os.environ.get("BUILD", "build"), "bench_models")
ROUNDS = 3
LINE = "bench model=%-5s engine=%-14s batch=%-4d mode=%-12s %10.0f ns/row %12.0f rows/s"


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ours(path, label, batch):
    """build/bench_models's rows/s for the model and batch (the same inputs: sin(i))."""
    p = subprocess.run([BENCH, path, label, str(batch)], capture_output=True, text=True)
    m = re.search(r"([0-9]+) rows/s", p.stdout)
    if p.returncode != 0 or not m:
        sys.exit("ort_compare: %s failed: %s" % (BENCH, (p.stdout + p.stderr)[:300]))
    return float(m.group(1))


def theirs(s, batch):
    i = s.get_inputs()[0]
    x = np.sin(np.arange(batch * int(np.prod(i.shape[1:])), dtype=np.float64))
    x = x.astype(np.float32).reshape([batch] + list(i.shape[1:]))
    feed = {i.name: x}
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.05:  # warm-up, as bench_models does
        s.run(None, feed)
    rows, t0 = 0, time.perf_counter()
    while True:
        s.run(None, feed)
        rows += batch
        dt = time.perf_counter() - t0
        if dt >= 0.4:
            return rows / dt


def main():
    worst = None
    for path, label in (("tests/data/onnx/mlp20.onnx", "mlp"), ("tests/data/onnx/cnn.onnx", "cnn")):
        path = os.path.join(TOP, path)
        s = session(path)
        for batch in (1, 64, 1024):
            a = b = 0.0
            for _ in range(ROUNDS):
                a = max(a, ours(path, label, batch))
                b = max(b, theirs(s, batch))
            print(LINE % (label, "onnx", batch, "forward", 1e9 / a, a))
            print(LINE % (label, "onnxruntime-py", batch, "forward", 1e9 / b, b))
            print("bench ort-ratio model=%-5s batch=%-4d explainq/onnxruntime-py %.2f (target >= 0.9)"
                  % (label, batch, a / b), flush=True)
            worst = a / b if worst is None else min(worst, a / b)
    print("bench ort-ratio worst %.2f (target >= 0.9)" % worst)


if __name__ == "__main__":
    main()
