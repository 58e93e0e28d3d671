"""Names, labels and URIs derived from a spec: computed here so templates stay free of logic."""

from __future__ import annotations

from urllib.parse import urlencode

from generator.spec import Spec

MINIO_SERVICE = "minio"
MINIO_ROOT_SECRET = "minio-root"  # pragma: allowlist secret (a Secret name)
MINIO_API_PORT = 9000
MINIO_UI_PORT = 9090


def s3_connection_secret_name(spec: Spec) -> str:
    """The legacy OpenShift AI S3 connection Secret: also the InferenceService `storage.key`."""
    return f"aws-connection-{spec.storage.connection}"


def minio_in_cluster_endpoint(spec: Spec) -> str:
    return f"http://{MINIO_SERVICE}.{spec.minio.namespace}.svc.cluster.local:{MINIO_API_PORT}"


def s3_endpoint_in_cluster(spec: Spec) -> str:
    """The S3 endpoint pods use: the spec's, or the in-cluster MinIO Service."""
    if spec.storage.endpoint:
        return spec.storage.endpoint.rstrip("/")
    return minio_in_cluster_endpoint(spec)


def version_storage_path(spec: Spec, version: str) -> str:
    """Key prefix of one model version; it holds `1/model.onnx` (the OVMS layout)."""
    return f"{spec.storage.prefix}/{version}"


def artifact_uri(bucket: str, storage_path: str, endpoint: str, region: str) -> str:
    """The Model Registry artifact URI form the OpenShift AI dashboard writes."""
    query = urlencode({"endpoint": endpoint, "defaultRegion": region})
    return f"s3://{bucket}/{storage_path}?{query}"


def application_name(spec: Spec, environment: str) -> str:
    return f"{spec.model.name}-{environment}"


def storage_application_name(spec: Spec) -> str:
    return f"{spec.model.name}-storage"
