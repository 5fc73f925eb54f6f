"""PyTorch models as runners serve them: forward in eval mode under no_grad, input gradients by
autograd for a whole batch at once, and intermediate tensors (`encodedTensorName`,
`latentSpaceSource`) named by a submodule's dotted path ("encoder.embed").

Tested with Debian 12's python3-torch 1.13.1; needs torch >= 1.13 (nn.Module.get_submodule,
forward hooks that replace a module's output).
"""
from __future__ import annotations

import importlib
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .model import Model, ModelError

_DTYPES = {"float32": "float32", "f32": "float32", "float64": "float64", "f64": "float64",
           "int64": "int64", "i64": "int64", "int32": "int32", "i32": "int32"}


def parse_input(text: str) -> Tuple[str, Tuple[int, ...], str]:
    """"name:dims[:dtype]" with dims like 4x4x3 (or "" / "1" for a scalar per row)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise ValueError(f"--input {text}: expected name:dims[:dtype], dims like 20 or 3x32x32")
    try:
        dims = tuple(int(d) for d in parts[1].split("x")) if parts[1] else ()
    except ValueError:
        raise ValueError(f"--input {text}: dims must be integers joined by x") from None
    if any(d <= 0 for d in dims):
        raise ValueError(f"--input {text}: dims must be positive")
    dtype = _DTYPES.get(parts[2], None) if len(parts) == 3 else "float32"
    if dtype is None:
        raise ValueError(f"--input {text}: dtype must be one of {', '.join(sorted(_DTYPES))}")
    return parts[0], dims, dtype


def load_module(spec: str):
    """A TorchScript file (model.pt) or an importable factory "package.module:function"."""
    import torch

    if ":" in spec and not spec.endswith((".pt", ".pth", ".ts")):
        mod, _, fn = spec.partition(":")
        obj = getattr(importlib.import_module(mod), fn)
        return obj() if callable(obj) and not isinstance(obj, torch.nn.Module) else obj
    return torch.jit.load(spec, map_location="cpu")


class TorchModel(Model):
    """@module (an nn.Module or TorchScript) called as module(*inputs) in declaration order."""

    def __init__(self, module, inputs: Sequence[Tuple[str, Sequence[int], str]],
                 output_name: str = "output", output_module: Optional[str] = None,
                 encoded: Sequence[str] = (), device: str = "cpu",
                 labels: Optional[Dict[str, List[str]]] = None):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.module = module.to(self.device).eval()
        self.raw = [(n, tuple(int(d) for d in s), dt) for n, s, dt in inputs]
        if not self.raw:
            raise ValueError("declare the model's inputs (--input name:dims[:dtype])")
        self.inputs = [(n, s) for n, s, _ in self.raw]
        self.out_module = output_module
        self.enc_names = list(encoded)
        for n in self.enc_names + ([output_module] if output_module else []):
            self._submodule(n)  # fails early, naming the path
        self.labels = labels or {}
        # shapes of the output and the encoded tensors: one row of zeros through the model
        shapes: Dict[str, Tuple[int, ...]] = {}
        hooks = [self._submodule(n).register_forward_hook(self._shape_hook(n, shapes))
                 for n in self.enc_names]
        try:
            with torch.no_grad():
                out = self._call(self._zeros(1), {})
        finally:
            for h in hooks:
                h.remove()
        self.encoded = [(n, shapes[n]) for n in self.enc_names]
        self.tables = {}
        for n in self.enc_names:
            t = self._lookup_table(n)
            if t is not None:
                self.tables[n] = t
        self.output = (output_name if not output_module else output_module,
                       tuple(out.shape[1:]))

    # a lookup table goes in the describe reply only if it fits a Kafka message comfortably
    TABLE_MAX_ELEMS = 150_000

    def _lookup_table(self, name):
        """(raw input, weights) when the encoded submodule is an nn.Embedding applied to a raw
        integer input as it is, so that workers can encode token ids themselves (checked on
        random ids); else None."""
        t = self.torch
        emb = self._submodule(name)
        if (not isinstance(emb, t.nn.Embedding) or emb.max_norm is not None or
                emb.weight.numel() > self.TABLE_MAX_ELEMS):
            return None
        ints = [(n, s, dt) for n, s, dt in self.raw if dt.startswith("int")]
        if len(ints) != 1:
            return None
        rn, rs, rdt = ints[0]
        raw = self._zeros(2)
        raw[rn] = t.randint(0, emb.num_embeddings, (2,) + rs, dtype=getattr(t, rdt),
                            device=self.device)
        seen = {}

        def keep_input(mod, inp, out):  # returns None: the output stays as it is
            seen["in"] = inp[0]

        h = emb.register_forward_hook(keep_input)
        try:
            with t.no_grad():
                self._call(raw, {})
        finally:
            h.remove()
        if "in" not in seen or not t.equal(seen["in"].to(raw[rn].dtype), raw[rn]):
            return None
        return rn, emb.weight.detach().to("cpu", t.float32).numpy()

    def _submodule(self, path: str):
        try:
            return self.module.get_submodule(path)
        except AttributeError:
            raise ValueError(f"the module has no submodule {path} (a dotted path, as in "
                             f"named_modules())") from None

    @staticmethod
    def _shape_hook(name, shapes):
        def hook(mod, inp, out):
            out = out[0] if isinstance(out, (tuple, list)) else out
            shapes[name] = tuple(out.shape[1:])
        return hook

    def _zeros(self, rows):
        t = self.torch
        return {n: t.zeros((rows,) + s, dtype=getattr(t, dt), device=self.device)
                for n, s, dt in self.raw}

    def _call(self, raw, enc_feeds):
        """The served output for raw inputs @raw, with submodules' outputs replaced by
        @enc_feeds (dotted name -> tensor)."""
        hooks, caught = [], {}
        for n, v in enc_feeds.items():
            hooks.append(self._submodule(n).register_forward_hook(
                lambda mod, inp, out, v=v: v))
        if self.out_module:
            def keep(mod, inp, out):
                caught["out"] = out[0] if isinstance(out, (tuple, list)) else out
            hooks.append(self._submodule(self.out_module).register_forward_hook(keep))
        try:
            out = self.module(*[raw[n] for n, _, _ in self.raw])
        finally:
            for h in hooks:
                h.remove()
        if self.out_module:
            return caught["out"]
        if isinstance(out, (tuple, list)):
            out = out[0]
        if isinstance(out, dict):
            out = next(iter(out.values()))
        return out

    def _tensors(self, feeds, grad: bool):
        t = self.torch
        rows = next(iter(feeds.values())).shape[0]
        raw, enc, leaves = self._zeros(rows), {}, {}
        fed_raw = False
        for name, a in feeds.items():
            x = t.from_numpy(np.ascontiguousarray(a)).to(self.device)
            dtype = next((dt for n, _, dt in self.raw if n == name), None)
            if dtype is not None:
                fed_raw = True
                if dtype.startswith("int"):  # token ids arrive as floats
                    x = t.round(x).to(getattr(t, dtype))
                elif grad:
                    x = x.to(getattr(t, dtype)).requires_grad_(True)
                    leaves[name] = x
                else:
                    x = x.to(getattr(t, dtype))
                raw[name] = x
            else:
                if grad:
                    x = x.requires_grad_(True)
                    leaves[name] = x
                enc[name] = x
        if not fed_raw and not enc:
            raise ModelError("no tensor fed")
        return raw, enc, leaves

    def forward(self, feeds):
        with self.torch.no_grad():
            raw, enc, _ = self._tensors(feeds, False)
            out = self._call(raw, enc)
        return out.detach().to("cpu", self.torch.float32).numpy()

    def gradient(self, feeds, index):
        t = self.torch
        raw, enc, leaves = self._tensors(feeds, True)
        with t.enable_grad():
            out = self._call(raw, enc)
            rows = out.shape[0]
            flat = out.reshape(rows, -1)
            idx = t.from_numpy(np.asarray(index, dtype=np.int64)).to(self.device)
            picked = flat.gather(1, idx.view(-1, 1)).sum()  # rows are independent
            names = list(leaves)
            gs = t.autograd.grad(picked, [leaves[n] for n in names], allow_unused=True)
        grads = {}
        for name, a in feeds.items():
            g = gs[names.index(name)] if name in leaves else None
            grads[name] = (np.zeros(a.shape, dtype=np.float32) if g is None
                           else g.detach().to("cpu", t.float32).numpy())
        return out.detach().to("cpu", t.float32).numpy(), grads
