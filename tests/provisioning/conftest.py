"""A rendered repository whose spec targets kind (`platform.profile: upstream`), for the kind plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.repo import render_repo
from tests.generator.golden import profile_spec
from tests.generator.helpers import make_repo


@pytest.fixture(scope="session")
def kind_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """specs/jukebox.yaml of a repo rendered for the upstream profile (what a kind user commits)."""
    root = tmp_path_factory.mktemp("kind-repo")
    make_repo(root, {"jukebox": profile_spec("upstream")})
    render_repo(root, use_cache=False)
    return root / "specs" / "jukebox.yaml"
