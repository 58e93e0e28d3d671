"""Our Argo CD health check for KServe InferenceServices (the Lua beside this file).

Delivered where each Argo CD reads it: the ArgoCD CR's `spec.resourceHealthChecks` on OpenShift GitOps,
`argocd-cm` key `resource.customizations.health.serving.kserve.io_InferenceService` on plain Argo CD.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

GROUP = "serving.kserve.io"
KIND = "InferenceService"
ARGOCD_CM_KEY = f"resource.customizations.health.{GROUP}_{KIND}"
LUA_FILE = Path(__file__).with_name("inferenceservice_health.lua")


@cache
def inferenceservice_check() -> str:
    """The Lua source Argo CD runs with the InferenceService as the global `obj`."""
    return LUA_FILE.read_text(encoding="utf-8")
