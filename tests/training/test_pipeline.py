"""train(): the model directory, metrics.json, reproducibility and atomic --out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jukebox.errors import CheckFailed, InputError
from training import pipeline as pipeline_module
from training.params import TrainingParams
from training.pipeline import TrainResult, train

from .conftest import SMALL_SOURCE


def test_model_dir_layout(trained: TrainResult) -> None:
    names = sorted(p.relative_to(trained.out).as_posix() for p in trained.out.rglob("*"))
    assert names == [
        "1", "1/model.onnx", "MODEL_CARD.md", "confusion_matrix.png", "feature_ranges.json", "labels.json",
        "metrics.json",
    ]  # fmt: skip
    assert (trained.out / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(trained.out.parent.glob(".*"))  # no temp dir left beside it
    card = (trained.out / "MODEL_CARD.md").read_text()
    assert "SYNTHETIC LABELS" in card and trained.metrics["data"]["fingerprint"] in card
    assert "| metric | model | prior | chance | lift vs prior | oracle |" in card
    assert "p(country | song)" in card and "do not MinMax-scale" in card


def test_metrics_json(trained: TrainResult) -> None:
    metrics = json.loads((trained.out / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(trained.metrics))
    assert metrics["labels_synthetic"] is True and "SYNTHETIC" in metrics["warning"]
    scores = metrics["metrics"]
    assert 0 < scores["accuracy"] <= scores["top3_accuracy"] <= 1
    assert 0 < scores["bayes_optimal_accuracy"] < 1
    assert scores["accuracy_vs_bayes"] == pytest.approx(scores["accuracy"] / scores["bayes_optimal_accuracy"])
    assert metrics["model"]["labels"] == trained.labels
    assert metrics["params"]["hiddenLayers"] == [16]
    assert metrics["split"]["train_rows"] + metrics["split"]["test_rows"] == metrics["data"]["rows"]
    assert metrics["parity"]["onnxruntime_vs_sklearn"] <= 1e-5
    for name in ("chance", "prior", "oracle"):
        baseline = metrics["baselines"][name]
        assert set(baseline) == {"accuracy", "top3_accuracy", "recall_at_5", "recall_at_10", "mean_average_precision"}
    assert scores["accuracy"] > metrics["baselines"]["prior"]["accuracy"] > 0
    assert metrics["lift_over_prior"]["accuracy"] == pytest.approx(
        scores["accuracy"] / metrics["baselines"]["prior"]["accuracy"]
    )
    assert metrics["model"]["output_semantics"] == "softmax"
    assert metrics["fit"]["epochs"] <= 40 and metrics["fit"]["best_epoch"] <= metrics["fit"]["epochs"]


def test_same_data_and_seed_give_same_bytes_and_metrics(
    trained: TrainResult, small_params: TrainingParams, tmp_path: Path
) -> None:
    again = train(SMALL_SOURCE, tmp_path / "again", small_params)
    assert again.model_path.read_bytes() == trained.model_path.read_bytes()
    assert again.metrics["metrics"] == trained.metrics["metrics"]
    other = train(SMALL_SOURCE, tmp_path / "other", small_params.model_copy(update={"seed": 8}))
    assert other.model_path.read_bytes() != trained.model_path.read_bytes()


def test_failed_parity_leaves_nothing_and_keeps_the_old_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "m"
    params = TrainingParams(hidden_layers=[4], max_iter=3)
    train(SMALL_SOURCE, out, params)
    before = (out / "1" / "model.onnx").read_bytes()

    def broken(*args: object) -> dict[str, float]:
        raise CheckFailed("parity check failed: simulated")

    monkeypatch.setattr(pipeline_module, "check_parity", broken)
    with pytest.raises(CheckFailed):
        train(SMALL_SOURCE, out, params.model_copy(update={"seed": 1}))
    assert (out / "1" / "model.onnx").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    with pytest.raises(CheckFailed):
        train(SMALL_SOURCE, tmp_path / "new", params)
    assert not (tmp_path / "new").exists()


def test_refuses_to_replace_an_unrelated_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a previous output"):
        train(SMALL_SOURCE, tmp_path, TrainingParams(max_iter=1))
    assert (tmp_path / "notes.txt").read_text() == "mine"
