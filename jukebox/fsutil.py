"""Atomic file-system writes: readers see the old content or the new one, never half of either."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def user_cache_dir() -> Path:
    """$JUKEBOX_CACHE_DIR, else $XDG_CACHE_HOME/jukebox, else ~/.cache/jukebox (downloads, fetched CRDs)."""
    if os.environ.get("JUKEBOX_CACHE_DIR"):
        return Path(os.environ["JUKEBOX_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jukebox"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` through a temp file in the same directory and an atomic rename.

    The file gets the permissions a plain `open()` would give (0666 minus the umask), not mkstemp's 0600:
    other readers (Argo CD's repo server, CI as another user) must be able to read what we write.
    `durable=False` skips the fsync: still never half-written, but may be lost on power failure (caches).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    """`atomic_write_bytes` of `text` as UTF-8 with LF line ends."""
    atomic_write_bytes(path, text.encode("utf-8"), durable)


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
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp's 0700 would become the tree's mode after the swap
    return staging
