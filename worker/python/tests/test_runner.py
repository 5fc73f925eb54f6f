"""The runners without Kafka: request bytes in, reply bytes out, checked against what
`explainq runner` answers (common/codec.c, worker/cmd_runner.c) and against closed forms."""
import msgpack
import numpy as np
import pytest
import torch

from explainq import protocol
from explainq.model import FunctionModel
from explainq.runner import Handler
from explainq.torch_model import TorchModel, parse_input


def reply(h, payload, key=b"k"):
    rid, b = h.handle(payload, key)
    m = msgpack.unpackb(b, raw=False)
    assert m["id"] == rid
    return m


def tensor(t):
    return protocol.decode_tensor(t, "t", finite_only=False)


class Linear(torch.nn.Module):
    """y = W x + b: the gradient of y_k is row k of W, whatever x."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.fc = torch.nn.Linear(5, 3)

    def forward(self, x):
        return self.fc(x)


class Text(torch.nn.Module):
    """tokens -> encoder.embed (Embedding 10x4) -> mean over 6 tokens -> head (Linear 4 -> 2)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.encoder = torch.nn.Module()
        self.encoder.embed = torch.nn.Embedding(10, 4)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, tokens):
        return self.head(self.encoder.embed(tokens).mean(dim=1))


def linear_handler():
    return Handler(TorchModel(Linear(), [("x", (5,), "float32")], output_name="y"))


def test_describe_like_explainq_runner():
    h = Handler(TorchModel(Text(), [parse_input("tokens:6:int64")], output_name="probs",
                           encoded=["encoder.embed"], labels={"cls": ["neg", "pos"]}))
    m = reply(h, protocol.pack_describe_request("d1"))
    # the embedding's lookup table, so workers encode token ids (common/models/remote.h)
    tables = m["model"].pop("tables")
    assert list(tables) == ["encoder.embed"] and tables["encoder.embed"]["input"] == "tokens"
    np.testing.assert_array_equal(tensor(tables["encoder.embed"]["table"]),
                                  h.model.module.encoder.embed.weight.detach().numpy())
    assert m == {"id": "d1", "compact": 2, "model": {
        "inputs": [{"name": "tokens", "shape": [6]}],
        "output": {"name": "probs", "shape": [2]},
        "encoded": [{"name": "encoder.embed", "shape": [6, 4]}],
        "labels": {"cls": ["neg", "pos"]}}}
    # without embeddings: the keys of xq_remote_describe_pack, in its order
    _, raw = linear_handler().handle(protocol.pack_describe_request("d2"), b"")
    assert list(msgpack.unpackb(raw, raw=False)["model"]) == ["inputs", "output", "encoded",
                                                              "labels"]


def test_forward_and_gradient_closed_form():
    h = linear_handler()
    mod = h.model.module
    W, b = mod.fc.weight.detach().numpy(), mod.fc.bias.detach().numpy()
    x = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
    m = reply(h, protocol.pack_request("r1", {"x": x}, "y"))
    assert list(m) == ["id", "outputs"]
    np.testing.assert_allclose(tensor(m["outputs"]["y"]), x @ W.T + b, rtol=1e-5, atol=1e-6)
    idx = [0, 1, 2, 2, 1, 0, 1]
    m = reply(h, protocol.pack_request("r2", {"x": x}, "y", grad_index=idx))
    assert list(m) == ["id", "outputs", "grads"]
    g = tensor(m["grads"]["x"])
    assert g.shape == (7, 5)
    for r, k in enumerate(idx):
        np.testing.assert_allclose(g[r], W[k], rtol=1e-6)


def compact_tensor(rows, anchors, code):
    return {"dtype": "f32", "shape": [rows, 5], "anchors": protocol.encode_tensor(anchors),
            "code": bytes(code)}


def test_compact_rows_expand_to_the_full_rows():
    """docs/protocol.md's example: masks over (instance, baseline), and a row as it is."""
    x = np.array([1.5, -2.0, 3.25, 0.0, 7.0], dtype=np.float32)
    base = np.array([0.0, 0.0, 0.0, -0.0, 7.0], dtype=np.float32)
    odd = np.array([1.5, 0.5, 3.25, 0.0, 7.0], dtype=np.float32)
    code = [1, 0, 0, 1, 0, 3, 0, 0, 0, 0b11111, 0b00000, 0b00101,  # x, base, x0 x2 from x
            0] + list(odd.tobytes())
    full = np.stack([x, base, np.where([1, 0, 1, 0, 0], x, base), odd]).astype(np.float32)
    h = linear_handler()
    mod = h.model.module
    W, b = mod.fc.weight.detach().numpy(), mod.fc.bias.detach().numpy()
    got = protocol.decode_tensor(compact_tensor(4, np.stack([x, base]), code), "inputs.x")
    assert got.tobytes() == full.tobytes()  # bit for bit, -0.0 included
    req = {"id": "c1", "inputs": {"x": compact_tensor(4, np.stack([x, base]), code)},
           "outputs": ["y"]}
    m = reply(h, msgpack.packb(req, use_bin_type=True))
    np.testing.assert_allclose(tensor(m["outputs"]["y"]), full @ W.T + b, rtol=1e-5, atol=1e-6)
    # a mask naming an anchor that is not there is refused with the rule
    bad = {"id": "c2", "inputs": {"x": compact_tensor(1, np.stack([x, base]), [1, 2, 0, 0, 0, 1, 0, 0, 0, 0])}}
    m = reply(h, msgpack.packb(bad, use_bin_type=True))
    assert m["error"]["field"] == "inputs.x" and "anchor 2 of 2" in m["error"]["message"]


def test_compact_path_rows_expand_to_the_ig_formula():
    """Kind 2 (version 2): rows b + alpha (x - b), float64 then one rounding to float32, bit for
    bit as numpy computes it; then a gradient request over them answers like full rows."""
    x = np.array([1.5, -2.0, 3.25, 0.0, 7.0], dtype=np.float32)
    base = np.array([0.0, 0.1, 0.0, -0.0, 7.0], dtype=np.float32)
    alphas = np.array([0.0, 1.0, 0.046910077030668, 0.5, 0.95308992296933], dtype="<f8")
    code = bytes([2, 0, 0, 1, 0, 5, 0, 0, 0]) + alphas.tobytes()
    want = np.stack([(base.astype(np.float64) + a * (x.astype(np.float64) - base.astype(np.float64)))
                     .astype(np.float32) for a in alphas])
    got = protocol.decode_tensor(compact_tensor(5, np.stack([x, base]), code), "inputs.x")
    assert got.tobytes() == want.tobytes()
    assert got[0, 3] == 0 and not np.signbit(got[0, 3])  # -0.0 + 0 * (0 - -0.0) is +0.0
    # the same value as the C worker's: float(0.1f + 0.5 (-2 - 0.1f)), by hand in float64
    b1 = float(np.float32(0.1))
    assert got[3, 1] == np.float32(b1 + 0.5 * (-2.0 - b1))
    h = linear_handler()
    full = reply(h, protocol.pack_request("g0", {"x": want}, "y", grad_index=[0, 1, 2, 0, 1]))
    req = msgpack.unpackb(protocol.pack_request("g1", {"x": want}, "y", grad_index=[0, 1, 2, 0, 1]),
                          raw=False)
    req["inputs"]["x"] = compact_tensor(5, np.stack([x, base]), code)
    comp = reply(h, msgpack.packb(req, use_bin_type=True))
    assert tensor(comp["outputs"]["y"]).tobytes() == tensor(full["outputs"]["y"]).tobytes()
    assert tensor(comp["grads"]["x"]).tobytes() == tensor(full["grads"]["x"]).tobytes()


def test_compact_bad_path_codes():
    """Bad path records are error replies naming the input, with the rule."""
    x = np.array([1.5, -2.0, 3.25, 0.0, 7.0], dtype=np.float32)
    anc = np.stack([x, np.zeros(5, dtype=np.float32)])
    head = bytes([2, 0, 0, 1, 0, 1, 0, 0, 0])
    cases = [
        (head + bytes(7), "1 alphas from row 0 do not fit"),
        (head + np.array([np.nan], "<f8").tobytes(), "alpha of row 0 is not finite"),
        (head + np.array([-np.inf], "<f8").tobytes(), "alpha of row 0 is not finite"),
        (head + np.array([1e300], "<f8").tobytes(), "element 0 is not finite"),
        (bytes([2, 0, 0, 2, 0, 1, 0, 0, 0]) + bytes(8), "anchor 2 of 2"),
        (bytes([2, 0, 0, 1, 0, 2, 0, 0, 0]) + bytes(16), "2 alphas from row 0 do not fit 1 rows"),
        (bytes([3]), "kind 3 is not 0, 1 or 2"),
    ]
    h = linear_handler()
    for code, why in cases:
        bad = {"id": "b", "inputs": {"x": compact_tensor(1, anc, code)}, "outputs": ["y"]}
        m = reply(h, msgpack.packb(bad, use_bin_type=True))
        assert m["error"]["field"] == "inputs.x" and why in m["error"]["message"], (why, m)
    ok = {"id": "b", "inputs": {"x": compact_tensor(2, anc, head + bytes(8))}, "outputs": ["y"]}
    m = reply(h, msgpack.packb(ok, use_bin_type=True))
    assert "code: 1 rows of 2" in m["error"]["message"]


def test_pick_replies_only_the_outputs_rows_need():
    """"pick": rows needing one output element get only it; -1 gets the row's all."""
    h = linear_handler()
    mod = h.model.module
    W, b = mod.fc.weight.detach().numpy(), mod.fc.bias.detach().numpy()
    x = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    req = msgpack.unpackb(protocol.pack_request("p1", {"x": x}, "y"), raw=False)
    req["pick"] = np.array([-1, 1, 2, 1, 0, 1, 2, 1], dtype="<i4").tobytes()  # (element, count) runs
    m = reply(h, msgpack.packb(req, use_bin_type=True))
    y = x @ W.T + b
    got = tensor(m["outputs"]["y"])
    assert got.shape == (6,)
    np.testing.assert_allclose(got, [*y[0], y[1, 2], y[2, 0], y[3, 2]], rtol=1e-5, atol=1e-6)
    req["pick"] = np.array([-1, 1, 3, 1, 0, 2], dtype="<i4").tobytes()
    m = reply(h, msgpack.packb(req, use_bin_type=True))
    assert m["error"]["field"] == "pick" and "row 1 picks output element 3 of 3" in m["error"]["message"]


def test_gradient_matches_autograd_row_by_row_nonlinear():
    torch.manual_seed(5)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3),
                              torch.nn.Softmax(dim=1))
    h = Handler(TorchModel(net, [("x", (4,), "float32")]))
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    idx = [2, 0, 1, 1, 2, 0]
    g = tensor(reply(h, protocol.pack_request("r", {"x": x}, "output", grad_index=idx))
               ["grads"]["x"])
    for r, k in enumerate(idx):
        xr = torch.tensor(x[r:r + 1], requires_grad=True)
        net(xr)[0, k].backward()
        np.testing.assert_allclose(g[r], xr.grad.numpy()[0], rtol=1e-5, atol=1e-7)


def test_encoded_by_dotted_path():
    h = Handler(TorchModel(Text(), [parse_input("tokens:6:int64")], output_name="probs",
                           encoded=["encoder.embed"]))
    head = h.model.module.head
    W, b = head.weight.detach().numpy(), head.bias.detach().numpy()
    e = np.random.default_rng(2).normal(size=(3, 6, 4)).astype(np.float32)
    m = reply(h, protocol.pack_request("e", {"encoder.embed": e}, "probs", grad_index=[1, 0, 1],
                                       encoded=["encoder.embed"]))
    np.testing.assert_allclose(tensor(m["outputs"]["probs"]), e.mean(axis=1) @ W.T + b,
                               rtol=1e-5, atol=1e-6)
    g = tensor(m["grads"]["encoder.embed"])
    assert g.shape == (3, 6, 4)
    for r, k in enumerate([1, 0, 1]):
        np.testing.assert_allclose(g[r], np.tile(W[k] / 6, (6, 1)), rtol=1e-5)
    # raw token ids (as floats, as workers send them) go through the embedding
    tok = np.array([[1, 2, 3, 4, 5, 6]], np.float32)
    emb = h.model.module.encoder.embed.weight.detach().numpy()
    m = reply(h, protocol.pack_request("t", {"tokens": tok}, "probs"))
    np.testing.assert_allclose(tensor(m["outputs"]["probs"])[0],
                               emb[1:7].mean(axis=0) @ W.T + b, rtol=1e-5, atol=1e-6)


def test_latent_output_by_dotted_path():
    h = Handler(TorchModel(Text(), [parse_input("tokens:6:int64")], output_module="encoder.embed"))
    assert h.model.output == ("encoder.embed", (6, 4))
    tok = np.array([[0, 1, 2, 3, 4, 5]], np.float32)
    m = reply(h, protocol.pack_request("l", {"tokens": tok}, "encoder.embed"))
    np.testing.assert_allclose(tensor(m["outputs"]["encoder.embed"])[0],
                               h.model.module.encoder.embed.weight.detach().numpy()[:6])


def raw_req(**m):
    return msgpack.packb(m, use_bin_type=True)


X1 = {"dtype": "f32", "shape": [1, 5], "data": np.zeros(5, np.float32).tobytes()}

# (request, error code, field, message) as explainq runner answers them
BAD = [
    (b"\xc1", "undecodable", "", "the request is not one msgpack map"),
    (raw_req(inputs={"x": X1}), "undecodable", "id", "must be a string of 1 to 127 bytes"),
    (raw_req(id="a", inputs={}), "undecodable", "inputs",
     "must map 1 to 16 tensor names to tensors"),
    (raw_req(id="a", inputs={"x": {"dtype": "f16", "shape": [1], "data": b""}}), "undecodable",
     "inputs.x", "dtype must be f32, f64, i32 or i64"),
    (raw_req(id="a", inputs={"x": {"dtype": "f32", "shape": [1, 5], "data": b"\0" * 4}}),
     "undecodable", "inputs.x", "data must be a bin of 20 bytes (5 elements of f32)"),
    (raw_req(id="a", inputs={"x": {"dtype": "f32", "shape": [1, 5]}}), "undecodable", "inputs.x",
     "a tensor needs dtype, shape and data"),
    (raw_req(id="a", inputs={"x": {"dtype": "f32", "shape": [1, 1],
                                   "data": np.array([np.nan], np.float32).tobytes()}}),
     "undecodable", "inputs.x", "element 0 is not finite"),
    (raw_req(id="a", inputs={"x": X1}, outputs=["z"]), "model_error", "outputs",
     "this runner serves output y only"),
    (raw_req(id="a", inputs={"x": X1}, grad={"index": b"\0" * 8}), "undecodable", "grad.index",
     "must be a bin of 1 int32 (one per row)"),
    (raw_req(id="a", inputs={"x": X1}, grad={"index": np.int32(3).tobytes()}), "invalid_argument",
     "grad.index", "row 0 asks for output element 3 of 3"),
    (raw_req(id="a", inputs={"w": X1}), "model_error", "w", "the model has no tensor w"),
    (raw_req(id="a", inputs={"x": {"dtype": "f32", "shape": [1, 4],
                                   "data": np.zeros(4, np.float32).tobytes()}}),
     "model_error", "x", "tensor x has 4 elements per row; the model takes 5"),
]


@pytest.mark.parametrize("payload,code,field,message", BAD)
def test_error_replies_like_explainq_runner(payload, code, field, message):
    h = linear_handler()
    m = reply(h, payload, key=b"the-key")
    assert m["error"] == {"code": code, "field": field, "message": message}
    assert m["id"] in ("a", "the-key")
    # and the runner goes on
    assert "outputs" in reply(h, protocol.pack_request("ok", {"x": np.ones((1, 5), np.float32)}))


def test_callable_is_forward_only():
    h = Handler(FunctionModel(lambda x: x.sum(axis=1, keepdims=True) * 2, [("features", (3,))],
                              output_name="prediction"))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    m = reply(h, protocol.pack_request("c", {"features": x}, "prediction"))
    np.testing.assert_array_equal(tensor(m["outputs"]["prediction"]), [[6], [24]])
    m = reply(h, protocol.pack_request("g", {"features": x}, "prediction", grad_index=[0, 0]))
    assert m["error"]["code"] == "model_error" and m["error"]["field"] == "model"


def test_model_exception_is_an_error_reply():
    def boom(x):
        if x.shape[0] > 1:
            raise RuntimeError("kaboom")
        return x

    h = Handler(FunctionModel(boom, [("features", (2,))]))
    m = reply(h, protocol.pack_request("b", {"features": np.ones((2, 2), np.float32)}))
    assert m["error"] == {"code": "model_error", "field": "model",
                          "message": "RuntimeError: kaboom"}
    assert h.failed == 1


def test_kafka_props_spelled_as_every_command():
    from explainq.cli import parse_props

    props = parse_props(["kafka.security.protocol=SASL_PLAINTEXT",
                         "kafka.consumer.session.timeout.ms=6000",
                         "kafka.producer.linger.ms=5", "heartbeat.interval.ms=500"])
    assert props == {"security.protocol": "SASL_PLAINTEXT", "session.timeout.ms": "6000",
                     "linger.ms": "5", "heartbeat.interval.ms": "500"}
    for bad in ("kafka.", "novalue", "=x"):
        try:
            parse_props([bad])
        except ValueError as e:
            assert bad in str(e)
        else:
            raise AssertionError(f"{bad} was taken")
