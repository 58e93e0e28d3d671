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
    """Key prefix of one model version, ending with '/'; it holds `1/model.onnx` (the OVMS layout)."""
    return exact_storage_path(f"{spec.storage.prefix}/{version}")


def exact_storage_path(storage_path: str) -> str:
    """`storage_path` ending with exactly one '/'. KServe's storage initializer downloads every object
    whose key *starts with* the path (kserve-storage 0.21.0, `Storage._download_s3`: `objects.filter(
    Prefix=bucket_path)`), so `jukebox/0.0.1` would also pull `jukebox/0.0.10/...` into /mnt/models."""
    return storage_path.strip("/") + "/"


def artifact_uri(bucket: str, storage_path: str, endpoint: str, region: str) -> str:
    """The Model Registry artifact URI form the OpenShift AI dashboard writes, on the exact version prefix."""
    query = urlencode({"endpoint": endpoint, "defaultRegion": region})
    return f"s3://{bucket}/{exact_storage_path(storage_path)}?{query}"


def application_name(spec: Spec, environment: str) -> str:
    return f"{spec.model.name}-{environment}"


def storage_application_name(spec: Spec) -> str:
    return f"{spec.model.name}-storage"
