"""Hostile-input benchmark: how fast and how small the refusal of a YAML alias bomb is, and how fast a
1 MiB JSON file built to make a nesting scan quadratic is read (an unclosed string of escaped quotes).

Prints the wall time and the peak memory (RSS) of `jukebox render` on a repo whose spec is a "billion
laughs" (nine levels of nine aliases: 9**9 leaves once anything walks it). Target: under a second, bounded
memory (the same as rendering a normal spec), exit 2.

    .venv/bin/python benchmarks/hostile.py
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.generator.test_hostile_input import ALIAS_BOMB  # noqa: E402  (the same bomb the test refuses)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        specs = Path(tmp) / "specs"
        specs.mkdir()
        (specs / "bomb.yaml").write_text(ALIAS_BOMB)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "jukebox", "render", "--root", tmp], capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"alias bomb ({len(ALIAS_BOMB)} bytes): exit {result.returncode} in {elapsed:.2f} s, peak {peak_mib:.0f} MiB")
    print(f"  {result.stderr.strip().splitlines()[-1]}")
    json_scan()


def json_scan() -> None:
    from jukebox.errors import InputError
    from training.model_files import parse_labels

    text = "[" * 65 + '"' + '\\"' * (512 * 1024 - 40)
    started = time.perf_counter()
    try:
        parse_labels(text, "labels.json")
        outcome = "read"
    except InputError as error:
        outcome = str(error).splitlines()[0][:100]
    elapsed = time.perf_counter() - started
    print(f"escaped-quote JSON ({len(text) / 2**20:.1f} MiB): {elapsed:.2f} s (target: linear, < 1 s): {outcome}")


if __name__ == "__main__":
    main()
