"""The rendered tree of specs/jukebox.yaml equals the reviewed golden tree, byte for byte."""

from __future__ import annotations

from pathlib import Path

from tests.generator.golden import GOLDEN_DIR, render_golden_input


def test_render_matches_golden_tree(tmp_path: Path) -> None:
    rendered = render_golden_input(tmp_path)
    golden = {p.relative_to(GOLDEN_DIR).as_posix(): p.read_bytes() for p in GOLDEN_DIR.rglob("*") if p.is_file()}
    assert sorted(rendered) == sorted(golden), "file set differs: run scripts/refresh-golden and review"
    changed = [path for path in rendered if rendered[path] != golden[path]]
    assert not changed, f"stale golden files {changed}: run scripts/refresh-golden and review the diff"
