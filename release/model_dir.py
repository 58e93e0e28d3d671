"""A local model directory, read as the version it would publish (see `release.manifest`).

Refused with InputError (exit 2), naming the path: symlinks (their bytes would come from outside the
directory), anything that is not a regular file or directory, empty files (KServe's storage initializer
skips zero-byte objects, so the pod would miss them: `_download_s3` in kserve-storage 0.21.0), and every
path that breaks the layout rules (`layout_problem`: another numeric directory than `1/`, another file
in `1/`, `release.json`, a name that is not UTF-8 or holds a control character: the S3 key could not be
written). Hidden entries (`.ipynb_checkpoints`, `.DS_Store`, ...) are skipped, never published, and reported.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from jukebox.errors import InputError
from release.manifest import MODEL_FILE, FileEntry, VersionManifest, layout_problem, shown_path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelFiles:
    """A model directory: its manifest (every file to publish) and the hidden entries left out."""

    root: Path
    manifest: VersionManifest
    skipped: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        """sha256 of `1/model.onnx`: the identity of the model (what a pin records)."""
        return self.manifest.model_sha256

    @property
    def files(self) -> dict[str, str]:
        return {path: entry.sha256 for path, entry in self.manifest.files.items()}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scan_model_dir(model_dir: Path) -> ModelFiles:
    """Hash every file of `model_dir`, refusing what cannot be published (see the module docstring)."""
    if not model_dir.is_dir():
        raise InputError(f"--model {model_dir}: not a directory (expected {model_dir}/{MODEL_FILE})")
    if not (model_dir / MODEL_FILE).is_file():
        raise InputError(f"--model {model_dir}: not a model directory (expected {MODEL_FILE} inside)")
    entries: list[FileEntry] = []
    skipped: list[str] = []
    for directory, dirnames, filenames in os.walk(model_dir, followlinks=False):
        base = Path(directory)
        for name in sorted(dirnames + filenames):
            path = base / name
            rel = path.relative_to(model_dir).as_posix()
            if name.startswith("."):
                skipped.append(rel)
                continue
            entry = _entry(model_dir, path, rel)
            if entry is not None:
                entries.append(entry)
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
    return ModelFiles(model_dir, VersionManifest.of(entries), tuple(sorted(skipped)))


def _entry(model_dir: Path, path: Path, rel: str) -> FileEntry | None:
    """The FileEntry of a regular file, None for a directory; InputError for anything else."""
    where = f"--model {model_dir}: {shown_path(rel)}"
    try:
        info = path.lstat()
    except OSError as error:
        raise InputError(f"{where}: cannot read it ({error.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise InputError(
            f"{where} is a symlink (to {os.readlink(path)}); a model directory must hold regular files only"
        )
    if stat.S_ISDIR(info.st_mode):
        problem = layout_problem(rel + "/x") if rel.split("/", 1)[0].isdigit() and rel != "1" else None
        if problem:
            raise InputError(f"{where}/: {problem}")
        return None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{where} is not a regular file")
    problem = layout_problem(rel)
    if problem:
        raise InputError(f"{where}: {problem}")
    if info.st_size == 0:
        raise InputError(
            f"{where} is empty; KServe's storage initializer skips empty objects, so a predictor would not get it"
        )
    try:
        return FileEntry(rel, file_sha256(path), info.st_size)
    except OSError as error:
        raise InputError(f"{where}: cannot read it ({error.strerror})") from None
