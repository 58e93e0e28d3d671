"""A content-hash cache so unchanged specs are not rendered again from scratch.

Key of a spec = sha256 over the spec file's bytes, its pin files' bytes, its displayed path, and the
digest of the generator's own code and templates (plus library versions). Any change to any of those
gives a new key, so the cache can never serve output that a fresh render would not produce.

The disk state remembers (size, mtime_ns, sha256) of each file as last written or verified, like git's
index, so `render --check` need not re-read files that have not been touched since.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pydantic
import yaml

from jukebox.fsutil import atomic_write_text

CACHE_DIR = Path(".jukebox") / "cache" / "render"
CODE_ROOTS = (Path(__file__).parent, Path(__file__).parent.parent / "training" / "params.py")


@cache
def code_digest() -> str:
    digest = hashlib.sha256()
    for version in (yaml.__version__, jinja2.__version__, pydantic.VERSION):
        digest.update(version.encode())
    for root in CODE_ROOTS:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.suffix in {".py", ".j2"} and path.is_file():
                digest.update(path.as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def spec_key(spec_path: Path, display_path: str) -> str:
    """Hash of everything a spec's output depends on: code, its displayed path, spec and pin file bytes."""
    digest = hashlib.sha256(code_digest().encode())
    digest.update(display_path.encode())
    digest.update(spec_path.read_bytes())
    pins_dir = spec_path.with_name(f"{spec_path.stem}.pins")
    if pins_dir.is_dir():
        for pin_file in sorted(pins_dir.glob("*.yaml")):
            digest.update(pin_file.name.encode())
            digest.update(pin_file.read_bytes())
    return digest.hexdigest()


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RenderCache:
    def __init__(self, directory: Path):
        self.directory = directory
        self.disk_state_path = directory / "disk-state.json"
        self.disk_state: dict[str, list[Any]] = self._load_disk_state()
        self.disk_state_dirty = False
        self.used_keys: set[str] = set()

    @classmethod
    def for_repo(cls, root: Path) -> RenderCache:
        return cls(root / CACHE_DIR)

    def _load_disk_state(self) -> dict[str, list[Any]]:
        try:
            loaded = json.loads(self.disk_state_path.read_text(encoding="utf-8"))
            return loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            return {}

    def lookup(self, key: str) -> dict[str, Any] | None:
        """The cached entry: the parsed spec and pins, and the rendered files (None on a miss)."""
        self.used_keys.add(key)
        try:
            entry = json.loads((self.directory / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and {"spec", "pins", "files", "argocd"} <= set(entry) else None

    def store(self, key: str, entry: dict[str, Any]) -> None:
        self.used_keys.add(key)
        atomic_write_text(self.directory / f"{key}.json", json.dumps(entry, sort_keys=True), durable=False)

    def unchanged_on_disk(self, path: str, expected: str) -> bool:
        """True when `path` still is the file we last wrote or verified, with exactly `expected` in it."""
        entry = self.disk_state.get(path)
        if entry is None:
            return False
        try:
            stat = os.stat(path)
        except OSError:
            return False
        size, mtime_ns, sha = entry
        return bool(stat.st_size == size and stat.st_mtime_ns == mtime_ns and sha == _text_sha(expected))

    def remember(self, path: str, verified_text: str) -> None:
        stat = os.stat(path)
        self.disk_state[path] = [stat.st_size, stat.st_mtime_ns, _text_sha(verified_text)]
        self.disk_state_dirty = True

    def save(self, prune: bool = True) -> None:
        """Persist the disk state; with `prune`, drop the entries of specs and pins that no longer exist."""
        if prune and self.directory.is_dir():
            for entry in os.scandir(self.directory):
                key = entry.name.removesuffix(".json")
                if (
                    entry.name.endswith(".json")
                    and entry.path != str(self.disk_state_path)
                    and key not in self.used_keys
                ):
                    os.unlink(entry.path)
        if self.disk_state_dirty:
            atomic_write_text(self.disk_state_path, json.dumps(self.disk_state, sort_keys=True), durable=False)
            self.disk_state_dirty = False
