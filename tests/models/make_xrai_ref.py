#!/usr/bin/env python3
"""Reference XRAI regions from Google's open implementation (PyPI `saliency`, which Vertex
follows), for test_xrai.c. Run once by a developer; the output is committed, so CI needs
neither package:

  python3 -m venv /tmp/skv && /tmp/skv/bin/pip install -r tests/models/requirements-resize-ref.txt
  build/explainq explain --spec tests/models/xrai_ref_ig.json --model tests/data/onnx/shapes.onnx \\
      --instances tests/data/xrai/shapes.jsonl --out /tmp/ig.out
  /tmp/skv/bin/python tests/models/make_xrai_ref.py /tmp/ig.out tests/data/xrai/saliency_ref.bin

For each test picture of tests/data/xrai/shapes.jsonl: the picture (float32, byte / 255), an
attribution A (explainq's IG of it, from the baselines 0 and 1 as XRAI takes them for
featureValueDomain [0, 1]) and saliency's XRAI of the picture with base_attribution=A, 'full'
and 'fast'. XRAI then only segments and selects, so the file checks explainq's resize,
Felzenszwalb segmentation, masks and selection against the reference's, independently of IG.

Format, little-endian: int32 count; per case int32 h, w, c; float32 image[h*w*c];
float64 A[h*w*c]; float64 full[h*w]; float64 fast[h*w].
"""
import base64
import io
import json
import struct
import sys

import numpy as np
from saliency.core.xrai import XRAI, XRAIParameters
from skimage import io as skio

SHAPES = "tests/data/xrai/shapes.jsonl"


def main(ig_path, out_path):
    insts = [json.loads(line) for line in open(SHAPES)]
    igs = [json.loads(line) for line in open(ig_path)]
    assert len(insts) == len(igs)
    with open(out_path, "wb") as fh:
        fh.write(struct.pack("<i", len(insts)))
        for inst, ig in zip(insts, igs):
            im = skio.imread(io.BytesIO(base64.b64decode(inst["image"]["b64"])))
            im = (im.astype(np.float64) / 255.0).astype(np.float32)
            if im.ndim == 2:
                im = im[:, :, None]
            h, w, c = im.shape
            A = np.array(ig["attributions"][0]["featureAttributions"]["image"],
                         dtype=np.float64).reshape(im.shape)
            maps = []
            for algo in ("full", "fast"):
                p = XRAIParameters()
                p.algorithm = algo
                maps.append(XRAI().GetMask(im, None, base_attribution=A, extra_parameters=p))
            fh.write(struct.pack("<iii", h, w, c))
            fh.write(im.astype("<f4").tobytes())
            fh.write(A.astype("<f8").tobytes())
            for m in maps:
                fh.write(np.asarray(m, dtype="<f8").reshape(h, w).tobytes())
    print(f"{len(insts)} pictures to {out_path}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
