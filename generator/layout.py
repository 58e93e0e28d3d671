"""Where every generated file goes: the Kustomize tree of one spec, as a list of `Manifest`s.

manifests/<model>/base/                  env-independent objects (ServingRuntime, admins RoleBinding)
manifests/<model>/overlays/<env>/        Namespace, pinned InferenceService, patch-*.yaml; in `pipelines.environment`
                                         the pipeline server, Pipeline + PipelineVersion (+ schedule CronJob)
manifests/<model>/storage/               MinIO and the bucket Job (when minio.enabled)
manifests/argocd/<model>/                AppProject + one Application per environment (+ storage)
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.environments import EnvironmentView, environment_views
from generator.objects import argocd, auth, network, pipelines, project, serving, storage
from generator.objects.common import Manifest
from generator.objects.kustomize import kustomization
from generator.pin_file import Pin
from generator.spec import Spec

MANIFESTS_DIR = "manifests"  # the generated tree, at the repository root
ROOT_KUSTOMIZATION = "kustomization.yaml"  # the bootstrap entry point, at the repository root
ARGOCD_DIR = "argocd"


@dataclass(frozen=True)
class PatchManifest:
    """A patch file: `target` rendered with environment values, minus what equals `base`."""

    path: str
    base: Manifest
    target: Manifest


def base_manifests(spec: Spec) -> list[Manifest]:
    root = f"{spec.model.name}/base"
    objects = [
        serving.servingruntime(spec, f"{root}/servingruntime.yaml"),
        project.admins_rolebinding(spec, f"{root}/rolebinding-project-admins.yaml"),
    ]
    present = [m for m in objects if m is not None]
    return [*present, kustomization(f"{root}/kustomization.yaml", _names(present), part_of=spec.model.name)]


def _names(manifests: list[Manifest]) -> list[str]:
    return sorted(m.path.rsplit("/", 1)[1] for m in manifests)


def servingruntime_patch(env: EnvironmentView, root: str) -> PatchManifest | None:
    if env.serving.runtime == env.spec.serving.runtime:
        return None
    base = serving.servingruntime(env.spec, "")
    target = Manifest(
        path="",
        kind=base.kind,
        name=base.name,
        context=serving.servingruntime_context(env.spec, env.serving.runtime),
    )
    return PatchManifest(f"{root}/patch-servingruntime.yaml", base, target)


def overlay_manifests(env: EnvironmentView) -> tuple[list[Manifest], list[PatchManifest]]:
    root = f"{env.spec.model.name}/overlays/{env.name}"
    objects = [
        project.namespace(env, f"{root}/namespace.yaml"),
        serving.inferenceservice(env, f"{root}/inferenceservice.yaml"),
        *network.environment_policies(env, root),
        *auth.token_auth_objects(env, root),
        *pipelines.pipelines_objects(env, root),
    ]
    present = [m for m in objects if m is not None]
    patches = [p for p in (servingruntime_patch(env, root),) if p is not None]
    kustomize = kustomization(
        f"{root}/kustomization.yaml",
        ["../../base", *_names(present)],
        namespace=env.namespace,
        patches=[p.path.rsplit("/", 1)[1] for p in patches],
        part_of=env.spec.model.name,
    )
    return [*present, kustomize], patches


def storage_manifests(spec: Spec) -> list[Manifest]:
    if not spec.minio.enabled:
        return []
    root = f"{spec.model.name}/storage"
    env_namespaces = [env.namespace for env in spec.environments.values()]
    objects = [
        *network.storage_policies(spec, env_namespaces, root),
        storage.storage_namespace(spec, f"{root}/namespace.yaml"),
        storage.persistentvolumeclaim(spec, f"{root}/persistentvolumeclaim.yaml"),
        storage.deployment(spec, f"{root}/deployment.yaml"),
        storage.service(spec, f"{root}/service.yaml"),
        *storage.routes(spec, root),
        storage.bucket_job(spec, f"{root}/job-create-buckets.yaml"),
    ]
    return [
        *objects,
        kustomization(f"{root}/kustomization.yaml", _names(objects), spec.minio.namespace, part_of=spec.model.name),
    ]


def argocd_manifests(spec: Spec, envs: list[EnvironmentView], deployed: list[Manifest]) -> list[Manifest]:
    root = f"{ARGOCD_DIR}/{spec.model.name}"
    model_dir = f"{MANIFESTS_DIR}/{spec.model.name}"
    apps = [
        argocd.environment_application(env, f"{model_dir}/overlays/{env.name}", f"{root}/application-{env.name}.yaml")
        for env in envs
    ]
    namespaces = [env.namespace for env in envs]
    if spec.minio.enabled:
        apps.append(argocd.storage_application(spec, f"{model_dir}/storage", f"{root}/application-storage.yaml"))
        namespaces.append(spec.minio.namespace)
    kinds = {m.kind for m in deployed if m.kind and m.kind != "Kustomization"}
    # Unpinned environments deploy no InferenceService yet; allow it from the start.
    kinds.add("InferenceService")
    return [argocd.appproject(spec, namespaces, kinds, f"{root}/appproject.yaml"), *apps]


@dataclass(frozen=True)
class SpecLayout:
    manifests: list[Manifest]
    patches: list[PatchManifest]
    argocd_files: list[str]


def spec_layout(spec: Spec, pins: dict[str, Pin | None]) -> SpecLayout:
    envs = environment_views(spec, pins)
    manifests = [*base_manifests(spec), *storage_manifests(spec)]
    patches: list[PatchManifest] = []
    for env in envs:
        overlay, env_patches = overlay_manifests(env)
        manifests += overlay
        patches += env_patches
    argo = argocd_manifests(spec, envs, manifests)
    return SpecLayout([*manifests, *argo], patches, [m.path for m in argo])


def argocd_kustomization(argocd_files: list[str]) -> Manifest:
    relative = sorted(path.removeprefix(f"{ARGOCD_DIR}/") for path in argocd_files)
    return kustomization(f"{ARGOCD_DIR}/kustomization.yaml", relative)


def root_kustomization() -> Manifest:
    """The repo's bootstrap entry point: `kubectl apply -k .` creates the AppProjects and Applications."""
    return kustomization(ROOT_KUSTOMIZATION, [f"{MANIFESTS_DIR}/{ARGOCD_DIR}"])
