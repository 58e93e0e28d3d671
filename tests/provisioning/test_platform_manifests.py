"""The platform manifests: deterministic, each directory builds offline, every object schema-valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import validate
from generator.loader import load_spec
from generator.platform import PlatformSettings, platform_manifests
from generator.profiles import PROFILES
from generator.render import render_document, to_yaml
from generator.spec import Spec
from provisioning.objects import is_merged
from tests.generator.golden import profile_spec

REPO = Path(__file__).resolve().parents[2]


def _spec(profile: str) -> Spec:
    return Spec.model_validate(profile_spec(profile))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_deterministic_and_only_the_profiles_target(profile: str) -> None:
    spec = _spec(profile)
    first = [(m.path, render_document(m)) for m in platform_manifests([spec])]
    assert first == [(m.path, render_document(m)) for m in platform_manifests([spec])]
    target_dir = "platform/openshift/" if PROFILES[profile].openshift else "platform/kind/"
    assert all(path.startswith(target_dir) for path, _ in first)


@pytest.mark.parametrize(
    ("profile", "directories"), [("rhoai-2.22", 4), ("rhoai-3.3", 4), ("rhoai-3.5", 4), ("upstream", 3)]
)
def test_every_directory_builds_and_validates_against_its_profile(
    tmp_path: Path, shared_dir: Path, profile: str, directories: int
) -> None:
    for manifest in platform_manifests([_spec(profile)]):
        path = tmp_path / manifest.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(render_document(manifest), "# test\n"))
    found = validate.kustomize_directories(tmp_path)
    assert len(found) == directories
    crds = shared_dir / "crds" / "profiles" / profile
    for directory in found:
        assert "http" not in (directory / "kustomization.yaml").read_text()  # no remote resources: builds offline
        for document in validate.kustomize_build(directory):
            assert validate.validate_document(document, crds, "1.33") == [], f"{directory}: {document['kind']}"


def _platform(profile: str, kind: str) -> list[dict]:
    return [render_document(m) for m in platform_manifests([_spec(profile)]) if m.kind == kind]


@pytest.mark.parametrize(
    ("profile", "channel", "gitops_channel"),
    [
        ("rhoai-2.22", "stable-2.22", "gitops-1.18"),
        ("rhoai-3.3", "stable-3.3", "gitops-1.20"),
        ("rhoai-3.5", "stable-3.5", "gitops-1.21"),
    ],
)
def test_operator_channels_follow_the_profile(profile: str, channel: str, gitops_channel: str) -> None:
    channels = {s["spec"]["name"]: s["spec"]["channel"] for s in _platform(profile, "Subscription")}
    assert channels == {"rhods-operator": channel, "openshift-gitops-operator": gitops_channel}


def test_datasciencecluster_v1_on_2_22_keeps_rawdeployment_and_removes_the_service_mesh() -> None:
    (dsc,) = _platform("rhoai-2.22", "DataScienceCluster")
    assert dsc["apiVersion"] == "datasciencecluster.opendatahub.io/v1"
    assert dsc["spec"]["components"]["kserve"] == {
        "managementState": "Managed",
        "defaultDeploymentMode": "RawDeployment",
        "serving": {"managementState": "Removed"},
    }
    # specs/jukebox.yaml has a `pipelines` section: the 2.x name of the component is managed, others removed.
    assert dsc["spec"]["components"]["datasciencepipelines"] == {"managementState": "Managed"}
    assert dsc["spec"]["components"]["codeflare"] == {"managementState": "Removed"}
    (dsci,) = _platform("rhoai-2.22", "DSCInitialization")
    assert dsci["spec"]["serviceMesh"] == {"managementState": "Removed"}
    # The operator has created default-dsci by the time this is applied: merged with --force-conflicts.
    assert is_merged(dsci)


@pytest.mark.parametrize("profile", ["rhoai-3.3", "rhoai-3.5"])
def test_datasciencecluster_v2_has_no_deployment_mode_and_no_dsci(profile: str) -> None:
    (dsc,) = _platform(profile, "DataScienceCluster")
    assert dsc["apiVersion"] == "datasciencecluster.opendatahub.io/v2"
    assert dsc["spec"]["components"]["kserve"] == {"managementState": "Managed"}
    assert "aipipelines" in dsc["spec"]["components"] and "datasciencepipelines" not in dsc["spec"]["components"]
    assert dsc["spec"]["components"]["modelregistry"] == {
        "managementState": "Managed",
        "registriesNamespace": "rhoai-model-registries",
    }
    assert _platform(profile, "DSCInitialization") == []


@pytest.mark.parametrize(
    ("profile", "blocks"),
    [
        ("rhoai-2.22", ["grpc", "mysql", "oauthProxy", "rest"]),
        ("rhoai-3.3", ["kubeRBACProxy", "mysql", "rest"]),
        ("rhoai-3.5", ["kubeRBACProxy", "mysql", "rest"]),
    ],
)
def test_modelregistry_has_exactly_the_proxy_block_of_its_release(profile: str, blocks: list[str]) -> None:
    (registry,) = _platform(profile, "ModelRegistry")
    assert sorted(registry["spec"]) == blocks


def _deployment(target: str, name: str, settings: PlatformSettings | None = None) -> dict:
    from generator.platform import kind_manifests, openshift_manifests

    spec = load_spec(REPO / "specs" / "jukebox.yaml")
    build = kind_manifests if target == "kind" else openshift_manifests
    profile = {"profile": "upstream"} if target == "kind" else {}
    manifests = build([spec], settings or PlatformSettings.model_validate(profile))
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
        "kind",
        "jukebox-registry",
        PlatformSettings.model_validate({"profile": "upstream", "kind": {"modelRegistryImage": image}}),
    )
    assert pinned["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert _skips(pinned) == ["CKV_K8S_35"]


@pytest.mark.parametrize("field", ["openshiftImage", "kindImage"])
def test_mysql_images_must_be_pinned_by_digest(field: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="pinned by digest"):
        PlatformSettings.model_validate({"registryDatabase": {field: "docker.io/library/mysql:8.3"}})
