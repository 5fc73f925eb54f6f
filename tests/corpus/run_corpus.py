#!/usr/bin/env python3
"""`make corpus`: today's exports of common models, explained by explainq and checked.

Builds (random-initialised weights, no downloads) torchvision resnet18, efficientnet_b0,
mobilenet_v3_small and a small ViT, each exported twice with torch.onnx.export -- the
default (dynamo) exporter of the pinned torch and the legacy TorchScript one -- into
build/corpus/. For every model it runs `explainq explain`:
  - Sampled Shapley (pathCount 1) on one 32x32 RGB picture: instanceOutputValue must equal
    onnxruntime's output for that picture within 1e-5 relative;
  - Integrated Gradients (20 Gauss-Legendre steps, zero baseline, the argmax class): the
    attributions must equal Captum's IntegratedGradients(method="gausslegendre") on the
    torch model within 1e-4 relative L1 -- or explainq must refuse the model for gradients
    with a message that lists the operators it lacks.
Then a BERT-style encoder (transformers' BertForSequenceClassification from a small config,
inputs input_ids and attention_mask), both exporters: Sampled Shapley over the tokens, its
output equal to onnxruntime's; IG in the word-embedding space (input_ids with
CONCAT_EMBEDDING and the exported word-embedding Gather as encodedTensorName, the mask held
at 1 by its baseline) against Captum's IG on inputs_embeds within 1e-4 relative L1.
(The tabular models are tests/corpus/run_tabular.py's, in a venv of their own: the
converters pin other onnx versions than torch's exporter.)
Prints one line per model and exporter and exits 1 if any check fails. Needs the packages
of tests/corpus/requirements.txt (make corpus installs them into .venv-corpus/).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
import torch
import torchvision
from captum.attr import IntegratedGradients

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(TOP, "build", "corpus")
EXPLAINQ = os.path.join(TOP, os.environ.get("BUILD", "build"), "explainq")
SIZE = 32
STEPS = 20


def models():
    torch.manual_seed(20261206)
    tv = torchvision.models
    vit = tv.vision_transformer.VisionTransformer(image_size=SIZE, patch_size=8, num_layers=2,
                                                  num_heads=2, hidden_dim=32, mlp_dim=64,
                                                  num_classes=10)
    # torchvision starts the head at zero: every output would be 0 and every check vacuous
    torch.nn.init.normal_(vit.heads.head.weight, std=0.5)
    torch.nn.init.normal_(vit.heads.head.bias, std=0.1)
    return [("resnet18", tv.resnet18(weights=None, num_classes=10)),
            ("efficientnet_b0", tv.efficientnet_b0(weights=None, num_classes=10)),
            ("mobilenet_v3_small", tv.mobilenet_v3_small(weights=None, num_classes=10)),
            ("vit_small", vit)]


def export(model, x, path, dynamo):
    for old in (path, path + ".data"):  # never a stale file from other weights
        if os.path.exists(old):
            os.remove(old)
    with torch.no_grad():
        if dynamo:
            torch.onnx.export(model, (x,), path, dynamo=True)  # the default settings
        else:
            # the fused attention of eval mode has no TorchScript export: the plain path
            torch.backends.mha.set_fastpath_enabled(False)
            torch.onnx.export(model, (x,), path, dynamo=False, input_names=["image"],
                              output_names=["logits"])
            torch.backends.mha.set_fastpath_enabled(True)


def run(args):
    p = subprocess.run([EXPLAINQ] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def write_spec(path, method, in_name, out_name):
    spec = {"parameters": method,
            "metadata": {"inputs": {"img": {"inputTensorName": in_name, "modality": "image"}},
                         "outputs": {out_name: {}}}}
    with open(path, "w") as f:
        json.dump(spec, f)


def check(name, exporter, model, path, img_chw):
    sess = ort.InferenceSession(path)
    in_name = sess.get_inputs()[0].name
    out_name = sess.get_outputs()[0].name
    want = sess.run(None, {in_name: img_chw[None]})[0][0]
    k = int(np.argmax(want))
    if not np.any(want):
        return "%-20s %-8s every output is 0: nothing to check" % (name, exporter), False
    inst = os.path.join(OUT, "img.jsonl")
    with open(inst, "w") as f:
        f.write(json.dumps({"img": img_chw.transpose(1, 2, 0).tolist()}) + "\n")
    line = "%-20s %-8s" % (name, exporter)
    ok = True
    # Sampled Shapley: runs, and the instance output is onnxruntime's
    spec = os.path.join(OUT, "shapley.json")
    write_spec(spec, {"sampledShapleyAttribution": {"pathCount": 1}, "outputIndices": [k]},
               in_name, out_name)
    t0 = time.time()
    rc, out, err = run(["explain", "--spec", spec, "--model", path, "--instances", inst])
    if rc != 0:
        return line + " shapley FAILED: " + (out + err).strip()[:300], False
    got = json.loads(out)["attributions"][0]["instanceOutputValue"]
    rel = abs(got - float(want[k])) / max(abs(float(want[k])), 1e-12)
    ok &= rel <= 1e-5
    line += " output rel.err %.1e (%s) shapley %.1fs" % (rel, "ok" if rel <= 1e-5 else "FAIL",
                                                         time.time() - t0)
    # Integrated Gradients against Captum's
    spec = os.path.join(OUT, "ig.json")
    write_spec(spec, {"integratedGradientsAttribution": {"stepCount": STEPS},
                      "outputIndices": [k]}, in_name, out_name)
    rc, out, err = run(["explain", "--spec", spec, "--model", path, "--instances", inst])
    res = json.loads(out) if out.strip() else {}
    if "error" in res:
        msg = res["error"]["message"]
        refused = "lacks" in msg and "Sampled Shapley" in msg
        ok &= refused
        return line + " IG refused%s: %s" % ("" if refused else " (NOT the message)", msg), ok
    if rc != 0:
        return line + " IG FAILED: " + (out + err).strip()[:300], False
    ours = np.array(res["attributions"][0]["featureAttributions"]["img"]).transpose(2, 0, 1)
    ig = IntegratedGradients(model)
    theirs = ig.attribute(torch.tensor(img_chw[None]), baselines=0.0, target=k,
                          n_steps=STEPS, method="gausslegendre")[0].detach().numpy()
    l1 = np.abs(ours - theirs).sum() / max(np.abs(theirs).sum(), 1e-12)
    ok &= l1 <= 1e-4
    line += " IG rel.L1 vs Captum %.1e (%s)" % (l1, "ok" if l1 <= 1e-4 else "FAIL")
    return line, ok


def bert():
    import transformers

    cfg = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=64,
                                  max_position_embeddings=64, num_labels=3)
    torch.manual_seed(0)
    m = transformers.BertForSequenceClassification(cfg).eval()
    ids = torch.tensor([[1, 5, 7, 9, 11, 2, 3, 4]])
    mask = torch.ones_like(ids)
    inst = os.path.join(OUT, "bert.jsonl")
    with open(inst, "w") as f:
        f.write(json.dumps({"input_ids": ids[0].tolist(), "attention_mask": mask[0].tolist()}))
    with torch.no_grad():
        emb = m.bert.embeddings.word_embeddings(ids)
        base = m.bert.embeddings.word_embeddings(torch.zeros_like(ids))  # [PAD]: zeros
    ig = IntegratedGradients(lambda e: m(inputs_embeds=e, attention_mask=mask).logits)
    theirs = ig.attribute(emb, baselines=base, target=1, n_steps=STEPS,
                          method="gausslegendre")[0].sum(-1).detach().numpy()
    results = []
    for exporter, dynamo, enc in (("dynamo", True, "embedding"),
                                  ("legacy", False,
                                   "/bert/embeddings/word_embeddings/Gather_output_0")):
        path = os.path.join(OUT, "bert_%s.onnx" % exporter)
        for old in (path, path + ".data"):
            if os.path.exists(old):
                os.remove(old)
        with torch.no_grad():
            torch.onnx.export(m, (ids, mask), path, dynamo=dynamo,
                              **({} if dynamo else {"input_names": ["input_ids",
                                                                    "attention_mask"]}))
        sess = ort.InferenceSession(path)
        want = float(sess.run(None, {"input_ids": ids.numpy(),
                                     "attention_mask": mask.numpy()})[0][0, 1])
        line, ok = "%-20s %-8s" % ("bert_tiny", exporter), True
        inputs = {"input_ids": {"inputTensorName": "input_ids"},
                  "attention_mask": {"inputTensorName": "attention_mask", "inputBaselines": [1]}}
        spec = os.path.join(OUT, "bert_shapley.json")
        with open(spec, "w") as f:
            json.dump({"parameters": {"sampledShapleyAttribution": {"pathCount": 2},
                                      "outputIndices": [1]},
                       "metadata": {"inputs": inputs, "outputs": {"logits": {}}}}, f)
        rc, out, err = run(["explain", "--spec", spec, "--model", path, "--instances", inst])
        if rc != 0:
            results.append((line + " shapley FAILED: " + (out + err).strip()[:300], False))
            continue
        got = json.loads(out)["attributions"][0]["instanceOutputValue"]
        rel = abs(got - want) / max(abs(want), 1e-12)
        ok &= rel <= 1e-5
        line += " output rel.err %.1e (%s)" % (rel, "ok" if rel <= 1e-5 else "FAIL")
        inputs["input_ids"].update({"encoding": "CONCAT_EMBEDDING", "encodedTensorName": enc})
        with open(spec, "w") as f:
            json.dump({"parameters": {"integratedGradientsAttribution": {"stepCount": STEPS},
                                      "outputIndices": [1]},
                       "metadata": {"inputs": inputs, "outputs": {"logits": {}}}}, f)
        rc, out, err = run(["explain", "--spec", spec, "--model", path, "--instances", inst])
        res = json.loads(out) if out.strip() else {}
        if rc != 0 or "error" in res:
            results.append((line + " IG FAILED: " + (out + err).strip()[:300], False))
            continue
        ours = np.array(res["attributions"][0]["featureAttributions"]["input_ids"])
        l1 = np.abs(ours - theirs).sum() / max(np.abs(theirs).sum(), 1e-12)
        ok &= l1 <= 1e-4
        line += " IG (embeddings) rel.L1 vs Captum %.1e (%s)" % (l1, "ok" if l1 <= 1e-4
                                                                else "FAIL")
        results.append((line, ok))
    return results


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1)
    img = rng.uniform(0, 1, size=(3, SIZE, SIZE)).astype(np.float32)
    all_ok = True
    print("corpus: torch %s, torchvision %s, onnxruntime %s" % (
        torch.__version__, torchvision.__version__, ort.__version__))
    for name, model in models():
        model.eval()
        x = torch.tensor(img[None])
        for exporter, dynamo in (("dynamo", True), ("legacy", False)):
            path = os.path.join(OUT, "%s_%s.onnx" % (name, exporter))
            try:
                export(model, x, path, dynamo)
            except Exception as e:  # an exporter failure is the exporter's, not explainq's
                print("%-20s %-8s export failed: %s" % (name, exporter, str(e)[:200]))
                continue
            line, ok = check(name, exporter, model, path, img)
            all_ok &= ok
            print(line, flush=True)
    for line, ok in bert():
        all_ok &= ok
        print(line, flush=True)
    print("corpus: %s" % ("all checks hold" if all_ok else "SOME CHECKS FAILED"))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
