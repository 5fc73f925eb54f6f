#!/usr/bin/env python3
"""Builds the small ONNX models the tests use, and numpy reference outputs for them.

Run once by a developer (needs `pip install onnx numpy`); the outputs are
committed under tests/data/onnx/ so that CI needs no Python:
  ops/<name>.onnx  one operator each, with ops/<name>.json = {"inputs": {name: [...]},
                   "output": [...]} computed here with numpy, independently of explainq
  t1.onnx          docs/design.md §4.1 T1: x1 x2 + 2 x3 + x1 x2 x3
  mlp20.onnx       the same network as tests/data/models/mlp20.json (dense backend)
  cnn.onnx         a small CNN: Conv, BatchNorm, Relu, MaxPool, grouped Conv, GAP, Gemm, Softmax
  emb.onnx         token ids -> Gather (embedding, tensor "emb") -> ReduceMean -> Gemm -> Sigmoid
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "onnx")
OPSET = 13
rng = np.random.default_rng(20261123)


def save(model, path):
    model.opset_import[0].version = OPSET
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def single_op(name, op, x_shape, out_shape, ref, inits=(), attrs=None, x=None, extra_inputs=()):
    """One node `op`, batch-first input x, reference output from numpy function `ref`."""
    if x is None:
        x = rng.normal(size=x_shape).astype(np.float32)
    inputs = ["x"] + [i.name for i in inits] + list(extra_inputs)
    node = helper.make_node(op, inputs, ["y"], **(attrs or {}))
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + list(x_shape[1:]))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"] + list(out_shape[1:]))],
        initializer=list(inits))
    save(helper.make_model(graph), os.path.join(OUT, "ops", name + ".onnx"))
    y = ref(x).astype(np.float32)
    assert list(y.shape) == list(out_shape), (name, y.shape, out_shape)
    with open(os.path.join(OUT, "ops", name + ".json"), "w") as f:
        json.dump({"input": x.reshape(-1).tolist(), "batch": int(x_shape[0]),
                   "output": y.reshape(-1).tolist()}, f)


def init(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def conv2d(x, w, b, stride=1, pad=0, group=1, dil=1):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    y = np.zeros((n, m, oh, ow), np.float64)
    mg = m // group
    for g in range(group):
        for mo in range(g * mg, (g + 1) * mg):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[:, g * cg:(g + 1) * cg,
                               i * stride:i * stride + dil * (kh - 1) + 1:dil,
                               j * stride:j * stride + dil * (kw - 1) + 1:dil]
                    y[:, mo, i, j] = (patch * w[mo]).sum(axis=(1, 2, 3)) + b[mo]
    return y


def pool(x, k, s, pad, kind, include_pad=0):
    n, c, h, w = x.shape
    oh = (h + 2 * pad - k) // s + 1
    ow = (w + 2 * pad - k) // s + 1
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * s - pad, j * s - pad
            ys, xs = max(y0, 0), max(x0, 0)
            ye, xe = min(y0 + k, h), min(x0 + k, w)
            win = x[:, :, ys:ye, xs:xe]
            if kind == "max":
                y[:, :, i, j] = win.max(axis=(2, 3))
            else:
                y[:, :, i, j] = win.sum(axis=(2, 3)) / (k * k if include_pad else win.shape[2] * win.shape[3])
    return y


def ops():
    os.makedirs(os.path.join(OUT, "ops"), exist_ok=True)
    W = rng.normal(size=(4, 3)).astype(np.float32)
    B = rng.normal(size=(3,)).astype(np.float32)
    single_op("gemm", "Gemm", (2, 4), (2, 3), lambda x: 0.5 * x @ W + 2.0 * B,
              [init("W", W), init("B", B)], {"alpha": 0.5, "beta": 2.0})
    Wt = rng.normal(size=(3, 4)).astype(np.float32)
    single_op("gemm_transb", "Gemm", (2, 4), (2, 3), lambda x: x @ Wt.T + B,
              [init("W", Wt), init("B", B)], {"transB": 1})
    M3 = rng.normal(size=(3, 5)).astype(np.float32)
    single_op("matmul", "MatMul", (2, 4, 3), (2, 4, 5), lambda x: x @ M3, [init("M", M3)])
    for op, f in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply)):
        C = rng.normal(size=(1, 3)).astype(np.float32)
        single_op(op, op.capitalize(), (2, 4, 3), (2, 4, 3), lambda x, f=f, C=C: f(x, C), [init("C", C)])
    D = (rng.uniform(0.5, 2.0, size=(3,)) * np.array([1, -1, 1])).astype(np.float32)
    single_op("div", "Div", (2, 3), (2, 3), lambda x: x / D, [init("D", D)])
    single_op("relu", "Relu", (3, 5), (3, 5), lambda x: np.maximum(x, 0))
    single_op("leakyrelu", "LeakyRelu", (3, 5), (3, 5), lambda x: np.where(x > 0, x, 0.2 * x),
              attrs={"alpha": 0.2})
    single_op("sigmoid", "Sigmoid", (3, 5), (3, 5), lambda x: 1 / (1 + np.exp(-x)))
    single_op("tanh", "Tanh", (3, 5), (3, 5), np.tanh)
    single_op("softmax", "Softmax", (2, 3, 4), (2, 3, 4), lambda x: softmax(x, 1), attrs={"axis": 1})
    single_op("softmax_last", "Softmax", (2, 5), (2, 5), lambda x: softmax(x, -1))
    single_op("exp", "Exp", (3, 4), (3, 4), np.exp)
    xpos = rng.uniform(0.5, 3.0, size=(3, 4)).astype(np.float32)
    single_op("log", "Log", (3, 4), (3, 4), np.log, x=xpos)
    single_op("clip", "Clip", (3, 6), (3, 6), lambda x: np.clip(x, -0.5, 0.7),
              [init("lo", np.float32(-0.5)), init("hi", np.float32(0.7))])
    single_op("identity", "Identity", (2, 3), (2, 3), lambda x: x)
    single_op("flatten", "Flatten", (2, 3, 4), (2, 12), lambda x: x.reshape(2, 12), attrs={"axis": 1})
    single_op("reshape", "Reshape", (2, 3, 4), (2, 4, 3), lambda x: x.reshape(2, 4, 3),
              [init("shape", np.array([0, 4, -1], np.int64))])
    single_op("transpose", "Transpose", (2, 3, 4), (2, 4, 3), lambda x: x.transpose(0, 2, 1),
              attrs={"perm": [0, 2, 1]})
    single_op("squeeze", "Squeeze", (2, 1, 4), (2, 4), lambda x: x.reshape(2, 4),
              [init("axes", np.array([1], np.int64))])
    single_op("unsqueeze", "Unsqueeze", (2, 4), (2, 1, 4), lambda x: x.reshape(2, 1, 4),
              [init("axes", np.array([1], np.int64))])
    K = rng.normal(size=(2, 2)).astype(np.float32)
    single_op("concat", "Concat", (2, 3), (2, 5), lambda x: np.concatenate([x, K], axis=1),
              [init("K", K)], {"axis": 1})
    single_op("reducesum", "ReduceSum", (2, 3, 4), (2, 1, 4), lambda x: x.sum(axis=1, keepdims=True),
              [init("axes", np.array([1], np.int64))])
    single_op("reducemean", "ReduceMean", (2, 3, 4), (2, 3), lambda x: x.mean(axis=2),
              attrs={"axes": [2], "keepdims": 0})
    Wc = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    bc = rng.normal(size=(4,)).astype(np.float32)
    single_op("conv", "Conv", (2, 2, 6, 5), (2, 4, 6, 5), lambda x: conv2d(x, Wc, bc, pad=1),
              [init("W", Wc), init("b", bc)], {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]})
    Wg = rng.normal(size=(4, 1, 3, 3)).astype(np.float32)
    single_op("conv_group_stride", "Conv", (2, 2, 7, 7), (2, 4, 3, 3),
              lambda x: conv2d(x, Wg, np.zeros(4), stride=2, group=2),
              [init("W", Wg)], {"strides": [2, 2], "group": 2})
    single_op("maxpool", "MaxPool", (2, 3, 6, 6), (2, 3, 3, 3), lambda x: pool(x, 2, 2, 0, "max"),
              attrs={"kernel_shape": [2, 2], "strides": [2, 2]})
    single_op("averagepool", "AveragePool", (2, 2, 5, 5), (2, 2, 5, 5),
              lambda x: pool(x, 3, 1, 1, "avg"),
              attrs={"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]})
    single_op("globalaveragepool", "GlobalAveragePool", (2, 3, 4, 5), (2, 3, 1, 1),
              lambda x: x.mean(axis=(2, 3), keepdims=True))
    s, b, mu = (rng.normal(size=(3,)).astype(np.float32) for _ in range(3))
    var = rng.uniform(0.5, 2, size=(3,)).astype(np.float32)
    single_op("batchnorm", "BatchNormalization", (2, 3, 2, 2), (2, 3, 2, 2),
              lambda x: s[None, :, None, None] * (x - mu[None, :, None, None]) /
              np.sqrt(var[None, :, None, None] + 1e-5) + b[None, :, None, None],
              [init("s", s), init("b", b), init("mu", mu), init("var", var)])
    T = rng.normal(size=(6, 4)).astype(np.float32)
    # Gather on the input (axis 1) with constant indices: gradients flow to x
    single_op("gather", "Gather", (2, 6, 4), (2, 3, 4), lambda x: x[:, [4, 0, 4], :],
              [init("idx", np.array([4, 0, -2], np.int64))], {"axis": 1})
    del T


def t1():
    sel = [init("e%d" % i, np.eye(3, dtype=np.float32)[:, i:i + 1]) for i in range(3)]
    two = init("two", np.float32(2.0))
    nodes = [helper.make_node("MatMul", ["x", "e%d" % i], ["x%d" % (i + 1)]) for i in range(3)]
    nodes += [helper.make_node("Mul", ["x1", "x2"], ["p"]),
              helper.make_node("Mul", ["x3", "two"], ["q"]),
              helper.make_node("Mul", ["p", "x3"], ["r"]),
              helper.make_node("Add", ["p", "q"], ["s"]),
              helper.make_node("Add", ["s", "r"], ["y"])]
    g = helper.make_graph(nodes, "t1", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], sel + [two])
    save(helper.make_model(g), os.path.join(OUT, "t1.onnx"))


def mlp20():
    d = json.load(open(os.path.join(HERE, "..", "data", "models", "mlp20.json")))
    l1, l2 = d["layers"]
    inits = [init("W1", np.array(l1["weights"], np.float32)), init("b1", np.array(l1["bias"], np.float32)),
             init("W2", np.array(l2["weights"], np.float32)), init("b2", np.array(l2["bias"], np.float32))]
    nodes = [helper.make_node("Gemm", ["features", "W1", "b1"], ["h"], transB=1),
             helper.make_node("Tanh", ["h"], ["t"]),
             helper.make_node("Gemm", ["t", "W2", "b2"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    g = helper.make_graph(nodes, "mlp20",
                          [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 20])],
                          [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2])],
                          inits)
    save(helper.make_model(g), os.path.join(OUT, "mlp20.onnx"))


def cnn():
    inits = [init("W1", rng.normal(scale=0.4, size=(4, 1, 3, 3)).astype(np.float32)),
             init("b1", rng.normal(scale=0.1, size=(4,)).astype(np.float32)),
             init("s", np.ones(4, np.float32)), init("bb", np.zeros(4, np.float32)),
             init("mu", np.full(4, 0.1, np.float32)), init("var", np.full(4, 0.9, np.float32)),
             init("W2", rng.normal(scale=0.4, size=(4, 2, 3, 3)).astype(np.float32)),
             init("W3", rng.normal(scale=0.5, size=(3, 4)).astype(np.float32)),
             init("b3", np.zeros(3, np.float32))]
    nodes = [helper.make_node("Conv", ["image", "W1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "s", "bb", "mu", "var"], ["n1"]),
             helper.make_node("Relu", ["n1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "W2"], ["c2"], pads=[1, 1, 1, 1], group=2),
             helper.make_node("Tanh", ["c2"], ["t2"]),
             helper.make_node("GlobalAveragePool", ["t2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "W3", "b3"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    g = helper.make_graph(nodes, "cnn",
                          [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 16, 16])],
                          [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 3])], inits)
    save(helper.make_model(g), os.path.join(OUT, "cnn.onnx"))


def emb():
    inits = [init("table", rng.normal(size=(10, 4)).astype(np.float32)),
             init("W", rng.normal(size=(1, 4)).astype(np.float32)), init("b", np.zeros(1, np.float32))]
    nodes = [helper.make_node("Gather", ["table", "tokens"], ["emb"], axis=0),
             helper.make_node("ReduceMean", ["emb"], ["pooled"], axes=[1], keepdims=0),
             helper.make_node("Gemm", ["pooled", "W", "b"], ["logit"], transB=1),
             helper.make_node("Sigmoid", ["logit"], ["score"])]
    g = helper.make_graph(nodes, "emb",
                          [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["N", 5])],
                          [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])], inits)
    save(helper.make_model(g), os.path.join(OUT, "emb.onnx"))


if __name__ == "__main__":
    ops()
    t1()
    mlp20()
    cnn()
    emb()
