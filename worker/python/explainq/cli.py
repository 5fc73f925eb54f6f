"""explainq-runner: serves a PyTorch, TensorFlow, ONNX or plain Python model to explainq workers.

  explainq-runner torch --model model.pt --input x:20 --name mymodel -b BROKERS
  explainq-runner torch --model mypkg.models:build --input tokens:16:int64 \\
      --encoded embed --name textmodel -b BROKERS
  explainq-runner tf --saved-model DIR [--signature serving_default] --name m -b BROKERS
  explainq-runner onnx --model m.onnx --name m -b BROKERS
  explainq-runner callable mypkg.serve:predict_proba --input features:4 --name iris -b BROKERS
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from .runner import serve, setup_logging


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="the model's name in topic names")
    p.add_argument("-b", "--brokers", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    p.add_argument("-X", dest="props", action="append", default=[], metavar="key=value",
                   help="a librdkafka property, spelled as for every explainq command: "
                        "kafka.<prop> (kafka.consumer.<prop>, kafka.producer.<prop>); "
                        "a bare librdkafka name is taken too (repeatable)")
    p.add_argument("--max-elems", type=int, default=0,
                   help="largest tensor accepted, in elements (default 67108864)")
    p.add_argument("--labels", help="JSON file {displayNameMappingKey: [class names]}")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="explainq-runner", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="kind", required=True)
    t = sub.add_parser("torch", help="a TorchScript file or an importable module:factory")
    t.add_argument("--model", required=True, help="model.pt (TorchScript) or module:factory")
    t.add_argument("--input", action="append", default=[], metavar="NAME:DIMS[:DTYPE]",
                   help="an input, in the order forward() takes them (e.g. x:3x32x32, "
                        "tokens:16:int64); default: the module's explainq_inputs")
    t.add_argument("--output-name", default="output", help="the output tensor's name")
    t.add_argument("--output", help="serve this submodule's output instead (dotted path; "
                                    "for latentSpaceSource)")
    t.add_argument("--encoded", action="append", default=[], metavar="DOTTED.PATH",
                   help="a submodule whose output requests may feed (encodedTensorName)")
    t.add_argument("--device", default="cpu", help="cpu, or cuda when a GPU is present")
    _common(t)
    f = sub.add_parser("tf", help="a TensorFlow SavedModel")
    f.add_argument("--saved-model", required=True)
    f.add_argument("--signature", default="serving_default")
    f.add_argument("--output", help="the signature output to serve (default: the first by name)")
    _common(f)
    o = sub.add_parser("onnx", help="an ONNX model through onnxruntime (forward only)")
    o.add_argument("--model", required=True)
    o.add_argument("--output", help="the output to serve (default: the first)")
    _common(o)
    c = sub.add_parser("callable", help="any Python function of NumPy arrays (forward only)")
    c.add_argument("function", help="module:function, called as f(*inputs) on [rows, ...] arrays")
    c.add_argument("--input", action="append", default=[], required=True,
                   metavar="NAME:DIMS", help="an input, in the order the function takes them")
    c.add_argument("--output-name", default="output")
    _common(c)
    return ap


def build_model(a):
    labels = None
    if getattr(a, "labels", None):
        with open(a.labels) as fh:
            labels = json.load(fh)
    if a.kind == "torch":
        from .torch_model import TorchModel, load_module, parse_input

        module = load_module(a.model)
        inputs = [parse_input(s) for s in a.input]
        if not inputs and hasattr(module, "explainq_inputs"):
            inputs = [parse_input(s) for s in module.explainq_inputs]
        device = a.device
        if device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ValueError("--device cuda: no GPU is available here")
        return TorchModel(module, inputs, output_name=a.output_name, output_module=a.output,
                          encoded=a.encoded, device=device, labels=labels)
    if a.kind == "tf":
        from .tf_model import TFModel

        return TFModel(a.saved_model, a.signature, a.output, labels=labels)
    if a.kind == "onnx":
        from .onnx_model import OnnxModel

        return OnnxModel(a.model, a.output, labels=labels)
    from .model import FunctionModel
    from .torch_model import parse_input

    mod, _, fn = a.function.partition(":")
    if not mod or not fn:
        raise ValueError(f"{a.function}: expected module:function")
    func = getattr(importlib.import_module(mod), fn)
    inputs = [parse_input(s)[:2] for s in a.input]
    return FunctionModel(func, inputs, output_name=a.output_name, labels=labels)


def parse_props(items) -> dict:
    """-X key=value pairs as librdkafka properties. `kafka.<prop>` is how every explainq
    command spells them (the consumer and producer forms too: both clients get them here);
    a bare librdkafka name is taken as it is. Raises ValueError naming a malformed pair."""
    props = {}
    for kv in items:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            raise ValueError(f"-X {kv}: expected key=value")
        for prefix in ("kafka.consumer.", "kafka.producer.", "kafka."):
            if k.startswith(prefix):
                k = k[len(prefix):]
                break
        if not k:
            raise ValueError(f"-X {kv}: no property after the kafka. prefix")
        props[k] = v
    return props


def main(argv=None) -> int:
    a = _parser().parse_args(argv)
    setup_logging()
    try:
        props = parse_props(a.props)
    except ValueError as e:
        print(f"explainq-runner: {e}", file=sys.stderr)
        return 2
    try:
        model = build_model(a)
    except (ValueError, ImportError, AttributeError, OSError, RuntimeError) as e:
        print(f"explainq-runner: model: {e}", file=sys.stderr)
        return 2
    logging.getLogger("explainq.runner").info(
        "model inputs=%s output=%s encoded=%s", model.inputs, model.output, model.encoded)
    serve(model, a.name, a.brokers, props, a.max_elems)
    return 0


if __name__ == "__main__":
    sys.exit(main())
