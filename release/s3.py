"""Publish a trained model directory to S3 in the OVMS layout, immutably and verified.

Layout: `s3://<bucket>/<prefix>/<version>/` holds the model directory as is (`1/model.onnx`,
`labels.json`, `metrics.json`, `MODEL_CARD.md`, ...) plus `release.json`, the version's manifest.
Every object carries its sha256 in the `sha256` metadata key.

A version prefix is immutable. Its identity is the *served* files: everything under `1/` (what OVMS
loads) and `labels.json`; the manifest lists their sha256. The manifest is created with a conditional
PUT (`If-None-Match: *`), so of two publishers of one version exactly one creates it; the other then
compares: the same served bytes continue (a rerun completes a partial upload), different ones are
refused. The run records (metrics.json, MODEL_CARD.md, the confusion matrix) hold timings, so a
retrain of the same model differs there: objects already uploaded are kept, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jukebox.errors import CheckFailed, InputError, ServiceError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # pragma: no cover
else:
    S3Client = Any

MODEL_FILE = "1/model.onnx"
MANIFEST_FILE = "release.json"
LABELS_FILE = "labels.json"
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
        default_bucket: str = "models",
        default_region: str = "us-east-1",
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


@dataclass(frozen=True)
class ModelFiles:
    """A model directory: every regular file by relative POSIX path, with its sha256."""

    root: Path
    files: dict[str, str]

    @property
    def sha256(self) -> str:
        """sha256 of `1/model.onnx`: the identity of the model (what a pin records)."""
        return self.files[MODEL_FILE]

    @property
    def served(self) -> dict[str, str]:
        """The files that define the model version: `1/...` (loaded by OVMS) and `labels.json`."""
        return {rel: sha for rel, sha in sorted(self.files.items()) if is_served(rel)}

    def manifest(self) -> dict[str, Any]:
        return {"model": MODEL_FILE, "sha256": self.sha256, "files": self.served}


def is_served(rel: str) -> bool:
    return rel.startswith("1/") or rel == LABELS_FILE


@dataclass
class PublishResult:
    bucket: str
    storage_path: str
    sha256: str
    uploaded: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        """True when the version was already published with these bytes (a no-op)."""
        return not self.uploaded


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scan_model_dir(model_dir: Path) -> ModelFiles:
    """Hash a model directory; it must follow the OVMS layout (`1/model.onnx`)."""
    if not (model_dir / MODEL_FILE).is_file():
        raise InputError(f"{model_dir}: not a model directory (expected {MODEL_FILE} inside)")
    files = {}
    for path in sorted(model_dir.rglob("*")):
        rel = path.relative_to(model_dir).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in rel.split("/")):
            files[rel] = file_sha256(path)
    if MANIFEST_FILE in files:
        raise InputError(f"{model_dir}: {MANIFEST_FILE} is reserved for the release manifest")
    return ModelFiles(model_dir, files)


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

    # -- reading -------------------------------------------------------------------------------

    def read_manifest(self, storage_path: str) -> dict[str, Any] | None:
        """The version's manifest, or None when nothing was published under `storage_path`."""
        body = self._get(f"{storage_path}/{MANIFEST_FILE}")
        if body is None:
            return None
        try:
            manifest = json.loads(body)
            return manifest if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict) else {}
        except json.JSONDecodeError:
            return {}

    def object_sha256(self, key: str) -> str | None:
        """sha256 of the object's bytes (downloaded and hashed), None if it does not exist."""
        with _s3_errors(self, f"reading {self.url(key)}"):
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=key)
            except self._client.exceptions.NoSuchKey:
                return None
            digest = hashlib.sha256()
            for chunk in response["Body"].iter_chunks(_CHUNK):
                digest.update(chunk)
            return digest.hexdigest()

    def verify_model(self, storage_path: str, sha256: str) -> None:
        """Check that `<storage_path>/1/model.onnx` exists and hashes to `sha256`."""
        key = f"{storage_path}/{MODEL_FILE}"
        actual = self.object_sha256(key)
        if actual is None:
            raise CheckFailed(f"{self.url(key)} does not exist")
        if actual != sha256:
            raise CheckFailed(f"{self.url(key)} has sha256 {actual}, the registry records {sha256}")

    # -- publishing ----------------------------------------------------------------------------

    def plan(self, model: ModelFiles, storage_path: str) -> str:
        """'new', 'same' (already published with these bytes, maybe partially) or raise CheckFailed."""
        manifest = self.read_manifest(storage_path)
        if manifest is None:
            return "new"
        self._require_same(model, storage_path, manifest)
        return "same"

    def publish(self, model: ModelFiles, storage_path: str) -> PublishResult:
        """Upload `model` under `storage_path` unless it is there already; verify every object."""
        self._claim(model, storage_path)
        result = PublishResult(self.bucket, storage_path, model.sha256)
        for rel, sha in model.files.items():
            if self._put_file(model.root / rel, f"{storage_path}/{rel}", sha, strict=is_served(rel)):
                result.uploaded.append(rel)
        self._verify_all(model, storage_path)
        return result

    def _claim(self, model: ModelFiles, storage_path: str) -> None:
        """Create the manifest if absent (atomically); otherwise it must list the same files."""
        body = json.dumps(model.manifest(), indent=2, sort_keys=True).encode()
        key = f"{storage_path}/{MANIFEST_FILE}"
        if self._put_new(key, body, hashlib.sha256(body).hexdigest()):
            return
        manifest = self.read_manifest(storage_path)
        self._require_same(model, storage_path, manifest or {})

    def _require_same(self, model: ModelFiles, storage_path: str, manifest: Mapping[str, Any]) -> None:
        if manifest.get("files") == model.served:
            return
        theirs = manifest.get("sha256", "unknown")
        raise CheckFailed(
            f"{self.url(storage_path)}/ already holds a different model (model.onnx sha256 {theirs}, "
            f"this one {model.sha256}); published versions are immutable: choose another --version"
        )

    def _put_file(self, path: Path, key: str, sha: str, strict: bool) -> bool:
        """Upload one file unless it exists; True if uploaded. `strict`: an existing one must match."""
        existing = self._head_sha(key)
        if existing == sha or (existing is not None and not strict):
            return False
        if existing is None:
            with path.open("rb") as handle:
                if self._put_new(key, handle, sha):
                    return True
            existing = self._head_sha(key)
        if existing != sha and strict:
            raise CheckFailed(
                f"{self.url(key)} exists with sha256 {existing}, expected {sha}; published versions are immutable"
            )
        return False

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

    def _verify_all(self, model: ModelFiles, storage_path: str) -> None:
        """Download every object back: served files must hash to the local sha256, run records to
        the sha256 in their own metadata (they may come from an earlier run of the same model)."""
        for rel, sha in model.files.items():
            key = f"{storage_path}/{rel}"
            recorded = self._head_sha(key)
            expected = sha if is_served(rel) else recorded
            actual = self.object_sha256(key)
            if actual != expected or recorded != actual:
                raise CheckFailed(
                    f"verification failed for {self.url(key)}: sha256 {actual}, "
                    f"metadata {recorded}, expected {expected}"
                )

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
