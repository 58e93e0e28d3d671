"""The by-song split, the aggregation of duplicate rows, the sample generator and the metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jukebox.errors import InputError
from training.evaluate import row_metrics
from training.features import FEATURES
from training.model import pair_rows, song_rows, split_by_song
from training.sample import COUNTRY_CODES, make_sample


def chart(songs: int = 50, rows_per_song: int = 4) -> pd.DataFrame:
    ids = np.repeat([f"s{i:03d}" for i in range(songs)], rows_per_song)
    frame = pd.DataFrame({"spotify_id": ids, "country": np.resize(["US", "GB", "US"], len(ids))})
    for j, name in enumerate(FEATURES):
        frame[name] = np.repeat(np.arange(songs, dtype=float) + j, rows_per_song)
    return frame


def test_split_never_shares_a_song_and_is_seeded() -> None:
    frame = chart()
    split = split_by_song(frame, 0.2, seed=1)
    assert not set(split.train["spotify_id"]) & set(split.test["spotify_id"])
    assert split.test["spotify_id"].nunique() == 10
    assert len(split.train) + len(split.test) == len(frame)
    again = split_by_song(frame, 0.2, seed=1)
    assert again.test["spotify_id"].tolist() == split.test["spotify_id"].tolist()
    other = split_by_song(frame, 0.2, seed=2)
    assert set(other.test["spotify_id"]) != set(split.test["spotify_id"])


def test_split_needs_songs_on_both_sides() -> None:
    with pytest.raises(InputError, match=r"testSize 0.1 leaves 0 of 2 songs"):
        split_by_song(chart(songs=2), 0.1, seed=0)


def test_pair_rows_weights() -> None:
    frame = chart(songs=3, rows_per_song=3).assign(daily_rank=[1, 50, 26] * 3)  # each song: US, GB, US
    rows = pair_rows(frame, "rows")
    assert rows.X.shape == (6, 13) and rows.weights.sum() == len(frame)
    assert sorted(zip(rows.y.tolist(), rows.weights.tolist(), strict=True)) == [("GB", 1.0)] * 3 + [("US", 2.0)] * 3
    # every song counts once: split evenly, by days (2 of 3 in US), by rank-weighted days
    assert sorted(pair_rows(frame, "songs").weights.tolist()) == [0.5] * 6
    assert sorted(pair_rows(frame, "songDays").weights.tolist()) == pytest.approx([1 / 3] * 3 + [2 / 3] * 3)
    us = 1.0 + 0.5  # ranks 1 and 26 weigh (51 - r) / 50; rank 50 (GB) weighs 0.02
    assert sorted(pair_rows(frame, "songRank").weights.tolist()) == pytest.approx(
        [0.02 / (us + 0.02)] * 3 + [us / (us + 0.02)] * 3
    )
    with pytest.raises(InputError, match="songRank needs a daily_rank column"):
        pair_rows(frame.drop(columns="daily_rank"), "songRank")


def test_song_rows_mark_every_country_a_song_charted_in() -> None:
    rows = song_rows(chart(songs=2, rows_per_song=3), ["DE", "GB", "US"])
    assert rows.y.tolist() == [[0, 1, 1], [0, 1, 1]] and rows.weights.tolist() == [1.0, 1.0]


def test_metrics_on_a_tiny_known_answer() -> None:
    classes = ["A", "B", "C", "D"]
    proba = np.array(
        [
            [0.7, 0.1, 0.1, 0.1],  # true A: top1 right
            [0.1, 0.2, 0.3, 0.4],  # true B: top1 D, top3 D,C,B -> top3 right
            [0.4, 0.3, 0.2, 0.1],  # true D: top3 A,B,C -> wrong
            [0.1, 0.1, 0.7, 0.1],  # true C: right
        ]
    )
    m = row_metrics(proba, classes, np.array(["A", "B", "D", "C"]))
    assert m["accuracy"] == 0.5
    assert m["top3_accuracy"] == 0.75
    # per class precision: A 1/2, B 0, C 1, D 0 -> 0.375; recall: A 1, B 0, C 1, D 0 -> 0.5
    assert m["precision_macro"] == pytest.approx(0.375)
    assert m["recall_macro"] == pytest.approx(0.5)
    assert m["f1_macro"] == pytest.approx((2 / 3 + 1) / 4)


def test_unknown_test_country_counts_as_wrong() -> None:
    m = row_metrics(np.array([[0.9, 0.1], [0.2, 0.8]]), ["A", "B"], np.array(["A", "Z"]))
    assert m["accuracy"] == 0.5 and m["top3_accuracy"] == 0.5


def test_sample_is_seeded_and_its_bayes_accuracy_matches_a_monte_carlo_estimate() -> None:
    a, b = make_sample(rows=2000, countries=5, songs=300), make_sample(rows=2000, countries=5, songs=300)
    pd.testing.assert_frame_equal(a.rankings, b.rankings)
    assert set(a.rankings["country"].dropna()) <= set(COUNTRY_CODES[:5])
    assert a.rankings["country"].isna().sum() > 0  # some "global" rows without a country
    big = make_sample(rows=200_000, countries=5, songs=300)
    joined = big.rankings.dropna().merge(big.properties, on="spotify_id")
    X = joined[list(FEATURES)].to_numpy(float)
    proba = big.oracle.proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    bayes_rule = np.asarray(big.oracle.countries)[proba.argmax(axis=1)]
    realised = float(np.mean(bayes_rule == joined["country"].to_numpy()))
    assert realised == pytest.approx(big.oracle.bayes_accuracy(X), abs=0.01)
    assert 0.3 < realised < 0.95  # neither trivial nor hopeless


def test_sample_uses_given_song_properties() -> None:
    props = make_sample(rows=10, songs=50, seed=9).properties.assign(spotify_id=lambda f: "real" + f.spotify_id)
    sample = make_sample(rows=500, properties=props)
    assert set(sample.rankings["spotify_id"]) <= set(props["spotify_id"])
