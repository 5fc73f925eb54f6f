"""TensorFlow SavedModels as Vertex users have them: a signature's inputs and one of its outputs;
gradients by tf.GradientTape of each row's requested output element."""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from .model import Model, ModelError


class TFModel(Model):
    def __init__(self, saved_model: str, signature: str = "serving_default",
                 output: Optional[str] = None, labels: Optional[Dict[str, List[str]]] = None):
        import tensorflow as tf

        self.tf = tf
        self.obj = tf.saved_model.load(saved_model)
        if signature not in self.obj.signatures:
            raise ValueError(f"the SavedModel has no signature {signature} (it has "
                             f"{', '.join(self.obj.signatures.keys())})")
        self.fn = self.obj.signatures[signature]
        _, kwargs = self.fn.structured_input_signature
        self.inputs, self.dtypes = [], {}
        for name in sorted(kwargs):
            spec = kwargs[name]
            dims = spec.shape.as_list()[1:]
            if any(d is None for d in dims):
                raise ValueError(f"input {name}: every dimension but the batch must be fixed "
                                 f"(it is {spec.shape})")
            self.inputs.append((name, tuple(dims)))
            self.dtypes[name] = spec.dtype
        outs = sorted(self.fn.structured_outputs)
        self.out_key = output or outs[0]
        if self.out_key not in outs:
            raise ValueError(f"the signature has no output {self.out_key} (it has "
                             f"{', '.join(outs)})")
        probe = self._run({n: np.zeros((1,) + s, np.float32) for n, s in self.inputs})
        self.output = (self.out_key, tuple(probe.shape[1:]))
        self.encoded = []
        self.labels = labels or {}

    def _consts(self, feeds):
        tf = self.tf
        missing = [n for n, _ in self.inputs if n not in feeds]
        if missing:
            raise ModelError(f"this model needs every input; {missing[0]} is missing",
                             field=missing[0])
        return {n: tf.cast(tf.constant(a), self.dtypes[n]) for n, a in feeds.items()}

    def _run(self, feeds):
        return self.fn(**self._consts(feeds))[self.out_key].numpy()

    def forward(self, feeds):
        return self._run(feeds)

    def gradient(self, feeds, index):
        tf = self.tf
        xs = self._consts(feeds)
        with tf.GradientTape() as tape:
            for v in xs.values():
                tape.watch(v)
            y = self.fn(**xs)[self.out_key]
            rows = tf.shape(y)[0]
            flat = tf.reshape(y, [rows, -1])
            picked = tf.reduce_sum(tf.gather(flat, tf.constant(np.asarray(index, np.int64)),
                                             axis=1, batch_dims=1))
        names = list(xs)
        gs = tape.gradient(picked, [xs[n] for n in names])
        grads = {n: (np.zeros(feeds[n].shape, np.float32) if g is None else g.numpy())
                 for n, g in zip(names, gs)}
        return y.numpy(), grads
