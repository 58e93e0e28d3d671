"""Build throw-away repos (specs/ + pins) for generator tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
JUKEBOX_SPEC = REPO_ROOT / "specs" / "jukebox.yaml"
FIXTURE_PINS = Path(__file__).parent / "fixtures" / "pins"


def base_spec() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(JUKEBOX_SPEC.read_text()))


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` merged in, mapping by mapping (a copy; neither input is modified)."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def make_repo(root: Path, specs: dict[str, dict[str, Any] | str], pins: dict[str, list[str]] | None = None) -> Path:
    """A repo at `root` with specs/<name>.yaml for each spec; `pins` copies fixture pins per spec."""
    specs_dir = root / "specs"
    specs_dir.mkdir(parents=True, exist_ok=True)
    for name, spec in specs.items():
        text = spec if isinstance(spec, str) else yaml.safe_dump(spec, sort_keys=False)
        (specs_dir / f"{name}.yaml").write_text(text)
    for name, envs in (pins or {}).items():
        pins_dir = specs_dir / f"{name}.pins"
        pins_dir.mkdir(exist_ok=True)
        for env in envs:
            (pins_dir / f"{env}.yaml").write_text((FIXTURE_PINS / f"{env}.yaml").read_text())
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "manifests").rglob("*") if p.is_file()}
    files["kustomization.yaml"] = (root / "kustomization.yaml").read_bytes()
    return files


def load_rendered(root: Path, relative: str) -> dict[str, Any]:
    return yaml.safe_load((root / "manifests" / relative).read_text())
