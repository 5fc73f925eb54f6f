#!/usr/bin/env python3
"""`make corpus`, tabular half: today's tabular models explained by explainq and checked.

scikit-learn pipelines (scaler + logistic regression, random forest, gradient boosting)
through skl2onnx with its default options (ZipMap probabilities), LightGBM through
onnxmltools, and XGBoost 3.x's own .json and .ubj files, into build/corpus/. For each,
Sampled Shapley on 5 rows: instanceOutputValue equals the framework's probability of class 1
within 1e-5 relative (1e-4 for float32 trees against sklearn's float64 ones); IG is either
run or refused with a message that says why (the operators the interpreter lacks, or "no
gradients" for trees). Needs tests/corpus/requirements-tabular.txt (make corpus installs it
into .venv-tabular/). Exits 1 if any check fails.
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(TOP, "build", "corpus")
EXPLAINQ = os.path.join(TOP, os.environ.get("BUILD", "build"), "explainq")


def run(args):
    p = subprocess.run([EXPLAINQ] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def tabular_check(name, path, want, X, tol, in_name, index=1):
    """Shapley on the rows of X: instanceOutputValue of class 1 equals want; IG run or refused."""
    inst = os.path.join(OUT, "tab.jsonl")
    with open(inst, "w") as f:
        for row in X:
            f.write(json.dumps({"f": [float(v) for v in row]}) + "\n")
    line = "%-20s %-8s" % (name, os.path.splitext(path)[1][1:])
    ok = True
    spec = os.path.join(OUT, "tab_shapley.json")
    meta = {"inputs": {"f": {"inputTensorName": in_name}}, "outputs": {"probabilities": {}}}
    with open(spec, "w") as f:
        json.dump({"parameters": {"sampledShapleyAttribution": {"pathCount": 5},
                                  "outputIndices": [index]}, "metadata": meta}, f)
    rc, out, err = run(["explain", "--spec", spec, "--model", path, "--instances", inst])
    if rc != 0:
        return line + " shapley FAILED: " + (out + err).strip()[:300], False
    got = np.array([json.loads(l)["attributions"][0]["instanceOutputValue"]
                    for l in out.splitlines()])
    rel = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-12)))
    ok &= rel <= tol
    line += " output max rel.err %.1e (%s)" % (rel, "ok" if rel <= tol else "FAIL")
    spec = os.path.join(OUT, "tab_ig.json")
    with open(spec, "w") as f:
        json.dump({"parameters": {"integratedGradientsAttribution": {"stepCount": 10},
                                  "outputIndices": [index]}, "metadata": meta}, f)
    rc, out, err = run(["explain", "--spec", spec, "--model", path, "--instances", inst])
    first = json.loads(out.splitlines()[0]) if out.strip() else {}
    if "error" in first:
        msg = first["error"]["message"]
        good = ("lacks" in msg and "Sampled Shapley" in msg) or "no gradients" in msg
        ok &= good
        line += " IG refused%s: %s" % ("" if good else " (NOT the message)", msg[:160])
    else:
        line += " IG ran"
    return line, ok


def tabular():
    from lightgbm import LGBMClassifier
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    import xgboost as xgb

    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] - 0.5 * X[:, 3] > 0).astype(int)
    Q = X[:5]
    results = []
    skl = [("skl_logreg", make_pipeline(StandardScaler(), LogisticRegression()), 1e-5),
           ("skl_forest", RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0),
            1e-4),
           ("skl_gboost", GradientBoostingClassifier(n_estimators=20, max_depth=3,
                                                     random_state=0), 1e-4)]
    for name, est, tol in skl:
        est.fit(X, y)
        path = os.path.join(OUT, name + ".onnx")
        with open(path, "wb") as f:
            f.write(to_onnx(est, X[:1]).SerializeToString())  # skl2onnx's defaults
        in_name = ort.InferenceSession(path).get_inputs()[0].name
        results.append(tabular_check(name, path, est.predict_proba(Q)[:, 1], Q, tol, in_name))
    lgb = LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1).fit(X, y)
    path = os.path.join(OUT, "lightgbm.onnx")
    onx = convert_lightgbm(lgb, initial_types=[("input", MlFloat([None, 6]))])
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
    results.append(tabular_check("lightgbm", path, lgb.predict_proba(Q)[:, 1], Q, 1e-4, "input"))
    b = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
                  xgb.DMatrix(X, label=y), num_boost_round=20)
    for ext in ("json", "ubj"):
        path = os.path.join(OUT, "xgboost." + ext)
        b.save_model(path)
        want = b.predict(xgb.DMatrix(Q))
        # one output per row: index 0 of "prediction" is the probability of class 1
        line, ok = tabular_check("xgboost", path, want, Q, 1e-5, "features", index=0)
        results.append((line, ok))
    return results


def main():
    os.makedirs(OUT, exist_ok=True)
    all_ok = True
    for line, ok in tabular():
        all_ok &= ok
        print(line, flush=True)
    print("corpus (tabular): %s" % ("all checks hold" if all_ok else "SOME CHECKS FAILED"))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
