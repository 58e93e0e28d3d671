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


def _deployment(target: str, name: str, settings: PlatformSettings | None = None) -> dict:
    from generator.platform import kind_manifests, openshift_manifests

    spec = load_spec(REPO / "specs" / "jukebox.yaml")
    build = kind_manifests if target == "kind" else openshift_manifests
    manifests = build([spec], settings or PlatformSettings())
    return render_document(next(m for m in manifests if m.kind == "Deployment" and m.name == name))


def _skips(document: dict) -> list[str]:
    annotations = document["metadata"].get("annotations", {})
    return sorted(value.split("=", 1)[0] for key, value in annotations.items() if key.startswith("checkov.io/skip"))


def _writable(document: dict) -> dict[str, str]:
    """mountPath -> volume kind ('emptyDir', 'persistentVolumeClaim', 'secret') of the one container."""
    pod = document["spec"]["template"]["spec"]
    kinds = {v["name"]: next(k for k in v if k != "name") for v in pod["volumes"]}
    return {m["mountPath"]: kinds[m["name"]] for m in pod["containers"][0]["volumeMounts"]}


@pytest.mark.parametrize("target", ["openshift", "kind"])
def test_registry_deployments_are_hardened(target: str) -> None:
    names = ["jukebox-registry-db"] + (["jukebox-registry"] if target == "kind" else [])
    for name in names:
        document = _deployment(target, name)
        pod = document["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert pod["automountServiceAccountToken"] is False
        if target == "kind":  # no SCC: a fixed UID above 10000 (CKV_K8S_40 passes)
            assert pod["securityContext"]["runAsUser"] == pod["securityContext"]["runAsGroup"] == 10001
        else:
            assert "runAsUser" not in pod["securityContext"]
        assert _writable(document)["/tmp"] == "emptyDir"


def test_kind_mysql_reads_credentials_from_files() -> None:
    document = _deployment("kind", "jukebox-registry-db")
    (container,) = document["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert sorted(env) == [
        "MYSQL_DATABASE_FILE",
        "MYSQL_PASSWORD_FILE",
        "MYSQL_RANDOM_ROOT_PASSWORD",
        "MYSQL_USER_FILE",
    ]
    assert not any("valueFrom" in e for e in container["env"])
    assert env["MYSQL_PASSWORD_FILE"]["value"] == "/run/secrets/registry-db/database-password"
    assert "@sha256:" in container["image"]
    assert _writable(document) == {
        "/var/lib/mysql": "persistentVolumeClaim",
        "/var/run/mysqld": "emptyDir",
        "/tmp": "emptyDir",
        "/run/secrets/registry-db": "secret",
    }
    assert document["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 10001
    assert "cat /run/secrets/registry-db/database-password" in container["readinessProbe"]["exec"]["command"][-1]
    assert _skips(document) == []


def test_openshift_mysql_skips_say_why() -> None:
    document = _deployment("openshift", "jukebox-registry-db")
    (container,) = document["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("registry.redhat.io/rhel8/mysql-80@sha256:")
    assert _writable(document) == {
        "/var/lib/mysql": "emptyDir",
        "/var/lib/mysql/data": "persistentVolumeClaim",
        "/etc/my.cnf.d": "emptyDir",
        "/tmp": "emptyDir",
    }
    assert _skips(document) == ["CKV_K8S_35", "CKV_K8S_40"]
    assert all(len(value.split("=", 1)[1]) > 20 for value in document["metadata"]["annotations"].values())


def test_registry_server_digest_drops_the_skip_and_always_pull() -> None:
    tag_only = _deployment("kind", "jukebox-registry")
    assert tag_only["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    assert _skips(tag_only) == ["CKV_K8S_35", "CKV_K8S_43"]
    image = "ghcr.io/kubeflow/model-registry/server:v0.3.8@sha256:" + "0" * 64
    pinned = _deployment(
        "kind", "jukebox-registry", PlatformSettings.model_validate({"kind": {"modelRegistryImage": image}})
    )
    assert pinned["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert _skips(pinned) == ["CKV_K8S_35"]


@pytest.mark.parametrize("field", ["openshiftImage", "kindImage"])
def test_mysql_images_must_be_pinned_by_digest(field: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="pinned by digest"):
        PlatformSettings.model_validate({"registryDatabase": {field: "docker.io/library/mysql:8.3"}})
