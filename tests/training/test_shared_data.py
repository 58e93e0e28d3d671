"""Real audio features from ../shared/data (skipped when that folder is absent)."""

from __future__ import annotations

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
    assert result.metrics["data"]["rows_dropped_missing_values"] > 0
