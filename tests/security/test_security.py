"""Safe by default: hardened workloads, network policies, token auth, no secrets, injection-proof specs."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.loader import load_spec
from generator.policy import PolicyReport, policy_scan, run_checkov, run_secret_scan
from generator.repo import render_repo
from generator.validate import kustomize_build
from jukebox.errors import SpecError
from tests.generator.golden import golden_dir
from tests.generator.helpers import base_spec, load_rendered, make_repo

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    make_repo(root, {"jukebox": base_spec()}, pins={"jukebox": ["dev", "prod"]})
    render_repo(root, use_cache=False)
    return root


def _workloads(root: Path) -> list[dict[str, Any]]:
    docs = kustomize_build(root / "manifests/jukebox/storage")
    return [d for d in docs if d["kind"] in {"Deployment", "Job"}]


def test_workloads_are_hardened(rendered: Path) -> None:
    workloads = _workloads(rendered)
    assert {w["kind"] for w in workloads} == {"Deployment", "Job"}
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert security["readOnlyRootFilesystem"] is True
            assert set(container["resources"]) == {"requests", "limits"}
            assert DIGEST.search(container["image"]), container["image"]
            assert "valueFrom" not in str(container.get("env")), "credentials are mounted as files, not env"
    deployment = next(w for w in workloads if w["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "livenessProbe" in container and "readinessProbe" in container


def test_serving_runtime_is_hardened_and_pinned(rendered: Path) -> None:
    runtime = load_rendered(rendered, "jukebox/base/servingruntime.yaml")
    container = runtime["spec"]["containers"][0]
    assert DIGEST.search(container["image"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("directory", ["overlays/dev", "overlays/test", "overlays/prod", "storage"])
def test_every_generated_namespace_denies_ingress_by_default(rendered: Path, directory: str) -> None:
    docs = kustomize_build(rendered / "manifests/jukebox" / directory)
    policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "NetworkPolicy"}
    deny = policies["default-deny-ingress"]
    assert deny["spec"]["podSelector"] == {} and deny["spec"]["policyTypes"] == ["Ingress"]
    assert deny["spec"]["ingress"] == []


def test_minio_is_reachable_only_from_the_environments_its_job_and_the_pipelines_operator(rendered: Path) -> None:
    docs = kustomize_build(rendered / "manifests/jukebox/storage")
    api = next(d for d in docs if d["metadata"]["name"] == "allow-minio-api")
    (rule,) = api["spec"]["ingress"]
    assert rule["ports"] == [{"port": 9000, "protocol": "TCP"}]
    namespaces = rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
    assert namespaces == ["jukebox-dev", "jukebox-prod", "jukebox-test"]
    assert rule["from"][1] == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "create-buckets"}}}
    # The spec has pipelines: the Data Science Pipelines operator's pod (that namespace AND that pod only)
    # checks the pipeline bucket before it deploys the server (tests/generator/test_network.py).
    assert rule["from"][2:] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "redhat-ods-applications"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "data-science-pipelines-operator"}},
        }
    ]


def test_model_is_reachable_from_router_and_project(rendered: Path) -> None:
    docs = kustomize_build(rendered / "manifests/jukebox/overlays/dev")
    callers = next(d for d in docs if d["metadata"]["name"] == "allow-model-callers")
    assert callers["spec"]["podSelector"] == {"matchLabels": {"serving.kserve.io/inferenceservice": "jukebox"}}
    groups = [f["namespaceSelector"]["matchLabels"] for f in callers["spec"]["ingress"][0]["from"]]
    assert {"network.openshift.io/policy-group": "ingress"} in groups


def test_prod_has_token_auth_and_a_client_service_account(rendered: Path) -> None:
    prod = {
        (d["kind"], d["metadata"]["name"]): d for d in kustomize_build(rendered / "manifests/jukebox/overlays/prod")
    }
    isvc = prod[("InferenceService", "jukebox")]
    assert isvc["metadata"]["annotations"]["security.opendatahub.io/enable-auth"] == "true"
    role = prod[("Role", "jukebox-view-role")]
    assert role["rules"] == [
        {
            "apiGroups": ["serving.kserve.io"],
            "resources": ["inferenceservices"],
            "resourceNames": ["jukebox"],
            "verbs": ["get"],
        }
    ]
    binding = prod[("RoleBinding", "jukebox-view")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "jukebox-sa", "namespace": "jukebox-prod"}]
    dev = {(d["kind"], d["metadata"]["name"]) for d in kustomize_build(rendered / "manifests/jukebox/overlays/dev")}
    assert ("ServiceAccount", "jukebox-sa") not in dev


@pytest.mark.parametrize("key", ["accessKey", "secretKey", "password", "awsSecretAccessKey", "token"])
def test_spec_refuses_inline_credentials(tmp_path: Path, key: str) -> None:
    spec = base_spec()
    spec["storage"][key] = "AKIAIOSFODNN7EXAMPLE"  # pragma: allowlist secret
    make_repo(tmp_path, {"jukebox": spec})
    with pytest.raises(SpecError) as raised:
        load_spec(tmp_path / "specs/jukebox.yaml")
    (problem,) = raised.value.problems
    assert problem.path == f"storage.{key}"
    assert "credentials never go in a spec" in problem.message


@pytest.mark.parametrize(
    "text",
    [
        'Jukebox "Lab": it\'s #1 - ok',
        "Jukebox für alle \u2013 ünïcödé 日本",
        "yes",
        "null",
        "1.0",
        "*anchor &x !tag",
        "- item",
    ],
)
def test_awkward_but_legal_text_is_escaped_safely(tmp_path: Path, text: str) -> None:
    spec = base_spec()
    spec["model"]["displayName"] = text
    spec["project"]["description"] = text
    make_repo(tmp_path, {"jukebox": spec}, pins={"jukebox": ["dev"]})
    render_repo(tmp_path, use_cache=False)
    isvc = load_rendered(tmp_path, "jukebox/overlays/dev/inferenceservice.yaml")
    namespace = load_rendered(tmp_path, "jukebox/overlays/dev/namespace.yaml")
    assert isvc["metadata"]["annotations"]["openshift.io/display-name"] == text
    assert namespace["metadata"]["annotations"]["openshift.io/description"] == text
    assert set(isvc) == {"apiVersion", "kind", "metadata", "spec"}, "no field was injected"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("displayName", "x\nkind: Secret", "one line"),
        ("displayName", "{{ 7*7 }}", "one line"),
        ("displayName", "{% raw %}", "one line"),
        ("displayName", "$(rm -rf /)", "one line"),
        ("displayName", "x" * 300, "at most 253"),
        ("name", "jukebox\n", "Kubernetes name"),
        ("name", "jükebox", "Kubernetes name"),
    ],
)
def test_text_that_could_break_out_is_rejected(tmp_path: Path, field: str, value: str, message: str) -> None:
    spec = base_spec()
    spec["model"][field] = value
    make_repo(tmp_path, {"jukebox": spec})
    with pytest.raises(SpecError) as raised:
        load_spec(tmp_path / "specs/jukebox.yaml")
    assert any(p.path == f"model.{field}" and message in p.message for p in raised.value.problems)


def test_repository_passes_the_policy_gate(repo_root: Path) -> None:
    report = policy_scan(repo_root)
    assert report.ok, report.summary()
    assert report.checkov_passed > 100
    documented = (repo_root / "docs/security.md").read_text()
    for skip in report.checkov_skipped:
        check_id = skip.split()[0]
        assert f"| {check_id} " in documented, f"checkov skip not listed in docs/security.md: {skip}"


@pytest.mark.parametrize("profile", ["rhoai-2.22", "rhoai-3.5", "upstream"])
def test_every_profiles_tree_passes_checkov(repo_root: Path, profile: str) -> None:
    """The repo's own tree is rhoai-3.3 (above); the other profiles' reviewed trees pass the same gate."""
    report = PolicyReport()
    run_checkov(golden_dir(profile) / "manifests", report)
    assert report.ok, report.summary()
    documented = (repo_root / "docs/security.md").read_text()
    assert all(f"| {skip.split()[0]} " in documented for skip in report.checkov_skipped), report.checkov_skipped


def test_secret_scan_finds_a_planted_key(tmp_path: Path) -> None:
    planted = tmp_path / "leak.yaml"
    key = secrets.token_urlsafe(30)  # made at run time so no literal secret sits in this file
    planted.write_text(f'aws_secret_access_key: "{key}"\n')
    report = PolicyReport()
    run_secret_scan([planted], report)
    assert report.secrets_found and report.secrets_found[0].startswith(str(planted))


def test_checkov_fails_an_unhardened_deployment(tmp_path: Path, repo_root: Path) -> None:
    manifests = tmp_path / "manifests"
    app = manifests / "app"
    app.mkdir(parents=True)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bare", "namespace": "demo"},
        "spec": {
            "selector": {"matchLabels": {"app": "bare"}},
            "template": {
                "metadata": {"labels": {"app": "bare"}},
                "spec": {"containers": [{"name": "c", "image": "quay.io/x/y:latest"}]},
            },
        },
    }
    (app / "deployment.yaml").write_text(yaml.safe_dump(deployment))
    (app / "kustomization.yaml").write_text("resources:\n- deployment.yaml\n")
    report = PolicyReport()
    run_checkov(manifests, report)
    assert any(f.startswith("CKV_K8S_28") for f in report.checkov_failed)  # capabilities not dropped
    assert not report.ok
    shutil.rmtree(manifests)
