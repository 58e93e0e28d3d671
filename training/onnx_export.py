"""ONNX export built directly from the fitted weights with plain `ai.onnx` ops, and the parity checks.

Graph: 13 inputs `[batch, 1]` FP32 (named like the features) -> Concat(axis=1) -> Sub(mean) ->
Div(scale) -> (MatMul -> Add -> Tanh|Relu|Sigmoid) per hidden layer -> MatMul -> Add -> Softmax(axis=1)
-> `output` `[batch, n_countries]`. No `ai.onnx.ml` operator, so OpenVINO (and OVMS) load it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from jukebox.errors import CheckFailed
from training.features import FEATURES

if TYPE_CHECKING:
    import onnx
    from sklearn.pipeline import Pipeline

OPSET = 17
IR_VERSION = 8  # accepted by onnxruntime >= 1.10 and OpenVINO >= 2022
OUTPUT = "output"
ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid"}
ORT_TOLERANCE = 1e-5
OPENVINO_TOLERANCE = 1e-4


def _layers(pipeline: Pipeline) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weights, bias) per layer as float32; a binary MLP's single logit becomes softmax([0, z])."""
    mlp = pipeline.named_steps["mlp"]
    layers = [(np.asarray(w), np.asarray(b)) for w, b in zip(mlp.coefs_, mlp.intercepts_, strict=True)]
    if mlp.out_activation_ == "logistic":
        weights, bias = layers[-1]
        layers[-1] = (np.hstack([np.zeros_like(weights), weights]), np.concatenate([np.zeros_like(bias), bias]))
    elif mlp.out_activation_ != "softmax":
        raise CheckFailed(f"cannot export an MLP with output activation {mlp.out_activation_}")
    return [(w.astype(np.float32), b.astype(np.float32)) for w, b in layers]


def build_graph(pipeline: Pipeline) -> onnx.GraphProto:
    from onnx import TensorProto, helper, numpy_helper

    scaler, mlp = pipeline.named_steps["scaler"], pipeline.named_steps["mlp"]
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 1]) for name in FEATURES]
    n_classes = len(mlp.classes_)
    output = helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", n_classes])
    init = [
        numpy_helper.from_array(np.asarray(scaler.mean_, np.float32), "scaler_mean"),
        numpy_helper.from_array(np.asarray(scaler.scale_, np.float32), "scaler_scale"),
    ]
    nodes = [
        helper.make_node("Concat", list(FEATURES), ["features"], axis=1, name="concat"),
        helper.make_node("Sub", ["features", "scaler_mean"], ["centered"], name="scaler_sub"),
        helper.make_node("Div", ["centered", "scaler_scale"], ["h0"], name="scaler_div"),
    ]
    layers = _layers(pipeline)
    for i, (weights, bias) in enumerate(layers, start=1):
        init += [numpy_helper.from_array(weights, f"W{i}"), numpy_helper.from_array(bias, f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [f"h{i - 1}", f"W{i}"], [f"z{i}"], name=f"matmul{i}"),
            helper.make_node("Add", [f"z{i}", f"b{i}"], [f"a{i}"], name=f"add{i}"),
        ]
        if i < len(layers):
            op = ACTIVATIONS[mlp.activation]
            nodes.append(helper.make_node(op, [f"a{i}"], [f"h{i}"], name=f"{op.lower()}{i}"))
    nodes.append(helper.make_node("Softmax", [f"a{len(layers)}"], [OUTPUT], axis=1, name="softmax"))
    return helper.make_graph(nodes, "jukebox", inputs, [output], init)


def export_onnx(pipeline: Pipeline, metadata: dict[str, Any] | None = None) -> bytes:
    """Serialized ONNX model (deterministic bytes: no timestamps, sorted metadata).

    metadata_props always holds `labels` (JSON list of country codes in output order) and `features`.
    """
    import onnx
    from onnx import helper

    labels = [str(label) for label in pipeline.named_steps["mlp"].classes_]
    props = {"labels": json.dumps(labels), "features": json.dumps(list(FEATURES)), "output": OUTPUT}
    for key, value in (metadata or {}).items():
        props[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    model = helper.make_model(
        build_graph(pipeline),
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="jukebox-training",
        doc_string="Which countries like this song: p(country | 13 audio features).",
    )
    helper.set_model_props(model, dict(sorted(props.items())))
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)


def onnx_labels(model_bytes: bytes) -> list[str]:
    import onnx

    props = {p.key: p.value for p in onnx.load_from_string(model_bytes).metadata_props}
    return list(json.loads(props["labels"]))


def feeds(X: np.ndarray) -> dict[str, np.ndarray]:
    """One `[n, 1]` float32 input per feature, as OVMS clients send them."""
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    return {name: np.ascontiguousarray(X32[:, [i]]) for i, name in enumerate(FEATURES)}


def onnxruntime_proba(model_bytes: bytes, X: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return np.asarray(session.run([OUTPUT], feeds(X))[0])


def openvino_proba(model_path: str | Path, X: np.ndarray) -> np.ndarray:
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(model_path)), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    result = compiled(feeds(X))
    return np.asarray(result[compiled.output(OUTPUT)])


def check_parity(pipeline: Pipeline, model_path: str | Path, X: np.ndarray) -> dict[str, float]:
    """onnxruntime vs scikit-learn within 1e-5 and OpenVINO (f32) vs onnxruntime within 1e-4.

    Returns the max absolute differences; raises CheckFailed when a tolerance is exceeded.
    """
    model_bytes = Path(model_path).read_bytes()
    if onnx_labels(model_bytes) != [str(c) for c in pipeline.named_steps["mlp"].classes_]:
        raise CheckFailed("parity: the ONNX labels metadata does not match the model's classes")
    expected = pipeline.predict_proba(X)
    ort = onnxruntime_proba(model_bytes, X)
    vino = openvino_proba(model_path, X)
    diffs = {
        "onnxruntime_vs_sklearn": float(np.abs(ort - expected).max()),
        "openvino_vs_onnxruntime": float(np.abs(vino - ort).max()),
    }
    limits = {"onnxruntime_vs_sklearn": ORT_TOLERANCE, "openvino_vs_onnxruntime": OPENVINO_TOLERANCE}
    broken = [f"{k} max |diff| {v:.3g} > {limits[k]:g}" for k, v in diffs.items() if not v <= limits[k]]
    if broken:
        raise CheckFailed("parity check failed: " + "; ".join(broken))
    return diffs
