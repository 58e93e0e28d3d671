"""Each profile's rendered tree equals its reviewed golden tree, and validates against that profile's CRDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import crds
from generator.validate import validate_tree
from tests.generator.golden import PROFILE_SPECS, golden_dir, render_golden_input


@pytest.mark.parametrize("profile", sorted(PROFILE_SPECS))
def test_render_matches_golden_tree(tmp_path: Path, profile: str) -> None:
    rendered = render_golden_input(tmp_path, profile)
    golden = golden_dir(profile)
    expected = {p.relative_to(golden).as_posix(): p.read_bytes() for p in golden.rglob("*") if p.is_file()}
    assert sorted(rendered) == sorted(expected), "file set differs: run scripts/refresh-golden and review"
    changed = [path for path in rendered if rendered[path] != expected[path]]
    assert not changed, f"stale golden files {changed}: run scripts/refresh-golden and review the diff"


@pytest.mark.parametrize("profile", sorted(PROFILE_SPECS))
def test_golden_tree_validates_against_its_profiles_crds(profile: str) -> None:
    if crds.locate(profile).directory is None:
        pytest.skip(f"no CRDs of {profile} here: ../shared is absent and `jukebox crds fetch` was not run")
    report = validate_tree(golden_dir(profile) / "manifests", profile)
    assert report.ok, report.summary()
    assert not any(note.startswith("note: not schema-checked") for note in report.notes), report.notes
