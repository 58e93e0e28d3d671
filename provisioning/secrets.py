"""Credential Secrets: built from supplied, existing or generated values at provision time, never from git."""

from __future__ import annotations

import hashlib
import json
import secrets as random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.credentials import MINIO_SECRET_KEYS, S3_SECRET_KEYS, SecretContract, required_secrets
from generator.names import MINIO_ROOT_SECRET, s3_connection_secret_name, s3_endpoint_in_cluster
from generator.platform import names as platform_names
from generator.platform.settings import PlatformSettings
from generator.spec import Spec
from jukebox.errors import InputError
from jukebox.inputs import load_yaml_file

GIT_KEYS = ("username", "password")


def registry_db(spec: Spec, settings: PlatformSettings) -> SecretContract:
    db = settings.registry_database
    return SecretContract(
        name=platform_names.registry_db_secret(spec),
        namespace=spec.registry.namespace,
        purpose="Model Registry database: read by MySQL and by the registry server",
        labels={"app.kubernetes.io/part-of": platform_names.PART_OF},
        public_values={platform_names.DB_NAME_KEY: db.database, platform_names.DB_USER_KEY: db.user},
        secret_keys=(platform_names.DB_PASSWORD_KEY,),
    )


def contracts(spec: Spec, settings: PlatformSettings) -> list[SecretContract]:
    """Every Secret the manifests reference (generator.credentials) plus the registry database's."""
    return [*required_secrets(spec), registry_db(spec, settings)]


def load_supplied(path: Path | None) -> dict[str, dict[str, str]]:
    """`--secrets-file`: YAML {secret name: {key: value}}; `git` holds repository credentials."""
    if path is None:
        return {}
    if not path.exists():
        raise InputError(f"--secrets-file: not found: {path}")
    data = load_yaml_file(path, "--secrets-file") or {}
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in data.values()
    ):
        raise InputError(f"--secrets-file {path}: expected a mapping of Secret name to a mapping of string values")
    return {str(k): {str(kk): vv for kk, vv in v.items()} for k, v in data.items()}


@dataclass(frozen=True)
class ResolvedSecret:
    obj: dict[str, Any]
    source: str  # supplied / kept from the cluster / generated / derived


Existing = Callable[[str, str], dict[str, str] | None]


def _generate(keys: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for key in keys:
        if key.endswith("USER"):
            values[key] = f"jukebox-{random.token_hex(4)}"
        else:
            values[key] = random.token_urlsafe(24)
    return values


def resolve(
    spec: Spec,
    settings: PlatformSettings,
    supplied: dict[str, dict[str, str]],
    existing: Existing,
    generate: Callable[[tuple[str, ...]], dict[str, str]] = _generate,
) -> list[ResolvedSecret]:
    """The Secrets in apply order. Values: supplied > already in the cluster > derived > generated.

    With the in-cluster MinIO (no `storage.endpoint`), the S3 connections use the MinIO root user.
    """
    resolved: list[ResolvedSecret] = []
    chosen: dict[str, dict[str, str]] = {}

    def pick(contract: SecretContract, derive: dict[str, str] | None) -> None:
        keys = contract.secret_keys
        given = supplied.get(contract.name)
        current = existing(contract.name, contract.namespace)
        if given is not None:
            values, source = {k: given.get(k, "") for k in keys}, "supplied (--secrets-file)"
        elif current and all(current.get(k) for k in keys):
            values, source = {k: current[k] for k in keys}, "kept from the cluster"
        elif derive is not None:
            values, source = derive, f"derived from {MINIO_ROOT_SECRET}"
        elif contract.name == MINIO_ROOT_SECRET or contract.name == platform_names.registry_db_secret(spec):
            values, source = chosen.get(contract.name) or generate(keys), "generated"
        else:
            raise InputError(
                f"Secret {contract.namespace}/{contract.name}: no values for {list(keys)}: the S3 endpoint "
                f"{s3_endpoint_in_cluster(spec)} is not the in-cluster MinIO, so supply them with --secrets-file"
            )
        chosen.setdefault(contract.name, values)
        resolved.append(ResolvedSecret(contract.build(values), source))

    ordered = sorted(contracts(spec, settings), key=lambda c: (c.name != MINIO_ROOT_SECRET, c.namespace, c.name))
    for contract in ordered:
        derive = None
        if contract.name == s3_connection_secret_name(spec) and spec.minio.enabled and not spec.storage.endpoint:
            root = chosen.get(MINIO_ROOT_SECRET, {})
            derive = dict(zip(S3_SECRET_KEYS, (root.get(k, "") for k in MINIO_SECRET_KEYS), strict=True))
        pick(contract, derive)
    return resolved


def storage_config(spec: Spec, s3_secret: dict[str, Any]) -> dict[str, Any]:
    """kind: KServe's own `storage-config` (odh-model-controller builds it on OpenShift AI; never emit it there).

    One key per connection, named like the S3 connection Secret, which is the InferenceService's storage.key.
    """
    values = s3_secret["stringData"]
    connection = {
        "type": "s3",
        "access_key_id": values["AWS_ACCESS_KEY_ID"],
        "secret_access_key": values["AWS_SECRET_ACCESS_KEY"],
        "endpoint_url": values["AWS_S3_ENDPOINT"],
        "bucket": values["AWS_S3_BUCKET"],
        "region": values["AWS_DEFAULT_REGION"],
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": platform_names.KSERVE_STORAGE_SECRET, "namespace": s3_secret["metadata"]["namespace"]},
        "type": "Opaque",
        "stringData": {s3_connection_secret_name(spec): json.dumps(connection, sort_keys=True)},
    }


def repository_secret_name(repo_url: str) -> str:
    return f"repo-jukebox-{hashlib.sha256(repo_url.encode()).hexdigest()[:10]}"


def repository(spec: Spec, credentials: dict[str, str] | None, insecure: bool) -> dict[str, Any]:
    """Argo CD's declarative repository: a Secret labelled `argocd.argoproj.io/secret-type: repository`."""
    data = {"type": "git", "url": spec.gitops.repo_url}
    if credentials:
        missing = [k for k in GIT_KEYS if not credentials.get(k)]
        if missing:
            raise InputError(f"--secrets-file: git needs {list(GIT_KEYS)}; missing {missing}")
        data.update({k: credentials[k] for k in GIT_KEYS})
    if insecure:
        data["insecure"] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": repository_secret_name(spec.gitops.repo_url),
            "namespace": spec.gitops.argocd_namespace,
            "labels": {"argocd.argoproj.io/secret-type": "repository"},
        },
        "type": "Opaque",
        "stringData": data,
    }
