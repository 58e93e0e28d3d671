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

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from generator.pin_file import Pin, pin_path, read_pin
from generator.repo import repo_of_spec
from generator.spec import Spec
from jukebox.errors import CheckFailed, InputError, ServiceError
from release.connections import Connection, s3_settings_or_local
from release.flow import load_for_env
from release.manifest import MANIFEST_FILE, MODEL_FILE, FileEntry, refuse_unlisted
from release.model_dir import file_sha256
from release.s3 import SHA_KEY, S3Store, make_client, object_key

CACHE_DIR = Path(".jukebox") / "cache" / "models"
VERIFIED_FILE = ".verified.json"
_CHUNK = 1 << 20
Out = Callable[[str], None]


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
    cache_root = cache_root if cache_root is not None else repo_of_spec(spec_path) / CACHE_DIR
    target = cache_root / pin.artifact.sha256
    bucket = _uri_bucket(pin.artifact.uri)
    storage_path = pin.artifact.storage_path.strip("/")
    cached = _verified_cache(target, pin, bucket)
    if cached is not None:
        source = f"s3://{cached['bucket']}/{storage_path}/"
        out(f"cached: {target} (verified: 1/model.onnx sha256 {pin.artifact.sha256}, as pinned)")
        return PinnedModel(name, environment, pin, pin_file, target, source, cached["files"], downloaded=False)
    settings, notes = s3_settings_or_local(spec, connection, env)
    for note in notes:
        out(note)
    if bucket and bucket != settings.bucket:
        settings = dataclasses.replace(settings, bucket=bucket)  # where the pin's bytes are, as `jukebox pin` reads
    client = make_client(settings)
    fetcher = _Fetcher(S3Store(settings, client), client, pin, pin_file)
    out(f"fetching {pin.model} {pin.version} ({environment}) from {fetcher.store.url(storage_path)}/ ...")
    files = fetcher.download_into(target)
    out(f"verified: {fetcher.store.url(storage_path)}/1/model.onnx has the pinned sha256 {pin.artifact.sha256}")
    return PinnedModel(name, environment, pin, pin_file, target, fetcher.store.url(storage_path) + "/", files)


# -- S3 -> cache ------------------------------------------------------------------------------


class _Fetcher:
    def __init__(self, store: S3Store, client: Any, pin: Pin, pin_file: Path):
        self.store = store
        self.client = client
        self.pin = pin
        self.pin_file = pin_file
        self.storage_path = pin.artifact.storage_path.strip("/")
        self.manifest_sha256 = ""

    def download_into(self, target: Path) -> dict[str, str]:
        """Download and verify every file of the version into a temp dir, then rename it to `target`."""
        entries = self._version_files()
        manifest_url = self._url(MANIFEST_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name[:16]}-", dir=target.parent))
        try:
            for rel, entry in entries.items():
                expected_by = f"the pin {self.pin_file}" if rel == MODEL_FILE else f"the manifest {manifest_url}"
                self._download(entry, work / rel, expected_by)
            files = {rel: entry.sha256 for rel, entry in entries.items()}
            record = {"sha256": self.pin.artifact.sha256, "bucket": self.store.bucket, "files": files}
            record |= {"storagePath": self.storage_path, "endpoint": self.store.settings.endpoint}
            record |= {"manifestSha256": self.manifest_sha256}
            (work / VERIFIED_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
            _move_into_place(work, target, lambda: _verified_cache(target, self.pin, self.store.bucket) is not None)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return files

    def _url(self, rel: str = "") -> str:
        return self.store.url(object_key(self.storage_path, rel))

    def _version_files(self) -> dict[str, FileEntry]:
        """Every file of the version, from its manifest, checked against the pin and the prefix's listing."""
        manifest = self.store.read_manifest(self.storage_path)
        if manifest is None:
            raise CheckFailed(
                f"{self._url(MANIFEST_FILE)} does not exist: nothing is published where the pin "
                f"{self.pin_file} points" + _endpoint_hint(self.pin, self.store.settings.endpoint)
            )
        pinned = self.pin.artifact.manifest_sha256
        if pinned and manifest.sha256 != pinned:
            raise CheckFailed(
                f"sha256 mismatch: {self._url(MANIFEST_FILE)} hashes to {manifest.sha256}, the pin {self.pin_file} "
                f"records {pinned}: the published version changed; refusing to serve it"
            )
        if manifest.model_sha256 != self.pin.artifact.sha256:
            raise CheckFailed(
                f"sha256 mismatch: {self._url(MANIFEST_FILE)} records {MODEL_FILE} sha256 "
                f"{manifest.model_sha256}, the pin {self.pin_file} records {self.pin.artifact.sha256}; "
                "refusing to serve it"
            )
        refuse_unlisted(manifest, self.store.listing(self.storage_path), self._url())
        self.manifest_sha256 = manifest.sha256
        return dict(manifest.files)

    def _download(self, entry: FileEntry, dest: Path, expected_by: str) -> None:
        """Stream one object to `dest`; its bytes, size and sha256 metadata must match `entry`."""
        url = self._url(entry.path)
        client = self.client
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with _s3_errors(self.store, f"reading {url}"):
            try:
                response = client.get_object(Bucket=self.store.bucket, Key=object_key(self.storage_path, entry.path))
            except client.exceptions.NoSuchKey:
                raise CheckFailed(f"{url} does not exist (listed in the version's {MANIFEST_FILE})") from None
            recorded = str(response.get("Metadata", {}).get(SHA_KEY, "")) or "(none)"
            with dest.open("wb") as handle:
                for chunk in response["Body"].iter_chunks(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    handle.write(chunk)
        actual = digest.hexdigest()
        if actual != entry.sha256 or (entry.size is not None and size != entry.size):
            raise CheckFailed(
                f"sha256 mismatch: {url} hashes to {actual} ({size} bytes; its sha256 metadata says {recorded}), "
                f"{expected_by} records {entry.describe()}; refusing to serve it"
            )
        if recorded != entry.sha256:
            raise CheckFailed(
                f"sha256 mismatch: {url} carries sha256 metadata {recorded}, its bytes and {expected_by} "
                f"say {entry.sha256}; refusing to serve it"
            )


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


def _uri_bucket(uri: str) -> str:
    """The bucket of `s3://<bucket>/<path>?...` ('' when the URI is not an s3:// URI)."""
    parts = urlsplit(uri)
    return parts.netloc if parts.scheme == "s3" else ""


def _endpoint_hint(pin: Pin, endpoint: str) -> str:
    published = parse_qs(urlsplit(pin.artifact.uri).query).get("endpoint", [""])[0].rstrip("/")
    if published and published != endpoint.rstrip("/"):
        return (
            f" (reading {endpoint}; the pin's URI names {published}: "
            "set AWS_S3_ENDPOINT / --s3-endpoint and the AWS_* credentials to read from there)"
        )
    return ""


@contextmanager
def _s3_errors(store: S3Store, doing: str) -> Iterator[None]:
    """botocore failures as ServiceError naming the endpoint and the operation (as release.s3 does)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        response = getattr(error, "response", {}) or {}
        code = str(response.get("Error", {}).get("Code", "")) or str(
            response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        )
        hint = f" (bucket {store.bucket!r} does not exist)" if code == "NoSuchBucket" else ""
        raise ServiceError(f"S3 {store.settings.endpoint}: {doing} failed: {code}{hint}") from error
    except BotoCoreError as error:
        raise ServiceError(f"S3 {store.settings.endpoint}: {doing} failed: {error}") from error
