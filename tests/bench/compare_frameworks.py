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
    t0 = time.perf_counter()
    p = subprocess.run([X_BIN, "explain", "--spec", spec, "--model", model, "--instances",
                        inst_path, "--seed", "1"], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr[:300]
    assert len(p.stdout.splitlines()) == count
    return count / dt, p.stdout


def line(what, ours, theirs):
    print("bench-frameworks %-34s explainq %9.0f/s  %-24s %9.0f/s  ratio %.2f" % (
        what, ours, theirs[0], theirs[1], ours / theirs[1]), flush=True)


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
    ours, _ = explainq(os.path.join(TOP, "tests/data/specs/mlp20_shapley.json"),
                       os.path.join(TOP, "tests/data/onnx/mlp20.onnx"), inst, N)
    svs = ShapleyValueSampling(m)
    t0 = time.perf_counter()
    # batched: every instance in one call, each permutation evaluated for all of them at once
    svs.attribute(xt, baselines=0.0, target=target, n_samples=10, perturbations_per_eval=1)
    line("shapley mlp20 (10 paths)", ours, ("captum ShapleyValueSampling", N / (time.perf_counter() - t0)))
    try:
        import shap

        f = lambda a: m(torch.tensor(a, dtype=torch.float32)).detach().numpy()
        ex = shap.PermutationExplainer(f, np.zeros((1, 20), np.float32))
        n = 100  # SHAP is slow: 100 instances, scaled
        t0 = time.perf_counter()
        ex(X[:n], max_evals=210, silent=True)
        line("shapley mlp20 (10 paths)", ours, ("shap PermutationExplainer", n / (time.perf_counter() - t0)))
    except ImportError:
        print("bench-frameworks shap not installed: skipped")
    # Integrated Gradients, MLP
    ours, _ = explainq(os.path.join(TOP, "tests/data/specs/mlp20_ig.json"),
                       os.path.join(TOP, "tests/data/onnx/mlp20.onnx"), inst, N)
    ig = IntegratedGradients(m)
    t0 = time.perf_counter()
    ig.attribute(xt, baselines=0.0, target=target, n_steps=50, method="gausslegendre",
                 internal_batch_size=50 * 100)
    line("IG mlp20 (50 steps)", ours, ("captum IntegratedGradients", N / (time.perf_counter() - t0)))
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
    ours, _ = explainq(spec, path, inst, len(imgs))
    ig = IntegratedGradients(net)
    t0 = time.perf_counter()
    for i in range(len(imgs)):
        ig.attribute(torch.tensor(imgs[i:i + 1]), baselines=0.0, target=int(tgt[i]), n_steps=50,
                     method="gausslegendre", internal_batch_size=50)
    line("IG resnet18 32x32 (50 steps)", ours, ("captum IntegratedGradients", len(imgs) / (time.perf_counter() - t0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
