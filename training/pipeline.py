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
from training.features import FEATURES, SONG_ID
from training.model import Model, Split, feature_matrix, fit, split_by_song
from training.model_files import METRICS_FORMAT_VERSION, MODEL_PATH
from training.onnx_export import OPSET, OUTPUT, OUTPUT_SEMANTICS, check_parity, export_onnx
from training.outdir import SYNTHETIC_WARNING, atomic_dir, write_model_dir
from training.params import TrainingParams
from training.progress import QUIET, Progress
from training.ranges import METADATA_KEY, RANGES_FILE, Ranges, ranges_json, training_ranges

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
    """Train, export and verify; `out` is replaced atomically only when every step (parity too) passed.

    An interrupt (KeyboardInterrupt, or the CLI's Interrupted on SIGINT/SIGTERM) propagates, even from
    inside scikit-learn's fit, and leaves `out` untouched and no temp dir behind.
    """
    params = params or TrainingParams()
    out = Path(out).absolute()
    started = time.perf_counter()
    with atomic_dir(out) as work:
        with progress.step("loading data"):
            dataset = load_data(source, cache, progress)
        if dataset.labels_synthetic:
            progress.note(f"WARNING: {SYNTHETIC_WARNING}")
        split = split_by_song(dataset.frame, params.test_size, params.seed)
        songs = split.train[SONG_ID].nunique()
        with progress.step(f"fitting the MLP ({params.head} head) on {songs} songs, {len(split.train)} chart rows"):
            fit_started = time.perf_counter()
            model = fit(split.train, params)
            fit_seconds = time.perf_counter() - fit_started
        ranges = training_ranges(feature_matrix(split.train.drop_duplicates(SONG_ID)))
        X_test = feature_matrix(split.test)
        with progress.step("evaluating and exporting ONNX"):
            evaluation = evaluate(model.scores, model.labels, split.test, split.train, feature_matrix, dataset.oracle)
            model_bytes = export_onnx(model, _onnx_metadata(dataset, params, ranges))
            _plot(model, split, X_test, evaluation, dataset, work)
        with progress.step("parity checks (onnxruntime, OpenVINO)"):
            (work / MODEL_PATH).parent.mkdir(parents=True)
            (work / MODEL_PATH).write_bytes(model_bytes)
            parity = check_parity(model, work / MODEL_PATH, X_test[:PARITY_ROWS])
        timing = {"fit": fit_seconds, "total": time.perf_counter() - started}
        metrics = _metrics(dataset, split, params, model, evaluation, parity, model_bytes, timing)
        write_model_dir(work, model_bytes, model.labels, metrics, ranges)
    return TrainResult(out, out / MODEL_PATH, model.labels, metrics)


def _plot(
    model: Model, split: Split, X_test: np.ndarray, evaluation: dict[str, Any], dataset: Dataset, work: Path
) -> None:
    labels = model.labels
    predicted = np.asarray(labels)[model.scores(X_test).argmax(axis=1)]
    matrix = confusion(labels, split.test["country"].to_numpy(), predicted)
    title = f"held-out confusion matrix, accuracy {evaluation['metrics']['accuracy']:.3f}"
    if dataset.labels_synthetic:
        title += "\nSYNTHETIC LABELS (sample data)"
    plot_confusion(matrix, labels, work / "confusion_matrix.png", title)


def _onnx_metadata(dataset: Dataset, params: TrainingParams, ranges: Ranges) -> dict[str, Any]:
    return {
        "data_fingerprint": dataset.fingerprint,
        "labels_synthetic": dataset.labels_synthetic,
        "training_params": params.model_dump(by_alias=True),
        METADATA_KEY: ranges_json(ranges),
    }


def _metrics(
    dataset: Dataset,
    split: Split,
    params: TrainingParams,
    model: Model,
    evaluation: dict[str, Any],
    parity: dict[str, float],
    model_bytes: bytes,
    timing: dict[str, float],
) -> dict[str, Any]:
    return {
        "format_version": METRICS_FORMAT_VERSION,
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
        "fit": model.info,
        **evaluation,
        "parity": parity,
        "model": {
            "path": MODEL_PATH.as_posix(),
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
            "format": "onnx",
            "opset": OPSET,
            "inputs": list(FEATURES),
            "input_shape": [-1, 1],
            "output": OUTPUT,
            "output_shape": [-1, len(model.labels)],
            "output_semantics": model.head,
            "output_meaning": OUTPUT_SEMANTICS[model.head],
            "labels": model.labels,
            "feature_ranges": RANGES_FILE,
        },
        "timing_seconds": timing,
    }
