#!/usr/bin/env python3
"""A model server for the HTTP backend's tests, speaking both protocols explainq supports.

The model is linear: y = 2 a - b + 0.5 c + 1 over one input x = [a, b, c].
  GET  /v2/models/lin            KServe v2 metadata
  POST /v2/models/lin/infer      KServe v2 inference
  POST /v1/models/lin:predict    Vertex AI / TF-Serving {"instances"} -> {"predictions"}
  POST /v1/models/cls:predict    the same, each prediction an object {"scores": [y, -y],
                                 "classes": ["pos", "neg"]} (for displayNameMappingKey)
Prints the port it listens on (127.0.0.1, chosen by the kernel), then serves until killed.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

W, B = [2.0, -1.0, 0.5], 1.0


def f(row):
    return sum(w * v for w, v in zip(W, row)) + B


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/v2/models/lin":
            self.reply(200, {"name": "lin", "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
                             "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}]})
        else:
            self.reply(404, {"error": "no such model"})

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/v2/models/lin/infer":
            t = req["inputs"][0]
            rows = t["shape"][0]
            data = t["data"]
            ys = [f(data[3 * r:3 * r + 3]) for r in range(rows)]
            self.reply(200, {"outputs": [{"name": "y", "datatype": "FP32", "shape": [rows, 1], "data": ys}]})
        elif self.path == "/v1/models/lin:predict":
            self.reply(200, {"predictions": [[f(row)] for row in req["instances"]]})
        elif self.path == "/v1/models/cls:predict":
            self.reply(200, {"predictions": [{"scores": [f(row), -f(row)], "classes": ["pos", "neg"]}
                                             for row in req["instances"]]})
        else:
            self.reply(404, {"error": "no such route"})


if __name__ == "__main__":
    srv = HTTPServer(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
