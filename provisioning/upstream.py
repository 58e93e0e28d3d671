"""Upstream installs on kind, applied from pinned release URLs (never vendored, never in a kustomization)."""

from __future__ import annotations

from dataclasses import dataclass

from generator.profiles import KindStack


@dataclass(frozen=True)
class UpstreamInstall:
    """One release manifest; `probe` names a Deployment whose image tag tells the installed version."""

    name: str
    version: str
    url: str
    namespace: str | None  # `kubectl apply -n` for manifests written without namespaces (Argo CD)
    probe_namespace: str
    probe_deployment: str
    wait_deployments: tuple[str, ...]
    marker: tuple[str, str] | None = None  # (resource, cluster-scoped name) that must exist as well
    wait_statefulsets: tuple[str, ...] = ()
    # CRDs applied and waited for (Established) before `url`, whose custom resources need them.
    crds_url: str | None = None
    # Applies of `url` before giving up, a pause apart: its webhooks may not answer yet right after install.
    attempts: int = 1


# KServe's own installer retries the cluster resources' applies (runtimes, LLM configs) 3 times, 5 s apart
# (kserve v0.20.0 hack/setup/quick-install/kserve-standard-mode-full-install-with-manifests.sh, retry_command 3 5);
# we retry kserve.yaml the same way too (our choice: its webhooks may not answer yet on a re-run).
KSERVE_APPLY_ATTEMPTS = 3
APPLY_RETRY_PAUSE_SECONDS = 5.0


def cert_manager(stack: KindStack) -> UpstreamInstall:
    v = stack.cert_manager_version
    return UpstreamInstall(
        "cert-manager",
        v,
        f"https://github.com/cert-manager/cert-manager/releases/download/{v}/cert-manager.yaml",
        None,
        "cert-manager",
        "cert-manager",
        ("cert-manager", "cert-manager-cainjector", "cert-manager-webhook"),
    )


def kserve(stack: KindStack) -> UpstreamInstall:
    # kserve.yaml (config/overlays/all) holds the ClusterStorageContainer `default` next to its CRD, so one
    # pass fails on a fresh cluster. KServe's installer applies the CRDs first and waits for them to be
    # Established, then waits for every *controller-manager Deployment (v0.20.0
    # hack/setup/infra/manage.kserve-kustomize.sh; kserve-crds.yaml is config/crd/full,
    # hack/release/generate-install.sh). The marker keeps a half-done install from being taken as done.
    v = stack.kserve_version
    release = f"https://github.com/kserve/kserve/releases/download/{v}"
    return UpstreamInstall(
        "KServe",
        v,
        f"{release}/kserve.yaml",
        None,
        "kserve",
        "kserve-controller-manager",
        ("kserve-controller-manager", "llmisvc-controller-manager", "kserve-localmodel-controller-manager"),
        marker=("clusterstoragecontainer.v1alpha1.serving.kserve.io", "default"),
        crds_url=f"{release}/kserve-crds.yaml",
        attempts=KSERVE_APPLY_ATTEMPTS,
    )


def kserve_cluster_resources(stack: KindStack) -> UpstreamInstall:
    # ClusterServingRuntimes (kserve v0.20.0 config/clusterresources: runtimes + LLM configs).
    v = stack.kserve_version
    return UpstreamInstall(
        "KServe cluster resources",
        v,
        f"https://github.com/kserve/kserve/releases/download/{v}/kserve-cluster-resources.yaml",
        None,
        "kserve",
        "kserve-controller-manager",
        (),
        marker=("clusterservingruntime.v1alpha1.serving.kserve.io", "kserve-sklearnserver"),
        # LLMInferenceServiceConfig objects go through llmisvc's webhook, which may not answer at first.
        attempts=KSERVE_APPLY_ATTEMPTS,
    )


def argocd(version: str, namespace: str) -> UpstreamInstall:
    v = version
    return UpstreamInstall(
        "Argo CD",
        v,
        f"https://raw.githubusercontent.com/argoproj/argo-cd/{v}/manifests/install.yaml",
        namespace,
        namespace,
        "argocd-server",
        ("argocd-applicationset-controller", "argocd-redis", "argocd-repo-server", "argocd-server"),
        # install.yaml runs the application controller, the component that syncs, as a StatefulSet.
        wait_statefulsets=("argocd-application-controller",),
    )
