"""Helpers for the serving tests: a model that follows the training contract, feature rows, request bodies.

The model is built with `onnx.helper` (standardise -> Concat(axis=1) -> MatMul -> Add -> Softmax, fixed
random weights, 20 labels) so the tests do not depend on the training package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from serving.contract import FEATURES

LABELS = [
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "NO", "DK",
    "BR", "MX", "AR", "JP", "KR", "IN", "AU", "CA", "PL", "ZA",
]  # fmt: skip
# Typical magnitudes of the features (mean, std) so the logits are not saturated.
SCALES = {
    "is_explicit": (0.4, 0.5), "duration_ms": (200_000.0, 50_000.0), "danceability": (0.65, 0.15),
    "energy": (0.65, 0.17), "key": (5.5, 3.5), "loudness": (-6.5, 2.8), "mode": (0.55, 0.5),
    "speechiness": (0.1, 0.1), "acousticness": (0.25, 0.25), "instrumentalness": (0.02, 0.1),
    "liveness": (0.17, 0.13), "valence": (0.5, 0.23), "tempo": (122.0, 28.0),
}  # fmt: skip


def training_ranges() -> dict[str, dict[str, float]]:
    """Feature ranges in the training format: min/max and 0.1 %/99.9 % quantiles of plausible songs."""
    rows = random_rows(20_000, seed=1)
    return {
        name: {
            "min": float(values.min()),
            "max": float(values.max()),
            "low": float(np.quantile(values, 0.001)),
            "high": float(np.quantile(values, 0.999)),
        }
        for name, values in rows.items()
    }


def build_model(
    model_dir: Path,
    labels: list[str] = LABELS,
    seed: int = 7,
    with_labels_file: bool = True,
    ranges: bool = True,
    output_op: str = "Softmax",
) -> Path:
    """Write `<model_dir>/1/model.onnx` (13 FP32 [-1,1] inputs, `output` [-1,n]) and labels.json.

    `ranges`: record the feature ranges in the ONNX metadata (as training does); `output_op`: Softmax
    (metadata output_semantics softmax) or Sigmoid (sigmoid).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    n = len(labels)
    mean = np.array([[SCALES[f][0] for f in FEATURES]], dtype=np.float32)
    inv_std = np.array([[1.0 / SCALES[f][1] for f in FEATURES]], dtype=np.float32)
    inits = [
        numpy_helper.from_array(mean, "mean"),
        numpy_helper.from_array(inv_std, "inv_std"),
        numpy_helper.from_array(rng.normal(0, 0.8, (len(FEATURES), n)).astype(np.float32), "W"),
        numpy_helper.from_array(rng.normal(0, 0.3, (n,)).astype(np.float32), "b"),
    ]
    nodes = [
        helper.make_node("Concat", list(FEATURES), ["x"], axis=1),
        helper.make_node("Sub", ["x", "mean"], ["centred"]),
        helper.make_node("Mul", ["centred", "inv_std"], ["scaled"]),
        helper.make_node("MatMul", ["scaled", "W"], ["logits0"]),
        helper.make_node("Add", ["logits0", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["output"], axis=1)
        if output_op == "Softmax"
        else helper.make_node("Sigmoid", ["logits"], ["output"]),
    ]
    inputs = [helper.make_tensor_value_info(f, TensorProto.FLOAT, ["batch", 1]) for f in FEATURES]
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", n])
    graph = helper.make_graph(nodes, "jukebox_fixture", inputs, [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    props = {"labels": json.dumps(labels), "output_semantics": output_op.lower()}
    if ranges:
        props["feature_ranges"] = json.dumps(training_ranges())
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    (model_dir / "1").mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(model_dir / "1" / "model.onnx"))
    if with_labels_file:
        (model_dir / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    return model_dir


def random_rows(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """n plausible feature rows, column-wise, FP32 [n, 1]."""
    rng = np.random.default_rng(seed)
    columns = {f: rng.normal(mean, std, (n, 1)) for f, (mean, std) in SCALES.items()}
    for binary in ("is_explicit", "mode"):
        columns[binary] = (columns[binary] > 0.5).astype(float)
    columns["key"] = np.round(np.clip(columns["key"], 0, 11))
    return {f: columns[f].astype(np.float32) for f in FEATURES}


def lab_body(row: dict[str, float] | None = None) -> dict:
    """The lab's request body: one [1,1] FP32 input per feature, no id."""
    row = row or {f: float(SCALES[f][0]) for f in FEATURES}
    return {"inputs": [{"name": f, "shape": [1, 1], "datatype": "FP32", "data": [row[f]]} for f in FEATURES]}


@contextmanager
def serve_process(model_dir: Path, cwd: Path) -> Iterator[str]:
    """`jukebox serve --model DIR --port 0` as a real process; yields its base URL, stops it afterwards."""
    command = [sys.executable, "-m", "jukebox", "serve", "--model", str(model_dir), "--port", "0"]
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        process.stdout.readline()
        yield process.stdout.readline().split()[1].removesuffix("/v2/models/jukebox/infer")
    finally:
        process.terminate()
        process.wait(10)
