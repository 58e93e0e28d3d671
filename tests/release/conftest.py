"""Fixtures of the release tests: real local servers (SeaweedFS S3 + the local Model Registry, started by
the release/local fixtures in a temp state dir), a temp GitOps repo with a small spec, and tiny models
built with onnx.helper that follow the serving contract (13 FP32 [-1,1] inputs, `output` [-1,N])."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from release.local import LocalServices
from tests.release_local.fixtures import local_services, local_state_dir  # noqa: F401

FEATURES = (
    "is_explicit", "duration_ms", "danceability", "energy", "key", "loudness", "mode",
    "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
)  # fmt: skip
LABELS = ["US", "GB", "DE", "FR"]
SPEC_TEMPLATE = Path(__file__).with_name("data") / "spec.yaml"
_names = itertools.count(1)


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
    metrics = {
        "metrics": {"accuracy": accuracy, "f1_macro": accuracy / 2},
        "data": {"fingerprint": f"fingerprint-{seed}"},
        "params": {"hiddenLayers": [8], "seed": seed},
    }
    (model_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (model_dir / "MODEL_CARD.md").write_text(f"# test model {seed}\n", encoding="utf-8")
    return model_dir


@pytest.fixture
def make_model(tmp_path: Path) -> Callable[..., Path]:
    def make(seed: int = 0, accuracy: float = 0.5) -> Path:
        return build_model(tmp_path / f"model-{seed}-{accuracy}", seed, accuracy)

    return make


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A temp GitOps repo holding `specs/<unique name>.yaml` (unique per test: the servers are shared)."""
    name = f"rt{next(_names)}-{tmp_path.name[-12:].lower().replace('_', '-').strip('-')}"
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    text = SPEC_TEMPLATE.read_text(encoding="utf-8").replace("MODEL_NAME", name)
    (root / "specs" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def spec_path(repo: Path) -> Path:
    return next((repo / "specs").glob("*.yaml"))


@pytest.fixture
def env(local_services: LocalServices, monkeypatch: pytest.MonkeyPatch) -> LocalServices:  # noqa: F811
    """Configure S3 and the registry through the environment, like an OpenShift AI workbench would."""
    monkeypatch.setenv("AWS_S3_ENDPOINT", local_services.s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", local_services.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", local_services.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", local_services.region)
    monkeypatch.delenv("AWS_S3_BUCKET", raising=False)
    monkeypatch.setenv("JUKEBOX_REGISTRY_URL", local_services.registry_url)
    if local_services.registry_token:
        monkeypatch.setenv("JUKEBOX_REGISTRY_TOKEN", local_services.registry_token)
    else:
        monkeypatch.delenv("JUKEBOX_REGISTRY_TOKEN", raising=False)
    return local_services


def s3_client(services: LocalServices):  # type: ignore[no-untyped-def]
    from release.s3 import S3Settings, make_client

    return make_client(
        S3Settings(services.s3_endpoint, services.access_key, services.secret_key, "models", "us-east-1")
    )


def registry(services: LocalServices):  # type: ignore[no-untyped-def]
    from release.registry import Registry, RegistrySettings, connect

    settings = RegistrySettings(services.registry_url, token=services.registry_token)
    return Registry(connect(settings), settings)


class Lines(list[str]):
    """An `out` callback that records what the flow prints."""

    def __call__(self, line: str) -> None:
        self.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self)
