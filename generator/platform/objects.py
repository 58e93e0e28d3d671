"""Context builders of the platform layer: every value computed here, templates only place them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from generator.kinds import KINDS
from generator.objects.common import (
    Manifest,
    resources,
    restricted_container_security,
    restricted_pod_security,
    role_ref,
)
from generator.objects.network import namespaces_peer
from generator.objects.pipelines import PIPELINE_RUNNER_ACCOUNT
from generator.platform import health, names
from generator.platform.settings import KindSettings, OperatorCatalog, PlatformSettings, RegistryDatabase
from generator.profiles import KIND_UID, OPENSHIFT_AI_APPLICATIONS_NAMESPACE, Profile
from generator.spec import Spec

T = "platform"


def namespace(name: str, path: str, labels: dict[str, str] | None = None, **annotations: str) -> Manifest:
    return Manifest(
        path=path,
        kind="Namespace",
        name=name,
        context={"labels": {**names.LABELS, **(labels or {})}, "annotations": dict(annotations)},
    )


# --- OpenShift: OLM ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """One OLM operator: its Subscription and the namespace + OperatorGroup it is installed in."""

    package: str
    namespace: str
    channel: str
    catalog: OperatorCatalog

    @property
    def source(self) -> str:
        return self.catalog.source

    @property
    def install_plan_approval(self) -> str:
        return self.catalog.install_plan_approval


def operators(settings: PlatformSettings) -> tuple[Operator, Operator]:
    """OpenShift GitOps and OpenShift AI, on the channels of the spec's profile."""
    profile = settings.platform_profile
    if profile.gitops_channel is None or profile.openshift_ai_channel is None:
        raise ValueError(f"profile {profile.name} installs no OpenShift operators")
    catalog = settings.operator_catalog
    return (
        Operator("openshift-gitops-operator", "openshift-gitops-operator", profile.gitops_channel, catalog),
        Operator("rhods-operator", names.OPENSHIFT_AI_OPERATOR_NAMESPACE, profile.openshift_ai_channel, catalog),
    )


def operator_group(operator: Operator, path: str) -> Manifest:
    # No targetNamespaces: both operators are installed for all namespaces (what their docs require).
    return Manifest(
        path=path,
        kind="OperatorGroup",
        name=operator.package,
        context={"namespace": operator.namespace, "labels": names.LABELS, "spec": {}},
    )


def subscription(operator: Operator, path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="Subscription",
        name=operator.package,
        context={
            "namespace": operator.namespace,
            "labels": names.LABELS,
            "package": operator.package,
            "channel": operator.channel,
            "source": operator.source,
            "source_namespace": operator.catalog.source_namespace,
            "install_plan_approval": operator.install_plan_approval,
        },
    )


# --- OpenShift AI -----------------------------------------------------------------------------------

# What the model needs; every other component the release knows is Removed.
MANAGED_COMPONENTS = ("dashboard", "kserve", "modelregistry", "workbenches")


def datasciencecluster_components(
    profile: Profile, registries_namespace: str, pipelines: bool = False
) -> dict[str, Any]:
    """`pipelines`: a spec has a `pipelines` section; the component has the profile's name (2.x
    datasciencepipelines, 3.x aipipelines: the DSC CRD of each release)."""
    components: dict[str, Any] = {name: {"managementState": "Removed"} for name in profile.dsc_components}
    managed = list(MANAGED_COMPONENTS)
    if pipelines and profile.pipelines_component:
        managed.append(profile.pipelines_component)
    components.update({name: {"managementState": "Managed"} for name in managed})
    components["kserve"].update(profile.dsc_kserve_fields)
    components["modelregistry"]["registriesNamespace"] = registries_namespace
    return dict(sorted(components.items()))


def datasciencecluster(
    settings: PlatformSettings, registries_namespace: str, path: str, pipelines: bool = False
) -> Manifest:
    profile = settings.platform_profile
    return Manifest(
        path=path,
        kind="DataScienceCluster",
        name=settings.data_science_cluster,
        api_version=profile.dsc_api_version,
        context={
            "labels": names.LABELS,
            "components": datasciencecluster_components(profile, registries_namespace, pipelines),
        },
    )


def dscinitialization(profile: Profile, path: str) -> Manifest | None:
    """2.x only: the operator's default DSCI manages a Service Mesh, which RawDeployment does not need
    (and which fails without the Service Mesh operator). 3.x has no serviceMesh field: nothing to say."""
    if not profile.dsci_has_service_mesh:
        return None
    return Manifest(
        path=path,
        kind="DSCInitialization",
        name=names.DSCI_NAME,
        api_version=profile.dsci_api_version,
        # The operator creates default-dsci (serviceMesh Managed) when it starts: ours merges into it with
        # --force-conflicts, owning only these fields.
        context={
            "labels": names.LABELS,
            "annotations": {
                names.MERGED_ANNOTATION: "operator's default: server-side apply owns these spec fields only"
            },
            "spec": {
                "applicationsNamespace": OPENSHIFT_AI_APPLICATIONS_NAMESPACE,
                "serviceMesh": {"managementState": "Removed"},
            },
        },
    )


def modelregistry_spec(spec: Spec, db: RegistryDatabase, profile: Profile) -> dict[str, Any]:
    """REST, the release's proxy block (with a Route), gRPC where still required, the MySQL database."""
    registry: dict[str, Any] = {
        "rest": {"port": names.REGISTRY_REST_PORT},
        "mysql": {
            "host": names.registry_db_name(spec.registry.name),
            "port": names.REGISTRY_DB_PORT,
            "database": db.database,
            "username": db.user,
            "skipDBCreation": False,
            "passwordSecret": {"name": names.registry_db_secret(spec), "key": names.DB_PASSWORD_KEY},
        },
    }
    if profile.registry_proxy:
        registry[profile.registry_proxy] = {
            "port": names.REGISTRY_PROXY_PORT,
            "routePort": 443,
            "serviceRoute": "enabled",
        }
    if profile.registry_requires_grpc:
        registry["grpc"] = {"port": names.REGISTRY_GRPC_PORT}
    return registry


def modelregistry(spec: Spec, db: RegistryDatabase, profile: Profile, path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="ModelRegistry",
        name=spec.registry.name,
        context={
            "namespace": spec.registry.namespace,
            "labels": names.LABELS,
            "annotations": {"openshift.io/display-name": spec.registry.name},
            "spec": modelregistry_spec(spec, db, profile),
        },
    )


def registry_pipelines_policy(spec: Spec, pipeline_namespaces: list[str], path: str) -> Manifest:
    """Admits the pipeline namespaces to the registry's proxy port, so a pipeline step may call its Service.

    With `serviceRoute: enabled` the model registry operator selects the registry pods with its own
    `<registry>-https-route` NetworkPolicy, which admits only the router (and on 3.5 namespaces labelled
    `opendatahub.io/generated-namespace`): red-hat-data-services/model-registry-operator rhoai-2.22 @d26a43d1
    `internal/controller/config/templates/oauth-proxy/proxy-network-policy.yaml.tmpl`, rhoai-3.3 @bde6a1dd and
    rhoai-3.5 @74451461 `.../kube-rbac-proxy/kube-rbac-proxy-network-policy.yaml.tmpl`. Ours selects the same
    pods by `app` and `component`; 3.x adds `app.kubernetes.io/name` to its own selector, which they also carry.
    """
    name = spec.registry.name
    return Manifest(
        path=path,
        kind="NetworkPolicy",
        name=f"{name}-allow-pipelines",
        context={
            "namespace": spec.registry.namespace,
            "labels": names.LABELS,
            "pod_selector": {"matchLabels": {"app": name, "component": "model-registry"}},
            "ingress": [
                {
                    "from": [namespaces_peer(pipeline_namespaces)],
                    "ports": [{"protocol": "TCP", "port": names.REGISTRY_PROXY_PORT}],
                }
            ],
        },
    )


def registry_pipeline_runners(spec: Spec, pipeline_namespaces: list[str], path: str) -> Manifest:
    """Lets the pipeline steps' account of each namespace use the registry: a binding to the Role
    `registry-user-<name>` the model registry operator creates beside every registry
    (red-hat-data-services/model-registry-operator rhoai-2.22 @d26a43d1, rhoai-3.3 @bde6a1dd, rhoai-3.5 @74451461
    `internal/controller/config/templates/role.yaml.tmpl`). Its proxy lets through who may `get` the registry's
    Service: 2.22 `deployment.yaml.tmpl` `--openshift-delegate-urls`, 3.x `kube-rbac-proxy-config.yaml.tmpl`."""
    name = spec.registry.name
    return Manifest(
        path=path,
        kind="RoleBinding",
        name=f"{name}-pipeline-runners",
        context={
            "namespace": spec.registry.namespace,
            "labels": names.LABELS,
            "role_ref": role_ref("Role", f"registry-user-{name}"),
            "subjects": [
                {"kind": "ServiceAccount", "name": PIPELINE_RUNNER_ACCOUNT, "namespace": namespace}
                for namespace in pipeline_namespaces
            ],
        },
    )


# --- Argo CD health checks --------------------------------------------------------------------------


def argocd_health_checks(argocd_namespace: str, path: str) -> Manifest:
    """OpenShift GitOps: our InferenceService check in the ArgoCD CR (the operator copies it to argocd-cm).

    Server-side apply with only this field: the operator's defaults and the admin's settings stay theirs.
    The default instance is named after its namespace (`openshift-gitops`)."""
    return Manifest(
        path=path,
        kind="ArgoCD",
        name=argocd_namespace,
        context={
            "namespace": argocd_namespace,
            "annotations": {
                names.MERGED_ANNOTATION: "operator's instance: server-side apply owns resourceHealthChecks only"
            },
            "health_checks": [{"group": health.GROUP, "kind": health.KIND, "check": health.inferenceservice_check()}],
        },
    )


# --- RBAC -------------------------------------------------------------------------------------------


def deployer_rules(kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """What Argo CD needs to sync the model manifests: the kinds the generator emits, nothing else."""
    by_group: dict[str, set[str]] = {}
    for kind in kinds:
        by_group.setdefault(KINDS[kind].group, set()).add(KINDS[kind].plural)
    rules: list[dict[str, Any]] = [
        {
            "apiGroups": [group],
            "resources": sorted(plurals),
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        }
        for group, plurals in sorted(by_group.items())
    ]
    # RoleBindings to ClusterRole admin (project admins) need `bind` on that role.
    rules.append(
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["clusterroles"],
            "resourceNames": ["admin"],
            "verbs": ["bind"],
        }
    )
    return rules


def cluster_role(name: str, rules: list[dict[str, Any]], path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="ClusterRole",
        name=name,
        context={"labels": names.LABELS, "rules": rules},
    )


def cluster_role_binding(name: str, role: str, account: str, account_namespace: str, path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="ClusterRoleBinding",
        name=name,
        context={
            "labels": names.LABELS,
            "role_ref": role_ref("ClusterRole", role),
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}],
        },
    )


# --- ConfigMaps merged into upstream installs (server-side apply owns only these keys) ----------------


def config_map(name: str, namespace: str, data: dict[str, str], path: str) -> Manifest:
    """Keys merged into a ConfigMap an upstream install owns: no labels, so no field is contested but `data`."""
    return Manifest(
        path=path,
        kind="ConfigMap",
        name=name,
        context={
            "namespace": namespace,
            "labels": {},
            "annotations": {names.MERGED_ANNOTATION: "upstream install: server-side apply owns these data keys only"},
            "data": data,
        },
    )


def kserve_deploy_config(default_mode: str) -> str:
    return json.dumps({"defaultDeploymentMode": default_mode}, sort_keys=True)


# --- Registry database and (kind) registry server ---------------------------------------------------

# Where the database credentials are mounted as files (images that read them from files).
DB_SECRETS_MOUNT = "/run/secrets/registry-db"
# kind has no SCC to assign a UID: KIND_UID, above the host's range (CKV_K8S_40). Both images run with an
# arbitrary UID: the official MySQL image as long as its data directory is writable (fsGroup), the
# registry server writes nothing but /tmp.

# checkov skips (annotation `checkov.io/skipN: CHECK=reason`), each with the reason it cannot be met.
# Same reason as MinIO's (generator/objects/storage.py).
SKIP_SCC_UID = ("CKV_K8S_40", "OpenShift restricted-v2 SCC assigns a high UID from the namespace range")
SKIP_RHEL_MYSQL_ENV = (
    "CKV_K8S_35",
    "sclorg mysql-80 reads MYSQL_USER, MYSQL_PASSWORD and MYSQL_DATABASE from environment variables only",
)
SKIP_REGISTRY_DSN_ENV = (
    "CKV_K8S_35",
    "the model registry server reads the database password only as part of its DSN (--embedmd-database-dsn, "
    "expanded from this variable); the provisioned Secret holds the parts, not a DSN file",
)
SKIP_REGISTRY_NO_DIGEST = (
    "CKV_K8S_43",
    "no digest of this model registry server tag could be verified when pinned; pulled with "
    "imagePullPolicy Always; set platform.kind.modelRegistryImage to tag@sha256 to pin it",
)


def checkov_skips(*skips: tuple[str, str]) -> dict[str, str]:
    return {f"checkov.io/skip{n}": f"{check}={reason}" for n, (check, reason) in enumerate(skips, start=1)}


def pinned(image: str) -> bool:
    return "@sha256:" in image


def _secret_env(secret: str, variable: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _empty_dir(name: str, size: str) -> dict[str, Any]:
    return {"name": name, "emptyDir": {"sizeLimit": size}}


def registry_labels(name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def registry_db_pvc(spec: Spec, db: RegistryDatabase, path: str) -> Manifest:
    name = names.registry_db_name(spec.registry.name)
    return Manifest(
        path=path,
        kind="PersistentVolumeClaim",
        name=name,
        context={
            "namespace": spec.registry.namespace,
            "labels": {**names.LABELS, **registry_labels(name, "database")},
            "size": db.storage_size,
        },
    )


def _kind_mysql(secret: str) -> dict[str, Any]:
    """The official image: credentials as files (its entrypoint reads MYSQL_*_FILE), a fixed high UID."""
    files = {
        "MYSQL_DATABASE_FILE": names.DB_NAME_KEY,
        "MYSQL_USER_FILE": names.DB_USER_KEY,
        "MYSQL_PASSWORD_FILE": names.DB_PASSWORD_KEY,
    }
    user, password = (f"{DB_SECRETS_MOUNT}/{key}" for key in (names.DB_USER_KEY, names.DB_PASSWORD_KEY))
    return {
        # The PVC's root holds lost+found: MySQL refuses a non-empty data directory, so use a subdirectory.
        "args": ["--datadir=/var/lib/mysql/datadir"],
        "env": [
            *({"name": variable, "value": f"{DB_SECRETS_MOUNT}/{key}"} for variable, key in files.items()),
            # Root is never used: a random password, printed once in the first start's log.
            {"name": "MYSQL_RANDOM_ROOT_PASSWORD", "value": "yes"},
        ],
        "ping": f'MYSQL_PWD="$(cat {password})" mysqladmin -h 127.0.0.1 -u "$(cat {user})" ping',
        "pod_security": {"runAsUser": KIND_UID, "runAsGroup": KIND_UID, "fsGroup": KIND_UID},
        # Besides the data volume MySQL writes its socket and pid file (/var/run/mysqld) and temp files.
        "mounts": [
            {"name": "data", "mountPath": "/var/lib/mysql"},
            {"name": "run", "mountPath": "/var/run/mysqld"},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "credentials", "mountPath": DB_SECRETS_MOUNT, "readOnly": True},
        ],
        "volumes": [
            _empty_dir("run", "16Mi"),
            _empty_dir("tmp", "256Mi"),
            # 0440: the files are group-owned by fsGroup, which the container runs in.
            {"name": "credentials", "secret": {"secretName": secret, "defaultMode": 0o440}},
        ],
        "skips": [],
    }


def _openshift_mysql(secret: str) -> dict[str, Any]:
    """sclorg mysql-80: environment credentials only, the UID assigned by the restricted-v2 SCC."""
    return {
        "args": [],
        "env": [
            _secret_env(secret, "MYSQL_DATABASE", names.DB_NAME_KEY),
            _secret_env(secret, "MYSQL_USER", names.DB_USER_KEY),
            _secret_env(secret, "MYSQL_PASSWORD", names.DB_PASSWORD_KEY),
        ],
        "ping": 'MYSQL_PWD="$MYSQL_PASSWORD" mysqladmin -h 127.0.0.1 -u "$MYSQL_USER" ping',
        "pod_security": {},
        # Besides its data (/var/lib/mysql/data) the image writes its generated config (/etc/my.cnf.d),
        # the init socket (/tmp/mysql.sock) and the server socket in its home (/var/lib/mysql).
        "mounts": [
            {"name": "home", "mountPath": "/var/lib/mysql"},
            {"name": "data", "mountPath": "/var/lib/mysql/data"},
            {"name": "config", "mountPath": "/etc/my.cnf.d"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "volumes": [_empty_dir("home", "16Mi"), _empty_dir("config", "16Mi"), _empty_dir("tmp", "256Mi")],
        "skips": [SKIP_RHEL_MYSQL_ENV, SKIP_SCC_UID],
    }


def registry_db_deployment(spec: Spec, db: RegistryDatabase, target: str, path: str) -> Manifest:
    name = names.registry_db_name(spec.registry.name)
    secret = names.registry_db_secret(spec)
    selector = registry_labels(name, "database")
    image = db.kind_image if target == "kind" else db.openshift_image
    variant = _kind_mysql(secret) if target == "kind" else _openshift_mysql(secret)
    container: dict[str, Any] = {
        "name": "mysql",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": variant["env"],
        "ports": [{"name": "mysql", "containerPort": names.REGISTRY_DB_PORT, "protocol": "TCP"}],
        "readinessProbe": {
            "exec": {"command": ["/bin/sh", "-c", variant["ping"]]},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
        },
        "livenessProbe": {"tcpSocket": {"port": "mysql"}, "initialDelaySeconds": 30, "periodSeconds": 20},
        "resources": resources("100m", "512Mi", "1", "1Gi"),
        "securityContext": restricted_container_security(),
        "volumeMounts": variant["mounts"],
    }
    if variant["args"]:
        container["args"] = variant["args"]
    return _registry_deployment(
        spec,
        name,
        selector,
        skips=variant["skips"],
        strategy="Recreate",  # one MySQL on one ReadWriteOnce volume: never two pods at once
        pod_security=variant["pod_security"],
        container=container,
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": name}}, *variant["volumes"]],
        path=path,
    )


def _registry_deployment(
    spec: Spec,
    name: str,
    selector: dict[str, str],
    *,
    skips: list[tuple[str, str]],
    strategy: str,
    pod_security: dict[str, Any],
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
    path: str,
) -> Manifest:
    """A Deployment in the registry namespace: restricted pod security plus `pod_security`, one container."""
    return Manifest(
        path=path,
        kind="Deployment",
        name=name,
        context={
            "namespace": spec.registry.namespace,
            "labels": {**names.LABELS, **selector},
            "annotations": checkov_skips(*skips),
            "strategy": strategy,
            "selector": selector,
            "pod_security": {**restricted_pod_security(), **pod_security},
            "containers": [container],
            "volumes": volumes,
        },
    )


def service(name: str, namespace: str, selector: dict[str, str], ports: list[dict[str, Any]], path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="Service",
        name=name,
        context={
            "namespace": namespace,
            "labels": {**names.LABELS, **selector},
            "selector": selector,
            "ports": ports,
        },
    )


def registry_db_service(spec: Spec, path: str) -> Manifest:
    name = names.registry_db_name(spec.registry.name)
    port = {"name": "mysql", "port": names.REGISTRY_DB_PORT, "targetPort": "mysql", "protocol": "TCP"}
    return service(name, spec.registry.namespace, registry_labels(name, "database"), [port], path)


def registry_server_deployment(spec: Spec, kind: KindSettings, path: str) -> Manifest:
    """kind only: the Kubeflow Model Registry server (REST) on the same database (OpenShift: the operator)."""
    name = spec.registry.name
    secret = names.registry_db_secret(spec)
    selector = registry_labels(name, "model-registry")
    dsn = (
        f"$(DB_USER):$(DB_PASSWORD)@tcp({names.registry_db_name(name)}:{names.REGISTRY_DB_PORT})/$(DB_NAME)"
        "?charset=utf8mb4"
    )
    probe = {"httpGet": {"path": "/readyz/health", "port": "http-api"}, "periodSeconds": 10, "timeoutSeconds": 5}
    image = kind.model_registry_image
    container = {
        "name": "rest-container",
        "image": image,
        # A tag-only reference is re-resolved on every pull rather than trusted from the node's cache.
        "imagePullPolicy": "IfNotPresent" if pinned(image) else "Always",
        "command": ["/model-registry", "proxy"],
        "args": [
            "--hostname=0.0.0.0",
            f"--port={names.REGISTRY_REST_PORT}",
            "--datastore-type=embedmd",
            "--embedmd-database-type=mysql",
            f"--embedmd-database-dsn={dsn}",
        ],
        "env": [
            _secret_env(secret, "DB_NAME", names.DB_NAME_KEY),
            _secret_env(secret, "DB_USER", names.DB_USER_KEY),
            _secret_env(secret, "DB_PASSWORD", names.DB_PASSWORD_KEY),
        ],
        "ports": [{"name": "http-api", "containerPort": names.REGISTRY_REST_PORT, "protocol": "TCP"}],
        "readinessProbe": {**probe, "initialDelaySeconds": 5},
        "livenessProbe": {**probe, "initialDelaySeconds": 30, "failureThreshold": 6},
        "resources": resources("100m", "128Mi", "500m", "512Mi"),
        "securityContext": restricted_container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    skips = [SKIP_REGISTRY_DSN_ENV] if pinned(image) else [SKIP_REGISTRY_DSN_ENV, SKIP_REGISTRY_NO_DIGEST]
    return _registry_deployment(
        spec,
        name,
        selector,
        skips=skips,
        strategy="RollingUpdate",
        pod_security={"runAsUser": KIND_UID, "runAsGroup": KIND_UID},
        container=container,
        volumes=[_empty_dir("tmp", "64Mi")],
        path=path,
    )


def registry_server_service(spec: Spec, path: str) -> Manifest:
    name = spec.registry.name
    port = {"name": "http-api", "port": names.REGISTRY_REST_PORT, "targetPort": "http-api", "protocol": "TCP"}
    return service(name, spec.registry.namespace, registry_labels(name, "model-registry"), [port], path)
