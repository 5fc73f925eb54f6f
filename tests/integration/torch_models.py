#!/usr/bin/env python3
"""Models, data and reference answers of the Python-runner integration tests (0160-0162).

  torch_models.py make DIR          a tabular MLP and a small CNN as TorchScript and ONNX
                                    (torch.onnx.export), instances, IG/SmoothGrad/XRAI specs
  torch_models.py captum DIR OUT    Captum's Gauss-Legendre IG of the MLP on the instances
  torch_models.py captum-text DIR OUT  Captum's LayerIntegratedGradients (Gauss-Legendre) of the
                                    text model over its embedding, summed per token
  torch_models.py examples DIR      examples, queries and an example-based spec whose
                                    latentSpaceSource is the text model's encoder.embed
  torch_models.py neighbors DIR RES the worker's neighbours = brute force over torch embeddings
  torch_models.py compare A B TOL   every attribution of results A within relative L1 TOL of B
  torch_models.py sklearn DIR       a scikit-learn model, its serving module and a Shapley spec
  torch_models.py shapley DIR RES   Shapley values sum to f(x) - f(baseline), f from sklearn
"""
import json
import os
import pickle
import sys

import numpy as np

N_FEAT, N_INST, STEPS = 8, 40, 20


def _mlp():
    import torch

    torch.manual_seed(16)
    return torch.nn.Sequential(torch.nn.Linear(N_FEAT, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 3), torch.nn.Softmax(dim=1)).eval()


def _cnn():
    import torch

    torch.manual_seed(17)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Tanh(),
                               torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 8 * 8, 2), torch.nn.Softmax(dim=1)).eval()


def text_model():
    """The factory `explainq-runner torch --model torch_models:text_model` loads: token ids ->
    encoder.embed (Embedding 20 x 4) -> tanh, mean over the 6 tokens -> Linear -> Softmax."""
    import torch

    class Text(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(18)
            self.encoder = torch.nn.Module()
            self.encoder.embed = torch.nn.Embedding(20, 4)
            self.head = torch.nn.Linear(4, 3)

        def forward(self, tokens):
            return torch.softmax(self.head(torch.tanh(self.encoder.embed(tokens)).mean(dim=1)), 1)

    return Text().eval()


def make(d):
    import torch

    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(160)
    for name, net, shape, in_name, out_name in (
            ("mlp", _mlp(), (N_FEAT,), "features", "probs"),
            ("cnn", _cnn(), (1, 16, 16), "image", "probs")):
        x = torch.zeros((1,) + shape)
        torch.jit.trace(net, x).save(f"{d}/{name}.pt")
        torch.onnx.export(net, x, f"{d}/{name}.onnx", input_names=[in_name],
                          output_names=[out_name], opset_version=13,
                          dynamic_axes={in_name: {0: "n"}, out_name: {0: "n"}})
    feats = [f"f{i}" for i in range(N_FEAT)]
    with open(f"{d}/mlp.jsonl", "w") as fh:
        for _ in range(N_INST):
            fh.write(json.dumps({f: round(float(v), 4) for f, v in
                                 zip(feats, rng.normal(size=N_FEAT))}) + "\n")
    meta = {"inputs": {f: {"inputTensorName": "features"} for f in feats},
            "outputs": {"probs": {}}}
    json.dump({"parameters": {"integratedGradientsAttribution": {"stepCount": STEPS}},
               "metadata": meta}, open(f"{d}/ig.json", "w"))
    json.dump({"parameters": {"integratedGradientsAttribution": {
        "stepCount": 10, "smoothGradConfig": {"noiseSigma": 0.1, "noisySampleCount": 4}}},
        "metadata": meta}, open(f"{d}/smooth.json", "w"))
    with open(f"{d}/cnn.jsonl", "w") as fh:
        for k in range(3):
            im = rng.uniform(0, 0.3, size=(16, 16))
            y, x = rng.integers(2, 10, size=2)
            im[y:y + 5, x:x + 5] = 0.9 - 0.1 * k
            fh.write(json.dumps({"image": np.round(im, 4).tolist()}) + "\n")
    with open(f"{d}/text.jsonl", "w") as fh:
        for _ in range(20):
            fh.write(json.dumps({"tokens": [int(t) for t in rng.integers(1, 20, size=6)]}) + "\n")
    json.dump({"parameters": {"integratedGradientsAttribution": {"stepCount": 16}},
               "metadata": {"inputs": {"tokens": {"encoding": "CONCAT_EMBEDDING",
                                                  "encodedTensorName": "encoder.embed",
                                                  "inputBaselines": [0]}},
                            "outputs": {"probs": {}}}}, open(f"{d}/text.json", "w"))
    json.dump({"parameters": {"xraiAttribution": {"stepCount": 10}},
               "metadata": {"inputs": {"image": {"modality": "image"}},
                            "outputs": {"probs": {}}}}, open(f"{d}/xrai.json", "w"))


def captum(d, out):
    import torch
    from captum.attr import IntegratedGradients

    net = torch.jit.load(f"{d}/mlp.pt")
    feats = [f"f{i}" for i in range(N_FEAT)]
    rows = [json.loads(line) for line in open(f"{d}/mlp.jsonl")]
    x = torch.tensor([[r[f] for f in feats] for r in rows], dtype=torch.float32)
    target = net(x).argmax(dim=1)
    ig = IntegratedGradients(net)
    a = ig.attribute(x, baselines=torch.zeros_like(x), target=target, n_steps=STEPS,
                     method="gausslegendre").detach().numpy()
    with open(out, "w") as fh:
        for i in range(len(rows)):
            fh.write(json.dumps({"attributions": [{
                "outputIndex": [int(target[i])],
                "featureAttributions": {f: float(a[i, j]) for j, f in enumerate(feats)}}]}) + "\n")


def captum_text(d, out):
    import torch
    from captum.attr import LayerIntegratedGradients

    net = text_model()
    rows = [json.loads(line)["tokens"] for line in open(f"{d}/text.jsonl")]
    x = torch.tensor(rows, dtype=torch.int64)
    target = net(x).argmax(dim=1)
    lig = LayerIntegratedGradients(net, net.encoder.embed)
    a = lig.attribute(x, baselines=torch.zeros_like(x), target=target, n_steps=16,
                      method="gausslegendre").sum(dim=2).detach().numpy()
    with open(out, "w") as fh:
        for i in range(len(rows)):
            fh.write(json.dumps({"attributions": [{
                "outputIndex": [int(target[i])],
                "featureAttributions": {"tokens": [float(v) for v in a[i]]}}]}) + "\n")


def examples(d):
    rng = np.random.default_rng(164)
    with open(f"{d}/examples.jsonl", "w") as fh:
        for i in range(300):
            fh.write(json.dumps({"id": f"ex-{i}", "tokens": [int(t) for t in
                                                            rng.integers(0, 20, size=6)]}) + "\n")
    with open(f"{d}/queries.jsonl", "w") as fh:
        for _ in range(12):
            fh.write(json.dumps({"tokens": [int(t) for t in rng.integers(0, 20, size=6)]}) + "\n")
    json.dump({"parameters": {"examples": {"neighborCount": 3, "presets": {
        "modality": "TABULAR", "query": "PRECISE"}}},
        "metadata": {"inputs": {"tokens": {}}, "outputs": {"encoder.embed": {}},
                     "latentSpaceSource": "encoder.embed"}}, open(f"{d}/examples.json", "w"))


def neighbors(d, res):
    emb = text_model().encoder.embed.weight.detach().numpy().astype(np.float64)
    ex = [json.loads(line) for line in open(f"{d}/examples.jsonl")]
    E = np.stack([emb[r["tokens"]].ravel() for r in ex])
    got = [json.loads(line) for line in open(res)]
    queries = [json.loads(line)["tokens"] for line in open(f"{d}/queries.jsonl")]
    assert len(got) == len(queries)
    for q, g in zip(queries, got):
        dist = ((E - emb[q].ravel()) ** 2).sum(axis=1)
        want = [ex[i]["id"] for i in np.argsort(dist, kind="stable")[:3]]
        ids = [n["neighborId"] for n in g["neighbors"]]
        assert ids == want, f"neighbours {ids}, brute force {want}"
        for n, i in zip(g["neighbors"], np.argsort(dist, kind="stable")[:3]):
            assert abs(n["neighborDistance"] - dist[i]) <= 1e-5 * max(1.0, dist[i])
    print(f"{len(queries)} queries: the 3 nearest examples and distances of brute force")


def _flat(v):
    if isinstance(v, list):
        return [y for x in v for y in _flat(x)]
    return [float(v)]


def compare(a_path, b_path, tol):
    a = [json.loads(line) for line in open(a_path)]
    b = [json.loads(line) for line in open(b_path)]
    assert len(a) == len(b), f"{len(a)} results vs {len(b)}"
    worst = 0.0
    for i, (ra, rb) in enumerate(zip(a, b)):
        assert "attributions" in ra and "attributions" in rb, f"instance {i}: {ra} / {rb}"
        for xa, xb in zip(ra["attributions"], rb["attributions"]):
            assert xa["outputIndex"] == xb["outputIndex"], f"instance {i}: other output"
            fa, fb = xa["featureAttributions"], xb["featureAttributions"]
            assert sorted(fa) == sorted(fb)
            va = np.array([y for k in sorted(fa) for y in _flat(fa[k])])
            vb = np.array([y for k in sorted(fb) for y in _flat(fb[k])])
            rel = np.abs(va - vb).sum() / max(np.abs(vb).sum(), 1e-30)
            worst = max(worst, rel)
            assert rel <= tol, f"instance {i}: relative L1 {rel:.3g} > {tol}"
    print(f"{len(a)} instances: worst relative L1 {worst:.3g} (tolerance {tol})")


def sklearn_make(d):
    from sklearn.linear_model import LogisticRegression

    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(161)
    X = rng.normal(size=(500, 4))
    y = (X[:, 0] + 2 * X[:, 1] * X[:, 2] - X[:, 3] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    pickle.dump(clf, open(f"{d}/clf.pkl", "wb"))
    with open(f"{d}/skmodel.py", "w") as fh:
        fh.write("import os, pickle\n"
                 "_clf = pickle.load(open(os.path.join(os.path.dirname(__file__), 'clf.pkl'), 'rb'))\n"
                 "def predict_proba(x):\n    return _clf.predict_proba(x)\n")
    feats = ["a", "b", "c", "d"]
    with open(f"{d}/sk.jsonl", "w") as fh:
        for r in rng.normal(size=(30, 4)):
            fh.write(json.dumps({f: round(float(v), 4) for f, v in zip(feats, r)}) + "\n")
    json.dump({"parameters": {"sampledShapleyAttribution": {"pathCount": 10}, "topK": 2},
               "metadata": {"inputs": {f: {"inputTensorName": "features",
                                           "inputBaselines": [0.5]} for f in feats},
                            "outputs": {"probs": {}}}}, open(f"{d}/shapley.json", "w"))


def shapley(d, res):
    clf = pickle.load(open(f"{d}/clf.pkl", "rb"))
    feats = ["a", "b", "c", "d"]
    rows = [json.loads(line) for line in open(f"{d}/sk.jsonl")]
    got = [json.loads(line) for line in open(res)]
    assert len(got) == len(rows)
    base = clf.predict_proba(np.full((1, 4), 0.5, np.float32))[0]
    worst = 0.0
    for r, g in zip(rows, got):
        fx = clf.predict_proba(np.array([[r[f] for f in feats]], np.float32))[0]
        assert len(g["attributions"]) == 2
        for a in g["attributions"]:
            k = a["outputIndex"][0]
            s = sum(a["featureAttributions"].values())
            # the runner's float32 outputs are f; the path sums telescope to f(x) - f(x')
            assert abs(a["instanceOutputValue"] - fx[k]) <= 1e-6, (a["instanceOutputValue"], fx[k])
            assert abs(a["baselineOutputValue"] - base[k]) <= 1e-6
            diff = a["instanceOutputValue"] - a["baselineOutputValue"]
            worst = max(worst, abs(s - diff))
            assert abs(s - diff) <= 1e-6, f"sum {s} vs f(x) - f(x') {diff}"
    print(f"{len(rows)} instances x 2 outputs: |sum - (f(x) - f(baseline))| <= {worst:.2g}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2])
    elif cmd == "captum":
        captum(sys.argv[2], sys.argv[3])
    elif cmd == "captum-text":
        captum_text(sys.argv[2], sys.argv[3])
    elif cmd == "examples":
        examples(sys.argv[2])
    elif cmd == "neighbors":
        neighbors(sys.argv[2], sys.argv[3])
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif cmd == "sklearn":
        sklearn_make(sys.argv[2])
    elif cmd == "shapley":
        shapley(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
