"""Names shared by the platform manifests and the provisioning script."""

from __future__ import annotations

from generator.spec import Spec

PLATFORM_DIR = "platform"
OPENSHIFT_DIR = f"{PLATFORM_DIR}/openshift"
KIND_DIR = f"{PLATFORM_DIR}/kind"
PART_OF = "jukebox-platform"
# On objects an operator or an upstream install owns: provisioning applies them with --force-conflicts and
# server-side apply takes only the fields we write.
MERGED_ANNOTATION = "jukebox.rhoai-mlops.io/merged-into"
LABELS = {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "jukebox"}

# OpenShift AI: the operator's namespace, where it installs the applications, and its default DSCI.
OPENSHIFT_AI_OPERATOR_NAMESPACE = "redhat-ods-operator"
DSCI_NAME = "default-dsci"

REGISTRY_DB_PORT = 3306
REGISTRY_REST_PORT = 8080
REGISTRY_GRPC_PORT = 9090
REGISTRY_PROXY_PORT = 8443  # the ModelRegistry's oauthProxy / kubeRBACProxy port, behind its Service and Route
# Keys of the registry database Secret (the names the OpenShift AI documentation uses).
DB_NAME_KEY = "database-name"
DB_USER_KEY = "database-user"
DB_PASSWORD_KEY = "database-password"  # pragma: allowlist secret (a key name, not a value)

# Upstream Argo CD (install.yaml) service accounts and their ClusterRoles (same names).
ARGOCD_CLUSTER_ACCOUNTS = ("argocd-application-controller", "argocd-applicationset-controller", "argocd-server")
# The OpenShift GitOps default instance's application controller (instance name = namespace).
KSERVE_NAMESPACE = "kserve"
KSERVE_CONFIGMAP = "inferenceservice-config"
KSERVE_STORAGE_SECRET = "storage-config"  # pragma: allowlist secret (a Secret name, not a value)


def registry_db_name(registry_name: str) -> str:
    return f"{registry_name}-db"


def registry_db_secret(spec: Spec) -> str:
    """The Secret holding the registry database credentials (created by provisioning, never in git)."""
    return registry_db_name(spec.registry.name)


def openshift_gitops_controller_account(argocd_namespace: str) -> str:
    return f"{argocd_namespace}-argocd-application-controller"


def gitops_deployer_role(argocd_namespace: str) -> str:
    return f"jukebox-gitops-deployer-{argocd_namespace}"
