"""Tiny model directories for the release tests, built with onnx.helper to the serving contract
(13 FP32 [-1,1] inputs, `output` [-1,N]) with the metrics.json `jukebox train` writes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

FEATURES = (
    "is_explicit", "duration_ms", "danceability", "energy", "key", "loudness", "mode",
    "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
)  # fmt: skip
LABELS = ["US", "GB", "DE", "FR"]


def build_model(model_dir: Path, seed: int = 0, accuracy: float = 0.5) -> Path:
    """`<model_dir>/1/model.onnx` (Concat -> MatMul -> Add -> Softmax) + labels.json, metrics.json, card."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weights = numpy_helper.from_array(rng.normal(0, 1, (len(FEATURES), len(LABELS))).astype(np.float32), "W")
    bias = numpy_helper.from_array(np.zeros(len(LABELS), dtype=np.float32), "b")
    nodes = [
        helper.make_node("Concat", list(FEATURES), ["x"], axis=1),
        helper.make_node("MatMul", ["x", "W"], ["logits0"]),
        helper.make_node("Add", ["logits0", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["output"], axis=1),
    ]
    inputs = [helper.make_tensor_value_info(f, TensorProto.FLOAT, [-1, 1]) for f in FEATURES]
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [-1, len(LABELS)])
    graph = helper.make_graph(nodes, "release-test", inputs, [output], [weights, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (model_dir / "1").mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(model_dir / "1" / "model.onnx"))
    (model_dir / "labels.json").write_text(json.dumps(LABELS), encoding="utf-8")
    write_metrics(model_dir, {"accuracy": accuracy, "f1_macro": accuracy / 2}, seed)
    (model_dir / "MODEL_CARD.md").write_text(f"# test model {seed}\n", encoding="utf-8")
    return model_dir


def write_metrics(model_dir: Path, metrics: dict[str, object], seed: int = 0) -> Path:
    """metrics.json as `jukebox train` writes it (format_version 1), for the model.onnx in `model_dir`."""
    sha = hashlib.sha256((model_dir / "1" / "model.onnx").read_bytes()).hexdigest()
    document = {
        "format_version": 1,
        "metrics": metrics,
        "data": {"fingerprint": f"fingerprint-{seed}"},
        "params": {"hiddenLayers": [8], "seed": seed},
        "model": {"path": "1/model.onnx", "sha256": sha},
    }
    path = model_dir / "metrics.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
