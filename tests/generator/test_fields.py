"""Field-level contract with OpenShift AI: every dashboard label/annotation of the platform reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.repo import render_repo
from tests.generator.golden import profile_spec
from tests.generator.helpers import base_spec, load_rendered, make_repo


def _render(tmp_path: Path, spec: dict[str, Any] | None = None, pins: list[str] | None = None) -> Path:
    make_repo(
        tmp_path, {"jukebox": spec or base_spec()}, pins={"jukebox": pins if pins is not None else ["dev", "prod"]}
    )
    render_repo(tmp_path, use_cache=False)
    return tmp_path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return _render(tmp_path)


def test_namespace_is_a_dashboard_project(root: Path) -> None:
    namespace = load_rendered(root, "jukebox/overlays/dev/namespace.yaml")
    assert namespace["apiVersion"] == "v1" and namespace["kind"] == "Namespace"
    assert namespace["metadata"]["labels"] == {"opendatahub.io/dashboard": "true", "modelmesh-enabled": "false"}
    annotations = namespace["metadata"]["annotations"]
    assert annotations["openshift.io/display-name"] == "Jukebox (dev)"
    assert annotations["openshift.io/description"] == "The rhoai-mlops jukebox lab, run from git."


def test_project_admins_rolebinding(root: Path) -> None:
    binding = load_rendered(root, "jukebox/base/rolebinding-project-admins.yaml")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "user1"}]


def test_servingruntime_matches_dashboard_ovms_template(root: Path) -> None:
    runtime = load_rendered(root, "jukebox/base/servingruntime.yaml")
    assert runtime["apiVersion"] == "serving.kserve.io/v1alpha1"
    assert runtime["metadata"]["name"] == "jukebox"
    assert runtime["metadata"]["labels"] == {"opendatahub.io/dashboard": "true"}
    annotations = runtime["metadata"]["annotations"]
    assert annotations["opendatahub.io/template-name"] == "kserve-ovms"
    assert annotations["opendatahub.io/template-display-name"] == "OpenVINO Model Server"
    assert annotations["opendatahub.io/apiProtocol"] == "REST"
    assert "openshift.io/display-name" in annotations
    spec = runtime["spec"]
    assert spec["multiModel"] is False
    assert spec["protocolVersions"] == ["v2", "grpc-v2"]
    assert {"name": "onnx", "version": "1"} in spec["supportedModelFormats"]
    # rhoai-3.3 (the default profile): odh-model-controller rhoai-3.3 ovms-kserve-template.yaml.
    assert annotations["opendatahub.io/runtime-version"] == "v2025.4"
    assert spec["annotations"] == {
        "opendatahub.io/kserve-runtime": "ovms",
        "prometheus.io/path": "/metrics",
        "prometheus.io/port": "8888",
    }
    (container,) = spec["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"] == (
        "registry.redhat.io/rhoai/odh-openvino-model-server-rhel9"
        "@sha256:0ce576b008f5422c4c8a69e1864c7940e0a134bdefb165fd6abf275fc52b9059"
    )
    assert container["args"][:6] == [
        "--model_name={{.Name}}",
        "--port=8001",
        "--rest_port=8888",
        "--model_path=/mnt/models",
        "--file_system_poll_wait_seconds=0",
        "--metrics_enable",
    ]
    assert "runAsUser" not in container["securityContext"]  # OpenShift assigns the UID
    assert '--plugin_config={"INFERENCE_PRECISION_HINT":"f32"}' in container["args"]
    assert container["ports"] == [{"containerPort": 8888, "protocol": "TCP"}]
    shm = next(v for v in spec["volumes"] if v["name"] == "shm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}


def test_pinned_inferenceservice(root: Path) -> None:
    isvc = load_rendered(root, "jukebox/overlays/dev/inferenceservice.yaml")
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    labels = isvc["metadata"]["labels"]
    assert labels["opendatahub.io/dashboard"] == "true"
    assert labels["networking.kserve.io/visibility"] == "exposed"
    assert labels["modelregistry.opendatahub.io/registered-model-id"] == "1"
    assert labels["modelregistry.opendatahub.io/model-version-id"] == "6"
    assert labels["modelregistry.opendatahub.io/name"] == "jukebox-registry"
    annotations = isvc["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert annotations["openshift.io/display-name"] == "Jukebox"
    assert annotations["jukebox.rhoai-mlops.io/model-version"] == "0.0.3"
    # 3.x dashboards always write enable-auth; Argo CD must want what they write.
    assert annotations["security.opendatahub.io/enable-auth"] == "false"
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 1)
    model = predictor["model"]
    assert model["modelFormat"] == {"name": "onnx", "version": "1"}
    assert model["runtime"] == "jukebox"
    # The fixture pin's storagePath has no trailing '/' (written before it was recorded): render adds it.
    assert model["storage"] == {"key": "aws-connection-models", "path": "jukebox/0.0.3/"}
    assert model["resources"] == {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "8Gi"}}
    for absent in ("status", "finalizers"):
        assert absent not in isvc and absent not in isvc["metadata"]
    assert "modelregistry.opendatahub.io/inference-service-id" not in labels


def test_prod_overrides_size_replicas_and_token_auth(root: Path) -> None:
    isvc = load_rendered(root, "jukebox/overlays/prod/inferenceservice.yaml")
    assert isvc["metadata"]["annotations"]["security.opendatahub.io/enable-auth"] == "true"
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 2)
    assert predictor["model"]["resources"]["requests"] == {"cpu": "4", "memory": "8Gi"}
    assert predictor["model"]["resources"]["limits"] == {"cpu": "8", "memory": "10Gi"}


def test_unpinned_environment_has_no_inferenceservice(root: Path) -> None:
    overlay = root / "manifests/jukebox/overlays/test"
    assert not (overlay / "inferenceservice.yaml").exists()
    kustomization = load_rendered(root, "jukebox/overlays/test/kustomization.yaml")
    assert "inferenceservice.yaml" not in kustomization["resources"]
    assert kustomization["resources"][:2] == ["../../base", "namespace.yaml"]


def test_serverless_and_large(tmp_path: Path) -> None:
    spec = profile_spec("rhoai-2.22")  # the only profile with Knative Serving
    spec["environments"]["dev"]["serving"] = {"deploymentMode": "Serverless", "size": "Large", "externalRoute": False}
    root = _render(tmp_path, spec)
    isvc = load_rendered(root, "jukebox/overlays/dev/inferenceservice.yaml")
    annotations = isvc["metadata"]["annotations"]
    for key in (
        "serving.knative.openshift.io/enablePassthrough",
        "sidecar.istio.io/inject",
        "sidecar.istio.io/rewriteAppHTTPProbers",
    ):
        assert annotations[key] == "true"
    assert isvc["metadata"]["labels"]["networking.knative.dev/visibility"] == "cluster-local"
    assert "networking.kserve.io/visibility" not in isvc["metadata"]["labels"]
    assert isvc["spec"]["predictor"]["model"]["resources"]["limits"] == {"cpu": "10", "memory": "20Gi"}


def test_explicit_resources_beat_size(tmp_path: Path) -> None:
    spec = base_spec()
    resources = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
    spec["environments"]["dev"]["serving"] = {"resources": resources}
    root = _render(tmp_path, spec)
    isvc = load_rendered(root, "jukebox/overlays/dev/inferenceservice.yaml")
    assert isvc["spec"]["predictor"]["model"]["resources"] == resources


def test_environment_runtime_override_is_a_tiny_patch(tmp_path: Path) -> None:
    spec = base_spec()
    spec["environments"]["dev"]["serving"] = {"runtime": {"f32Precision": False}}
    root = _render(tmp_path, spec)
    patch = load_rendered(root, "jukebox/overlays/dev/patch-servingruntime.yaml")
    assert set(patch) == {"apiVersion", "kind", "metadata", "spec"}
    assert patch["metadata"] == {"name": "jukebox"}
    assert set(patch["spec"]) == {"containers"}
    assert not any(arg.startswith("--plugin_config") for arg in patch["spec"]["containers"][0]["args"])
    kustomization = load_rendered(root, "jukebox/overlays/dev/kustomization.yaml")
    assert kustomization["patches"] == [{"path": "patch-servingruntime.yaml"}]


def test_sync_waves_follow_reference_order(root: Path) -> None:
    def wave(relative: str) -> int:
        return int(load_rendered(root, relative)["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])

    order = [
        "jukebox/overlays/dev/namespace.yaml",
        "jukebox/base/rolebinding-project-admins.yaml",
        "jukebox/storage/deployment.yaml",
        "jukebox/storage/job-create-buckets.yaml",
        "jukebox/base/servingruntime.yaml",
        "jukebox/overlays/dev/inferenceservice.yaml",
    ]
    waves = [wave(path) for path in order]
    assert waves == sorted(waves) and len(set(waves)) == len(waves)


def test_minio_matches_lab_layout(root: Path) -> None:
    deployment = load_rendered(root, "jukebox/storage/deployment.yaml")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["server", "/data", "--console-address", ":9090"]
    assert {p["containerPort"] for p in container["ports"]} == {9000, 9090}
    assert "tcpSocket" in container["livenessProbe"] and "tcpSocket" in container["readinessProbe"]
    service = load_rendered(root, "jukebox/storage/service.yaml")
    assert {(p["name"], p["port"]) for p in service["spec"]["ports"]} == {("api", 9000), ("ui", 9090)}
    pvc = load_rendered(root, "jukebox/storage/persistentvolumeclaim.yaml")
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    for name in ("minio-api", "minio-ui"):
        route = load_rendered(root, f"jukebox/storage/route-{name}.yaml")
        assert route["spec"]["tls"] == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
    job = load_rendered(root, "jukebox/storage/job-create-buckets.yaml")
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["BUCKETS"]["value"] == "models pipeline data data-cache"
    assert env["MINIO_ROOT_PASSWORD_FILE"]["value"] == "/run/secrets/minio/MINIO_ROOT_PASSWORD"
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert {"name": "root-credentials", "secret": {"secretName": "minio-root", "defaultMode": 256}} in volumes


def test_no_secret_objects_and_no_storage_config(root: Path) -> None:
    for path in (root / "manifests").rglob("*.yaml"):
        text = path.read_text()
        assert "kind: Secret" not in text, path
        assert "storage-config" not in text, path


def test_argocd_objects(root: Path) -> None:
    app = load_rendered(root, "argocd/jukebox/application-prod.yaml")
    assert app["metadata"]["namespace"] == "openshift-gitops"
    assert app["spec"]["source"] == {
        "repoURL": "https://github.com/rhoai-mlops/jukebox-gitops.git",
        "targetRevision": "main",
        "path": "manifests/jukebox/overlays/prod",
    }
    assert app["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "jukebox-prod"}
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert app["spec"]["syncPolicy"]["syncOptions"] == ["SkipDryRunOnMissingResource=true"]
    project = load_rendered(root, "argocd/jukebox/appproject.yaml")
    namespaces = {d["namespace"] for d in project["spec"]["destinations"]}
    assert namespaces == {"jukebox-dev", "jukebox-test", "jukebox-prod", "jukebox-minio"}
    assert project["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    kinds = {r["kind"] for r in project["spec"]["namespaceResourceWhitelist"]}
    assert {"InferenceService", "ServingRuntime", "Deployment", "Job", "Route"} <= kinds


def test_kustomizations_avoid_common_labels_and_name_prefix(root: Path) -> None:
    for path in (root / "manifests").rglob("kustomization.yaml"):
        text = path.read_text()
        assert "commonLabels" not in text and "namePrefix" not in text, path
    root_kustomization = (root / "kustomization.yaml").read_text()
    assert "- manifests/argocd" in root_kustomization


def test_minio_disabled_needs_endpoint_and_drops_storage(tmp_path: Path) -> None:
    spec = base_spec()
    spec["minio"] = {"enabled": False}
    spec["storage"]["endpoint"] = "https://s3.example.com"
    root = _render(tmp_path, spec)
    assert not (root / "manifests/jukebox/storage").exists()
    assert not (root / "manifests/argocd/jukebox/application-storage.yaml").exists()


def _profile_tree(tmp_path: Path, profile: str) -> Path:
    return _render(tmp_path, profile_spec(profile))


@pytest.mark.parametrize(
    ("profile", "mode", "enable_auth_dev"),
    [
        ("rhoai-2.22", "RawDeployment", None),
        ("rhoai-3.3", "RawDeployment", "false"),
        ("rhoai-3.5", "Standard", "false"),
    ],
)
def test_inferenceservice_carries_what_its_release_keeps(
    tmp_path: Path, profile: str, mode: str, enable_auth_dev: str | None
) -> None:
    root = _profile_tree(tmp_path, profile)
    dev = load_rendered(root, "jukebox/overlays/dev/inferenceservice.yaml")["metadata"]["annotations"]
    prod = load_rendered(root, "jukebox/overlays/prod/inferenceservice.yaml")["metadata"]["annotations"]
    assert dev["serving.kserve.io/deploymentMode"] == prod["serving.kserve.io/deploymentMode"] == mode
    assert dev.get("security.opendatahub.io/enable-auth") == enable_auth_dev
    assert prod["security.opendatahub.io/enable-auth"] == "true"


def test_rhoai_2_22_runtime_keeps_the_bind_and_device_args(tmp_path: Path) -> None:
    runtime = load_rendered(_profile_tree(tmp_path, "rhoai-2.22"), "jukebox/base/servingruntime.yaml")
    (container,) = runtime["spec"]["containers"]
    assert container["image"].startswith("quay.io/modh/openvino_model_server@sha256:eee2857d")
    assert container["args"][5:9] == [
        "--grpc_bind_address=0.0.0.0",
        "--rest_bind_address=0.0.0.0",
        "--target_device=AUTO",
        "--metrics_enable",
    ]
    assert runtime["metadata"]["annotations"]["opendatahub.io/runtime-version"] == "v2025.1"
    assert "opendatahub.io/kserve-runtime" not in runtime["spec"]["annotations"]


def test_upstream_runs_on_kind_with_numeric_users_and_no_routes(tmp_path: Path) -> None:
    root = _profile_tree(tmp_path, "upstream")
    runtime = load_rendered(root, "jukebox/base/servingruntime.yaml")
    (container,) = runtime["spec"]["containers"]
    assert container["image"].startswith("docker.io/openvino/model_server:")
    # The image's USER is the name `ovms` (uid 5000): the kubelet needs the number for runAsNonRoot.
    assert (container["securityContext"]["runAsUser"], container["securityContext"]["runAsGroup"]) == (5000, 5000)
    assert "opendatahub.io/runtime-version" not in runtime["metadata"]["annotations"]
    for relative in ("jukebox/storage/deployment.yaml", "jukebox/storage/job-create-buckets.yaml"):
        pod = load_rendered(root, relative)["spec"]["template"]["spec"]
        assert {k: pod["securityContext"][k] for k in ("runAsUser", "runAsGroup", "fsGroup")} == {
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
        }
    assert not list((root / "manifests/jukebox/storage").glob("route-*.yaml"))
    isvc = load_rendered(root, "jukebox/overlays/dev/inferenceservice.yaml")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert "security.opendatahub.io/enable-auth" not in isvc["metadata"]["annotations"]


@pytest.mark.parametrize("profile", ["rhoai-2.22", "rhoai-3.3", "rhoai-3.5"])
def test_openshift_profiles_leave_the_uid_to_the_scc(tmp_path: Path, profile: str) -> None:
    root = _profile_tree(tmp_path, profile)
    pod = load_rendered(root, "jukebox/storage/deployment.yaml")["spec"]["template"]["spec"]
    assert "runAsUser" not in pod["securityContext"] and "fsGroup" not in pod["securityContext"]
