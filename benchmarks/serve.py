"""Benchmark `jukebox serve`: single-row latency, 8-client throughput, a 1000-row batch, vs a direct call.

    .venv/bin/python benchmarks/serve.py [--model DIR] [--requests 1000]

The server runs as its own process (`python -m jukebox serve --port 0`) so clients and server do not
share a GIL. Without --model a model with the training contract is built (tests/serving/serving_fixtures).
Targets (2 cores): p50 <= 2 ms, served/direct <= 10x, 1000-row batch <= 20 ms. Prints numbers; not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "serving")]

from serving_fixtures import build_model, random_rows  # noqa: E402

from serving.contract import FEATURES  # noqa: E402
from serving.engine import Engine  # noqa: E402

PATH = "/v2/models/jukebox/infer"
HEADERS = {"Content-Type": "application/json"}


def body(rows: dict[str, np.ndarray], start: int, stop: int) -> bytes:
    inputs = [
        {"name": f, "shape": [stop - start, 1], "datatype": "FP32", "data": rows[f][start:stop].ravel().tolist()}
        for f in FEATURES
    ]
    return json.dumps({"inputs": inputs}).encode()


def post(conn: http.client.HTTPConnection, payload: bytes) -> bytes:
    conn.request("POST", PATH, payload, HEADERS)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
    return data


def timed(call: Callable[[], object], n: int) -> np.ndarray:
    """Milliseconds per call over n calls (after 20 warm-up calls)."""
    for _ in range(20):
        call()
    times = np.empty(n)
    for i in range(n):
        start = time.perf_counter()
        call()
        times[i] = time.perf_counter() - start
    return times * 1e3


def throughput(host: str, port: int, payloads: list[bytes], clients: int) -> float:
    """Requests per second with `clients` threads, each on its own keep-alive connection."""
    chunks = [payloads[i::clients] for i in range(clients)]

    def client(chunk: list[bytes]) -> None:
        conn = http.client.HTTPConnection(host, port)
        for payload in chunk:
            post(conn, payload)
        conn.close()

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(payloads) / (time.perf_counter() - start)


def start_server(model_dir: Path) -> tuple[subprocess.Popen[str], str, int]:
    command = [sys.executable, "-m", "jukebox", "serve", "--model", str(model_dir), "--port", "0"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()
    address = process.stdout.readline().split()[1].split("/")[2]
    host, port = address.rsplit(":", 1)
    return process, host, int(port)


def stats(name: str, ms: np.ndarray) -> str:
    return f"{name:<40} p50 {np.percentile(ms, 50):7.3f} ms  p99 {np.percentile(ms, 99):7.3f} ms"


def report(model_dir: Path, n: int) -> None:
    rows = random_rows(1000, seed=0)
    singles = [body(rows, i, i + 1) for i in range(1000)]
    batch = body(rows, 0, 1000)
    engine = Engine.from_dir(model_dir)
    one = {f: rows[f][:1] for f in FEATURES}
    direct_one = timed(lambda: engine.infer(one), n)
    direct_batch = timed(lambda: engine.infer(rows), 200)

    process, host, port = start_server(model_dir)
    try:
        conn = http.client.HTTPConnection(host, port)
        cycle = iter(range(10**9))
        single = timed(lambda: post(conn, singles[next(cycle) % 1000]), n)
        served_batch = timed(lambda: post(conn, batch), 200)
        rps = throughput(host, port, singles * 2, clients=8)
        conn.close()
    finally:
        process.terminate()
        process.wait(10)

    p50 = float(np.percentile(single, 50))
    batch_p50 = float(np.percentile(served_batch, 50))
    ratio_one = p50 / float(np.percentile(direct_one, 50))
    ratio_batch = batch_p50 / float(np.percentile(direct_batch, 50))
    print(f"model {model_dir}  ({n} sequential single-row requests, http.client keep-alive, loopback)")
    print(stats("served, single row", single), f"[target p50 <= 2 ms: {'ok' if p50 <= 2 else 'MISSED'}]")
    print(stats("direct Engine.infer, single row", direct_one))
    print(stats("served, 1000-row batch", served_batch), f"[target <= 20 ms: {'ok' if batch_p50 <= 20 else 'MISSED'}]")
    print(stats("direct Engine.infer, 1000 rows", direct_batch))
    print(
        f"{'served/direct, single row':<40} {ratio_one:7.1f}x  [target <= 10x: {'ok' if ratio_one <= 10 else 'MISSED'}]"
    )
    print(f"{'served/direct, 1000-row batch':<40} {ratio_batch:7.1f}x")
    print(f"{'throughput, 8 concurrent clients':<40} {rps:7.0f} requests/s (single-row)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="model directory (default: a contract-shaped test model)")
    parser.add_argument("--requests", type=int, default=1000, help="sequential single-row requests (default 1000)")
    args = parser.parse_args()
    if args.model:
        report(args.model, args.requests)
        return
    with tempfile.TemporaryDirectory() as tmp:
        report(build_model(Path(tmp) / "jukebox"), args.requests)


if __name__ == "__main__":
    main()
