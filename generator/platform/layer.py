"""The platform layer: what a cluster needs before Argo CD can sync the model manifests.

`platform_manifests(specs)` returns the Manifests of the Kustomize tree of the specs' profile target
(`platform.profile`: the OpenShift AI profiles -> platform/openshift/, `upstream` -> platform/kind/),
applied by `scripts/provision` stage by stage (each stage waits for the one before):

platform/openshift/operators/       OLM Namespaces, OperatorGroups, Subscriptions (GitOps, OpenShift AI)
platform/openshift/openshift-ai/    DataScienceCluster (+ DSCInitialization on 2.x): KServe + model registry
platform/openshift/gitops/          ClusterRole + binding: what the GitOps controller may sync, nothing more;
                                    the ArgoCD CR's InferenceService health check
platform/openshift/registries/      per registry: MySQL (PVC, Deployment, Service) + the ModelRegistry CR
platform/kind/argocd/               Argo CD namespace, bindings for the upstream install, argocd-cm health check
platform/kind/kserve/               KServe inferenceservice-config keys (default deployment mode)
platform/kind/registries/           per registry: MySQL + the Kubeflow Model Registry server

Upstream installs on kind (cert-manager, KServe, Argo CD release manifests) are not vendored: the
provisioning script applies them from pinned release URLs (see `provisioning.upstream`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from generator.kinds import SYNCED_KINDS
from generator.loader import check_specs_together
from generator.objects.common import Manifest
from generator.objects.kustomize import kustomization
from generator.platform import health, names, objects
from generator.platform.objects import operators
from generator.platform.settings import PlatformSettings
from generator.spec import Registry, Spec

# Hand-written CRD subsets (OLM Subscription, OperatorGroup; OpenShift GitOps ArgoCD) for `jukebox
# validate`; the other custom resources are checked against the profile's own CRDs.
CRDS_DIR = Path(__file__).resolve().parent / "crds"


def _sorted_specs(specs: Iterable[Spec]) -> list[Spec]:
    return sorted(specs, key=lambda spec: spec.model.name)


def cluster_settings(specs: Iterable[Spec]) -> PlatformSettings:
    """One cluster, one platform: every spec must ask for the same platform settings (and registries
    namespace); `generator.loader.cross_spec_problems` says which spec differs."""
    ordered = _sorted_specs(specs)
    if not ordered:
        return PlatformSettings()
    check_specs_together([(f"spec {spec.model.name}", spec) for spec in ordered])
    return ordered[0].platform


def _file(manifest_path: str) -> str:
    return manifest_path.rsplit("/", 1)[1]


def _directory(root: str, manifests: list[Manifest]) -> list[Manifest]:
    """The objects of one directory plus its kustomization.yaml (objects keep their own namespaces)."""
    return [*manifests, kustomization(f"{root}/kustomization.yaml", sorted(_file(m.path) for m in manifests))]


def _registries(specs: list[Spec]) -> list[Spec]:
    """One registry per (namespace, name); specs sharing one share its database."""
    seen: dict[tuple[str, str], Spec] = {}
    for spec in specs:
        seen.setdefault((spec.registry.namespace, spec.registry.name), spec)
    return [seen[key] for key in sorted(seen)]


def _pipeline_namespaces(specs: list[Spec], registry: Spec) -> list[str]:
    """The namespaces whose pipeline servers register in `registry`'s Model Registry."""
    key = (registry.registry.namespace, registry.registry.name)
    return sorted(
        {
            spec.environments[spec.pipelines.environment].namespace
            for spec in specs
            if spec.pipelines is not None and (spec.registry.namespace, spec.registry.name) == key
        }
    )


def _argocd_namespaces(specs: list[Spec]) -> list[str]:
    return sorted({spec.gitops.argocd_namespace for spec in specs})


def openshift_manifests(specs: list[Spec], settings: PlatformSettings) -> list[Manifest]:
    root = names.OPENSHIFT_DIR
    profile = settings.platform_profile
    monitoring = {"openshift.io/cluster-monitoring": "true"}
    operator_objects: list[Manifest] = []
    for operator in operators(settings):
        base = f"{root}/operators"
        operator_objects += [
            objects.namespace(operator.namespace, f"{base}/namespace-{operator.namespace}.yaml", monitoring),
            objects.operator_group(operator, f"{base}/operatorgroup-{operator.package}.yaml"),
            objects.subscription(operator, f"{base}/subscription-{operator.package}.yaml"),
        ]
    registries_namespace = specs[0].registry.namespace if specs else Registry.model_fields["namespace"].default
    openshift_ai = [
        manifest
        for manifest in (
            objects.dscinitialization(profile, f"{root}/openshift-ai/dscinitialization.yaml"),
            objects.datasciencecluster(
                settings,
                registries_namespace,
                f"{root}/openshift-ai/datasciencecluster.yaml",
                pipelines=any(spec.pipelines is not None for spec in specs),
            ),
        )
        if manifest is not None
    ]
    gitops: list[Manifest] = []
    for argocd_namespace in _argocd_namespaces(specs):
        role = names.gitops_deployer_role(argocd_namespace)
        gitops += [
            objects.cluster_role(role, objects.deployer_rules(SYNCED_KINDS), f"{root}/gitops/clusterrole-{role}.yaml"),
            objects.cluster_role_binding(
                role,
                role,
                names.openshift_gitops_controller_account(argocd_namespace),
                argocd_namespace,
                f"{root}/gitops/clusterrolebinding-{role}.yaml",
            ),
            objects.argocd_health_checks(argocd_namespace, f"{root}/gitops/argocd-{argocd_namespace}.yaml"),
        ]
    base = f"{root}/registries"
    registries = _registry_databases(specs, settings, "openshift", base)
    for spec in _registries(specs):
        name = spec.registry.name
        registries.append(
            objects.modelregistry(spec, settings.registry_database, profile, f"{base}/{name}-modelregistry.yaml")
        )
        callers = _pipeline_namespaces(specs, spec)
        if callers:
            path = f"{base}/networkpolicy-{name}-allow-pipelines.yaml"
            registries.append(objects.registry_pipelines_policy(spec, callers, path))
            path = f"{base}/rolebinding-{name}-pipeline-runners.yaml"
            registries.append(objects.registry_pipeline_runners(spec, callers, path))
    return [
        *_directory(f"{root}/operators", operator_objects),
        *_directory(f"{root}/openshift-ai", openshift_ai),
        *(_directory(f"{root}/gitops", gitops) if gitops else []),
        *(_directory(base, registries) if registries else []),
    ]


def _registry_databases(specs: list[Spec], settings: PlatformSettings, target: str, base: str) -> list[Manifest]:
    """The registries' namespaces, and per registry its MySQL (PVC, Deployment for `target`, Service)."""
    db = settings.registry_database
    manifests = [
        objects.namespace(namespace, f"{base}/namespace-{namespace}.yaml")
        for namespace in sorted({spec.registry.namespace for spec in specs})
    ]
    for spec in _registries(specs):
        name = spec.registry.name
        manifests += [
            objects.registry_db_pvc(spec, db, f"{base}/{name}-db-persistentvolumeclaim.yaml"),
            objects.registry_db_deployment(spec, db, target, f"{base}/{name}-db-deployment.yaml"),
            objects.registry_db_service(spec, f"{base}/{name}-db-service.yaml"),
        ]
    return manifests


def kind_manifests(specs: list[Spec], settings: PlatformSettings) -> list[Manifest]:
    root = names.KIND_DIR
    stack = settings.platform_profile.kind_stack
    if stack is None:
        raise ValueError(f"profile {settings.profile} does not run on kind")
    argocd: list[Manifest] = []
    for argocd_namespace in _argocd_namespaces(specs):
        base = f"{root}/argocd"
        argocd.append(objects.namespace(argocd_namespace, f"{base}/namespace-{argocd_namespace}.yaml"))
        # install.yaml binds its ClusterRoles to service accounts in `argocd`; bind them here instead.
        for account in names.ARGOCD_CLUSTER_ACCOUNTS:
            binding = f"jukebox-{account}-{argocd_namespace}"
            argocd.append(
                objects.cluster_role_binding(
                    binding, account, account, argocd_namespace, f"{base}/clusterrolebinding-{binding}.yaml"
                )
            )
        argocd.append(
            objects.config_map(
                "argocd-cm",
                argocd_namespace,
                {health.ARGOCD_CM_KEY: health.inferenceservice_check()},
                f"{base}/configmap-argocd-cm-{argocd_namespace}.yaml",
            )
        )
    kserve = [
        objects.config_map(
            names.KSERVE_CONFIGMAP,
            names.KSERVE_NAMESPACE,
            {"deploy": objects.kserve_deploy_config(stack.kserve_default_deployment_mode)},
            f"{root}/kserve/configmap-{names.KSERVE_CONFIGMAP}.yaml",
        )
    ]
    base = f"{root}/registries"
    registries = _registry_databases(specs, settings, "kind", base)
    for spec in _registries(specs):
        name = spec.registry.name
        registries += [
            objects.registry_server_deployment(spec, settings.kind, f"{base}/{name}-deployment.yaml"),
            objects.registry_server_service(spec, f"{base}/{name}-service.yaml"),
        ]
    return [
        *(_directory(f"{root}/argocd", argocd) if argocd else []),
        *_directory(f"{root}/kserve", kserve),
        *(_directory(base, registries) if registries else []),
    ]


def platform_manifests(specs: list[Spec]) -> list[Manifest]:
    """Every platform file of the specs' profile (paths relative to manifests/), deterministic."""
    ordered = _sorted_specs(specs)
    settings = cluster_settings(ordered)
    if settings.platform_profile.openshift:
        return openshift_manifests(ordered, settings)
    return kind_manifests(ordered, settings)
