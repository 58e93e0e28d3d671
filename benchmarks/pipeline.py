"""Benchmark: the pipeline run locally (`jukebox pipeline run --local`) next to `jukebox release`, same data.

Both train on the same `sample` rows with specs/jukebox.yaml's training parameters against the embedded local
services in a temp state dir (two temp copies of the spec, so each registers its own model). The difference
is the pipeline's overhead: a subprocess per step, loading the data twice (load-data, then train), admitting
twice (evaluate, then publish). Prints numbers; it is not a test.

    .venv/bin/python benchmarks/pipeline.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="sample rows (default: 100000)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jukebox-bench-pipeline-"))
    for name in ("AWS_S3_ENDPOINT", "JUKEBOX_REGISTRY_URL"):
        os.environ.pop(name, None)
    os.environ["JUKEBOX_STATE_DIR"] = str(work / "state")
    try:
        return run(work, args.rows)
    finally:
        from release.local import stop_local_services

        stop_local_services(work / "state")
        shutil.rmtree(work, ignore_errors=True)


def spec_copy(work: Path, name: str) -> Path:
    specs = work / name / "specs"
    specs.mkdir(parents=True)
    text = (ROOT / "specs" / "jukebox.yaml").read_text().replace("name: jukebox\n", f"name: {name}\n", 1)
    (specs / f"{name}.yaml").write_text(text.replace("prefix: jukebox ", f"prefix: {name} "))
    return specs / f"{name}.yaml"


def run(work: Path, rows: int) -> int:
    from pipelines.local import run_local
    from release.flow import ReleaseRequest, release
    from release.local import ensure_local_services

    ensure_local_services(buckets=("models",))
    data = f"sample:rows={rows}"
    started = time.perf_counter()
    outcome = release(ReleaseRequest(spec_copy(work, "bench-release"), data=data, progress=False), out=lambda _: None)
    release_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # kfp's local runner streams every step's log
        pipeline = run_local(spec_copy(work, "bench-pipeline"), "dev", data=data, out=lambda _: None)
    pipeline_seconds = time.perf_counter() - started
    same = "same" if pipeline.sha256 == outcome.sha256 else "DIFFERENT"
    print(f"{rows} sample rows (SYNTHETIC labels), {os.cpu_count()} CPU(s); model sha256: {same}")
    print(f"  jukebox release                {release_seconds:6.1f} s")
    print(f"  jukebox pipeline run --local   {pipeline_seconds:6.1f} s  ({pipeline_seconds / release_seconds:.2f}x)")
    return 0 if same == "same" else 1


if __name__ == "__main__":
    sys.exit(main())
