"""Pure functions: version strings, the quality gate, model info (no servers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.pins import Pin, PinnedArtifact, RegistryIds
from generator.spec import ReleaseGate
from jukebox.errors import InputError
from release.model_metrics import read_model_metrics
from release.pinning import quality_gate
from release.versions import check_version, next_patch


def test_next_patch() -> None:
    assert next_patch([]) == "0.0.1"
    assert next_patch(["0.0.1", "0.0.9", "0.0.10", "custom"]) == "0.0.11"
    assert next_patch(["1.2.3", "0.9.9"]) == "1.2.4"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "-1", "x" * 64, "1..2"])
def test_bad_versions_are_refused(bad: str) -> None:
    with pytest.raises(InputError):
        check_version(bad)


def _pin(accuracy: float) -> Pin:
    return Pin(
        model="m",
        environment="dev",
        version="0.0.1",
        registry=RegistryIds(name="r", registered_model_id="1", model_version_id="2", model_artifact_id="3"),
        artifact=PinnedArtifact(uri="s3://b/p", storage_key="k", storage_path="p", sha256="0" * 64),
        metrics={"accuracy": accuracy, "loss": 1.0},
    )


def test_quality_gate_rules() -> None:
    higher = ReleaseGate(primary_metric="accuracy", rule="higher-is-better", tolerance=0.01)
    assert quality_gate(higher, {"accuracy": 0.1}, None).passed
    assert quality_gate(higher, {"accuracy": 0.495}, _pin(0.5)).passed  # within tolerance
    assert not quality_gate(higher, {"accuracy": 0.48}, _pin(0.5)).passed
    assert not quality_gate(higher, {}, _pin(0.5)).passed  # nothing to compare with
    lower = ReleaseGate(primary_metric="loss", rule="lower-is-better", tolerance=0.0)
    assert quality_gate(lower, {"loss": 0.9}, _pin(0.5)).passed
    refused = quality_gate(lower, {"loss": 1.1}, _pin(0.5))
    assert not refused.passed and "loss 1.1000 vs pinned 0.0.1 1.0000" in refused.message


def test_model_metrics_from_training_metrics(tmp_path: Path) -> None:
    document = {
        "format_version": 1,
        "metrics": {"accuracy": 0.6, "bayes_optimal_accuracy": None, "test_rows": 10},
        "data": {"fingerprint": "abc"},
        "params": {"a": 1},
        "model": {"sha256": "0" * 64},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(document))
    info = read_model_metrics(tmp_path / "metrics.json")
    assert info.metrics == {"accuracy": 0.6, "test_rows": 10.0}  # null means "not measured"
    assert info.data_fingerprint == "abc"
    assert info.params == {"a": 1} and info.model_sha256 == "0" * 64
