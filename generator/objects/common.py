"""Pieces shared by the object builders: the Manifest record, sync waves, hardening defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Argo CD sync waves in the order of the platform reference.
WAVE_NAMESPACE = "0"
WAVE_RBAC = "1"
WAVE_STORAGE = "2"
WAVE_BUCKET_JOB = "3"
WAVE_SERVING_RUNTIME = "4"
WAVE_INFERENCE_SERVICE = "5"

DASHBOARD_LABEL = {"opendatahub.io/dashboard": "true"}
SPEC_ANNOTATION_PREFIX = "jukebox.rhoai-mlops.io"


@dataclass(frozen=True)
class Manifest:
    """One generated file: where it goes, which template renders it, with which values."""

    path: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None
    name: str | None = None

    @property
    def is_kustomization(self) -> bool:
        return self.path.endswith("kustomization.yaml")


def wave(value: str, **extra: str) -> dict[str, str]:
    return {"argocd.argoproj.io/sync-wave": value, **extra}


def restricted_container_security(read_only_root: bool = True) -> dict[str, Any]:
    """The `restricted` Pod Security Standard for one container."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_pod_security(fixed_uid: int | None = None) -> dict[str, Any]:
    """Pod-level `restricted` settings. No runAsUser on OpenShift: its restricted-v2 SCC assigns one from
    the namespace's range (and refuses a fixed one). Where nothing assigns it (kind), `fixed_uid` sets a
    numeric user, group and fsGroup: the kubelet refuses runAsNonRoot for an image whose user is root
    or a name."""
    security: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if fixed_uid is not None:
        security.update({"runAsUser": fixed_uid, "runAsGroup": fixed_uid, "fsGroup": fixed_uid})
    return security


def resources(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu_request, "memory": memory_request},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }
