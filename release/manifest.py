"""One definition of a model version: the manifest of every file under its S3 prefix.

A version `s3://<bucket>/<prefix>/<version>/` holds a model directory in the OVMS layout and
`release.json`, its manifest: the path, size and sha256 of every other object under the prefix.
KServe's storage initializer downloads the *whole* prefix into `/mnt/models` and OVMS serves the
highest numeric directory there, so every object counts, not only `1/model.onnx`.

Two kinds of files:
- *content*: anything under a numeric directory, `labels.json` and `feature_ranges.json`, what the
  servers load (OVMS the version directory; `jukebox serve` the labels and ranges too). Two
  directories with the same model.onnx must have the same content to share a version.
- *run records*: everything else (`metrics.json`, `MODEL_CARD.md`, `confusion_matrix.png`, ...).
  They describe one training run; a retrain of identical model bytes differs there (timings).

Layout rules (checked on a local directory before publishing and on every manifest read back):
the only numeric directory is `1/`, and it holds only `model.onnx`; no hidden path segment; no `..`,
absolute or backslash paths; names are UTF-8 without control characters (they become S3 keys);
`release.json` is reserved for the manifest.

Format (`release.json`, written once per version, never rewritten):
`{"format_version": 2, "model": "1/model.onnx", "sha256": <model sha256>,
  "files": {<path>: {"sha256": ..., "size": ...}, ...}}`.
Format 1 (written before format_version existed) listed only the content files, as
`{"files": {<path>: <sha256>}}`; it is still read, with unknown sizes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from jukebox.errors import CheckFailed, InputError
from training.model_files import LABELS_FILE
from training.ranges import RANGES_FILE

MANIFEST_FILE = "release.json"
MODEL_FILE = "1/model.onnx"
MODEL_DIR = "1"
SERVED_FILES = (LABELS_FILE, RANGES_FILE)  # top-level files a server reads besides the version directory
FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1


@dataclass(frozen=True)
class FileEntry:
    """One object of a version: its path relative to the version prefix, size and sha256."""

    path: str
    sha256: str
    size: int | None = None  # None only in a legacy (format 1) manifest

    def same_bytes(self, other: FileEntry) -> bool:
        sizes_known = self.size is not None and other.size is not None
        return self.sha256 == other.sha256 and (not sizes_known or self.size == other.size)

    def describe(self) -> str:
        size = "" if self.size is None else f", {self.size} bytes"
        return f"sha256 {self.sha256}{size}"


def is_content(path: str) -> bool:
    """True for the files that define what is served: numeric version directories, labels and ranges."""
    return path.split("/", 1)[0].isdigit() or path in SERVED_FILES


def layout_problem(path: str) -> str | None:
    """Why `path` cannot be part of a model version, or None when it can."""
    parts = path.split("/")
    if not _is_utf8(path):
        return "its name is not valid UTF-8 (S3 keys are UTF-8): rename it"
    if not path or "\\" in path or PurePosixPath(path).is_absolute() or _CONTROL.search(path):
        return "not a plain relative path (no absolute path, backslash or control character)"
    if any(part in {"", ".", ".."} for part in parts):
        return "not a plain relative path ('', '.' and '..' segments are not allowed)"
    if any(part.startswith(".") for part in parts):
        return "hidden files are not published"
    if path == MANIFEST_FILE:
        return f"{MANIFEST_FILE} is reserved for the version's manifest"
    if parts[0].isdigit() and parts[0] != MODEL_DIR:
        return (
            f"a version directory other than {MODEL_DIR}/: OVMS serves the highest numeric directory, "
            f"so a model directory must hold exactly one, {MODEL_DIR}/"
        )
    if parts[0] == MODEL_DIR and path != MODEL_FILE:
        return f"{MODEL_DIR}/ may hold only model.onnx (OVMS loads what is in the version directory)"
    return None


def _is_utf8(path: str) -> bool:
    """False for a name read from the file system with bytes that are not UTF-8 (surrogate-escaped)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_path(path: str) -> str:
    """`path` for a message: as it is, or its bytes' repr when it is not UTF-8 or holds control characters."""
    return path if _is_utf8(path) and not _CONTROL.search(path) else repr(os.fsencode(path))[1:]


@dataclass(frozen=True)
class VersionManifest:
    """Every file of a version. `body` is the exact bytes read from S3 (empty for a new manifest)."""

    files: Mapping[str, FileEntry]
    format_version: int = FORMAT_VERSION
    body: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def of(cls, entries: list[FileEntry]) -> VersionManifest:
        """A new manifest; InputError for a path that breaks the layout rules (nothing is written then)."""
        for entry in entries:
            problem = layout_problem(entry.path)
            if problem:
                raise InputError(f"{shown_path(entry.path)}: {problem}")
        files = {entry.path: entry for entry in sorted(entries, key=lambda e: e.path)}
        if MODEL_FILE not in files:
            raise InputError(f"a model version needs {MODEL_FILE}")
        return cls(files)

    @property
    def model_sha256(self) -> str:
        return self.files[MODEL_FILE].sha256

    @property
    def legacy(self) -> bool:
        return self.format_version == LEGACY_FORMAT_VERSION

    def content(self) -> dict[str, FileEntry]:
        return {path: entry for path, entry in self.files.items() if is_content(path)}

    def records(self) -> dict[str, FileEntry]:
        return {path: entry for path, entry in self.files.items() if not is_content(path)}

    def to_bytes(self) -> bytes:
        """The bytes of `release.json`: as read, or the canonical JSON of a new manifest."""
        if self.body:
            return self.body
        files = {p: {"sha256": e.sha256, "size": e.size} for p, e in self.files.items()}
        document = {"format_version": self.format_version, "model": MODEL_FILE, "sha256": self.model_sha256}
        document["files"] = files
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()

    @property
    def sha256(self) -> str:
        """The digest of `release.json`: what the registry (`manifest_sha256`) and pins record."""
        return hashlib.sha256(self.to_bytes()).hexdigest()


def parse_manifest(body: bytes, source: str) -> VersionManifest:
    """A manifest read back from S3; CheckFailed naming `source` when it is not one."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckFailed(f"{source} is not a release manifest (not JSON: {error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), dict):
        raise CheckFailed(f"{source} is not a release manifest (no 'files' mapping)")
    version = document.get("format_version", LEGACY_FORMAT_VERSION)
    if version not in (LEGACY_FORMAT_VERSION, FORMAT_VERSION):
        raise CheckFailed(f"{source} has format_version {version!r}; this jukebox reads 1 and {FORMAT_VERSION}")
    entries = [_entry(path, value, version, source) for path, value in document["files"].items()]
    files = {entry.path: entry for entry in sorted(entries, key=lambda e: e.path)}
    if MODEL_FILE not in files:
        raise CheckFailed(f"{source} does not list {MODEL_FILE}")
    return VersionManifest(files, version, body)


def _entry(path: Any, value: Any, version: int, source: str) -> FileEntry:
    problem = layout_problem(path) if isinstance(path, str) else "not a string"
    if problem:
        raise CheckFailed(f"{source} lists {path!r}: {problem}")
    if version == LEGACY_FORMAT_VERSION:
        sha, size = value, None
    else:
        sha, size = (value.get("sha256"), value.get("size")) if isinstance(value, dict) else (None, None)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise CheckFailed(f"{source} lists {path!r} without a valid size")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise CheckFailed(f"{source} lists {path!r} without a valid sha256")
    return FileEntry(path, sha, size)


# -- publishing against an existing version ---------------------------------------------------


class VersionTaken(CheckFailed):
    """The version prefix holds another model (or objects that are not a complete release of it)."""


class DirectoryDiffers(InputError):
    """The model directory has the version's model.onnx but other content: it cannot share the version."""


@dataclass(frozen=True)
class Reconciliation:
    """What publishing a local directory into an already published version does."""

    upload: list[str]  # listed in the published manifest, missing in S3, identical locally
    records_not_uploaded: list[str]  # this run's records that differ from (or are absent in) the version


def reconcile(
    local: VersionManifest, published: VersionManifest, present: Mapping[str, int], where: str
) -> Reconciliation:
    """Decide how `local` relates to the `published` version whose prefix holds `present` (path -> size).

    Content must be identical (else DirectoryDiffers, or VersionTaken for another model.onnx); run
    records may differ: the version keeps its own, this run's are not uploaded. Missing listed objects
    are completed only with identical local bytes; unlisted objects under the prefix are refused.
    """
    if local.model_sha256 != published.model_sha256:
        raise VersionTaken(
            f"{where} already holds a different model (model.onnx sha256 {published.model_sha256}, "
            f"this one {local.model_sha256}); published versions are immutable: choose another --version"
        )
    _require_same_content(local, published, where)
    refuse_unlisted(published, present, where)
    upload: list[str] = []
    stuck: list[str] = []
    for path, entry in published.files.items():
        if path in present:
            continue
        mine = local.files.get(path)
        (upload if mine is not None and mine.same_bytes(entry) else stuck).append(path)
    if stuck:
        raise VersionTaken(
            f"{where} is incomplete: {', '.join(stuck)} listed in its {MANIFEST_FILE} "
            "cannot be completed from this model directory (different or missing bytes); "
            "rerun with the model directory of its first publish, or choose another --version"
        )
    differing = sorted(
        path
        for path, entry in local.records().items()
        if path not in published.files or not published.files[path].same_bytes(entry)
    )
    return Reconciliation(upload, differing)


def _require_same_content(local: VersionManifest, published: VersionManifest, where: str) -> None:
    mine, theirs = local.content(), published.content()
    for path in sorted(set(mine) | set(theirs)):
        if path not in theirs:
            raise DirectoryDiffers(
                f"{path}: this model directory has it, the published {where} does not; a version's served "
                "files never change: remove it or release under another --version"
            )
        if path not in mine:
            raise DirectoryDiffers(
                f"{path}: the published {where} has it ({theirs[path].describe()}), this model directory "
                "does not; a version's served files never change: release under another --version"
            )
        if not mine[path].same_bytes(theirs[path]):
            raise DirectoryDiffers(
                f"{path} differs from the published {where} ({mine[path].describe()} here, "
                f"{theirs[path].describe()} there) although model.onnx is the same; a version's served files "
                "never change: release under another --version"
            )


def refuse_unlisted(published: VersionManifest, present: Mapping[str, int], where: str) -> None:
    """Objects under the prefix that the manifest does not list. A legacy manifest listed only content,
    its run records were stored beside it: those are tolerated, content is not."""
    unlisted = [
        path
        for path in sorted(present)
        if path != MANIFEST_FILE and path not in published.files and (is_content(path) or not published.legacy)
    ]
    if unlisted:
        raise VersionTaken(
            f"{where} holds {', '.join(unlisted)}, which its {MANIFEST_FILE} does not list "
            "(added after publishing? KServe downloads it into /mnt/models and OVMS may serve it); "
            "a published version must not change: remove the object(s) or choose another --version"
        )
