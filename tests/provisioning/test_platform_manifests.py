"""The platform manifests: deterministic, each directory builds offline, every object schema-valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import validate
from generator.loader import load_spec
from generator.platform import CRDS_DIR, PlatformSettings, platform_manifests
from generator.render import render_document, to_yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("platform")
    spec = load_spec(REPO / "specs" / "jukebox.yaml")
    for manifest in platform_manifests([spec]):
        path = out / manifest.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(render_document(manifest), "# test\n"))
    return out


def test_deterministic() -> None:
    spec = load_spec(REPO / "specs" / "jukebox.yaml")
    first = [(m.path, render_document(m)) for m in platform_manifests([spec])]
    assert first == [(m.path, render_document(m)) for m in platform_manifests([spec])]
    assert all(path.startswith(("platform/openshift/", "platform/kind/")) for path, _ in first)


def test_every_directory_builds_and_validates(tree: Path, shared_dir: Path) -> None:
    directories = validate.kustomize_directories(tree)
    assert len(directories) == 7
    for directory in directories:
        text = (directory / "kustomization.yaml").read_text()
        assert "http" not in text  # no remote resources: builds offline
        for document in validate.kustomize_build(directory):
            errors = validate.validate_document(document, shared_dir / "crds", "1.33")
            if errors and errors[0].startswith("no CRD"):
                errors = validate.validate_document(document, CRDS_DIR, "1.33")
            assert errors == [], f"{directory}: {document['kind']}: {errors}"


def test_channel_is_a_param() -> None:
    spec = load_spec(REPO / "specs" / "jukebox.yaml")
    settings = PlatformSettings.model_validate(
        {"openshiftAiOperator": {"package": "rhods-operator", "channel": "fast", "namespace": "redhat-ods-operator"}}
    )
    from generator.platform import openshift_manifests

    subscription = next(
        m for m in openshift_manifests([spec], settings) if m.path.endswith("subscription-rhods-operator.yaml")
    )
    assert render_document(subscription)["spec"]["channel"] == "fast"
    dsc = render_document(next(m for m in platform_manifests([spec]) if m.kind == "DataScienceCluster"))
    assert dsc["spec"]["components"]["kserve"]["defaultDeploymentMode"] == "RawDeployment"
    assert dsc["spec"]["components"]["modelregistry"] == {
        "managementState": "Managed",
        "registriesNamespace": "rhoai-model-registries",
    }
