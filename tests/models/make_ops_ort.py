#!/usr/bin/env python3
"""Small models of the interpreter's newer operators, with onnxruntime's outputs as reference.

Run by a developer (`make models-venv`, then `.venv-models/bin/python tests/models/make_ops_ort.py`);
writes tests/data/onnx/ops/<name>.onnx and <name>.json = {"input": [...], "batch": N,
"output": [...]} (the format of make_onnx.py), where the output is what onnxruntime (pinned in
tests/models/requirements.txt) computes for the input. tests/unit/test_onnx.c checks the
interpreter's forward pass against it and its gradients against central finite differences.
Each model has one float input x whose first dimension is the batch.
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "onnx", "ops")
rng = np.random.default_rng(20261207)


def init(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def model(name, nodes, x_shape, inits=(), opset=18, x=None, y_rank=None):
    """Builds, saves and runs a graph x -> ... -> y; writes the reference json.
    y is declared [N, ?, ...] with y_rank dimensions (default: x's rank)."""
    y_dims = ["N"] + ["d%d" % i for i in range(1, y_rank or len(x_shape))]
    if x is None:
        x = rng.normal(size=x_shape).astype(np.float32)
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + list(x_shape[1:]))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_dims)],
        initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset <= 18 else 9
    onnx.checker.check_model(m)
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(m, path)
    y = ort.InferenceSession(path).run(None, {"x": x})[0].astype(np.float32)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"input": x.reshape(-1).tolist(), "batch": int(x_shape[0]),
                   "output": y.reshape(-1).tolist()}, f)


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


def elementwise():
    # keep x away from the kinks of HardSwish (+-3) and HardSigmoid (alpha x + beta in {0, 1})
    xw = (rng.normal(size=(3, 8)) * 2).astype(np.float32)
    model("hardswish", [node("HardSwish", ["x"], ["y"])], (3, 8), opset=18, x=xw)
    model("hardsigmoid", [node("HardSigmoid", ["x"], ["y"], alpha=0.3, beta=0.4)], (3, 8), x=xw)
    model("softplus", [node("Softplus", ["x"], ["y"])], (3, 8), x=xw)
    model("erf", [node("Erf", ["x"], ["y"])], (3, 8))
    model("gelu", [node("Gelu", ["x"], ["y"])], (3, 8), opset=20, x=xw)
    model("gelu_tanh", [node("Gelu", ["x"], ["y"], approximate="tanh")], (3, 8), opset=20, x=xw)
    xpos = rng.uniform(0.5, 3, size=(3, 8)).astype(np.float32)
    model("sqrt", [node("Sqrt", ["x"], ["y"])], (3, 8), x=xpos)
    model("pow", [node("Pow", ["x", "p"], ["y"])], (3, 8), [init("p", np.float32(3))])
    model("pow_base", [node("Pow", ["b", "x"], ["y"])], (3, 8), [init("b", np.float32(1.7))])
    # x -> int64 -> float: integers carry no gradient; x + that
    model("cast", [node("Cast", ["x"], ["d"], to=TensorProto.DOUBLE),
                   node("Cast", ["d"], ["f"], to=TensorProto.FLOAT),
                   node("Cast", ["x"], ["i"], to=TensorProto.INT64),
                   node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
                   node("Mul", ["f", "fi"], ["y"])], (3, 8), x=xw)
    # Where(Not(Equal(k, 0)), x, -x): k an int64 pattern broadcast over rows
    k = np.array([1, 0, 2, 0, 0, 3, 1, 0], np.int64)
    model("where", [node("Equal", ["k", "zero"], ["e"]),
                    node("Not", ["e"], ["c"]),
                    node("Neg", ["x"], ["nx"]),
                    node("Where", ["c", "x", "nx"], ["y"])], (3, 8),
          [init("k", k), init("zero", np.int64(0))])


def i64(*v):
    return np.array(v, np.int64)


def shapes():
    model("slice", [node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])], (3, 6, 5),
          [init("st", i64(5, 1)), init("en", i64(0, 100)), init("ax", i64(1, -1)),
           init("sp", i64(-2, 2))])
    model("expand", [node("Unsqueeze", ["x", "ax"], ["u"]),
                     node("Expand", ["u", "shp"], ["y"])], (2, 4), [init("ax", i64(1)),
                                                                   init("shp", i64(1, 3, 1))],
          y_rank=3)
    model("tile", [node("Tile", ["x", "rep"], ["y"])], (2, 3, 2), [init("rep", i64(1, 2, 3))])
    # x + float(range(0, 8)) + ConstantOfShape(shape of x, 0.5)
    model("range", [node("Range", ["r0", "r1", "r2"], ["r"]),
                    node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
                    node("Shape", ["x"], ["s"]),
                    node("ConstantOfShape", ["s"], ["half"],
                         value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5])),
                    node("Add", ["x", "rf"], ["xr"]),
                    node("Add", ["xr", "half"], ["y"])], (3, 8),
          [init("r0", np.int64(0)), init("r1", np.int64(8)), init("r2", np.int64(1))])
    # indices [1, 5] expanded to [N, 5] with the batch from Shape(x)
    model("gatherelements", [node("Shape", ["x"], ["s"]),
                             node("Slice", ["s", "z", "one"], ["n"]),
                             node("Concat", ["n", "five"], ["shp"], axis=0),
                             node("Expand", ["idx", "shp"], ["ie"]),
                             node("GatherElements", ["x", "ie"], ["y"], axis=1)], (3, 6),
          [init("z", i64(0)), init("one", i64(1)), init("five", i64(5)),
           init("idx", np.array([[4, 0, -1, 2, 4]], np.int64))])
    model("reducemax", [node("ReduceMax", ["x", "ax"], ["y"], keepdims=0)], (3, 4, 5),
          [init("ax", i64(2))], y_rank=2)
    model("reducemean18", [node("ReduceMean", ["x", "ax"], ["y"], keepdims=1)], (3, 4, 5),
          [init("ax", i64(1))])
    model("layernorm", [node("LayerNormalization", ["x", "sc", "b"], ["y"], epsilon=1e-3)],
          (3, 4, 6), [init("sc", rng.normal(size=6).astype(np.float32)),
                      init("b", rng.normal(size=6).astype(np.float32))])
    model("layernorm2", [node("LayerNormalization", ["x", "sc"], ["y"], axis=1)], (3, 2, 5),
          [init("sc", rng.normal(size=(2, 5)).astype(np.float32))])
    model("split", [node("Split", ["x", "sp"], ["a", "b", "c"], axis=1),
                    node("Mul", ["a", "two"], ["a2"]),
                    node("Concat", ["c", "a2", "b"], ["y"], axis=1)], (3, 7),
          [init("sp", i64(2, 1, 4)), init("two", np.float32(2))])
    model("split_equal", [node("Split", ["x"], ["a", "b"], axis=-1, num_outputs=2),
                          node("Sub", ["b", "a"], ["y"])], (3, 2, 6))
    pads = i64(0, 1, 2, 0, 2, 1)
    for mode in ("constant", "edge", "reflect"):
        model("pad_" + mode, [node("Pad", ["x", "p", "v"], ["y"], mode=mode)], (2, 4, 5),
              [init("p", pads), init("v", np.float32(0.25))])
    model("pad_axes", [node("Pad", ["x", "p", "", "ax"], ["y"])], (2, 3, 4),
          [init("p", i64(1, -1)), init("ax", i64(-1))])
    f32 = lambda *v: np.array(v, np.float32)
    model("resize_nearest", [node("Resize", ["x", "", "s"], ["y"], mode="nearest",
                                  coordinate_transformation_mode="asymmetric",
                                  nearest_mode="floor")], (2, 2, 3, 4),
          [init("s", f32(1, 1, 2, 1.5))])
    model("resize_linear", [node("Resize", ["x", "", "", "sz"], ["y"], mode="linear")],
          (2, 2, 4, 5), [init("sz", i64(2, 2, 7, 3))])
    model("resize_align", [node("Resize", ["x", "", "s"], ["y"], mode="linear",
                                coordinate_transformation_mode="align_corners")], (2, 1, 3, 4),
          [init("s", f32(1, 1, 2, 2))])
    model("resize_pytorch", [node("Resize", ["x", "", "s"], ["y"], mode="linear",
                                  coordinate_transformation_mode="pytorch_half_pixel")],
          (2, 1, 6, 4), [init("s", f32(1, 1, 0.5, 1.75))])
    model("resize_round", [node("Resize", ["x", "", "", "sz"], ["y"], mode="nearest")],
          (2, 1, 5, 4), [init("sz", i64(2, 1, 7, 3))])
    # Mod: fmod on floats (x mod 0.7), and the integer form on a shape computation
    model("mod", [node("Mod", ["x", "d"], ["y"], fmod=1)], (3, 8), [init("d", f32(0.7))])
    model("mod_int", [node("Shape", ["x"], ["s"]),
                      node("Mod", ["s", "k"], ["r"]),
                      node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
                      node("ReduceSum", ["rf"], ["t"], keepdims=1),
                      node("Mul", ["x", "t"], ["y"])], (3, 5, 4), [init("k", i64(-2, 3, 3))])
    # an empty tensor is a value too: Concat(Shape(x), Slice(Shape(x), 2, 2)) reshapes x
    model("empty", [node("Shape", ["x"], ["s"]),
                    node("Slice", ["s", "two", "two"], ["e"]),
                    node("Concat", ["s", "e"], ["t"], axis=0),
                    node("Reshape", ["x", "t"], ["r"]),
                    node("Mul", ["r", "r"], ["y"])], (3, 6), [init("two", i64(2))])


def convs():
    """Conv's im2col edges: dilation, stride, asymmetric pads, groups, a non-square kernel."""
    w = rng.normal(scale=0.3, size=(6, 2, 3, 2)).astype(np.float32)
    model("conv_dilated", [node("Conv", ["x", "w", "b"], ["y"], dilations=[2, 1], strides=[2, 1],
                                pads=[1, 0, 2, 1], group=2)], (2, 4, 9, 8),
          [init("w", w), init("b", rng.normal(size=(6,)).astype(np.float32))])


def main():
    os.makedirs(OUT, exist_ok=True)
    elementwise()
    shapes()
    convs()  # last: the models above keep their draws


if __name__ == "__main__":
    main()
