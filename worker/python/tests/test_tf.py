"""The TensorFlow runner without Kafka (make test-tf installs tensorflow-cpu; elsewhere these
tests are skipped, and pytest says so)."""
import msgpack
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from explainq import protocol  # noqa: E402
from explainq.runner import Handler  # noqa: E402
from explainq.tf_model import TFModel  # noqa: E402


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("tf")
    tf.random.set_seed(1)
    inp = tf.keras.Input(shape=(5,), name="x")
    out = tf.keras.layers.Dense(3, name="y")(inp)  # linear: d y_k / d x = W[:, k]
    model = tf.keras.Model(inp, out)
    tf.saved_model.save(model, str(d / "m"))
    return str(d / "m"), model.get_layer("y").get_weights()


def test_describe_forward_gradient(saved):
    path, (W, b) = saved
    h = Handler(TFModel(path))
    _, raw = h.handle(protocol.pack_describe_request("d"), b"")
    m = msgpack.unpackb(raw, raw=False)
    assert m["model"]["inputs"] == [{"name": "x", "shape": [5]}]
    assert m["model"]["output"] == {"name": "y", "shape": [3]}
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    idx = [0, 2, 1, 2]
    _, raw = h.handle(protocol.pack_request("g", {"x": x}, "y", grad_index=idx), b"")
    m = msgpack.unpackb(raw, raw=False)
    y = protocol.decode_tensor(m["outputs"]["y"], "y")
    np.testing.assert_allclose(y, x @ W + b, rtol=1e-5, atol=1e-6)
    g = protocol.decode_tensor(m["grads"]["x"], "x")
    for r, k in enumerate(idx):
        np.testing.assert_allclose(g[r], W[:, k], rtol=1e-6)
