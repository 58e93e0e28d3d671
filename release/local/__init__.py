"""Embedded local services: a real S3 server (SeaweedFS) and a local Kubeflow Model Registry.

Used when nothing is configured, so the release loop runs on a laptop without a cluster or network.
State (data, logs, pids, ports, generated credentials) lives in `<repo>/.jukebox/local`, or
`$JUKEBOX_STATE_DIR`, or the `state_dir` given.
"""

from typing import Any

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


def __getattr__(name: str) -> Any:
    # The in-process registry pulls in aiohttp and the client's models: import it only when asked for,
    # so `jukebox --help` stays fast.
    if name == "running_registry":
        from release.local.registry_server import running_registry

        return running_registry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
