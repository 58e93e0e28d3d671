"""Platform profiles: every fact that differs between the platform releases a spec can target.

A spec picks one with `platform.profile`; builders ask the profile and never test its name. Each fact
names the file it was read from (repository, ref @ commit, path); `docs/platform-profiles.md` lists them
in one table. Nothing here was checked on a live cluster.

Sources used below (short names):
- [rhods X]   red-hat-data-services/rhods-operator, branch rhoai-X, prefetched-manifests/ (what the operator
              image ships) and config/; the CRDs copied from there are listed in `crd_sources`.
- [build X]   red-hat-data-services/RHOAI-Build-Config, branch rhoai-X, bundle/manifests/ (the OLM bundle).
- [omc X]     red-hat-data-services/odh-model-controller, branch rhoai-X, config/runtimes/ovms-kserve-template.yaml.
- [gitops V]  redhat-developer/gitops-operator, branch vV: go.mod pins the Argo CD it ships.
- [kserve V]  kserve/kserve, tag vV.
- [dspo X]    red-hat-data-services/data-science-pipelines-operator, branch rhoai-X.
- [argocd V]  argoproj/argo-cd, tag vV.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Target = Literal["openshift", "kind"]
HealthDelivery = Literal["argocd-cr", "argocd-cm"]

DEFAULT_PROFILE = "rhoai-3.3"  # what the rhoai-mlops lab targets (late 2026)

# The container user of images whose Dockerfile ends with a non-root user *name* (or root): kind's kubelet
# refuses `runAsNonRoot` for them unless a numeric runAsUser is set. OpenShift assigns the UID itself.
KIND_UID = 10001


@dataclass(frozen=True)
class OvmsRuntime:
    """The OpenVINO Model Server runtime as the release's `kserve-ovms` template defines it."""

    image: str
    runtime_version: str | None  # opendatahub.io/runtime-version (OpenShift AI templates only)
    pod_annotations: Mapping[str, str]  # spec.annotations beyond the Prometheus ones
    extra_args: tuple[str, ...]  # args after the common ones, in the template's order
    run_as_user: int | None  # numeric UID for `runAsNonRoot` where the platform does not assign one
    source: str


@dataclass(frozen=True)
class PipelinesOperator:
    """Where the Data Science Pipelines operator runs: its controller pod checks a DSPA's object storage itself
    (an S3 StatObject from that pod) before it deploys the pipeline server, so MinIO must admit it."""

    namespace: str  # the platform's applications namespace (the DSCI default)
    pod_labels: Mapping[str, str]  # the controller-manager pod's labels
    source: str


@dataclass(frozen=True)
class KindStack:
    """The upstream pieces installed on a kind cluster, all at pinned releases."""

    kind_version: str
    node_image: str
    cert_manager_version: str
    kserve_version: str
    kserve_default_deployment_mode: str  # inferenceservice-config `deploy` (the release default is Knative)


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    target: Target
    # OpenShift AI operator (OLM) and the OpenShift GitOps operator paired with it.
    openshift_ai_channel: str | None
    gitops_channel: str | None
    argocd_version: str  # the Argo CD that syncs the Applications (the GitOps operator's, or the one kind installs)
    # DataScienceCluster / DSCInitialization.
    dsc_api_version: str | None
    dsc_components: tuple[str, ...]  # every component the release's DSC knows (Removed unless we need it)
    dsc_kserve_fields: Mapping[str, object]  # kserve fields beyond managementState
    pipelines_component: str | None
    pipelines_operator: PipelinesOperator | None  # None: no Data Science Pipelines operator (no `pipelines`)
    dsci_api_version: str | None
    dsci_has_service_mesh: bool
    # ModelRegistry CR: which proxy block exists, and whether gRPC is still required.
    registry_proxy: str | None
    registry_requires_grpc: bool
    ovms: OvmsRuntime
    # spec serving.deploymentMode -> the annotation value this release keeps (absent: not available).
    deployment_modes: Mapping[str, str]
    token_auth: bool  # the platform can check bearer tokens (odh-model-controller's proxy sidecar)
    enable_auth_always: bool  # the dashboard writes enable-auth 'false' too; Argo CD must agree
    routes: bool  # route.openshift.io exists (MinIO Routes, router NetworkPolicy peers)
    fixed_uids: bool  # pods need numeric runAsUser/runAsGroup/fsGroup (no SCC assigns them)
    health_delivery: HealthDelivery
    kind_stack: KindStack | None

    @property
    def openshift(self) -> bool:
        return self.target == "openshift"


# --- DataScienceCluster components, from each release's DSC CRD (storage version) -------------------

# [build 2.22] datasciencecluster...yaml, v1: spec.components.
_DSC_V1_COMPONENTS = (
    "codeflare",
    "dashboard",
    "datasciencepipelines",
    "feastoperator",
    "kserve",
    "kueue",
    "llamastackoperator",
    "modelmeshserving",
    "modelregistry",
    "ray",
    "trainingoperator",
    "trustyai",
    "workbenches",
)
# [build 3.3] datasciencecluster...yaml, v2: codeflare and modelmeshserving gone, datasciencepipelines
# renamed aipipelines, trainer and mlflowoperator added.
_DSC_V2_33_COMPONENTS = (
    "aipipelines",
    "dashboard",
    "feastoperator",
    "kserve",
    "kueue",
    "llamastackoperator",
    "mlflowoperator",
    "modelregistry",
    "ray",
    "trainer",
    "trainingoperator",
    "trustyai",
    "workbenches",
)
# [build 3.5] datasciencecluster...yaml, v2: adds aigateway, mcplifecycleoperator, ogx, sparkoperator.
_DSC_V2_35_COMPONENTS = tuple(
    sorted({*_DSC_V2_33_COMPONENTS, "aigateway", "mcplifecycleoperator", "ogx", "sparkoperator"})
)

# --- OVMS: the `kserve-ovms` template each release ships ---------------------------------------------
# Args common to every release's template: generator.objects.serving.ovms_args. No template has volumes,
# resources or a securityContext (those are ours). Images: the value the release resolves the
# template's `$(ovms-image)` to.

# [omc 2.22] @474276fe config/runtimes/ovms-kserve-template.yaml; image: [rhods 2.22] @3f3de5e3
# prefetched-manifests/modelcontroller/base/params-cuda.env (the 2.22 CSV does not override it).
_OVMS_2_22 = OvmsRuntime(
    image="quay.io/modh/openvino_model_server@sha256:eee2857ddd5cc2df9ea7373ae7c6ae814d77bd631db5c52b91edad18ac6c73c8",
    runtime_version="v2025.1",
    pod_annotations={},
    extra_args=("--grpc_bind_address=0.0.0.0", "--rest_bind_address=0.0.0.0", "--target_device=AUTO"),
    run_as_user=None,
    source="odh-model-controller rhoai-2.22 @474276fe; image: rhods-operator rhoai-2.22 params-cuda.env",
)
# [omc 3.3] @dc86dc52: the bind/device args dropped, spec.annotations gains kserve-runtime; image: [build 3.3]
# @f5fd3889 rhods-operator.clusterserviceversion.yaml RELATED_IMAGE_ODH_OPENVINO_MODEL_SERVER_IMAGE (3.3.5).
_OVMS_3_3 = OvmsRuntime(
    image="registry.redhat.io/rhoai/odh-openvino-model-server-rhel9"
    "@sha256:0ce576b008f5422c4c8a69e1864c7940e0a134bdefb165fd6abf275fc52b9059",
    runtime_version="v2025.4",
    pod_annotations={"opendatahub.io/kserve-runtime": "ovms"},
    extra_args=(),
    run_as_user=None,
    source="odh-model-controller rhoai-3.3 @dc86dc52; image: RHOAI-Build-Config rhoai-3.3 CSV (3.3.5)",
)
# [omc 3.5] @8df08b9e (byte-identical to the kserve module's copy); image: [build 3.5] @294d62e7 CSV (3.5.0).
_OVMS_3_5 = OvmsRuntime(
    image="registry.redhat.io/rhoai/odh-openvino-model-server-rhel9"
    "@sha256:b448359fe46ee2c2c840b79bf0036cf1d813451be2f789d2cd1af18875cc8e8c",
    runtime_version="v2026.1.0",
    pod_annotations={"opendatahub.io/kserve-runtime": "ovms"},
    extra_args=(),
    run_as_user=None,
    source="odh-model-controller rhoai-3.5 @8df08b9e; image: RHOAI-Build-Config rhoai-3.5 CSV (3.5.0)",
)
# Upstream KServe ships no OVMS runtime (kserve v0.20.0 config/runtimes/kserve-openvino.yaml is not installed).
# openvinotoolkit/model_server v2026.1 @3e5cbf57 Dockerfile.ubuntu: `useradd --uid 5000 ... ovms`, `USER ovms`.
# No digest of this tag could be verified offline (docs/platform-profiles.md): pin one with
# serving.runtime.image where you can.
_OVMS_UPSTREAM = OvmsRuntime(
    image="docker.io/openvino/model_server:2026.1",
    runtime_version=None,
    pod_annotations={},
    extra_args=(),
    run_as_user=5000,
    source="openvinotoolkit/model_server v2026.1 @3e5cbf57 Dockerfile.ubuntu",
)


# --- Data Science Pipelines operator ----------------------------------------------------------------
# [dspo X] controllers/dspipeline_controller.go calls isObjectStorageAccessible (controllers/storage.go:
# ConnectAndQueryObjStore, a minio-go StatObject on the DSPA's bucket) from the operator's own pod and deploys
# the API server only once it succeeds (2.22 @1838c78d, 3.3 @9aa38902, 3.5 @06effd47). Its pod:
# [rhods X] prefetched-manifests/datasciencepipelines/manager/manager.yaml labels the pod
# `app.kubernetes.io/name: data-science-pipelines-operator` (the selector the operator's own MariaDB
# NetworkPolicy uses for itself: [dspo X] config/internal/mariadb/default/networkpolicy.yaml.tmpl), and
# overlays/rhoai/kustomization.yaml puts it in `redhat-ods-applications`, the DSCI's applicationsNamespace
# default ([rhods X] api/dscinitialization/*/dscinitialization_types*.go `+kubebuilder:default`; 3.x
# pkg/cluster/cluster_config.go GetApplicationNamespace for self-managed RHOAI).
# The DSCI's applicationsNamespace default (sources above); the DSCI we render sets it explicitly.
OPENSHIFT_AI_APPLICATIONS_NAMESPACE = "redhat-ods-applications"
_DSPO_OPENSHIFT_AI = PipelinesOperator(
    namespace=OPENSHIFT_AI_APPLICATIONS_NAMESPACE,
    pod_labels={"app.kubernetes.io/name": "data-science-pipelines-operator"},
    source="data-science-pipelines-operator rhoai-X controllers/storage.go; rhods-operator rhoai-X "
    "prefetched-manifests/datasciencepipelines/manager/manager.yaml, overlays/rhoai",
)


def _openshift_ai(
    name: str,
    summary: str,
    *,
    gitops_channel: str,
    argocd_version: str,
    dsc_version: str,
    dsc_components: tuple[str, ...],
    dsc_kserve_fields: Mapping[str, object],
    ovms: OvmsRuntime,
    deployment_modes: Mapping[str, str],
    v2: bool,
) -> Profile:
    """An OpenShift AI release: what all of them share is written once here."""
    return Profile(
        name=name,
        summary=summary,
        target="openshift",
        openshift_ai_channel=f"stable-{name.removeprefix('rhoai-')}",
        gitops_channel=gitops_channel,
        argocd_version=argocd_version,
        dsc_api_version=f"datasciencecluster.opendatahub.io/{dsc_version}",
        dsc_components=dsc_components,
        dsc_kserve_fields=dsc_kserve_fields,
        pipelines_component="aipipelines" if v2 else "datasciencepipelines",
        pipelines_operator=_DSPO_OPENSHIFT_AI,  # same namespace and labels in 2.22, 3.3 and 3.5
        dsci_api_version=f"dscinitialization.opendatahub.io/{dsc_version}",
        dsci_has_service_mesh=not v2,
        # ModelRegistry v1beta1 ([rhods X] modelregistry CRD): 2.22 has only oauthProxy and requires grpc;
        # 3.x adds kubeRBACProxy (exclusive with oauthProxy) and requires only rest.
        registry_proxy="kubeRBACProxy" if v2 else "oauthProxy",
        registry_requires_grpc=not v2,
        ovms=ovms,
        deployment_modes=deployment_modes,
        token_auth=True,
        # [odh-dashboard rhoai-3.3] @8dbed12d writes enable-auth 'true' or 'false'; 2.22 only when true.
        enable_auth_always=v2,
        routes=True,
        fixed_uids=False,  # restricted-v2 SCC assigns the UID from the namespace range
        # The GitOps operator owns argocd-cm and reverts edits; it copies the ArgoCD CR's
        # spec.resourceHealthChecks there ([gitops 1.20] argoproj.io_argocds.yaml).
        health_delivery="argocd-cr",
        kind_stack=None,
    )


PROFILES: dict[str, Profile] = {
    "rhoai-2.22": _openshift_ai(
        "rhoai-2.22",
        "Red Hat OpenShift AI 2.22 (DataScienceCluster v1, oauth-proxy token auth, Serverless or RawDeployment)",
        # The GitOps pairing is ours (RHOAI does not dictate one): gitops-1.18 ships argo-cd v3.1.10 ([gitops 1.18]).
        gitops_channel="gitops-1.18",
        argocd_version="v3.1.10",
        dsc_version="v1",
        dsc_components=_DSC_V1_COMPONENTS,
        # RawDeployment by default: no Knative Serving, so no Service Mesh either.
        dsc_kserve_fields={"defaultDeploymentMode": "RawDeployment", "serving": {"managementState": "Removed"}},
        ovms=_OVMS_2_22,
        deployment_modes={"RawDeployment": "RawDeployment", "Serverless": "Serverless"},
        v2=False,
    ),
    "rhoai-3.3": _openshift_ai(
        "rhoai-3.3",
        "Red Hat OpenShift AI 3.3, the default (DataScienceCluster v2, kube-rbac-proxy token auth, RawDeployment)",
        gitops_channel="gitops-1.20",  # argo-cd v3.3.12 ([gitops 1.20] go.mod)
        argocd_version="v3.3.12",
        dsc_version="v2",
        dsc_components=_DSC_V2_33_COMPONENTS,
        dsc_kserve_fields={},  # [build 3.3] no defaultDeploymentMode, no serving: RawDeployment only
        ovms=_OVMS_3_3,
        # [rhods 3.3] overlays/odh patch-inferenceservice-config.yaml: default RawDeployment, kept as written.
        deployment_modes={"RawDeployment": "RawDeployment"},
        v2=True,
    ),
    "rhoai-3.5": _openshift_ai(
        "rhoai-3.5",
        "Red Hat OpenShift AI 3.5, the newest (as 3.3; KServe names RawDeployment 'Standard')",
        gitops_channel="gitops-1.21",  # argo-cd v3.4.4 ([gitops 1.21] go.mod)
        argocd_version="v3.4.4",
        dsc_version="v2",
        dsc_components=_DSC_V2_35_COMPONENTS,
        dsc_kserve_fields={},
        ovms=_OVMS_3_5,
        # red-hat-data-services/kserve @2505c736 (pinned by [rhods 3.5]) inference_service_defaults.go: the
        # webhook rewrites RawDeployment to Standard, so a manifest keeping RawDeployment stays OutOfSync.
        deployment_modes={"RawDeployment": "Standard"},
        v2=True,
    ),
    "upstream": Profile(
        name="upstream",
        summary="upstream KServe v0.20.0 and Argo CD v3.5.1 on kind (no OpenShift, no token auth)",
        target="kind",
        openshift_ai_channel=None,
        gitops_channel=None,
        argocd_version="v3.5.1",
        dsc_api_version=None,
        dsc_components=(),
        dsc_kserve_fields={},
        pipelines_component=None,
        pipelines_operator=None,
        dsci_api_version=None,
        dsci_has_service_mesh=False,
        registry_proxy=None,
        registry_requires_grpc=False,
        ovms=_OVMS_UPSTREAM,
        # [kserve 0.20.0] pkg/apis/serving/v1beta1/inference_service_defaults.go: RawDeployment -> Standard.
        deployment_modes={"RawDeployment": "Standard"},
        token_auth=False,  # no odh-model-controller, no auth proxy
        enable_auth_always=False,
        routes=False,
        fixed_uids=True,
        health_delivery="argocd-cm",
        # [kserve 0.20.0] kserve-deps.env: KIND_VERSION=v0.30.0, CERT_MANAGER_VERSION=v1.17.0; node image:
        # kubernetes-sigs/kind v0.30.0 @9a205e8c pkg/apis/config/defaults/image.go (KServe 0.20 needs >= 1.32).
        kind_stack=KindStack(
            kind_version="v0.30.0",
            node_image="kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a",
            cert_manager_version="v1.17.0",
            kserve_version="v0.20.0",
            # kserve/website versioned_docs/version-0.20 admin-guide/kubernetes-deployment.md patches the
            # default to Standard: kserve.yaml's own default is Serverless (Knative), absent on kind.
            kserve_default_deployment_mode="Standard",
        ),
    ),
}


def profile_names() -> list[str]:
    return sorted(PROFILES)
