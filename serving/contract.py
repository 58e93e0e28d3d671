"""Serving's side of the model contract (`training.model_files`): the 13 inputs, the output, finding the
version directory OVMS would load, and the labels, feature ranges and output semantics from the model
directory or the ONNX metadata_props that repeat them (`labels`, `feature_ranges`, `output_semantics`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jukebox.errors import InputError
from jukebox.inputs import read_text
from training.features import FEATURES as TRAINING_FEATURES
from training.model_files import LABELS_FILE, parse_labels
from training.ranges import METADATA_KEY as RANGES_METADATA_KEY
from training.ranges import RANGES_FILE, Ranges, parse_ranges

# The 13 model inputs, in the lab's order; each FP32 with shape [-1, 1]. One list for training and serving.
FEATURES: tuple[str, ...] = TRAINING_FEATURES
OUTPUT = "output"
DEFAULT_MODEL_NAME = "jukebox"  # the lab's InferenceService name
DEFAULT_HOST = "127.0.0.1"  # loopback only unless told otherwise
DEFAULT_PORT = 8888  # the OVMS ServingRuntime's --rest_port
LABELS_METADATA_KEY = "labels"
SEMANTICS_METADATA_KEY = "output_semantics"
#: Response header of `jukebox serve` carrying the out-of-range input warning (OVMS does not send it).
WARNING_HEADER = "Jukebox-Input-Warning"
#: How to read the output per `output_semantics`; None = unknown (a model from elsewhere).
SEMANTICS = {
    "softmax": "probability: p(country | song), the row sums to 1",
    "sigmoid": "score: P(the song charts in that country), independent per country (does not sum to 1)",
}


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


def read_onnx_metadata(onnx_path: Path) -> dict[str, str]:
    """The ONNX file's metadata_props as a dict (InputError naming the file when it is not ONNX)."""
    import onnx

    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as error:  # OSError, or protobuf's DecodeError for bytes that are not ONNX
        raise InputError(f"{onnx_path}: not a readable ONNX model ({type(error).__name__}: {error})") from None
    return {prop.key: prop.value for prop in model.metadata_props}


def read_onnx_labels(onnx_path: Path) -> list[str] | None:
    """The `labels` entry of the ONNX metadata_props, if present."""
    text = read_onnx_metadata(onnx_path).get(LABELS_METADATA_KEY)
    return None if text is None else parse_labels(text, f"{onnx_path} metadata_props[{LABELS_METADATA_KEY}]")


def load_labels(model_dir: Path | None, onnx_path: Path, metadata: dict[str, str] | None = None) -> list[str] | None:
    """Labels from `<dir>/labels.json`, else from the ONNX metadata; None when neither has them."""
    labels_file = model_dir / LABELS_FILE if model_dir is not None else None
    if labels_file is not None and labels_file.exists():
        return parse_labels(read_text(labels_file, "labels"), str(labels_file))
    if metadata is None:
        return read_onnx_labels(onnx_path)
    text = metadata.get(LABELS_METADATA_KEY)
    return None if text is None else parse_labels(text, f"{onnx_path} metadata_props[{LABELS_METADATA_KEY}]")


def _ranges(text: str, source: str) -> Ranges:
    try:
        return parse_ranges(text, source)
    except ValueError as error:
        raise InputError(str(error)) from None


@dataclass(frozen=True)
class ModelNotes:
    """What a model directory says about reading the model beyond its graph."""

    labels: list[str] | None
    ranges: Ranges | None  # each feature's training range (None: not recorded, inputs are not checked)
    semantics: str | None  # "softmax", "sigmoid" or None (unknown)


def load_notes(model_dir: Path | None, onnx_path: Path) -> ModelNotes:
    """Labels, feature ranges and output semantics: the model directory's top-level files (labels.json,
    feature_ranges.json) first, else the ONNX metadata. `model_dir` None: the ONNX metadata only."""
    metadata = read_onnx_metadata(onnx_path)
    ranges_file = model_dir / RANGES_FILE if model_dir is not None else None
    if ranges_file is not None and ranges_file.exists():
        ranges: Ranges | None = _ranges(read_text(ranges_file, "feature ranges"), str(ranges_file))
    elif RANGES_METADATA_KEY in metadata:
        ranges = _ranges(metadata[RANGES_METADATA_KEY], f"{onnx_path} metadata_props[{RANGES_METADATA_KEY}]")
    else:
        ranges = None
    semantics = metadata.get(SEMANTICS_METADATA_KEY)
    return ModelNotes(
        load_labels(model_dir, onnx_path, metadata), ranges, semantics if semantics in SEMANTICS else None
    )


def notes_from_path(path: Path, option: str) -> ModelNotes:
    """`--labels PATH`: a model directory, a model.onnx, or a labels.json (labels only)."""
    if path.is_dir():
        return load_notes(path, find_version(path)[1])
    if path.suffix == ".onnx":
        if not path.is_file():
            raise InputError(f"{option} {path}: no such file (labels.json, model.onnx or a model directory)")
        return load_notes(None, path)
    return ModelNotes(parse_labels(read_text(path, option), f"{option} {path}"), None, None)
