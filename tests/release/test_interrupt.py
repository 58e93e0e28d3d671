"""`jukebox release --data`: the temp dir it trains into is removed on every exit, a signal included.

The slow tests run the CLI in a real process and send SIGINT / SIGTERM while it is fitting (as
tests/training/test_interrupt.py does for `jukebox train`): exit 130 / 143, nothing published or pinned, and
no `jukebox-<model>-*` dir left in TMPDIR. The fast tests drive the same paths with a stubbed trainer.
"""

from __future__ import annotations

import signal
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

import release.flow as flow
from jukebox.errors import ServiceError
from release.local import LocalServices
from release.model_dir import scan_model_dir
from tests.release.conftest import Lines, registry
from tests.release.models import build_model
from tests.training.test_interrupt import SLOW, SLOW_TRAINING, interrupt_mid_fit, start


@pytest.fixture
def tmpdir_(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TMPDIR for this test (tempfile's cached default included)."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def _stub_training(monkeypatch: pytest.MonkeyPatch, error: BaseException | None = None) -> None:
    def train_model(spec: object, data: str, out_dir: Path, progress: bool = True) -> Path:
        build_model(out_dir)
        if error is not None:
            raise error
        return out_dir

    monkeypatch.setattr(flow, "train_model", train_model)


def _no_services(*args: object, **kwargs: object) -> None:
    raise AssertionError("services were contacted")


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("training failed")])
def test_a_failure_during_training_leaves_no_temp_dir(
    spec_path: Path, tmpdir_: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    _stub_training(monkeypatch, error)
    monkeypatch.setattr(flow, "connect_or_start_local", _no_services)
    with pytest.raises(type(error)):
        flow.release(flow.ReleaseRequest(spec_path, data="sample"), Lines())
    assert list(tmpdir_.iterdir()) == []


def test_a_failure_after_training_keeps_the_model_and_names_a_dir_that_model_accepts(
    spec_path: Path, tmpdir_: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint must name the model directory itself: `--model` refuses its parent."""
    _stub_training(monkeypatch)

    def registry_down(*args: object, **kwargs: object) -> None:
        raise ServiceError("registry down")

    monkeypatch.setattr(flow, "_release_model", registry_down)
    lines = Lines()
    with pytest.raises(ServiceError):
        flow.release(flow.ReleaseRequest(spec_path, data="sample"), lines)
    hint = next(line for line in lines if line.startswith("the trained model is kept in"))
    kept = Path(hint.rsplit("--model ", 1)[1].split(" ")[0].rstrip(";"))
    assert scan_model_dir(kept).manifest.files  # a rerun with --model <kept> is accepted
    assert [p.parent for p in tmpdir_.glob("*/*")] == [kept.parent] and kept.parent.parent == tmpdir_


def test_a_successful_release_removes_its_temp_dir(
    spec_path: Path, tmpdir_: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stub_training(monkeypatch)
    monkeypatch.setattr(flow, "_release_model", lambda *args, **kwargs: None)
    outcome = flow.release(flow.ReleaseRequest(spec_path, data="sample"), Lines())
    assert list(tmpdir_.iterdir()) == [] and "train" in outcome.timings


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_jukebox_release_stops_on_a_signal_publishes_nothing_and_leaves_no_temp_dir(
    env: LocalServices, repo: Path, spec_path: Path, tmpdir_: Path, signum: int, code: int, name: str
) -> None:
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    spec_path.write_text(yaml.safe_dump({**spec, "training": SLOW_TRAINING}, sort_keys=False), encoding="utf-8")
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    process = start([sys.executable, "-m", "jukebox", "release", "--spec", str(spec_path), "--data", SLOW], repo)
    stderr = interrupt_mid_fit(process, signum)
    assert process.returncode == code, stderr
    assert f"interrupted by {name}" in stderr and "Traceback" not in stderr
    assert list(tmpdir_.iterdir()) == [], "the training dir was left behind"
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before  # no pin, no manifests
    assert registry(env).list(spec["model"]["name"]) == []
