"""The golden tree: specs/jukebox.yaml with fixture pins for dev and prod (test stays unpinned).

Refresh only through `scripts/refresh-golden`, then review the diff like any other change.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from generator.repo import render_repo
from tests.generator.helpers import base_spec, make_repo, tree_bytes

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden" / "jukebox"


def render_golden_input(root: Path) -> dict[str, bytes]:
    make_repo(root, {"jukebox": base_spec()}, pins={"jukebox": ["dev", "prod"]})
    render_repo(root, use_cache=False)
    return tree_bytes(root)


def refresh() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = render_golden_input(Path(tmp))
    shutil.rmtree(GOLDEN_DIR, ignore_errors=True)
    for relative, content in files.items():
        target = GOLDEN_DIR / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    print(f"refreshed {GOLDEN_DIR} ({len(files)} files): review with `git diff -- tests/golden`")


if __name__ == "__main__":
    refresh()
    sys.exit(0)
