#!/usr/bin/env python3
"""Part of `make bench`: the torch runner's gradient rows/s against calling autograd directly on
the same batches. The runner's path is a request's bytes in and the reply's bytes out
(explainq.runner.Handler: msgpack decode, checks, eval mode, autograd, encode), i.e. all it does
per request but the Kafka round trip; the direct path is the forward, gather and backward alone
on tensors already built. Target: runner >= 0.8x direct (the protocol is not the bottleneck).
"""
import time

import numpy as np
import torch

from explainq import protocol
from explainq.runner import Handler
from explainq.torch_model import TorchModel

torch.set_num_threads(1)


def models():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64),
                              torch.nn.Tanh(), torch.nn.Linear(64, 2), torch.nn.Softmax(dim=1))
    cnn = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 8, 3, padding=1),
                              torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(8 * 8 * 8, 10), torch.nn.Softmax(dim=1))
    return [("MLP 20-64-64-2", mlp, (20,), 1024), ("CNN 3x32x32", cnn, (3, 32, 32), 64)]


def timed(fn, min_s=0.5):
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_s:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


def best_of(a, b, rounds=5):
    """Calls/s of @a and of @b, each the best of @rounds alternating runs (the machine is
    shared: the best run is the one least disturbed)."""
    a(), b()  # warm up
    ra = rb = 0.0
    for _ in range(rounds):
        ra, rb = max(ra, timed(a)), max(rb, timed(b))
    return ra, rb


def main():
    for name, net, shape, rows in models():
        net.eval()
        x = np.random.default_rng(1).normal(size=(rows,) + shape).astype(np.float32)
        idx = np.random.default_rng(2).integers(0, 2, size=rows).astype(np.int32)
        h = Handler(TorchModel(net, [("x", shape, "float32")]))
        req = protocol.pack_request("b", {"x": x}, "output", grad_index=idx)

        def runner():
            h.handle(req, b"b")

        xt, it = torch.from_numpy(x), torch.from_numpy(idx.astype(np.int64)).view(-1, 1)

        def direct():
            xg = xt.clone().requires_grad_(True)  # input gradients only, as the runner
            return torch.autograd.grad(net(xg).gather(1, it).sum(), xg)[0]

        r, d = best_of(runner, direct)
        r, d = r * rows, d * rows
        print(f"bench torch runner: {name}, batch {rows}: runner {r:,.0f} gradient rows/s, "
              f"autograd alone {d:,.0f} rows/s, ratio {r / d:.2f}")


if __name__ == "__main__":
    main()
