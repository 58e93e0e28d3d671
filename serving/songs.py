"""Feature rows for `jukebox predict`: a song looked up by name, `k=v` features, or a parquet file."""

from __future__ import annotations

import difflib
import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from jukebox.errors import InputError, ServiceError
from serving.contract import FEATURES

DEFAULT_SONGS = "https://github.com/rhoai-mlops/jukebox/raw/refs/heads/main/99-data_prep/song_properties.parquet"


def default_songs() -> str:
    """$JUKEBOX_SONGS (a path or URL) if set, else the lab's upstream song table."""
    return os.environ.get("JUKEBOX_SONGS") or DEFAULT_SONGS


def cached_path(url: str) -> Path:
    """Where a downloaded URL is kept: the same cache and names as training's downloads
    ($JUKEBOX_CACHE_DIR, else $XDG_CACHE_HOME/jukebox, else ~/.cache/jukebox)."""
    base = (
        os.environ.get("JUKEBOX_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jukebox"
    )
    name = url.rstrip("/").rsplit("/", 1)[-1] or "download"
    return Path(base) / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name}"


def _download(url: str, option: str) -> bytes:
    import requests

    target = cached_path(url)
    if target.is_file():
        return target.read_bytes()
    try:
        response = requests.get(url, timeout=60)
        response.raise_for_status()
    except requests.RequestException as error:
        raise ServiceError(
            f"{option} {url}: cannot download it ({error}); pass a local file or set JUKEBOX_SONGS"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    partial.write_bytes(response.content)
    partial.replace(target)
    return response.content


def read_table(source: str, option: str) -> pd.DataFrame:
    """A parquet table from a path or an http(s) URL (downloaded once into the jukebox cache)."""
    if source.startswith(("http://", "https://")):
        return _parquet(io.BytesIO(_download(source, option)), f"{option} {source}")
    if not Path(source).is_file():
        raise InputError(f"{option} {source}: no such file (a parquet file or an http(s) URL)")
    return _parquet(source, f"{option} {source}")


def _parquet(source: str | io.BytesIO, where: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(source)
    except (OSError, ValueError) as error:
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
        values = table[list(FEATURES)].astype(np.float32)
    except (TypeError, ValueError) as error:
        raise InputError(f"{option}: the feature columns must be numeric ({error})") from None
    bad = [name for name in FEATURES if values[name].isna().any()]
    if bad:
        raise InputError(f"{option}: empty values in column(s) {', '.join(bad)}")
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
