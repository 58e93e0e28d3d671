"""Training hyper-parameters: the `training:` section of the model spec (camelCase keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from jukebox.errors import Problem, SpecError


class TrainingParams(BaseModel):
    """How the MLP is trained and evaluated. Defaults chosen on real charts (charts-2023, benchmarks/train.py)."""

    # strict: a YAML string is not a boolean or a number here either (as everywhere in the spec).
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True, allow_inf_nan=False
    )

    head: Literal["softmax", "sigmoid"] = Field(
        default="softmax",
        description="Output layer: softmax = p(country | song), the outputs sum to 1; sigmoid = one independent "
        "P(the song charts in this country) per country (multi-label), the outputs do not sum to 1.",
    )
    weighting: Literal["rows", "songs", "songDays", "songRank"] = Field(
        default="songDays",
        description="Weights of the softmax head's (song, country) rows: rows = its chart rows (days on that "
        "chart; popular songs dominate), songs = every song counts once, split evenly over its countries, "
        "songDays = every song counts once, split by its days on each chart, songRank = like songDays with "
        "each chart row weighted by its rank ((51 - rank) / 50). The sigmoid head weighs every song once.",
    )
    hidden_layers: list[int] = Field(
        default=[64],
        min_length=1,
        max_length=5,
        description="Neurons per hidden layer of the MLP, input side first (1 to 5 layers, 1..1024 each).",
    )
    activation: Literal["relu", "tanh", "logistic"] = Field(
        default="tanh", description="Hidden-layer activation (exported as the ONNX Relu, Tanh or Sigmoid op)."
    )
    alpha: float = Field(default=1.0, ge=0.0, le=100.0, description="L2 regularisation strength.")
    learning_rate_init: float = Field(
        default=2e-3, gt=0.0, le=1.0, description="Initial learning rate of the Adam optimiser."
    )
    batch_size: int = Field(default=512, ge=1, le=65536, description="Minibatch size (rows).")
    max_iter: int = Field(default=300, ge=1, le=5000, description="Maximum number of epochs.")
    tol: float = Field(default=1e-4, ge=0.0, description="Minimum improvement of the watched loss per epoch.")
    n_iter_no_change: int = Field(
        default=15, ge=1, le=1000, description="Epochs without `tol` improvement before stopping."
    )
    early_stopping: bool = Field(
        default=True,
        description="Hold out `validationFraction` of the training songs (by song), stop when their loss "
        "stops improving and keep the best epoch's weights. Off: stop on the training loss.",
    )
    validation_fraction: float = Field(
        default=0.15, gt=0.0, lt=0.5, description="Share of training songs held out for early stopping."
    )
    test_size: float = Field(
        default=0.2, gt=0.0, lt=0.9, description="Share of songs (not rows) held out for evaluation."
    )
    seed: int = Field(default=42, ge=0, le=2**32 - 1, description="Seed of the splits and of the MLP.")

    @pydantic.field_validator("hidden_layers")
    @classmethod
    def _layer_sizes(cls, value: list[int]) -> list[int]:
        if any(not 1 <= size <= 1024 for size in value):
            raise ValueError("every layer size must be between 1 and 1024")
        return value


def _problems(error: pydantic.ValidationError, prefix: str, options: dict[str, str]) -> list[Problem]:
    problems = []
    for item in error.errors():
        head = str(item["loc"][0]) if item["loc"] else ""
        path = options[head] if head in options else ".".join([prefix, *map(str, item["loc"])])
        problems.append(Problem(path, item["msg"]))
    return problems


def load_params(
    spec: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    option_names: dict[str, str] | None = None,
) -> TrainingParams:
    """The spec's `training:` section (absent = defaults) with `overrides` (field name -> value) on top.

    `option_names` maps field names to the command-line option that set them, so errors name it.
    """
    values: dict[str, Any] = {}
    if spec is not None:
        # The one spec loader (strict YAML, the whole spec validated): `train --spec` accepts exactly what
        # `render` accepts. Imported here: generator.spec imports this module.
        from generator.loader import load_spec

        values = load_spec(Path(spec)).training.model_dump(by_alias=True)
    fields = TrainingParams.model_fields
    options: dict[str, str] = {}
    for name, value in (overrides or {}).items():
        alias = fields[name].alias or name
        values.pop(name, None)
        values[alias] = value
        options[alias] = (option_names or {}).get(name, alias)
    try:
        return TrainingParams.model_validate(values)
    except pydantic.ValidationError as error:
        source = str(spec) if spec is not None else "options"
        raise SpecError(source, _problems(error, "training", options)) from None
