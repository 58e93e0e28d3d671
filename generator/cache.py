"""A content-hash cache so unchanged specs are not rendered again from scratch.

Key of a spec = sha256 over the spec file's bytes, its pin files' bytes, its displayed path, and the
digest of the generator's own code and templates (plus library versions). Any change to any of those
gives a new key, so the cache can never serve output that a fresh render would not produce.

The disk state remembers (size, mtime_ns, sha256) of each file as last written or verified, like git's
index, so `render --check` need not re-read files that have not been touched since. The tree index goes
one step further: it records the key of the whole input (code + every spec and pin file) with the files of
the tree it produced; when the key and every file's (size, mtime_ns) are unchanged, the tree is clean
without loading a spec or reading an output file. As in git, a file whose mtime is too close to the moment
it was recorded ("racily clean": an edit within the same timestamp tick would not show) is never trusted
this way: its content is compared instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pydantic
import yaml

import training.params as training_params
from generator.pin_file import pins_dir
from jukebox.errors import InputError
from jukebox.fsutil import atomic_write_text
from jukebox.inputs import MAX_INPUT_BYTES, read_bytes

CACHE_DIR = Path(".jukebox") / "cache" / "render"
# The generator, the module of the spec's `training:` section (its model is part of the spec), and pipelines/
# (the compiled pipeline embeds its components' source; kfp's version is in the digest below).
CODE_ROOTS = (Path(__file__).parent, Path(training_params.__file__), Path(__file__).parent.parent / "pipelines")
CODE_SUFFIXES = {".py", ".j2", ".lua"}  # everything whose bytes reach a rendered file
# How close to the recording time an mtime may be before the file is "racily clean" (not trusted unseen):
# one tick of a fine-grained file system, or two seconds where mtimes are whole seconds (FAT, ext3).
RACY_FINE_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000


def _kfp_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("kfp")
    except metadata.PackageNotFoundError:
        return "no kfp"


@cache
def code_digest() -> str:
    digest = hashlib.sha256()
    for version in (yaml.__version__, jinja2.__version__, pydantic.VERSION, _kfp_version()):
        digest.update(version.encode())
    for root in CODE_ROOTS:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.suffix in CODE_SUFFIXES and path.is_file():
                digest.update(path.as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def spec_key(spec_path: Path, display_path: str) -> str:
    """Hash of everything a spec's output depends on: code, its displayed path, spec and pin file bytes.

    Read like the loader reads them (`jukebox.inputs.read_bytes`, bounded, regular files only): a spec that is
    a device, a FIFO or too large is InputError here, as it is without the cache. A pin file that cannot be read
    so is hashed as unreadable and left to the loader, which refuses it when it is an environment's pin and
    ignores it otherwise, as it does without the cache."""
    digest = hashlib.sha256(code_digest().encode())
    digest.update(display_path.encode())
    digest.update(read_bytes(spec_path, "spec file", MAX_INPUT_BYTES))
    pins = pins_dir(spec_path)
    if pins.is_dir():
        for pin_file in sorted(pins.glob("*.yaml")):
            digest.update(pin_file.name.encode())
            digest.update(_pin_bytes(pin_file))
    return digest.hexdigest()


def _pin_bytes(pin_file: Path) -> bytes:
    try:
        return read_bytes(pin_file, "pin file", MAX_INPUT_BYTES)
    except InputError as error:
        return f"unreadable: {error}".encode()


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tree_key(spec_keys: list[str]) -> str:
    """Key of a whole render: the code and, in order, every spec's key (its bytes, pins and path)."""
    return hashlib.sha256("\n".join([code_digest(), *spec_keys]).encode()).hexdigest()


def racily_clean(mtime_ns: int, recorded_at_ns: int) -> bool:
    window = RACY_COARSE_NS if mtime_ns % 1_000_000_000 == 0 else RACY_FINE_NS
    return mtime_ns >= recorded_at_ns - window


class RenderCache:
    def __init__(self, directory: Path):
        self.directory = directory
        self.disk_state_path = directory / "disk-state.json"
        self.tree_index_path = directory / "tree-index.json"
        self.disk_state_recorded_ns, self.disk_state = self._load_disk_state()
        self.disk_state_dirty = False
        self.used_keys: set[str] = set()
        self._spec_keys: dict[tuple[Path, str], str] = {}

    @classmethod
    def for_repo(cls, root: Path) -> RenderCache:
        return cls(root / CACHE_DIR)

    def _load_disk_state(self) -> tuple[int, dict[str, list[Any]]]:
        """(when it was recorded, {path: [size, mtime_ns, sha256]})."""
        try:
            loaded = json.loads(self.disk_state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return 0, {}
        if not isinstance(loaded, dict) or not isinstance(loaded.get("files"), dict):
            return 0, {}
        return int(loaded.get("recorded_at", 0)), loaded["files"]

    def spec_key(self, spec_path: Path, display_path: str) -> str:
        """`spec_key`, computed once per spec and run."""
        found = self._spec_keys.get((spec_path, display_path))
        if found is None:
            found = self._spec_keys[(spec_path, display_path)] = spec_key(spec_path, display_path)
        return found

    def tree_unchanged(self, key: str, root: str, present: set[str]) -> bool:
        """True when the last recorded tree had input `key`, and its files are exactly `present`, untouched."""
        try:
            index = json.loads(self.tree_index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(index, dict) or index.get("key") != key or not isinstance(index.get("files"), dict):
            return False
        files: dict[str, list[int]] = index["files"]
        if set(files) != present:
            return False
        recorded_at = int(index.get("recorded_at", 0))
        for relative, (size, mtime_ns) in files.items():
            try:
                stat = os.stat(f"{root}/{relative}")
            except OSError:
                return False
            if stat.st_size != size or stat.st_mtime_ns != mtime_ns or racily_clean(mtime_ns, recorded_at):
                return False
        return True

    def record_tree(self, key: str, root: str, paths: list[str]) -> None:
        """Remember that `paths` (relative to `root`) now hold the tree of input `key`."""
        recorded_at = time.time_ns()
        files = {}
        for relative in paths:
            stat = os.stat(f"{root}/{relative}")
            files[relative] = [stat.st_size, stat.st_mtime_ns]
        index = {"key": key, "recorded_at": recorded_at, "files": files}
        atomic_write_text(self.tree_index_path, json.dumps(index, sort_keys=True), durable=False)

    def forget_tree(self) -> None:
        self.tree_index_path.unlink(missing_ok=True)

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
        if racily_clean(mtime_ns, self.disk_state_recorded_ns):
            return False
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
                    and entry.path not in (str(self.disk_state_path), str(self.tree_index_path))
                    and key not in self.used_keys
                ):
                    os.unlink(entry.path)
        if self.disk_state_dirty:
            state = {"recorded_at": time.time_ns(), "files": self.disk_state}
            atomic_write_text(self.disk_state_path, json.dumps(state, sort_keys=True), durable=False)
            self.disk_state_dirty = False
