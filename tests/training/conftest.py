"""Small, fast training fixtures: a tiny `sample` source and one trained model shared per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.params import TrainingParams
from training.pipeline import TrainResult, train

SMALL_SOURCE = "sample:rows=3000,countries=5,songs=600,seed=3"


@pytest.fixture(scope="session")
def small_params() -> TrainingParams:
    return TrainingParams(hidden_layers=[16], max_iter=40, seed=7)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, small_params: TrainingParams) -> TrainResult:
    out = tmp_path_factory.mktemp("model") / "jukebox"
    return train(SMALL_SOURCE, out, small_params)


@pytest.fixture(scope="session")
def model_bytes(trained: TrainResult) -> bytes:
    return Path(trained.model_path).read_bytes()
