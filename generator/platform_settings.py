"""Platform settings: versions, channels and images of the cluster layer under the model manifests.

Every value is release-specific (*param* in the platform reference), so each is a field with a default
that was current and verified when written; override them per spec once the spec carries a
`platform:` section (see docs/provisioning.md). Keys are camelCase in YAML like the rest of the spec.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# kind v0.27.0 release notes: the node image built for that release, pinned by digest.
DEFAULT_KIND_NODE_IMAGE = "kindest/node:v1.32.2@sha256:f226345927d7e348497136874b6d207e0b32cc52154ad8323129352923a3142f"

_VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+$")
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")
_IMAGE_NAME = (
    r"^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9]+([._-][a-z0-9]+)*)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
)
# registry/repo[:tag][@sha256:digest]: a tag-only reference is allowed only where no digest could be
# verified when the default was written (the model registry server, OVMS); see docs/provisioning.md.
_IMAGE = re.compile(_IMAGE_NAME + r"(@sha256:[a-f0-9]{64})?$")
# registry/repo[:tag]@sha256:digest: required for the MySQL images, like generator/spec.py's images.
_PINNED_IMAGE = re.compile(_IMAGE_NAME + r"@sha256:[a-f0-9]{64}$")

# MySQL 8.0 on RHEL (sclorg mysql-container; runs under the restricted SCC's random UID). No digest of
# registry.redhat.io/rhel9/mysql-80 could be found to verify, so this is the RHEL 8 build of the same
# container (same scripts, same env contract), pinned as in rh-api-management/3scale-operator-product-build
# bundle-hack/update_bundle.sh (MYSQL_IMAGE_PULLSPEC, renovate-maintained).
DEFAULT_OPENSHIFT_MYSQL_IMAGE = (
    "registry.redhat.io/rhel8/mysql-80@sha256:f6a3025d463b7763ef78ed6cce8f3f053a661a8a506e67839c98e7d9882bdf21"
)
# The official image (Docker Library), MySQL 8.3.0: the same digest is pinned by two independent public
# configs (a NixOS module as mysql:8.3@sha256:..., a nocodb test harness as mysql:8.3.0@sha256:...).
DEFAULT_KIND_MYSQL_IMAGE = (
    "docker.io/library/mysql:8.3.0@sha256:9de9d54fecee6253130e65154b930978b1fcc336bcc86dfd06e89b72a2588ebe"
)
# No published digest of this tag could be found to verify when this was written: the Deployment pulls
# it with imagePullPolicy Always and carries a CKV_K8S_43 skip saying so, both dropped automatically
# once this is overridden with a tag@sha256 reference (platform.kind.modelRegistryImage).
DEFAULT_MODEL_REGISTRY_IMAGE = "ghcr.io/kubeflow/model-registry/server:v0.3.8"

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti)$")


def _matches(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"must be {what} (got {value!r})")
        return value

    return AfterValidator(check)


Version = Annotated[str, _matches(_VERSION, "a release tag such as 'v1.2.3'")]
Channel = Annotated[str, _matches(_CHANNEL, "an OLM channel such as 'stable-2.22'")]
ImageRef = Annotated[str, _matches(_IMAGE, "an image reference registry/repo[:tag][@sha256:<64 hex>]")]
PinnedImageRef = Annotated[
    str, _matches(_PINNED_IMAGE, "an image reference pinned by digest: registry/repo[:tag]@sha256:<64 hex>")
]
KubeName = Annotated[str, _matches(_NAME, "a Kubernetes name")]
Quantity = Annotated[str, _matches(_QUANTITY, "a storage quantity such as '5Gi'")]


class SettingsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True)


class Operator(SettingsModel):
    """One OLM operator: its Subscription and the namespace + OperatorGroup it is installed in."""

    package: KubeName
    channel: Channel
    namespace: KubeName
    source: KubeName = Field("redhat-operators", description="CatalogSource of the package.")
    source_namespace: KubeName = Field("openshift-marketplace", description="Namespace of the CatalogSource.")
    install_plan_approval: Literal["Automatic", "Manual"] = Field(
        "Automatic", description="Manual: an admin approves every InstallPlan (provision then waits for it)."
    )


def _gitops_operator() -> Operator:
    # GitOps 1.16 ships Argo CD 2.14, the version the kind target installs.
    return Operator(package="openshift-gitops-operator", channel="gitops-1.16", namespace="openshift-gitops-operator")


def _openshift_ai_operator() -> Operator:
    # 2.x: the model registries serve REST v1alpha3, the API the pinned model-registry client speaks.
    return Operator(package="rhods-operator", channel="stable-2.22", namespace="redhat-ods-operator")


class RegistryDatabase(SettingsModel):
    """The MySQL database behind each ModelRegistry (run by the platform layer, one per registry)."""

    openshift_image: PinnedImageRef = Field(
        DEFAULT_OPENSHIFT_MYSQL_IMAGE,
        description="MySQL image on OpenShift, pinned by digest (sclorg mysql-80: runs under the restricted "
        "SCC's random UID, reads its credentials from environment variables only).",
    )
    kind_image: PinnedImageRef = Field(
        DEFAULT_KIND_MYSQL_IMAGE,
        description="MySQL image on kind, pinned by digest (official image: credentials read from files via "
        "MYSQL_*_FILE, runs as uid 10001).",
    )
    storage_size: Quantity = Field("5Gi", description="PersistentVolumeClaim size.")
    database: Annotated[str, _matches(re.compile(r"^[a-z][a-z0-9_]{0,63}$"), "a MySQL database name")] = Field(
        "model_registry", description="Database name."
    )
    user: KubeName = Field("mlmduser", description="Database user the registry connects as.")


class KindSettings(SettingsModel):
    """The upstream pieces installed on kind, all at pinned release versions."""

    node_image: ImageRef = Field(DEFAULT_KIND_NODE_IMAGE, description="`kind create cluster --image`.")
    kind_version: Version = Field("v0.27.0", description="kind release the node image was built for.")
    cert_manager_version: Version = Field("v1.16.2", description="cert-manager (KServe's webhooks need it).")
    kserve_version: Version = Field("v0.15.2", description="KServe, installed in RawDeployment mode.")
    argocd_version: Version = Field("v2.14.11", description="Argo CD (same minor as OpenShift GitOps 1.16).")
    model_registry_image: ImageRef = Field(
        DEFAULT_MODEL_REGISTRY_IMAGE,
        description="Kubeflow Model Registry server (REST v1alpha3, embedded metadata store on MySQL). "
        "Pin it by digest (tag@sha256:...) where you can: a tag-only reference is pulled with "
        "imagePullPolicy Always.",
    )
    ovms_image: ImageRef = Field(
        "docker.io/openvino/model_server:2025.1",
        description="Upstream OVMS image for the kind spec override (see docs/provisioning.md); not rendered.",
    )


class PlatformSettings(SettingsModel):
    """The cluster layer of one spec: OpenShift operators and components, or the kind equivalents."""

    gitops_operator: Operator = Field(default_factory=_gitops_operator, description="OpenShift GitOps operator.")
    openshift_ai_operator: Operator = Field(
        default_factory=_openshift_ai_operator, description="Red Hat OpenShift AI operator (channel *param*)."
    )
    data_science_cluster: KubeName = Field("default-dsc", description="DataScienceCluster name.")
    registry_database: RegistryDatabase = Field(default_factory=RegistryDatabase)
    kind: KindSettings = Field(default_factory=KindSettings)
