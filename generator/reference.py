"""docs/spec-reference.md, generated from the spec's pydantic models (the single source of truth).

Refresh with `scripts/gen-spec-reference`; a test fails when the page is stale.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from generator.spec import Spec

HEADER = """# Model spec reference

Generated from `generator/spec.py` by `scripts/gen-spec-reference`: do not edit by hand.

A spec is one YAML file per model in `specs/`. Unknown keys are errors; every problem is reported at
once with its path. Keys are camelCase. `specs/jukebox.yaml` is a complete example.
"""


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " (optional)"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"mapping name → {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(see below)"
        return f"`{json.dumps(value)}`"
    if field.default is PydanticUndefined:
        return "**required**"
    return f"`{json.dumps(field.default)}`"


def _rows(model: type[BaseModel], prefix: str, sections: list[tuple[str, type[BaseModel]]]) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}{key}"
        nested = _nested_model(field.annotation)
        if nested is not None:
            sections.append((f"{path}.<name>" if typing.get_origin(field.annotation) is dict else path, nested))
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
    return rows


def spec_reference() -> str:
    lines = [HEADER]
    sections: list[tuple[str, type[BaseModel]]] = [("", Spec)]
    seen: set[str] = set()
    while sections:
        path, model = sections.pop(0)
        if path in seen:
            continue
        seen.add(path)
        title = f"`{path}`" if path else "Top level"
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ and model is not Spec else ""
        lines += ["", f"## {title}", ""]
        if doc:
            lines += [doc, ""]
        lines += ["| key | type | default | description |", "|---|---|---|---|"]
        lines += _rows(model, f"{path}." if path else "", sections)
    return "\n".join(lines) + "\n"
