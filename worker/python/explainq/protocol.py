"""The inference protocol's messages (README "Runners and the inference protocol"), as
`explainq runner` (common/codec.c, common/tensor.c, common/models/remote.c) reads and writes
them: the same checks, in the same order, with the same error fields and messages.

Every message is a msgpack map. A tensor is {"dtype": "f32", "shape": [rows, ...],
"data": <bin, little-endian, row-major>}; requests may also use f64, i32 and i64.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import msgpack
import numpy as np

MAX_TENSORS = 16  # XQ_CODEC_MAX_TENSORS
ID_SIZE = 128  # XQ_CODEC_ID_SIZE: ids are 1 to 127 bytes
MAX_DIMS = 8  # XQ_MAX_DIMS: per-row dims; a tensor has at most MAX_DIMS + 1
MAX_ELEMS = 64 << 20  # XQ_TENSOR_MAX_ELEMS
MAX_DESC = 256  # tensors listed in a description

_DTYPES = {"f32": ("<f4", 4), "f64": ("<f8", 8), "i32": ("<i4", 4), "i64": ("<i8", 8)}

# wire codes of common/err.h
OK = "ok"
ENOMEM = "out_of_memory"
EINVAL = "invalid_argument"
EDECODE = "undecodable"
EMODEL = "model_error"
ELIMIT = "limit_exceeded"


class ProtocolError(Exception):
    """An error reply's content: a wire code, the field it concerns and a message."""

    def __init__(self, code: str, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.code = code
        self.field = field
        self.message = message


def _is_str(o) -> bool:
    return isinstance(o, str)


COMPACT_VERSION = 2  # compact request tensors this runner expands (docs/protocol.md)


def _shape_count(shape, field: str, max_elems: int) -> int:
    """The element count of a tensor's shape (batch first), checked against max_elems."""
    if not isinstance(shape, list) or not 1 <= len(shape) <= MAX_DIMS + 1:
        raise ProtocolError(EDECODE, field, f"shape must list 1 to {MAX_DIMS + 1} sizes, batch first")
    cnt = 1
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0 or s > max_elems:
            raise ProtocolError(
                ELIMIT, field, f"shape must hold integers whose product is at most {max_elems}")
        cnt *= s
        if cnt > max_elems:
            raise ProtocolError(
                ELIMIT, field, f"shape must hold integers whose product is at most {max_elems}")
    return cnt


def _expand_path(code, pos: int, n: int, x: np.ndarray, b: np.ndarray, row: int, elems: int,
                 field: str) -> np.ndarray:
    """n rows of a path record: b + alpha (x - b) in float64, then one rounding to float32, as
    path_elem() in common/compact.c (numpy does not fuse the multiply-add: bit for bit)."""
    alpha = np.frombuffer(code, dtype="<f8", count=n, offset=pos)
    bad = ~np.isfinite(alpha)
    if bad.any():
        raise ProtocolError(EDECODE, field,
                            f"code: the alpha of row {row + int(np.argmax(bad))} is not finite")
    x64, b64 = x.astype(np.float64), b.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rows = (b64 + alpha[:, None] * (x64 - b64)).astype(np.float32)
    bad = ~np.isfinite(rows)
    if bad.any():
        raise ProtocolError(EDECODE, field,
                            f"element {row * elems + int(np.argmax(bad))} is not finite")
    return rows


def _expand_compact(o, field: str, max_elems: int) -> np.ndarray:
    """A compact tensor's full rows, as xq_compact_decode() expands them: records of the
    "code" bin are 0 (a row as it is, f32), 1 (u16 x, u16 b, u32 n, n masks: bit e set takes
    element e of anchor x, else of anchor b) or 2 (u16 x, u16 b, u32 n, n f64 alphas: the row
    is b + alpha (x - b) in float64, rounded once to float32)."""
    shape, code = o.get("shape"), o.get("code")
    if o.get("dtype") != "f32" or not isinstance(code, (bytes, bytearray)) or "anchors" not in o:
        raise ProtocolError(EDECODE, field,
                            "a compact tensor needs dtype f32, shape, anchors and a code bin")
    cnt = _shape_count(shape, field, max_elems)
    rows = shape[0]
    elems = cnt // rows if rows else 0
    anc = decode_tensor(o["anchors"], field, max_elems)
    if not elems or anc.ndim != len(shape) or anc.size != anc.shape[0] * elems:
        raise ProtocolError(EDECODE, field, "anchors must be rows of the tensor's shape")
    anc = anc.reshape(anc.shape[0], elems)
    out = np.empty((rows, elems), dtype=np.float32)
    mask_len = (elems + 7) // 8
    pos, row, n_code = 0, 0, len(code)
    while pos < n_code:
        kind = code[pos]
        pos += 1
        if kind == 0:
            if n_code - pos < elems * 4 or row >= rows:
                raise ProtocolError(EDECODE, field, f"code: row {row} is cut short")
            r = np.frombuffer(code, dtype="<f4", count=elems, offset=pos)
            bad = ~np.isfinite(r)
            if bad.any():
                raise ProtocolError(EDECODE, field,
                                    f"element {row * elems + int(np.argmax(bad))} is not finite")
            out[row] = r
            pos += elems * 4
            row += 1
        elif kind in (1, 2):
            if n_code - pos < 8:
                raise ProtocolError(EDECODE, field, "code: a record is cut short")
            xa, ba = int.from_bytes(code[pos:pos + 2], "little"), int.from_bytes(code[pos + 2:pos + 4], "little")
            n = int.from_bytes(code[pos + 4:pos + 8], "little")
            pos += 8
            if xa >= anc.shape[0] or ba >= anc.shape[0]:
                raise ProtocolError(EDECODE, field,
                                    f"code: anchor {max(xa, ba)} of {anc.shape[0]} does not exist")
            each, what = (mask_len, "masks") if kind == 1 else (8, "alphas")
            if n > rows - row or (n_code - pos) // each < n:
                raise ProtocolError(EDECODE, field,
                                    f"code: {n} {what} from row {row} do not fit {rows} rows")
            if kind == 1:
                masks = np.frombuffer(code, dtype=np.uint8, count=n * mask_len, offset=pos)
                bits = np.unpackbits(masks.reshape(n, mask_len), axis=1, bitorder="little")[:, :elems]
                out[row:row + n] = np.where(bits.astype(bool), anc[xa], anc[ba])
            else:
                out[row:row + n] = _expand_path(code, pos, n, anc[xa], anc[ba], row, elems, field)
            pos += n * each
            row += n
        else:
            raise ProtocolError(EDECODE, field, f"code: record kind {kind} is not 0, 1 or 2")
    if row != rows:
        raise ProtocolError(EDECODE, field, f"code: {row} rows of {rows}")
    return out.reshape(shape)


def decode_tensor(o, field: str, max_elems: int = 0, finite_only: bool = True) -> np.ndarray:
    """A wire tensor as float32 (batch first), checked as xq_tensor_decode() checks it; a
    compact one (with "code") is expanded into its full rows."""
    max_elems = max_elems or MAX_ELEMS
    if not isinstance(o, dict):
        raise ProtocolError(EDECODE, field, "a tensor must be a map")
    if "code" in o:
        return _expand_compact(o, field, max_elems)
    dt, shape, data = o.get("dtype"), o.get("shape"), o.get("data")
    if dt is None or shape is None or data is None:
        raise ProtocolError(EDECODE, field, "a tensor needs dtype, shape and data")
    if not _is_str(dt) or dt not in _DTYPES:
        raise ProtocolError(EDECODE, field, "dtype must be f32, f64, i32 or i64")
    cnt = _shape_count(shape, field, max_elems)
    npdt, width = _DTYPES[dt]
    if not isinstance(data, (bytes, bytearray)) or len(data) != cnt * width:
        raise ProtocolError(
            EDECODE, field, f"data must be a bin of {cnt * width} bytes ({cnt} elements of {dt})")
    a = np.frombuffer(data, dtype=npdt).astype(np.float32).reshape(shape)
    if finite_only:
        bad = ~np.isfinite(a.reshape(-1))
        if bad.any():
            raise ProtocolError(EDECODE, field, f"element {int(np.argmax(bad))} is not finite")
    return a


def encode_tensor(a) -> dict:
    """A float32 wire tensor of @a (its shape, batch first)."""
    a = np.ascontiguousarray(a, dtype="<f4")
    return {"dtype": "f32", "shape": [int(d) for d in a.shape], "data": a.tobytes()}


@dataclass
class Request:
    """A decoded inference request."""

    id: str = ""
    rows: int = 0
    inputs: Dict[str, np.ndarray] = field(default_factory=dict)  # name -> [rows, ...] float32
    outputs: List[str] = field(default_factory=list)
    grad: bool = False
    grad_output: Optional[str] = None
    grad_index: Optional[np.ndarray] = None  # int32, one per row
    wrt: List[str] = field(default_factory=list)
    encoded: List[str] = field(default_factory=list)
    pick: Optional[np.ndarray] = None  # "pick": per row, the output element it needs, -1: all


def _names(o, what: str, fld: str) -> List[str]:
    if not isinstance(o, list) or len(o) > MAX_TENSORS:
        raise ProtocolError(EDECODE, fld, f"must be a list of {what}")
    out = []
    for n in o:
        if not _is_str(n) or not n or "\0" in n:
            raise ProtocolError(EDECODE, fld, f"must be a list of {what}")
        out.append(n)
    return out


def unpack(payload: bytes):
    """One msgpack object filling @payload, or None (trailing bytes, bad bytes)."""
    try:
        return msgpack.unpackb(payload, raw=False, strict_map_key=False)
    except Exception:
        return None


def describe_id(msg) -> Optional[str]:
    """The id of a describe request {"id", "describe": true}, else None."""
    if isinstance(msg, dict) and msg.get("describe") is True:
        i = msg.get("id")
        if _is_str(i) and len(i.encode()) < ID_SIZE:
            return i
    return None


def decode_request(msg, req: Request, max_elems: int = 0) -> Request:
    """Fills @req from the unpacked message @msg (None: undecodable), as xq_infer_req_decode().
    Raises ProtocolError; req.id is set as soon as it was read, for the error reply."""
    if not isinstance(msg, dict):
        raise ProtocolError(EDECODE, "", "the request is not one msgpack map")
    rid = msg.get("id")
    if not _is_str(rid) or not rid or len(rid.encode()) >= ID_SIZE:
        raise ProtocolError(EDECODE, "id", f"must be a string of 1 to {ID_SIZE - 1} bytes")
    req.id = rid
    inputs = msg.get("inputs")
    if not isinstance(inputs, dict) or not inputs or len(inputs) > MAX_TENSORS:
        raise ProtocolError(EDECODE, "inputs", f"must map 1 to {MAX_TENSORS} tensor names to tensors")
    for i, (name, t) in enumerate(inputs.items()):
        if not _is_str(name) or not name or "\0" in name:
            raise ProtocolError(EDECODE, "inputs", "tensor names must be non-empty strings")
        fld = "inputs." + name[:50]
        a = decode_tensor(t, fld, max_elems)
        if i == 0:
            req.rows = a.shape[0]
        if a.shape[0] != req.rows or not req.rows:
            raise ProtocolError(EDECODE, fld, f"has {a.shape[0]} rows; every input needs the same (>= 1)")
        req.inputs[name] = a
    if "outputs" in msg:
        req.outputs = _names(msg["outputs"], "output names", "outputs")
    if "encoded" in msg:
        req.encoded = _names(msg["encoded"], "tensor names", "encoded")
    g = msg.get("grad")
    if g is not None:
        req.grad = True
        g = g if isinstance(g, dict) else {}
        go = g.get("output")
        if go is not None:
            if not _is_str(go) or not go or "\0" in go:
                raise ProtocolError(EDECODE, "grad.output", "must be an output name")
            req.grad_output = go
        gi = g.get("index")
        if not isinstance(gi, (bytes, bytearray)) or len(gi) != req.rows * 4:
            raise ProtocolError(EDECODE, "grad.index", f"must be a bin of {req.rows} int32 (one per row)")
        req.grad_index = np.frombuffer(gi, dtype="<i4").copy()
        if "wrt" in g:
            req.wrt = _names(g["wrt"], "input names", "grad.wrt")
    pick = msg.get("pick")
    if pick is not None:
        runs = (np.frombuffer(pick, dtype="<i4").reshape(-1, 2)
                if isinstance(pick, (bytes, bytearray)) and len(pick) % 8 == 0 else None)
        counts = runs[:, 1].astype(np.uint32) if runs is not None else None
        if runs is None or int(counts.sum(dtype=np.uint64)) != req.rows:
            raise ProtocolError(EDECODE, "pick", "must be a bin of (int32 element, uint32 count)"
                                f" runs covering {req.rows} rows")
        req.pick = np.repeat(runs[:, 0], counts)
    return req


def pick_outputs(out: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """The outputs a request with "pick" wants (xq_infer_pick()): per row, its picked element,
    or all of a row picking -1, flat."""
    flat = out.reshape(out.shape[0], -1)
    n = flat.shape[1]
    if ((pick < -1) | (pick >= n)).any():
        r = int(np.argmax((pick < -1) | (pick >= n)))
        raise ProtocolError(EINVAL, "pick", f"row {r} picks output element {int(pick[r])} of {n}")
    parts = [flat[r] if p < 0 else flat[r, p:p + 1] for r, p in enumerate(pick.tolist())]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


def pack_request(rid: str, inputs: Dict[str, np.ndarray], output: Optional[str] = None,
                 grad_index: Optional[Sequence[int]] = None,
                 encoded: Sequence[str] = ()) -> bytes:
    """A request as a worker packs it (xq_infer_req_pack)."""
    m = {"id": rid, "inputs": {k: encode_tensor(v) for k, v in inputs.items()},
         "outputs": [output] if output else []}
    if grad_index is not None:
        g = {}
        if output:
            g["output"] = output
        g["index"] = np.ascontiguousarray(grad_index, dtype="<i4").tobytes()
        g["wrt"] = list(inputs)
        m["grad"] = g
    if encoded:
        m["encoded"] = list(encoded)
    return msgpack.packb(m, use_bin_type=True)


def pack_reply(rid: str, out_name: str, out: np.ndarray,
               grads: Optional[Sequence[Tuple[str, np.ndarray]]] = None) -> bytes:
    """{"id", "outputs": {name: tensor}, "grads": {name: tensor}} (grads only when asked)."""
    m = {"id": rid, "outputs": {out_name: encode_tensor(out)}}
    if grads:
        m["grads"] = {n: encode_tensor(g) for n, g in grads}
    return msgpack.packb(m, use_bin_type=True)


def pack_error(rid: str, code: str, fld: str, message: str) -> bytes:
    """{"id", "error": {"code", "field", "message"}}, the shape of an error result."""
    return msgpack.packb({"id": rid, "error": {"code": code, "field": fld, "message": message}},
                         use_bin_type=True)


def _desc(name: str, shape: Sequence[int]) -> dict:
    return {"name": name, "shape": [int(d) for d in shape]}


def pack_describe(rid: str, inputs: Sequence[Tuple[str, Sequence[int]]],
                  output: Tuple[str, Sequence[int]],
                  encoded: Sequence[Tuple[str, Sequence[int]]] = (),
                  labels: Optional[Dict[str, List[str]]] = None,
                  tables: Optional[Dict[str, Tuple[str, np.ndarray]]] = None) -> bytes:
    """A describe reply: {"id", "model": {"inputs", "output", "encoded", "labels"}}, and
    "tables": {encoded: {"input", "table"}} when encoded tensors are embedding lookups
    (common/models/remote.h), so workers can encode token ids themselves."""
    model = {"inputs": [_desc(n, s) for n, s in inputs], "output": _desc(*output),
             "encoded": [_desc(n, s) for n, s in list(encoded)[:MAX_DESC]],
             "labels": {k: list(v) for k, v in (labels or {}).items()}}
    if tables:
        model["tables"] = {k: {"input": raw, "table": encode_tensor(t)}
                           for k, (raw, t) in tables.items()}
    # "compact": the version of compact request tensors this runner expands
    return msgpack.packb({"id": rid, "compact": COMPACT_VERSION, "model": model},
                         use_bin_type=True)


def pack_describe_request(rid: str) -> bytes:
    return msgpack.packb({"id": rid, "describe": True}, use_bin_type=True)
