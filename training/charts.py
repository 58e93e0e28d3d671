"""The Kaggle CSV "Top Spotify Songs in 73 Countries" (`universal_top_spotify_songs.csv`), read as it comes.

One row per (snapshot date, country chart, rank); the song's audio features repeat on each of its rows.
Quirks handled here:
- an empty `country` is the global chart (kept as missing here; `join_tables` drops and counts it);
  only an empty field is missing: the country code `NA` (Namibia) stays a country;
- `is_explicit` is `TRUE`/`FALSE` (also accepted: `true`/`false`, `1`/`0`);
- floats may be written with an exponent (`3.71E-06`);
- the same song appears on many charts and dates: `song_features` keeps one feature row per song (its
  newest `snapshot_date`, else its first row in file order), every chart row stays a ranking row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jukebox.errors import InputError
from training.features import FEATURES, SONG_ID, TARGET

if TYPE_CHECKING:
    import pandas as pd

KAGGLE_CSV = "universal_top_spotify_songs.csv"
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".zip")
DATE = "snapshot_date"
RANK = "daily_rank"
REQUIRED = (SONG_ID, TARGET, *FEATURES)
OPTIONAL = (DATE, RANK)
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
BOOLEAN_FEATURES = ("is_explicit",)


def is_csv_name(name: str) -> bool:
    return name.lower().split("?", 1)[0].endswith(CSV_SUFFIXES)


def read_charts_csv(path: str | Path, where: str) -> pd.DataFrame:
    """The chart rows with the columns training uses, typed; InputError naming `where` when unusable."""
    import pandas as pd

    text_columns = {name: "string" for name in (SONG_ID, TARGET, DATE, *BOOLEAN_FEATURES)}
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8").columns
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise InputError(
                f"{where}: missing column(s) {', '.join(missing)}; the Kaggle chart CSV needs "
                f"{', '.join(REQUIRED)} (found: {', '.join(map(str, header))})"
            )
        usecols = [name for name in (*REQUIRED, *OPTIONAL) if name in header]
        frame = pd.read_csv(
            path,
            usecols=usecols,
            dtype={k: v for k, v in text_columns.items() if k in usecols},
            keep_default_na=False,  # `NA` is Namibia's country code; only an empty field is missing
            na_values=[""],
            encoding="utf-8",
        )
    except UnicodeDecodeError as error:
        raise InputError(f"{where}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{where}: the file is empty (expected the Kaggle chart CSV with a header row)") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise InputError(f"{where}: not a readable CSV ({error})") from None
    for name in (SONG_ID, TARGET):
        frame[name] = frame[name].str.strip()
    for name in FEATURES:
        frame[name] = (
            _boolean(frame[name], name, where) if name in BOOLEAN_FEATURES else _number(frame[name], name, where)
        )
    return frame


def _bad_value(column: pd.Series, bad: pd.Series, name: str, where: str, expected: str) -> InputError:
    position = int(bad.to_numpy().nonzero()[0][0])
    return InputError(
        f"{where}: column {name}: {int(bad.sum())} value(s) are not {expected}, "
        f"e.g. {column.iloc[position]!r} on line {position + 2}"
    )


def _boolean(column: pd.Series, name: str, where: str) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return column.astype("float64")
    text = column.astype("string").str.strip().str.lower()
    mapped = text.map(BOOLEANS, na_action="ignore")
    bad = text.notna() & mapped.isna()
    if bad.any():
        raise _bad_value(column, bad, name, where, "TRUE/FALSE")
    return mapped.astype("float64")


def _number(column: pd.Series, name: str, where: str) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    numbers = pd.to_numeric(column, errors="coerce")
    bad = column.notna() & numbers.isna()
    if bad.any():
        raise _bad_value(column, bad, name, where, "numbers")
    return numbers.astype("float64")


def song_features(charts: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One feature row per song (its newest snapshot, else its first row) and how many songs' features vary."""
    import pandas as pd

    rows = charts
    if DATE in charts.columns:
        dates = pd.to_datetime(charts[DATE], errors="coerce")
        rows = charts.assign(_date=dates).sort_values("_date", ascending=False, kind="stable", na_position="last")
    songs = rows.drop_duplicates(SONG_ID, keep="first")[[SONG_ID, *FEATURES]].reset_index(drop=True)
    distinct = charts[[SONG_ID, *FEATURES]].drop_duplicates()
    varying = int((distinct.groupby(SONG_ID).size() > 1).sum())
    return songs, varying


def rankings(charts: pd.DataFrame) -> pd.DataFrame:
    """Every chart row: spotify_id, country (missing = global chart) and the date/rank columns present."""
    return charts[[name for name in (SONG_ID, TARGET, *OPTIONAL) if name in charts.columns]]


def features_differ(ours: pd.DataFrame, theirs: pd.DataFrame) -> int:
    """How many songs present in both feature tables have different values in at least one feature."""
    import numpy as np

    left = ours.drop_duplicates(SONG_ID, keep="last").set_index(SONG_ID)[list(FEATURES)]
    right = theirs.drop_duplicates(SONG_ID, keep="last").set_index(SONG_ID)[list(FEATURES)]
    common = left.index.intersection(right.index)
    a = left.loc[common].to_numpy(np.float64)
    b = right.loc[common].to_numpy(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return int((~same.all(axis=1)).sum())
