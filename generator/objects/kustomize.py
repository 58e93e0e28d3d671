"""kustomization.yaml files: which objects a directory holds, its namespace, patches and labels."""

from __future__ import annotations

from typing import Any

from generator.objects.common import Manifest


def kustomization(
    path: str,
    resources: list[str],
    namespace: str | None = None,
    patches: list[str] | None = None,
    part_of: str | None = None,
) -> Manifest:
    # `labels` with includeSelectors false, not commonLabels: selectors stay as generated.
    labels: list[dict[str, Any]] = (
        [{"pairs": {"app.kubernetes.io/part-of": part_of}, "includeSelectors": False}] if part_of else []
    )
    return Manifest(
        path=path,
        kind="Kustomization",
        context={
            "namespace": namespace or "",  # empty keys are dropped after parsing
            "resources": resources,
            "patches": [{"path": patch} for patch in sorted(patches or [])],
            "labels": labels,
        },
    )
