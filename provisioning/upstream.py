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
    v = stack.kserve_version
    return UpstreamInstall(
        "KServe",
        v,
        f"https://github.com/kserve/kserve/releases/download/{v}/kserve.yaml",
        None,
        "kserve",
        "kserve-controller-manager",
        ("kserve-controller-manager",),
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
