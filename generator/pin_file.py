"""Pin files: which registered model version an environment deploys.

One machine-written file per spec and environment, next to the spec:
`specs/<spec-stem>.pins/<env>.yaml`. `jukebox release|pin|promote` write them (atomically);
`jukebox render` reads them. People never edit them by hand.

Every pin carries `formatVersion` (1 today). A pin without it was written before the field existed and
has the same shape as format 1; any other value was written by a newer jukebox and is refused, not guessed at.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from jukebox.errors import Problem, SpecError
from jukebox.fsutil import atomic_write_text
from jukebox.inputs import dotted_path, load_yaml_file

if TYPE_CHECKING:
    from generator.spec import Spec

PIN_HEADER = "# Written by `jukebox release|pin|promote`: do not edit by hand.\n"
PIN_FORMAT_VERSION: Final = 1


class _PinModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class RegistryIds(_PinModel):
    """Ids the Model Registry assigned; they end up as labels on the InferenceService."""

    name: str = Field(description="Model Registry instance name.")
    registered_model_id: str
    model_version_id: str
    model_artifact_id: str


class PinnedArtifact(_PinModel):
    uri: str = Field(description="s3://<bucket>/<prefix>/<version>/?endpoint=...&defaultRegion=...")
    storage_key: str = Field(description="Name of the S3 connection Secret (InferenceService storage.key).")
    storage_path: str = Field(
        description="Key prefix holding `1/model.onnx`; the InferenceService storage.path is it with a "
        "trailing '/' (pins written before it was recorded have none)."
    )
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of model.onnx.")
    manifest_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="sha256 of the version's release.json (every file of the version); absent in older pins.",
    )


class Pin(_PinModel):
    format_version: Literal[1] = Field(default=PIN_FORMAT_VERSION, description="Shape of this file.")
    model: str = Field(description="Registered model name.")
    environment: str
    version: str = Field(description="Model version string in the registry.")
    registry: RegistryIds
    artifact: PinnedArtifact
    metrics: dict[str, float] = Field(default_factory=dict, description="Metrics of the pinned version.")


def pins_dir(spec_path: Path) -> Path:
    return spec_path.with_name(f"{spec_path.stem}.pins")


def pin_path(spec_path: Path, environment: str) -> Path:
    return pins_dir(spec_path) / f"{environment}.yaml"


def read_pin(spec_path: Path, environment: str, spec: Spec | None = None) -> Pin | None:
    """The environment's pin, or None when nothing is pinned yet. Read like every input file (bounded,
    UTF-8, no duplicate keys or aliases); with `spec`, it must pin that spec's model, for this environment,
    under its storage prefix."""
    path = pin_path(spec_path, environment)
    if not path.exists():
        return None
    data = load_yaml_file(path, "pin file")
    _check_format_version(data, path)
    try:
        pin = Pin.model_validate(data)
    except ValidationError as error:
        problems = [Problem(dotted_path(e["loc"]), e["msg"]) for e in error.errors()]
        raise SpecError(str(path), problems) from error
    problems = pin_problems(pin, environment, spec) if spec is not None else []
    if problems:
        raise SpecError(str(path), problems)
    return pin


def _check_format_version(data: Any, path: Path) -> None:
    if not isinstance(data, dict) or "formatVersion" not in data:
        return  # older pins have no formatVersion; the model validation reports a non-mapping
    version = data["formatVersion"]
    if version != PIN_FORMAT_VERSION or isinstance(version, bool):
        raise SpecError(
            str(path),
            [
                Problem(
                    "formatVersion",
                    f"{version!r}; this jukebox reads pin format {PIN_FORMAT_VERSION} "
                    "(a newer jukebox wrote this file: upgrade jukebox)",
                )
            ],
        )


def pin_problems(pin: Pin, environment: str, spec: Spec) -> list[Problem]:
    """What makes a well-formed pin wrong for `spec`'s `environment` (it would deploy another model)."""
    problems = []
    if pin.model != spec.model.name:
        problems.append(Problem("model", f"{pin.model!r}, but the spec's model.name is {spec.model.name!r}"))
    if pin.environment != environment:
        problems.append(Problem("environment", f"{pin.environment!r}, but this is the pin file of {environment!r}"))
    prefix = spec.storage.prefix.rstrip("/") + "/"
    path = pin.artifact.storage_path
    if not path.startswith(prefix) or ".." in path.split("/"):
        problems.append(
            Problem("artifact.storagePath", f"{path!r} is not a version under the spec's storage.prefix {prefix!r}")
        )
    return problems


def pin_to_yaml(pin: Pin) -> str:
    data = pin.model_dump(mode="json", by_alias=True, exclude_none=True)
    return PIN_HEADER + yaml.safe_dump(data, sort_keys=True, default_flow_style=False)


def write_pin(spec_path: Path, pin: Pin) -> Path:
    path = pin_path(spec_path, pin.environment)
    atomic_write_text(path, pin_to_yaml(pin))
    return path


def remove_pin(spec_path: Path, environment: str) -> None:
    pin_path(spec_path, environment).unlink(missing_ok=True)
