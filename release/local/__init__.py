"""Embedded local services: a real S3 server (SeaweedFS) and a local Kubeflow Model Registry.

Used when nothing is configured, so the release loop runs on a laptop without a cluster or network.
State (data, logs, pids, ports, generated credentials) lives in `<repo>/.jukebox/local`, or
`$JUKEBOX_STATE_DIR`, or the `state_dir` given.
"""

from release.local.registry_server import running_registry
from release.local.services import (
    LocalServices,
    LocalStatus,
    ServiceStatus,
    ensure_local_services,
    local_status,
    registry_client,
    stop_local_services,
)
from release.local.state import resolve_state_dir

__all__ = [
    "LocalServices",
    "LocalStatus",
    "ServiceStatus",
    "ensure_local_services",
    "local_status",
    "registry_client",
    "resolve_state_dir",
    "running_registry",
    "stop_local_services",
]
