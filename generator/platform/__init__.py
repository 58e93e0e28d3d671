"""The platform layer: what a cluster needs before Argo CD can sync the model manifests.

`layer` builds its Kustomize trees (manifests/platform/), `settings` is the spec's `platform:` section,
`objects` the builders, `names` the names shared with the provisioning script, `health` our Argo CD health
check. Attributes load lazily: `generator.spec` imports `settings` while this package is still importing.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CRDS_DIR": "generator.platform.layer",
    "cluster_settings": "generator.platform.layer",
    "kind_manifests": "generator.platform.layer",
    "openshift_manifests": "generator.platform.layer",
    "platform_manifests": "generator.platform.layer",
    "Operator": "generator.platform.objects",
    "operators": "generator.platform.objects",
    "KindSettings": "generator.platform.settings",
    "PlatformSettings": "generator.platform.settings",
    "RegistryDatabase": "generator.platform.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'generator.platform' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
