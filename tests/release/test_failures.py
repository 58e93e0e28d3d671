"""Failure behaviour with real servers stopped mid-release (this module has its own local services)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.pin_file import pin_path, read_pin
from jukebox.errors import CheckFailed, JukeboxError, ServiceError
from release.flow import ReleaseRequest, release
from release.local import LocalServices, ensure_local_services, stop_local_services

from .conftest import Lines, registry

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _stop_when(state_dir: Path, marker: str) -> Lines:
    """An `out` callback that stops both local servers when the flow prints a line starting with `marker`."""

    class Stopper(Lines):
        def __call__(self, line: str) -> None:
            super().__call__(line)
            if line.startswith(marker):
                stop_local_services(state_dir)

    return Stopper()


def _restart(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> LocalServices:
    services = ensure_local_services(state_dir, buckets=("models",))
    monkeypatch.setenv("AWS_S3_ENDPOINT", services.s3_endpoint)
    monkeypatch.setenv("JUKEBOX_REGISTRY_URL", services.registry_url)
    return services


@pytest.fixture
def env(local_services: LocalServices, local_state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> LocalServices:
    """Like conftest's `env`, but (re)started for each test: earlier tests stop the servers."""
    services = _restart(local_state_dir, monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", services.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", services.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", services.region)
    if services.registry_token:
        monkeypatch.setenv("JUKEBOX_REGISTRY_TOKEN", services.registry_token)
    return services


def _versions(services: LocalServices, name: str) -> list[str]:
    return [v.version for v in registry(services).list(name)]


def test_upload_failure_registers_nothing_and_keeps_the_pin(
    env: LocalServices,
    local_state_dir: Path,
    spec_path: Path,
    make_model: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release(ReleaseRequest(spec_path, model_dir=make_model(seed=1)), Lines())
    before = pin_path(spec_path, "dev").read_bytes()
    with pytest.raises(ServiceError, match="S3"):
        release(ReleaseRequest(spec_path, model_dir=make_model(seed=2)), _stop_when(local_state_dir, "publishing"))
    services = _restart(local_state_dir, monkeypatch)
    assert _versions(services, spec_path.stem) == ["0.0.1"]
    assert pin_path(spec_path, "dev").read_bytes() == before
    release(ReleaseRequest(spec_path, model_dir=make_model(seed=2)), Lines())  # the rerun completes
    assert _versions(services, spec_path.stem) == ["0.0.1", "0.0.2"]
    assert read_pin(spec_path, "dev").version == "0.0.2"  # type: ignore[union-attr]


def test_registration_failure_keeps_the_pin_and_a_rerun_completes_without_duplicates(
    env: LocalServices,
    local_state_dir: Path,
    spec_path: Path,
    make_model: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release(ReleaseRequest(spec_path, model_dir=make_model(seed=1)), Lines())
    before = pin_path(spec_path, "dev").read_bytes()
    with pytest.raises(ServiceError, match="model registry"):
        release(ReleaseRequest(spec_path, model_dir=make_model(seed=2)), _stop_when(local_state_dir, "published"))
    services = _restart(local_state_dir, monkeypatch)
    assert _versions(services, spec_path.stem) == ["0.0.1"]
    assert pin_path(spec_path, "dev").read_bytes() == before
    out = Lines()
    release(ReleaseRequest(spec_path, model_dir=make_model(seed=2)), out)
    assert "already published (same bytes)" in out.text
    assert _versions(services, spec_path.stem) == ["0.0.1", "0.0.2"]
    entry = registry(services).get(spec_path.stem, "0.0.2")
    assert entry is not None and entry.model_artifact_id
    assert read_pin(spec_path, "dev").version == "0.0.2"  # type: ignore[union-attr]


def test_a_version_left_without_artifact_is_completed_and_other_bytes_are_refused(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    """A run stopped between the registry's POSTs leaves a version without artifact; rerunning completes it."""
    from model_registry.types import ModelVersion, RegisteredModel

    from release.model_dir import scan_model_dir

    reg = registry(env)
    sha = scan_model_dir(make_model(seed=1)).sha256
    rm = reg.client.async_runner(reg.client._api.upsert_registered_model(RegisteredModel(name=spec_path.stem)))
    partial = ModelVersion(name="0.0.1", custom_properties={"sha256": sha})
    reg.client.async_runner(reg.client._api.upsert_model_version(partial, str(rm.id)))
    release(ReleaseRequest(spec_path, model_dir=make_model(seed=1), version="0.0.1"), Lines())
    entry = reg.get(spec_path.stem, "0.0.1")
    assert entry is not None and entry.model_artifact_id and entry.storage_path == f"{spec_path.stem}/0.0.1/"
    assert _versions(env, spec_path.stem) == ["0.0.1"]
    with pytest.raises(CheckFailed, match=r"already (registered with sha256|holds a different model)"):
        release(ReleaseRequest(spec_path, model_dir=make_model(seed=2), version="0.0.1"), Lines())


def test_two_releases_of_one_version_at_once_one_wins(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    models = [make_model(seed=1), make_model(seed=2)]
    command = [sys.executable, "-m", "jukebox", "release", "--spec", str(spec_path), "--version", "2.0.0"]
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [*command, "--model", str(m)], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for m in models
    ]
    results = [(run.wait(120), run.communicate()[1]) for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "immutable" in loser or "already" in loser, loser
    assert _versions(env, spec_path.stem) == ["2.0.0"]
    winner_sha = registry(env).get(spec_path.stem, "2.0.0").sha256  # type: ignore[union-attr]
    assert read_pin(spec_path, "dev").artifact.sha256 == winner_sha  # type: ignore[union-attr]


def test_a_render_failure_restores_the_pin(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    release(ReleaseRequest(spec_path, model_dir=make_model(seed=1)), Lines())
    before = pin_path(spec_path, "dev").read_bytes()
    broken = spec_path.with_name("broken.yaml")
    broken.write_text("apiVersion: [\n", encoding="utf-8")  # the generator cannot render this repo
    out = Lines()
    with pytest.raises(JukeboxError):
        release(ReleaseRequest(spec_path, model_dir=make_model(seed=2)), out)
    assert "pin restored to 0.0.1" in out.text
    assert pin_path(spec_path, "dev").read_bytes() == before
    assert [p.name for p in pin_path(spec_path, "dev").parent.iterdir()] == ["dev.yaml"]  # no temp files left
    broken.unlink()
    release(ReleaseRequest(spec_path, model_dir=make_model(seed=2)), Lines())  # 0.0.2 is reused as registered
    assert read_pin(spec_path, "dev").version == "0.0.2"  # type: ignore[union-attr]
