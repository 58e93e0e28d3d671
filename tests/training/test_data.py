"""Loading, joining and validating the two tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jukebox.errors import InputError
from training.data import DataSource, join_tables, load_data
from training.features import FEATURES


def properties(n: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.random(n) for name in FEATURES})
    frame["is_explicit"] = [True, False] * (n // 2)
    frame["key"] = np.arange(n) % 12
    frame.insert(0, "spotify_id", [f"s{i}" for i in range(n)])
    return frame


def rankings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "spotify_id": ["s0", "s0", "s1", "s2", "s3", "s3", "zz"],
            "country": ["US", "GB", "US", None, "GB", "", "US"],
            "daily_rank": range(7),
        }
    )


def test_join_drops_and_counts_missing_and_unmatched_rows() -> None:
    frame, stats, missing = join_tables(properties(), rankings())
    assert list(frame.columns) == ["spotify_id", "country", *FEATURES]
    assert frame["country"].tolist() == ["US", "GB", "US", "GB"]
    assert stats["rows_without_song_properties"] == 1  # "zz"
    assert stats["rows_dropped_missing_values"] == 2  # None and "" (global chart rows)
    assert stats["rows"] == 4 and stats["songs"] == 3 and stats["countries"] == 2
    assert missing["country"] == 1


def test_join_keeps_one_row_per_duplicated_song() -> None:
    props = pd.concat([properties(), properties().iloc[[0]]], ignore_index=True)
    frame, stats, _ = join_tables(props, rankings())
    assert stats["duplicate_songs_dropped"] == 1
    assert len(frame) == 4


def test_missing_column_is_named() -> None:
    with pytest.raises(InputError, match=r"song properties: missing column\(s\) tempo"):
        join_tables(properties().drop(columns="tempo"), rankings())
    with pytest.raises(InputError, match=r"song rankings: missing column\(s\) country"):
        join_tables(properties(), rankings().drop(columns="country"))


def test_wrong_dtype_is_named() -> None:
    props = properties().assign(energy=["high"] * 4)
    with pytest.raises(InputError, match=r"must be numeric or boolean: energy \(str"):
        join_tables(props, rankings())
    with pytest.raises(InputError, match="column country must hold strings"):
        join_tables(properties(), rankings().assign(country=1))


def test_nan_only_feature_column_is_refused() -> None:
    with pytest.raises(InputError, match="only missing values: tempo"):
        join_tables(properties().assign(tempo=np.nan), rankings())


def test_empty_and_single_class_data_are_refused() -> None:
    with pytest.raises(InputError, match="no rows left"):
        join_tables(properties(), rankings().iloc[0:0])
    with pytest.raises(InputError, match=r"only one country \(US\)"):
        join_tables(properties(), rankings().assign(country="US"))


def test_parse_sources(tmp_path: Path) -> None:
    assert DataSource.parse("sample:rows=10,countries=3").sample == {"rows": 10, "countries": 3}
    upstream = DataSource.parse(None)
    assert upstream.rankings and upstream.rankings.endswith("99-data_prep/song_rankings.parquet")
    local = DataSource.parse(str(tmp_path), rankings="r.parquet")
    assert local.properties == str(tmp_path / "song_properties.parquet") and local.rankings == "r.parquet"
    with pytest.raises(InputError, match="bad option 'bogus=1'; allowed: rows, countries"):
        DataSource.parse("sample:bogus=1")
    with pytest.raises(InputError, match="rows must be an integer"):
        DataSource.parse("sample:rows=many")
    with pytest.raises(InputError, match="not a directory, URL"):
        DataSource.parse(str(tmp_path / "nope"))


def test_load_from_directory(tmp_path: Path) -> None:
    properties().to_parquet(tmp_path / "song_properties.parquet")
    rankings().to_parquet(tmp_path / "song_rankings.parquet")
    dataset = load_data(DataSource.parse(str(tmp_path)))
    assert not dataset.labels_synthetic and dataset.oracle is None
    assert len(dataset.frame) == 4 and len(dataset.fingerprint) == 64


def test_missing_file_and_bad_parquet(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="song properties: no such file"):
        load_data(DataSource.parse(str(tmp_path)))
    (tmp_path / "song_properties.parquet").write_text("not parquet")
    with pytest.raises(InputError, match=r"cannot read .* as parquet"):
        load_data(DataSource.parse(str(tmp_path)))


def test_sample_source_is_flagged_synthetic() -> None:
    dataset = load_data("sample:rows=500,countries=4,songs=100")
    assert dataset.labels_synthetic and dataset.oracle is not None
    assert set(dataset.frame["country"]) <= {"US", "GB", "DE", "BR"}
    with pytest.raises(InputError, match="countries must be between 2 and 40"):
        load_data("sample:countries=1")
