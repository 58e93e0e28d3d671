"""Data loading: song properties + chart rows joined on spotify_id, validated, every drop counted.

Sources (`DataSource.parse`):
- `upstream` (default): the lab's two parquet files, downloaded once into the cache directory;
- `sample` or `sample:rows=N,countries=K,seed=S,songs=M,properties=PATH`: generated, SYNTHETIC labels;
- the Kaggle CSV `universal_top_spotify_songs.csv` (real labels): a path, a directory holding it, or a URL;
- a directory holding `song_properties.parquet` and `song_rankings.parquet`, or an http(s) folder URL;
- explicit `properties=` / `rankings=` paths or URLs override either table.
`since` / `until` (YYYY-MM-DD, inclusive) keep the chart rows whose `snapshot_date` is in that range.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jukebox.errors import InputError, ServiceError
from jukebox.fsutil import user_cache_dir
from jukebox.inputs import require_readable_file
from training import charts
from training.features import (
    FEATURES,
    PROPERTY_COLUMNS,
    RANKING_COLUMNS,
    SONG_ID,
    TARGET,
    require_columns,
    require_finite_features,
    require_label_columns,
    require_numeric_features,
)
from training.progress import QUIET, Progress

if TYPE_CHECKING:
    import pandas as pd

    from training.sample import SampleOracle

T = TypeVar("T")

UPSTREAM_BASE = "https://github.com/rhoai-mlops/jukebox/raw/refs/heads/main/99-data_prep"
PROPERTIES_FILE = "song_properties.parquet"
RANKINGS_FILE = "song_rankings.parquet"
SAMPLE_KEYS = {"rows": int, "countries": int, "seed": int, "songs": int, "properties": str}
OFFLINE_HINT = "offline? use --data sample, or --data DIR with the data files"


@dataclass(frozen=True)
class DataSource:
    """Where the data comes from. `kind`: "sample" (generator options in `sample`), "tables" (the two
    parquet tables) or "charts" (the Kaggle CSV in `charts`, `properties` optionally overriding its features).
    """

    kind: str
    properties: str | None = None
    rankings: str | None = None
    sample: dict[str, Any] = field(default_factory=dict)
    charts: str | None = None
    since: datetime.date | None = None
    until: datetime.date | None = None

    @classmethod
    def parse(
        cls,
        text: str | None = None,
        properties: str | None = None,
        rankings: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> DataSource:
        """Parse `--data` (plus the `--properties` / `--rankings` overrides and `--since` / `--until`)."""
        dates = _date_range(since, until)
        text = "upstream" if text is None else text.strip()
        if text == "sample" or text.startswith("sample:"):
            if rankings is not None:
                raise InputError("--rankings cannot be combined with --data sample (it generates rankings)")
            options = _sample_options(text.partition(":")[2])
            if properties is not None:
                options["properties"] = properties
            return cls("sample", properties=options.get("properties"), sample=options, since=dates[0], until=dates[1])
        charts_csv = _charts_location(text)
        if charts_csv is not None:
            if rankings is not None:
                raise InputError(f"--rankings cannot be combined with the chart CSV {charts_csv} (it holds the charts)")
            return cls("charts", properties=properties, charts=charts_csv, since=dates[0], until=dates[1])
        base = UPSTREAM_BASE if text == "upstream" else text
        if not _is_url(base) and not Path(base).is_dir():
            raise InputError(
                f"--data {text}: not a directory, a chart CSV ({charts.KAGGLE_CSV}), a URL, 'upstream' or "
                "'sample[:rows=N,countries=K,...]'"
            )
        join = (lambda name: f"{base.rstrip('/')}/{name}") if _is_url(base) else (lambda n: str(Path(base) / n))
        if not _is_url(base) and (properties is None or rankings is None):
            _require_tables(Path(base), properties, rankings)
        return cls(
            "tables",
            properties or join(PROPERTIES_FILE),
            rankings or join(RANKINGS_FILE),
            since=dates[0],
            until=dates[1],
        )

    def describe(self) -> str:
        if self.kind == "sample":
            options = ",".join(f"{k}={v}" for k, v in sorted(self.sample.items()))
            text = f"sample:{options}" if options else "sample"
        elif self.kind == "charts":
            text = f"charts={self.charts}" + (f" properties={self.properties}" if self.properties else "")
        else:
            text = f"properties={self.properties} rankings={self.rankings}"
        dates = [f"since={self.since}" if self.since else "", f"until={self.until}" if self.until else ""]
        return " ".join([text, *filter(None, dates)])


def _date_range(since: str | None, until: str | None) -> tuple[datetime.date | None, datetime.date | None]:
    first, last = _date("--since", since), _date("--until", until)
    if first and last and first > last:
        raise InputError(f"--since {first} is after --until {last}: no chart row could match")
    return first, last


def _date(option: str, text: str | None) -> datetime.date | None:
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option} {text!r}: not a date; use YYYY-MM-DD (e.g. 2023-10-18)") from None


def _charts_location(text: str) -> str | None:
    """The chart CSV `--data` names: a CSV path or URL, or a directory holding the Kaggle CSV."""
    if _is_url(text):
        return text if charts.is_csv_name(text) else None
    path = Path(text)
    if path.is_dir():
        csv = path / charts.KAGGLE_CSV
        return str(csv) if csv.is_file() else None
    return str(path) if charts.is_csv_name(path.name) else None


def _require_tables(directory: Path, properties: str | None, rankings: str | None) -> None:
    names = [name for name, given in ((PROPERTIES_FILE, properties), (RANKINGS_FILE, rankings)) if given is None]
    absent = [name for name in names if not (directory / name).exists()]
    if absent:
        raise InputError(
            f"--data {directory}: no {' or '.join(absent)} there; a data directory holds {charts.KAGGLE_CSV} "
            f"(the Kaggle chart CSV) or both {PROPERTIES_FILE} and {RANKINGS_FILE}"
        )


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
    """`override`, else the user cache ($JUKEBOX_CACHE_DIR, else $XDG_CACHE_HOME/jukebox, else ~/.cache/jukebox)."""
    return Path(override) if override is not None else user_cache_dir()


def cache_path(url: str, cache: str | Path | None = None) -> Path:
    """Where the download of `url` is kept: `<cache>/<sha256(url)[:16]>-<file name>`."""
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "download"
    return cache_dir(cache) / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name}"


def _download(url: str, partial: Path, progress: Progress, hint: str) -> None:
    import urllib.error
    import urllib.request

    from tqdm import tqdm

    name = partial.name
    try:
        with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as sink:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress.enabled) as bar:
                while chunk := response.read(1 << 20):
                    sink.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as error:
        partial.unlink(missing_ok=True)
        raise ServiceError(f"cannot download {url}: {getattr(error, 'reason', error)} ({hint})") from None


def fetch(
    url: str,
    read: Callable[[Path, str], T],
    cache: str | Path | None = None,
    progress: Progress = QUIET,
    hint: str = OFFLINE_HINT,
) -> T:
    """`read(path, url)` of the cached copy of `url`, downloading it once.

    A download enters the cache only after `read` accepted it (it raises InputError for content it
    cannot use, naming the URL it is given); a refused download is deleted and reported as a
    ServiceError naming the URL. A cached copy that `read` refuses (cached before downloads were
    checked) is evicted and downloaded again.
    """
    target = cache_path(url, cache)
    if target.is_file():
        try:
            return read(target, url)
        except InputError:
            target.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        _download(url, partial, progress, hint)
        try:
            value = read(partial, url)
        except InputError as error:
            raise ServiceError(f"downloaded {error} (not cached)") from None
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return value


def _parquet_reader(table: str, columns: tuple[str, ...]) -> Callable[[Path, str], pd.DataFrame]:
    def read(path: Path, where: str) -> pd.DataFrame:
        import pandas as pd

        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pyarrow raises several unrelated types for a bad file
            reason = str(error).replace(str(path), where)  # name the URL, not a cache file
            raise InputError(f"{table} {where}: cannot read it as parquet: {reason}") from None
        require_columns(frame, columns, f"{table} {where}")
        return frame

    return read


def read_table(
    location: str,
    table: str,
    cache: str | Path | None = None,
    progress: Progress = QUIET,
    columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One parquet table from a path or URL (URLs through the checked download cache) with `columns`."""
    read = _parquet_reader(table, columns)
    if _is_url(location):
        return fetch(location, read, cache, progress)
    return read(require_readable_file(location, table), location)


def read_charts(location: str, cache: str | Path | None = None, progress: Progress = QUIET) -> pd.DataFrame:
    """The Kaggle chart CSV from a path or URL (URLs through the checked download cache)."""

    def read(path: Path, where: str) -> pd.DataFrame:
        return charts.read_charts_csv(path, f"chart CSV {where}")

    if _is_url(location):
        return fetch(location, read, cache, progress)
    return read(require_readable_file(location, "chart CSV"), location)


@dataclass
class Dataset:
    """The joined, cleaned table (spotify_id, country, 13 features; one row per chart row) and its origin."""

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


def filter_dates(
    rankings: pd.DataFrame, since: datetime.date | None, until: datetime.date | None
) -> tuple[pd.DataFrame, int]:
    """The chart rows with `since <= snapshot_date <= until` and how many were left out."""
    import pandas as pd

    if since is None and until is None:
        return rankings, 0
    option = "--since" if since is not None else "--until"
    if charts.DATE not in rankings.columns:
        raise InputError(f"{option}: the chart rows have no {charts.DATE} column to filter on")
    dates = pd.to_datetime(rankings[charts.DATE], errors="coerce").dt.date
    keep = dates.notna()
    if since is not None:
        keep &= dates >= since
    if until is not None:
        keep &= dates <= until
    return rankings.loc[keep.to_numpy()], int((~keep).sum())


def join_tables(
    properties: pd.DataFrame,
    rankings: pd.DataFrame,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> tuple[pd.DataFrame, dict[str, int], dict[str, int]]:
    """Validate both tables, keep the dated chart rows, inner-join on spotify_id, drop incomplete rows.

    Rows without a country (the global chart) and rows missing a feature value are dropped and counted;
    a feature value that is not a finite FP32 number is refused (InputError naming the column).
    Returns the clean table, counts (rows, songs, drops...) and missing values per column before dropping.
    """
    import pandas as pd

    require_columns(properties, PROPERTY_COLUMNS, "song properties")
    require_columns(rankings, RANKING_COLUMNS, "song rankings")
    require_numeric_features(properties, "song properties")
    require_label_columns(rankings, "song rankings")
    dated, outside_dates = filter_dates(rankings, since, until)
    songs = properties[list(PROPERTY_COLUMNS)].drop_duplicates(SONG_ID, keep="last")
    kept = [*RANKING_COLUMNS, *([charts.RANK] if charts.RANK in dated.columns else [])]
    joined = dated[kept].merge(songs, on=SONG_ID, how="inner", validate="many_to_one")
    if charts.RANK in joined.columns:  # optional: only the songRank weighting reads it
        joined[charts.RANK] = pd.to_numeric(joined[charts.RANK], errors="coerce")
    missing_by_column = {str(k): int(v) for k, v in joined.isna().sum().items() if k != charts.RANK}
    no_country = joined[TARGET].astype("string").str.strip().fillna("").eq("").to_numpy()
    no_feature = joined[list(FEATURES)].isna().any(axis=1).to_numpy() & ~no_country
    clean = joined.loc[~(no_country | no_feature)].reset_index(drop=True)
    clean[TARGET] = clean[TARGET].astype(str).str.strip()
    clean[SONG_ID] = clean[SONG_ID].astype(str)
    require_finite_features(clean, "song properties")
    stats = {
        "ranking_rows": len(rankings),
        "rows_outside_dates": outside_dates,
        "song_rows": len(properties),
        "duplicate_songs_dropped": len(properties) - len(songs),
        "rows_without_song_properties": len(dated) - len(joined),
        "rows_without_country": int(no_country.sum()),
        "rows_dropped_missing_values": int(no_feature.sum()),
        "rows": len(clean),
        "songs": int(clean[SONG_ID].nunique()),
        "countries": int(clean[TARGET].nunique()),
        "song_country_pairs": len(clean[[SONG_ID, TARGET]].drop_duplicates()),
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
    if source.kind == "charts":
        return _load_charts(source, cache, progress)
    assert source.properties is not None and source.rankings is not None
    properties = read_table(source.properties, "song properties", cache, progress, PROPERTY_COLUMNS)
    rankings = read_table(source.rankings, "song rankings", cache, progress, RANKING_COLUMNS)
    frame, stats, missing = join_tables(properties, rankings, source.since, source.until)
    return Dataset(frame, source.describe(), False, stats, missing=missing)


def _load_charts(source: DataSource, cache: str | Path | None, progress: Progress) -> Dataset:
    """The chart CSV: its own features (one row per song) unless `properties` overrides them."""
    assert source.charts is not None
    chart_rows = read_charts(source.charts, cache, progress)
    songs, varying = charts.song_features(chart_rows)
    extra = {"songs_with_varying_features": varying}
    if source.properties is not None:
        table = read_table(source.properties, "song properties", cache, progress, PROPERTY_COLUMNS)
        require_numeric_features(table, "song properties")
        extra["songs_features_differ_from_properties"] = charts.features_differ(songs, table)
        songs = table
    frame, stats, missing = join_tables(songs, charts.rankings(chart_rows), source.since, source.until)
    return Dataset(frame, source.describe(), False, {**stats, **extra}, missing=missing)


def _load_sample(source: DataSource, cache: str | Path | None, progress: Progress) -> Dataset:
    from training.sample import make_sample

    options = dict(source.sample)
    properties = None
    if source.properties is not None:
        properties = read_table(source.properties, "song properties", cache, progress, PROPERTY_COLUMNS)
        require_numeric_features(properties, "song properties")
        properties = properties.drop_duplicates(SONG_ID, keep="last").reset_index(drop=True)
    options.pop("properties", None)
    try:
        sample = make_sample(properties=properties, **options)
    except ValueError as error:
        raise InputError(f"--data sample: {error}") from None
    frame, stats, missing = join_tables(sample.properties, sample.rankings, source.since, source.until)
    return Dataset(frame, source.describe(), True, stats, sample.oracle, missing)


__all__ = ["FEATURES", "DataSource", "Dataset", "cache_dir", "fetch", "join_tables", "load_data"]
