"""Pure functions: version strings, the quality gate, model info (no servers)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from generator.pin_file import Pin, PinnedArtifact, RegistryIds
from generator.spec import ReleaseGate
from jukebox.errors import CheckFailed, InputError
from release.gate import quality_gate
from release.manifest import (
    DirectoryDiffers,
    FileEntry,
    Reconciliation,
    VersionManifest,
    VersionTaken,
    parse_manifest,
    reconcile,
)
from release.versions import check_version, next_patch, semver_key
from training.model_files import read_model_metrics

REPO = Path(__file__).resolve().parents[2]
FIXTURE_PINS = REPO / "tests" / "generator" / "fixtures" / "pins"
METRICS = {
    "format_version": 1,
    "metrics": {"accuracy": 0.5},
    "data": {"fingerprint": "f"},
    "params": {},
    "model": {"sha256": "0" * 64},
}


def test_next_patch() -> None:
    assert next_patch([]) == "0.0.1"
    assert next_patch(["0.0.1", "0.0.9", "0.0.10", "custom"]) == "0.0.11"
    assert next_patch(["1.2.3", "0.9.9"]) == "1.2.4"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "-1", "x" * 64, "1..2"])
def test_bad_versions_are_refused(bad: str) -> None:
    with pytest.raises(InputError):
        check_version(bad)


@pytest.mark.parametrize("bad", ["0.0.1\n", "0.0.1\r\n", "0.0.1\n\n"])
def test_version_with_trailing_newline_is_refused(bad: str) -> None:
    """A trailing newline must not slip through `$` into an S3 key or a registry version name."""
    with pytest.raises(InputError, match="invalid version"):
        check_version(bad)


def test_semver_key_needs_the_whole_string() -> None:
    assert semver_key("1.2.3") == (1, 2, 3)
    assert semver_key("v1.2.3") == (1, 2, 3)
    assert semver_key("1.2.3\n") is None
    assert next_patch(["1.2.3\n", "0.0.4"]) == "0.0.5"


def _pin(accuracy: float) -> Pin:
    return Pin(
        model="m",
        environment="dev",
        version="0.0.1",
        registry=RegistryIds(name="r", registered_model_id="1", model_version_id="2", model_artifact_id="3"),
        artifact=PinnedArtifact(uri="s3://b/p", storage_key="k", storage_path="p", sha256="0" * 64),
        metrics={"accuracy": accuracy, "loss": 1.0},
    )


def test_quality_gate_rules() -> None:
    higher = ReleaseGate(primary_metric="accuracy", rule="higher-is-better", tolerance=0.01)
    assert quality_gate(higher, {"accuracy": 0.1}, None).passed
    assert quality_gate(higher, {"accuracy": 0.495}, _pin(0.5)).passed  # within tolerance
    assert not quality_gate(higher, {"accuracy": 0.48}, _pin(0.5)).passed
    assert not quality_gate(higher, {}, _pin(0.5)).passed  # nothing to compare with
    lower = ReleaseGate(primary_metric="loss", rule="lower-is-better", tolerance=0.0)
    assert quality_gate(lower, {"loss": 0.9}, _pin(0.5)).passed
    refused = quality_gate(lower, {"loss": 1.1}, _pin(0.5))
    assert not refused.passed and "loss 1.1000 vs pinned 0.0.1 1.0000" in refused.message


def test_model_metrics_from_training_metrics(tmp_path: Path) -> None:
    document = {
        "format_version": 1,
        "metrics": {"accuracy": 0.6, "bayes_optimal_accuracy": None, "test_rows": 10},
        "data": {"fingerprint": "abc"},
        "params": {"a": 1},
        "model": {"sha256": "0" * 64},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(document))
    info = read_model_metrics(tmp_path / "metrics.json")
    assert info.metrics == {"accuracy": 0.6, "test_rows": 10.0}  # null means "not measured"
    assert info.data_fingerprint == "abc"
    assert info.params == {"a": 1} and info.model_sha256 == "0" * 64


def test_the_gate_refuses_non_finite_metrics_on_either_side() -> None:
    higher = ReleaseGate(primary_metric="accuracy", rule="higher-is-better", tolerance=0.01)
    for bad in (math.nan, math.inf, -math.inf):
        refused = quality_gate(higher, {"accuracy": bad}, _pin(0.5))
        assert not refused.passed and "the new model's accuracy is" in refused.message
    # A NaN pinned once must not let every later model through (NaN compares false).
    refused = quality_gate(higher, {"accuracy": 0.0001}, _pin(math.nan))
    assert not refused.passed and "the pinned 0.0.1's accuracy is nan, not a finite number" in refused.message
    lower = ReleaseGate(primary_metric="loss", rule="lower-is-better", tolerance=0.0)
    assert not quality_gate(lower, {"loss": -math.inf}, _pin(0.5)).passed
    no_metric = _pin(0.5).model_copy(update={"metrics": {}})
    assert not quality_gate(higher, {"accuracy": 0.9}, no_metric).passed  # cannot compare: refuse


def test_version_paths_end_with_a_slash_and_keys_never_double_it() -> None:
    from generator.loader import load_spec
    from generator.names import artifact_uri, exact_storage_path, version_storage_path
    from release.s3 import object_key

    spec = load_spec(REPO / "specs" / "jukebox.yaml")
    assert version_storage_path(spec, "0.0.1") == "jukebox/0.0.1/"
    uri = artifact_uri("models", "jukebox/0.0.1", "http://minio:9000", "us-east-1")
    assert uri == "s3://models/jukebox/0.0.1/?endpoint=http%3A%2F%2Fminio%3A9000&defaultRegion=us-east-1"
    assert artifact_uri("models", "jukebox/0.0.1/", "http://minio:9000", "us-east-1") == uri
    assert exact_storage_path("jukebox/0.0.1") == exact_storage_path("jukebox/0.0.1/") == "jukebox/0.0.1/"
    for path in ("jukebox/0.0.1", "jukebox/0.0.1/"):
        assert object_key(path, "1/model.onnx") == "jukebox/0.0.1/1/model.onnx"
        assert object_key(path) == "jukebox/0.0.1/"


def test_pins_written_before_the_manifest_digest_still_load(tmp_path: Path) -> None:
    from generator.pin_file import pin_to_yaml, read_pin

    specs = tmp_path / "specs"
    (specs / "jukebox.pins").mkdir(parents=True)
    for env in ("dev", "prod"):
        (specs / "jukebox.pins" / f"{env}.yaml").write_bytes((FIXTURE_PINS / f"{env}.yaml").read_bytes())
        pinned = read_pin(specs / "jukebox.yaml", env)
        assert pinned is not None and pinned.artifact.manifest_sha256 is None
        assert pin_to_yaml(pinned) == (FIXTURE_PINS / f"{env}.yaml").read_text()  # rewritten unchanged


def test_pins_written_before_the_format_version_load_as_format_1(tmp_path: Path) -> None:
    from generator.pin_file import PIN_FORMAT_VERSION, pin_to_yaml, read_pin

    pins = tmp_path / "specs" / "jukebox.pins"
    pins.mkdir(parents=True)
    current = (FIXTURE_PINS / "dev.yaml").read_text()
    (pins / "dev.yaml").write_text(current.replace("formatVersion: 1\n", ""))
    pinned = read_pin(tmp_path / "specs" / "jukebox.yaml", "dev")
    assert pinned is not None and pinned.format_version == PIN_FORMAT_VERSION == 1
    assert pin_to_yaml(pinned) == current  # rewritten with the field


def test_manifest_round_trip_and_legacy_format() -> None:
    new = VersionManifest.of([FileEntry("1/model.onnx", "a" * 64, 10), FileEntry("labels.json", "b" * 64, 3)])
    again = parse_manifest(new.to_bytes(), "release.json")
    assert again == new and again.sha256 == new.sha256 and not again.legacy
    legacy = parse_manifest(json.dumps({"files": {"1/model.onnx": "a" * 64}}).encode(), "old")
    assert legacy.legacy and legacy.files["1/model.onnx"].size is None and legacy.model_sha256 == "a" * 64


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"1/model.onnx": "a" * 64, "2/model.onnx": "a" * 64}, "a version directory other than 1/"),
        ({"1/model.onnx": "a" * 64, "1/extra.bin": "a" * 64}, "1/ may hold only model.onnx"),
        ({"1/model.onnx": "a" * 64, "../escape": "a" * 64}, "not a plain relative path"),
        ({"1/model.onnx": "a" * 64, "/abs": "a" * 64}, "not a plain relative path"),
        ({"1/model.onnx": "a" * 64, ".hidden": "a" * 64}, "hidden files are not published"),
        ({"1/model.onnx": "not a sha"}, "without a valid sha256"),
        ({"labels.json": "a" * 64}, "does not list 1/model.onnx"),
    ],
)
def test_a_manifest_that_breaks_the_layout_is_refused(files: dict[str, str], problem: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(problem)):
        parse_manifest(json.dumps({"files": files}).encode(), "s3://b/p/release.json")


def test_reconcile_content_records_and_unlisted_objects() -> None:
    model, labels = FileEntry("1/model.onnx", "a" * 64, 10), FileEntry("labels.json", "b" * 64, 3)
    metrics = FileEntry("metrics.json", "c" * 64, 5)
    published = VersionManifest.of([model, labels, metrics])
    present = {"1/model.onnx": 10, "labels.json": 3, "metrics.json": 5, "release.json": 99}
    rerun = VersionManifest.of([model, labels, FileEntry("metrics.json", "d" * 64, 6)])
    assert reconcile(rerun, published, present, "v/") == Reconciliation([], ["metrics.json"])
    other_labels = VersionManifest.of([model, FileEntry("labels.json", "e" * 64, 3), metrics])
    with pytest.raises(DirectoryDiffers, match=r"^labels\.json differs from the published v/") as differs:
        reconcile(other_labels, published, present, "v/")
    assert differs.value.exit_code == 2
    with pytest.raises(VersionTaken, match=r"v/ holds 2/model\.onnx, which its release\.json does not list"):
        reconcile(published, published, {**present, "2/model.onnx": 10}, "v/")
    interrupted = {"1/model.onnx": 10, "release.json": 99}
    assert reconcile(published, published, interrupted, "v/").upload == ["labels.json", "metrics.json"]
    with pytest.raises(VersionTaken, match=r"incomplete: metrics\.json"):
        reconcile(rerun, published, interrupted, "v/")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
        (b"two words", "more than one word"),
    ],
)
def test_a_bad_registry_token_file_names_the_option(tmp_path: Path, content: bytes, problem: str) -> None:
    from release.registry import RegistrySettings

    token = tmp_path / "token"
    token.write_bytes(content)
    with pytest.raises(InputError, match=f"--registry-token-file {re.escape(str(token))}: .*{problem}"):
        RegistrySettings.from_env({}, url="https://registry.example", token_file=str(token))
    with pytest.raises(InputError, match=f"--registry-token-file {re.escape(str(tmp_path))}: is a directory"):
        RegistrySettings.from_env({}, url="https://registry.example", token_file=str(tmp_path))
    env = {"JUKEBOX_REGISTRY_URL": "https://r.example", "JUKEBOX_REGISTRY_TOKEN_FILE": str(token)}
    with pytest.raises(InputError, match=f"JUKEBOX_REGISTRY_TOKEN_FILE {re.escape(str(token))}: .*{problem}"):
        RegistrySettings.from_env(env)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"metrics": {"accuracy": 0.5}}, "no format_version; this jukebox reads format_version 1 and 2"),
        ({"format_version": 3}, "format_version 3; this jukebox reads format_version 1 and 2"),
        ({**METRICS, "metrics": {"accuracy": "0.5"}}, "metrics.accuracy must be a number or null, found str"),
        ({**METRICS, "metrics": {"accuracy": True}}, "metrics.accuracy must be a number or null, found bool"),
        ({**METRICS, "data": {}}, "data.fingerprint must be a non-empty string"),
        ({**METRICS, "model": {"sha256": "abc"}}, "model.sha256 must be the 64 hex digit sha256"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_metrics_json_is_read_strictly(tmp_path: Path, document: object, problem: str) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError, match=re.escape(problem)):
        read_model_metrics(path)
    path.write_text('{"format_version": 1, "metrics": {"accuracy": 1e999}}')
    with pytest.raises(InputError, match=r"metrics\.accuracy is inf"):
        read_model_metrics(path)


def test_options_are_checked_before_training_or_any_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad --version, or a promotion onto itself, is exit 2 before local services would be started."""
    import release.flow as flow
    from tests.generator.helpers import base_spec, make_repo

    def no_services(*args: object, **kwargs: object) -> None:
        raise AssertionError("services were contacted")

    monkeypatch.setattr(flow, "connect_or_start_local", no_services)
    make_repo(tmp_path, {"jukebox": base_spec()})
    spec = tmp_path / "specs" / "jukebox.yaml"
    with pytest.raises(InputError, match="version"):
        flow.release(flow.ReleaseRequest(spec, data="sample", version="ü"))
    with pytest.raises(InputError, match="--from and --to are both 'dev'"):
        flow.promote(spec, "dev", "dev")
