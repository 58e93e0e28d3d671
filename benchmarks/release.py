"""Benchmark: the full offline release loop on 100k `sample` rows (train -> publish -> register -> pin -> render).

Runs against the embedded local services (SeaweedFS + the local registry) in a temp state dir and a temp
copy of specs/jukebox.yaml, so it touches nothing in the repo. Target: under 30 s on 2 cores.
Prints numbers; it is not a test.

    .venv/bin/python benchmarks/release.py [--rows 100000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 30.0
STAGES = ("train", "admit", "publish", "register", "pin", "render")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="sample rows (default: 100000)")
    parser.add_argument("--keep", action="store_true", help="keep the temp repo and state dir")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jukebox-bench-release-"))
    for name in ("AWS_S3_ENDPOINT", "JUKEBOX_REGISTRY_URL"):
        os.environ.pop(name, None)  # the embedded defaults: same code path, local URLs
    os.environ["JUKEBOX_STATE_DIR"] = str(work / "state")
    try:
        return run(work, args.rows)
    finally:
        from release.local import stop_local_services

        stop_local_services(work / "state")
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, rows: int) -> int:
    from release.flow import ReleaseRequest, release
    from release.local import ensure_local_services

    (work / "repo" / "specs").mkdir(parents=True)
    spec_path = work / "repo" / "specs" / "jukebox.yaml"
    shutil.copy(ROOT / "specs" / "jukebox.yaml", spec_path)
    started = time.perf_counter()
    ensure_local_services(buckets=("models",))
    services_seconds = time.perf_counter() - started
    started = time.perf_counter()
    outcome = release(ReleaseRequest(spec_path, data=f"sample:rows={rows}", progress=False), out=lambda _line: None)
    total = time.perf_counter() - started
    print(f"release loop on {rows} sample rows (SYNTHETIC labels), {os.cpu_count()} CPU(s): version {outcome.version}")
    print(f"  {'local services start':<22}{services_seconds:7.2f} s  (not part of the loop)")
    for stage in STAGES:
        print(f"  {stage:<22}{outcome.timings.get(stage, float('nan')):7.2f} s")
    other = total - sum(outcome.timings.get(stage, 0.0) for stage in STAGES)
    print(f"  {'other (spec, connect)':<22}{other:7.2f} s")
    verdict = "met" if total < TARGET_SECONDS else "MISSED"
    print(f"  {'total':<22}{total:7.2f} s  (target < {TARGET_SECONDS:.0f} s: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
