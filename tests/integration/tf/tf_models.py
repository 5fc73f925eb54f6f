#!/usr/bin/env python3
"""The TensorFlow runner's integration test data (make test-tf; needs tensorflow-cpu).

  tf_models.py make DIR        a Keras MLP saved as a SavedModel, instances, an IG spec
  tf_models.py reference DIR   Gauss-Legendre IG of the same model with tf.GradientTape
"""
import json
import sys

import numpy as np

N_FEAT, STEPS = 8, 16


def make(d):
    import tensorflow as tf

    tf.random.set_seed(163)
    inp = tf.keras.Input(shape=(N_FEAT,), name="features")
    h = tf.keras.layers.Dense(16, activation="tanh", name="hidden")(inp)
    out = tf.keras.layers.Dense(3, activation="softmax", name="probs")(h)
    model = tf.keras.Model(inp, out)
    tf.saved_model.save(model, f"{d}/saved")
    rng = np.random.default_rng(163)
    feats = [f"f{i}" for i in range(N_FEAT)]
    with open(f"{d}/tf.jsonl", "w") as fh:
        for r in rng.normal(size=(25, N_FEAT)):
            fh.write(json.dumps({f: round(float(v), 4) for f, v in zip(feats, r)}) + "\n")
    json.dump({"parameters": {"integratedGradientsAttribution": {"stepCount": STEPS}},
               "metadata": {"inputs": {f: {"inputTensorName": "features"} for f in feats},
                            "outputs": {"probs": {}}}}, open(f"{d}/ig.json", "w"))


def reference(d):
    import tensorflow as tf

    loaded = tf.saved_model.load(f"{d}/saved")  # keeps the variables alive
    fn = loaded.signatures["serving_default"]
    feats = [f"f{i}" for i in range(N_FEAT)]
    rows = [json.loads(line) for line in open(f"{d}/tf.jsonl")]
    x = np.array([[r[f] for f in feats] for r in rows], np.float32)
    target = fn(features=tf.constant(x))["probs"].numpy().argmax(axis=1)
    z, w = np.polynomial.legendre.leggauss(STEPS)
    alpha, omega = (z + 1) / 2, w / 2
    acc = np.zeros_like(x, dtype=np.float64)
    for a, wt in zip(alpha, omega):
        xa = tf.constant(a * x)  # the zero baseline
        with tf.GradientTape() as tape:
            tape.watch(xa)
            y = fn(features=xa)["probs"]
            picked = tf.gather(y, target, axis=1, batch_dims=1)
        acc += wt * tape.gradient(picked, xa).numpy()
    attr = x * acc
    with open(f"{d}/ig.reference", "w") as fh:
        for i in range(len(rows)):
            fh.write(json.dumps({"attributions": [{
                "outputIndex": [int(target[i])],
                "featureAttributions": {f: float(attr[i, j]) for j, f in enumerate(feats)}}]})
                + "\n")


if __name__ == "__main__":
    {"make": make, "reference": reference}[sys.argv[1]](sys.argv[2])
