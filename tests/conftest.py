"""Shared test setup: the repo root, the shared/ folder when present, and the opt-in e2e flag."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--e2e", action="store_true", default=False, help="run end-to-end tests that need Docker + kind")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--e2e") or os.environ.get("JUKEBOX_E2E") == "1":
        return
    skip = pytest.mark.skip(reason="end-to-end test: opt in with --e2e (needs Docker and kind)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"needs the shared/ folder beside the repo ({SHARED_DIR}), absent here")
    return SHARED_DIR
