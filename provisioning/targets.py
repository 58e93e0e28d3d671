"""The plan of each target: ordered steps from preflight to Synced/Healthy Applications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.names import application_name, storage_application_name
from generator.objects.common import Manifest
from generator.platform import kind_manifests, names, openshift_manifests, operators
from generator.platform.settings import PlatformSettings
from generator.profiles import OPENSHIFT_AI_APPLICATIONS_NAMESPACE, KindStack
from generator.render import render_document
from generator.spec import Spec
from jukebox.errors import InputError
from provisioning import secrets, upstream
from provisioning.objects import generated_resource, kubectl_resource, secret_data
from provisioning.steps import (
    ApplyKustomization,
    ApplyObjects,
    ApplySecrets,
    Check,
    Command,
    Context,
    InstallUpstream,
    Step,
    Wait,
    applications_healthy,
    condition_true,
    crds_established,
    csv_succeeded,
    deployments_available,
    phase_is,
    workloads_ready,
)

OPENSHIFT_CRDS = (
    "applications.argoproj.io",
    "argocds.argoproj.io",
    "datascienceclusters.datasciencecluster.opendatahub.io",
    "dscinitializations.dscinitialization.opendatahub.io",
    "modelregistries.modelregistry.opendatahub.io",
)


@dataclass(frozen=True)
class Options:
    spec: Spec
    all_specs: list[Spec]
    repo_root: Path
    kustomize: Callable[[Path], list[dict[str, Any]]]
    supplied: dict[str, dict[str, str]]
    context: str | None = None
    expect_server: str | None = None
    create_cluster: bool = False
    cluster_name: str = "jukebox"
    git_insecure: bool = False
    preview: bool = False  # building a --dry-run plan: no cluster, placeholder values

    @property
    def settings(self) -> PlatformSettings:
        return self.spec.platform


def directories(manifests: list[Manifest]) -> dict[str, list[dict[str, Any]]]:
    """Rendered objects per platform directory, in the generator's order (kustomization files left out)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for manifest in manifests:
        if manifest.is_kustomization:
            continue
        grouped.setdefault(manifest.path.rsplit("/", 1)[0], []).append(render_document(manifest))
    return grouped


def namespace_stub(name: str) -> dict[str, Any]:
    # Only the name: Argo CD owns every other field of these namespaces once it syncs them.
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def secret_namespaces(spec: Spec) -> list[str]:
    found = {env.namespace for env in spec.environments.values()} | {spec.registry.namespace}
    if spec.minio.enabled:
        found.add(spec.minio.namespace)
    return sorted(found)


def application_names(spec: Spec) -> tuple[str, ...]:
    apps = [application_name(spec, env) for env in sorted(spec.environments)]
    if spec.minio.enabled:
        apps.append(storage_application_name(spec))
    return tuple(apps)


def _preview_generate(keys: tuple[str, ...]) -> dict[str, str]:
    return dict.fromkeys(keys, "<generated>")


def credential_secrets(opts: Options, kind: bool) -> ApplySecrets:
    spec, settings = opts.spec, opts.settings

    def build(existing: Callable[[str, str], dict[str, str] | None]) -> list[tuple[dict[str, Any], str]]:
        generate = _preview_generate if opts.preview else secrets._generate
        resolved = secrets.resolve(spec, settings, opts.supplied, existing, generate)
        result = [(r.obj, r.source) for r in resolved]
        if kind:
            s3_name = secrets.s3_connection_secret_name(spec)
            for r in resolved:
                if r.obj["metadata"]["name"] == s3_name:
                    result.append((secrets.storage_config(spec, r.obj), f"built from {s3_name}"))
        return result

    step = ApplySecrets("credential Secrets (values never in git)", build)
    if opts.preview:
        step.preview = build(lambda name, namespace: None)
    return step


def repository_secret(opts: Options) -> ApplySecrets:
    def build(existing: Callable[[str, str], dict[str, str] | None]) -> list[tuple[dict[str, Any], str]]:
        credentials = opts.supplied.get("git")
        obj = secrets.repository(opts.spec, credentials, opts.git_insecure)
        source = "supplied (--secrets-file git)" if credentials else "public repository, no credentials"
        return [(obj, source)]

    step = ApplySecrets(f"register the git repository with Argo CD ({opts.spec.gitops.repo_url})", build)
    if opts.preview:
        step.preview = build(lambda name, namespace: None)
    return step


def bootstrap_steps(opts: Options) -> list[Step]:
    spec = opts.spec
    apps = application_names(spec)
    argocd_ns = spec.gitops.argocd_namespace
    return [
        repository_secret(opts),
        ApplyKustomization(
            "apply the root kustomization.yaml (AppProject + Applications)", opts.repo_root, opts.kustomize
        ),
        Wait(
            "Applications Synced/Healthy",
            [f"Application {argocd_ns}/{app} sync=Synced health=Healthy" for app in apps],
            applications_healthy(argocd_ns, apps),
            namespaces=[argocd_ns, *secret_namespaces(spec)],
            watched=[(generated_resource("Application"), app, argocd_ns) for app in apps],
            failure="the Applications did not become Synced/Healthy in time",
        ),
    ]


# --- OpenShift ------------------------------------------------------------------------------------------


def openshift_preflight(opts: Options) -> list[Step]:
    def logged_in(code: int, out: str, err: str) -> str | None:
        if code != 0:
            return f"not logged in to an OpenShift cluster (`oc whoami`: {err.strip()}): run `oc login --server=URL`"
        return None

    def right_server(code: int, out: str, err: str) -> str | None:
        if code != 0:
            return f"cannot read the API server URL: {err.strip()}"
        if opts.expect_server and out.strip().rstrip("/") != opts.expect_server.rstrip("/"):
            return (
                f"wrong cluster: logged in to {out.strip()}, but --expect-server is {opts.expect_server}; "
                "switch with `oc login` or `oc config use-context`"
            )
        return None

    def is_openshift(code: int, out: str, err: str) -> str | None:
        if code != 0 or not out.strip():
            return "wrong cluster: no config.openshift.io API here, so this is not OpenShift; use --target kind"
        return None

    checks: list[Step] = [
        Check("logged in", ["oc", "whoami"], logged_in),
        Check("API server", ["oc", "whoami", "--show-server"], right_server),
        Check(
            "cluster is OpenShift",
            ["oc", "api-resources", "--api-group=config.openshift.io", "-o", "name"],
            is_openshift,
        ),
    ]
    for verb, resource in (
        ("create", "subscriptions.operators.coreos.com"),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
        ("create", "datascienceclusters.datasciencecluster.opendatahub.io"),
        ("create", "secrets"),
        ("create", "namespaces"),
    ):
        checks.append(
            Check(
                f"may {verb} {resource}",
                ["oc", "auth", "can-i", verb, resource, "--all-namespaces"],
                _permission(verb, resource),
            )
        )
    return checks


def _permission(verb: str, resource: str) -> Callable[[int, str, str], str | None]:
    def verify(code: int, out: str, err: str) -> str | None:
        if out.strip() == "yes":
            return None
        return (
            f"missing permissions: this user may not {verb} {resource} in all namespaces "
            f"(`auth can-i` said {out.strip() or err.strip()!r}); provisioning installs operators and "
            "cluster-wide RBAC, so it needs cluster-admin"
        )

    return verify


def openshift_plan(opts: Options) -> list[Step]:
    spec, settings = opts.spec, opts.settings
    profile = settings.platform_profile
    tree = directories(openshift_manifests(opts.all_specs, settings))
    root = names.OPENSHIFT_DIR
    gitops_operator, openshift_ai_operator = operators(settings)
    dsc = kubectl_resource(profile.dsc_api_version or "", "DataScienceCluster")
    argocd_ns = spec.gitops.argocd_namespace
    steps: list[Step] = openshift_preflight(opts)
    steps.append(ApplyObjects("operators: Namespaces, OperatorGroups, Subscriptions", tree[f"{root}/operators"]))
    for operator in (gitops_operator, openshift_ai_operator):
        steps.append(
            Wait(
                f"operator {operator.package} installed",
                [f"Subscription {operator.namespace}/{operator.package} -> installedCSV phase Succeeded"],
                csv_succeeded(operator.namespace, operator.package),
                namespaces=[operator.namespace],
                watched=[(generated_resource("Subscription"), operator.package, operator.namespace)],
                failure=(
                    f"operator install timeout: {operator.package} (channel {operator.channel}, source "
                    f"{operator.source}) did not reach Succeeded"
                    + (
                        "; installPlanApproval is Manual: approve its InstallPlan"
                        if operator.install_plan_approval == "Manual"
                        else ""
                    )
                ),
            )
        )
    steps += [
        Wait(
            "operator CRDs established",
            [f"CRD {crd} Established" for crd in OPENSHIFT_CRDS],
            crds_established(OPENSHIFT_CRDS),
        ),
        ApplyObjects(
            f"OpenShift AI {profile.name}: DataScienceCluster {profile.dsc_api_version} (KServe, model registry)",
            tree[f"{root}/openshift-ai"],
        ),
        Wait(
            "DataScienceCluster ready",
            [f"DataScienceCluster {settings.data_science_cluster} Ready"],
            condition_true(dsc, settings.data_science_cluster, None, "Ready"),
            namespaces=[OPENSHIFT_AI_APPLICATIONS_NAMESPACE, openshift_ai_operator.namespace],
            watched=[(dsc, settings.data_science_cluster, None)],
        ),
        Wait(
            f"Argo CD instance {argocd_ns} available",
            [f"ArgoCD {argocd_ns}/{argocd_ns} phase Available"],
            phase_is(generated_resource("ArgoCD"), argocd_ns, argocd_ns, "Available"),
            namespaces=[argocd_ns],
            watched=[(generated_resource("ArgoCD"), argocd_ns, argocd_ns)],
        ),
        ApplyObjects(
            "GitOps: what the Argo CD controller may sync; the InferenceService health check (ArgoCD CR)",
            tree[f"{root}/gitops"],
        ),
        ApplyObjects("namespaces of the credential Secrets", [namespace_stub(n) for n in secret_namespaces(spec)]),
        credential_secrets(opts, kind=False),
        ApplyObjects("model registries: MySQL + ModelRegistry", tree[f"{root}/registries"]),
        Wait(
            f"model registry {spec.registry.name} available",
            [f"ModelRegistry {spec.registry.namespace}/{spec.registry.name} Available"],
            condition_true(
                generated_resource("ModelRegistry"),
                spec.registry.name,
                spec.registry.namespace,
                "Available",
            ),
            namespaces=[spec.registry.namespace],
            watched=[(generated_resource("ModelRegistry"), spec.registry.name, spec.registry.namespace)],
        ),
        *bootstrap_steps(opts),
    ]
    return steps


# --- kind -----------------------------------------------------------------------------------------------


def _kind_stack(settings: PlatformSettings) -> KindStack:
    stack = settings.platform_profile.kind_stack
    if stack is None:
        raise InputError(f"platform.profile {settings.profile} does not run on kind; use platform.profile: upstream")
    return stack


def kind_context(opts: Options) -> str:
    return opts.context or f"kind-{opts.cluster_name}"


def kind_preflight(opts: Options) -> list[Step]:
    context = kind_context(opts)

    def docker_up(code: int, out: str, err: str) -> str | None:
        if code != 0:
            reason = err.strip().splitlines()[-1] if err.strip() else f"exit {code}"
            return f"Docker engine not reachable (`docker info`: {reason}): kind needs a running Docker"
        return None

    def context_exists(code: int, out: str, err: str) -> str | None:
        if code != 0 or context not in out.split():
            return f"no kubeconfig context {context!r}: create the cluster with --create-cluster (or pass --context)"
        return None

    def not_openshift(code: int, out: str, err: str) -> str | None:
        if code != 0:
            return f"cannot reach the cluster of context {context!r}: {err.strip()}"
        if out.strip():
            return (
                f"wrong cluster: context {context!r} points at OpenShift (config.openshift.io exists); "
                "use --target openshift"
            )
        return None

    def cluster_missing(ctx: Context) -> str | None:
        result = ctx.cluster.runner.run(["kind", "get", "clusters"])
        return f"kind cluster {opts.cluster_name} exists" if opts.cluster_name in result.stdout.split() else None

    steps: list[Step] = [
        Check("Docker engine", ["docker", "info", "--format", "{{.ServerVersion}}"], docker_up, local=True)
    ]
    if opts.create_cluster:
        steps.append(
            Command(
                f"kind cluster {opts.cluster_name} ({_kind_stack(opts.settings).node_image.split('@')[0]})",
                [
                    "kind",
                    "create",
                    "cluster",
                    "--name",
                    opts.cluster_name,
                    "--image",
                    _kind_stack(opts.settings).node_image,
                    "--wait",
                    "180s",
                ],
                skip_if=cluster_missing,
            )
        )
    steps += [
        Check("kubeconfig context", ["kubectl", "config", "get-contexts", "-o", "name"], context_exists, local=True),
        Check(
            "cluster is not OpenShift",
            ["kubectl", "api-resources", "--api-group=config.openshift.io", "-o", "name"],
            not_openshift,
        ),
        Check("may do everything", ["kubectl", "auth", "can-i", "*", "*", "--all-namespaces"], _permission("*", "*")),
    ]
    return steps


def kind_plan(opts: Options) -> list[Step]:
    spec, settings = opts.spec, opts.settings
    profile = settings.platform_profile
    stack = _kind_stack(settings)
    tree = directories(kind_manifests(opts.all_specs, settings))
    root = names.KIND_DIR
    argocd_ns = spec.gitops.argocd_namespace
    installs = {
        "cert-manager": upstream.cert_manager(stack),
        "kserve": upstream.kserve(stack),
        "kserve-cluster": upstream.kserve_cluster_resources(stack),
        "argocd": upstream.argocd(profile.argocd_version, argocd_ns),
    }

    def wait_install(key: str) -> Wait:
        install = installs[key]
        return Wait(
            f"{install.name} available",
            [f"Deployment {install.probe_namespace}/{name} Available" for name in install.wait_deployments]
            + [f"StatefulSet {install.probe_namespace}/{name} ready" for name in install.wait_statefulsets],
            workloads_ready(install.probe_namespace, install.wait_deployments, install.wait_statefulsets),
            namespaces=[install.probe_namespace],
        )

    registry_deployments = (names.registry_db_name(spec.registry.name), spec.registry.name)
    return [
        *kind_preflight(opts),
        InstallUpstream(installs["cert-manager"]),
        wait_install("cert-manager"),
        # kserve.yaml holds no Namespace (its install scripts create it first).
        ApplyObjects(f"namespace {names.KSERVE_NAMESPACE}", [namespace_stub(names.KSERVE_NAMESPACE)]),
        InstallUpstream(installs["kserve"]),
        wait_install("kserve"),
        InstallUpstream(installs["kserve-cluster"]),
        ApplyObjects(
            f"KServe: {stack.kserve_default_deployment_mode} by default (inferenceservice-config keys)",
            tree[f"{root}/kserve"],
        ),
        ApplyObjects(
            "Argo CD: namespace, ClusterRoleBindings, argocd-cm InferenceService health check", tree[f"{root}/argocd"]
        ),
        InstallUpstream(installs["argocd"]),
        wait_install("argocd"),
        Wait(
            "Argo CD CRDs established",
            ["CRD applications.argoproj.io Established"],
            crds_established(("applications.argoproj.io",)),
        ),
        ApplyObjects("namespaces of the credential Secrets", [namespace_stub(n) for n in secret_namespaces(spec)]),
        credential_secrets(opts, kind=True),
        ApplyObjects("model registries: MySQL + Kubeflow Model Registry server", tree[f"{root}/registries"]),
        Wait(
            f"model registry {spec.registry.name} available",
            [f"Deployment {spec.registry.namespace}/{name} Available" for name in registry_deployments],
            deployments_available(spec.registry.namespace, registry_deployments),
            namespaces=[spec.registry.namespace],
        ),
        *bootstrap_steps(opts),
    ]


def plan(target: str, opts: Options) -> list[Step]:
    return openshift_plan(opts) if target == "openshift" else kind_plan(opts)


__all__ = ["Options", "plan", "secret_data"]
