"""Admission: a model directory is published only if it can be served. Checked before anything is
uploaded or registered (a dry run included); each refusal is an InputError (exit 2) naming the file.

- `1/model.onnx` loads in onnxruntime and compiles in OpenVINO (what OVMS runs);
- its inputs and outputs follow the serving contract (`serving.contract`): the 13 features of
  `training.features.FEATURES`, each FP32 `[batch, 1]`; one FP32 output `output` `[batch, N]`;
- `labels.json` is UTF-8 JSON, a list of unique non-empty strings, as many as the output is wide;
- what `jukebox serve` reads besides (`serving.contract.load_notes`: `feature_ranges.json`, the ONNX
  metadata) parses;
- `metrics.json` is format 1 or 2 with finite metrics, holds the spec's primary metric, and its
  `model.sha256` is the sha256 of the bytes being published.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jukebox.errors import InputError
from release.manifest import MODEL_FILE
from release.model_dir import ModelFiles
from serving.contract import FEATURES, OUTPUT, load_notes
from training.model_files import (
    LABELS_FILE,
    METRICS_FILE,
    ModelMetrics,
    parse_labels,
    read_model_file,
    read_model_metrics,
)

FP32 = "tensor(float)"


@dataclass(frozen=True)
class Admitted:
    metrics: ModelMetrics
    labels: list[str]

    def summary(self) -> str:
        return (
            f"admitted: {MODEL_FILE} loads in onnxruntime and OpenVINO, {len(FEATURES)} FP32 inputs, "
            f"output [batch, {len(self.labels)}] = {LABELS_FILE}; {METRICS_FILE} format "
            f"{self.metrics.format_version}, sha256 matches"
        )


def admit(model: ModelFiles, primary_metric: str) -> Admitted:
    """Check `model` (see the module docstring); returns its metrics and labels."""
    root = model.root
    metrics = read_model_metrics(root / METRICS_FILE)
    if metrics.model_sha256 != model.sha256:
        raise InputError(
            f"{root / METRICS_FILE}: model.sha256 is {metrics.model_sha256}, but {root / MODEL_FILE} "
            f"has sha256 {model.sha256}: the metrics belong to another model"
        )
    if primary_metric not in metrics.metrics:
        raise InputError(
            f"{root / METRICS_FILE}: no metrics.{primary_metric}, the spec's release.primaryMetric "
            f"(the quality gate compares it); found: {', '.join(metrics.metrics) or 'none'}"
        )
    labels = read_labels(root / LABELS_FILE)
    width = check_onnx(root / MODEL_FILE)
    load_notes(root, root / MODEL_FILE)
    if len(labels) != width:
        raise InputError(
            f"{root / LABELS_FILE}: {len(labels)} labels, but {MODEL_FILE}'s output '{OUTPUT}' has {width} "
            "columns; each column needs its label"
        )
    return Admitted(metrics, labels)


def read_labels(path: Path) -> list[str]:
    """labels.json: UTF-8 JSON list of unique non-empty strings."""
    text = read_model_file(path, f"a model directory needs {LABELS_FILE} (one label per output)")
    labels = parse_labels(text, str(path))
    empty = [i for i, label in enumerate(labels) if not label.strip()]
    if not labels or empty:
        raise InputError(f"{path}: labels must be a non-empty list of non-empty strings (empty at {empty or '[]'})")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise InputError(f"{path}: labels must be unique; repeated: {', '.join(duplicates)}")
    return labels


def check_onnx(path: Path) -> int:
    """Load `path` in onnxruntime and OpenVINO and check the contract; returns the output width."""
    session = _onnxruntime_session(path)
    _check_inputs(path, session.get_inputs())
    width = _check_output(path, session.get_outputs())
    _compile_openvino(path)
    return width


def _onnxruntime_session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: the exception says what failed
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own unrelated exception types
        raise InputError(f"{path}: onnxruntime cannot load it: {_first_line(error)}") from None


def _compile_openvino(path: Path) -> None:
    import openvino as ov

    core = ov.Core()
    try:
        core.compile_model(core.read_model(str(path)), "CPU")
    except Exception as error:  # RuntimeError and friends from the C++ core
        raise InputError(f"{path}: OpenVINO (what OVMS runs) cannot load it: {_first_line(error)}") from None


def _check_inputs(path: Path, inputs: list[Any]) -> None:
    expected = f"{len(FEATURES)} FP32 inputs [batch, 1] named {', '.join(FEATURES)}"
    names = [port.name for port in inputs]
    missing = [name for name in FEATURES if name not in names]
    extra = [name for name in names if name not in FEATURES]
    if missing or extra:
        found = ", ".join(f"{p.name}{_shape(p.shape)}" for p in inputs)
        raise InputError(f"{path}: inputs {found}; expected {expected} (missing: {', '.join(missing) or '-'})")
    for port in inputs:
        if port.type != FP32 or not _column(port.shape):
            raise InputError(f"{path}: input {port.name} is {port.type}{_shape(port.shape)}; expected {expected}")


def _check_output(path: Path, outputs: list[Any]) -> int:
    expected = f"one FP32 output '{OUTPUT}' [batch, N] with N = the number of labels"
    if len(outputs) != 1 or outputs[0].name != OUTPUT:
        found = ", ".join(f"{p.name}{_shape(p.shape)}" for p in outputs)
        raise InputError(f"{path}: outputs {found}; expected {expected}")
    port = outputs[0]
    width = port.shape[1] if len(port.shape) == 2 else None
    if port.type != FP32 or not isinstance(width, int) or width < 1:
        raise InputError(f"{path}: output {port.name} is {port.type}{_shape(port.shape)}; expected {expected}")
    return width


def _column(shape: list[Any]) -> bool:
    """[batch, 1] with a symbolic, unknown or positive batch dimension."""
    if len(shape) != 2 or shape[1] != 1:
        return False
    batch = shape[0]
    return batch is None or isinstance(batch, str) or (isinstance(batch, int) and (batch > 0 or batch == -1))


def _shape(shape: list[Any]) -> str:
    return "[" + ", ".join("?" if dim is None else str(dim) for dim in shape) + "]"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
