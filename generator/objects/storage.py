"""The model store: MinIO (the lab's layout) in its own namespace, and the bucket Job."""

from __future__ import annotations

from typing import Any

from generator.names import MINIO_API_PORT, MINIO_ROOT_SECRET, MINIO_SERVICE, MINIO_UI_PORT
from generator.objects.common import (
    WAVE_BUCKET_JOB,
    WAVE_NAMESPACE,
    WAVE_STORAGE,
    Manifest,
    resources,
    restricted_container_security,
    restricted_pod_security,
    wave,
)
from generator.profiles import KIND_UID
from generator.spec import Spec

MINIO_LABELS = {"app.kubernetes.io/name": "minio", "app.kubernetes.io/component": "object-store"}
BUCKET_JOB = "create-buckets"
PVC_NAME = "minio-data"
# The Job waits for MinIO, then creates each bucket in $BUCKETS; safe to re-run.
CREATE_BUCKETS_SCRIPT = """set -eu
user="$(cat "$MINIO_ROOT_USER_FILE")"
password="$(cat "$MINIO_ROOT_PASSWORD_FILE")"
until mc alias set local "$MINIO_ENDPOINT" "$user" "$password" >/dev/null; do
  echo "waiting for MinIO at $MINIO_ENDPOINT"; sleep 5
done
for bucket in $BUCKETS; do
  mc mb --ignore-existing "local/$bucket"
done
"""


SECRETS_MOUNT = "/run/secrets/minio"
# OpenShift's restricted-v2 SCC assigns each pod a high UID from its namespace's range; a fixed
# runAsUser (what CKV_K8S_40 wants) would be refused by admission.
CHECKOV_SKIPS = {
    "checkov.io/skip1": "CKV_K8S_40=OpenShift restricted-v2 SCC assigns a high UID from the namespace range",
}


def _root_credentials_env() -> list[dict[str, Any]]:
    """Credentials as files (MinIO's *_FILE variables), not as environment values."""
    return [
        {"name": f"{key}_FILE", "value": f"{SECRETS_MOUNT}/{key}"} for key in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")
    ]


def _root_credentials_volume() -> dict[str, Any]:
    return {"name": "root-credentials", "secret": {"secretName": MINIO_ROOT_SECRET, "defaultMode": 0o400}}


_ROOT_CREDENTIALS_MOUNT = {"name": "root-credentials", "mountPath": SECRETS_MOUNT, "readOnly": True}


def _checkov_skips(spec: Spec) -> dict[str, str]:
    return {} if spec.profile.fixed_uids else CHECKOV_SKIPS


def _pod_security(spec: Spec) -> dict[str, Any]:
    # The MinIO image runs as root: on kind it needs a numeric non-root user (fsGroup also lets it read
    # the 0400 credential files and write its volume).
    return restricted_pod_security(KIND_UID if spec.profile.fixed_uids else None)


def storage_namespace(spec: Spec, path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="Namespace",
        name=spec.minio.namespace,
        context={
            "labels": {},
            "annotations": {
                **wave(WAVE_NAMESPACE),
                "openshift.io/display-name": f"{spec.project.display_name} object storage",
                "openshift.io/description": f"MinIO holding the model artifacts of {spec.model.name}",
            },
        },
    )


def persistentvolumeclaim(spec: Spec, path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="PersistentVolumeClaim",
        name=PVC_NAME,
        context={
            "labels": MINIO_LABELS,
            "annotations": wave(WAVE_STORAGE),
            "size": spec.minio.storage_size,
        },
    )


def _tcp_probe(port: str, period: int) -> dict[str, Any]:
    return {"tcpSocket": {"port": port}, "initialDelaySeconds": 5, "periodSeconds": period, "timeoutSeconds": 2}


def deployment(spec: Spec, path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="Deployment",
        name=MINIO_SERVICE,
        context={
            "labels": MINIO_LABELS,
            "annotations": wave(WAVE_STORAGE, **_checkov_skips(spec)),
            "strategy": "Recreate",  # one MinIO on one ReadWriteOnce volume: never two pods at once
            "selector": MINIO_LABELS,
            "pod_security": _pod_security(spec),
            "containers": [
                {
                    "name": "minio",
                    "image": spec.minio.image,
                    "imagePullPolicy": "IfNotPresent",
                    "args": ["server", "/data", "--console-address", f":{MINIO_UI_PORT}"],
                    "env": [*_root_credentials_env(), {"name": "HOME", "value": "/tmp"}],
                    "ports": [
                        {"name": "api", "containerPort": MINIO_API_PORT, "protocol": "TCP"},
                        {"name": "ui", "containerPort": MINIO_UI_PORT, "protocol": "TCP"},
                    ],
                    "livenessProbe": _tcp_probe("api", 20),
                    "readinessProbe": _tcp_probe("api", 10),
                    "resources": resources("200m", "512Mi", "1", "2Gi"),
                    "securityContext": restricted_container_security(),
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/data"},
                        {"name": "tmp", "mountPath": "/tmp"},
                        _ROOT_CREDENTIALS_MOUNT,
                    ],
                }
            ],
            "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": PVC_NAME}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                _root_credentials_volume(),
            ],
        },
    )


def service(spec: Spec, path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="Service",
        name=MINIO_SERVICE,
        context={
            "labels": MINIO_LABELS,
            "annotations": wave(WAVE_STORAGE),
            "selector": MINIO_LABELS,
            "ports": [
                {"name": "api", "port": MINIO_API_PORT, "targetPort": "api", "protocol": "TCP"},
                {"name": "ui", "port": MINIO_UI_PORT, "targetPort": "ui", "protocol": "TCP"},
            ],
        },
    )


def route(spec: Spec, path: str, name: str, target_port: str) -> Manifest:
    return Manifest(
        path=path,
        kind="Route",
        name=name,
        context={
            "labels": MINIO_LABELS,
            "annotations": wave(WAVE_STORAGE),
            "service": MINIO_SERVICE,
            "target_port": target_port,
        },
    )


def routes(spec: Spec, root: str) -> list[Manifest]:
    """The API and console Routes, where the platform has Routes (OpenShift)."""
    if not spec.profile.routes:
        return []
    return [
        route(spec, f"{root}/route-minio-api.yaml", "minio-api", "api"),
        route(spec, f"{root}/route-minio-ui.yaml", "minio-ui", "ui"),
    ]


def bucket_job(spec: Spec, path: str) -> Manifest:
    job_labels = {"app.kubernetes.io/name": BUCKET_JOB, "app.kubernetes.io/component": "object-store-setup"}
    return Manifest(
        path=path,
        kind="Job",
        name=BUCKET_JOB,
        context={
            "labels": job_labels,
            "annotations": wave(
                WAVE_BUCKET_JOB,
                **{
                    "argocd.argoproj.io/hook": "Sync",
                    "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
                    **_checkov_skips(spec),
                },
            ),
            "backoff_limit": 6,
            "pod_labels": job_labels,
            "pod_security": _pod_security(spec),
            "containers": [
                {
                    "name": BUCKET_JOB,
                    "image": spec.minio.image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "-c", CREATE_BUCKETS_SCRIPT],
                    "env": [
                        *_root_credentials_env(),
                        {"name": "MINIO_ENDPOINT", "value": f"http://{MINIO_SERVICE}:{MINIO_API_PORT}"},
                        {"name": "BUCKETS", "value": " ".join(spec.minio.buckets)},
                        {"name": "MC_CONFIG_DIR", "value": "/tmp/mc"},
                    ],
                    "resources": resources("50m", "64Mi", "500m", "256Mi"),
                    "securityContext": restricted_container_security(),
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, _ROOT_CREDENTIALS_MOUNT],
                }
            ],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}, _root_credentials_volume()],
        },
    )
