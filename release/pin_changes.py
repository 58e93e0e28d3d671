"""What a release changes in the GitOps repository (pin files) and the git commands that ship it."""

from __future__ import annotations

import shlex
from pathlib import Path

from generator.pin_file import Pin, PinnedArtifact, RegistryIds, pins_dir
from generator.repo import repo_of_spec
from generator.spec import Spec
from release.registry import RegisteredVersion


def make_pin(spec: Spec, environment: str, entry: RegisteredVersion) -> Pin:
    """The pin of `entry` (a registered version with its artifact) for `environment`."""
    return Pin(
        model=spec.model.name,
        environment=environment,
        version=entry.version,
        registry=RegistryIds(
            name=spec.registry.name,
            registered_model_id=entry.registered_model_id,
            model_version_id=entry.model_version_id,
            model_artifact_id=entry.model_artifact_id,
        ),
        artifact=PinnedArtifact(
            uri=entry.uri,
            storage_key=entry.storage_key,
            storage_path=entry.storage_path,
            sha256=entry.sha256,
            manifest_sha256=entry.manifest_sha256 or None,
        ),
        metrics=entry.metrics,
    )


def describe_pin_change(old: Pin | None, new: Pin) -> str:
    if old is None:
        return f"pinned {new.environment}: (nothing) -> {new.version}"
    if old == new:
        return f"{new.environment} already pinned to {new.version}: unchanged"
    return f"pinned {new.environment}: {old.version} -> {new.version}"


def ship_commands(spec_path: Path, message: str) -> list[str]:
    """The git commands that ship the written pin files and manifests (run from the repo root)."""
    root = repo_of_spec(spec_path)
    pins = pins_dir(spec_path.resolve()).relative_to(root).as_posix()
    return [
        f"cd {shlex.quote(str(root))}",
        f"git add {shlex.quote(pins)} manifests",
        f"git commit -m {shlex.quote(message)}",
        "git push",
    ]
