"""loadgen.py -- open-loop HTTP load at a fixed rate: part of `make bench` (gateway.sh).

usage: loadgen.py URL BODY.json RATE SECONDS

Request i is due at start + i/RATE whether or not earlier ones have finished;
its latency counts from when it was due, so queueing shows. Prints p50, p99,
max (ms) and the count of non-200 answers.
"""
import concurrent.futures
import sys
import threading
import time
import urllib.request

url, body_path, rate, secs = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
body = open(body_path, "rb").read()
n = int(rate * secs)
lat, bad = [], []
lock = threading.Lock()


def one(due):
    wait = due - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    try:
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            ok = r.status == 200
    except Exception:
        ok = False
    took = (time.monotonic() - due) * 1000
    with lock:
        (lat if ok else bad).append(took)


start = time.monotonic() + 0.5
with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
    for i in range(n):
        pool.submit(one, start + i / rate)
lat.sort()
if not lat:
    print("no successful requests")
    sys.exit(1)
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{len(lat)} ok, {len(bad)} failed; p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, "
      f"max {lat[-1]:.1f} ms")
