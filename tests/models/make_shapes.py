#!/usr/bin/env python3
"""Trains the small CNN of the XRAI end-to-end test and writes its data (run once by a developer;
needs `pip install onnx numpy`; the outputs are committed, so CI needs no Python packages):

  tests/data/onnx/shapes.onnx        image [N, 1, 64, 64] -> probs [N, 2]: Conv 5x5 (8 filters),
                                     Relu, MaxPool 2x2, a global MaxPool, Gemm, Softmax
  tests/data/xrai/shapes.jsonl       test images of class 1, {"image": {"b64": <gray PNG>}}
  tests/data/xrai/shapes_boxes.json  where each test image's bright square is: [y0, x0, y1, x1)

Images: dim noise and dim blobs (values up to 0.5) on a dark ground; class 1 images also hold
one bright square (0.8-1.0, 7 to 11 pixels wide). Only the bright square decides the class.
"""
import base64
import json
import os
import struct
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
S, K, F = 64, 5, 8
rng = np.random.default_rng(64)


def image(with_square):
    im = rng.uniform(0, 0.2, size=(S, S))
    for _ in range(rng.integers(1, 4)):  # dim distractors
        cy, cx, r = rng.integers(8, S - 8), rng.integers(8, S - 8), rng.integers(4, 9)
        yy, xx = np.ogrid[:S, :S]
        im[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = rng.uniform(0.3, 0.5)
    box = None
    if with_square:
        n = int(rng.integers(7, 12))
        y0, x0 = int(rng.integers(2, S - n - 2)), int(rng.integers(2, S - n - 2))
        im[y0:y0 + n, x0:x0 + n] = rng.uniform(0.8, 1.0)
        box = [y0, x0, y0 + n, x0 + n]
    return im.astype(np.float32), box


def im2col(x):
    """x: (N, S, S) -> (N, S/2*... no pooling here) patches (N, S*S, K*K), zero padded."""
    p = K // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    cols = np.empty((x.shape[0], S * S, K * K), np.float32)
    for dy in range(K):
        for dx in range(K):
            cols[:, :, dy * K + dx] = xp[:, dy:dy + S, dx:dx + S].reshape(x.shape[0], -1)
    return cols


def forward(cols, W, b, W2, b2):
    z = cols @ W.T + b                          # (N, S*S, F)
    r = np.maximum(z, 0)
    n = cols.shape[0]
    r4 = r.reshape(n, S // 2, 2, S // 2, 2, F)
    pooled = r4.max(axis=(2, 4))                # (N, S/2, S/2, F)
    g = pooled.max(axis=(1, 2))                 # (N, F): a global max
    logits = g @ W2.T + b2
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z, r4, pooled, g, e / e.sum(axis=1, keepdims=True)


def train():
    n = 1200
    xs, ys = [], []
    for i in range(n):
        im, _ = image(i % 2 == 1)
        xs.append(im)
        ys.append(i % 2)
    X, Y = np.stack(xs), np.array(ys)
    cols = im2col(X)
    W = rng.normal(scale=0.2, size=(F, K * K)).astype(np.float32)
    b = np.full(F, -0.5, np.float32)
    W2 = rng.normal(scale=0.5, size=(2, F)).astype(np.float32)
    b2 = np.zeros(2, np.float32)
    params = [W, b, W2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for step in range(1, 401):
        idx = rng.choice(n, 64, replace=False)
        c, y = cols[idx], Y[idx]
        z, r4, pooled, g, prob = forward(c, W, b, W2, b2)
        d_logits = prob.copy()
        d_logits[np.arange(len(y)), y] -= 1
        d_logits /= len(y)
        dW2, db2 = d_logits.T @ g, d_logits.sum(0)
        dg = d_logits @ W2
        gmask = pooled == g[:, None, None, :]
        dpooled = gmask * dg[:, None, None, :]
        mask = r4 == pooled[:, :, None, :, None, :]
        dr = (mask * dpooled[:, :, None, :, None, :]).reshape(z.shape)
        dz = dr * (z > 0)
        dW = np.einsum("npf,npk->fk", dz, c)
        db = dz.sum(axis=(0, 1))
        for i, (p, d) in enumerate(zip(params, [dW, db, dW2, db2])):
            m[i] = 0.9 * m[i] + 0.1 * d
            v[i] = 0.999 * v[i] + 0.001 * d * d
            p -= 0.02 * (m[i] / (1 - 0.9 ** step)) / (np.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8)
    _, _, _, _, prob = forward(cols, W, b, W2, b2)
    acc = float((prob.argmax(1) == Y).mean())
    print(f"training accuracy {acc:.3f}")
    assert acc > 0.97
    return W, b, W2, b2


def export(W, b, W2, b2):
    def init(name, a):
        return numpy_helper.from_array(np.asarray(a, np.float32), name)

    inits = [init("W", W.reshape(F, 1, K, K)), init("b", b), init("W2", W2), init("b2", b2)]
    nodes = [helper.make_node("Conv", ["image", "W", "b"], ["c"], pads=[2, 2, 2, 2]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("MaxPool", ["p"], ["g"], kernel_shape=[S // 2, S // 2]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "W2", "b2"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    g = helper.make_graph(nodes, "shapes",
                          [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, S, S])],
                          [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 2])],
                          inits)
    model = helper.make_model(g)
    model.opset_import[0].version = 13
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(DATA, "onnx", "shapes.onnx"))


def png_gray(im):
    """An 8-bit grayscale PNG of im (values in [0, 1])."""
    raw = b"".join(b"\0" + bytes(row) for row in np.round(im * 255).astype(np.uint8))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    head = struct.pack(">IIBBBBB", im.shape[1], im.shape[0], 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw)) + \
        chunk(b"IEND", b"")


def test_images():
    boxes = []
    with open(os.path.join(DATA, "xrai", "shapes.jsonl"), "w") as f:
        for _ in range(4):
            im, box = image(True)
            b64 = base64.b64encode(png_gray(im)).decode()
            f.write(json.dumps({"image": {"b64": b64}}) + "\n")
            boxes.append(box)
    with open(os.path.join(DATA, "xrai", "shapes_boxes.json"), "w") as f:
        json.dump(boxes, f)


if __name__ == "__main__":
    export(*train())
    test_images()
