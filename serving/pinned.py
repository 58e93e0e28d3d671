"""What an environment pins, fetched from S3 and verified: `jukebox serve --spec FILE --env E`.

1. The pin `specs/<stem>.pins/<env>.yaml` names the version: `artifact.storagePath`, `artifact.uri`
   (its bucket) and `artifact.sha256` (of `1/model.onnx`).
2. S3 is resolved as `jukebox release` resolves it (`--s3-*` options, then `AWS_*`, else the embedded
   local services), with the bucket of the pin's URI, as `jukebox pin` checks it.
3. The version's files (every file its `release.json` manifest lists, `release.manifest`: what KServe's
   storage initializer puts into /mnt/models) are downloaded into `<repo>/.jukebox/cache/models/<sha256>/`.
   The manifest must hash to the pin's `artifact.manifestSha256` (pins written before it existed have
   none) and name the pinned `1/model.onnx` sha256; the prefix must hold no object the manifest does not
   list (OVMS could serve it). Each file must hash to its listed sha256, have its listed size, and carry
   the same `sha256` S3 metadata. Any mismatch raises `CheckFailed` naming the hashes; the download is
   discarded and nothing is served.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from generator.pin_file import Pin, pin_path, read_pin
from generator.repo import repo_of_spec
from generator.spec import Spec
from jukebox.errors import CheckFailed, InputError
from jukebox.output import Out
from release.connections import Connection, s3_settings_or_local
from release.environments import load_for_env
from release.manifest import MODEL_FILE
from release.model_dir import file_sha256
from release.s3 import S3Store, bucket_of_uri

PINNED_MODEL_CACHE_DIR = Path(".jukebox") / "cache" / "models"  # verified downloads of pinned versions, in the repo
VERIFIED_FILE = ".verified.json"
# The record's format. A cache entry recorded in another format (a newer jukebox) is not trusted: the version is
# downloaded and verified again, and replaces it. A record without the field is format 1.
VERIFIED_FORMAT_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PinnedModel:
    """A pinned version, verified, in a local model directory (OVMS layout) ready for `Engine.from_dir`."""

    name: str  # the spec's model.name: the InferenceService name, hence the name in the v2 URLs
    environment: str
    pin: Pin
    pin_file: Path
    model_dir: Path
    source: str  # s3://<bucket>/<storagePath>/
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256, as verified
    downloaded: bool = True  # False: reused from the cache


def read_environment_pin(spec_path: Path, environment: str) -> tuple[Spec, Pin]:
    """The spec and the environment's pin; InputError when the env is unknown or unpinned."""
    spec = load_for_env(spec_path, environment)
    pin = read_pin(spec_path, environment)
    if pin is None:
        raise InputError(
            f"nothing pinned for env {environment} ({pin_path(spec_path, environment)} does not exist): "
            f"run jukebox release --spec {spec_path} --env {environment} ..., "
            f"or jukebox pin --spec {spec_path} --env {environment} --version V"
        )
    if pin.model != spec.model.name or pin.environment != environment:
        raise InputError(
            f"{pin_path(spec_path, environment)} pins model {pin.model!r} for env {pin.environment!r}, "
            f"but {spec_path} is model {spec.model.name!r} and the env asked for is {environment!r}"
        )
    return spec, pin


def fetch_pinned(
    spec_path: Path,
    environment: str,
    connection: Connection | None = None,
    *,
    cache_root: Path | None = None,
    env: Mapping[str, str] | None = None,
    out: Out = print,
) -> PinnedModel:
    """The environment's pinned version in the local cache, downloaded and verified if needed."""
    spec, pin = read_environment_pin(spec_path, environment)
    name = spec.model.name
    pin_file = pin_path(spec_path, environment)
    cache_root = cache_root if cache_root is not None else repo_of_spec(spec_path) / PINNED_MODEL_CACHE_DIR
    target = cache_root / pin.artifact.sha256
    bucket = bucket_of_uri(pin.artifact.uri)
    storage_path = pin.artifact.storage_path.strip("/")
    cached = _verified_cache(target, pin, bucket)
    if cached is not None:
        source = f"s3://{cached['bucket']}/{storage_path}/"
        out(f"cached: {target} (verified: 1/model.onnx sha256 {pin.artifact.sha256}, as pinned)")
        return PinnedModel(name, environment, pin, pin_file, target, source, cached["files"], downloaded=False)
    settings, notes = s3_settings_or_local(spec, connection, env)
    for note in notes:
        out(note)
    store = S3Store(settings).for_uri(pin.artifact.uri)  # where the pin's bytes are, as `jukebox pin` reads
    out(f"fetching {pin.model} {pin.version} ({environment}) from {store.version_url(storage_path)} ...")
    files = _download_into(store, pin, pin_file, storage_path, target)
    out(f"verified: {store.url(storage_path)}/1/model.onnx has the pinned sha256 {pin.artifact.sha256}")
    return PinnedModel(name, environment, pin, pin_file, target, store.version_url(storage_path), files)


# -- S3 -> cache ------------------------------------------------------------------------------


def _download_into(store: S3Store, pin: Pin, pin_file: Path, storage_path: str, target: Path) -> dict[str, str]:
    """Download and verify every file of the version into a temp dir, then rename it to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name[:16]}-", dir=target.parent))
    try:
        try:
            manifest = store.download_version(
                storage_path, pin.artifact.sha256, pin.artifact.manifest_sha256, f"the pin {pin_file}", into=work
            )
        except CheckFailed as failed:
            raise CheckFailed(f"{failed}{_endpoint_hint(pin, store.settings.endpoint)}; refusing to serve it") from None
        files = {rel: entry.sha256 for rel, entry in manifest.files.items()}
        record = {"formatVersion": VERIFIED_FORMAT_VERSION, "sha256": pin.artifact.sha256, "bucket": store.bucket}
        record |= {"files": files}
        record |= {"storagePath": storage_path, "endpoint": store.settings.endpoint}
        record |= {"manifestSha256": manifest.sha256}
        (work / VERIFIED_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
        _move_into_place(work, target, lambda: _verified_cache(target, pin, store.bucket) is not None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return files


def _move_into_place(work: Path, target: Path, target_is_valid: Callable[[], bool]) -> None:
    """Rename the verified `work` dir to `target`, replacing an invalid leftover; a concurrent fetch of
    the same sha256 that got there first wins (its content was verified the same way)."""
    from jukebox.fsutil import swap_directory

    try:
        os.replace(work, target)
        return
    except OSError:
        if not target.is_dir():
            raise
    if target_is_valid():
        return
    swap_directory(work, target)


# -- cache ------------------------------------------------------------------------------------


def _read_record(directory: Path) -> dict[str, Any]:
    try:
        record = json.loads((directory / VERIFIED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _tree_matches(directory: Path, files: Any) -> bool:
    """Exactly `files` (relative path -> sha256) are in `directory` (besides the record) and hash so."""
    if not isinstance(files, dict) or not files:
        return False
    present = {
        path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file() or path.is_symlink()
    } - {VERIFIED_FILE}
    if present != set(files):
        return False
    for rel, sha in files.items():
        path = directory / rel
        if path.is_symlink() or file_sha256(path) != sha:
            return False
    return True


def _verified_cache(target: Path, pin: Pin, bucket: str) -> dict[str, Any] | None:
    """The record of a complete cache entry for this pin whose files still hash as recorded, else None."""
    if not (target / VERIFIED_FILE).is_file():
        return None
    record = _read_record(target)
    if record.get("formatVersion", 1) != VERIFIED_FORMAT_VERSION:
        return None
    files = record.get("files")
    same_source = record.get("storagePath") == pin.artifact.storage_path.strip("/") and (
        not bucket or record.get("bucket") == bucket
    )
    if record.get("sha256") != pin.artifact.sha256 or not same_source or not isinstance(files, dict):
        return None
    if pin.artifact.manifest_sha256 and record.get("manifestSha256") != pin.artifact.manifest_sha256:
        return None
    if files.get(MODEL_FILE) != pin.artifact.sha256 or not _tree_matches(target, files):
        return None
    return record


# -- helpers ----------------------------------------------------------------------------------


def _endpoint_hint(pin: Pin, endpoint: str) -> str:
    published = parse_qs(urlsplit(pin.artifact.uri).query).get("endpoint", [""])[0].rstrip("/")
    if published and published != endpoint.rstrip("/"):
        return (
            f" (reading {endpoint}; the pin's URI names {published}: "
            "set AWS_S3_ENDPOINT / --s3-endpoint and the AWS_* credentials to read from there)"
        )
    return ""
