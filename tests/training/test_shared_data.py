"""Real data from ../shared/data: the song table and the charts-2023 chart CSV (skipped when absent)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.data import DataSource
from training.params import TrainingParams
from training.pipeline import train


@pytest.fixture
def real_properties(shared_dir: Path) -> Path:
    path = shared_dir / "data" / "song_properties.parquet"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def test_sample_labels_on_real_song_properties(real_properties: Path, tmp_path: Path) -> None:
    source = DataSource.parse(f"sample:rows=4000,countries=5,properties={real_properties}")
    result = train(source, tmp_path / "m", TrainingParams(hidden_layers=[8], max_iter=10))
    assert result.labels_synthetic
    assert result.metrics["data"]["song_rows"] == 14245


def test_real_features_with_an_upstream_shaped_rankings_table(real_properties: Path, tmp_path: Path) -> None:
    """A rankings table with upstream's columns (made up here) trains on the real audio features."""
    songs = pd.read_parquet(real_properties, columns=["spotify_id"])["spotify_id"].to_numpy()[:600]
    rng = np.random.default_rng(0)
    rankings = pd.DataFrame(
        {
            "spotify_id": rng.choice(songs, 3000),
            "country": rng.choice(["US", "GB", "DE", None], 3000),
            "daily_rank": rng.integers(1, 51, 3000),
            "popularity": rng.integers(0, 101, 3000),
            "snapshot_date": pd.Timestamp("2024-01-01"),
        }
    )
    rankings.to_parquet(tmp_path / "song_rankings.parquet")
    source = DataSource.parse(None, properties=str(real_properties), rankings=str(tmp_path / "song_rankings.parquet"))
    result = train(source, tmp_path / "m", TrainingParams(hidden_layers=[8], max_iter=10))
    assert not result.labels_synthetic and result.metrics["metrics"]["bayes_optimal_accuracy"] is None
    assert result.labels == ["DE", "GB", "US"]
    assert result.metrics["data"]["rows_without_country"] > 0


@pytest.fixture(scope="module")
def charts_2023() -> Path:
    from tests.conftest import SHARED_DIR

    path = SHARED_DIR / "data" / "charts-2023"
    if not (path / "universal_top_spotify_songs.csv").is_file():
        pytest.skip(f"{path}/universal_top_spotify_songs.csv is absent (../shared is not beside the repo)")
    return path


def test_charts_2023_loads_with_no_conversion_step(charts_2023: Path) -> None:
    from training.data import load_data

    dataset = load_data(DataSource.parse(str(charts_2023)))
    stats = dataset.stats
    assert stats["ranking_rows"] == 19_999 and stats["rows_without_country"] == 300  # the global chart
    assert stats["rows"] == 19_699 and stats["countries"] == 72 and stats["songs"] == 2_222
    assert stats["rows_dropped_missing_values"] == 0 and stats["rows_without_song_properties"] == 0
    assert stats["songs_with_varying_features"] == 1
    assert dataset.frame["is_explicit"].isin([0.0, 1.0]).all()
    countries = set(dataset.frame["country"])
    assert {"US", "GB", "JP", "ZA"} <= countries and all(len(code) == 2 and code.isupper() for code in countries)


def test_charts_2023_features_against_the_lab_song_table(charts_2023: Path, real_properties: Path) -> None:
    """The CSV's own features win by default; --properties replaces them and the differences are counted."""
    from training.data import load_data

    dataset = load_data(DataSource.parse(str(charts_2023), properties=str(real_properties)))
    assert dataset.stats["songs_features_differ_from_properties"] == 12
    assert dataset.stats["songs"] == 2_222


def test_jukebox_train_on_charts_2023_prints_baselines(charts_2023: Path, tmp_path: Path, capsys) -> None:
    from jukebox.cli import main

    out = tmp_path / "model"
    code = main(["train", "--data", str(charts_2023), "--out", str(out), "--hidden-layers", "16", "--max-iter", "30"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "labels" in printed and "real" in printed and "lift vs prior" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["rows_without_country"] == 300 and not metrics["labels_synthetic"]
    model, prior, chance = metrics["metrics"], metrics["baselines"]["prior"], metrics["baselines"]["chance"]
    assert model["recall_at_5"] > 2 * prior["recall_at_5"] and model["recall_at_5"] > 2 * chance["recall_at_5"]
    assert chance["accuracy"] == pytest.approx(1 / 72, rel=0.05)
    assert metrics["baselines"]["oracle"] is None and model["bayes_optimal_accuracy"] is None


def test_jukebox_explore_on_charts_2023(charts_2023: Path, tmp_path: Path, capsys) -> None:
    """The report answers the lab notebook's questions on real charts; the console shows every drop."""
    from jukebox.cli import main

    out = tmp_path / "report"
    assert main(["explore", "--data", str(charts_2023), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out / 'REPORT.md'}" in printed
    assert re.search(r"^rows dropped: no country \(global\)\s+300$", printed, re.MULTILINE), printed
    assert re.search(r"^rows / songs / countries\s+19699 / 2222 / 72$", printed, re.MULTILINE), printed
    report = (out / "REPORT.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert "rows without a country (the global chart), dropped: 300" in report

    def section(heading: str) -> list[str]:
        body = report.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
        return [line for line in body.splitlines() if line.startswith("| ") and not line.startswith("|  |")]

    # Countries, with rows and distinct songs per country: one table row per country, 72 of them.
    balance = {line.split(" | ")[0].strip("| "): line for line in section("Class balance")}
    assert len(balance) == 72 and {"US", "GB", "JP", "ZA"} <= set(balance)
    songs_per_country = summary["songs_per_country"]
    assert len(songs_per_country) == 72 and sum(songs_per_country.values()) == summary["data"]["song_country_pairs"]
    assert balance["US"].startswith(f"| US | 300 | {songs_per_country['US']} | 0.015")  # counts print as counts
    # Countries per song: the histogram covers every song.
    spread = summary["countries_per_song"]
    assert sum(spread["songs_by_countries"].values()) == 2222
    assert f"A song charts in {spread['mean']:.2f} countries on average" in report
    assert len(section("Countries per song")) == 1 + len(spread["songs_by_countries"])
    # Feature distributions per country: per-country medians of all 13 features, one row per country.
    per_country = section("Feature distributions per country")
    assert len(per_country) == 72 and all(line.count(" | ") == 13 for line in per_country)
    assert (out / "features_by_country.png").stat().st_size > 0
