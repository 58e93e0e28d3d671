"""Read a spec file into a validated `Spec`, reporting every problem at once with its path."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from generator.spec import Spec
from jukebox.errors import InputError, Problem, SpecError
from jukebox.inputs import parse_yaml, read_text, shorten

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
    problems += cross_field_problems(data)
    if spec is not None:
        problems += profile_problems(spec) + platform_namespace_problems(spec)
    if problems or spec is None:
        raise SpecError(source, _sorted_unique(problems))
    return spec


def _sorted_unique(problems: list[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (p.path, p.message))


def _problem_from_pydantic(error: Any) -> Problem:
    loc = tuple(part for part in error["loc"] if part != "[key]")  # pydantic marks dict-key errors so
    path = ".".join(str(part) for part in loc)
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


def cross_field_problems(data: dict[str, Any]) -> list[Problem]:
    """Rules spanning several fields, checked on the raw mapping so they are reported with field errors."""
    return [
        *_duplicate_namespaces(data),
        *_storage_problems(data),
        *_replica_problems(data),
    ]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _duplicate_namespaces(data: dict[str, Any]) -> list[Problem]:
    owners: dict[str, str] = {}
    problems = []
    for env, settings in _mapping(data.get("environments")).items():
        namespace = _mapping(settings).get("namespace")
        if not isinstance(namespace, str):
            continue
        if namespace in owners:
            problems.append(
                Problem(
                    f"environments.{env}.namespace",
                    f"{namespace!r} is already used by environments.{owners[namespace]}",
                )
            )
        owners.setdefault(namespace, env)
    minio = _mapping(data.get("minio"))
    minio_namespace = minio.get("namespace", "jukebox-minio")
    if minio.get("enabled", True) and minio_namespace in owners:
        problems.append(
            Problem("minio.namespace", f"{minio_namespace!r} is already used by environments.{owners[minio_namespace]}")
        )
    return problems


def _storage_problems(data: dict[str, Any]) -> list[Problem]:
    minio = _mapping(data.get("minio"))
    storage = _mapping(data.get("storage"))
    enabled = minio.get("enabled", True)
    if not enabled and not storage.get("endpoint"):
        return [Problem("storage.endpoint", "required when minio.enabled is false (no in-cluster MinIO to default to)")]
    bucket = storage.get("bucket", "models")
    buckets = minio.get("buckets", ["models", "pipeline", "data", "data-cache"])
    if enabled and isinstance(buckets, list) and bucket not in buckets:
        return [Problem("storage.bucket", f"{bucket!r} must be one of minio.buckets ({', '.join(map(str, buckets))})")]
    return []


def _replica_problems(data: dict[str, Any]) -> list[Problem]:
    serving = _mapping(data.get("serving"))
    problems = []
    for env, settings in _mapping(data.get("environments")).items():
        overrides = _mapping(_mapping(settings).get("serving"))
        replicas = _mapping(overrides.get("replicas") or serving.get("replicas"))
        mode = overrides.get("deploymentMode") or serving.get("deploymentMode", "RawDeployment")
        if replicas.get("min", 1) == 0 and mode == "RawDeployment":
            problems.append(
                Problem(f"environments.{env}.serving.replicas.min", "0 needs deploymentMode Serverless (scale to zero)")
            )
    return problems


def profile_problems(spec: Spec) -> list[Problem]:
    """Serving settings the spec's platform profile cannot honour, at the field that sets them."""
    profile = spec.profile
    settings = [("serving", spec.serving)] + [
        (f"environments.{name}.serving", env.serving) for name, env in sorted(spec.environments.items())
    ]
    problems = []
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
