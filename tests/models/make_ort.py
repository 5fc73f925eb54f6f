#!/usr/bin/env python3
"""Builds the small ONNX models that test the onnxruntime backend, with numpy references.

Run by a developer (`make models-venv`, then `.venv-models/bin/python tests/models/make_ort.py`);
the outputs are committed under tests/data/onnx/ort/ so CI needs no Python:
  ext.onnx (+ ext.onnx.data)  an MLP 6 -> 8 -> 3 whose weights sit in an external data file,
                              opset 18, ReduceMean with its axes as an input
  fixed1.onnx                 the same MLP with its batch dimension fixed at 1
  ml.onnx                     ai.onnx.ml: Scaler -> LinearRegressor (3 targets)
  erf.onnx                    x -> Erf(x) * 2
  nograd.onnx                 x -> Sin -> Cos -> Sin: onnxruntime runs it, the interpreter
                              lacks both operators (a gradient method is refused, naming them)
  chw.onnx / hwc.onnx         y = sum(x * W) over an image [3, 4, 5] channels-first, and the
                              same weights transposed for [4, 5, 3] channels-last
  amb.onnx                    y = sum(x * V) over [3, 3, 3]: the shape cannot tell the order
  emb2.onnx                   two inputs, tokens (int64 [N, 4]) and mask (int64 [N, 4]):
                              y = sum_j mask_j * (T[tokens_j] . w), T = "table" [10, 3]
  seq.onnx                    x [N, "seq"] (a named dynamic dimension) -> y = sum of x^2
  zipmap.onnx                 ai.onnx.ml LinearClassifier (softmax) -> ZipMap, as skl2onnx
                              writes classifiers: a label tensor, then one map per row
  ref.json                    {"x": rows of 6, "mlp", "ml", "erf", "nograd": outputs,
                               "W": W as [3][4][5], "V": V as [3][3][3] (channels first)},
                              every output computed here with numpy (float64, then float32)
"""
import json
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "onnx", "ort")
rng = np.random.default_rng(20261206)

W1 = rng.normal(size=(6, 8)).astype(np.float32) * 0.5
B1 = rng.normal(size=(8,)).astype(np.float32) * 0.1
W2 = rng.normal(size=(8, 3)).astype(np.float32) * 0.5
B2 = rng.normal(size=(3,)).astype(np.float32) * 0.1
X = rng.normal(size=(7, 6)).astype(np.float32)


def mlp_graph(batch):
    """x [batch, 6] -> tanh(x W1 + b1) -> [batch, 8]; y = (h W2 + b2) - mean over axis 1 of h."""
    inits = [numpy_helper.from_array(W1, "w1"), numpy_helper.from_array(B1, "b1"),
             numpy_helper.from_array(W2, "w2"), numpy_helper.from_array(B2, "b2"),
             numpy_helper.from_array(np.array([1], np.int64), "axes")]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["xw"]),
             helper.make_node("Add", ["xw", "b1"], ["z"]),
             helper.make_node("Tanh", ["z"], ["h"]),
             helper.make_node("MatMul", ["h", "w2"], ["hw"]),
             helper.make_node("Add", ["hw", "b2"], ["o"]),
             helper.make_node("ReduceMean", ["h", "axes"], ["hm"], keepdims=1),
             helper.make_node("Sub", ["o", "hm"], ["y"])]
    g = helper.make_graph(nodes, "mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def mlp_ref(x):
    h = np.tanh(x.astype(np.float64) @ W1 + B1)
    return (h @ W2 + B2) - h.mean(axis=1, keepdims=True)


def ml_model():
    offset = np.array([0.5, -1, 0, 2, 0.25, 1], np.float32)
    scale = np.array([2, 0.5, 1, 1.5, 3, 0.25], np.float32)
    coef = rng.normal(size=(3, 6)).astype(np.float32)
    icpt = np.array([0.1, -0.2, 0.3], np.float32)
    nodes = [helper.make_node("Scaler", ["x"], ["s"], domain="ai.onnx.ml",
                              offset=offset.tolist(), scale=scale.tolist()),
             helper.make_node("LinearRegressor", ["s"], ["y"], domain="ai.onnx.ml",
                              coefficients=coef.reshape(-1).tolist(),
                              intercepts=icpt.tolist(), targets=3)]
    g = helper.make_graph(nodes, "ml",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("ai.onnx.ml", 1)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    s = (X.astype(np.float64) - offset) * scale
    return m, s @ coef.T.astype(np.float64) + icpt


def erf_model():
    two = numpy_helper.from_array(np.array(2, np.float32), "two")
    nodes = [helper.make_node("Erf", ["x"], ["e"], name="the_erf"),
             helper.make_node("Mul", ["e", "two"], ["y"], name="the_mul")]
    g = helper.make_graph(nodes, "erf",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6])],
                          initializer=[two])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    ref = 2 * np.vectorize(math.erf)(X.astype(np.float64))
    return m, ref


def nograd_model():
    nodes = [helper.make_node("Sin", ["x"], ["a"], name="sin_1"),
             helper.make_node("Cos", ["a"], ["b"], name="cos_1"),
             helper.make_node("Sin", ["b"], ["y"], name="sin_2")]
    g = helper.make_graph(nodes, "nograd",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m, np.sin(np.cos(np.sin(X.astype(np.float64))))


def weighted_sum(name, w):
    nodes = [helper.make_node("Mul", ["x", "w"], ["p"]),
             helper.make_node("ReduceSum", ["p", "axes"], ["y"], keepdims=0)]
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                         ["N"] + list(w.shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])],
                          initializer=[numpy_helper.from_array(w, "w"),
                                       numpy_helper.from_array(np.array([1, 2, 3], np.int64),
                                                               "axes")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


def zipmap_model():
    coef = np.random.default_rng(9).normal(size=(2, 6)).astype(np.float32)
    icpt = np.array([0.2, -0.1], np.float32)
    nodes = [helper.make_node("LinearClassifier", ["x"], ["label", "scores"],
                              domain="ai.onnx.ml", coefficients=coef.reshape(-1).tolist(),
                              intercepts=icpt.tolist(), classlabels_ints=[0, 1],
                              post_transform="SOFTMAX"),
             helper.make_node("ZipMap", ["scores"], ["probabilities"], domain="ai.onnx.ml",
                              classlabels_int64s=[0, 1])]
    seq = helper.make_sequence_type_proto(
        helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(
            TensorProto.FLOAT, [])))
    g = helper.make_graph(nodes, "zipmap",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
                          [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
                           helper.make_value_info("probabilities", seq)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("ai.onnx.ml", 1)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    z = X.astype(np.float64) @ coef.T.astype(np.float64) + icpt
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return m, e / e.sum(axis=1, keepdims=True)


def emb2_model():
    T = np.arange(30, dtype=np.float32).reshape(10, 3) / 10 - 1
    w = np.array([0.5, -1.0, 2.0], np.float32)
    nodes = [helper.make_node("Gather", ["table", "tokens"], ["emb"]),
             helper.make_node("MatMul", ["emb", "w"], ["score"]),
             helper.make_node("Cast", ["mask"], ["maskf"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["score", "maskf"], ["ms"]),
             helper.make_node("ReduceSum", ["ms", "axes"], ["y"], keepdims=1)]
    g = helper.make_graph(nodes, "emb2",
                          [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["N", 4]),
                           helper.make_tensor_value_info("mask", TensorProto.INT64, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
                          initializer=[numpy_helper.from_array(T, "table"),
                                       numpy_helper.from_array(w, "w"),
                                       numpy_helper.from_array(np.array([1], np.int64), "axes")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m, T, w


def seq_model():
    nodes = [helper.make_node("Mul", ["x", "x"], ["sq"]),
             helper.make_node("ReduceSum", ["sq", "axes"], ["y"], keepdims=1)]
    g = helper.make_graph(nodes, "seq",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "seq"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
                          initializer=[numpy_helper.from_array(np.array([1], np.int64), "axes")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def main():
    os.makedirs(OUT, exist_ok=True)
    ext = mlp_graph("N")
    if os.path.exists(os.path.join(OUT, "ext.onnx.data")):  # onnx.save appends to it
        os.remove(os.path.join(OUT, "ext.onnx.data"))
    onnx.save(ext, os.path.join(OUT, "ext.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="ext.onnx.data", size_threshold=64)
    onnx.save(mlp_graph(1), os.path.join(OUT, "fixed1.onnx"))
    ml, ml_y = ml_model()
    onnx.save(ml, os.path.join(OUT, "ml.onnx"))
    erf, erf_y = erf_model()
    onnx.save(erf, os.path.join(OUT, "erf.onnx"))
    ng, ng_y = nograd_model()
    onnx.save(ng, os.path.join(OUT, "nograd.onnx"))
    r2 = np.random.default_rng(7)
    W = r2.normal(size=(3, 4, 5)).astype(np.float32)
    V = r2.normal(size=(3, 3, 3)).astype(np.float32)
    weighted_sum("chw", W)
    weighted_sum("hwc", np.ascontiguousarray(W.transpose(1, 2, 0)))
    weighted_sum("amb", V)
    onnx.save(seq_model(), os.path.join(OUT, "seq.onnx"))
    e2, T, w = emb2_model()
    onnx.save(e2, os.path.join(OUT, "emb2.onnx"))
    zm, zm_y = zipmap_model()
    onnx.save(zm, os.path.join(OUT, "zipmap.onnx"))
    ref = {"emb2_tw": (T @ w).tolist(), "zipmap": zm_y.astype(np.float32).tolist(), "W": W.tolist(), "V": V.tolist(), "x": X.tolist(), "nograd": ng_y.astype(np.float32).tolist(), "mlp": mlp_ref(X).astype(np.float32).tolist(),
           "ml": ml_y.astype(np.float32).tolist(), "erf": erf_y.astype(np.float32).tolist()}
    with open(os.path.join(OUT, "ref.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main()
