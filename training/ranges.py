"""Each feature's training range, recorded with the model, and the check that flags inputs far outside it.

Why: the lab's request notebook MinMax-scales the features (`scaler.pkl`) before sending them. This
model scales inside its graph, so such a client gets confident, wrong answers and no error. A value far
outside what the model was trained on is the signature of that mistake (and of unit mistakes, e.g.
durations in seconds).

Format (ONNX metadata_props `feature_ranges`, and `<model dir>/feature_ranges.json`): a JSON object
`{feature: {"min", "max", "low", "high"}}` over the training songs (one value per song): the observed
minimum and maximum and the 0.1 % / 99.9 % quantiles. A value is *far outside* when it is below
`low - span` or above `high + span` (span = high - low), or, for a feature whose `low` is at least 1
(units well above the [0, 1] a MinMax scaler produces), below `low / 10` (so a duration of 0.5 —
MinMax-scaled — or 215 — seconds — is flagged). Features that live in [0, 1] themselves (acousticness,
instrumentalness...) get no ratio rule: real values reach far below their 0.1 % quantile.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from jukebox.errors import InputError
from jukebox.inputs import parse_json
from training.features import FEATURES

if TYPE_CHECKING:  # numpy is imported where it is used: release and the CLI load this module for its names
    import numpy as np

METADATA_KEY = "feature_ranges"
RANGES_FILE = "feature_ranges.json"
QUANTILES = (0.001, 0.999)
SPAN_MARGIN = 1.0  # how many central spans beyond low/high count as "far"
POSITIVE_RATIO = 10.0  # a feature whose low is >= RATIO_FLOOR and is below low / this is far outside
RATIO_FLOOR = 1.0

Ranges = dict[str, dict[str, float]]


def training_ranges(songs_X: np.ndarray) -> Ranges:
    """The ranges of the (songs, 13) training feature matrix, one row per song."""
    import numpy as np

    low, high = np.quantile(songs_X, QUANTILES, axis=0)
    return {
        name: {
            "min": float(songs_X[:, j].min()),
            "max": float(songs_X[:, j].max()),
            "low": float(low[j]),
            "high": float(high[j]),
        }
        for j, name in enumerate(FEATURES)
    }


def parse_ranges(text: str, source: str) -> Ranges:
    """Validate the JSON of a ranges record; ValueError naming `source` when it is not one."""
    try:
        data = parse_json(text, source)
    except InputError as error:
        raise ValueError(str(error)) from None
    if not isinstance(data, dict):
        raise ValueError(f"{source}: must be a JSON object of feature -> {{min, max, low, high}}")
    ranges: Ranges = {}
    for name, entry in data.items():
        values = entry if isinstance(entry, dict) else {}
        numbers = {key: values.get(key) for key in ("min", "max", "low", "high")}
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in numbers.values()
        ):
            raise ValueError(f"{source}: {name} needs finite numbers min, max, low and high")
        ranges[str(name)] = {key: float(value) for key, value in numbers.items()}  # type: ignore[arg-type]
    return ranges


def allowed_interval(entry: Mapping[str, float]) -> tuple[float, float]:
    """The interval outside which a value is *far outside* the training range (see the module doc)."""
    low, high = entry["low"], entry["high"]
    span = high - low
    lower, upper = low - SPAN_MARGIN * span, high + SPAN_MARGIN * span
    if low >= RATIO_FLOOR:
        lower = max(lower, low / POSITIVE_RATIO)
    return lower, upper


def _number(value: float) -> str:
    return f"{value:.6g}"


def out_of_range(columns: Mapping[str, np.ndarray], ranges: Ranges | None) -> list[list[str]]:
    """Per row, one message per feature whose value is far outside its training range (or not finite)."""
    import numpy as np

    n = len(next(iter(columns.values()))) if columns else 0
    flags: list[list[str]] = [[] for _ in range(n)]
    if not ranges:
        return flags
    for name in FEATURES:
        if name not in ranges or name not in columns:
            continue
        lower, upper = allowed_interval(ranges[name])
        values = np.asarray(columns[name], dtype=np.float64).reshape(-1)
        with np.errstate(invalid="ignore"):
            far = ~((values >= lower) & (values <= upper))
        for row in np.nonzero(far)[0]:
            entry = ranges[name]
            flags[row].append(
                f"{name}={_number(values[row])} is far outside the training range "
                f"{_number(entry['min'])}..{_number(entry['max'])}"
            )
    return flags


def summary(flags: list[list[str]], limit: int = 3) -> str | None:
    """One line for a log or an HTTP header: how many rows are flagged and the first few reasons."""
    flagged = [(row, messages) for row, messages in enumerate(flags) if messages]
    if not flagged:
        return None
    shown = "; ".join(f"row {row}: {', '.join(messages)}" for row, messages in flagged[:limit])
    more = f"; and {len(flagged) - limit} more row(s)" if len(flagged) > limit else ""
    return (
        f"{len(flagged)} of {len(flags)} row(s) have values far outside the training range ({shown}{more}); "
        "send raw feature values, not scaled ones"
    )


def ranges_json(ranges: Ranges) -> str:
    return json.dumps(ranges, sort_keys=True)
