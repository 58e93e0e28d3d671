"""`train(source, out, params)`: data -> split by song -> fit -> evaluate -> ONNX -> parity -> model dir."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.data import Dataset, DataSource, load_data
from training.evaluate import confusion, evaluate, plot_confusion
from training.features import FEATURES, SONG_ID, TARGET
from training.model import Split, feature_matrix, fit, fit_info, split_by_song
from training.onnx_export import OPSET, OUTPUT, check_parity, export_onnx
from training.outdir import MODEL_PATH, SYNTHETIC_WARNING, atomic_dir, write_model_dir
from training.params import TrainingParams
from training.progress import QUIET, Progress

FORMAT_VERSION = 1
PARITY_ROWS = 20_000  # parity runs on (at most) this many held-out rows


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced. `metrics` is exactly the content of `<out>/metrics.json`."""

    out: Path
    model_path: Path
    labels: list[str]
    metrics: dict[str, Any]

    @property
    def labels_synthetic(self) -> bool:
        return bool(self.metrics["labels_synthetic"])


def train(
    source: DataSource | str,
    out: str | Path,
    params: TrainingParams | None = None,
    *,
    cache: str | Path | None = None,
    progress: Progress = QUIET,
) -> TrainResult:
    """Train, export and verify; `out` is replaced atomically only when every step (parity too) passed."""
    params = params or TrainingParams()
    out = Path(out).absolute()
    started = time.perf_counter()
    with atomic_dir(out) as work:
        with progress.step("loading data"):
            dataset = load_data(source, cache, progress)
        if dataset.labels_synthetic:
            progress.note(f"WARNING: {SYNTHETIC_WARNING}")
        split = split_by_song(dataset.frame, params.test_size, params.seed)
        with progress.step(f"fitting the MLP on {len(split.train)} rows"):
            fit_started = time.perf_counter()
            pipeline = fit(split.train, params)
            fit_seconds = time.perf_counter() - fit_started
        labels = [str(c) for c in pipeline.named_steps["mlp"].classes_]
        X_test = feature_matrix(split.test)
        with progress.step("evaluating and exporting ONNX"):
            proba = pipeline.predict_proba(X_test)
            scores = evaluate(proba, labels, split.test[TARGET].to_numpy(), X_test, dataset.oracle)
            model_bytes = export_onnx(pipeline, _onnx_metadata(dataset, params))
            matrix = confusion(labels, split.test[TARGET].to_numpy(), np.asarray(labels)[proba.argmax(axis=1)])
            plot_confusion(matrix, labels, work / "confusion_matrix.png", _plot_title(dataset, scores))
        with progress.step("parity checks (onnxruntime, OpenVINO)"):
            (work / MODEL_PATH).parent.mkdir(parents=True)
            (work / MODEL_PATH).write_bytes(model_bytes)
            parity = check_parity(pipeline, work / MODEL_PATH, X_test[:PARITY_ROWS])
        timing = {"fit": fit_seconds, "total": time.perf_counter() - started}
        metrics = _metrics(dataset, split, params, pipeline, scores, parity, model_bytes, labels, timing)
        write_model_dir(work, model_bytes, labels, metrics)
    return TrainResult(out, out / MODEL_PATH, labels, metrics)


def _plot_title(dataset: Dataset, scores: dict[str, Any]) -> str:
    title = f"held-out confusion matrix, accuracy {scores['accuracy']:.3f}"
    return title + "\nSYNTHETIC LABELS (sample data)" if dataset.labels_synthetic else title


def _onnx_metadata(dataset: Dataset, params: TrainingParams) -> dict[str, Any]:
    return {
        "data_fingerprint": dataset.fingerprint,
        "labels_synthetic": dataset.labels_synthetic,
        "training_params": params.model_dump(by_alias=True),
    }


def _metrics(
    dataset: Dataset,
    split: Split,
    params: TrainingParams,
    pipeline: Any,
    scores: dict[str, Any],
    parity: dict[str, float],
    model_bytes: bytes,
    labels: list[str],
    timing: dict[str, float],
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "labels_synthetic": dataset.labels_synthetic,
        "warning": SYNTHETIC_WARNING if dataset.labels_synthetic else None,
        "data": {"source": dataset.source, "fingerprint": dataset.fingerprint, **dataset.stats},
        "split": {
            "by": SONG_ID,
            "seed": params.seed,
            "test_size": params.test_size,
            "train_rows": len(split.train),
            "test_rows": len(split.test),
            "train_songs": int(split.train[SONG_ID].nunique()),
            "test_songs": int(split.test[SONG_ID].nunique()),
        },
        "params": params.model_dump(by_alias=True),
        "fit": fit_info(pipeline),
        "metrics": scores,
        "parity": parity,
        "model": {
            "path": MODEL_PATH.as_posix(),
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
            "format": "onnx",
            "opset": OPSET,
            "inputs": list(FEATURES),
            "input_shape": [-1, 1],
            "output": OUTPUT,
            "output_shape": [-1, len(labels)],
            "labels": labels,
        },
        "timing_seconds": timing,
    }
