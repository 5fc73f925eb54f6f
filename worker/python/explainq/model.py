"""What a runner serves: a model known by its tensors, evaluated on batches of rows.

Subclass Model (or use FunctionModel) and hand it to explainq.runner.serve(). Tensors are
float32 NumPy arrays, batch first; shapes are per row.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .protocol import EINVAL, EMODEL, ProtocolError

Shape = Tuple[int, ...]


class ModelError(Exception):
    """A model's own failure: becomes an error reply (code model_error) naming @field."""

    def __init__(self, message: str, field: str = "model"):
        super().__init__(message)
        self.field = field
        self.message = message


def _elems(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


class Model:
    """A served model. Subclasses set inputs, output, encoded (and labels) and implement
    forward(); gradient() when the model has gradients."""

    inputs: List[Tuple[str, Shape]] = []
    output: Tuple[str, Shape] = ("output", ())
    encoded: List[Tuple[str, Shape]] = []  # intermediate tensors a request may feed instead
    labels: Dict[str, List[str]] = {}  # displayNameMappingKey -> class names
    tables: Dict[str, Tuple[str, np.ndarray]] = {}  # encoded -> (raw input, [vocab, dim])

    def forward(self, feeds: Dict[str, np.ndarray]) -> np.ndarray:
        """Outputs [rows, *output shape] for the fed tensors (raw inputs or encoded ones)."""
        raise NotImplementedError

    def gradient(self, feeds: Dict[str, np.ndarray],
                 index: np.ndarray) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
        """Outputs and, per fed tensor, d out[r].flat[index[r]] / d feed[r] (same shape as it)."""
        raise ModelError("this model has no gradients: use sampledShapleyAttribution")

    # ---- what every runner does the same way (worker/cmd_runner.c evaluate()) ----

    def find(self, name: str) -> Optional[Tuple[Shape, bool]]:
        for n, s in self.inputs:
            if n == name:
                return tuple(s), False
        for n, s in self.encoded:
            if n == name:
                return tuple(s), True
        return None

    def evaluate(self, req) -> Tuple[np.ndarray, Optional[List[Tuple[str, np.ndarray]]]]:
        """Checks @req against the model as `explainq runner` does, then evaluates it.
        Returns (outputs, grads or None); raises ProtocolError."""
        oname, oshape = self.output
        out_cnt = _elems(oshape)
        if len(req.outputs) > 1 or (len(req.outputs) == 1 and req.outputs[0] != oname):
            raise ProtocolError(EMODEL, "outputs", f"this runner serves output {oname} only")
        if req.grad_output is not None and req.grad_output != oname:
            raise ProtocolError(EMODEL, "grad.output", f"this runner serves output {oname} only")
        if req.grad:
            gi = req.grad_index
            bad = np.flatnonzero((gi < 0) | (gi >= out_cnt))
            if bad.size:
                i = int(bad[0])
                raise ProtocolError(EINVAL, "grad.index",
                                    f"row {i} asks for output element {int(gi[i])} of {out_cnt}")
        feeds = {}
        for name, a in req.inputs.items():
            found = self.find(name)
            if found is None:
                raise ProtocolError(EMODEL, name, f"the model has no tensor {name}")
            per_row = a.size // req.rows
            if per_row != _elems(found[0]):
                raise ProtocolError(
                    EMODEL, name,
                    f"tensor {name} has {per_row} elements per row; the model takes {_elems(found[0])}")
            feeds[name] = a.reshape((req.rows,) + tuple(found[0]))
        try:
            if req.grad:
                out, grads = self.gradient(feeds, req.grad_index.astype(np.int64))
                glist = [(n, np.asarray(grads[n], dtype=np.float32).reshape(req.inputs[n].shape))
                         for n in req.inputs]
            else:
                out, glist = self.forward(feeds), None
        except ModelError as e:
            raise ProtocolError(EMODEL, e.field, e.message) from e
        except ProtocolError:
            raise
        except Exception as e:  # a model's own exception: an error reply, never a stop
            raise ProtocolError(EMODEL, "model", f"{type(e).__name__}: {e}") from e
        out = np.asarray(out, dtype=np.float32)
        if out.size != req.rows * out_cnt:
            raise ProtocolError(EMODEL, oname,
                                f"output {oname} has {out.size // max(req.rows, 1)} elements per "
                                f"row, not {out_cnt}")
        return out.reshape((req.rows,) + tuple(oshape)), glist


class FunctionModel(Model):
    """Any Python function of NumPy arrays, forward only: f(*inputs) -> outputs, rows first
    (scikit-learn's predict_proba, a LightGBM booster's predict, a pipeline). The output's
    shape comes from one call on a row of zeros."""

    def __init__(self, fn, inputs: Sequence[Tuple[str, Sequence[int]]],
                 output_name: str = "output", labels: Optional[Dict[str, List[str]]] = None):
        self.fn = fn
        self.inputs = [(n, tuple(int(d) for d in s)) for n, s in inputs]
        probe = np.asarray(fn(*[np.zeros((1,) + s, dtype=np.float32) for _, s in self.inputs]))
        self.output = (output_name, tuple(probe.shape[1:]))
        self.encoded = []
        self.labels = labels or {}

    def forward(self, feeds):
        rows = next(iter(feeds.values())).shape[0]
        args = []
        for n, s in self.inputs:
            if n not in feeds:
                raise ModelError(f"this model needs every input; {n} is missing", field=n)
            args.append(feeds[n])
        out = np.asarray(self.fn(*args), dtype=np.float32)
        return out.reshape((rows,) + self.output[1])

    def gradient(self, feeds, index):
        raise ModelError("a Python callable gives no gradients: use sampledShapleyAttribution")
