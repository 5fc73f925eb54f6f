#!/usr/bin/env python3
"""`make bench-frameworks`: explanations per second, explainq in-process against Captum and SHAP
on the same model and budget, one core each (run under taskset -c 0; torch one thread).

  Sampled Shapley, pathCount 10, the 20-feature MLP (tests/data/models/mlp20.json's weights;
    explainq runs tests/data/onnx/mlp20.onnx, the same network), 1,000 instances:
    explainq vs Captum's ShapleyValueSampling (n_samples 10, all 1,000 instances in one
    batched call) vs SHAP's PermutationExplainer (max_evals 210: 5 antithetic permutations,
    about explainq's 192 rows).
  Integrated Gradients, 50 Gauss-Legendre steps, zero baseline, the argmax output:
    the MLP on 1,000 instances, and resnet18 (the corpus's dynamo export, 32x32) on 8 pictures,
    explainq vs Captum's IntegratedGradients(method="gausslegendre").
Prints one line per comparison. Needs .venv-corpus (make corpus) with shap.

What is timed on each side is the same work: explaining inputs already in memory into results in
memory. For Captum and SHAP that is the attribute() call on tensors of a model already built;
for explainq it is the time `explain --timing` reports spent in its engine (instances parsed,
model loaded, results not yet JSON). The whole `explainq explain` command (process start, model
load, JSON in and out) is printed beside it, as "whole command", for what a user of the CLI sees.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
X_BIN = os.path.join(TOP, os.environ.get("BUILD", "build"), "explainq")
N = 1000
torch.set_num_threads(1)


def mlp():
    d = json.load(open(os.path.join(TOP, "tests/data/models/mlp20.json")))
    mods = []
    for layer in d["layers"]:
        w = torch.tensor(layer["weights"], dtype=torch.float32)
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(torch.tensor(layer["bias"], dtype=torch.float32))
        mods.append(lin)
        mods.append(torch.nn.Tanh() if layer["activation"] == "tanh" else torch.nn.Softmax(-1))
    return torch.nn.Sequential(*mods).eval()


def explainq(spec, model, inst_path, count):
    """(explanations/s in memory, explanations/s of the whole command), best of three runs."""
    best_mem = best_all = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        p = subprocess.run([X_BIN, "explain", "--spec", spec, "--model", model, "--instances",
                            inst_path, "--seed", "1", "--timing"], capture_output=True, text=True)
        dt = time.perf_counter() - t0
        assert p.returncode == 0, p.stderr[:300]
        assert len(p.stdout.splitlines()) == count
        timing = [l for l in p.stderr.splitlines() if "timing:" in l]
        assert timing, p.stderr[:300]
        mem_s = float(timing[-1].split(" in ")[1].split(" s")[0])
        best_mem = max(best_mem, count / mem_s)
        best_all = max(best_all, count / dt)
    return best_mem, best_all


def rate(n, fn, repeats=3):
    """n / seconds of fn(), the best of @repeats runs (as explainq's side gets)."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def line(what, ours, theirs):
    mem, whole = ours
    print("bench-frameworks %-30s explainq %9.0f/s  %-28s %9.0f/s  ratio %.2f"
          "  (whole command %7.0f/s, ratio %.2f)" % (
              what, mem, theirs[0], theirs[1], mem / theirs[1], whole, whole / theirs[1]),
          flush=True)


def main():
    from captum.attr import IntegratedGradients, ShapleyValueSampling

    rows = [json.loads(l) for l in open(os.path.join(TOP, "tests/data/instances/mlp20.jsonl"))]
    X = np.array([[r["f%02d" % i] for i in range(20)] for r in rows], np.float32)
    X = np.tile(X, (N // len(X) + 1, 1))[:N]
    tmp = tempfile.mkdtemp()
    inst = os.path.join(tmp, "x.jsonl")
    with open(inst, "w") as f:
        for r in X:
            f.write(json.dumps({"f%02d" % i: float(v) for i, v in enumerate(r)}) + "\n")
    m = mlp()
    xt = torch.tensor(X)
    with torch.no_grad():
        target = m(xt).argmax(-1)
    # Sampled Shapley
    ours = explainq(os.path.join(TOP, "tests/data/specs/mlp20_shapley.json"),
                    os.path.join(TOP, "tests/data/onnx/mlp20.onnx"), inst, N)
    svs = ShapleyValueSampling(m)
    # batched: every instance in one call, each permutation step evaluated for all of them at
    # once; Captum's best of 1, 4 and 16 steps per forward call
    theirs = max(rate(N, lambda: svs.attribute(xt, baselines=0.0, target=target, n_samples=10,
                                                perturbations_per_eval=k)) for k in (1, 4, 16))
    line("shapley mlp20 (10 paths)", ours, ("captum ShapleyValueSampling", theirs))
    try:
        import shap

        f = lambda a: m(torch.tensor(a, dtype=torch.float32)).detach().numpy()
        ex = shap.PermutationExplainer(f, np.zeros((1, 20), np.float32))
        n = 100  # SHAP is slow: 100 instances, scaled
        theirs = rate(n, lambda: ex(X[:n], max_evals=210, silent=True), repeats=1)
        line("shapley mlp20 (10 paths)", ours, ("shap PermutationExplainer", theirs))
    except ImportError:
        print("bench-frameworks shap not installed: skipped")
    # Integrated Gradients, MLP
    ours = explainq(os.path.join(TOP, "tests/data/specs/mlp20_ig.json"),
                    os.path.join(TOP, "tests/data/onnx/mlp20.onnx"), inst, N)
    ig = IntegratedGradients(m)
    theirs = rate(N, lambda: ig.attribute(xt, baselines=0.0, target=target, n_steps=50,
                                          method="gausslegendre", internal_batch_size=50 * 100))
    line("IG mlp20 (50 steps)", ours, ("captum IntegratedGradients", theirs))
    # Integrated Gradients, resnet18 (the corpus's model and export)
    path = os.path.join(TOP, "build/corpus/resnet18_dynamo.onnx")
    if not os.path.exists(path):
        print("bench-frameworks resnet18: run make corpus first: skipped")
        return 0
    sys.path.insert(0, os.path.join(TOP, "tests/corpus"))
    import run_corpus

    net = dict(run_corpus.models())["resnet18"].eval()
    imgs = np.random.default_rng(3).uniform(0, 1, size=(8, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        tgt = net(torch.tensor(imgs)).argmax(-1)
    # the corpus exported the same weights (same seed): explainq explains that file
    inst = os.path.join(tmp, "img.jsonl")
    with open(inst, "w") as f:
        for im in imgs:
            f.write(json.dumps({"img": im.transpose(1, 2, 0).tolist()}) + "\n")
    import onnxruntime as ort
    s = ort.InferenceSession(path)
    spec = os.path.join(tmp, "ig_img.json")
    json.dump({"parameters": {"integratedGradientsAttribution": {"stepCount": 50}},
               "metadata": {"inputs": {"img": {"inputTensorName": s.get_inputs()[0].name,
                                                "modality": "image"}},
                            "outputs": {s.get_outputs()[0].name: {}}}}, open(spec, "w"))
    ours = explainq(spec, path, inst, len(imgs))
    ig = IntegratedGradients(net)

    def captum_images():
        for i in range(len(imgs)):
            ig.attribute(torch.tensor(imgs[i:i + 1]), baselines=0.0, target=int(tgt[i]),
                         n_steps=50, method="gausslegendre", internal_batch_size=50)

    theirs = rate(len(imgs), captum_images)
    line("IG resnet18 32x32 (50 steps)", ours, ("captum IntegratedGradients", theirs))
    ceiling(net, theirs, ours[0])
    return 0


def forward_macs(net: torch.nn.Module, shape: tuple) -> int:
    """Multiply-adds of one forward pass of @net (its convolutions and linear layers)."""
    total = [0]

    def count(mod, _inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
            total[0] += out.numel() * k
        elif isinstance(mod, torch.nn.Linear):
            total[0] += out.numel() * mod.in_features

    hooks = [mod.register_forward_hook(count) for mod in net.modules()]
    with torch.no_grad():
        net(torch.zeros(shape))
    for h in hooks:
        h.remove()
    return total[0]


def ceiling(net: torch.nn.Module, captum_rate: float, ours_rate: float) -> None:
    """What 2x Captum on the CNN would take: each IG step is a forward pass and an input
    gradient (a transposed convolution per convolution: as many multiply-adds again), so an
    explanation is 2 x 50 forward passes' multiply-adds on either side. Set against this core's
    peak, measured as PyTorch's own one-thread sgemm on large matrices."""
    per_expl = 2 * 50 * forward_macs(net, (1, 3, 32, 32))
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    peak = rate(2048 ** 3, lambda: a @ b)
    print("bench-frameworks IG resnet18 32x32 (50 steps): %.2f G multiply-adds per explanation; "
          "this core's peak (one-thread sgemm 2048^3) %.1f G/s; captum runs at %.0f%% of it, "
          "explainq at %.0f%%; 2x captum would need %.0f%% over every layer" % (
              per_expl / 1e9, peak / 1e9, 100 * captum_rate * per_expl / peak,
              100 * ours_rate * per_expl / peak, 200 * captum_rate * per_expl / peak))


if __name__ == "__main__":
    sys.exit(main())
