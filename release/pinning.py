"""Pins (which registered version an environment deploys), the quality gate, and what to tell the user."""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from generator.pins import Pin, PinnedArtifact, RegistryIds, pins_dir
from generator.spec import ReleaseGate, Spec
from release.registry import RegisteredVersion


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    message: str


def quality_gate(gate: ReleaseGate, metrics: Mapping[str, float], pinned: Pin | None) -> GateDecision:
    """Compare the new model's primary metric with the pinned one's, within `gate.tolerance`.

    Refuses whenever it cannot compare: the metric missing or not finite on either side (NaN compares
    false with everything, so it would pass every later model). Only `--force` gets past a refusal.
    """
    name = gate.primary_metric
    if pinned is None:
        return GateDecision(True, "quality gate: nothing pinned yet")
    if name not in pinned.metrics:
        return GateDecision(False, f"quality gate refused: the pinned {pinned.version} has no {name} to compare with")
    old = pinned.metrics[name]
    if name not in metrics:
        return GateDecision(False, f"quality gate refused: the new model has no {name} to compare with {old:.4f}")
    new = float(metrics[name])
    for side, value in ((f"the pinned {pinned.version}'s", old), ("the new model's", new)):
        if not math.isfinite(value):
            return GateDecision(False, f"quality gate refused: {side} {name} is {value}, not a finite number")
    higher = gate.rule == "higher-is-better"
    worse_by = (old - new) if higher else (new - old)
    verdict = f"{name} {new:.4f} vs pinned {pinned.version} {old:.4f} ({gate.rule}, tolerance {gate.tolerance:g})"
    if worse_by > gate.tolerance:
        return GateDecision(False, f"quality gate refused: {verdict}")
    return GateDecision(True, f"quality gate passed: {verdict}")


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


def repo_root(spec_path: Path) -> Path:
    """The GitOps repo root: the parent of the `specs/` directory holding the spec."""
    return spec_path.resolve().parent.parent


def ship_commands(spec_path: Path, message: str) -> list[str]:
    """The git commands that ship the written pin files and manifests (run from the repo root)."""
    root = repo_root(spec_path)
    pins = pins_dir(spec_path.resolve()).relative_to(root).as_posix()
    return [
        f"cd {shlex.quote(str(root))}",
        f"git add {shlex.quote(pins)} manifests",
        f"git commit -m {shlex.quote(message)}",
        "git push",
    ]
