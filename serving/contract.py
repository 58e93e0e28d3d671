"""The model contract shared with training: `<dir>/<n>/model.onnx` (OVMS layout), `<dir>/labels.json`."""

from __future__ import annotations

import json
from pathlib import Path

from jukebox.errors import InputError
from training.features import FEATURES as TRAINING_FEATURES

# The 13 model inputs, in the lab's order; each FP32 with shape [-1, 1]. One list for training and serving.
FEATURES: tuple[str, ...] = TRAINING_FEATURES
OUTPUT = "output"
LABELS_FILE = "labels.json"
DEFAULT_MODEL_NAME = "jukebox"  # the lab's InferenceService name
DEFAULT_HOST = "127.0.0.1"  # loopback only unless told otherwise
DEFAULT_PORT = 8888  # the OVMS ServingRuntime's --rest_port
LABELS_METADATA_KEY = "labels"


def find_version(model_dir: Path) -> tuple[int, Path]:
    """The newest `<positive integer>/model.onnx` under model_dir (OVMS serves the latest version)."""
    if not model_dir.is_dir():
        raise InputError(f"--model {model_dir}: not a directory (expected <dir>/1/model.onnx)")
    versions = [
        (int(child.name), child / "model.onnx")
        for child in model_dir.iterdir()
        if child.name.isdigit() and int(child.name) > 0 and (child / "model.onnx").is_file()
    ]
    if not versions:
        raise InputError(
            f"--model {model_dir}: no <positive integer>/model.onnx inside (OVMS layout, e.g. {model_dir}/1/model.onnx)"
        )
    return max(versions)


def parse_labels(text: str, source: str) -> list[str]:
    """A JSON list of strings (country codes in output order)."""
    try:
        labels = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{source}: labels are not valid JSON ({error})") from None
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise InputError(f"{source}: labels must be a JSON list of strings")
    return labels


def read_onnx_labels(onnx_path: Path) -> list[str] | None:
    """The `labels` entry of the ONNX metadata_props, if present."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    for prop in model.metadata_props:
        if prop.key == LABELS_METADATA_KEY:
            return parse_labels(prop.value, f"{onnx_path} metadata_props[{LABELS_METADATA_KEY}]")
    return None


def load_labels(model_dir: Path, onnx_path: Path) -> list[str] | None:
    """Labels from `<dir>/labels.json`, else from the ONNX metadata; None when neither has them."""
    labels_file = model_dir / LABELS_FILE
    if labels_file.is_file():
        return parse_labels(labels_file.read_text(encoding="utf-8"), str(labels_file))
    return read_onnx_labels(onnx_path)
