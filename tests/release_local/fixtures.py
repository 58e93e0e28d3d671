"""Reusable pytest fixtures for the embedded local services (real servers, loopback, temp dirs).

Use from any test module or conftest:

    from tests.release_local.fixtures import local_services, registry_url, official_client  # noqa: F401

`registry_url` serves the local Model Registry in-process on a free 127.0.0.1 port over a temp SQLite db;
`local_services` starts SeaweedFS S3 + the registry as background processes in a temp state directory
for one module and always stops them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from release.local import LocalServices, ensure_local_services, running_registry, stop_local_services

if TYPE_CHECKING:
    from model_registry import ModelRegistry

TEST_TOKEN = "test-token"  # pragma: allowlist secret (fixed token of the in-process test registry)


def make_client(url: str, token: str | None = TEST_TOKEN, author: str = "tester") -> ModelRegistry:
    """The official client against `url` (http://127.0.0.1:PORT), as the release code builds it."""
    from model_registry import ModelRegistry

    host, port = url.rsplit(":", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "User access token is missing" when token is None
        return ModelRegistry(host, int(port), author=author, is_secure=False, user_token=token)


@pytest.fixture
def registry_db(tmp_path: Path) -> Path:
    return tmp_path / "registry" / "registry.db"


@pytest.fixture
def registry_url(registry_db: Path) -> Iterator[str]:
    """An in-process local registry (bearer token TEST_TOKEN) on a free loopback port."""
    with running_registry(registry_db, token=TEST_TOKEN) as url:
        yield url


@pytest.fixture
def official_client(registry_url: str) -> ModelRegistry:
    return make_client(registry_url)


@pytest.fixture(scope="module")
def local_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jukebox-local")


@pytest.fixture(scope="module")
def local_services(local_state_dir: Path) -> Iterator[LocalServices]:
    """SeaweedFS S3 (bucket `models`) + the registry as processes; stopped when the module ends."""
    try:
        yield ensure_local_services(local_state_dir, buckets=("models",))
    finally:
        stop_local_services(local_state_dir)
