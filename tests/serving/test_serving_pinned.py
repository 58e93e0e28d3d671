"""`jukebox serve --spec FILE --env E` against real local servers (SeaweedFS S3 + the local Model Registry).

Each test releases a model built to the ONNX contract through the real release flow (publish -> register ->
pin -> render) into its own temp GitOps repo (a unique model name, so one S3 prefix and one cache each).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from serving_fixtures import LABELS, build_model, lab_body, random_rows

from generator.pin_file import Pin, read_pin
from jukebox.cli import main
from jukebox.errors import CheckFailed, ServiceError
from release.connections import Connection
from release.flow import ReleaseRequest, release
from release.local import LocalServices
from release.s3 import S3Settings, make_client, object_key
from serving.pinned import PINNED_MODEL_CACHE_DIR, VERIFIED_FILE, fetch_pinned
from tests.release.models import write_metrics
from tests.release_local.fixtures import local_services, local_state_dir  # noqa: F401

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SPEC = """\
apiVersion: jukebox.rhoai-mlops.io/v1alpha1
kind: ModelSpec
model:
  name: NAME
  displayName: Pinned serving test model
project:
  displayName: Pinned serving tests
storage:
  connection: models
  bucket: models
  prefix: NAME
environments:
  dev:
    namespace: NAME-dev
  prod:
    namespace: NAME-prod
gitops:
  repoURL: https://github.com/example/jukebox-gitops.git
  project: NAME
release:
  primaryMetric: accuracy
  rule: higher-is-better
  tolerance: 0.0
"""
_names = itertools.count(1)
CONFIG_VARS = (
    "AWS_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_BUCKET", "AWS_DEFAULT_REGION",
    "JUKEBOX_REGISTRY_URL", "JUKEBOX_REGISTRY_TOKEN", "JUKEBOX_REGISTRY_TOKEN_FILE",
)  # fmt: skip


@pytest.fixture
def local_env(
    local_services: LocalServices,  # noqa: F811
    local_state_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Nothing configured but $JUKEBOX_STATE_DIR: release and serve fall back to the (running) local services."""
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUKEBOX_STATE_DIR", str(local_state_dir))
    return dict(os.environ)


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    """A temp GitOps repo with one spec of a model name unique to the test."""
    name = f"ps{next(_names)}-{os.getpid()}"
    (tmp_path / "repo" / "specs").mkdir(parents=True)
    path = tmp_path / "repo" / "specs" / f"{name}.yaml"
    path.write_text(SPEC.replace("NAME", name), encoding="utf-8")
    return path


@pytest.fixture
def released(local_env: dict[str, str], spec_path: Path, tmp_path: Path) -> tuple[Path, Pin]:
    """The fixture model, released (published, registered, dev pinned, rendered) by the real flow."""
    model = build_model(tmp_path / "model", seed=7)
    write_metrics(model, {"accuracy": 0.5})
    release(ReleaseRequest(spec_path, environment="dev", model_dir=model, progress=False), out=lambda _: None)
    pin = read_pin(spec_path, "dev")
    assert pin is not None
    return model, pin


def _s3(services: LocalServices) -> Any:
    settings = S3Settings(services.s3_endpoint, services.access_key, services.secret_key, "models", services.region)
    return make_client(settings)


def _aws_env(services: LocalServices) -> dict[str, str]:
    """S3 configured the way an OpenShift AI connection injects it."""
    return {
        "AWS_S3_ENDPOINT": services.s3_endpoint,
        "AWS_ACCESS_KEY_ID": services.access_key,
        "AWS_SECRET_ACCESS_KEY": services.secret_key,
        "AWS_DEFAULT_REGION": services.region,
    }


def _cache(spec_path: Path, pin: Pin) -> Path:
    return spec_path.parent.parent / PINNED_MODEL_CACHE_DIR / pin.artifact.sha256


def _serve_command(spec_path: Path, env: str = "dev") -> list[str]:
    return [sys.executable, "-m", "jukebox", "serve", "--spec", str(spec_path), "--env", env, "--port", "0"]


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Callable[..., tuple[str, Path]]]:
    """Start `jukebox serve ...` as a process; returns (base URL, stderr file). Always stopped."""
    processes: list[subprocess.Popen[str]] = []

    def start(command: list[str], env: dict[str, str]) -> tuple[str, Path]:
        err = tmp_path / f"serve-{len(processes)}.err"
        with err.open("w") as handle:
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=handle, text=True)
        processes.append(process)
        assert process.stdout is not None
        first, second = process.stdout.readline(), process.stdout.readline()
        assert second.split()[:1] == ["POST"], f"serve did not start: {first}{second}{err.read_text()}"
        return second.split()[1].split("/v2/")[0], err

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def test_serve_spec_env_answers_like_the_local_model(
    released: tuple[Path, Pin],
    spec_path: Path,
    local_env: dict[str, str],
    serve_process: Callable[..., tuple[str, Path]],
) -> None:
    """Nothing configured: S3 is the local services; the pinned version is fetched, verified, served."""
    from serving.engine import Engine

    model, pin = released
    url, err = serve_process(_serve_command(spec_path), local_env)
    name = spec_path.stem  # the spec's model.name, as the InferenceService is named
    answer = requests.post(f"{url}/v2/models/{name}/infer", json=lab_body(), timeout=10).json()
    assert answer["model_name"] == name and answer["model_version"] == "1"
    local = Engine.from_dir(model)
    columns = {i["name"]: np.array(i["data"], dtype=np.float32).reshape(1, 1) for i in lab_body()["inputs"]}
    expected = local.infer(columns)["output"]
    assert answer["outputs"][0]["shape"] == [1, len(LABELS)]
    assert np.array_equal(np.array(answer["outputs"][0]["data"], dtype=np.float32), expected.ravel())
    # A batch, too (the same bytes, the same OpenVINO config: identical numbers).
    rows = random_rows(50, seed=3)
    body = {
        "inputs": [
            {"name": k, "shape": [50, 1], "datatype": "FP32", "data": v.ravel().tolist()} for k, v in rows.items()
        ]
    }
    batch = requests.post(f"{url}/v2/models/{name}/infer", json=body, timeout=10).json()
    assert np.array_equal(np.array(batch["outputs"][0]["data"], dtype=np.float32), local.infer(rows)["output"].ravel())
    assert requests.get(f"{url}/jukebox/models/{name}/labels", timeout=10).json()["labels"] == LABELS
    assert requests.get(f"{url}/v2/models/jukebox", timeout=10).status_code == 404
    # What was fetched, from where, verified against what.
    log = err.read_text()
    assert "S3: local services at" in log and f"verified: s3://models/{name}/0.0.1/1/model.onnx" in log
    assert pin.artifact.sha256 in log and "dev pins" in log
    cache = _cache(spec_path, pin)
    record = json.loads((cache / VERIFIED_FILE).read_text())
    assert record["files"] == {p: _sha(model / p) for p in ("1/model.onnx", "labels.json", "metrics.json")}
    assert record["manifestSha256"] == pin.artifact.manifest_sha256
    assert (cache / "1" / "model.onnx").read_bytes() == (model / "1" / "model.onnx").read_bytes()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_tampered_object_in_s3_is_refused_and_nothing_is_served(
    released: tuple[Path, Pin],
    spec_path: Path,
    local_env: dict[str, str],
    local_services: LocalServices,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Other bytes under the pinned key, even with the pinned sha256 forged into the metadata: exit 1."""
    _, pin = released
    key = object_key(pin.artifact.storage_path, "1/model.onnx")
    other = (build_model(tmp_path / "other", seed=8) / "1" / "model.onnx").read_bytes()
    _s3(local_services).put_object(Bucket="models", Key=key, Body=other, Metadata={"sha256": pin.artifact.sha256})
    env = {**local_env, **_aws_env(local_services)}  # this time S3 configured through AWS_*
    done = subprocess.run(_serve_command(spec_path), cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "sha256 mismatch" in done.stderr and "refusing to serve it" in done.stderr
    assert hashlib.sha256(other).hexdigest() in done.stderr and pin.artifact.sha256 in done.stderr
    assert f"s3://models/{key}" in done.stderr and "serving" not in done.stdout
    cache_root = spec_path.parent.parent / PINNED_MODEL_CACHE_DIR
    assert list(cache_root.iterdir()) == []  # the download was discarded: nothing cached


def test_stripped_metadata_or_a_manifest_other_than_the_pin_is_refused(
    released: tuple[Path, Pin],
    spec_path: Path,
    local_services: LocalServices,  # noqa: F811
    tmp_path: Path,
) -> None:
    model, pin = released
    s3 = _s3(local_services)
    env = _aws_env(local_services)
    prefix = pin.artifact.storage_path
    # The right bytes without the sha256 metadata (e.g. copied by hand): refused, naming the metadata.
    body = (model / "1" / "model.onnx").read_bytes()
    s3.put_object(Bucket="models", Key=object_key(prefix, "1/model.onnx"), Body=body)
    with pytest.raises(CheckFailed, match=f"carries sha256 metadata \\(none\\), .* say {pin.artifact.sha256}"):
        fetch_pinned(spec_path, "dev", env=env, cache_root=tmp_path / "cache", out=lambda _: None)
    # A manifest naming another model.onnx, or a path outside the model directory: refused before any download.
    other = {"model": "1/model.onnx", "sha256": "0" * 64, "files": {"1/model.onnx": "0" * 64}}
    s3.put_object(Bucket="models", Key=object_key(prefix, "release.json"), Body=json.dumps(other).encode())
    with pytest.raises(CheckFailed, match=r"release\.json hashes to [0-9a-f]{64}, the pin .* records .* changed"):
        fetch_pinned(spec_path, "dev", env=env, cache_root=tmp_path / "cache", out=lambda _: None)
    evil = {"files": {"1/model.onnx": pin.artifact.sha256, "1/../../escape": pin.artifact.sha256}}
    s3.put_object(Bucket="models", Key=object_key(prefix, "release.json"), Body=json.dumps(evil).encode())
    with pytest.raises(CheckFailed, match=re.escape("lists '1/../../escape': not a plain relative path")):
        fetch_pinned(spec_path, "dev", env=env, cache_root=tmp_path / "cache", out=lambda _: None)
    assert not (tmp_path / "escape").exists() and list((tmp_path / "cache").iterdir()) == []


def test_the_verified_cache_is_reused_without_s3_and_refetched_when_changed(
    released: tuple[Path, Pin],
    spec_path: Path,
    local_services: LocalServices,  # noqa: F811
) -> None:
    _, pin = released
    lines: list[str] = []
    first = fetch_pinned(spec_path, "dev", env=_aws_env(local_services), out=lines.append)
    assert first.downloaded and first.model_dir == _cache(spec_path, pin) and first.name == spec_path.stem
    # Reused as is: S3 is not contacted (this endpoint does not exist).
    nowhere = {**_aws_env(local_services), "AWS_S3_ENDPOINT": "http://127.0.0.1:9"}
    again = fetch_pinned(spec_path, "dev", env=nowhere, out=lines.append)
    assert not again.downloaded and again.model_dir == first.model_dir and again.files == first.files
    # A record in another format (a newer jukebox wrote it) is not trusted: S3 is asked again.
    record_path = first.model_dir / VERIFIED_FILE
    record = json.loads(record_path.read_text())
    assert record["formatVersion"] == 1
    record_path.write_text(json.dumps({**record, "formatVersion": 2}))
    with pytest.raises(ServiceError, match=re.escape("S3 http://127.0.0.1:9: reading")):
        fetch_pinned(spec_path, "dev", env=nowhere, out=lines.append)
    # A record from before the field (format 1) is still trusted.
    record_path.write_text(json.dumps({k: v for k, v in record.items() if k != "formatVersion"}))
    assert not fetch_pinned(spec_path, "dev", env=nowhere, out=lines.append).downloaded
    # A cached file changed on disk: downloaded again and verified.
    (first.model_dir / "1" / "model.onnx").write_bytes(b"not the model")
    with pytest.raises(ServiceError, match=re.escape("S3 http://127.0.0.1:9: reading")):
        fetch_pinned(spec_path, "dev", env=nowhere, out=lines.append)
    # ... this time with the endpoint given as an option (--s3-endpoint), credentials from AWS_*.
    credentials = {k: v for k, v in _aws_env(local_services).items() if k != "AWS_S3_ENDPOINT"}
    option = Connection(s3_endpoint=local_services.s3_endpoint)
    third = fetch_pinned(spec_path, "dev", option, env=credentials, out=lines.append)
    assert third.downloaded and _sha(third.model_dir / "1" / "model.onnx") == pin.artifact.sha256
    assert sorted(p.name for p in third.model_dir.parent.iterdir()) == [pin.artifact.sha256]  # no temp dirs left
    assert "cached:" in "\n".join(lines)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_unpinned_and_unknown_environments_exit_2(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Both are refused before anything is contacted (no S3 needed)."""
    code, out, err = run(capsys, "serve", "--spec", str(spec_path), "--env", "prod", "--port", "0")
    assert code == 2 and out == ""
    assert "nothing pinned for env prod" in err and "jukebox release" in err and "jukebox pin" in err
    code, _, err = run(capsys, "serve", "--spec", str(spec_path), "--env", "staging", "--port", "0")
    assert code == 2 and "unknown environment 'staging'" in err and "dev, prod" in err


def test_serve_options_go_together(spec_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve", "--spec", str(spec_path), "--port", "0")
    assert code == 2 and "--spec FILE needs --env E" in err
    code, _, err = run(capsys, "serve", "--model", str(tmp_path), "--env", "dev", "--port", "0")
    assert code == 2 and "--env goes with --spec FILE" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--model", str(tmp_path), "--spec", str(spec_path)])
    assert exit_info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
