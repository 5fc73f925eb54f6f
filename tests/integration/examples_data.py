#!/usr/bin/env python3
"""examples_data.py -- synthetic examples with a known cluster structure, and an independent
brute-force check of the neighbours explainq returns (pure Python, in double precision).

  examples_data.py gen DIR            model, examples, queries and specs into DIR
  examples_data.py check DIR RESULTS METRIC K [--recall R] [--crowding C]
"""
import json
import math
import random
import sys

DIM_IN, DIM_EMB, CLUSTERS, PER_CLUSTER, QUERIES = 8, 6, 8, 375, 50


def model_weights():
    rnd = random.Random(7)
    w = [[rnd.uniform(-1, 1) for _ in range(DIM_IN)] for _ in range(DIM_EMB)]
    b = [rnd.uniform(-0.5, 0.5) for _ in range(DIM_EMB)]
    return w, b


def embed(x, w, b):
    return [sum(wi[j] * x[j] for j in range(DIM_IN)) + bi for wi, bi in zip(w, b)]


def f32(v):
    """Rounds like the float32 inputs explainq reads."""
    import struct
    return struct.unpack("f", struct.pack("f", v))[0]


def gen(d):
    rnd = random.Random(11)
    w, b = model_weights()
    with open(f"{d}/model.json", "w") as f:
        json.dump({"format": "explainq-dense-v1", "inputs": [{"name": "x", "shape": [DIM_IN]}],
                   "output": {"name": "emb", "shape": [DIM_EMB]},
                   "layers": [{"weights": w, "bias": b, "activation": "linear"}]}, f)
    centers = [[rnd.uniform(-10, 10) for _ in range(DIM_IN)] for _ in range(CLUSTERS)]
    with open(f"{d}/examples.jsonl", "w") as f:
        for i in range(CLUSTERS * PER_CLUSTER):
            c = i % CLUSTERS
            x = [round(centers[c][j] + rnd.gauss(0, 1), 4) for j in range(DIM_IN)]
            f.write(json.dumps({"id": f"ex-{i}", "crowdingTag": f"c{c}", "x": x}) + "\n")
    with open(f"{d}/queries.jsonl", "w") as f:
        for q in range(QUERIES):
            c = q % CLUSTERS
            x = [round(centers[c][j] + rnd.gauss(0, 1.2), 4) for j in range(DIM_IN)]
            f.write(json.dumps({"x": x}) + "\n")
    meta = {"inputs": {"x": {}}, "outputs": {"emb": {}}, "latentSpaceSource": "emb"}
    specs = {
        "l2": {"modality": "TABULAR", "query": "PRECISE"},
        "fast": {"modality": "TABULAR", "query": "FAST"},
        "cos": {"modality": "IMAGE", "query": "PRECISE"},
    }
    for name, presets in specs.items():
        with open(f"{d}/{name}.json", "w") as f:
            json.dump({"parameters": {"examples": {"neighborCount": 10, "presets": presets}},
                       "metadata": meta}, f)


def load_examples(d):
    w, b = model_weights()
    ids, tags, embs = [], [], []
    with open(f"{d}/examples.jsonl") as f:
        for line in f:
            o = json.loads(line)
            ids.append(o["id"])
            tags.append(o["crowdingTag"])
            embs.append(embed([f32(v) for v in o["x"]], w, b))
    queries = []
    with open(f"{d}/queries.jsonl") as f:
        for line in f:
            queries.append(embed([f32(v) for v in json.loads(line)["x"]], w, b))
    return ids, tags, embs, queries


def distance(metric, q, e):
    if metric == "l2":
        return sum((a - c) ** 2 for a, c in zip(q, e))
    dot = sum(a * c for a, c in zip(q, e))
    return 1 - dot / math.sqrt(sum(a * a for a in q) * sum(c * c for c in e))


def results(path):
    """Per-query neighbour lists: explain's and collect's lines are one instance each, in order."""
    return [json.loads(l)["neighbors"] for l in open(path) if l.strip()]


def check(d, res_path, metric, k, recall=None, crowding=None):
    ids, tags, embs, queries = load_examples(d)
    got = results(res_path)
    assert len(got) == len(queries), f"{len(got)} results for {len(queries)} queries"
    hits = 0
    for qi, (q, nb) in enumerate(zip(queries, got)):
        order = sorted(range(len(embs)), key=lambda i: distance(metric, q, embs[i]))
        if crowding:
            per, want = {}, []
            for i in order:
                if per.get(tags[i], 0) < crowding:
                    per[tags[i]] = per.get(tags[i], 0) + 1
                    want.append(i)
                if len(want) == k:
                    break
        else:
            want = order[:k]
        assert len(nb) == k, f"query {qi}: {len(nb)} neighbours, want {k}"
        dists = [n["neighborDistance"] for n in nb]
        assert dists == sorted(dists), f"query {qi}: neighbours not sorted by distance"
        if recall is not None:
            hits += len({n["neighborId"] for n in nb} & {ids[i] for i in want})
            continue
        assert [n["neighborId"] for n in nb] == [ids[i] for i in want], \
            f"query {qi}: got {[n['neighborId'] for n in nb]}, brute force {[ids[i] for i in want]}"
        for n, i in zip(nb, want):
            exact = distance(metric, q, embs[i])
            assert abs(n["neighborDistance"] - exact) <= 1e-4 * max(1.0, abs(exact)), \
                f"query {qi}: distance {n['neighborDistance']} vs {exact}"
    if recall is not None:
        r = hits / (k * len(queries))
        assert r >= recall, f"recall@{k} {r:.3f} < {recall}"
        print(f"recall@{k} = {r:.3f}")
    print(f"{len(got)} queries: {metric} neighbours match brute force")


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
    else:
        args = sys.argv[2:]
        opt = {"recall": None, "crowding": None}
        while len(args) > 4:
            opt[args[-2].lstrip("-")] = float(args[-1]) if "recall" in args[-2] else int(args[-1])
            args = args[:-2]
        check(args[0], args[1], args[2], int(args[3]), **opt)
