"""Render specs into YAML files: one jinja2 Environment, every document parsed back and checked.

Templates are JSON documents with `{{ value | q }}` placeholders (the `q` filter writes any value as
JSON, so no string can break out). The rendered text is parsed back, checked, and written as YAML with
sorted keys by PyYAML's C dumper.

The output of a spec is a mapping {path relative to manifests/: file text}. Writing goes through a
staging directory swapped over manifests/, so removed resources disappear and a failure leaves
the old tree intact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from generator.layout import PatchManifest, argocd_kustomization, root_kustomization, spec_layout
from generator.objects.common import Manifest
from generator.pins import Pin, read_pin
from generator.spec import Spec
from jukebox.errors import CheckFailed

TEMPLATES_DIR = Path(__file__).parent / "templates"
_BaseDumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):
    """PyYAML's (C) safe dumper, writing multi-line strings (scripts, health checks) as literal blocks."""


def _represent_str(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


class _NullValue(ValueError):
    """A context value holds None: a field the builders forgot to compute."""


def _quote(value: Any) -> str:
    """Place any value in YAML safely: JSON is valid YAML, and no string can break out of it."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()  # StrictUndefined: raise jinja2's UndefinedError
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    # Cheap test first: only a value whose JSON mentions null can hold None.
    if "null" in text and _has_null(value):
        raise _NullValue(_first_null(value))
    return text


@cache
def jinja_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # YAML, not HTML: values go through the `q` filter instead
        keep_trailing_newline=True,
    )
    environment.filters["q"] = _quote
    return environment


@dataclass(frozen=True)
class SourcedSpec:
    """A loaded spec with the file it came from and its environments' pins."""

    path: Path
    display_path: str
    spec: Spec
    pins: dict[str, Pin | None]
    rendered: tuple[dict[str, str], list[str]] | None = None  # from the cache, when unchanged
    cache_key: str | None = None


def load_pins(spec_path: Path, spec: Spec) -> dict[str, Pin | None]:
    return {env: read_pin(spec_path, env) for env in spec.environments}


def render_document(manifest: Manifest) -> dict[str, Any]:
    try:
        text = jinja_environment().get_template(manifest.template).render(**manifest.context)
    except _NullValue as null:
        raise CheckFailed(f"{manifest.path} (from {manifest.template}): a value is null at {null}") from None
    except jinja2.UndefinedError as undefined:
        raise CheckFailed(f"{manifest.path} (from {manifest.template}): {undefined}") from None
    try:
        # Templates are JSON documents (JSON is YAML): parsing them back is cheap and exact.
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckFailed(f"{manifest.path}: {manifest.template} did not render to valid JSON: {error}") from None
    if manifest.is_kustomization:
        document = {key: value for key, value in document.items() if value not in ("", [], {})}
    check_document(manifest, document)
    return document


def check_document(manifest: Manifest, document: Any) -> None:
    """Refuse to write a document that did not come out as the object it was meant to be."""
    where = f"{manifest.path} (from {manifest.template})"
    if not isinstance(document, dict):
        raise CheckFailed(f"{where}: rendered to {type(document).__name__}, not a mapping")
    if document.get("kind") != manifest.kind:
        raise CheckFailed(f"{where}: kind {document.get('kind')!r}, expected {manifest.kind!r}")
    if manifest.name is not None and document.get("metadata", {}).get("name") != manifest.name:
        raise CheckFailed(f"{where}: metadata.name is not {manifest.name!r}")


def _has_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(child is None or (isinstance(child, dict | list) and _has_null(child)) for child in value.values())
    if isinstance(value, list):
        return any(child is None or (isinstance(child, dict | list) and _has_null(child)) for child in value)
    return value is None


def _first_null(value: Any, path: str = "") -> str | None:
    if value is None:
        return path or "the document"
    children: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        children = [(f"{path}.{key}" if path else str(key), child) for key, child in value.items()]
    elif isinstance(value, list):
        children = [(f"{path}[{index}]", child) for index, child in enumerate(value)]
    for child_path, child in children:
        found = _first_null(child, child_path)
        if found:
            return found
    return None


def patch_document(patch: PatchManifest) -> dict[str, Any]:
    """A merge patch holding only what the environment changes, plus the fields that select the target."""
    base = render_document(patch.base)
    target = render_document(patch.target)
    changes = _merge_diff(base, target) or {}
    changes["apiVersion"] = target["apiVersion"]
    changes["kind"] = target["kind"]
    changes.setdefault("metadata", {})["name"] = target["metadata"]["name"]
    return changes


def _merge_diff(base: Any, target: Any) -> Any:
    if isinstance(base, dict) and isinstance(target, dict):
        diff = {key: _merge_diff(base.get(key), value) for key, value in target.items() if base.get(key) != value}
        diff.update({key: None for key in base if key not in target})
        return diff
    return target


def to_yaml(document: dict[str, Any], header: str) -> str:
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=4096)
    return header + body


def _header(source: str, template: str) -> str:
    return f"# Generated by `jukebox render` from {source} ({template}). Do not edit.\n"


def render_spec_files(sourced: SourcedSpec) -> tuple[dict[str, str], list[str]]:
    """All files of one spec, {path under manifests/: text}, and its Argo CD files (for the bootstrap)."""
    layout = spec_layout(sourced.spec, sourced.pins)
    files = {
        m.path: to_yaml(render_document(m), _header(sourced.display_path, f"generator/templates/{m.template}"))
        for m in layout.manifests
    }
    for patch in layout.patches:
        header = _header(sourced.display_path, f"generator/templates/{patch.target.template}, environment values only")
        files[patch.path] = to_yaml(patch_document(patch), header)
    return files, layout.argocd_files


def render_bootstrap(argocd_files: list[str]) -> tuple[str, str]:
    """The argocd/kustomization.yaml over every spec, and the repo root kustomization.yaml."""
    source = "every spec in specs/"
    argo = argocd_kustomization(argocd_files)
    root = root_kustomization()
    return (
        to_yaml(render_document(argo), _header(source, f"generator/templates/{argo.template}")),
        to_yaml(render_document(root), _header(source, f"generator/templates/{root.template}")),
    )


def render_platform_files(specs: list[Spec]) -> dict[str, str]:
    """The platform layer (operators, KServe, the registry) shared by every spec: manifests/platform/."""
    from generator.platform import platform_manifests

    source = "every spec in specs/"
    return {
        m.path: to_yaml(render_document(m), _header(source, f"generator/templates/{m.template}"))
        for m in platform_manifests(specs)
    }
