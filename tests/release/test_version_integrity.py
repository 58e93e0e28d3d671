"""One definition of a version (release.json: every file, size and sha256) against the real local servers:
a published prefix never changes, a directory that differs from the version it would reuse is refused,
a rerun's run records are not uploaded, and pin / serve check the whole version."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from generator.pin_file import pin_path, read_pin
from jukebox.cli import main
from jukebox.errors import CheckFailed
from release.flow import PinRequest, ReleaseRequest, pin, release
from release.local import LocalServices
from release.manifest import VersionTaken
from release.model_dir import scan_model_dir
from release.s3 import S3Settings, S3Store

from .conftest import Lines, registry, s3_client

pytestmark = pytest.mark.slow


def _release(spec_path: Path, model: Path, **options: object) -> tuple[Lines, object]:
    out = Lines()
    outcome = release(ReleaseRequest(spec_path, model_dir=model, **options), out)  # type: ignore[arg-type]
    return out, outcome


def _objects(services: LocalServices, prefix: str) -> dict[str, str]:
    """key -> sha256 of every object under `prefix`."""
    client = s3_client(services)
    listed = client.list_objects_v2(Bucket="models", Prefix=prefix).get("Contents", [])
    return {
        o["Key"]: hashlib.sha256(client.get_object(Bucket="models", Key=o["Key"])["Body"].read()).hexdigest()
        for o in listed
    }


def _copy(model: Path, tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(model, tmp_path / name))


def test_the_manifest_lists_every_file_and_registry_and_pin_record_its_digest(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    model = make_model(seed=1)
    _release(spec_path, model)
    name = spec_path.stem
    body = s3_client(env).get_object(Bucket="models", Key=f"{name}/0.0.1/release.json")["Body"].read()
    manifest = json.loads(body)
    assert manifest["format_version"] == 2
    local = {p.relative_to(model).as_posix(): p for p in model.rglob("*") if p.is_file()}
    assert manifest["files"] == {
        rel: {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "size": p.stat().st_size}
        for rel, p in local.items()
    }
    digest = hashlib.sha256(body).hexdigest()
    assert registry(env).get(name, "0.0.1").properties["manifest_sha256"] == digest  # type: ignore[union-attr]
    pinned = yaml.safe_load(pin_path(spec_path, "dev").read_text())
    assert pinned["artifact"]["manifestSha256"] == digest
    assert pinned["artifact"]["storagePath"] == f"{name}/0.0.1/"
    assert set(_objects(env, f"{name}/0.0.1/")) == {f"{name}/0.0.1/{rel}" for rel in [*local, "release.json"]}


def test_a_version_directory_added_to_a_published_version_is_caught_by_pin_serve_and_release(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path], tmp_path: Path
) -> None:
    """Someone (or an old jukebox) adds `2/model.onnx` to 0.0.1: OVMS would serve it to every pinned env."""
    from serving.pinned import fetch_pinned

    model = make_model(seed=1)
    _release(spec_path, model)
    _release(spec_path, make_model(seed=2, accuracy=0.6))
    pin(PinRequest(spec_path, "prod", "0.0.1"), Lines())
    other = (make_model(seed=3) / "1" / "model.onnx").read_bytes()
    s3_client(env).put_object(Bucket="models", Key=f"{spec_path.stem}/0.0.1/2/model.onnx", Body=other)
    with pytest.raises(VersionTaken, match=r"0\.0\.1/ holds 2/model\.onnx, which its release\.json does not list"):
        pin(PinRequest(spec_path, "dev", "0.0.1"), Lines())
    assert read_pin(spec_path, "dev").version == "0.0.2"  # type: ignore[union-attr]
    with pytest.raises(VersionTaken, match=r"holds 2/model\.onnx"):
        _release(spec_path, model)  # a rerun of 0.0.1's directory reuses 0.0.1: refused
    with pytest.raises(CheckFailed, match=r"holds 2/model\.onnx.*OVMS may serve it"):
        fetch_pinned(spec_path, "prod", cache_root=tmp_path / "cache", out=lambda _: None)
    assert not list((tmp_path / "cache").glob("*/1/model.onnx"))


def test_a_directory_differing_from_the_version_it_would_reuse_exits_2_naming_the_file(
    env: LocalServices,
    spec_path: Path,
    make_model: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = make_model(seed=1)
    assert main(["release", "--spec", str(spec_path), "--model", str(model)]) == 0
    before = _objects(env, f"{spec_path.stem}/")
    relabelled = _copy(model, tmp_path, "relabelled")
    (relabelled / "labels.json").write_text(json.dumps(["FR", "DE", "GB", "US"]))  # same model.onnx
    capsys.readouterr()
    for argv in (["--dry-run"], []):
        code = main(["release", "--spec", str(spec_path), "--model", str(relabelled), *argv])
        err = capsys.readouterr().err
        assert code == 2, err
        assert "labels.json differs from the published s3://models/" in err and "Traceback" not in err
    assert _objects(env, f"{spec_path.stem}/") == before
    assert [v.version for v in registry(env).list(spec_path.stem)] == ["0.0.1"]


def test_a_retrain_with_other_run_records_reuses_the_version_and_uploads_nothing(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path], tmp_path: Path
) -> None:
    """`./scripts/run` twice: same model bytes, other timings in metrics.json and the card."""
    model = make_model(seed=1)
    _release(spec_path, model)
    before = _objects(env, f"{spec_path.stem}/")
    rerun = _copy(model, tmp_path, "rerun")
    metrics = json.loads((rerun / "metrics.json").read_text())
    metrics["timing_seconds"] = {"total": 12.5}
    (rerun / "metrics.json").write_text(json.dumps(metrics))
    (rerun / "MODEL_CARD.md").write_text("# retrained, other timings\n")
    (rerun / "notes.txt").write_text("a record the version never had\n")
    out, outcome = _release(spec_path, rerun)
    assert outcome.version == "0.0.1" and not outcome.published  # type: ignore[attr-defined]
    assert "this run's MODEL_CARD.md, metrics.json, notes.txt differ from what 0.0.1 was published with" in out.text
    assert "were not uploaded" in out.text
    assert _objects(env, f"{spec_path.stem}/") == before


def test_an_interrupted_publish_is_completed_only_from_identical_listed_files(
    env: LocalServices, make_model: Callable[..., Path], tmp_path: Path
) -> None:
    store = S3Store(S3Settings(env.s3_endpoint, env.access_key, env.secret_key, "models", env.region))
    client = s3_client(env)
    model = make_model(seed=4)
    prefix = f"interrupted-{tmp_path.name}/0.0.1/"
    store.publish(scan_model_dir(model), prefix)
    for rel in ("labels.json", "metrics.json"):  # as if the first run stopped before these
        client.delete_object(Bucket="models", Key=prefix + rel)
    other = _copy(model, tmp_path, "other-records")
    (other / "metrics.json").write_text((other / "metrics.json").read_text().replace('"seed": 4', '"seed": 4 '))
    with pytest.raises(VersionTaken, match=r"incomplete: metrics\.json listed in its release\.json cannot be"):
        store.publish(scan_model_dir(other), prefix)
    assert prefix + "labels.json" not in _objects(env, prefix)  # refused before uploading anything
    done = store.publish(scan_model_dir(model), prefix)
    assert sorted(done.uploaded) == ["labels.json", "metrics.json"]
    assert store.verify_version(prefix, done.sha256, done.manifest.sha256, "the test") == done.manifest


def test_pin_and_serve_accept_a_version_published_before_the_manifest_listed_every_file(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path], tmp_path: Path
) -> None:
    """Old versions (release.json format 1: content only, run records beside it; storagePath without '/';
    no manifest sha256 in registry or pin) still pin, verify and serve."""
    from serving.pinned import fetch_pinned

    model = make_model(seed=1)
    _release(spec_path, model)
    name = spec_path.stem
    client = s3_client(env)
    files = scan_model_dir(model).files
    legacy = {"model": "1/model.onnx", "sha256": files["1/model.onnx"]}
    legacy["files"] = {rel: sha for rel, sha in files.items() if rel in ("1/model.onnx", "labels.json")}
    body = json.dumps(legacy).encode()
    client.delete_object(Bucket="models", Key=f"{name}/0.0.1/release.json")
    client.put_object(
        Bucket="models",
        Key=f"{name}/0.0.1/release.json",
        Body=body,
        Metadata={"sha256": hashlib.sha256(body).hexdigest()},
    )
    old_pin = yaml.safe_load(pin_path(spec_path, "dev").read_text())
    del old_pin["artifact"]["manifestSha256"]
    old_pin["artifact"]["storagePath"] = f"{name}/0.0.1"
    pin_path(spec_path, "dev").write_text(yaml.safe_dump(old_pin))
    fetched = fetch_pinned(spec_path, "dev", cache_root=tmp_path / "cache", out=lambda _: None)
    assert sorted(fetched.files) == ["1/model.onnx", "labels.json"]
    assert read_pin(spec_path, "dev").artifact.manifest_sha256 is None  # type: ignore[union-attr]
