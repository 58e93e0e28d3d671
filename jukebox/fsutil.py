"""Atomic file-system writes: readers see the old content or the new one, never half of either."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    """Write `text` to `path` through a temp file in the same directory and an atomic rename.

    `durable=False` skips the fsync: still never half-written, but may be lost on power failure (caches).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def swap_directory(new_tree: Path, target: Path) -> None:
    """Replace directory `target` by `new_tree` (same file system); the old tree is removed afterwards.

    Two renames: target -> backup, new_tree -> target. If the second fails, the backup is restored,
    so a failure never leaves `target` missing or half-written.
    """
    target = target.resolve() if target.exists() else target
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(new_tree, target)
        return
    backup = target.with_name(f".{target.name}.old-{os.getpid()}")
    if backup.exists():
        shutil.rmtree(backup)
    os.replace(target, backup)
    try:
        os.replace(new_tree, target)
    except BaseException:
        os.replace(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def staging_directory(target: Path) -> Path:
    """A fresh temp directory beside `target`, on the same file system so it can be renamed over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
