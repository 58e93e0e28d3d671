"""The files of a model directory, the contract between training (writes), release and serving (read).

`1/model.onnx` (OVMS layout), `labels.json` (a JSON list of strings: the country of each output column),
`metrics.json` (below), `feature_ranges.json` (`training.ranges`) and `MODEL_CARD.md`. One module writes
and reads them for every side.

`metrics.json` carries a `format_version`. Formats 1 and 2 (2 added baselines, lift, fit details and
feature ranges, see docs/training.md) are read the same way as far as a release reads them: `metrics`
(name -> number or null; null = not measured), `data.fingerprint` (string), `params` (mapping),
`model.sha256` (sha256 of `1/model.onnx`). Every other key is kept in the file, not read. Another
format_version is refused rather than guessed at. A metric must be a finite number: NaN compares false
and would switch the quality gate off.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jukebox.errors import InputError
from jukebox.inputs import parse_json, read_text

MODEL_PATH = Path("1") / "model.onnx"
LABELS_FILE = "labels.json"
METRICS_FILE = "metrics.json"
MODEL_CARD_FILE = "MODEL_CARD.md"
METRICS_FORMAT_VERSION = 2  # what training writes
FORMAT_VERSIONS = (1, 2)  # what a release reads
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ModelMetrics:
    """What a release records about a trained model (registry properties, pin, quality gate)."""

    metrics: dict[str, float]  # finite numbers only; null entries are left out
    params: dict[str, Any]
    data_fingerprint: str
    model_sha256: str
    format_version: int


def read_model_file(path: Path, why: str) -> str:
    """The text of a model directory file (bounded, UTF-8); InputError naming it when missing (`why` says
    what needs it) or unreadable."""
    if not path.exists():
        raise InputError(f"{path}: missing; {why}")
    return read_text(path, "model directory file")


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# -- labels.json ------------------------------------------------------------------------------


def parse_labels(text: str, source: str) -> list[str]:
    """A JSON list of strings (country codes in output order)."""
    labels = parse_json(text, source, "labels are ")
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise InputError(f"{source}: labels must be a JSON list of strings")
    return labels


def write_labels(directory: Path, labels: list[str]) -> None:
    write_json(directory / LABELS_FILE, labels)


# -- metrics.json -----------------------------------------------------------------------------


def write_metrics(directory: Path, metrics: dict[str, Any]) -> None:
    """`metrics` as metrics.json; it must carry the format_version this module writes."""
    if metrics.get("format_version") != METRICS_FORMAT_VERSION:
        raise ValueError(f"metrics.json must carry format_version {METRICS_FORMAT_VERSION}")
    write_json(directory / METRICS_FILE, metrics)


def read_model_metrics(path: Path) -> ModelMetrics:
    """Read and check `path` (a metrics.json); InputError naming the file and the field otherwise."""
    text = read_model_file(path, f"a model directory needs the {METRICS_FILE} that training writes")
    return parse_model_metrics(parse_json(text, str(path)), str(path))


def parse_model_metrics(data: Any, source: str) -> ModelMetrics:
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a JSON object (metrics.json, as `jukebox train` writes it)")
    version = data.get("format_version")
    if version not in FORMAT_VERSIONS or isinstance(version, bool):
        found = "no format_version" if version is None else f"format_version {version!r}"
        raise InputError(
            f"{source}: {found}; this jukebox reads format_version {' and '.join(map(str, FORMAT_VERSIONS))} "
            "(metrics, data.fingerprint, params, model.sha256, as `jukebox train` writes them)"
        )
    return ModelMetrics(
        metrics=_metrics(_mapping(data, "metrics", source), source),
        params=dict(_mapping(data, "params", source)),
        data_fingerprint=_string(_mapping(data, "data", source), "data.fingerprint", source),
        model_sha256=_sha256(_mapping(data, "model", source), source),
        format_version=int(version),
    )


def _mapping(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise InputError(f"{source}: {key} must be a JSON object")
    return value


def _string(holder: dict[str, Any], dotted: str, source: str) -> str:
    value = holder.get(dotted.rsplit(".", 1)[-1])
    if not isinstance(value, str) or not value:
        raise InputError(f"{source}: {dotted} must be a non-empty string")
    return value


def _sha256(model: dict[str, Any], source: str) -> str:
    value = model.get("sha256")
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise InputError(f"{source}: model.sha256 must be the 64 hex digit sha256 of the model file")
    return value


def _metrics(raw: dict[str, Any], source: str) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{source}: metrics.{name} must be a number or null, found {type(value).__name__}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise InputError(f"{source}: metrics.{name} is {number}; metrics must be finite numbers")
        metrics[name] = number
    return metrics
