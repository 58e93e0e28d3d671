"""The spec's `platform:` section: which platform release the manifests target, and the cluster layer.

The release-specific facts (channels, API versions, images, args) come from the chosen profile
(`generator.profiles`); this section holds only what a user may choose on top of it. Keys are
camelCase in YAML like the rest of the spec.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from generator.fields import ImageRef, KubeName, PinnedImage, SpecModel, matches
from generator.profiles import DEFAULT_PROFILE, PROFILES, Profile, profile_names

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

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti)$")


Quantity = Annotated[str, matches(_QUANTITY, "a storage quantity such as '5Gi'")]


class OperatorCatalog(SpecModel):
    """Where OLM finds the OpenShift GitOps and OpenShift AI operators (their channels come from the profile)."""

    source: KubeName = Field("redhat-operators", description="CatalogSource of both operators.")
    source_namespace: KubeName = Field("openshift-marketplace", description="Namespace of the CatalogSource.")
    install_plan_approval: Literal["Automatic", "Manual"] = Field(
        "Automatic", description="Manual: an admin approves every InstallPlan (provision then waits for it)."
    )


class RegistryDatabase(SpecModel):
    """The MySQL database behind each ModelRegistry (run by the platform layer, one per registry)."""

    openshift_image: PinnedImage = Field(
        DEFAULT_OPENSHIFT_MYSQL_IMAGE,
        description="MySQL image on OpenShift, pinned by digest (sclorg mysql-80: runs under the restricted "
        "SCC's random UID, reads its credentials from environment variables only).",
    )
    kind_image: PinnedImage = Field(
        DEFAULT_KIND_MYSQL_IMAGE,
        description="MySQL image on kind, pinned by digest (official image: credentials read from files via "
        "MYSQL_*_FILE, runs as uid 10001).",
    )
    storage_size: Quantity = Field("5Gi", description="PersistentVolumeClaim size.")
    database: Annotated[str, matches(re.compile(r"^[a-z][a-z0-9_]{0,63}$"), "a MySQL database name")] = Field(
        "model_registry", description="Database name."
    )
    user: KubeName = Field("mlmduser", description="Database user the registry connects as.")


class KindSettings(SpecModel):
    """What kind runs besides the profile's pinned upstream releases."""

    model_registry_image: ImageRef = Field(
        DEFAULT_MODEL_REGISTRY_IMAGE,
        description="Kubeflow Model Registry server (REST v1alpha3, embedded metadata store on MySQL). "
        "Pin it by digest (tag@sha256:...) where you can: a tag-only reference is pulled with "
        "imagePullPolicy Always.",
    )


def _known_profile(name: str) -> str:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; allowed: {', '.join(profile_names())}")
    return name


ProfileName = Annotated[str, AfterValidator(_known_profile)]


class PlatformSettings(SpecModel):
    """The platform release the manifests target, and the cluster layer `scripts/provision` installs."""

    profile: ProfileName = Field(
        DEFAULT_PROFILE,
        description="Platform release: "
        + "; ".join(f"`{name}`: {PROFILES[name].summary}" for name in profile_names())
        + ". Every release-specific field (API versions, images, runtime args, auth, health check) follows it; "
        "see docs/platform-profiles.md.",
    )
    operator_catalog: OperatorCatalog = Field(
        default_factory=OperatorCatalog, description="OLM catalog of the operators (OpenShift profiles)."
    )
    data_science_cluster: KubeName = Field("default-dsc", description="DataScienceCluster name.")
    registry_database: RegistryDatabase = Field(default_factory=RegistryDatabase)
    kind: KindSettings = Field(default_factory=KindSettings)

    @property
    def platform_profile(self) -> Profile:
        return PROFILES[self.profile]
