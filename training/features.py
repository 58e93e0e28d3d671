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
