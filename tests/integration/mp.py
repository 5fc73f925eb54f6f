#!/usr/bin/env python3
"""Writes one msgpack value from JSON on stdin (a tiny encoder, no packages), for crafting
jobs that explainq submit would refuse to send (invalid specs). Usage: mp.py < job.json > job.mp"""
import json
import struct
import sys


def enc(v, out):
    if v is None:
        out += b"\xc0"
    elif v is True or v is False:
        out += b"\xc3" if v else b"\xc2"
    elif isinstance(v, int):
        out += b"\xd3" + struct.pack(">q", v) if v < 0 else b"\xcf" + struct.pack(">Q", v)
    elif isinstance(v, float):
        out += b"\xcb" + struct.pack(">d", v)
    elif isinstance(v, str):
        b = v.encode()
        out += b"\xdb" + struct.pack(">I", len(b)) + b
    elif isinstance(v, list):
        out += b"\xdd" + struct.pack(">I", len(v))
        for x in v:
            enc(x, out)
    elif isinstance(v, dict):
        out += b"\xdf" + struct.pack(">I", len(v))
        for k, x in v.items():
            enc(k, out)
            enc(x, out)
    return out


sys.stdout.buffer.write(bytes(enc(json.load(sys.stdin), bytearray())))
