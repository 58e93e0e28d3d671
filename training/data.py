"""Data loading: song properties + song rankings joined on spotify_id, validated, missing rows counted.

Sources (`DataSource.parse`):
- `upstream` (default): the lab's two parquet files, downloaded once into the cache directory;
- `sample` or `sample:rows=N,countries=K,seed=S,songs=M,properties=PATH`: generated, SYNTHETIC labels;
- a directory holding `song_properties.parquet` and `song_rankings.parquet`, or an http(s) folder URL;
- explicit `properties=` / `rankings=` paths or URLs override either table.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jukebox.errors import InputError, ServiceError
from training.features import (
    FEATURES,
    PROPERTY_COLUMNS,
    RANKING_COLUMNS,
    SONG_ID,
    TARGET,
    require_columns,
    require_label_columns,
    require_numeric_features,
)
from training.progress import QUIET, Progress

if TYPE_CHECKING:
    import pandas as pd

    from training.sample import SampleOracle

UPSTREAM_BASE = "https://github.com/rhoai-mlops/jukebox/raw/refs/heads/main/99-data_prep"
PROPERTIES_FILE = "song_properties.parquet"
RANKINGS_FILE = "song_rankings.parquet"
SAMPLE_KEYS = {"rows": int, "countries": int, "seed": int, "songs": int, "properties": str}


@dataclass(frozen=True)
class DataSource:
    """Where the two tables come from. `sample` holds the generator's options when kind == "sample"."""

    kind: str  # "sample" or "tables"
    properties: str | None = None
    rankings: str | None = None
    sample: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None = None, properties: str | None = None, rankings: str | None = None) -> DataSource:
        """Parse `--data` (plus optional `--properties` / `--rankings` overrides)."""
        text = "upstream" if text is None else text.strip()
        if text == "sample" or text.startswith("sample:"):
            if rankings is not None:
                raise InputError("--rankings cannot be combined with --data sample (it generates rankings)")
            options = _sample_options(text.partition(":")[2])
            if properties is not None:
                options["properties"] = properties
            return cls("sample", properties=options.get("properties"), sample=options)
        base = UPSTREAM_BASE if text == "upstream" else text
        if not _is_url(base) and not Path(base).is_dir():
            raise InputError(f"--data {text}: not a directory, URL, 'upstream' or 'sample[:rows=N,countries=K,...]'")
        join = (lambda name: f"{base.rstrip('/')}/{name}") if _is_url(base) else (lambda n: str(Path(base) / n))
        return cls("tables", properties or join(PROPERTIES_FILE), rankings or join(RANKINGS_FILE))

    def describe(self) -> str:
        if self.kind == "sample":
            options = ",".join(f"{k}={v}" for k, v in sorted(self.sample.items()))
            return f"sample:{options}" if options else "sample"
        return f"properties={self.properties} rankings={self.rankings}"


def _sample_options(text: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in SAMPLE_KEYS:
            raise InputError(f"--data sample: bad option {item!r}; allowed: {', '.join(SAMPLE_KEYS)} as key=value")
        try:
            options[key] = SAMPLE_KEYS[key](value)
        except ValueError:
            raise InputError(f"--data sample: {key} must be an integer, got {value!r}") from None
    return options


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def cache_dir(override: str | Path | None = None) -> Path:
    """`override`, else $JUKEBOX_CACHE_DIR, else $XDG_CACHE_HOME/jukebox, else ~/.cache/jukebox."""
    if override is not None:
        return Path(override)
    if os.environ.get("JUKEBOX_CACHE_DIR"):
        return Path(os.environ["JUKEBOX_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jukebox"


def download(url: str, cache: str | Path | None = None, progress: Progress = QUIET) -> Path:
    """The cached copy of `url`, downloading it once (atomically, with a progress bar on stderr)."""
    import urllib.error
    import urllib.request

    from tqdm import tqdm

    name = url.rstrip("/").rsplit("/", 1)[-1] or "download"
    target = cache_dir(cache) / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as sink:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress.enabled) as bar:
                while chunk := response.read(1 << 20):
                    sink.write(chunk)
                    bar.update(len(chunk))
        partial.replace(target)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise ServiceError(
            f"cannot download {url}: {getattr(error, 'reason', error)} "
            "(offline? use --data sample, or --data DIR with both parquet files)"
        ) from None
    return target


def read_table(location: str, table: str, cache: str | Path | None = None, progress: Progress = QUIET):
    """Read one parquet table from a path or URL (URLs go through the download cache)."""
    import pandas as pd

    path = download(location, cache, progress) if _is_url(location) else Path(location)
    if not path.is_file():
        raise InputError(f"{table}: no such file: {path}")
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise InputError(f"{table}: cannot read {path} as parquet: {error}") from None


@dataclass
class Dataset:
    """The joined, cleaned table (spotify_id, country, 13 features) and how it was obtained."""

    frame: pd.DataFrame
    source: str
    labels_synthetic: bool
    stats: dict[str, int]
    oracle: SampleOracle | None = None
    missing: dict[str, int] = field(default_factory=dict)  # missing values per column, before dropping

    @property
    def fingerprint(self) -> str:
        """sha256 of the cleaned table's contents (row order included)."""
        import pandas as pd

        hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        return hashlib.sha256(hashed.tobytes()).hexdigest()


def join_tables(
    properties: pd.DataFrame, rankings: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, int], dict[str, int]]:
    """Validate both tables, inner-join on spotify_id, drop rows with missing values.

    Returns the clean table, counts (rows, songs, drops...) and missing values per column before dropping.
    """
    require_columns(properties, PROPERTY_COLUMNS, "song properties")
    require_columns(rankings, RANKING_COLUMNS, "song rankings")
    require_numeric_features(properties, "song properties")
    require_label_columns(rankings, "song rankings")
    songs = properties[list(PROPERTY_COLUMNS)].drop_duplicates(SONG_ID, keep="last")
    ranks = rankings[list(RANKING_COLUMNS)]
    joined = ranks.merge(songs, on=SONG_ID, how="inner", validate="many_to_one")
    country = joined[TARGET]
    missing_by_column = {str(k): int(v) for k, v in joined.isna().sum().items()}
    missing = joined[list(PROPERTY_COLUMNS)].isna().any(axis=1) | country.isna()
    missing |= country.astype("string").str.strip().fillna("").eq("")
    clean = joined.loc[~missing].reset_index(drop=True)
    clean[TARGET] = clean[TARGET].astype(str)
    clean[SONG_ID] = clean[SONG_ID].astype(str)
    stats = {
        "ranking_rows": len(rankings),
        "song_rows": len(properties),
        "duplicate_songs_dropped": len(properties) - len(songs),
        "rows_without_song_properties": len(rankings) - len(joined),
        "rows_dropped_missing_values": int(missing.sum()),
        "rows": len(clean),
        "songs": int(clean[SONG_ID].nunique()),
        "countries": int(clean[TARGET].nunique()),
    }
    _require_trainable(clean)
    return clean, stats, missing_by_column


def _require_trainable(frame: pd.DataFrame) -> None:
    if frame.empty:
        raise InputError("no rows left after joining song rankings with song properties and dropping gaps")
    countries = frame[TARGET].nunique()
    if countries < 2:
        raise InputError(f"only one country ({frame[TARGET].iloc[0]}) in the data: need at least 2 classes")
    if frame[SONG_ID].nunique() < 2:
        raise InputError("only one song in the data: the by-song split needs at least 2 songs")


def load_data(source: DataSource | str, cache: str | Path | None = None, progress: Progress = QUIET) -> Dataset:
    """Load, validate and join a source. `sample` data carries its oracle and labels_synthetic=True."""
    if isinstance(source, str):
        source = DataSource.parse(source)
    if source.kind == "sample":
        return _load_sample(source, cache, progress)
    assert source.properties is not None and source.rankings is not None
    properties = read_table(source.properties, "song properties", cache, progress)
    rankings = read_table(source.rankings, "song rankings", cache, progress)
    frame, stats, missing = join_tables(properties, rankings)
    return Dataset(frame, source.describe(), False, stats, missing=missing)


def _load_sample(source: DataSource, cache: str | Path | None, progress: Progress) -> Dataset:
    from training.sample import make_sample

    options = dict(source.sample)
    properties = None
    if source.properties is not None:
        properties = read_table(source.properties, "song properties", cache, progress)
        require_columns(properties, PROPERTY_COLUMNS, "song properties")
        require_numeric_features(properties, "song properties")
        properties = properties.drop_duplicates(SONG_ID, keep="last").reset_index(drop=True)
    options.pop("properties", None)
    try:
        sample = make_sample(properties=properties, **options)
    except ValueError as error:
        raise InputError(f"--data sample: {error}") from None
    frame, stats, missing = join_tables(sample.properties, sample.rankings)
    return Dataset(frame, source.describe(), True, stats, sample.oracle, missing)


__all__ = ["FEATURES", "DataSource", "Dataset", "cache_dir", "download", "join_tables", "load_data"]
