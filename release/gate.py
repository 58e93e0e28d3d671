"""The quality gate: is a new model good enough to replace the one an environment pins?"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from generator.pin_file import Pin
from generator.spec import ReleaseGate


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
