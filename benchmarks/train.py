"""Benchmark `jukebox train` on `sample` data: wall time, peak memory, accuracy vs Bayes-optimal.

    .venv/bin/python benchmarks/train.py [--rows 100000 1100000] [--properties FILE]

Each size runs in a fresh process (`jukebox train` end to end, imports included) so its peak RSS is
its own. Targets (2 cores): 100k rows < 20 s; 1.1M rows < 180 s and < 4 GiB; accuracy / Bayes >= 0.95.
Prints its numbers; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = {100_000: 20.0, 1_100_000: 180.0}
TARGET_GIB = 4.0
TARGET_RATIO = 0.95


def run_one(rows: int, properties: str | None) -> None:
    """Child: `jukebox train --data sample:rows=N --json`, then report own peak RSS on stderr as JSON."""
    from jukebox.cli import main

    data = f"sample:rows={rows}" + (f",properties={properties}" if properties else "")
    with tempfile.TemporaryDirectory() as tmp:
        code = main(["train", "--data", data, "--out", str(Path(tmp) / "model"), "--json", "--quiet"])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"exit_code": code, "peak_rss_gib": usage.ru_maxrss / 2**20, "cpu_s": cpu}), file=sys.stderr)


def measure(rows: int, properties: str | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--one", str(rows)]
    if properties:
        command += ["--properties", properties]
    start = time.perf_counter()
    child = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"benchmark run with {rows} rows failed:\n{child.stderr}")
    metrics = json.loads(child.stdout)
    extra = json.loads(child.stderr.strip().splitlines()[-1])
    scores = metrics["metrics"]
    return {
        "rows": rows,
        "wall_s": wall,
        "fit_s": metrics["timing_seconds"]["fit"],
        "cpu_s": extra["cpu_s"],
        "peak_gib": extra["peak_rss_gib"],
        "accuracy": scores["accuracy"],
        "bayes": scores["bayes_optimal_accuracy"],
        "ratio": scores["accuracy_vs_bayes"],
        "epochs": metrics["fit"]["epochs"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_100_000])
    parser.add_argument("--properties", help="real song properties parquet for the sample generator")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.properties)
        return 0
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (wall times grow with load)")
    header = ("rows", "wall s", "cpu s", "fit s", "peak GiB", "acc", "bayes", "ratio", "epochs")
    print(" ".join(f"{name:>{w}}" for name, w in zip(header, (9, 7, 6, 6, 8, 6, 6, 6, 6), strict=True)), " verdict")
    for rows in args.rows:
        r = measure(rows, args.properties)
        limit = TARGET_SECONDS.get(rows)
        ok = (limit is None or r["wall_s"] < limit) and r["peak_gib"] < TARGET_GIB and r["ratio"] >= TARGET_RATIO
        print(
            f"{rows:>9} {r['wall_s']:>7.1f} {r['cpu_s']:>6.1f} {r['fit_s']:>6.1f} {r['peak_gib']:>8.2f} "
            f"{r['accuracy']:>6.3f} {r['bayes']:>6.3f} {r['ratio']:>6.3f} {r['epochs']:>6}  "
            f"{'ok' if ok else 'MISSES TARGET'}",
            flush=True,
        )
    print("labels are SYNTHETIC (sample data); targets: 100k < 20 s, 1.1M < 180 s and < 4 GiB, ratio >= 0.95")
    return 0


if __name__ == "__main__":
    sys.exit(main())
