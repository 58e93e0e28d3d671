"""`jukebox pipeline run --local` against the real local services (SeaweedFS S3 + the local registry).

The pipeline's result equals `jukebox release` on the same data and seed (same model sha256, same registered
metrics); it registers lineage, `pipeline pin --run` pins it; refusals leave nothing published or registered.
Small sample data keeps each run at about 15 s.
"""

from __future__ import annotations

import itertools
import socket
from pathlib import Path

import pytest

from generator.pin_file import read_pin
from jukebox.cli import main
from release.local import LocalServices
from release.registry import ModelSource
from tests.release.conftest import env, registry, s3_client  # noqa: F401  (S3 + registry as in a workbench)
from tests.release_local.fixtures import local_services, local_state_dir  # noqa: F401

pytest.importorskip("kfp", reason="the pipelines extra (kfp) is not installed")
pytestmark = pytest.mark.slow
TEMPLATE = Path(__file__).resolve().parents[1] / "release" / "data" / "spec.yaml"
DATA = "sample:rows=3000,countries=5,songs=600,seed=3"
TRAINING = "training:\n  hiddenLayers: [16]\n  maxIter: 40\n"
_names = itertools.count(1)


def new_spec(tmp_path: Path) -> Path:
    name = f"pl{next(_names)}-{tmp_path.name[-10:].lower().replace('_', '-').strip('-')}"
    specs = tmp_path / name / "specs"
    specs.mkdir(parents=True)
    path = specs / f"{name}.yaml"
    path.write_text(TEMPLATE.read_text().replace("MODEL_NAME", name) + TRAINING)
    return path


def objects_under(services: LocalServices, prefix: str) -> list[str]:
    listed = s3_client(services).list_objects_v2(Bucket="models", Prefix=f"{prefix}/")
    return [item["Key"] for item in listed.get("Contents", [])]


def test_a_local_run_registers_what_release_would_with_lineage_and_pins_by_run(
    env: LocalServices,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipelines.local import run_local
    from release.flow import ReleaseRequest, release

    pipeline_spec, release_spec = new_spec(tmp_path), new_spec(tmp_path)
    run = run_local(pipeline_spec, "dev", data=DATA, out=lambda line: None)
    entry = registry(env).get(pipeline_spec.stem, run.version)
    assert entry is not None and entry.sha256 == run.sha256
    assert entry.source is not None
    assert entry.source == ModelSource("kfp", "pipelinerun", "local", run.run_id, entry.source.name)
    assert entry.source.name.startswith(f"{pipeline_spec.stem}-training-")
    assert entry.metrics["accuracy"] > 0 and entry.properties["data_fingerprint"] != "unknown"

    outcome = release(ReleaseRequest(release_spec, "dev", data=DATA, progress=False), out=lambda line: None)
    released = registry(env).get(release_spec.stem, outcome.version)
    assert released is not None
    assert outcome.sha256 == run.sha256  # the same model bytes
    assert released.metrics == entry.metrics  # the same registered metrics
    assert released.properties["data_fingerprint"] == entry.properties["data_fingerprint"]
    assert released.source is None  # a person's release records no pipeline run

    assert read_pin(pipeline_spec, "dev") is None  # the pipeline never pins
    capsys.readouterr()
    assert main(["pipeline", "pin", "--spec", str(pipeline_spec), "--env", "dev", "--run", run.run_id]) == 0
    pinned = read_pin(pipeline_spec, "dev")
    assert pinned is not None and (pinned.version, pinned.artifact.sha256) == (run.version, run.sha256)
    assert main(["pipeline", "pin", "--spec", str(pipeline_spec), "--env", "dev", "--run", "no-such-run"]) == 2


def test_the_gate_refuses_against_the_current_pin_and_nothing_is_published(
    env: LocalServices,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = new_spec(tmp_path)
    pins = spec.with_name(f"{spec.stem}.pins")
    pins.mkdir()
    fixture = Path(__file__).resolve().parents[1] / "generator" / "fixtures" / "pins" / "dev.yaml"
    (pins / "dev.yaml").write_text(fixture.read_text().replace("accuracy: 0.91", "accuracy: 0.999"))
    code = main(["pipeline", "run", "--local", "--spec", str(spec), "--data", DATA])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "quality gate refused: accuracy" in err and "vs pinned 0.0.3 0.9990" in err and "Traceback" not in err
    assert registry(env).list(spec.stem) == []
    assert objects_under(env, spec.stem) == []


def test_bad_input_and_a_down_registry_leave_nothing_behind(
    env: LocalServices,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = new_spec(tmp_path)
    assert main(["pipeline", "run", "--local", "--spec", str(spec), "--data", "nonsense"]) == 2
    assert capsys.readouterr().err.startswith("error: --data nonsense: not a directory")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    argv = ["pipeline", "run", "--local", "--spec", str(spec), "--data", DATA]
    assert main([*argv, "--registry-url", f"http://127.0.0.1:{closed}"]) == 1
    err = capsys.readouterr().err
    assert f"model registry http://127.0.0.1:{closed}: connecting failed" in err and "Traceback" not in err
    assert registry(env).list(spec.stem) == []
    assert objects_under(env, spec.stem) == []
    assert main([*argv, "--env", "staging"]) == 2
    assert "unknown environment 'staging'" in capsys.readouterr().err
