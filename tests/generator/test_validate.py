"""Schema validation and Kustomize builds of the generated tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import crds
from generator.credentials import required_secrets
from generator.loader import load_spec
from generator.repo import render_repo
from generator.validate import kustomize_build, kustomize_directories, validate_tree
from jukebox.cli import main
from jukebox.errors import InputError
from tests.generator.helpers import base_spec, make_repo


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    make_repo(tmp_path, {"jukebox": base_spec()}, pins={"jukebox": ["dev", "prod"]})
    render_repo(tmp_path, use_cache=False)
    return tmp_path


def test_every_kustomize_directory_builds(rendered: Path) -> None:
    directories = [d for d in kustomize_directories(rendered / "manifests") if "platform" not in d.parts]
    assert len(directories) == 6  # argocd, base, 3 overlays, storage
    built = {d.name: kustomize_build(d) for d in directories}
    prod_kinds = sorted(doc["kind"] for doc in built["prod"])
    assert prod_kinds == [
        "InferenceService",
        "Namespace",
        "NetworkPolicy",
        "NetworkPolicy",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
        "RoleBinding",
        "ServiceAccount",
        "ServingRuntime",
    ]
    assert all(doc["metadata"]["namespace"] == "jukebox-prod" for doc in built["prod"] if doc["kind"] != "Namespace")
    root_build = kustomize_build(rendered)
    assert sorted(doc["kind"] for doc in root_build) == ["AppProject"] + ["Application"] * 4


def test_all_objects_validate(rendered: Path, shared_dir: Path) -> None:
    report = validate_tree(rendered / "manifests", "rhoai-3.3")
    assert report.ok, report.summary()
    # argocd 5 + base 2 + overlays (ns, rbac, 3 policies, isvc when pinned, auth objects in prod; in dev the
    # pipeline server, Pipeline and PipelineVersion) + storage 10, and the rhoai-3.3 platform layer (operators 6,
    # DataScienceCluster, gitops 3, registries 7 with the pipelines' NetworkPolicy and RoleBinding) 17
    assert report.objects == 60
    assert report.notes[0].startswith("profile rhoai-3.3: CRDs from the reference copies in")


def test_core_kinds_are_validated_strictly(rendered: Path) -> None:
    deployment = rendered / "manifests/jukebox/storage/deployment.yaml"
    deployment.write_text(deployment.read_text().replace("  replicas: 1", "  replica: 1"))
    report = validate_tree(rendered / "manifests", "rhoai-3.3")
    assert not report.ok
    assert any("Deployment/minio" in error and "replica" in error for error in report.errors)


def test_custom_resources_are_validated_against_crds(rendered: Path, shared_dir: Path) -> None:
    isvc = rendered / "manifests/jukebox/overlays/dev/inferenceservice.yaml"
    isvc.write_text(isvc.read_text().replace("minReplicas: 1", "minReplica: 1"))
    report = validate_tree(rendered / "manifests", "rhoai-3.3")
    assert any("InferenceService/jukebox" in e and "minReplica" in e for e in report.errors), report.errors


def test_another_releases_field_is_refused(rendered: Path, shared_dir: Path) -> None:
    """The 3.3 ModelRegistry (kubeRBACProxy, no grpc) is what 2.22's CRD refuses."""
    report = validate_tree(rendered / "manifests", "rhoai-2.22")
    errors = [e for e in report.errors if "ModelRegistry/jukebox-registry" in e]
    assert any("kubeRBACProxy" in e for e in errors) and any("grpc" in e for e in errors), report.errors


def test_without_crds_custom_resources_are_reported_unchecked(
    rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crds, "SHARED_PROFILES_DIR", tmp_path / "absent")
    monkeypatch.setenv("JUKEBOX_CACHE_DIR", str(tmp_path / "empty-cache"))
    report = validate_tree(rendered / "manifests", "rhoai-3.3")
    assert report.ok
    assert "jukebox crds fetch --profile rhoai-3.3" in report.notes[0]
    assert any("not schema-checked" in note and "InferenceService" in note for note in report.notes)
    # Every custom resource without a bundled schema: DSPA, DataScienceCluster, ModelRegistry, Subscriptions...
    assert report.unchecked > 0
    last = report.summary().splitlines()[-1]
    assert not last.endswith(": valid")
    assert f"{report.unchecked} custom resource(s) NOT schema-checked" in last
    assert "jukebox crds fetch --profile rhoai-3.3" in last and "--require-crds" in last


def test_without_crds_the_command_counts_what_it_did_not_check(
    rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(crds, "SHARED_PROFILES_DIR", tmp_path / "absent")
    monkeypatch.setenv("JUKEBOX_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert main(["validate", "--root", str(rendered)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert ": valid" not in out[-1]
    assert "NOT schema-checked" in out[-1] and "jukebox crds fetch --profile rhoai-3.3" in out[-1]


def test_require_crds_makes_missing_crds_an_input_error(
    rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(crds, "SHARED_PROFILES_DIR", tmp_path / "absent")
    monkeypatch.setenv("JUKEBOX_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert main(["validate", "--root", str(rendered), "--require-crds"]) == 2
    err = capsys.readouterr().err
    assert "--require-crds" in err and "jukebox crds fetch --profile rhoai-3.3" in err
    with pytest.raises(InputError, match="--require-crds"):
        validate_tree(rendered / "manifests", "rhoai-3.3", require_crds=True)


def test_require_crds_passes_with_the_profiles_crds(rendered: Path, shared_dir: Path) -> None:
    report = validate_tree(rendered / "manifests", "rhoai-3.3", require_crds=True)
    assert report.ok and report.unchecked == 0, report.summary()
    assert report.summary().endswith(": valid")


def test_crds_option_to_an_empty_directory_fails_every_custom_resource(rendered: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-crds"
    empty.mkdir()
    report = validate_tree(rendered / "manifests", "rhoai-3.3", empty, require_crds=True)
    assert not report.ok and report.unchecked == 0
    assert any("no CRD for serving.kserve.io/v1beta1 InferenceService" in e for e in report.errors), report.errors


def test_missing_crds_option_dir_is_an_input_error(rendered: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--crds"):
        validate_tree(rendered / "manifests", "rhoai-3.3", tmp_path / "nope")


@pytest.mark.parametrize("version", ["banana", "1.99", "", "1.33.0.1"])
def test_unknown_kubernetes_version_is_an_input_error(rendered: Path, version: str) -> None:
    with pytest.raises(InputError, match="--kubernetes-version"):
        validate_tree(rendered / "manifests", "rhoai-3.3", kubernetes_version=version)


def test_secret_contracts_match_reference(repo_root: Path) -> None:
    contracts = {(c.namespace, c.name): c for c in required_secrets(load_spec(repo_root / "specs/jukebox.yaml"))}
    s3 = contracts[("jukebox-dev", "aws-connection-models")]
    assert s3.labels == {"opendatahub.io/dashboard": "true", "opendatahub.io/managed": "true"}
    assert s3.annotations == {"opendatahub.io/connection-type": "s3", "openshift.io/display-name": "models"}
    assert s3.keys == sorted(
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_ENDPOINT", "AWS_S3_BUCKET", "AWS_DEFAULT_REGION"]
    )
    secret = s3.build({"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "key"})
    assert secret["stringData"]["AWS_S3_ENDPOINT"] == "http://minio.jukebox-minio.svc.cluster.local:9000"
    with pytest.raises(InputError, match="missing"):
        s3.build({"AWS_ACCESS_KEY_ID": "id"})
    assert ("jukebox-minio", "minio-root") in contracts


def test_spec_reference_page_is_current(repo_root: Path) -> None:
    from generator.reference import spec_reference

    page = (repo_root / "docs/spec-reference.md").read_text()
    assert page == spec_reference(), "docs/spec-reference.md is stale: run scripts/gen-spec-reference"
