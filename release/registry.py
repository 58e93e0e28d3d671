"""Register published models in the Kubeflow Model Registry with the official `model-registry` client.

The client is pinned to 0.3.11: the newest release that speaks REST `v1alpha3`, the only API that
OpenShift AI 2.x registries serve (0.3.12 and 0.3.15+ speak `v1`).

Registration is idempotent: the registered model is reused, an existing version with the same sha256
is reused (and completed if an earlier run stopped before its artifact was created), an existing
version with a different sha256 is refused.
"""

from __future__ import annotations

import getpass
import json
import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jukebox.errors import CheckFailed, InputError, JukeboxError, ServiceError
from jukebox.inputs import read_text

if TYPE_CHECKING:
    from model_registry import ModelRegistry
    from model_registry.types import ModelArtifact, ModelVersion

MODEL_FORMAT = ("onnx", "1")
METRIC_PREFIX = "metrics."
PARAM_PREFIX = "params."
MANIFEST_PROPERTY = "manifest_sha256"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class RegistrySettings:
    url: str
    token: str | None = None
    insecure: bool = False
    ca_file: str | None = None
    author: str = "jukebox"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        url: str | None = None,
        token_file: str | None = None,
        insecure: bool = False,
        ca_file: str | None = None,
    ) -> RegistrySettings | None:
        """Options first, then JUKEBOX_REGISTRY_*; None when no registry URL is configured."""
        url = url or env.get("JUKEBOX_REGISTRY_URL")
        if not url:
            return None
        return cls(
            url=url.rstrip("/"),
            token=_token(env, token_file),
            insecure=insecure or env.get("JUKEBOX_REGISTRY_INSECURE", "").lower() in _TRUE,
            ca_file=ca_file or env.get("JUKEBOX_REGISTRY_CA_FILE") or None,
            author=env.get("JUKEBOX_REGISTRY_AUTHOR") or _user(),
        )


def _token(env: Mapping[str, str], token_file: str | None) -> str | None:
    if token_file:
        return read_token_file(token_file, "--registry-token-file")
    if env.get("JUKEBOX_REGISTRY_TOKEN_FILE"):
        return read_token_file(env["JUKEBOX_REGISTRY_TOKEN_FILE"], "JUKEBOX_REGISTRY_TOKEN_FILE")
    return env.get("JUKEBOX_REGISTRY_TOKEN") or None


def read_token_file(path: str, option: str) -> str:
    """The bearer token in `path` (UTF-8, surrounding whitespace stripped); InputError naming `option`."""
    token = read_text(Path(path), option).strip()
    if not token:
        raise InputError(f"{option} {path}: the registry token file is empty (expected a bearer token)")
    if any(char.isspace() for char in token):
        raise InputError(f"{option} {path}: the registry token file holds more than one word (expected one token)")
    return token


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "jukebox"


@dataclass(frozen=True)
class ModelSource:
    """Where a model version came from (the registry's model artifact `model_source_*` fields), e.g. the
    pipeline run that trained it: kind `kfp`, class `pipelinerun`, group = its namespace, id and name = the
    run's id and name."""

    kind: str
    source_class: str
    group: str
    id: str
    name: str

    def fields(self) -> dict[str, str]:
        """The keyword arguments of the client's `register_model` and `ModelArtifact`."""
        return {
            "model_source_kind": self.kind,
            "model_source_class": self.source_class,
            "model_source_group": self.group,
            "model_source_id": self.id,
            "model_source_name": self.name,
        }


@dataclass(frozen=True)
class Registration:
    """Everything recorded about one released model version."""

    model: str
    version: str
    uri: str
    storage_key: str
    storage_path: str
    sha256: str
    manifest_sha256: str = ""  # sha256 of the version's release.json (release.manifest)
    metrics: Mapping[str, float] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    data_fingerprint: str = "unknown"
    git_commit: str = "unknown"
    description: str = ""
    source: ModelSource | None = None  # lineage: what produced the model (None: a person's `jukebox release`)

    def properties(self) -> dict[str, bool | int | float | str]:
        """Custom properties of the model version (flat: the registry stores scalars only)."""
        props: dict[str, bool | int | float | str] = {
            "sha256": self.sha256,
            "data_fingerprint": self.data_fingerprint,
            "git_commit": self.git_commit,
        }
        if self.manifest_sha256:
            props[MANIFEST_PROPERTY] = self.manifest_sha256
        props.update({f"{METRIC_PREFIX}{k}": float(v) for k, v in self.metrics.items()})
        props.update({f"{PARAM_PREFIX}{k}": _scalar(v) for k, v in self.parameters.items()})
        return props


def _scalar(value: Any) -> bool | int | float | str:
    return value if isinstance(value, bool | int | float | str) else json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version as the registry holds it (artifact fields empty when not fetched)."""

    model: str
    version: str
    registered_model_id: str
    model_version_id: str
    state: str
    properties: Mapping[str, Any]
    created_ms: int = 0
    model_artifact_id: str = ""
    uri: str = ""
    storage_key: str = ""
    storage_path: str = ""
    source: ModelSource | None = None  # the artifact's model_source_* fields, when it has them

    @property
    def sha256(self) -> str:
        return str(self.properties.get("sha256", ""))

    @property
    def manifest_sha256(self) -> str:
        """sha256 of the version's release.json; '' for versions registered before it was recorded."""
        return str(self.properties.get(MANIFEST_PROPERTY, ""))

    @property
    def metrics(self) -> dict[str, float]:
        return {
            k.removeprefix(METRIC_PREFIX): float(v)
            for k, v in self.properties.items()
            if k.startswith(METRIC_PREFIX) and isinstance(v, int | float | str) and _is_number(v)
        }


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


@contextmanager
def registry_errors(url: str, doing: str) -> Iterator[None]:
    """Turn client failures (HTTP, connection, StoreError) into ServiceError."""
    try:
        yield
    except JukeboxError:
        raise
    except Exception as error:  # the client raises many unrelated types
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ServiceError(f"model registry {url}: {doing} failed: {detail}") from error


def connect(settings: RegistrySettings) -> ModelRegistry:
    """A client for `settings.url` (the constructor already calls the server)."""
    from model_registry import ModelRegistry

    secure = settings.url.startswith("https://") and not settings.insecure
    if secure and not settings.token:
        raise InputError(
            f"the registry {settings.url} needs a token: set JUKEBOX_REGISTRY_TOKEN or "
            "JUKEBOX_REGISTRY_TOKEN_FILE (or --registry-token-file)"
        )
    with registry_errors(settings.url, "connecting"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "User access token is missing" for local, token-less registries
        return ModelRegistry(
            settings.url,
            author=settings.author,
            is_secure=secure,
            user_token=settings.token,
            custom_ca=settings.ca_file,
            log_level=logging.ERROR,  # its port hints are meant for notebooks
        )


class Registry:
    """The registry operations a release needs, on top of the official client."""

    def __init__(self, client: ModelRegistry, settings: RegistrySettings):
        self.client = client
        self.settings = settings
        self.url = settings.url

    def get(self, model: str, version: str) -> RegisteredVersion | None:
        """One version with its artifact, or None when the model or the version is not registered."""
        with registry_errors(self.url, f"reading {model} {version}"):
            rm = self.client.get_registered_model(model)
            mv = self.client.get_model_version(model, version) if rm else None
            if rm is None or mv is None:
                return None
            artifact = self.client.get_model_artifact(model, version)
        return _to_version(model, str(rm.id), mv, artifact)

    def list(self, model: str) -> list[RegisteredVersion]:
        """Every version of `model` (no artifacts), oldest first; [] when the model is unknown."""
        with registry_errors(self.url, f"listing the versions of {model}"):
            rm = self.client.get_registered_model(model)
            if rm is None:
                return []
            versions = list(self.client.get_model_versions(model))
        found = [_to_version(model, str(rm.id), mv, None) for mv in versions]
        return sorted(found, key=lambda v: (v.created_ms, v.model_version_id))

    def register(self, reg: Registration) -> tuple[RegisteredVersion, bool]:
        """Register `reg` (idempotently); returns the entry and whether anything was created."""
        existing = self.get(reg.model, reg.version)
        if existing is None:
            try:
                with registry_errors(self.url, f"registering {reg.model} {reg.version}"):
                    self._create(reg)
            except ServiceError:
                # Another release may have registered it meanwhile: same bytes are fine.
                if self.get(reg.model, reg.version) is None:
                    raise
            else:
                return self._require(reg), True
        return self._complete(reg), False

    def _create(self, reg: Registration) -> None:
        self.client.register_model(
            reg.model,
            reg.uri,
            model_format_name=MODEL_FORMAT[0],
            model_format_version=MODEL_FORMAT[1],
            version=reg.version,
            storage_key=reg.storage_key,
            storage_path=reg.storage_path,
            version_description=reg.description or None,
            metadata=reg.properties(),
            **(reg.source.fields() if reg.source else {}),
        )

    def _complete(self, reg: Registration) -> RegisteredVersion:
        """Reuse an existing version with the same sha256; add its artifact if a run stopped early."""
        entry = self._require(reg, allow_missing_artifact=True)
        if entry.model_artifact_id:
            return entry
        from model_registry.types import ModelArtifact

        artifact = ModelArtifact(
            name=reg.model,
            uri=reg.uri,
            model_format_name=MODEL_FORMAT[0],
            model_format_version=MODEL_FORMAT[1],
            storage_key=reg.storage_key,
            storage_path=reg.storage_path,
            **(reg.source.fields() if reg.source else {}),
        )
        with registry_errors(self.url, f"adding the artifact of {reg.model} {reg.version}"):
            # The client has no public call to add an artifact to an existing version.
            api = self.client._api
            self.client.async_runner(api.upsert_model_version_artifact(artifact, entry.model_version_id))
        return self._require(reg)

    def _require(self, reg: Registration, allow_missing_artifact: bool = False) -> RegisteredVersion:
        entry = self.get(reg.model, reg.version)
        if entry is None:
            raise ServiceError(f"registry {self.url}: {reg.model} {reg.version} missing after registering")
        if entry.sha256 != reg.sha256:
            raise CheckFailed(
                f"{reg.model} {reg.version} is already registered with sha256 {entry.sha256 or 'unknown'}, "
                f"this model is {reg.sha256}; registered versions are immutable: choose another --version"
            )
        if entry.manifest_sha256 and reg.manifest_sha256 and entry.manifest_sha256 != reg.manifest_sha256:
            raise CheckFailed(
                f"{reg.model} {reg.version} is registered with {MANIFEST_PROPERTY} {entry.manifest_sha256}, "
                f"the published release.json has sha256 {reg.manifest_sha256}: the published version changed"
            )
        if not entry.model_artifact_id and not allow_missing_artifact:
            raise ServiceError(f"model registry {self.url}: {reg.model} {reg.version} has no model artifact")
        return entry


def _to_version(model: str, rm_id: str, mv: ModelVersion, artifact: ModelArtifact | None) -> RegisteredVersion:
    state = getattr(mv.state, "value", mv.state)
    return RegisteredVersion(
        model=model,
        version=mv.name,
        registered_model_id=rm_id,
        model_version_id=str(mv.id),
        state=str(state),
        properties=dict(mv.custom_properties or {}),
        created_ms=_millis(mv.create_time_since_epoch),
        model_artifact_id=str(artifact.id) if artifact and artifact.id else "",
        uri=(artifact.uri or "") if artifact else "",
        storage_key=(artifact.storage_key or "") if artifact else "",
        storage_path=(artifact.storage_path or "") if artifact else "",
        source=_source(artifact),
    )


def _source(artifact: ModelArtifact | None) -> ModelSource | None:
    if artifact is None or not artifact.model_source_kind:
        return None
    return ModelSource(
        kind=artifact.model_source_kind,
        source_class=artifact.model_source_class or "",
        group=artifact.model_source_group or "",
        id=artifact.model_source_id or "",
        name=artifact.model_source_name or "",
    )


def _millis(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0
