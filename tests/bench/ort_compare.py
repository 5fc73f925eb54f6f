#!/usr/bin/env python3
"""`make bench`: onnxruntime's own rows/s (Python API, one thread) on the models and batches
bench_models measures, printed in its line format (engine=onnxruntime-py), to set beside
explainq's engine=onnx lines. Needs the venv of `make models-venv`."""
import sys
import time

import numpy as np
import onnxruntime as ort


def bench(path, label, batch):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    i = s.get_inputs()[0]
    x = np.sin(np.arange(batch * int(np.prod(i.shape[1:])), dtype=np.float64))
    x = x.astype(np.float32).reshape([batch] + list(i.shape[1:]))
    feed = {i.name: x}
    s.run(None, feed)
    rows, t0 = 0, time.perf_counter()
    while True:
        s.run(None, feed)
        rows += batch
        dt = time.perf_counter() - t0
        if dt >= 0.4:
            break
    print("bench model=%-5s engine=%-14s batch=%-4d mode=%-12s %10.0f ns/row %12.0f rows/s"
          % (label, "onnxruntime-py", batch, "forward", dt * 1e9 / rows, rows / dt))


def main():
    for path, label in (("tests/data/onnx/mlp20.onnx", "mlp"), ("tests/data/onnx/cnn.onnx", "cnn")):
        for batch in (1, 64, 1024):
            bench(path, label, batch)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
