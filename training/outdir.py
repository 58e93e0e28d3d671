"""The model directory in the OVMS repository layout, written atomically.

<out>/1/model.onnx, <out>/labels.json, <out>/metrics.json, <out>/confusion_matrix.png, <out>/MODEL_CARD.md
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

MODEL_PATH = Path("1") / "model.onnx"
SYNTHETIC_WARNING = (
    "SYNTHETIC LABELS: the country labels of `sample` data come from a generator, not from real charts. "
    "The metrics measure the pipeline, not real listeners."
)


def check_out_dir(out: Path, markers: tuple[str, ...] = ("metrics.json", "1/model.onnx")) -> None:
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
def atomic_dir(out: Path, markers: tuple[str, ...] = ("metrics.json", "1/model.onnx")) -> Iterator[Path]:
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


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_model_dir(directory: Path, model_bytes: bytes, labels: list[str], metrics: dict[str, Any]) -> Path:
    """Write model.onnx, labels.json, metrics.json and MODEL_CARD.md into `directory`; return the model path."""
    model_path = directory / MODEL_PATH
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_bytes(model_bytes)
    write_json(directory / "labels.json", labels)
    write_json(directory / "metrics.json", metrics)
    (directory / "MODEL_CARD.md").write_text(model_card(metrics), encoding="utf-8")
    return model_path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "n/a" if value is None else str(value)


def model_card(metrics: dict[str, Any]) -> str:
    data, scores, model = metrics["data"], metrics["metrics"], metrics["model"]
    lines = ["# Model card: jukebox country classifier", ""]
    if metrics["labels_synthetic"]:
        lines += [f"> **WARNING — {SYNTHETIC_WARNING}**", ""]
    lines += [
        "Predicts which country's charts a song lands in from 13 audio features "
        f"({', '.join(model['inputs'])}). Output `{model['output']}`: probabilities over "
        f"{len(model['labels'])} countries, in the order of `labels.json`.",
        "",
        "## Data",
        "",
        f"- source: `{data['source']}`",
        f"- fingerprint (sha256 of the cleaned table): `{data['fingerprint']}`",
        f"- rows {data['rows']}, songs {data['songs']}, countries {data['countries']}; "
        f"dropped for missing values {data['rows_dropped_missing_values']}, "
        f"without song properties {data['rows_without_song_properties']}",
        f"- split by song, seed {metrics['split']['seed']}: {metrics['split']['train_songs']} train songs "
        f"({metrics['split']['train_rows']} rows), {metrics['split']['test_songs']} test songs "
        f"({metrics['split']['test_rows']} rows)",
        "",
        "## Parameters",
        "",
        *[f"- {key}: `{json.dumps(value)}`" for key, value in metrics["params"].items()],
        "",
        "## Held-out metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {key} | {_fmt(scores[key])} |" for key in METRIC_KEYS],
        "",
        "## Model",
        "",
        f"- `{model['path']}`: ONNX opset {model['opset']}, sha256 `{model['sha256']}`",
        f"- parity: onnxruntime vs scikit-learn {metrics['parity']['onnxruntime_vs_sklearn']:.2e}, "
        f"OpenVINO vs onnxruntime {metrics['parity']['openvino_vs_onnxruntime']:.2e} (max abs difference)",
        f"- training time {metrics['timing_seconds']['fit']:.1f} s ({metrics['fit']['epochs']} epochs), "
        f"total {metrics['timing_seconds']['total']:.1f} s",
        "",
    ]
    return "\n".join(lines)


METRIC_KEYS = (
    "accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "top3_accuracy",
    "bayes_optimal_accuracy",
    "accuracy_vs_bayes",
)
