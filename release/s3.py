"""Publish a model version to S3 in the OVMS layout, immutably and verified.

Layout: `s3://<bucket>/<prefix>/<version>/` holds the model directory as is (`1/model.onnx`,
`labels.json`, `metrics.json`, `MODEL_CARD.md`, ...) plus `release.json`, the version's manifest
(`release.manifest`): path, size and sha256 of every other object under the prefix. Every object
carries its sha256 in the `sha256` metadata key.

A version prefix is never written again once published, and the rule covers every object in it. The
manifest is created first, with a conditional PUT (`If-None-Match: *`), so of two publishers of one
version exactly one creates it. Afterwards only objects the manifest lists may be added, with exactly
the listed bytes (a rerun completing an interrupted upload); every object is created with
`If-None-Match: *` too, so nothing is ever overwritten. After an upload (and for `jukebox pin`) the
whole prefix is listed and every object downloaded and hashed: an object the manifest does not list
(say a `2/model.onnx` added later, which OVMS would serve) fails the check.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from generator.spec import Storage
from jukebox.errors import CheckFailed, InputError, ServiceError
from release.manifest import (
    MANIFEST_FILE,
    MODEL_FILE,
    FileEntry,
    Reconciliation,
    VersionManifest,
    VersionTaken,
    parse_manifest,
    reconcile,
    refuse_unlisted,
)
from release.model_dir import ModelFiles

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # pragma: no cover
else:
    S3Client = Any

SHA_KEY = "sha256"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class S3Settings:
    """Where to publish. Field names follow the variables an OpenShift AI S3 connection injects."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    region: str

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        endpoint: str | None = None,
        bucket: str | None = None,
        region: str | None = None,
        default_bucket: str = Storage.model_fields["bucket"].default,
        default_region: str = Storage.model_fields["region"].default,
    ) -> S3Settings | None:
        """Options first, then AWS_S3_ENDPOINT & co; None when no endpoint is configured at all."""
        endpoint = endpoint or env.get("AWS_S3_ENDPOINT")
        if not endpoint:
            return None
        access_key, secret_key = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if not access_key or not secret_key:
            raise InputError(
                f"S3 endpoint {endpoint} is configured but AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set"
            )
        return cls(
            endpoint=endpoint.rstrip("/"),
            access_key=access_key,
            secret_key=secret_key,
            bucket=bucket or env.get("AWS_S3_BUCKET") or default_bucket,
            region=region or env.get("AWS_DEFAULT_REGION") or default_region,
        )


def bucket_of_uri(uri: str) -> str:
    """The bucket of `s3://<bucket>/<path>?...` ('' when the URI is not an s3:// URI)."""
    parts = urlsplit(uri)
    return parts.netloc if parts.scheme == "s3" else ""


def object_key(storage_path: str, rel: str = "") -> str:
    """The S3 key of `rel` in a version prefix; `storage_path` may end with '/' (never gives '//')."""
    return f"{storage_path.strip('/')}/{rel}"


@dataclass(frozen=True)
class PublishPlan:
    """What publishing a model directory under a version prefix would do."""

    state: str  # "new" (nothing published there) or "published" (the version exists: complete or reuse)
    manifest: VersionManifest  # the version's manifest: the new one, or the one already published
    upload: list[str]
    records_not_uploaded: list[str] = field(default_factory=list)


@dataclass
class PublishResult:
    bucket: str
    storage_path: str
    sha256: str
    manifest: VersionManifest
    uploaded: list[str] = field(default_factory=list)
    records_not_uploaded: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        """True when the version was already published with these bytes (a no-op)."""
        return not self.uploaded


def make_client(settings: S3Settings) -> S3Client:
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        region_name=settings.region,
        config=config,
    )


class S3Store:
    """The model bucket: publish versions, read their manifests, verify their bytes."""

    def __init__(self, settings: S3Settings, client: S3Client | None = None):
        self.settings = settings
        self.bucket = settings.bucket
        self._client = client or make_client(settings)

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"

    def version_url(self, storage_path: str) -> str:
        return self.url(object_key(storage_path))

    # -- reading -------------------------------------------------------------------------------

    def read_manifest(self, storage_path: str) -> VersionManifest | None:
        """The version's manifest, None when there is none; CheckFailed when it is not a manifest."""
        key = object_key(storage_path, MANIFEST_FILE)
        body = self._get(key)
        return None if body is None else parse_manifest(body, self.url(key))

    def listing(self, storage_path: str) -> dict[str, int]:
        """Every object under the version prefix: path relative to it -> size."""
        prefix = object_key(storage_path)
        found: dict[str, int] = {}
        with _s3_errors(self, f"listing {self.url(prefix)}"):
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                found.update({obj["Key"].removeprefix(prefix): int(obj["Size"]) for obj in page.get("Contents", [])})
        return found

    def download_version(
        self,
        storage_path: str,
        model_sha256: str,
        manifest_sha256: str | None,
        recorded_by: str,
        into: Path | None = None,
    ) -> VersionManifest:
        """Fetch the whole version and check it against what `recorded_by` (the registry, a pin) records;
        with `into`, keep the files there (a model directory as a predictor pod would get it).

        Its release.json must hash to `manifest_sha256` (when recorded; older versions have none) and
        name `model_sha256`; the prefix must hold exactly the listed objects; each one must hash to its
        listed sha256, with its listed size and `sha256` metadata. Raises CheckFailed naming the object.
        """
        manifest = self._checked_manifest(storage_path, model_sha256, manifest_sha256, recorded_by)
        for path, entry in manifest.files.items():
            self._fetch(object_key(storage_path, path), entry, recorded_by, None if into is None else into / path)
        return manifest

    def verify_version(
        self, storage_path: str, model_sha256: str, manifest_sha256: str | None, recorded_by: str
    ) -> VersionManifest:
        """`download_version` without keeping the bytes."""
        return self.download_version(storage_path, model_sha256, manifest_sha256, recorded_by)

    def _checked_manifest(
        self, storage_path: str, model_sha256: str, manifest_sha256: str | None, recorded_by: str
    ) -> VersionManifest:
        where = self.version_url(storage_path)
        manifest = self.read_manifest(storage_path)
        if manifest is None:
            raise CheckFailed(f"{self.url(object_key(storage_path, MANIFEST_FILE))} does not exist")
        if manifest_sha256 and manifest.sha256 != manifest_sha256:
            raise CheckFailed(
                f"sha256 mismatch: {where}{MANIFEST_FILE} hashes to {manifest.sha256}, {recorded_by} records "
                f"{manifest_sha256}: the published version changed"
            )
        if manifest.model_sha256 != model_sha256:
            raise CheckFailed(
                f"sha256 mismatch: {where}{MANIFEST_FILE} lists {MODEL_FILE} with sha256 {manifest.model_sha256}, "
                f"{recorded_by} records {model_sha256}"
            )
        present = self.listing(storage_path)
        refuse_unlisted(manifest, present, where)
        missing = [path for path in manifest.files if path not in present]
        if missing:
            raise CheckFailed(f"{where} is incomplete: {', '.join(missing)} listed in {MANIFEST_FILE} do(es) not exist")
        return manifest

    def _fetch(self, key: str, entry: FileEntry, recorded_by: str, keep: Path | None) -> None:
        """Stream one object (into `keep` when given); its bytes, size and sha256 metadata must match `entry`."""
        url = self.url(key)
        digest = hashlib.sha256()
        size = 0
        with _s3_errors(self, f"reading {url}"), ExitStack() as stack:
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=key)
            except self._client.exceptions.NoSuchKey:
                raise CheckFailed(f"{url} does not exist (listed in the version's {MANIFEST_FILE})") from None
            recorded = str(response.get("Metadata", {}).get(SHA_KEY, "")) or "(none)"
            sink = None
            if keep is not None:
                keep.parent.mkdir(parents=True, exist_ok=True)
                sink = stack.enter_context(keep.open("wb"))
            for chunk in response["Body"].iter_chunks(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if sink is not None:
                    sink.write(chunk)
        actual = digest.hexdigest()
        if actual != entry.sha256 or (entry.size is not None and size != entry.size):
            raise CheckFailed(
                f"sha256 mismatch: {url} hashes to {actual} ({size} bytes; its sha256 metadata says {recorded}), "
                f"{MANIFEST_FILE} (recorded by {recorded_by}) lists {entry.describe()}"
            )
        if recorded != entry.sha256:
            raise CheckFailed(
                f"sha256 mismatch: {url} carries sha256 metadata {recorded}, its bytes and {recorded_by} "
                f"say {entry.sha256}"
            )

    def for_uri(self, uri: str) -> S3Store:
        """The store holding `uri` (`s3://<bucket>/...`): this endpoint and credentials, the URI's bucket."""
        bucket = bucket_of_uri(uri) or self.bucket
        return self if bucket == self.bucket else S3Store(dataclasses.replace(self.settings, bucket=bucket))

    # -- publishing ----------------------------------------------------------------------------

    def plan(self, model: ModelFiles, storage_path: str) -> PublishPlan:
        """What `publish` would do; raises VersionTaken / DirectoryDiffers when it would be refused."""
        where = self.version_url(storage_path)
        # Listing first: the manifest is created before any other object, so a release racing this one can
        # only add objects after the listing, never leave objects listed without the manifest read below.
        present = self.listing(storage_path)
        published = self.read_manifest(storage_path)
        if published is None:
            if present:
                raise VersionTaken(
                    f"{where} holds {', '.join(sorted(present))} but no {MANIFEST_FILE}: not a version "
                    "published by jukebox; choose another --version"
                )
            return PublishPlan("new", model.manifest, list(model.manifest.files))
        decided: Reconciliation = reconcile(model.manifest, published, present, where)
        return PublishPlan("published", published, decided.upload, decided.records_not_uploaded)

    def publish(self, model: ModelFiles, storage_path: str) -> PublishResult:
        """Publish `model` under `storage_path` (see the module docstring); verify every object."""
        plan = self.plan(model, storage_path)
        if plan.state == "new":
            body = plan.manifest.to_bytes()
            key = object_key(storage_path, MANIFEST_FILE)
            if not self._put_new(key, body, hashlib.sha256(body).hexdigest()):
                plan = self.plan(model, storage_path)  # another release created it meanwhile
        uploaded = []
        for rel in plan.upload:
            entry = plan.manifest.files[rel]
            with (model.root / rel).open("rb") as handle:
                if self._put_new(object_key(storage_path, rel), handle, entry.sha256):
                    uploaded.append(rel)
        manifest = self.verify_version(storage_path, model.sha256, plan.manifest.sha256, "this release")
        result = PublishResult(self.bucket, storage_path, model.sha256, manifest, uploaded)
        result.records_not_uploaded = plan.records_not_uploaded
        return result

    def _put_new(self, key: str, body: Any, sha: str) -> bool:
        """Create `key` only if it does not exist; False when it already exists."""
        from botocore.exceptions import ClientError

        with _s3_errors(self, f"uploading {self.url(key)}"):
            try:
                self._client.put_object(
                    Bucket=self.bucket, Key=key, Body=body, Metadata={SHA_KEY: sha}, IfNoneMatch="*"
                )
            except ClientError as error:
                if _error_code(error) in {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}:
                    return False
                raise
        return True

    def _head_sha(self, key: str) -> str | None:
        """The sha256 metadata of `key` ('' if it has none), None if it does not exist."""
        from botocore.exceptions import ClientError

        with _s3_errors(self, f"reading {self.url(key)}"):
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as error:
                if _error_code(error) in {"404", "NoSuchKey", "NotFound"}:
                    return None
                raise
        return str(head.get("Metadata", {}).get(SHA_KEY, ""))

    def _get(self, key: str) -> bytes | None:
        with _s3_errors(self, f"reading {self.url(key)}"):
            try:
                return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except self._client.exceptions.NoSuchKey:
                return None


def _error_code(error: Any) -> str:
    response = getattr(error, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    return code or str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


@contextmanager
def _s3_errors(store: S3Store, doing: str) -> Iterator[None]:
    """Turn botocore failures into ServiceError naming the endpoint and the operation."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = _error_code(error)
        hint = f" (bucket {store.bucket!r} does not exist)" if code == "NoSuchBucket" else ""
        raise ServiceError(f"S3 {store.settings.endpoint}: {doing} failed: {code}{hint}") from error
    except BotoCoreError as error:
        raise ServiceError(f"S3 {store.settings.endpoint}: {doing} failed: {error}") from error
