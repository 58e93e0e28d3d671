"""Served answers equal in-process onnxruntime answers within 1e-4 (the OVMS-vs-onnxruntime tolerance)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import requests
from serving_fixtures import random_rows

from serving.contract import FEATURES

TOLERANCE = 1e-4
N_ROWS = 1000


def onnxruntime_output(onnx_path: Path, rows: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["output"], rows)[0])


def batch_body(rows: dict[str, np.ndarray]) -> dict:
    n = len(next(iter(rows.values())))
    return {
        "inputs": [{"name": f, "shape": [n, 1], "datatype": "FP32", "data": rows[f].ravel().tolist()} for f in FEATURES]
    }


def served_batch(url: str, rows: dict[str, np.ndarray], model: str = "jukebox") -> np.ndarray:
    response = requests.post(f"{url}/v2/models/{model}/infer", json=batch_body(rows), timeout=30)
    assert response.status_code == 200, response.text
    [output] = response.json()["outputs"]
    return np.asarray(output["data"]).reshape(output["shape"])


def test_1000_rows_in_one_batch_match_onnxruntime(server, model_dir):
    rows = random_rows(N_ROWS, seed=1)
    expected = onnxruntime_output(model_dir / "1" / "model.onnx", rows)
    served = served_batch(server.url, rows)
    assert served.shape == expected.shape == (N_ROWS, 20)
    assert np.abs(served - expected).max() <= TOLERANCE
    assert np.abs(expected.sum(axis=1) - 1).max() < 1e-5  # real probabilities, not saturated one-hots
    assert expected.max() < 0.999


def test_1000_single_row_requests_match_onnxruntime(server, model_dir):
    rows = random_rows(N_ROWS, seed=2)
    expected = onnxruntime_output(model_dir / "1" / "model.onnx", rows)
    url = f"{server.url}/v2/models/jukebox/infer"
    with requests.Session() as http:
        served = []
        for i in range(N_ROWS):
            body = batch_body({f: rows[f][i : i + 1] for f in FEATURES})
            answer = http.post(url, data=json.dumps(body), timeout=10).json()
            served.append(answer["outputs"][0]["data"])
    assert np.abs(np.asarray(served) - expected).max() <= TOLERANCE


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_model_from_the_training_exporter_serves_with_parity(tmp_path):
    """The real exporter (training.onnx_export) on a small scaler + MLP; labels from the ONNX metadata."""
    onnx_export = pytest.importorskip("training.onnx_export")
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from serving.engine import Engine
    from serving.server import BackgroundServer

    train = random_rows(300, seed=3)
    X = np.hstack([train[f] for f in FEATURES]).astype(np.float64)
    z = (X - X.mean(axis=0)) / X.std(axis=0)
    y = np.array(["BR", "DE", "JP", "US"])[np.argmax(z[:, [2, 3, 11, 12]], axis=1)]
    pipeline = Pipeline([("scaler", StandardScaler()), ("mlp", MLPClassifier((16,), max_iter=300, random_state=0))])
    pipeline.fit(X, y)
    from training.model import Model

    model = Model(pipeline, [str(c) for c in pipeline.classes_], "softmax", {})
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "model.onnx").write_bytes(onnx_export.export_onnx(model))

    engine = Engine.from_dir(tmp_path)
    assert engine.labels == ["BR", "DE", "JP", "US"]
    rows = random_rows(N_ROWS, seed=4)
    with BackgroundServer(engine) as running:
        served = served_batch(running.url, rows)
    expected = onnxruntime_output(tmp_path / "1" / "model.onnx", rows)
    assert np.abs(served - expected).max() <= TOLERANCE
