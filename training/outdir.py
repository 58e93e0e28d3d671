"""The model directory in the OVMS repository layout, written atomically.

<out>/1/model.onnx, <out>/labels.json, <out>/feature_ranges.json, <out>/metrics.json,
<out>/confusion_matrix.png, <out>/MODEL_CARD.md. Only model.onnx is under `1/`: OVMS (and release's
admission check) see one file per version; everything else lives at the top level.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jukebox.errors import InputError
from training.evaluate import BASELINE_KEYS
from training.model_files import (
    METRICS_FILE,
    MODEL_CARD_FILE,
    MODEL_PATH,
    write_json,
    write_labels,
    write_metrics,
)
from training.ranges import RANGES_FILE

SYNTHETIC_WARNING = (
    "SYNTHETIC LABELS: the country labels of `sample` data come from a generator, not from real charts. "
    "The metrics measure the pipeline, not real listeners."
)


def check_out_dir(out: Path, markers: tuple[str, ...] = (METRICS_FILE, MODEL_PATH.as_posix())) -> None:
    """Refuse an --out that is a file or a non-empty directory without one of `markers` (a previous run)."""
    if not out.exists():
        if not out.parent.is_dir():
            raise InputError(f"--out {out}: parent directory {out.parent} does not exist")
        return
    if not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    if any(out.iterdir()) and not any((out / marker).exists() for marker in markers):
        raise InputError(
            f"--out {out}: non-empty directory without {' or '.join(markers)} (not a previous output); "
            "refusing to replace it"
        )


@contextmanager
def atomic_dir(out: Path, markers: tuple[str, ...] = (METRICS_FILE, MODEL_PATH.as_posix())) -> Iterator[Path]:
    """Yield a temp dir beside `out`; on success it replaces `out` by rename, on failure it vanishes."""
    out = out.absolute()
    check_out_dir(out, markers)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        tmp.chmod(0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_model_dir(
    directory: Path,
    model_bytes: bytes,
    labels: list[str],
    metrics: dict[str, Any],
    ranges: dict[str, dict[str, float]] | None = None,
) -> Path:
    """Write model.onnx, labels.json, feature_ranges.json, metrics.json and MODEL_CARD.md; return the model path."""
    model_path = directory / MODEL_PATH
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_bytes(model_bytes)
    write_labels(directory, labels)
    if ranges is not None:
        write_json(directory / RANGES_FILE, ranges)
    write_metrics(directory, metrics)
    (directory / MODEL_CARD_FILE).write_text(model_card(metrics), encoding="utf-8")
    return model_path


def fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "n/a" if value is None else str(value)


def comparison_rows(metrics: dict[str, Any]) -> list[tuple[str, ...]]:
    """(metric, model, prior, chance, lift over prior[, oracle]) for every metric the baselines score."""
    baselines, lift = metrics["baselines"], metrics["lift_over_prior"]
    oracle = baselines.get("oracle")
    header = ("metric", "model", "prior", "chance", "lift vs prior", *(("oracle",) if oracle else ()))
    rows = [header]
    for key in BASELINE_KEYS:
        lifted = lift.get(key)
        cells = [
            key,
            fmt(metrics["metrics"][key]),
            fmt(baselines["prior"][key]),
            fmt(baselines["chance"][key]),
            "n/a" if lifted is None else f"{lifted:.2f}x",
        ]
        if oracle:
            cells.append(fmt(oracle[key]))
        rows.append(tuple(cells))
    return rows


def model_card(metrics: dict[str, Any]) -> str:
    data, scores, model = metrics["data"], metrics["metrics"], metrics["model"]
    lines = ["# Model card: jukebox country classifier", ""]
    if metrics["labels_synthetic"]:
        lines += [f"> **WARNING — {SYNTHETIC_WARNING}**", ""]
    comparison = comparison_rows(metrics)
    lines += [
        "Predicts which countries' charts a song lands in from 13 audio features "
        f"({', '.join(model['inputs'])}), sent as raw values (the model scales them itself; do not "
        f"MinMax-scale them). Output `{model['output']}`: one column per country, in the order of "
        f"`labels.json` ({len(model['labels'])} countries); {model['output_meaning']}.",
        "",
        "## Data",
        "",
        f"- source: `{data['source']}`",
        f"- fingerprint (sha256 of the cleaned table): `{data['fingerprint']}`",
        f"- rows {data['rows']}, songs {data['songs']}, countries {data['countries']}; dropped: "
        f"{data['rows_without_country']} without a country (global chart), "
        f"{data['rows_dropped_missing_values']} with missing feature values, "
        f"{data['rows_without_song_properties']} without song properties, "
        f"{data['rows_outside_dates']} outside the date range",
        f"- split by song, seed {metrics['split']['seed']}: {metrics['split']['train_songs']} train songs "
        f"({metrics['split']['train_rows']} rows), {metrics['split']['test_songs']} test songs "
        f"({metrics['split']['test_rows']} rows)",
        "",
        "## Parameters",
        "",
        *[f"- {key}: `{json.dumps(value)}`" for key, value in metrics["params"].items()],
        "",
        "## Held-out metrics against the baselines",
        "",
        "prior = the same country scores for every song (each country's share of training songs); chance = "
        "a uniformly random ranking (exact expectation); lift = model / prior. Definitions: docs/training.md.",
        "",
        "| " + " | ".join(comparison[0]) + " |",
        "|" + "---|" * len(comparison[0]),
        *["| " + " | ".join(row) + " |" for row in comparison[1:]],
        "",
        "| other metric | value |",
        "|---|---|",
        *[f"| {key} | {fmt(scores[key])} |" for key in OTHER_METRIC_KEYS],
        "",
        "## Model",
        "",
        f"- `{model['path']}`: ONNX opset {model['opset']}, sha256 `{model['sha256']}`",
        f"- output semantics: {model['output_meaning']}",
        f"- training ranges of the features: `{model['feature_ranges']}` (and ONNX metadata "
        "`feature_ranges`); `jukebox serve` and `jukebox predict` flag inputs far outside them",
        f"- parity: onnxruntime vs scikit-learn {metrics['parity']['onnxruntime_vs_sklearn']:.2e}, "
        f"OpenVINO vs onnxruntime {metrics['parity']['openvino_vs_onnxruntime']:.2e} (max abs difference)",
        f"- training time {metrics['timing_seconds']['fit']:.1f} s ({metrics['fit']['epochs']} epochs, best "
        f"{metrics['fit']['best_epoch']}, stopped by {metrics['fit']['stopped_by']}), "
        f"total {metrics['timing_seconds']['total']:.1f} s",
        "",
    ]
    return "\n".join(lines)


OTHER_METRIC_KEYS = ("precision_macro", "recall_macro", "f1_macro", "bayes_optimal_accuracy", "accuracy_vs_bayes")
