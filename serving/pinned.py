"""What an environment pins, fetched from S3 and verified: `jukebox serve --spec FILE --env E`.

1. The pin `specs/<stem>.pins/<env>.yaml` names the version: `artifact.storagePath`, `artifact.uri`
   (its bucket) and `artifact.sha256` (of `1/model.onnx`).
2. S3 is resolved as `jukebox release` resolves it (`--s3-*` options, then `AWS_*`, else the embedded
   local services), with the bucket of the pin's URI, as `jukebox pin` checks it.
3. The version's served files (those listed in its `release.json` manifest: `1/...` and `labels.json`,
   the files OVMS loads) are downloaded into `<repo>/.jukebox/cache/models/<sha256>/`. Each one must hash
   to what is recorded for it, and its `sha256` S3 metadata must say the same: `1/model.onnx` against the
   pin, the other files against the manifest (whose `model.onnx` entry must equal the pin's, too).
   Any mismatch raises `CheckFailed` naming the hashes; the download is discarded and nothing is served.
4. A cache directory is complete only once `.verified.json` is written (the directory is built in a temp
   directory and renamed into place). It is reused, without contacting S3, when every file in it still
   hashes to that record and the record matches the pin; otherwise it is downloaded again.
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
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

from generator.pins import Pin, pin_path, read_pin
from generator.spec import Spec
from jukebox.errors import CheckFailed, InputError, ServiceError
from release.flow import Connection, load_for_env, resolve_s3_settings
from release.pinning import repo_root
from release.s3 import (
    LABELS_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    SHA_KEY,
    S3Store,
    file_sha256,
    is_served,
    make_client,
)

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
    cache_root = cache_root if cache_root is not None else repo_root(spec_path) / CACHE_DIR
    target = cache_root / pin.artifact.sha256
    bucket = _uri_bucket(pin.artifact.uri)
    storage_path = pin.artifact.storage_path.strip("/")
    cached = _verified_cache(target, pin, bucket)
    if cached is not None:
        source = f"s3://{cached['bucket']}/{storage_path}/"
        out(f"cached: {target} (verified: 1/model.onnx sha256 {pin.artifact.sha256}, as pinned)")
        return PinnedModel(name, environment, pin, pin_file, target, source, cached["files"], downloaded=False)
    settings, notes = resolve_s3_settings(spec, connection, env)
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

    def download_into(self, target: Path) -> dict[str, str]:
        """Download and verify every served file into a temp dir, then rename it to `target`."""
        files = self._served_files()
        manifest_url = self._url(MANIFEST_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name[:16]}-", dir=target.parent))
        try:
            for rel, sha in files.items():
                expected_by = f"the pin {self.pin_file}" if rel == MODEL_FILE else f"the manifest {manifest_url}"
                self._download(rel, work / rel, sha, expected_by)
            record = {"sha256": self.pin.artifact.sha256, "bucket": self.store.bucket, "files": files}
            record |= {"storagePath": self.storage_path, "endpoint": self.store.settings.endpoint}
            (work / VERIFIED_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
            _move_into_place(work, target, lambda: _verified_cache(target, self.pin, self.store.bucket) is not None)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return files

    def _url(self, rel: str = "") -> str:
        return self.store.url(f"{self.storage_path}/{rel}")

    def _served_files(self) -> dict[str, str]:
        """The files OVMS would load, from the version's manifest, checked against the pin."""
        manifest = self.store.read_manifest(self.storage_path)
        if manifest is None:
            raise CheckFailed(
                f"{self._url(MANIFEST_FILE)} does not exist: nothing is published where the pin "
                f"{self.pin_file} points" + _endpoint_hint(self.pin, self.store.settings.endpoint)
            )
        listed = manifest.get("files")
        if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
            raise CheckFailed(f"{self._url(MANIFEST_FILE)} is not a release manifest (no 'files' mapping)")
        files: dict[str, str] = {}
        for rel, sha in sorted(listed.items()):
            if not _safe_relative(rel) or not is_served(rel):
                raise CheckFailed(f"{self._url(MANIFEST_FILE)} lists {rel!r}: not a served file of a model directory")
            files[rel] = sha
        pinned = self.pin.artifact.sha256
        if files.get(MODEL_FILE) != pinned:
            raise CheckFailed(
                f"sha256 mismatch: {self._url(MANIFEST_FILE)} records {MODEL_FILE} sha256 "
                f"{files.get(MODEL_FILE, '(none)')}, the pin {self.pin_file} records {pinned}; refusing to serve it"
            )
        return files

    def _download(self, rel: str, dest: Path, expected: str, expected_by: str) -> None:
        """Stream one object to `dest`; its bytes and its sha256 metadata must both equal `expected`."""
        url = self._url(rel)
        client = self.client
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with _s3_errors(self.store, f"reading {url}"):
            try:
                response = client.get_object(Bucket=self.store.bucket, Key=f"{self.storage_path}/{rel}")
            except client.exceptions.NoSuchKey:
                raise CheckFailed(f"{url} does not exist (listed in the version's release.json)") from None
            recorded = str(response.get("Metadata", {}).get(SHA_KEY, "")) or "(none)"
            with dest.open("wb") as handle:
                for chunk in response["Body"].iter_chunks(_CHUNK):
                    digest.update(chunk)
                    handle.write(chunk)
        actual = digest.hexdigest()
        if actual != expected:
            raise CheckFailed(
                f"sha256 mismatch: {url} hashes to {actual} (its sha256 metadata says {recorded}), "
                f"{expected_by} records {expected}; refusing to serve it"
            )
        if recorded != expected:
            raise CheckFailed(
                f"sha256 mismatch: {url} carries sha256 metadata {recorded}, its bytes and {expected_by} "
                f"say {expected}; refusing to serve it"
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
    if files.get(MODEL_FILE) != pin.artifact.sha256 or not _tree_matches(target, files):
        return None
    return record


# -- helpers ----------------------------------------------------------------------------------


def _safe_relative(rel: str) -> bool:
    """A plain relative POSIX path inside the model directory (no '..', no absolute, no backslash)."""
    path = PurePosixPath(rel)
    return (
        bool(rel)
        and "\\" not in rel
        and not path.is_absolute()
        and all(part not in {"", ".", ".."} and not part.startswith(".") for part in rel.split("/"))
        and (rel == LABELS_FILE or rel.startswith("1/"))
    )


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
