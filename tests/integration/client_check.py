#!/usr/bin/env python3
"""0162's client side: explains a 10,000-row DataFrame (one row bad) through explainq.Client
and checks order, the one per-instance error, the DataFrame form, and the iterator form."""
import json
import os
import pickle
import sys

import numpy as np
import pandas as pd

from explainq import Client

d, bootstrap, model, jobs, results = sys.argv[1:6]
clf = pickle.load(open(f"{d}/clf.pkl", "rb"))
spec = json.load(open(f"{d}/shapley.json"))
spec["parameters"] = {"sampledShapleyAttribution": {"pathCount": 2}}  # the argmax output
rng = np.random.default_rng(162)
X = rng.normal(size=(10000, 4)).round(4)
df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).astype(object)
BAD = 4321
df.loc[BAD, "c"] = "not a number"

c = Client(bootstrap=bootstrap, jobs_topic=jobs, results_topic=results, timeout=300)
res = c.explain(df, spec=spec, model=model, progress=True)
assert len(res) == 10000, len(res)
errors = [i for i, r in enumerate(res) if "error" in r]
assert errors == [BAD], errors
e = res[BAD]["error"]
assert e["field"] == f"instances[{BAD}].c", e
assert "string" in e["message"], e
p = clf.predict_proba(X.astype(np.float32))
for i, r in enumerate(res):
    if i == BAD:
        continue
    a = r["attributions"][0]
    k = a["outputIndex"][0]
    assert k == int(np.argmax(p[i])), (i, k)
    assert abs(a["instanceOutputValue"] - p[i, k]) <= 1e-6, (i, a["instanceOutputValue"], p[i, k])
    s = sum(a["featureAttributions"].values())
    assert abs(s - (a["instanceOutputValue"] - a["baselineOutputValue"])) <= 1e-6
print(f"explain: 10000 rows in input order, one error at row {BAD}: {e['message']}")

# NumPy with feature names from the spec, and the DataFrame of attributions
t = c.explain(X[:50], spec=spec, model=model, output="dataframe")
assert list(t["instance"]) == list(range(50)) and t["error"].isna().all()
assert {"a", "b", "c", "d", "instanceOutputValue", "outputIndex"} <= set(t.columns)
np.testing.assert_allclose(t[["a", "b", "c", "d"]].sum(axis=1),
                           t["instanceOutputValue"] - t["baselineOutputValue"], atol=1e-6)
# the iterator form, from a generator (a stream), in order
gen = ({"a": float(x[0]), "b": float(x[1]), "c": float(x[2]), "d": float(x[3])} for x in X[:300])
got = list(c.explain_iter(gen, spec=spec, model=model))
assert [i for i, _ in got] == list(range(300))
assert all(abs(r["attributions"][0]["instanceOutputValue"] - p[i].max()) <= 1e-6 for i, r in got)
c.close()
print("dataframe output and iterator form: in order")
