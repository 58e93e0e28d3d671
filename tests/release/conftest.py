"""Fixtures of the release tests: real local servers (SeaweedFS S3 + the local Model Registry, started by
the release/local fixtures in a temp state dir), a temp GitOps repo with a small spec, and tiny models
(`tests.release.models`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from release.local import LocalServices
from tests.release.models import build_model
from tests.release_local.fixtures import local_services, local_state_dir  # noqa: F401

SPEC_TEMPLATE = Path(__file__).with_name("data") / "spec.yaml"
_names = itertools.count(1)


TRAINING_SOURCE = "sample:rows=3000,countries=5,songs=600,seed=3"


def train_small(out: Path, seed: int) -> Path:
    """A real `jukebox train` model directory (small sample data, a few seconds)."""
    from training.params import TrainingParams
    from training.pipeline import train

    return Path(train(TRAINING_SOURCE, out, TrainingParams(hidden_layers=[16], max_iter=40, seed=seed)).out)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One trained model directory per session; copy it before changing it."""
    return train_small(tmp_path_factory.mktemp("trained") / "model", seed=7)


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
