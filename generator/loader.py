"""Read a spec file into a validated `Spec`, reporting every problem at once with its path."""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from generator.environments import merged_serving
from generator.platform.settings import PlatformSettings
from generator.spec import Environment, Minio, Model, Pipelines, Serving, Spec, Storage
from jukebox.errors import InputError, Problem, SpecError
from jukebox.inputs import dotted_path, parse_yaml, read_text, shorten

_CREDENTIAL_KEY = re.compile(r"(access|secret)[-_]?key|password|passwd|token|credential|aws_", re.IGNORECASE)


def load_spec(path: Path) -> Spec:
    """Parse and validate one spec file; raise `SpecError` listing every problem found."""
    source = str(path)
    if not path.exists():
        raise InputError(f"spec file not found: {path}")
    data = parse_yaml(read_text(path, "spec file"), source)
    if data is None:
        raise SpecError(
            source, [Problem("", "the file is empty; expected a mapping with apiVersion, kind, model, ...")]
        )
    if not isinstance(data, dict):
        raise SpecError(source, [Problem("", f"the top level must be a mapping, not {type(data).__name__}")])
    problems: list[Problem] = []
    spec: Spec | None = None
    try:
        spec = Spec.model_validate(data)
    except ValidationError as error:
        problems += [_problem_from_pydantic(e) for e in error.errors()]
    problems += cross_field_problems(data, spec)
    if spec is not None:
        problems += profile_problems(spec) + platform_namespace_problems(spec)
    if problems or spec is None:
        raise SpecError(source, _sorted_unique(problems))
    return spec


def _sorted_unique(problems: list[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (p.path, p.message))


def _problem_from_pydantic(error: Any) -> Problem:
    loc = tuple(part for part in error["loc"] if part != "[key]")  # pydantic marks dict-key errors so
    path = dotted_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden" and _CREDENTIAL_KEY.search(str(loc[-1])):
        return Problem(
            path,
            "credentials never go in a spec (it is committed to git): the provisioning script creates the "
            "Secrets at provision time; `jukebox secrets --spec FILE` lists them",
        )
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return Problem(path, f"unknown field{hint}")
    if kind == "missing":
        return Problem(path, "required field is missing")
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind == "model_type":
        message = f"{message} (got {type(error.get('input')).__name__} {shorten(error.get('input'))})"
    return Problem(path, message)


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """camelCase keys of the spec model at `loc`, for 'unknown field' messages."""
    model: Any = Spec
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        if typing.get_origin(field.annotation) is dict and parts:
            parts.pop(0)  # the mapping's key (an environment name), not a field
        model = _model_in(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(f.alias or n for n, f in model.model_fields.items())
    return []


def _model_in(annotation: Any) -> Any:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def cross_field_problems(data: dict[str, Any], spec: Spec | None = None) -> list[Problem]:
    """Rules spanning several sections, on each section the models could validate (so they are reported
    together with field errors elsewhere; defaults come from the models, never restated here). `spec`:
    the whole spec when it validated, whose sections are then taken as they are."""
    sections = _Sections(data, spec)
    problems: list[Problem] = []
    for rule, needs in _CROSS_FIELD_RULES:
        parsed = [sections.get(name) for name in needs]
        if all(section is not None for section in parsed):
            problems += rule(*parsed)
    return problems


class _Sections:
    """The spec's top-level sections, each validated on its own with the Spec's field type and default."""

    def __init__(self, data: dict[str, Any], spec: Spec | None = None):
        self._data = data
        self._parsed: dict[str, Any] = {} if spec is None else {name: getattr(spec, name) for name in Spec.model_fields}

    def get(self, name: str) -> Any:
        if name not in self._parsed:
            self._parsed[name] = self._validate(name)
        return self._parsed[name]

    def _validate(self, name: str) -> Any:
        field = Spec.model_fields[name]
        raw = self._data.get(field.alias or name, _MISSING)
        if raw is _MISSING:
            return None if field.is_required() else field.get_default(call_default_factory=True)
        try:
            return _adapter(name).validate_python(raw)
        except ValidationError:
            return None  # its field errors are reported already


_MISSING = object()


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    field = Spec.model_fields[name]
    # The field's own type and constraints (min_length...), without its alias and description.
    annotated: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    return TypeAdapter(annotated)


def _duplicate_namespaces(environments: dict[str, Environment], minio: Minio) -> list[Problem]:
    owners: dict[str, str] = {}
    problems = []
    for env, settings in environments.items():
        if settings.namespace in owners:
            problems.append(
                Problem(
                    f"environments.{env}.namespace",
                    f"{settings.namespace!r} is already used by environments.{owners[settings.namespace]}",
                )
            )
        owners.setdefault(settings.namespace, env)
    if minio.enabled and minio.namespace in owners:
        problems.append(
            Problem("minio.namespace", f"{minio.namespace!r} is already used by environments.{owners[minio.namespace]}")
        )
    return problems


def _storage_problems(storage: Storage, minio: Minio) -> list[Problem]:
    if not minio.enabled and not storage.endpoint:
        return [Problem("storage.endpoint", "required when minio.enabled is false (no in-cluster MinIO to default to)")]
    if minio.enabled and storage.bucket not in minio.buckets:
        allowed = ", ".join(minio.buckets)
        return [Problem("storage.bucket", f"{storage.bucket!r} must be one of minio.buckets ({allowed})")]
    return []


def _replica_problems(serving: Serving, environments: dict[str, Environment]) -> list[Problem]:
    problems = []
    for env, settings in environments.items():
        effective = merged_serving(serving, settings.serving)
        if effective.replicas.min == 0 and effective.deployment_mode != "Serverless":
            problems.append(
                Problem(f"environments.{env}.serving.replicas.min", "0 needs deploymentMode Serverless (scale to zero)")
            )
    return problems


def _pipelines_problems(
    pipelines: Pipelines | None, environments: dict[str, Environment], minio: Minio
) -> list[Problem]:
    if pipelines is None:
        return []
    problems = []
    if pipelines.environment not in environments:
        problems.append(
            Problem(
                "pipelines.environment",
                f"{pipelines.environment!r} is not an environment; defined: {', '.join(sorted(environments))}",
            )
        )
    if minio.enabled and pipelines.bucket not in minio.buckets:
        allowed = ", ".join(minio.buckets)
        problems.append(Problem("pipelines.bucket", f"{pipelines.bucket!r} must be one of minio.buckets ({allowed})"))
    if pipelines.schedule is not None:
        if pipelines.registry_url is None:
            problems.append(
                Problem("pipelines.registryUrl", "required with pipelines.schedule: the CronJob has no other source")
            )
        if "@sha256:" not in pipelines.image:
            problems.append(
                Problem(
                    "pipelines.image",
                    "must be pinned by digest (…@sha256:<64 hex>) with pipelines.schedule: the CronJob is a workload "
                    "and workloads run images by digest only (docs/pipelines.md: pinning the image)",
                )
            )
    return problems


def profile_problems(spec: Spec) -> list[Problem]:
    """Serving settings the spec's platform profile cannot honour, at the field that sets them."""
    profile = spec.profile
    settings = [("serving", spec.serving)] + [
        (f"environments.{name}.serving", env.serving) for name, env in sorted(spec.environments.items())
    ]
    problems = []
    if spec.pipelines is not None and profile.pipelines_component is None:
        problems.append(
            Problem(
                "pipelines",
                f"platform.profile {profile.name} has no Data Science Pipelines (no DSP operator upstream); remove "
                "the section and run the pipeline with `jukebox pipeline run --local` (docs/pipelines.md)",
            )
        )
    for path, serving in settings:
        mode = serving.deployment_mode
        if mode is not None and mode not in profile.deployment_modes:
            problems.append(
                Problem(
                    f"{path}.deploymentMode",
                    f"{mode} is not available with platform.profile {profile.name}; "
                    f"allowed: {', '.join(sorted(profile.deployment_modes))}",
                )
            )
        if serving.token_auth and not profile.token_auth:
            problems.append(
                Problem(
                    f"{path}.tokenAuth",
                    f"platform.profile {profile.name} has no token authentication for models (no OpenShift AI); "
                    "set it to false or use an OpenShift AI profile",
                )
            )
    return problems


def platform_namespace_problems(spec: Spec) -> list[Problem]:
    """Project namespaces must not be the ones Argo CD or the registry run in (we would own them)."""
    taken = {
        spec.gitops.argocd_namespace: "gitops.argocdNamespace",
        spec.registry.namespace: "registry.namespace",
    }
    claims = [(f"environments.{name}.namespace", env.namespace) for name, env in sorted(spec.environments.items())]
    if spec.minio.enabled:
        claims.append(("minio.namespace", spec.minio.namespace))
    return [
        Problem(path, f"{namespace!r} is {taken[namespace]}; give this its own namespace")
        for path, namespace in claims
        if namespace in taken
    ]


def _route_host_problems(
    model: Model, serving: Serving, environments: dict[str, Environment], platform: PlatformSettings
) -> list[Problem]:
    """odh-model-controller names the Route host `<isvc>-<namespace>.<apps domain>`: its first label must fit
    in 63 characters, or OpenShift refuses the Route."""
    if not platform.platform_profile.routes:
        return []
    problems = []
    for env, settings in environments.items():
        label = f"{model.name}-{settings.namespace}"
        if merged_serving(serving, settings.serving).external_route and len(label) > 63:
            problems.append(
                Problem(
                    f"environments.{env}.namespace",
                    f"the Route host label {label!r} ({len(label)} characters, model.name + '-' + namespace) must "
                    "be at most 63: shorten one, or set serving.externalRoute false",
                )
            )
    return problems


_CROSS_FIELD_RULES: list[tuple[Callable[..., list[Problem]], tuple[str, ...]]] = [
    (_duplicate_namespaces, ("environments", "minio")),
    (_storage_problems, ("storage", "minio")),
    (_replica_problems, ("serving", "environments")),
    (_pipelines_problems, ("pipelines", "environments", "minio")),
    (_route_host_problems, ("model", "serving", "environments", "platform")),
]


def cross_spec_problems(specs: list[tuple[str, Spec]]) -> dict[str, list[Problem]]:
    """Rules across the specs of one repository (name -> spec), as problems per spec name.

    Two specs must not claim the same model directory, namespace or Argo CD project; one cluster runs one
    platform layer, so their `platform` sections and registry namespaces must be equal."""
    found: dict[str, list[Problem]] = {}
    owners: dict[tuple[str, str], str] = {}
    first_name, first = specs[0] if specs else ("", None)
    for name, spec in specs:
        problems = found.setdefault(name, [])
        for field_path, value in _claims(spec):
            key = ("namespace" if field_path.endswith("namespace") else field_path, value)
            if key in owners and owners[key] != name:
                problems.append(Problem(field_path, f"{value!r} is already used by {owners[key]}"))
            owners.setdefault(key, name)
        if first is not None and name != first_name:
            if spec.platform != first.platform:
                problems.append(
                    Problem(
                        "platform",
                        f"differs from the platform section of {first_name}: one cluster runs one platform layer; "
                        "make the `platform` sections equal",
                    )
                )
            if spec.registry.namespace != first.registry.namespace:
                problems.append(
                    Problem(
                        "registry.namespace",
                        f"{spec.registry.namespace!r}, but {first_name} uses {first.registry.namespace!r}: OpenShift "
                        "AI watches one registries namespace (DataScienceCluster modelregistry.registriesNamespace)",
                    )
                )
    return {name: problems for name, problems in found.items() if problems}


def check_specs_together(specs: list[tuple[str, Spec]]) -> None:
    """`cross_spec_problems` as one InputError listing every spec's problems (none: no error)."""
    found = cross_spec_problems(specs)
    if found:
        raise InputError("\n".join(str(SpecError(name, problems)) for name, problems in found.items()))


def _claims(spec: Spec) -> list[tuple[str, str]]:
    claims = [("model.name", spec.model.name), ("gitops.project", spec.gitops.project)]
    claims += [(f"environments.{name}.namespace", env.namespace) for name, env in spec.environments.items()]
    if spec.minio.enabled:
        claims.append(("minio.namespace", spec.minio.namespace))
    return claims
