"""kind clusters for the e2e tests: pytest-kind's KindCluster behind a Docker check, so they skip cleanly.

pytest-kind has no skip logic and downloads kind/kubectl when its fixture starts; this wrapper checks
`docker info` first and pins kind and the node image of the upstream profile (generator.profiles).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.profiles import PROFILES


def docker_problem() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "no docker client on PATH"
    try:
        result = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`docker info` failed: {error}"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"no Docker engine (`docker info`: {last})"
    return None


@pytest.fixture(scope="session")
def kind_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    problem = docker_problem()
    if problem:
        pytest.skip(f"e2e needs a Docker engine for kind: {problem}")
    import pytest_kind.cluster as kind_module
    from pytest_kind import KindCluster

    from generator.validate import kubectl_binary

    kind = PROFILES["upstream"].kind_stack
    assert kind is not None
    kind_module.KIND_VERSION = kind.kind_version  # read when the binary is downloaded
    installed = shutil.which("kind")
    cluster = KindCluster(
        "jukebox-e2e",
        image=kind.node_image,
        kind_path=Path(installed) if installed else None,
        kubectl_path=Path(kubectl_binary()),
    )
    cluster.create()
    yield cluster
    if not request.config.getoption("keep_cluster", default=False):
        cluster.delete()
