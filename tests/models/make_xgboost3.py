#!/usr/bin/env python3
"""XGBoost model files as today's xgboost writes them, with its own predictions.

Run by a developer (`make models-venv`, then `.venv-models/bin/python tests/models/make_xgboost3.py`;
xgboost-cpu is pinned in tests/models/requirements.txt); writes tests/data/xgboost/:
  binary.json / .ubj    binary:logistic, 6 features, 20 trees of depth 3
                        (base_score is estimated and written as a vector, "[6.2E-1]")
  reg.json / .ubj       reg:squarederror, base_score estimated (the label mean)
  multi.json            multi:softprob, 3 classes (base_score one value per class)
  ref.json              {"x": rows, "binary", "reg", "multi": xgboost's predict() of them}
"""
import json
import os

import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "xgboost")
rng = np.random.default_rng(20261208)


def main():
    os.makedirs(OUT, exist_ok=True)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    z = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] - X[:, 3] + 0.6
    yb = (z + 0.3 * rng.normal(size=400) > 0).astype(np.float32)
    yr = (3 * z + 5).astype(np.float32)
    ym = np.digitize(z, [-0.5, 1.0]).astype(np.float32)
    Q = rng.normal(size=(16, 6)).astype(np.float32)
    ref = {"x": Q.tolist()}
    params = {"max_depth": 3, "eta": 0.3, "nthread": 1, "seed": 1}
    for name, y, extra in (("binary", yb, {"objective": "binary:logistic"}),
                           ("reg", yr, {"objective": "reg:squarederror"}),
                           ("multi", ym, {"objective": "multi:softprob", "num_class": 3})):
        b = xgb.train({**params, **extra}, xgb.DMatrix(X, label=y), num_boost_round=20)
        b.save_model(os.path.join(OUT, name + ".json"))
        if name != "multi":
            b.save_model(os.path.join(OUT, name + ".ubj"))
        ref[name] = b.predict(xgb.DMatrix(Q)).astype(np.float32).reshape(len(Q), -1).tolist()
    ref["xgboost"] = xgb.__version__
    with open(os.path.join(OUT, "ref.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main()
