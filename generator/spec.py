"""The model spec: one YAML file per model in `specs/`, written by people.

Every field is documented here; `docs/spec-reference.md` is generated from these models
(`scripts/gen-spec-reference`). Keys are camelCase in YAML, like Kubernetes objects.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from generator.fields import KubeName, PinnedImage, SpecModel, TaggedImage, dns_label, matches
from generator.platform.settings import PlatformSettings
from generator.profiles import Profile
from training.params import TrainingParams

SPEC_API_VERSION = "jukebox.rhoai-mlops.io/v1alpha1"
SPEC_KIND = "ModelSpec"

# RELEASE.2025-04-22T22-12-26Z; the image also ships `mc`, which the bucket Job uses.
DEFAULT_MINIO_IMAGE = "quay.io/minio/minio@sha256:a1ea29fa28355559ef137d71fc570e508a214ec84ff8083e39bc5428980b015e"

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
# Quantities with at most 9 digits before the point: far beyond any node, far inside what Kubernetes parses.
_QUANTITY_CPU = re.compile(r"^([0-9]{1,9}m|[0-9]{1,9}(\.[0-9]{1,3})?)$")
_QUANTITY_MEMORY = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,3})?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
INT32_MAX = 2**31 - 1  # replicas are int32 in every Kubernetes API

# Namespaces the platform owns, as shell patterns (`fnmatch`): Argo CD would prune and self-heal them, and we
# would write a default-deny NetworkPolicy and an admin RoleBinding into them. Kubernetes and kind, OpenShift
# (OpenShift GitOps, Serverless, the cert-manager operator are openshift-*), OLM, Argo CD, OpenShift AI and
# Open Data Hub with their operators, and the serving stack (KServe, Knative, Istio, cert-manager).
RESERVED_NAMESPACES = (
    "default",
    "kube-*",
    "local-path-storage",
    "openshift",
    "openshift-*",
    "olm",
    "operators",
    "argocd",
    "argocd-*",
    "argo-cd",
    "redhat-ods-*",
    "rhods-*",
    "opendatahub",
    "opendatahub-*",
    # KServe's own namespaces (v0.20.0 config/: the Namespace `kserve`, inferenceservice-config `jobNamespace`),
    # not `kserve-*`: its samples deploy InferenceServices to `kserve-test`.
    "kserve",
    "kserve-localmodel-jobs",
    "knative-*",
    "istio-system",
    "cert-manager",
    "cert-manager-*",
)
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._:-]{0,252}$")
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_CRON = re.compile(r"^(\S+\s+){4}\S+$")
_GIT_URL = re.compile(r"^(https://|ssh://|git@)[A-Za-z0-9@._:/~+-]+$")
_FORBIDDEN_IN_TEXT = re.compile(r"[\x00-\x1f\x7f]|\{\{|\{%|\{#|\$\(")


def _project_namespace(value: str) -> str:
    dns_label(value, 63)
    reserved = next((pattern for pattern in RESERVED_NAMESPACES if fnmatch.fnmatchcase(value, pattern)), None)
    if reserved is not None:
        raise ValueError(
            f"{value!r} is a platform namespace ({reserved}); reserved: {', '.join(RESERVED_NAMESPACES)}. "
            "Choose a namespace of your own"
        )
    return value


def _model_name(value: str) -> str:
    # The Route host is `<isvc>-<namespace>.<domain>`; 45 leaves room for the namespace in a label.
    return dns_label(value, 45)


def _plain_text(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters (got {len(value)})")
        if _FORBIDDEN_IN_TEXT.search(value):
            raise ValueError("must be one line of plain text: no control characters, '{{', '{%' or '$('")
        return value

    return AfterValidator(check)


ProjectNamespace = Annotated[str, AfterValidator(_project_namespace)]
ModelName = Annotated[str, AfterValidator(_model_name)]
DisplayName = Annotated[str, Field(min_length=1), _plain_text(253)]
Description = Annotated[str, _plain_text(1024)]
BucketName = Annotated[str, matches(_BUCKET, "an S3 bucket name: 3-63 lowercase letters, digits, '.', '-'")]
CpuQuantity = Annotated[str, matches(_QUANTITY_CPU, "a CPU quantity such as '1', '500m' or '2.5'")]
MemoryQuantity = Annotated[str, matches(_QUANTITY_MEMORY, "a memory quantity such as '4Gi' or '512Mi'")]
UserName = Annotated[str, matches(_USER, "an OpenShift user or group name")]

Size = Literal["Small", "Medium", "Large"]
DeploymentMode = Literal["RawDeployment", "Serverless"]


class Model(SpecModel):
    name: ModelName = Field(
        description="Model name: the registered model, the InferenceService, the ServingRuntime and the "
        "S3 key prefix default."
    )
    display_name: DisplayName = Field(description="Human name shown in the OpenShift AI dashboard.")
    description: Description = Field("", description="What the model predicts.")


class Project(SpecModel):
    display_name: DisplayName = Field(description="Data Science Project display name (`openshift.io/display-name`).")
    description: Description = Field("", description="Project description (`openshift.io/description`).")
    users: list[UserName] = Field(
        default_factory=list, description="Users bound to ClusterRole `admin` in every environment namespace."
    )
    groups: list[UserName] = Field(
        default_factory=list, description="Groups bound to ClusterRole `admin` in every environment namespace."
    )


class Storage(SpecModel):
    connection: KubeName = Field(
        "models",
        description="S3 connection name; its Secret is `aws-connection-<connection>` in each environment.",
    )
    bucket: BucketName = Field("models", description="Bucket that holds the model artifacts.")
    prefix: Annotated[str, matches(_PREFIX, "a key prefix such as 'jukebox' or 'team/jukebox' (no leading '/')")] = (
        Field("jukebox", description="Key prefix: version `V` lives at `<prefix>/<V>/1/model.onnx`.")
    )
    region: Annotated[str, matches(re.compile(r"^[a-z0-9-]{1,32}$"), "an S3 region such as 'us-east-1'")] = Field(
        "us-east-1", description="S3 region (`AWS_DEFAULT_REGION`)."
    )
    endpoint: Annotated[str, matches(re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?/?$"), "an http(s) URL")] | None = (
        Field(
            None,
            description="S3 endpoint the cluster uses. Default: the in-cluster MinIO Service when `minio.enabled`.",
        )
    )


class Registry(SpecModel):
    name: KubeName = Field(
        "jukebox-registry", description="ModelRegistry instance name (`modelregistry.opendatahub.io/name`)."
    )
    namespace: ProjectNamespace = Field(
        "rhoai-model-registries", description="Namespace of the ModelRegistry instance."
    )


class Runtime(SpecModel):
    image: PinnedImage | None = Field(
        None,
        description="OpenVINO Model Server image, pinned by digest. Default: the image of the platform "
        "profile's `kserve-ovms` template (docs/platform-profiles.md).",
    )
    f32_precision: bool = Field(
        True,
        description="Pass INFERENCE_PRECISION_HINT=f32 so outputs match onnxruntime within 1e-4 (CPUs with AMX "
        "default to bf16).",
    )


class ResourceAmounts(SpecModel):
    cpu: CpuQuantity
    memory: MemoryQuantity


class Resources(SpecModel):
    requests: ResourceAmounts
    limits: ResourceAmounts


class Replicas(SpecModel):
    min: int = Field(1, ge=0, le=INT32_MAX, description="minReplicas (0 only with Serverless).")
    max: int = Field(1, ge=1, le=INT32_MAX, description="maxReplicas.")

    @model_validator(mode="after")
    def _ordered(self) -> Replicas:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must be ≤ max ({self.max})")
        return self


class Serving(SpecModel):
    runtime: Runtime = Field(default_factory=Runtime)
    deployment_mode: DeploymentMode = Field(
        "RawDeployment",
        description="KServe deployment mode. Serverless needs `platform.profile: rhoai-2.22`; profiles whose "
        "KServe renames RawDeployment to Standard get the name they keep.",
    )
    size: Size = Field("Small", description="Dashboard model server size; ignored when `resources` is set.")
    resources: Resources | None = Field(None, description="Explicit requests/limits instead of `size`.")
    replicas: Replicas = Field(default_factory=Replicas)
    external_route: bool = Field(True, description="Expose the model outside the cluster (a Route).")
    token_auth: bool = Field(
        False,
        description="Require a bearer token (`security.opendatahub.io/enable-auth`); OpenShift AI profiles only.",
    )


class ServingOverrides(SpecModel):
    """Per-environment overrides of `serving`; unset fields inherit."""

    runtime: Runtime | None = None
    deployment_mode: DeploymentMode | None = None
    size: Size | None = None
    resources: Resources | None = None
    replicas: Replicas | None = None
    external_route: bool | None = None
    token_auth: bool | None = None


class Minio(SpecModel):
    enabled: bool = Field(True, description="Deploy MinIO (the lab's object store) for this model.")
    namespace: ProjectNamespace = Field(
        "jukebox-minio", description="Namespace MinIO runs in, shared by all environments."
    )
    image: PinnedImage = Field(DEFAULT_MINIO_IMAGE, description="MinIO image pinned by digest (must ship `mc`).")
    storage_size: MemoryQuantity = Field("20Gi", description="PersistentVolumeClaim size.")
    buckets: list[BucketName] = Field(
        default_factory=lambda: ["models", "pipeline", "data", "data-cache"],
        min_length=1,
        description="Buckets the bucket Job creates.",
    )

    @model_validator(mode="after")
    def _unique_buckets(self) -> Minio:
        duplicates = sorted({b for b in self.buckets if self.buckets.count(b) > 1})
        if duplicates:
            raise ValueError(f"buckets must be unique; repeated: {', '.join(duplicates)}")
        return self


class Environment(SpecModel):
    namespace: ProjectNamespace = Field(description="Namespace (Data Science Project) of this environment.")
    serving: ServingOverrides = Field(default_factory=ServingOverrides, description="Overrides of `serving`.")


class GitOps(SpecModel):
    repo_url: Annotated[str, matches(_GIT_URL, "a git URL (https://..., ssh://... or git@host:path)")] = Field(
        alias="repoURL", description="Git repository Argo CD syncs from (Application spec.source.repoURL)."
    )
    target_revision: Annotated[str, matches(re.compile(r"^[A-Za-z0-9._/-]{1,255}$"), "a branch, tag or commit")] = (
        Field("main", description="Branch, tag or commit.")
    )
    argocd_namespace: KubeName = Field("openshift-gitops", description="Namespace Argo CD runs in.")
    project: KubeName = Field(description="Argo CD AppProject name.")
    destination_server: Annotated[str, matches(re.compile(r"^https://[A-Za-z0-9.:-]+$"), "an https URL")] = Field(
        "https://kubernetes.default.svc", description="Cluster API server Argo CD deploys to."
    )


class ReleaseGate(SpecModel):
    primary_metric: Annotated[str, matches(_METRIC, "a metrics.json key such as 'accuracy'")] = Field(
        "accuracy", description="Metric compared between a new release and the pinned one."
    )
    rule: Literal["higher-is-better", "lower-is-better"] = Field("higher-is-better")
    tolerance: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="How much worse a release may be and still be pinned."
    )


class Security(SpecModel):
    network_policies: bool = Field(
        True,
        description="Deny ingress by default in every generated namespace and allow only what the model and MinIO "
        "need (see docs/security.md).",
    )
    allow_from_namespaces: list[KubeName] = Field(
        default_factory=list,
        description="Extra namespaces (e.g. a shared pipelines namespace) allowed to reach the model and MinIO.",
    )


class PipelineSchedule(SpecModel):
    cron: Annotated[str, matches(_CRON, "a cron schedule of five fields such as '0 3 * * 1'")] = Field(
        description="When the CronJob submits a run (Kubernetes CronJob `schedule`, the cluster's time zone)."
    )
    data: Annotated[str, Field(min_length=1), _plain_text(1024)] | None = Field(
        None, description="Training data of scheduled runs (default: `pipelines.data`)."
    )


class Pipelines(SpecModel):
    """Training on the cluster: a Data Science Pipeline (KFP v2) generated from this spec (docs/pipelines.md)."""

    environment: KubeName = Field(
        description="Environment whose namespace gets the pipeline server (DataSciencePipelinesApplication) and "
        "the compiled pipeline; its pin is what the pipeline's quality gate compares with."
    )
    image: TaggedImage = Field(
        description="Image every pipeline step runs in: the project installed with its `pipelines` extra, built "
        "from pipelines/Containerfile (no package index needed at run time). Required: no public image exists; "
        "pin it by digest once pushed."
    )
    bucket: BucketName = Field(
        "pipeline", description="Bucket of the pipeline server's artifacts (one of `minio.buckets` with MinIO)."
    )
    data: Annotated[str, Field(min_length=1), _plain_text(1024)] = Field(
        "upstream", description="Default training data of a run (`--data` of `jukebox pipeline run`)."
    )
    registry_url: Annotated[str, matches(re.compile(r"^https?://[A-Za-z0-9.:/_-]+$"), "an http(s) URL")] | None = Field(
        None,
        description="Model Registry REST URL the pipeline registers in (default: `--registry-url` or "
        "JUKEBOX_REGISTRY_URL of `jukebox pipeline run`); required with `schedule`.",
    )
    schedule: PipelineSchedule | None = Field(
        None, description="A CronJob that submits a run on a schedule (off when absent)."
    )


class Spec(SpecModel):
    api_version: Literal["jukebox.rhoai-mlops.io/v1alpha1"] = Field(description="Spec schema version.")
    kind: Literal["ModelSpec"] = Field(description="Always `ModelSpec`.")
    model: Model = Field(description="The model: names of the registered model and its serving objects.")
    project: Project = Field(description="The Data Science Project every environment namespace becomes.")
    storage: Storage = Field(default_factory=Storage, description="Where model versions live in S3.")
    registry: Registry = Field(default_factory=Registry, description="The Kubeflow Model Registry instance.")
    serving: Serving = Field(default_factory=Serving, description="How the model is served (OVMS on KServe).")
    minio: Minio = Field(default_factory=Minio, description="The in-cluster MinIO object store.")
    environments: dict[KubeName, Environment] = Field(
        min_length=1, description="Environments by name (e.g. dev, test, prod), each one namespace."
    )
    gitops: GitOps = Field(description="The git repository and Argo CD settings.")
    training: TrainingParams = Field(default_factory=TrainingParams, description="Training hyper-parameters.")
    release: ReleaseGate = Field(default_factory=ReleaseGate, description="The quality gate of `jukebox release`.")
    security: Security = Field(default_factory=Security, description="Network policies.")
    platform: PlatformSettings = Field(
        default_factory=PlatformSettings,
        description="The platform layer scripts/provision installs (operators, KServe, the registry database).",
    )
    pipelines: Pipelines | None = Field(
        None, description="Training on the cluster with Data Science Pipelines (off when absent)."
    )

    @property
    def profile(self) -> Profile:
        """The platform release these manifests target (`platform.profile`)."""
        return self.platform.platform_profile
