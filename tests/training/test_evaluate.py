"""The held-out metrics and baselines against values computed by hand on a tiny table."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from training.evaluate import _expected_random_ap, evaluate, recall_at

CLASSES = ["A", "B", "C", "D"]
# Held-out chart rows. T(s1) = {A, B}, T(s2) = {C}, T(s3) = {A, E}; E is a country the model never saw.
TEST = pd.DataFrame(
    {
        "spotify_id": ["s1", "s1", "s1", "s2", "s3", "s3"],
        "country": ["A", "A", "B", "C", "A", "E"],
        "x": [1, 1, 1, 2, 3, 3],
    }
)
# Training songs: t1 in A and B, t2 in A, t3 in C, t4 in A -> song prevalence A 3/4, B 1/4, C 1/4, D 0.
TRAIN = pd.DataFrame({"spotify_id": ["t1", "t1", "t2", "t3", "t4"], "country": ["A", "B", "A", "C", "A"], "x": 0})
SCORES = {
    1: [0.5, 0.1, 0.3, 0.1],  # ranks A, C, B, D (tie B/D broken by label order)
    2: [0.1, 0.2, 0.3, 0.4],  # ranks D, C, B, A
    3: [0.2, 0.4, 0.3, 0.1],  # ranks B, C, A, D
}


def scorer(X: np.ndarray) -> np.ndarray:
    return np.array([SCORES[int(x)] for x in X[:, 0]])


def features(frame: pd.DataFrame) -> np.ndarray:
    return frame[["x"]].to_numpy(float)


@pytest.fixture(scope="module")
def result() -> dict:
    return evaluate(scorer, CLASSES, TEST, TRAIN, features)


def test_row_and_song_metrics(result: dict) -> None:
    m = result["metrics"]
    assert m["test_rows"] == 6 and m["test_songs"] == 3
    assert m["accuracy"] == pytest.approx(2 / 6)  # s1's two A rows
    assert m["top3_accuracy"] == pytest.approx(5 / 6)  # everything but s3's unknown E
    # recall@5 covers all 4 countries: s1 2/2, s2 1/1, s3 1/2 (E is unreachable)
    assert m["recall_at_5"] == pytest.approx((1 + 1 + 0.5) / 3)
    # AP per country over the songs: A ranks s1, s3 (both positive) first -> 1; B ranks s1 last of 3 -> 1/3;
    # C scores every song 0.3: one threshold, precision 1/3 -> 1/3; D has no positive song and is skipped
    assert m["mean_average_precision"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)


def test_recall_at_k_by_hand() -> None:
    Y = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]], dtype=bool)
    scores = scorer(np.array([[1], [2], [3]]))
    # top-2: s1 {A, C} hits 1 of 2; s2 {D, C} hits 1 of 1; s3 {B, C} hits 0 of 2 (A, E)
    assert recall_at(scores, Y, np.array([2, 1, 2]), 2) == pytest.approx((0.5 + 1 + 0) / 3)


def test_prior_baseline(result: dict) -> None:
    prior = result["baselines"]["prior"]  # scores 3/4, 1/4, 1/4, 0 for every song: ranks A, B, C, D
    assert prior["accuracy"] == pytest.approx(3 / 6)  # the A rows
    assert prior["top3_accuracy"] == pytest.approx(5 / 6)
    assert prior["recall_at_5"] == pytest.approx(2.5 / 3)
    # constant scores per country: AP = the share of held-out songs that charted there (A 2/3, B 1/3, C 1/3)
    assert prior["mean_average_precision"] == pytest.approx((2 / 3 + 1 / 3 + 1 / 3) / 3)


def test_chance_baseline(result: dict) -> None:
    chance = result["baselines"]["chance"]
    assert chance["accuracy"] == pytest.approx(1 / 4 * 5 / 6)  # 5 of 6 rows have a known country
    assert chance["top3_accuracy"] == pytest.approx(3 / 4 * 5 / 6)
    assert chance["recall_at_5"] == pytest.approx(2.5 / 3)
    # E[AP] for N = 3 songs: R = 2 (A) -> 29/36, R = 1 (B, C) -> H_3 / 3 = 11/18
    assert chance["mean_average_precision"] == pytest.approx((29 / 36 + 11 / 18 + 11 / 18) / 3)


def test_lift_is_model_over_prior(result: dict) -> None:
    lift = result["lift_over_prior"]
    assert lift["accuracy"] == pytest.approx((2 / 6) / (3 / 6))
    assert lift["top3_accuracy"] == pytest.approx(1.0)
    assert lift["mean_average_precision"] == pytest.approx((5 / 9) / (4 / 9))
    assert result["baselines"]["oracle"] is None and result["metrics"]["bayes_optimal_accuracy"] is None


@pytest.mark.parametrize(("n", "positives"), [(1, 1), (4, 1), (5, 2), (6, 3), (6, 6)])
def test_expected_random_ap_equals_the_mean_over_every_ranking(n: int, positives: int) -> None:
    values = []
    for order in itertools.permutations(range(n)):
        relevant = [rank for rank, item in enumerate(order, 1) if item < positives]
        values.append(np.mean([(i + 1) / rank for i, rank in enumerate(relevant)]))
    assert _expected_random_ap(n, positives) == pytest.approx(np.mean(values))


def test_tiny_real_values_of_a_zero_to_one_feature_are_not_flagged() -> None:
    """acousticness lives in [0, 1]: Spotify reports values below the training 0.1 % quantile (7.5e-6)."""
    import numpy as np

    from training.features import FEATURES
    from training.ranges import out_of_range

    ranges = {
        "acousticness": {"min": 1e-5, "max": 0.99, "low": 5e-5, "high": 0.98},
        "duration_ms": {"min": 60000.0, "max": 600000.0, "low": 90000.0, "high": 420000.0},
    }
    columns = {name: np.array([0.5, 0.5]) for name in FEATURES}
    columns["acousticness"] = np.array([4e-6, 4e-6])
    columns["duration_ms"] = np.array([215000.0, 0.3])  # a real duration, then a MinMax-scaled one
    flags = out_of_range(columns, ranges)
    assert flags[0] == []
    assert len(flags[1]) == 1 and "duration_ms" in flags[1][0]
