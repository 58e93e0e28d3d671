"""The --dry-run plans: specs/jukebox.yaml (rhoai-3.3) on OpenShift, its upstream-profile twin on kind; exact
steps, objects and order; no cluster."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from provisioning.cli import load_options
from provisioning.objects import REDACTED, identity
from provisioning.runner import SystemRunner
from provisioning.targets import plan

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "specs" / "jukebox.yaml"


def _steps(target: str, spec: Path = SPEC) -> list:
    from generator.validate import kubectl_binary

    kubectl = kubectl_binary()
    args = argparse.Namespace(
        spec=spec,
        secrets_file=None,
        context=None,
        expect_server=None,
        create_cluster=target == "kind",
        cluster_name="jukebox",
        git_insecure=False,
        dry_run=True,
    )
    return plan(target, load_options(args, SystemRunner({"kubectl": kubectl}), kubectl))


def summary(steps: list) -> list[tuple[str, list[str]]]:
    return [(step.title, [identity(o) for o in step.objects()]) for step in steps]


ENVS = ["jukebox-dev", "jukebox-prod", "jukebox-test"]
SECRETS = [
    "Secret/jukebox-minio/minio-root",
    *[f"Secret/{ns}/aws-connection-models" for ns in ENVS],
    "Secret/rhoai-model-registries/jukebox-registry-db",
]
STUBS = [
    f"Namespace/{ns}"
    for ns in ["jukebox-dev", "jukebox-minio", "jukebox-prod", "jukebox-test", "rhoai-model-registries"]
]
APPS = ["jukebox-dev", "jukebox-prod", "jukebox-test", "jukebox-storage"]
ROOT = [
    "AppProject/openshift-gitops/jukebox",
    *[f"Application/openshift-gitops/{app}" for app in APPS],
]
REPO_SECRET = "Secret/openshift-gitops/repo-jukebox-"  # pragma: allowlist secret (an object name prefix)


def _root(objects: list[str]) -> list[str]:
    return sorted(objects)


def test_openshift_plan_exact() -> None:
    got = summary(_steps("openshift"))
    titles = [title for title, _ in got]
    assert titles[:8] == [
        "logged in",
        "API server",
        "cluster is OpenShift",
        "may create subscriptions.operators.coreos.com",
        "may create clusterrolebindings.rbac.authorization.k8s.io",
        "may create datascienceclusters.datasciencecluster.opendatahub.io",
        "may create secrets",
        "may create namespaces",
    ]
    objects = {title: objs for title, objs in got if objs}
    assert titles[8:] == [
        "operators: Namespaces, OperatorGroups, Subscriptions",
        "operator openshift-gitops-operator installed",
        "operator rhods-operator installed",
        "operator CRDs established",
        "OpenShift AI rhoai-3.3: DataScienceCluster datasciencecluster.opendatahub.io/v2 (KServe, model registry)",
        "DataScienceCluster ready",
        "Argo CD instance openshift-gitops available",
        "GitOps: what the Argo CD controller may sync; the InferenceService health check (ArgoCD CR)",
        "namespaces of the credential Secrets",
        "credential Secrets (values never in git)",
        "model registries: MySQL + ModelRegistry",
        "model registry jukebox-registry available",
        "register the git repository with Argo CD (https://github.com/rhoai-mlops/jukebox-gitops.git)",
        "apply the root kustomization.yaml (AppProject + Applications)",
        "Applications Synced/Healthy",
    ]
    assert objects["operators: Namespaces, OperatorGroups, Subscriptions"] == [
        "Namespace/openshift-gitops-operator",
        "OperatorGroup/openshift-gitops-operator/openshift-gitops-operator",
        "Subscription/openshift-gitops-operator/openshift-gitops-operator",
        "Namespace/redhat-ods-operator",
        "OperatorGroup/redhat-ods-operator/rhods-operator",
        "Subscription/redhat-ods-operator/rhods-operator",
    ]
    dsc_step = (
        "OpenShift AI rhoai-3.3: DataScienceCluster datasciencecluster.opendatahub.io/v2 (KServe, model registry)"
    )
    assert objects[dsc_step] == ["DataScienceCluster/default-dsc"]
    assert objects["GitOps: what the Argo CD controller may sync; the InferenceService health check (ArgoCD CR)"] == [
        "ClusterRole/jukebox-gitops-deployer-openshift-gitops",
        "ClusterRoleBinding/jukebox-gitops-deployer-openshift-gitops",
        "ArgoCD/openshift-gitops/openshift-gitops",
    ]
    assert objects["namespaces of the credential Secrets"] == STUBS
    assert objects["credential Secrets (values never in git)"] == SECRETS
    assert objects["model registries: MySQL + ModelRegistry"] == [
        "Namespace/rhoai-model-registries",
        "PersistentVolumeClaim/rhoai-model-registries/jukebox-registry-db",
        "Deployment/rhoai-model-registries/jukebox-registry-db",
        "Service/rhoai-model-registries/jukebox-registry-db",
        "ModelRegistry/rhoai-model-registries/jukebox-registry",
        # the operator's own policy admits only the router: the dev pipeline server's steps call the Service
        "NetworkPolicy/rhoai-model-registries/jukebox-registry-allow-pipelines",
        "RoleBinding/rhoai-model-registries/jukebox-registry-pipeline-runners",
    ]
    repo_step = objects["register the git repository with Argo CD (https://github.com/rhoai-mlops/jukebox-gitops.git)"]
    assert len(repo_step) == 1 and repo_step[0].startswith(REPO_SECRET)
    assert _root(objects["apply the root kustomization.yaml (AppProject + Applications)"]) == _root(ROOT)


def test_kind_plan_exact(kind_spec: Path) -> None:
    got = summary(_steps("kind", kind_spec))
    objects = {title: objs for title, objs in got if objs}
    assert [title for title, _ in got] == [
        "Docker engine",
        "kind cluster jukebox (kindest/node:v1.34.0)",
        "kubeconfig context",
        "cluster is not OpenShift",
        "may do everything",
        "install cert-manager v1.17.0 (upstream release manifest)",
        "cert-manager available",
        "namespace kserve",
        "install KServe v0.20.0 (upstream release manifest)",
        "KServe available",
        "install KServe cluster resources v0.20.0 (upstream release manifest)",
        "KServe: Standard by default (inferenceservice-config keys)",
        "Argo CD: namespace, ClusterRoleBindings, argocd-cm InferenceService health check",
        "install Argo CD v3.5.1 (upstream release manifest)",
        "Argo CD available",
        "Argo CD CRDs established",
        "namespaces of the credential Secrets",
        "credential Secrets (values never in git)",
        "model registries: MySQL + Kubeflow Model Registry server",
        "model registry jukebox-registry available",
        "register the git repository with Argo CD (https://github.com/rhoai-mlops/jukebox-gitops.git)",
        "apply the root kustomization.yaml (AppProject + Applications)",
        "Applications Synced/Healthy",
    ]
    assert objects["namespace kserve"] == ["Namespace/kserve"]
    (argocd_wait,) = [step for step in _steps("kind", kind_spec) if step.title == "Argo CD available"]
    # the application controller, the part that syncs, is a StatefulSet in install.yaml
    assert "StatefulSet argocd/argocd-application-controller ready" in "\n".join(argocd_wait.describe("kubectl"))
    assert objects["KServe: Standard by default (inferenceservice-config keys)"] == [
        "ConfigMap/kserve/inferenceservice-config"
    ]
    assert objects["Argo CD: namespace, ClusterRoleBindings, argocd-cm InferenceService health check"] == [
        "Namespace/argocd",
        "ClusterRoleBinding/jukebox-argocd-application-controller-argocd",
        "ClusterRoleBinding/jukebox-argocd-applicationset-controller-argocd",
        "ClusterRoleBinding/jukebox-argocd-server-argocd",
        "ConfigMap/argocd/argocd-cm",
    ]
    assert objects["credential Secrets (values never in git)"] == [
        *SECRETS,
        *[f"Secret/{ns}/storage-config" for ns in ENVS],
    ]
    assert objects["model registries: MySQL + Kubeflow Model Registry server"] == [
        "Namespace/rhoai-model-registries",
        "PersistentVolumeClaim/rhoai-model-registries/jukebox-registry-db",
        "Deployment/rhoai-model-registries/jukebox-registry-db",
        "Service/rhoai-model-registries/jukebox-registry-db",
        "Deployment/rhoai-model-registries/jukebox-registry",
        "Service/rhoai-model-registries/jukebox-registry",
    ]
    kind_root = ["AppProject/argocd/jukebox", *[f"Application/argocd/{app}" for app in APPS]]
    assert _root(objects["apply the root kustomization.yaml (AppProject + Applications)"]) == _root(kind_root)


def test_secret_contract_labels_and_storage_config_keys(kind_spec: Path) -> None:
    steps = _steps("kind", kind_spec)
    secrets = next(s for s in steps if s.title.startswith("credential Secrets")).objects()
    s3 = next(o for o in secrets if o["metadata"]["name"] == "aws-connection-models")
    assert s3["metadata"]["labels"] == {"opendatahub.io/dashboard": "true", "opendatahub.io/managed": "true"}
    assert s3["metadata"]["annotations"] == {
        "opendatahub.io/connection-type": "s3",
        "openshift.io/display-name": "models",
    }
    assert sorted(s3["stringData"]) == sorted(
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_ENDPOINT", "AWS_S3_BUCKET", "AWS_DEFAULT_REGION"]
    )
    storage = next(o for o in secrets if o["metadata"]["name"] == "storage-config")
    assert list(storage["stringData"]) == ["aws-connection-models"]


@pytest.mark.parametrize("target", ["openshift", "kind"])
def test_dry_run_cli_prints_plan_redacted(target: str, tmp_path: Path, kind_spec: Path) -> None:
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text("minio-root: {MINIO_ROOT_USER: admin-user-xyz, MINIO_ROOT_PASSWORD: s3cr3t-value-xyz}\n")
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "provision"),
            "--target",
            target,
            "--spec",
            str(kind_spec if target == "kind" else SPEC),
            "--dry-run",
            "--secrets-file",
            str(secrets_file),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-value-xyz" not in result.stdout and "admin-user-xyz" not in result.stdout
    assert REDACTED in result.stdout
    assert "values supplied (--secrets-file)" in result.stdout
    assert "kind: Application" in result.stdout and "## 1. " in result.stdout
