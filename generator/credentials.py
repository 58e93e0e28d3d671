"""The credential Secrets the manifests reference but never contain.

Manifests name these Secrets (the InferenceService's `storage.key`, MinIO's `secretKeyRef`s); the
provisioning script creates them at provision time with exactly the names, labels, annotations and
keys below. Nothing secret is ever written to manifests/ or git.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.names import MINIO_ROOT_SECRET, s3_connection_secret_name, s3_endpoint_in_cluster
from generator.spec import Spec
from jukebox.errors import InputError

S3_SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
MINIO_SECRET_KEYS = ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")


@dataclass(frozen=True)
class SecretContract:
    """One Secret to create at provision time: public values are known, secret ones are supplied."""

    name: str
    namespace: str
    purpose: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    public_values: dict[str, str] = field(default_factory=dict)
    secret_keys: tuple[str, ...] = ()

    @property
    def keys(self) -> list[str]:
        return sorted([*self.public_values, *self.secret_keys])

    def build(self, secret_values: dict[str, str]) -> dict[str, Any]:
        """The Secret object, with `secret_values` for the secret keys (all required, nothing else)."""
        missing = [key for key in self.secret_keys if not secret_values.get(key)]
        unknown = sorted(set(secret_values) - set(self.secret_keys))
        if missing or unknown:
            raise InputError(
                f"Secret {self.namespace}/{self.name}: missing {missing or 'nothing'}, unknown {unknown or 'nothing'}; "
                f"expected exactly {list(self.secret_keys)}"
            )
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.labels:
            metadata["labels"] = dict(self.labels)
        if self.annotations:
            metadata["annotations"] = dict(self.annotations)
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "Opaque",
            "stringData": {**self.public_values, **{k: secret_values[k] for k in self.secret_keys}},
        }


def s3_connection(spec: Spec, namespace: str) -> SecretContract:
    """The legacy OpenShift AI S3 connection: odh-model-controller copies it into `storage-config`."""
    return SecretContract(
        name=s3_connection_secret_name(spec),
        namespace=namespace,
        purpose="S3 connection the InferenceService downloads the model with (storage.key)",
        labels={"opendatahub.io/dashboard": "true", "opendatahub.io/managed": "true"},
        annotations={"opendatahub.io/connection-type": "s3", "openshift.io/display-name": spec.storage.connection},
        public_values={
            "AWS_S3_ENDPOINT": s3_endpoint_in_cluster(spec),
            "AWS_S3_BUCKET": spec.storage.bucket,
            "AWS_DEFAULT_REGION": spec.storage.region,
        },
        secret_keys=S3_SECRET_KEYS,
    )


def minio_root(spec: Spec) -> SecretContract:
    return SecretContract(
        name=MINIO_ROOT_SECRET,
        namespace=spec.minio.namespace,
        purpose="MinIO root user, read by the MinIO Deployment and the bucket Job",
        secret_keys=MINIO_SECRET_KEYS,
    )


def required_secrets(spec: Spec) -> list[SecretContract]:
    contracts = [s3_connection(spec, env.namespace) for _, env in sorted(spec.environments.items())]
    if spec.minio.enabled:
        contracts.append(minio_root(spec))
    return contracts
