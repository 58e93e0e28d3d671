"""Fixtures for the serving tests: a model built to the training contract, its engine, a running server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving_fixtures import build_model


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("model") / "jukebox")


@pytest.fixture(scope="session")
def engine(model_dir: Path):
    from serving.engine import Engine

    return Engine.from_dir(model_dir)


@pytest.fixture(scope="session")
def server(engine) -> Iterator:
    """A v2 server on 127.0.0.1 and a free port, stopped after the session."""
    from serving.server import BackgroundServer

    with BackgroundServer(engine) as running:
        yield running
