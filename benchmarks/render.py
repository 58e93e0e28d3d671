"""Render benchmark: 1, 100 and 1000 generated specs.

Prints, per size: full render time and specs/s, peak memory (RSS of a fresh process), the floor (PyYAML's
C dumper alone serialising the same documents), the ratio to that floor, and the time of a no-change
`render` and `render --check` with a warm cache. Targets on 2 cores: full render of 1000 specs within
2x the floor, time growing linearly; no-change render/check of 1000 specs under 1 s.

    .venv/bin/python benchmarks/render.py [--sizes 1 100 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def generated_spec(index: int, pipelines: bool = False) -> dict:
    spec = yaml.safe_load((REPO_ROOT / "specs" / "jukebox.yaml").read_text())
    if not pipelines:
        # The floor is YAML serialisation: a spec's KFP compile (~0.5 s, kfp's own inspect calls) is
        # measured apart, with --pipelines.
        spec.pop("pipelines", None)
    name = f"model{index:04d}"
    spec["model"]["name"] = name
    spec["gitops"]["project"] = name
    spec["minio"]["namespace"] = f"{name}-minio"
    for env_name, env in spec["environments"].items():
        env["namespace"] = f"{name}-{env_name}"
    return spec


def make_specs(root: Path, count: int, pipelines: bool = False) -> None:
    specs = root / "specs"
    specs.mkdir(parents=True)
    for index in range(count):
        spec = generated_spec(index, pipelines)
        (specs / f"model{index:04d}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def measure_in_process(root: Path) -> dict[str, float]:
    """Runs in a fresh interpreter so its peak RSS is this size's own."""
    import generator.repo as repo
    from generator.layout import spec_layout
    from generator.parallel import worker_count
    from generator.render import render_document
    from generator.repo import check_repo, discover_specs, load_sourced, render_repo

    writing = 0.0
    write_tree = repo.write_tree

    def timed_write_tree(*args: object, **kwargs: object) -> None:
        nonlocal writing
        started = time.perf_counter()
        write_tree(*args, **kwargs)  # type: ignore[arg-type]
        writing = time.perf_counter() - started

    repo.write_tree = timed_write_tree  # type: ignore[assignment]
    started = time.perf_counter()
    render_repo(root, use_cache=True)
    full = time.perf_counter() - started

    specs = load_sourced(discover_specs(root / "specs"), root)
    documents = [render_document(m) for s in specs for m in spec_layout(s.spec, s.pins).manifests]
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    started = time.perf_counter()
    for document in documents:
        yaml.dump(document, Dumper=dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=4096)
    floor = time.perf_counter() - started

    started = time.perf_counter()
    changed = render_repo(root, use_cache=True)
    no_change = time.perf_counter() - started
    assert changed == [], changed
    started = time.perf_counter()
    assert check_repo(root, use_cache=True).clean
    check = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest render worker
    return {
        "full": full,
        "write": writing,
        "floor": floor,
        "documents": len(documents),
        "no_change": no_change,
        "check": check,
        "peak_mib": peak_mib,
        "worker_mib": worker_mib,
        "workers": worker_count(len(specs)),
    }


def run_size(count: int, pipelines: bool = False) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_specs(root, count, pipelines)
        output = subprocess.run(
            [sys.executable, __file__, "--measure", str(root)], capture_output=True, text=True, check=True
        ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--pipelines", action="store_true", help="keep the specs' pipelines section (KFP compile)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_in_process(args.measure)))
        return
    print(
        f"{'specs':>6} {'docs':>6} {'full s':>7} {'specs/s':>8} {'write s':>8} {'cpu s':>7} {'floor s':>8} "
        f"{'cpu/floor':>9} {'full/floor':>10} {'no-change s':>12} {'check s':>8} {'peak MiB':>9} {'workers':>7} "
        f"{'worker MiB':>10}"
    )
    for count in args.sizes:
        r = run_size(count, args.pipelines)
        cpu = r["full"] - r["write"]
        print(
            f"{count:>6} {r['documents']:>6} {r['full']:>7.2f} {count / r['full']:>8.1f} {r['write']:>8.2f} "
            f"{cpu:>7.2f} {r['floor']:>8.2f} {cpu / r['floor']:>9.2f} {r['full'] / r['floor']:>10.2f} "
            f"{r['no_change']:>12.3f} {r['check']:>8.3f} {r['peak_mib']:>9.0f} {r['workers']:>7} "
            f"{r['worker_mib']:>10.0f}"
        )
    print(
        "write s = creating the files of manifests/ (disk-bound); cpu s = load, render, parse back, check, "
        "serialise, cache (on `workers` processes: peak MiB is the main one, worker MiB the largest other)."
        "\ntargets (2 cores): full render of 1000 specs <= 2x floor, linear; "
        "no-change render/check of 1000 specs < 1 s"
    )


if __name__ == "__main__":
    main()
