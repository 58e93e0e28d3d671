"""The ONNX contract OVMS clients rely on, and both parity checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from jukebox.errors import CheckFailed
from training.data import load_data
from training.features import FEATURES
from training.model import feature_matrix, fit
from training.onnx_export import check_parity, export_onnx, openvino_proba
from training.params import TrainingParams
from training.pipeline import TrainResult


def dims(value_info: onnx.ValueInfoProto) -> list[str | int]:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_inputs_outputs_and_operators(model_bytes: bytes, trained: TrainResult) -> None:
    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    assert [i.name for i in graph.input] == list(FEATURES)
    for value in graph.input:
        assert value.type.tensor_type.elem_type == TensorProto.FLOAT
        assert dims(value) == ["batch", 1]
    assert [o.name for o in graph.output] == ["output"]
    assert graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT
    assert dims(graph.output[0]) == ["batch", len(trained.labels)]
    assert {o.domain for o in model.opset_import} <= {"", "ai.onnx"}
    assert {n.domain for n in graph.node} <= {"", "ai.onnx"}
    assert {n.op_type for n in graph.node} <= {"Concat", "Sub", "Div", "MatMul", "Add", "Tanh", "Softmax"}


def test_labels_in_metadata_and_labels_json(model_bytes: bytes, trained: TrainResult) -> None:
    props = {p.key: p.value for p in onnx.load_from_string(model_bytes).metadata_props}
    assert json.loads(props["labels"]) == trained.labels == sorted(trained.labels)
    assert json.loads((trained.out / "labels.json").read_text()) == trained.labels
    assert json.loads(props["features"]) == list(FEATURES)
    assert props["labels_synthetic"] == "true"
    assert props["output_semantics"] == "softmax"


def test_feature_ranges_in_metadata_and_beside_the_model(model_bytes: bytes, trained: TrainResult) -> None:
    props = {p.key: p.value for p in onnx.load_from_string(model_bytes).metadata_props}
    ranges = json.loads(props["feature_ranges"])
    assert ranges == json.loads((trained.out / "feature_ranges.json").read_text())
    assert sorted(ranges) == sorted(FEATURES)
    for entry in ranges.values():
        assert entry["min"] <= entry["low"] <= entry["high"] <= entry["max"]
    assert 20_000 < ranges["duration_ms"]["low"] < ranges["duration_ms"]["high"] < 2_000_000
    assert not list((trained.out / "1").glob("*.json"))  # only model.onnx under 1/


def test_openvino_loads_and_predicts_probabilities(trained: TrainResult) -> None:
    X = feature_matrix(load_data("sample:rows=50,countries=5,songs=20").frame)
    proba = openvino_proba(trained.model_path, X)
    assert proba.shape == (len(X), len(trained.labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def small_fit() -> tuple[object, np.ndarray]:
    frame = load_data("sample:rows=1500,countries=4,songs=300").frame
    return frame, feature_matrix(frame)


@pytest.mark.parametrize(
    ("activation", "layers", "binary", "head"),
    [
        ("relu", [8, 4], False, "softmax"),
        ("logistic", [6], False, "softmax"),
        ("tanh", [5], True, "softmax"),
        ("tanh", [5], False, "sigmoid"),
        ("relu", [4], True, "sigmoid"),
    ],
)
def test_parity_holds_for_each_activation_head_and_binary(
    small_fit, tmp_path: Path, activation, layers, binary, head
) -> None:
    frame, X = small_fit
    if binary:
        frame = frame.assign(country=np.where(frame["country"] == "US", "US", "GB"))
    model = fit(frame, TrainingParams(activation=activation, hidden_layers=layers, max_iter=15, head=head))
    path = tmp_path / "model.onnx"
    path.write_bytes(export_onnx(model))
    diffs = check_parity(model, path, X)
    assert diffs["onnxruntime_vs_sklearn"] <= 1e-5 and diffs["openvino_vs_onnxruntime"] <= 1e-4
    graph = onnx.load(path).graph
    assert graph.output[0].type.tensor_type.shape.dim[1].dim_value == (2 if binary else 4)
    assert graph.node[-1].op_type == ("Sigmoid" if head == "sigmoid" else "Softmax")
    sums = openvino_proba(path, X).sum(axis=1)
    if head == "softmax":
        np.testing.assert_allclose(sums, 1.0, atol=1e-5)
    else:  # independent per-country scores
        assert np.abs(sums - 1.0).max() > 0.05


def test_parity_check_fails_on_a_wrong_model(small_fit, tmp_path: Path) -> None:
    frame, X = small_fit
    fitted = fit(frame, TrainingParams(hidden_layers=[8], max_iter=15))
    model = onnx.load_from_string(export_onnx(fitted))
    for init in model.graph.initializer:
        if init.name == "b1":
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) + np.float32(0.5), "b1"))
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    with pytest.raises(CheckFailed, match=r"onnxruntime_vs_sklearn max \|diff\|"):
        check_parity(fitted, path, X)
