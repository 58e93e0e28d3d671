"""Feature rows for `jukebox predict`: a song looked up by name, `k=v` features, or a parquet file."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from jukebox.errors import InputError
from jukebox.inputs import require_readable_file
from serving.contract import FEATURES

DEFAULT_SONGS = "https://github.com/rhoai-mlops/jukebox/raw/refs/heads/main/99-data_prep/song_properties.parquet"
OFFLINE_HINT = "pass a local file, or set JUKEBOX_SONGS"


def default_songs() -> str:
    """$JUKEBOX_SONGS (a path or URL) if set, else the lab's upstream song table."""
    return os.environ.get("JUKEBOX_SONGS") or DEFAULT_SONGS


def read_table(source: str, option: str) -> pd.DataFrame:
    """A parquet table from a path or an http(s) URL. A URL is downloaded once into the jukebox cache
    (training's cache: $JUKEBOX_CACHE_DIR, else $XDG_CACHE_HOME/jukebox, else ~/.cache/jukebox), and only
    once it parsed as parquet: a broken download is not kept, and the error names the URL."""

    def read(path: Path, where: str) -> pd.DataFrame:
        return _parquet(path, f"{option} {where}")

    if source.startswith(("http://", "https://")):
        from training.data import fetch

        return fetch(source, read, hint=OFFLINE_HINT)
    return read(require_readable_file(source, option), source)


def _parquet(source: Path, where: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(source)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise InputError(f"{where}: not a readable parquet file ({error})") from None


def find_song(table: pd.DataFrame, name: str, artist: str | None = None) -> pd.DataFrame:
    """The rows whose `name` equals name (case-insensitive), optionally narrowed by an artist substring."""
    if "name" not in table.columns:
        raise InputError("--songs: the song table has no 'name' column")
    names = table["name"].astype(str)
    found = table[names.str.casefold() == name.strip().casefold()]
    if found.empty:
        close = difflib.get_close_matches(name, names.dropna().unique().tolist(), n=5, cutoff=0.6)
        hint = f"; did you mean: {', '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(f"--song {name!r}: not in the song table{hint}")
    if artist:
        by_artist = found[found["artists"].astype(str).str.contains(artist, case=False, regex=False)]
        if by_artist.empty:
            choices = ", ".join(sorted(found["artists"].astype(str).unique()))
            raise InputError(f"--artist {artist!r}: no {name!r} by that artist (there is one by: {choices})")
        found = by_artist
    if "spotify_id" in found.columns:  # one song appears once per snapshot: keep its latest row
        order = found.sort_values("event_timestamp") if "event_timestamp" in found.columns else found
        found = order.drop_duplicates("spotify_id", keep="last")
    return found


def parse_features(pairs: list[str]) -> pd.DataFrame:
    """One row from `name=value` pairs; all 13 features are required."""
    row: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in FEATURES:
            raise InputError(f"--features {pair!r}: expected name=value with a name from {', '.join(FEATURES)}")
        try:
            row[key] = float(value)
        except ValueError:
            raise InputError(f"--features {pair!r}: {value!r} is not a number") from None
    missing = [name for name in FEATURES if name not in row]
    if missing:
        raise InputError(f"--features: missing {', '.join(missing)} (all 13 features are needed)")
    return pd.DataFrame([row])


def feature_columns(table: pd.DataFrame, option: str) -> dict[str, np.ndarray]:
    """The 13 feature columns as FP32 arrays; refuses missing columns and empty or non-numeric values."""
    missing = [name for name in FEATURES if name not in table.columns]
    if missing:
        raise InputError(f"{option}: missing column(s) {', '.join(missing)}")
    if table.empty:
        raise InputError(f"{option}: no rows")
    try:
        with np.errstate(over="ignore"):  # 1e300 becomes inf in FP32: refused below
            values = table[list(FEATURES)].astype(np.float32)
    except (TypeError, ValueError) as error:
        raise InputError(f"{option}: the feature columns must be numeric ({error})") from None
    bad = [name for name in FEATURES if values[name].isna().any()]
    if bad:
        raise InputError(f"{option}: empty values in column(s) {', '.join(bad)}")
    infinite = [name for name in FEATURES if not np.isfinite(values[name].to_numpy()).all()]
    if infinite:
        raise InputError(
            f"{option}: values that are not finite FP32 numbers (inf, or beyond ±3.4e38) in column(s) "
            f"{', '.join(infinite)}"
        )
    return {name: values[name].to_numpy() for name in FEATURES}


def row_titles(table: pd.DataFrame) -> list[str]:
    """`name — artists` when the table has those columns, else the row number."""
    if "name" not in table.columns:
        return [f"row {i}" for i in range(len(table))]
    artists = table["artists"].astype(str) if "artists" in table.columns else None
    names = table["name"].astype(str).tolist()
    if artists is None:
        return names
    return [f"{name} — {artist}" for name, artist in zip(names, artists.tolist(), strict=True)]
