"""ONNX export built directly from the fitted weights with plain `ai.onnx` ops, and the parity checks.

Graph: 13 inputs `[batch, 1]` FP32 (named like the features) -> Concat(axis=1) -> Sub(mean) ->
Div(scale) -> (MatMul -> Add -> Tanh|Relu|Sigmoid) per hidden layer -> MatMul -> Add ->
Softmax(axis=1) (softmax head) or Sigmoid (sigmoid head) -> `output` `[batch, n_countries]`.
No `ai.onnx.ml` operator, so OpenVINO (and OVMS) load it.
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

    from training.model import Model

OPSET = 17
IR_VERSION = 8  # accepted by onnxruntime >= 1.10 and OpenVINO >= 2022
OUTPUT = "output"
ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid"}
ORT_TOLERANCE = 1e-5
OPENVINO_TOLERANCE = 1e-4


#: metadata_props key -> what the output means, per head
OUTPUT_SEMANTICS = {
    "softmax": "softmax: p(country | song) over the labels; each row sums to 1",
    "sigmoid": "sigmoid: independent P(the song charts in that country) per label; rows do not sum to 1",
}


def _layers(model: Model) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weights, bias) per layer as float32; a binary softmax MLP's single logit becomes softmax([0, z])."""
    mlp = model.mlp
    layers = [(np.asarray(w), np.asarray(b)) for w, b in zip(mlp.coefs_, mlp.intercepts_, strict=True)]
    if model.head == "sigmoid":
        if mlp.out_activation_ != "logistic" or layers[-1][0].shape[1] != len(model.labels):
            raise CheckFailed("cannot export: the sigmoid head does not have one logistic output per country")
    elif mlp.out_activation_ == "logistic":
        weights, bias = layers[-1]
        layers[-1] = (np.hstack([np.zeros_like(weights), weights]), np.concatenate([np.zeros_like(bias), bias]))
    elif mlp.out_activation_ != "softmax":
        raise CheckFailed(f"cannot export an MLP with output activation {mlp.out_activation_}")
    return [(w.astype(np.float32), b.astype(np.float32)) for w, b in layers]


def build_graph(model: Model) -> onnx.GraphProto:
    from onnx import TensorProto, helper, numpy_helper

    scaler, mlp = model.pipeline.named_steps["scaler"], model.mlp
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 1]) for name in FEATURES]
    n_classes = len(model.labels)
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
    layers = _layers(model)
    for i, (weights, bias) in enumerate(layers, start=1):
        init += [numpy_helper.from_array(weights, f"W{i}"), numpy_helper.from_array(bias, f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [f"h{i - 1}", f"W{i}"], [f"z{i}"], name=f"matmul{i}"),
            helper.make_node("Add", [f"z{i}", f"b{i}"], [f"a{i}"], name=f"add{i}"),
        ]
        if i < len(layers):
            op = ACTIVATIONS[mlp.activation]
            nodes.append(helper.make_node(op, [f"a{i}"], [f"h{i}"], name=f"{op.lower()}{i}"))
    last = f"a{len(layers)}"
    if model.head == "sigmoid":
        nodes.append(helper.make_node("Sigmoid", [last], [OUTPUT], name="sigmoid_out"))
    else:
        nodes.append(helper.make_node("Softmax", [last], [OUTPUT], axis=1, name="softmax"))
    return helper.make_graph(nodes, "jukebox", inputs, [output], init)


def export_onnx(model: Model, metadata: dict[str, Any] | None = None) -> bytes:
    """Serialized ONNX model (deterministic bytes: no timestamps, sorted metadata).

    metadata_props always holds `labels` (JSON list of country codes in output order), `features`,
    `output` and `output_semantics` (softmax or sigmoid, see OUTPUT_SEMANTICS).
    """
    import onnx
    from onnx import helper

    props = {
        "labels": json.dumps(model.labels),
        "features": json.dumps(list(FEATURES)),
        "output": OUTPUT,
        "output_semantics": model.head,
    }
    for key, value in (metadata or {}).items():
        props[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    model = helper.make_model(
        build_graph(model),
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="jukebox-training",
        doc_string=f"Which countries like this song, from 13 audio features. Output {OUTPUT_SEMANTICS[model.head]}.",
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


def check_parity(model: Model, model_path: str | Path, X: np.ndarray) -> dict[str, float]:
    """onnxruntime vs scikit-learn within 1e-5 and OpenVINO (f32) vs onnxruntime within 1e-4.

    Returns the max absolute differences; raises CheckFailed when a tolerance is exceeded.
    """
    model_bytes = Path(model_path).read_bytes()
    if onnx_labels(model_bytes) != model.labels:
        raise CheckFailed("parity: the ONNX labels metadata does not match the model's classes")
    expected = model.scores(X)
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
