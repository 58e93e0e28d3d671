"""The model's contract: the lab's 13 audio features (in the lab's order) and the target column."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jukebox.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

#: The lab's features, in the lab's order. ONNX inputs are named exactly like these.
FEATURES: tuple[str, ...] = (
    "is_explicit",
    "duration_ms",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
)
TARGET = "country"
SONG_ID = "spotify_id"

PROPERTY_COLUMNS: tuple[str, ...] = (SONG_ID, *FEATURES)
RANKING_COLUMNS: tuple[str, ...] = (SONG_ID, TARGET)


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], table: str) -> None:
    """Raise InputError naming every required column the table lacks."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise InputError(
            f"{table}: missing column(s) {', '.join(missing)}; required: {', '.join(columns)} "
            f"(found: {', '.join(map(str, frame.columns))})"
        )


def require_numeric_features(frame: pd.DataFrame, table: str) -> None:
    """Every feature must be numeric (bool counts) and must not be entirely missing."""
    import pandas as pd

    wrong = [
        f"{name} ({frame[name].dtype})"
        for name in FEATURES
        if not (pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name]))
    ]
    if wrong:
        raise InputError(f"{table}: feature column(s) must be numeric or boolean: {', '.join(wrong)}")
    if len(frame):
        empty = [name for name in FEATURES if frame[name].isna().all()]
        if empty:
            raise InputError(f"{table}: feature column(s) contain only missing values: {', '.join(empty)}")


def require_label_columns(frame: pd.DataFrame, table: str) -> None:
    """spotify_id and country must hold strings (or be entirely missing, caught later)."""
    import pandas as pd

    for name in RANKING_COLUMNS:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            raise InputError(f"{table}: column {name} must hold strings, found dtype {column.dtype}")
        if len(frame) and column.isna().all():
            raise InputError(f"{table}: column {name} contains only missing values")


def require_finite_features(frame: pd.DataFrame, table: str) -> None:
    """Refuse feature values that are not finite FP32 numbers (inf, -inf, or beyond ±3.4e38 like 1e300).

    The model's inputs are FP32: such a value would become infinite and turn every output into NaN.
    A missing value is a gap (dropped and counted by the loader); an infinite one means a broken table.
    """
    import numpy as np

    values = frame[list(FEATURES)].to_numpy(np.float64)
    with np.errstate(invalid="ignore"):
        broken = ~(np.abs(values) <= np.finfo(np.float32).max) & ~np.isnan(values)
    bad_columns = [name for name, column in zip(FEATURES, broken.T, strict=True) if column.any()]
    if bad_columns:
        first = bad_columns[0]
        row = int(broken[:, FEATURES.index(first)].nonzero()[0][0])
        example = f"{SONG_ID} {frame[SONG_ID].iloc[row]!r} has {first}={values[row, FEATURES.index(first)]!r}"
        counts = ", ".join(f"{name} ({int(broken[:, FEATURES.index(name)].sum())} rows)" for name in bad_columns)
        raise InputError(
            f"{table}: column(s) {counts} hold values that are not finite FP32 numbers (inf, -inf or beyond "
            f"±3.4e38), e.g. {example}; fix or remove those songs"
        )
