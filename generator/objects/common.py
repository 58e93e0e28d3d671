"""Pieces shared by the object builders: the Manifest record, sync waves, hardening defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.kinds import KINDS, template_of

# Argo CD sync waves in the order of the platform reference.
WAVE_NAMESPACE = "0"
WAVE_RBAC = "1"
WAVE_STORAGE = "2"
WAVE_BUCKET_JOB = "3"
WAVE_SERVING_RUNTIME = "4"
WAVE_INFERENCE_SERVICE = "5"
# Pipelines (environment Application): the server after MinIO's buckets exist (the storage Application's
# waves 2-3; Applications sync independently, so the DSPA also retries its storage check), then the Pipeline,
# then its versions (the pipeline server's webhook checks a version's pipeline exists).
WAVE_PIPELINE_SERVER = "4"
WAVE_PIPELINE = "5"
WAVE_PIPELINE_VERSION = "6"

DASHBOARD_LABEL = {"opendatahub.io/dashboard": "true"}
SPEC_ANNOTATION_PREFIX = "jukebox.rhoai-mlops.io"


# Context keys that make up an object's metadata; empty ones are left out of the document.
METADATA_KEYS = ("namespace", "labels", "annotations")


@dataclass(frozen=True)
class Manifest:
    """One generated file: where it goes, the object's kind and name, and the values its template places.

    The template is the kind's (`generator.kinds`, one per kind); `api_version` overrides the kind's own
    where the platform profile decides it."""

    path: str
    kind: str
    name: str | None = None  # None for a kustomization.yaml
    context: dict[str, Any] = field(default_factory=dict)
    api_version: str | None = None

    @property
    def template(self) -> str:
        return template_of(self.kind)

    @property
    def is_kustomization(self) -> bool:
        return self.kind == "Kustomization"

    def values(self) -> dict[str, Any]:
        """What the template receives: the context, the apiVersion and (but for kustomizations) metadata."""
        values = {**self.context, "api_version": self.api_version or KINDS[self.kind].api_version}
        if not self.is_kustomization:
            present = {key: self.context[key] for key in METADATA_KEYS if self.context.get(key)}
            values["metadata"] = {"name": self.name, **present}
        return values


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


def role_ref(kind: str, name: str) -> dict[str, str]:
    """A (Cluster)RoleBinding's roleRef."""
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}
