"""The resource kinds the local Model Registry serves, mapped onto the official client's pydantic models.

Reusing `mr_openapi.models` means the server accepts exactly what the official client sends and answers
exactly what it parses; the models also supply upstream's defaults (state LIVE / UNKNOWN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mr_openapi import models as m
from pydantic import BaseModel

REGISTERED_MODEL = "registered-model"
MODEL_VERSION = "model-version"
MODEL_ARTIFACT = "model-artifact"


@dataclass(frozen=True)
class Kind:
    """One resource type: its name, its full/create/update models and the field naming its parent."""

    name: str
    full: type[BaseModel]
    create: type[BaseModel]
    update: type[BaseModel]
    parent_field: str | None = None

    @property
    def is_artifact(self) -> bool:
        return self.name not in (REGISTERED_MODEL, MODEL_VERSION)


KINDS: dict[str, Kind] = {
    REGISTERED_MODEL: Kind(REGISTERED_MODEL, m.RegisteredModel, m.RegisteredModelCreate, m.RegisteredModelUpdate),
    MODEL_VERSION: Kind(MODEL_VERSION, m.ModelVersion, m.ModelVersionCreate, m.ModelVersionUpdate, "registeredModelId"),
    MODEL_ARTIFACT: Kind(MODEL_ARTIFACT, m.ModelArtifact, m.ModelArtifactCreate, m.ModelArtifactUpdate),
    "doc-artifact": Kind("doc-artifact", m.DocArtifact, m.DocArtifactCreate, m.DocArtifactUpdate),
    "dataset-artifact": Kind("dataset-artifact", m.DataSet, m.DataSetCreate, m.DataSetUpdate),
    "metric": Kind("metric", m.Metric, m.MetricCreate, m.MetricUpdate),
    "parameter": Kind("parameter", m.Parameter, m.ParameterCreate, m.ParameterUpdate),
}
ARTIFACT_KINDS = tuple(name for name, kind in KINDS.items() if kind.is_artifact)
READ_ONLY = ("id", "createTimeSinceEpoch", "lastUpdateTimeSinceEpoch")


def artifact_kind(body: dict[str, Any], default: str | None = None) -> Kind:
    """The artifact kind named by `artifactType` (or `default`); ValueError for an unknown type."""
    name = body.get("artifactType") or default
    if name not in ARTIFACT_KINDS:
        raise ValueError(f"artifactType must be one of {', '.join(ARTIFACT_KINDS)}, not {name!r}")
    return KINDS[str(name)]


def to_json_dict(model: BaseModel) -> dict[str, Any]:
    """The wire form of a model (aliases, no None), through the generated `to_dict`."""
    data: dict[str, Any] = model.to_dict()  # type: ignore[attr-defined]
    return data


def parse(model_class: type[BaseModel], body: Any) -> BaseModel:
    """Validate a request body with a generated model; ValueError (pydantic's message) when invalid."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    parsed = model_class.from_dict(body)  # type: ignore[attr-defined]
    if parsed is None:
        raise ValueError("empty request body")
    return parsed


def creation_fields(kind: Kind, body: Any) -> dict[str, Any]:
    """The client-settable fields of a new resource, validated by the kind's create model."""
    data = to_json_dict(parse(kind.create, body))
    for key in READ_ONLY:
        data.pop(key, None)
    return data


def update_fields(kind: Kind, body: Any) -> dict[str, Any]:
    """The fields a PATCH changes: only keys present in the request, validated by the update model.

    The generated update models fill defaults (an artifact's state UNKNOWN); applying those to keys the
    client did not send would silently reset them.
    """
    data = to_json_dict(parse(kind.update, body))
    return {key: data[key] for key in body if key in data and key not in READ_ONLY}


def full_resource(kind: Kind, stored: dict[str, Any]) -> dict[str, Any]:
    """A stored resource as the full model answers it, with upstream defaults and the timestamps."""
    data = to_json_dict(parse(kind.full, stored))
    for key in READ_ONLY:
        if key in stored:
            data[key] = stored[key]
    return data
