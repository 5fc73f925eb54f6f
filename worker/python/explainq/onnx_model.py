"""ONNX models through onnxruntime: forward only (workers then explain with Sampled Shapley;
`explainq runner` serves ONNX models with gradients itself)."""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from .model import Model, ModelError

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64,
              "tensor(int64)": np.int64, "tensor(int32)": np.int32}


class OnnxModel(Model):
    def __init__(self, path: str, output: Optional[str] = None,
                 labels: Optional[Dict[str, List[str]]] = None):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.types = {}
        self.inputs = []
        for i in self.sess.get_inputs():
            dims = i.shape[1:]
            if any(not isinstance(d, int) or d <= 0 for d in dims):
                raise ValueError(f"input {i.name}: every dimension but the batch must be fixed "
                                 f"(it is {i.shape})")
            if i.type not in _ORT_TYPES:
                raise ValueError(f"input {i.name}: type {i.type} is not supported")
            self.types[i.name] = _ORT_TYPES[i.type]
            self.inputs.append((i.name, tuple(dims)))
        outs = {o.name: o for o in self.sess.get_outputs()}
        name = output or self.sess.get_outputs()[0].name
        if name not in outs:
            raise ValueError(f"the model has no output {name} (it has {', '.join(outs)})")
        self.out_name = name
        probe = self.sess.run([name], {n: np.zeros((1,) + s, dtype=self.types[n])
                                       for n, s in self.inputs})[0]
        self.output = (name, tuple(probe.shape[1:]))
        self.encoded = []
        self.labels = labels or {}

    def forward(self, feeds):
        missing = [n for n, _ in self.inputs if n not in feeds]
        if missing:
            raise ModelError(f"this model needs every input; {missing[0]} is missing",
                             field=missing[0])
        run = {n: (np.round(a) if np.issubdtype(self.types[n], np.integer) else a)
               .astype(self.types[n]) for n, a in feeds.items()}
        return self.sess.run([self.out_name], run)[0]

    def gradient(self, feeds, index):
        raise ModelError("the onnx runner of the Python package gives no gradients: serve the "
                         "model with `explainq runner --model FILE.onnx` for gradients")
