#!/usr/bin/env python3
"""Builds the models of tests/unit/test_onnx.c's batching tests, exported with a batch of 1
as torch.onnx.export's default settings do, with numpy reference outputs.

Run by a developer (`make models-venv`, then `.venv-models/bin/python tests/models/make_rebatch.py`);
the outputs are committed under tests/data/onnx/ so CI needs no Python:
  conv_fixed1.onnx  x [1, 16, 6, 6] -> Conv 10 filters 3x3 pad 1 (k = 144: more than one of the
                    GEMM's blocks of k; 10 rows: a partial tile) -> Relu -> Reshape to the
                    constant [1, 360] (as torch's view(1, -1) exports) -> Gemm 360 -> 4
  mix_fixed1.onnx   x [1, 6] -> Reshape [-1, 1] -> Softmax over axis 0 -> Reshape [-1, 6]: run
                    with many rows as if the batch were dynamic it would mix them, so the
                    interpreter must run it row by row
  rebatch.json      {"x": 3 rows of conv_fixed1's input, "conv": its outputs, "xm": 3 rows of
                    mix_fixed1's, "mix": its outputs}, each row computed alone with numpy
"""
import json
import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_onnx import OUT, conv2d, init, save, softmax  # noqa: E402

rng = np.random.default_rng(20261206)


def conv_fixed1():
    W = rng.normal(scale=0.2, size=(10, 16, 3, 3)).astype(np.float32)
    b = rng.normal(scale=0.1, size=(10,)).astype(np.float32)
    W2 = rng.normal(scale=0.1, size=(4, 360)).astype(np.float32)
    b2 = rng.normal(scale=0.1, size=(4,)).astype(np.float32)
    inits = [init("W", W), init("b", b), init("shape", np.array([1, 360], np.int64)),
             init("W2", W2), init("b2", b2)]
    nodes = [helper.make_node("Conv", ["x", "W", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Reshape", ["r", "shape"], ["f"]),
             helper.make_node("Gemm", ["f", "W2", "b2"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "conv_fixed1",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    save(helper.make_model(g), os.path.join(OUT, "conv_fixed1.onnx"))
    x = rng.normal(size=(3, 16, 6, 6)).astype(np.float32)
    ys = []
    for r in range(3):  # one row at a time, as the batch of 1 says
        h = np.maximum(conv2d(x[r:r + 1].astype(np.float64), W, b, pad=1), 0).reshape(1, 360)
        ys.append((h @ W2.T.astype(np.float64) + b2)[0])
    return x, np.array(ys, np.float32)


def mix_fixed1():
    inits = [init("s1", np.array([-1, 1], np.int64)), init("s2", np.array([-1, 6], np.int64))]
    nodes = [helper.make_node("Reshape", ["x", "s1"], ["col"]),
             helper.make_node("Softmax", ["col"], ["p"], axis=0),
             helper.make_node("Reshape", ["p", "s2"], ["y"])]
    g = helper.make_graph(nodes, "mix_fixed1",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])], inits)
    save(helper.make_model(g), os.path.join(OUT, "mix_fixed1.onnx"))
    x = rng.normal(size=(3, 6)).astype(np.float32)
    return x, np.array([softmax(x[r].astype(np.float64), 0) for r in range(3)], np.float32)


if __name__ == "__main__":
    x, y = conv_fixed1()
    xm, ym = mix_fixed1()
    with open(os.path.join(OUT, "rebatch.json"), "w") as f:
        json.dump({"x": x.reshape(-1).tolist(), "conv": y.reshape(-1).tolist(),
                   "xm": xm.reshape(-1).tolist(), "mix": ym.reshape(-1).tolist()}, f)
