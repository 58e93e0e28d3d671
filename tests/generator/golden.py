"""The golden trees: specs/jukebox.yaml rendered for each platform profile, with fixture pins for dev and
prod (test stays unpinned). One reviewed tree per profile under tests/golden/<profile>/.

Refresh only through `scripts/refresh-golden`, then review the diff like any other change.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from generator.repo import render_repo
from tests.generator.helpers import base_spec, deep_merge, make_repo, tree_bytes

GOLDEN_ROOT = Path(__file__).resolve().parents[1] / "golden"

# What each profile's spec changes in specs/jukebox.yaml (rhoai-3.3 is its default).
PROFILE_SPECS: dict[str, dict[str, Any]] = {
    "rhoai-3.3": {},
    "rhoai-2.22": {"platform": {"profile": "rhoai-2.22"}},
    "rhoai-3.5": {"platform": {"profile": "rhoai-3.5"}},
    # kind: upstream Argo CD's namespace, and no token auth (no OpenShift AI to check tokens).
    "upstream": {
        "platform": {"profile": "upstream"},
        "gitops": {"argocdNamespace": "argocd"},
        "environments": {"prod": {"serving": {"tokenAuth": False}}},
    },
}


def golden_dir(profile: str) -> Path:
    return GOLDEN_ROOT / profile


# kind has no Data Science Pipelines operator: the upstream tree has no pipelines section (docs/pipelines.md).
WITHOUT_PIPELINES = ("upstream",)


def profile_spec(profile: str) -> dict[str, Any]:
    spec = deep_merge(base_spec(), PROFILE_SPECS[profile])
    if profile in WITHOUT_PIPELINES:
        spec.pop("pipelines", None)
    return spec


def render_golden_input(root: Path, profile: str) -> dict[str, bytes]:
    make_repo(root, {"jukebox": profile_spec(profile)}, pins={"jukebox": ["dev", "prod"]})
    render_repo(root, use_cache=False)
    return tree_bytes(root)


def refresh() -> None:
    for profile in PROFILE_SPECS:
        with tempfile.TemporaryDirectory() as tmp:
            files = render_golden_input(Path(tmp), profile)
        target = golden_dir(profile)
        shutil.rmtree(target, ignore_errors=True)
        for relative, content in files.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        print(f"refreshed {target} ({len(files)} files)")
    print("review with `git diff -- tests/golden`")


if __name__ == "__main__":
    refresh()
    sys.exit(0)
