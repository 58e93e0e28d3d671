"""Rendering many specs on several processes: the same bytes as a serial render, and the same errors."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from generator import parallel
from generator.render import SourcedSpec
from generator.repo import render_repo
from jukebox.cli import main
from jukebox.errors import CheckFailed
from tests.generator.helpers import base_spec, deep_merge, make_repo, tree_bytes

SPEC_COUNT = 5
needs_fork = pytest.mark.skipif(
    sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods(),
    reason="parallel rendering forks workers: Linux only",
)


def numbered_spec(index: int) -> dict[str, Any]:
    """The jukebox spec under another model name, with its own namespaces (two specs may not share them)."""
    base, name = base_spec(), f"model{index}"
    base.pop("pipelines", None)  # KFP compiles are slow and beside the point here
    own_namespaces = {env: {"namespace": f"{name}-{env}"} for env in base["environments"]}
    changes = {"model": {"name": name}, "gitops": {"project": name}, "minio": {"namespace": f"{name}-minio"}}
    return deep_merge(base, {**changes, "environments": own_namespaces})


def many_specs_repo(root: Path) -> Path:
    return make_repo(root, {f"model{index}": numbered_spec(index) for index in range(SPEC_COUNT)})


@pytest.fixture
def parallel_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker per spec even for a handful of specs, so the forked path runs in a fast test."""
    monkeypatch.setattr(parallel, "SPECS_PER_WORKER_MIN", 1)
    monkeypatch.setenv(parallel.JOBS_VARIABLE, "3")


@pytest.fixture
def serial_tree(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    root = many_specs_repo(tmp_path_factory.mktemp("serial"))
    with monkeypatch.context() as serial:
        serial.setenv(parallel.JOBS_VARIABLE, "1")
        render_repo(root, use_cache=False)
    return tree_bytes(root)


@needs_fork
def test_a_parallel_render_writes_the_same_bytes_as_a_serial_one(
    tmp_path: Path, serial_tree: dict[str, bytes], parallel_rendering: None
) -> None:
    assert parallel.worker_count(SPEC_COUNT) == 3
    root = many_specs_repo(tmp_path)
    render_repo(root, use_cache=False)
    assert tree_bytes(root) == serial_tree


@needs_fork
def test_a_worker_that_dies_is_replaced_by_rendering_its_share_here(
    tmp_path: Path, serial_tree: dict[str, bytes], parallel_rendering: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = os.getpid()
    render_spec_files = parallel.render_spec_files

    def dies_in_a_worker(sourced: SourcedSpec) -> tuple[dict[str, str], list[str]]:
        if os.getpid() != parent:
            os._exit(3)  # like a worker killed by the OOM killer
        return render_spec_files(sourced)

    monkeypatch.setattr(parallel, "render_spec_files", dies_in_a_worker)
    root = many_specs_repo(tmp_path)
    render_repo(root, use_cache=False)
    assert tree_bytes(root) == serial_tree


@needs_fork
def test_an_error_in_a_worker_reads_as_in_a_serial_render(
    tmp_path: Path, parallel_rendering: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    render_spec_files = parallel.render_spec_files

    def first_spec_fails(sourced: SourcedSpec) -> tuple[dict[str, str], list[str]]:
        if sourced.spec.model.name == "model0":  # in the first share: a forked worker renders it
            raise CheckFailed("model0/deployment.yaml: kind 'Pod', expected 'Deployment'")
        return render_spec_files(sourced)

    monkeypatch.setattr(parallel, "render_spec_files", first_spec_fails)
    root = many_specs_repo(tmp_path)
    assert main(["render", "--root", str(root)]) == 1  # a failed check, as in a serial render
    err = capsys.readouterr().err
    assert "model0/deployment.yaml: kind 'Pod', expected 'Deployment'" in err and "Traceback" not in err
    assert not (root / "manifests").exists()


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_job_count_names_the_variable(
    tmp_path: Path, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(parallel.JOBS_VARIABLE, value)
    root = make_repo(tmp_path, {"jukebox": numbered_spec(0)})
    assert main(["render", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"JUKEBOX_RENDER_JOBS={value!r}: must be a whole number of processes, 1 or more" in err
