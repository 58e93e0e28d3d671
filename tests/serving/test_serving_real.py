"""A model trained on real charts (../shared/data/charts-2023) served by `jukebox serve` as a process:
real country codes come back, and scaled inputs are flagged. Skipped when ../shared is absent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests
from serving_fixtures import serve_process

from jukebox.cli import main
from serving.contract import FEATURES, WARNING_HEADER

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
CHARTS = SHARED_DATA / "charts-2023"
NEW_SONG = SHARED_DATA / "fav_new_song_properties.parquet"

pytestmark = pytest.mark.skipif(
    not (CHARTS / "universal_top_spotify_songs.csv").is_file() or not NEW_SONG.is_file(),
    reason=f"needs {CHARTS} and {NEW_SONG} (../shared beside the repo)",
)


@pytest.fixture(scope="module")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.params import TrainingParams
    from training.pipeline import train

    out = tmp_path_factory.mktemp("real") / "model"
    train(str(CHARTS), out, TrainingParams(hidden_layers=[16], max_iter=30))
    return out


@pytest.fixture(scope="module")
def url(real_model: Path) -> Iterator[str]:
    with serve_process(real_model, REPO) as base:
        yield base


def song_body(row: dict[str, float]) -> dict:
    return {"inputs": [{"name": f, "shape": [1, 1], "datatype": "FP32", "data": [row[f]]} for f in FEATURES]}


def test_the_served_model_answers_with_real_country_codes(url, real_model, capsys) -> None:
    code = main(["predict", "--url", url, "--parquet", str(NEW_SONG), "--json", "--top", "5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    document = json.loads(out)
    assert document["output"] == "softmax"
    [row] = document["rows"]
    labels = json.loads((real_model / "labels.json").read_text())
    assert len(labels) == 72 and {"US", "GB", "DE", "JP", "BR", "ZA"} <= set(labels)
    assert list(row["probabilities"]) == labels and row["warnings"] == []
    assert [item["country"] for item in row["top"]] and all(item["country"] in labels for item in row["top"])


def test_the_served_model_flags_minmax_scaled_inputs(url, real_model) -> None:
    song = pd.read_parquet(NEW_SONG).iloc[0]
    raw = {f: float(song[f]) for f in FEATURES}
    assert (
        WARNING_HEADER not in requests.post(f"{url}/v2/models/jukebox/infer", json=song_body(raw), timeout=10).headers
    )
    ranges = json.loads((real_model / "feature_ranges.json").read_text())
    scaled = {f: (raw[f] - ranges[f]["min"]) / (ranges[f]["max"] - ranges[f]["min"]) for f in FEATURES}
    answer = requests.post(f"{url}/v2/models/jukebox/infer", json=song_body(scaled), timeout=10)
    assert answer.status_code == 200
    assert "duration_ms=" in answer.headers[WARNING_HEADER] and "tempo=" in answer.headers[WARNING_HEADER]
