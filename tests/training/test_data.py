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
    props = properties()
    props.loc[1, "tempo"] = np.nan  # s1's only chart row is dropped for a missing value
    frame, stats, missing = join_tables(props, rankings())
    assert list(frame.columns) == ["spotify_id", "country", "daily_rank", *FEATURES]
    assert frame["country"].tolist() == ["US", "GB", "GB"]
    assert stats["rows_without_song_properties"] == 1  # "zz"
    assert stats["rows_without_country"] == 2  # None and "" (global chart rows)
    assert stats["rows_dropped_missing_values"] == 1
    assert stats["rows"] == 3 and stats["songs"] == 2 and stats["countries"] == 2
    assert stats["song_country_pairs"] == 3 and stats["rows_outside_dates"] == 0
    assert missing["country"] == 1 and missing["tempo"] == 1


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


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e300])
def test_a_feature_that_is_not_a_finite_fp32_number_is_refused_naming_the_column(value: float) -> None:
    props = properties()
    props.loc[2, "loudness"] = value  # s2 only charts globally: its row is dropped before the check
    props.loc[0, "loudness"] = value  # s0 charts twice
    with pytest.raises(
        InputError, match=r"song properties: column\(s\) loudness \(2 rows\) hold values that are not finite FP32"
    ):
        join_tables(props, rankings())


def test_empty_and_single_class_data_are_refused() -> None:
    with pytest.raises(InputError, match="no rows left"):
        join_tables(properties(), rankings().iloc[0:0])
    with pytest.raises(InputError, match=r"only one country \(US\)"):
        join_tables(properties(), rankings().assign(country="US"))


def test_parse_sources(tmp_path: Path) -> None:
    assert DataSource.parse("sample:rows=10,countries=3").sample == {"rows": 10, "countries": 3}
    upstream = DataSource.parse(None)
    assert upstream.rankings and upstream.rankings.endswith("99-data_prep/song_rankings.parquet")
    (tmp_path / "song_properties.parquet").touch()
    local = DataSource.parse(str(tmp_path), rankings="r.parquet")
    assert local.properties == str(tmp_path / "song_properties.parquet") and local.rankings == "r.parquet"
    with pytest.raises(InputError, match="bad option 'bogus=1'; allowed: rows, countries"):
        DataSource.parse("sample:bogus=1")
    with pytest.raises(InputError, match="rows must be an integer"):
        DataSource.parse("sample:rows=many")
    with pytest.raises(InputError, match="not a directory, a chart CSV"):
        DataSource.parse(str(tmp_path / "nope"))


def test_load_from_directory(tmp_path: Path) -> None:
    properties().to_parquet(tmp_path / "song_properties.parquet")
    rankings().to_parquet(tmp_path / "song_rankings.parquet")
    dataset = load_data(DataSource.parse(str(tmp_path)))
    assert not dataset.labels_synthetic and dataset.oracle is None
    assert len(dataset.frame) == 4 and len(dataset.fingerprint) == 64


def test_missing_file_and_bad_parquet(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no song_properties.parquet or song_rankings.parquet there"):
        DataSource.parse(str(tmp_path))
    rankings().to_parquet(tmp_path / "song_rankings.parquet")
    (tmp_path / "song_properties.parquet").write_text("not parquet")
    with pytest.raises(InputError, match=r"song properties .*song_properties.parquet: cannot read it as parquet"):
        load_data(DataSource.parse(str(tmp_path)))
    with pytest.raises(InputError, match=r"song properties .*nope.parquet: no such file"):
        load_data(DataSource.parse(str(tmp_path), properties=str(tmp_path / "nope.parquet")))


def test_sample_source_is_flagged_synthetic() -> None:
    dataset = load_data("sample:rows=500,countries=4,songs=100")
    assert dataset.labels_synthetic and dataset.oracle is not None
    assert set(dataset.frame["country"]) <= {"US", "GB", "DE", "BR"}
    with pytest.raises(InputError, match="countries must be between 2 and 40"):
        load_data("sample:countries=1")
