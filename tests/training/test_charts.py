"""The Kaggle chart CSV as it comes: a tiny hand-written file with every quirk (always runs)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jukebox.errors import InputError, ServiceError
from training.charts import KAGGLE_CSV
from training.data import DataSource, load_data

HEADER = (
    "spotify_id,name,artists,daily_rank,daily_movement,weekly_movement,country,snapshot_date,popularity,"
    "is_explicit,duration_ms,album_name,album_release_date,danceability,energy,key,loudness,mode,speechiness,"
    "acousticness,instrumentalness,liveness,valence,tempo,time_signature"
)
# Song a: the global chart (empty country) and two countries. Song b: Namibia ("NA", not a missing value),
# TRUE, an exponent float, twice in the same country. Song c: its newer row changed its duration.
ROWS = [
    'a,"Song, A","X, Y",1,0,0,,2023-12-05,99,FALSE,200000,Al,2023-01-01,0.5,0.6,1,-5.0,1,0.05,0.1,0,0.1,0.5,120.0,4',
    'a,"Song, A","X, Y",3,0,0,US,2023-12-05,99,FALSE,200000,Al,2023-01-01,0.5,0.6,1,-5.0,1,0.05,0.1,0,0.1,0.5,120.0,4',
    'a,"Song, A","X, Y",7,0,0,GB,2023-12-04,99,FALSE,200000,Al,2023-01-01,0.5,0.6,1,-5.0,1,0.05,0.1,0,0.1,0.5,120.0,4',
    "b,B,Z,2,1,-1,NA,2023-12-05,80,TRUE,180000,Bl,2023-02-02,0.7,0.8,5,-6.5,0,0.3,3.71E-06,1.5e-2,0.2,0.6,99.5,4",
    "b,B,Z,4,1,-1,NA,2023-12-04,80,TRUE,180000,Bl,2023-02-02,0.7,0.8,5,-6.5,0,0.3,3.71E-06,1.5e-2,0.2,0.6,99.5,4",
    "c,C,W,9,0,0,US,2023-12-05,70,false,240000,Cl,2023-03-03,0.4,0.3,7,-9.0,1,0.04,0.5,0,0.3,0.2,80.0,3",
    "c,C,W,9,0,0,US,2023-12-01,70,false,239000,Cl,2023-03-03,0.4,0.3,7,-9.0,1,0.04,0.5,0,0.3,0.2,80.0,3",
]


def write_csv(directory: Path, rows: list[str] = ROWS, header: str = HEADER, name: str = KAGGLE_CSV) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def charts_dir(tmp_path: Path) -> Path:
    write_csv(tmp_path / "charts")
    return tmp_path / "charts"


def test_the_csv_quirks(charts_dir: Path) -> None:
    dataset = load_data(DataSource.parse(str(charts_dir)))
    frame, stats = dataset.frame, dataset.stats
    assert not dataset.labels_synthetic
    assert stats["ranking_rows"] == 7 and stats["rows_without_country"] == 1  # the global chart row
    assert stats["rows"] == 6 and stats["songs"] == 3  # every chart appearance stays a row
    assert sorted(frame["country"].unique()) == ["GB", "NA", "US"]  # Namibia is a country, not NaN
    assert stats["song_country_pairs"] == 4 and stats["countries"] == 3
    b = frame[frame["spotify_id"] == "b"].iloc[0]
    assert b["is_explicit"] == 1.0 and b["acousticness"] == pytest.approx(3.71e-06)
    assert b["instrumentalness"] == pytest.approx(0.015)
    assert set(frame.loc[frame["spotify_id"] == "a", "is_explicit"]) == {0.0}
    # one feature row per song: c's newest snapshot (2023-12-05) wins, and the change is counted
    assert set(frame.loc[frame["spotify_id"] == "c", "duration_ms"]) == {240000.0}
    assert stats["songs_with_varying_features"] == 1


def test_a_csv_path_and_a_csv_in_a_directory_give_the_same_data(charts_dir: Path) -> None:
    by_dir = load_data(DataSource.parse(str(charts_dir)))
    by_file = load_data(DataSource.parse(str(charts_dir / KAGGLE_CSV)))
    assert by_dir.fingerprint == by_file.fingerprint


def test_without_snapshot_date_the_first_row_of_a_song_wins(tmp_path: Path) -> None:
    header = HEADER.replace("snapshot_date,", "")
    rows = [",".join(r.split(",")[:7] + r.split(",")[8:]) if '"' not in r else r for r in ROWS[3:]]
    write_csv(tmp_path, rows, header)
    dataset = load_data(DataSource.parse(str(tmp_path)))
    assert set(dataset.frame.loc[dataset.frame["spotify_id"] == "c", "duration_ms"]) == {240000.0}


def test_since_and_until_keep_the_dated_rows(charts_dir: Path) -> None:
    dataset = load_data(DataSource.parse(str(charts_dir), since="2023-12-05", until="2023-12-05"))
    assert dataset.stats["rows_outside_dates"] == 3
    assert dataset.stats["rows"] == 3 and dataset.stats["rows_without_country"] == 1
    assert load_data(DataSource.parse(str(charts_dir), until="2023-12-04")).stats["rows"] == 3


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2023-13-01", None, "--since '2023-13-01': not a date; use YYYY-MM-DD"),
        (None, "yesterday", "--until 'yesterday': not a date"),
        ("2023-12-05", "2023-12-01", "--since 2023-12-05 is after --until 2023-12-01"),
    ],
)
def test_bad_dates_name_the_option(charts_dir: Path, since: str | None, until: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        DataSource.parse(str(charts_dir), since=since, until=until)


def test_a_date_filter_needs_a_snapshot_date_column(tmp_path: Path) -> None:
    header = HEADER.replace("snapshot_date,", "")
    write_csv(tmp_path, [",".join(r.split(",")[:7] + r.split(",")[8:]) for r in ROWS[3:]], header)
    with pytest.raises(InputError, match="--since: the chart rows have no snapshot_date column"):
        load_data(DataSource.parse(str(tmp_path), since="2023-01-01"))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            ",TRUE,180000,",
            ",maybe,180000,",
            r"column is_explicit: 2 value\(s\) are not TRUE/FALSE, e.g. 'maybe' on line 5",
        ),
        (",99.5,4", ",fast,4", r"column tempo: 2 value\(s\) are not numbers, e.g. 'fast' on line 5"),
        (",99.5,4", ",inf,4", r"tempo \(2 rows\) hold values that are not finite FP32 numbers.*spotify_id 'b'"),
        (",99.5,4", ",1e300,4", r"tempo \(2 rows\) hold values that are not finite FP32 numbers"),
    ],
)
def test_bad_values_are_refused_naming_the_column(tmp_path: Path, old: str, new: str, message: str) -> None:
    write_csv(tmp_path, [row.replace(old, new) for row in ROWS])
    with pytest.raises(InputError, match=message):
        load_data(DataSource.parse(str(tmp_path)))


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "latin1")
    path.write_bytes(path.read_bytes().replace(b"\nb,B,Z,2", b"\nb\xf3,B,Z,2"))  # Latin-1 in a spotify_id
    with pytest.raises(InputError, match=rf"chart CSV {path}: not UTF-8 text"):
        load_data(DataSource.parse(str(path)))
    write_csv(tmp_path / "short", header=HEADER.replace("tempo,", ""), rows=[])
    with pytest.raises(InputError, match=r"missing column\(s\) tempo; the Kaggle chart CSV needs"):
        load_data(DataSource.parse(str(tmp_path / "short")))
    (tmp_path / "dir.parquet").mkdir()
    source = DataSource.parse(str(write_csv(tmp_path / "fine")), properties=str(tmp_path / "dir.parquet"))
    with pytest.raises(InputError, match=r"song properties .*dir\.parquet: is a directory"):
        load_data(source)
    with pytest.raises(InputError, match=r"no such file"):
        load_data(DataSource.parse(str(tmp_path / "absent.csv")))


def test_a_directory_with_neither_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=rf"no song_properties.parquet or song_rankings.parquet there.*{KAGGLE_CSV}"):
        DataSource.parse(str(tmp_path))


def test_properties_override_the_csv_features_and_differences_are_counted(charts_dir: Path, tmp_path: Path) -> None:
    songs = load_data(DataSource.parse(str(charts_dir))).frame.drop_duplicates("spotify_id")
    table = songs.drop(columns=["country", "daily_rank"]).reset_index(drop=True)
    table.loc[table["spotify_id"] == "a", "duration_ms"] += 1000
    table[table["spotify_id"] != "c"].to_parquet(tmp_path / "props.parquet")  # song c has no properties there
    dataset = load_data(DataSource.parse(str(charts_dir), properties=str(tmp_path / "props.parquet")))
    assert dataset.stats["songs_features_differ_from_properties"] == 1
    assert dataset.stats["rows_without_song_properties"] == 2  # c's chart rows
    assert set(dataset.frame.loc[dataset.frame["spotify_id"] == "a", "duration_ms"]) == {201000.0}
    with pytest.raises(InputError, match="--rankings cannot be combined with the chart CSV"):
        DataSource.parse(str(charts_dir), rankings="r.parquet")


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(charts_dir: Path) -> Iterator[str]:
    (charts_dir / "broken.csv").write_bytes(b"\x89PNG not a csv at all")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(charts_dir)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_csv_url_goes_through_the_checked_cache(server: str, charts_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    dataset = load_data(DataSource.parse(f"{server}/{KAGGLE_CSV}"), cache=cache)
    assert dataset.fingerprint == load_data(DataSource.parse(str(charts_dir))).fingerprint
    assert len(list(cache.iterdir())) == 1
    with pytest.raises(ServiceError, match=rf"chart CSV {server}/broken.csv: .*\(not cached\)"):
        load_data(DataSource.parse(f"{server}/broken.csv"), cache=cache)
    assert len(list(cache.iterdir())) == 1


def test_training_on_a_generated_kaggle_csv(tmp_path: Path) -> None:
    """A CSV big enough to train on: trains with no conversion step and real labels."""
    from training.params import TrainingParams
    from training.pipeline import train

    rng = np.random.default_rng(0)
    countries = ["AR", "NA", "US", "JP"]
    lines = []
    for song in range(120):
        features = [rng.random() for _ in range(9)]
        chart = countries[song % 4]
        for day in range(1 + song % 3):
            cells = [f"s{song}", "n", "a", str(1 + song % 50), "0", "0", chart, f"2023-12-0{day + 1}", "50",
                     "TRUE" if song % 2 else "FALSE", str(150000 + song * 500), "al", "2023-01-01",
                     *(f"{v:.4g}" for v in features[:2]), str(song % 12), f"{-5 - features[3]:.3f}", str(song % 2),
                     *(f"{v:.3e}" for v in features[4:9]), f"{90 + 60 * features[0]:.3f}", "4"]  # fmt: skip
            lines.append(",".join(cells))
    write_csv(tmp_path / "data", lines)
    params = TrainingParams(hidden_layers=[8], max_iter=20)
    result = train(str(tmp_path / "data"), tmp_path / "model", params)
    assert result.labels == sorted(countries) and not result.labels_synthetic
    assert result.metrics["data"]["rows"] == sum(1 + s % 3 for s in range(120))
    assert pd.read_json(tmp_path / "model" / "labels.json", typ="series").tolist() == sorted(countries)
