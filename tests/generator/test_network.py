"""NetworkPolicies: MinIO admits the Data Science Pipelines operator exactly when the spec has pipelines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.loader import load_spec
from generator.objects import network
from generator.platform import layer
from generator.profiles import PROFILES
from generator.render import render_document
from generator.repo import render_repo
from tests.generator.helpers import base_spec, deep_merge, load_rendered, make_repo

OPENSHIFT_AI = sorted(name for name, profile in PROFILES.items() if profile.openshift)
OPERATOR_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "redhat-ods-applications"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "data-science-pipelines-operator"}},
}


def _minio_api_peers(tmp_path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    path = tmp_path / "jukebox.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    spec = load_spec(path)
    policies = network.storage_policies(spec, ["jukebox-dev"], "jukebox/storage")
    (api,) = [render_document(p) for p in policies if p.name == "allow-minio-api"]
    (rule,) = api["spec"]["ingress"]
    assert rule["ports"] == [{"port": 9000, "protocol": "TCP"}]
    peers: list[dict[str, Any]] = rule["from"]
    return peers


@pytest.mark.parametrize("profile", OPENSHIFT_AI)
def test_minio_admits_the_pipelines_operator_when_pipelines_are_on(tmp_path: Path, profile: str) -> None:
    data = deep_merge(base_spec(), {"platform": {"profile": profile}})
    peers = _minio_api_peers(tmp_path, data)
    # One peer: the namespace AND the pod (not either of them alone).
    assert OPERATOR_PEER in peers
    assert len(peers) == 3


@pytest.mark.parametrize("profile", [*OPENSHIFT_AI, "upstream"])
def test_minio_does_not_admit_the_operator_without_pipelines(tmp_path: Path, profile: str) -> None:
    data = deep_merge(base_spec(), {"platform": {"profile": profile}})
    data.pop("pipelines")
    if profile == "upstream":
        data["gitops"]["argocdNamespace"] = "argocd"
        data["environments"]["prod"]["serving"]["tokenAuth"] = False
    peers = _minio_api_peers(tmp_path, data)
    assert OPERATOR_PEER not in peers
    assert all("redhat-ods-applications" not in str(peer) for peer in peers)
    assert len(peers) == 2


def test_rendered_minio_policy_follows_the_pipelines_section(tmp_path: Path) -> None:
    on = make_repo(tmp_path / "on", {"jukebox": base_spec()}, pins={"jukebox": ["dev"]})
    without = base_spec()
    without.pop("pipelines")
    off = make_repo(tmp_path / "off", {"jukebox": without}, pins={"jukebox": ["dev"]})
    render_repo(on, use_cache=False)
    render_repo(off, use_cache=False)
    path = "jukebox/storage/networkpolicy-allow-minio-api.yaml"
    assert OPERATOR_PEER in load_rendered(on, path)["spec"]["ingress"][0]["from"]
    assert OPERATOR_PEER not in load_rendered(off, path)["spec"]["ingress"][0]["from"]


def test_the_operator_namespace_is_a_profile_fact() -> None:
    for name, profile in PROFILES.items():
        operator = profile.pipelines_operator
        # A profile has a pipelines operator exactly when its DataScienceCluster has a pipelines component.
        assert (operator is None) == (profile.pipelines_component is None), name
        if operator is not None:
            assert operator.namespace and operator.pod_labels and operator.source


def _registry_policies(tmp_path: Path, datas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    specs = []
    for index, data in enumerate(datas):
        path = tmp_path / f"spec{index}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        specs.append(load_spec(path))
    manifests = layer.openshift_manifests(specs, layer.cluster_settings(specs))
    return [render_document(m) for m in manifests if m.kind == "NetworkPolicy"]


def _with_namespaces(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    for name, env in data["environments"].items():
        env["namespace"] = f"{prefix}-{name}"
    return data


def test_the_registry_admits_the_pipeline_namespaces_on_its_proxy_port(tmp_path: Path) -> None:
    """The registry operator's own policy admits only the router; a pipeline step calls the registry's Service."""
    other = _with_namespaces(
        deep_merge(
            base_spec(),
            {"model": {"name": "other"}, "gitops": {"project": "other"}, "minio": {"namespace": "other-minio"}},
        ),
        "other",
    )
    (policy,) = _registry_policies(tmp_path, [base_spec(), other])
    assert policy["metadata"]["namespace"] == "rhoai-model-registries"
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app": "jukebox-registry", "component": "model-registry"}}
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": 8443, "protocol": "TCP"}]
    (peer,) = rule["from"]
    (expression,) = peer["namespaceSelector"]["matchExpressions"]
    assert expression["values"] == ["jukebox-dev", "other-dev"]  # each spec's pipelines.environment, no other


def test_no_registry_policy_without_pipelines(tmp_path: Path) -> None:
    without = base_spec()
    without.pop("pipelines")
    assert _registry_policies(tmp_path, [without]) == []


def test_the_pipeline_steps_account_may_use_the_registry(tmp_path: Path) -> None:
    """The registry's proxy admits who may `get` its Service: the operator's `registry-user-<name>` Role."""
    specs = []
    for index, data in enumerate([base_spec()]):
        path = tmp_path / f"spec{index}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        specs.append(load_spec(path))
    manifests = layer.openshift_manifests(specs, layer.cluster_settings(specs))
    (binding,) = [render_document(m) for m in manifests if m.kind == "RoleBinding"]
    assert binding["metadata"]["namespace"] == "rhoai-model-registries"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "registry-user-jukebox-registry",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "pipeline-runner-dspa", "namespace": "jukebox-dev"}
    ]
    without = base_spec()
    without.pop("pipelines")
    (tmp_path / "spec0.yaml").write_text(yaml.safe_dump(without, sort_keys=False))
    bare = [load_spec(tmp_path / "spec0.yaml")]
    assert not [m for m in layer.openshift_manifests(bare, layer.cluster_settings(bare)) if m.kind == "RoleBinding"]
