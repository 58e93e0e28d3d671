"""The release flow against real local servers: publish, register, pin, render, pin/promote, versions, gate."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from generator.pin_file import pin_path, read_pin
from jukebox.cli import main
from jukebox.errors import CheckFailed, InputError, QualityGateRefused
from release.flow import PinRequest, ReleaseRequest, pin, promote, release
from release.local import LocalServices
from release.model_dir import scan_model_dir
from release.s3 import S3Settings, S3Store

from .conftest import Lines, registry, s3_client

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _release(spec_path: Path, model: Path, **options: object) -> tuple[Lines, object]:
    out = Lines()
    outcome = release(ReleaseRequest(spec_path, model_dir=model, **options), out)  # type: ignore[arg-type]
    return out, outcome


def test_release_publishes_registers_pins_and_renders(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    name = spec_path.stem
    out, outcome = _release(spec_path, make_model(seed=1))
    sha = scan_model_dir(make_model(seed=1)).sha256
    # S3: OVMS layout, sha256 metadata.
    client = s3_client(env)
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="models", Prefix=f"{name}/0.0.1/")["Contents"]}
    assert {f"{name}/0.0.1/1/model.onnx", f"{name}/0.0.1/labels.json", f"{name}/0.0.1/metrics.json"} <= keys
    head = client.head_object(Bucket="models", Key=f"{name}/0.0.1/1/model.onnx")
    assert head["Metadata"]["sha256"] == sha
    # Registry: version, artifact, custom properties.
    entry = registry(env).get(name, "0.0.1")
    assert entry is not None and entry.sha256 == sha
    assert entry.storage_key == "aws-connection-models" and entry.storage_path == f"{name}/0.0.1/"
    assert entry.uri.startswith(f"s3://models/{name}/0.0.1/?endpoint=")
    assert entry.metrics["accuracy"] == 0.5
    assert entry.properties["data_fingerprint"] == "fingerprint-1"
    assert entry.properties["params.seed"] == 1 and "git_commit" in entry.properties
    artifact = registry(env).client.get_model_artifact(name, "0.0.1")
    assert (artifact.model_format_name, artifact.model_format_version) == ("onnx", "1")
    # Pin and manifests.
    pinned = read_pin(spec_path, "dev")
    assert pinned is not None and pinned.version == "0.0.1" and pinned.artifact.sha256 == sha
    assert pinned.registry.model_version_id == entry.model_version_id and pinned.metrics["accuracy"] == 0.5
    isvc = spec_path.parent.parent / "manifests" / name / "overlays" / "dev" / "inferenceservice.yaml"
    if outcome.rendered is not None:  # type: ignore[attr-defined]
        assert f"{name}/0.0.1" in isvc.read_text()
    assert f"git add specs/{name}.pins manifests" in out.text and "git push" in out.text


def test_release_again_is_a_no_op_and_next_version_is_next_patch(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    _release(spec_path, make_model(seed=1))
    pin_file = pin_path(spec_path, "dev")
    before = pin_file.read_text()
    out, outcome = _release(spec_path, make_model(seed=1))
    assert outcome.version == "0.0.1" and not outcome.published and not outcome.registered  # type: ignore[attr-defined]
    assert "already registered as 0.0.1" in out.text and pin_file.read_text() == before
    _, outcome = _release(spec_path, make_model(seed=2, accuracy=0.6))
    assert outcome.version == "0.0.2" and read_pin(spec_path, "dev").version == "0.0.2"  # type: ignore[union-attr,attr-defined]
    assert [v.version for v in registry(env).list(spec_path.stem)] == ["0.0.1", "0.0.2"]


def test_different_bytes_under_an_existing_version_are_refused(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    _release(spec_path, make_model(seed=1), version="1.0.0")
    with pytest.raises(CheckFailed, match="immutable"):
        _release(spec_path, make_model(seed=2), version="1.0.0")
    assert read_pin(spec_path, "dev").artifact.sha256 == scan_model_dir(make_model(seed=1)).sha256  # type: ignore[union-attr]


def test_publish_same_bytes_is_a_no_op_and_verifies(env: LocalServices, make_model: Callable[..., Path]) -> None:
    store = S3Store(S3Settings(env.s3_endpoint, env.access_key, env.secret_key, "models", env.region))
    model = scan_model_dir(make_model(seed=5))
    first = store.publish(model, "publish-test/0.0.1")
    assert "1/model.onnx" in first.uploaded
    assert store.publish(model, "publish-test/0.0.1").unchanged
    assert store.verify_version("publish-test/0.0.1/", model.sha256, None, "the test") == first.manifest
    with pytest.raises(CheckFailed, match="does not exist"):
        store.verify_version("publish-test/9.9.9", model.sha256, None, "the test")


def test_quality_gate_registers_but_does_not_pin_a_worse_model(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    _release(spec_path, make_model(seed=1, accuracy=0.7))
    with pytest.raises(QualityGateRefused, match=r"registered \(recorded\) but dev stays pinned to 0\.0\.1") as refused:
        _release(spec_path, make_model(seed=2, accuracy=0.6))
    assert refused.value.exit_code == 3
    assert registry(env).get(spec_path.stem, "0.0.2") is not None  # recorded
    assert read_pin(spec_path, "dev").version == "0.0.1"  # type: ignore[union-attr]
    # Within tolerance (0.01) passes; --force pins anything.
    _release(spec_path, make_model(seed=3, accuracy=0.695))
    assert read_pin(spec_path, "dev").version == "0.0.3"  # type: ignore[union-attr]
    _release(spec_path, make_model(seed=2, accuracy=0.6), force=True)
    assert read_pin(spec_path, "dev").version == "0.0.2"  # type: ignore[union-attr]


def test_gate_exit_code_through_the_cli(env: LocalServices, spec_path: Path, make_model: Callable[..., Path]) -> None:
    assert main(["release", "--spec", str(spec_path), "--model", str(make_model(seed=1, accuracy=0.9))]) == 0
    worse = ["release", "--spec", str(spec_path), "--model", str(make_model(seed=2, accuracy=0.1))]
    assert main([*worse, "--dry-run"]) == 3
    assert [v.version for v in registry(env).list(spec_path.stem)] == ["0.0.1"]  # the dry run wrote nothing
    assert main(worse) == 3
    assert [v.version for v in registry(env).list(spec_path.stem)] == ["0.0.1", "0.0.2"]


def test_pin_rolls_back_and_promote_copies(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    _release(spec_path, make_model(seed=1))
    _release(spec_path, make_model(seed=2, accuracy=0.6))
    out = Lines()
    pin(PinRequest(spec_path, "dev", "0.0.1"), out)
    assert read_pin(spec_path, "dev").version == "0.0.1"  # type: ignore[union-attr]
    assert "pinned dev: 0.0.2 -> 0.0.1" in out.text and "has the registered sha256" in out.text
    promote(spec_path, "dev", "prod", out=out)
    assert read_pin(spec_path, "prod").version == "0.0.1"  # type: ignore[union-attr]
    with pytest.raises(InputError, match=r"not registered.*registered: 0\.0\.1, 0\.0\.2"):
        pin(PinRequest(spec_path, "dev", "7.7.7"), out)
    with pytest.raises(InputError, match="unknown environment"):
        pin(PinRequest(spec_path, "staging", "0.0.1"), out)


def test_pin_refuses_when_the_s3_object_no_longer_matches(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    _release(spec_path, make_model(seed=1))
    _release(spec_path, make_model(seed=2, accuracy=0.6))
    s3_client(env).put_object(Bucket="models", Key=f"{spec_path.stem}/0.0.1/1/model.onnx", Body=b"tampered")
    with pytest.raises(CheckFailed, match=r"sha256 mismatch: .*/0\.0\.1/1/model\.onnx hashes to"):
        pin(PinRequest(spec_path, "dev", "0.0.1"), Lines())
    assert read_pin(spec_path, "dev").version == "0.0.2"  # type: ignore[union-attr]


def test_dry_run_writes_nothing(env: LocalServices, spec_path: Path, make_model: Callable[..., Path]) -> None:
    out, _ = _release(spec_path, make_model(seed=1), dry_run=True)
    assert "dry run: would publish" in out.text and "nothing was written" in out.text
    assert s3_client(env).list_objects_v2(Bucket="models", Prefix=f"{spec_path.stem}/").get("KeyCount") == 0
    assert registry(env).list(spec_path.stem) == []
    assert not pin_path(spec_path, "dev").exists() and not (spec_path.parent.parent / "manifests").exists()
    _release(spec_path, make_model(seed=1))
    before = pin_path(spec_path, "dev").read_text()
    pin(PinRequest(spec_path, "prod", "0.0.1", dry_run=True), out)
    promote(spec_path, "dev", "prod", dry_run=True, out=out)
    assert not pin_path(spec_path, "prod").exists() and pin_path(spec_path, "dev").read_text() == before


def test_versions_table_and_json(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _release(spec_path, make_model(seed=1))
    _release(spec_path, make_model(seed=2, accuracy=0.6))
    pin(PinRequest(spec_path, "prod", "0.0.1"), Lines())
    capsys.readouterr()
    assert main(["versions", "--spec", str(spec_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["version"], r["pinnedIn"]) for r in rows] == [("0.0.2", ["dev"]), ("0.0.1", ["prod"])]
    assert rows[0]["metrics"]["accuracy"] == 0.6
    assert main(["versions", "--spec", str(spec_path)]) == 0
    table = capsys.readouterr().out
    assert "accuracy=0.6000" in table and "prod" in table


def test_embedded_defaults_use_the_local_services(
    local_services: LocalServices,
    local_state_dir: Path,
    spec_path: Path,
    make_model: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "JUKEBOX_REGISTRY_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUKEBOX_STATE_DIR", str(local_state_dir))
    out, _ = _release(spec_path, make_model(seed=1))
    assert f"S3: local services at {local_services.s3_endpoint}" in out.text
    assert f"registry: local services at {local_services.registry_url}" in out.text
    pinned = yaml.safe_load(pin_path(spec_path, "dev").read_text())
    assert (
        pinned["version"] == "0.0.1"
        and local_services.s3_endpoint.split("//")[1].split(":")[0] in pinned["artifact"]["uri"]
    )


def test_a_nan_pinned_metric_does_not_switch_the_gate_off_and_force_says_what_it_skipped(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A pin written with `accuracy: .nan` (by an older jukebox): every later release is compared with NaN."""
    _release(spec_path, make_model(seed=1, accuracy=0.7))
    pin_file = pin_path(spec_path, "dev")
    pin_file.write_text(pin_file.read_text().replace("accuracy: 0.7", "accuracy: .nan"))
    capsys.readouterr()
    worse = ["release", "--spec", str(spec_path), "--model", str(make_model(seed=2, accuracy=0.0001))]
    assert main([*worse, "--dry-run"]) == 3
    assert main(worse) == 3
    err = capsys.readouterr().err
    assert "quality gate refused: the pinned 0.0.1's accuracy is nan, not a finite number" in err
    assert read_pin(spec_path, "dev").version == "0.0.1"  # type: ignore[union-attr]
    assert main([*worse, "--force"]) == 0
    out = capsys.readouterr().out
    assert "--force: pinning although quality gate refused: the pinned 0.0.1's accuracy is nan" in out
    assert read_pin(spec_path, "dev").version == "0.0.2"  # type: ignore[union-attr]


@pytest.mark.parametrize(("content", "problem"), [(b"", "the registry token file is empty"), (b"\xff", "not UTF-8")])
def test_a_bad_token_file_exits_2_without_traceback(
    env: LocalServices, spec_path: Path, tmp_path: Path, content: bytes, problem: str
) -> None:
    token = tmp_path / "token"
    token.write_bytes(content)
    command = [sys.executable, "-m", "jukebox", "versions", "--spec", str(spec_path), "--registry-token-file"]
    done = subprocess.run([*command, str(token)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"error: --registry-token-file {token}: {problem}" in done.stderr
