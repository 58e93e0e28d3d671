"""Every Kubernetes kind the generator writes: its apiVersion, resource name and template, in one table.

API groups come from `apiVersion` (`group/version`, or just `version` for the core group); Argo CD's
AppProject allow-lists and the GitOps controller's ClusterRole are derived from here. Kinds whose API version
depends on the platform release (DataScienceCluster, DSCInitialization) get it from the profile.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    api_version: str | None  # None: the platform profile decides
    plural: str  # the resource name in RBAC rules and `kubectl get`
    namespaced: bool
    folder: str  # templates/<folder>/<kind>.json.j2, one template per kind

    @property
    def group(self) -> str:
        return (self.api_version or "").rpartition("/")[0]

    @property
    def builtin(self) -> bool:
        """Kubernetes' own API (core, apps, batch, *.k8s.io): no CRD describes it."""
        return self.group in ("", "apps", "batch") or self.group.endswith(".k8s.io")


KINDS: dict[str, Kind] = {
    "Namespace": Kind("v1", "namespaces", False, "core"),
    "ConfigMap": Kind("v1", "configmaps", True, "core"),
    "Service": Kind("v1", "services", True, "core"),
    "ServiceAccount": Kind("v1", "serviceaccounts", True, "core"),
    "PersistentVolumeClaim": Kind("v1", "persistentvolumeclaims", True, "core"),
    "Deployment": Kind("apps/v1", "deployments", True, "apps"),
    "Job": Kind("batch/v1", "jobs", True, "batch"),
    "CronJob": Kind("batch/v1", "cronjobs", True, "batch"),
    "Role": Kind("rbac.authorization.k8s.io/v1", "roles", True, "rbac"),
    "RoleBinding": Kind("rbac.authorization.k8s.io/v1", "rolebindings", True, "rbac"),
    "ClusterRole": Kind("rbac.authorization.k8s.io/v1", "clusterroles", False, "rbac"),
    "ClusterRoleBinding": Kind("rbac.authorization.k8s.io/v1", "clusterrolebindings", False, "rbac"),
    "NetworkPolicy": Kind("networking.k8s.io/v1", "networkpolicies", True, "networking"),
    "Route": Kind("route.openshift.io/v1", "routes", True, "route"),
    "ServingRuntime": Kind("serving.kserve.io/v1alpha1", "servingruntimes", True, "serving"),
    "InferenceService": Kind("serving.kserve.io/v1beta1", "inferenceservices", True, "serving"),
    "Application": Kind("argoproj.io/v1alpha1", "applications", True, "argocd"),
    "AppProject": Kind("argoproj.io/v1alpha1", "appprojects", True, "argocd"),
    "ArgoCD": Kind("argoproj.io/v1beta1", "argocds", True, "argocd"),
    "OperatorGroup": Kind("operators.coreos.com/v1", "operatorgroups", True, "olm"),
    "Subscription": Kind("operators.coreos.com/v1alpha1", "subscriptions", True, "olm"),
    "DataScienceCluster": Kind(None, "datascienceclusters", False, "openshift-ai"),
    "DSCInitialization": Kind(None, "dscinitializations", False, "openshift-ai"),
    "ModelRegistry": Kind("modelregistry.opendatahub.io/v1beta1", "modelregistries", True, "openshift-ai"),
    # The DSPA CRD serves v1 (storage) on every OpenShift AI profile (rhods-operator prefetched-manifests/
    # datasciencepipelines/crd/bases, rhoai-2.22/3.3/3.5); Pipeline and PipelineVersion are v2beta1 there.
    "DataSciencePipelinesApplication": Kind(
        "datasciencepipelinesapplications.opendatahub.io/v1", "datasciencepipelinesapplications", True, "pipelines"
    ),
    "Pipeline": Kind("pipelines.kubeflow.org/v2beta1", "pipelines", True, "pipelines"),
    "PipelineVersion": Kind("pipelines.kubeflow.org/v2beta1", "pipelineversions", True, "pipelines"),
    "Kustomization": Kind("kustomize.config.k8s.io/v1beta1", "kustomizations", False, "kustomize"),
}


# Kinds of the model manifests Argo CD syncs: its AppProject allows them, the GitOps controller may write them.
SYNCED_KINDS = (
    "Namespace",
    "ConfigMap",
    "Service",
    "ServiceAccount",
    "PersistentVolumeClaim",
    "Deployment",
    "Job",
    "CronJob",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "Route",
    "ServingRuntime",
    "InferenceService",
    "DataSciencePipelinesApplication",
    "Pipeline",
    "PipelineVersion",
)
BUILTIN_API_VERSIONS = frozenset(k.api_version for k in KINDS.values() if k.api_version and k.builtin)


def template_of(kind: str) -> str:
    return f"{KINDS[kind].folder}/{kind.lower()}.json.j2"
