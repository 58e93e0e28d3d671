"""Held-out metrics for "which countries will like this song", the baselines they are read against,
and the confusion-matrix picture.

Definitions (C = the model's countries, those seen in training; n = |C|):
- row metrics, over held-out chart rows (one row = one song on one country's chart on one day):
  `accuracy` (top-1), `top3_accuracy`, macro precision / recall / F1 over every country seen in train
  or test (a test country the model never saw counts as wrong);
- song metrics, over held-out songs; T(s) = the countries song s charted in (held-out rows):
  `recall_at_k` = mean over songs of |top-k countries of s ∩ T(s)| / |T(s)|, k = 5 and 10;
- country metric: `mean_average_precision` = the mean over countries c in C that at least one
  held-out song charted in of AP(c), the average precision of ranking the held-out songs by their
  score for c: AP = Σ_i (R_i - R_(i-1)) · P_i over the distinct score thresholds, R_i / P_i the recall
  and precision at threshold i (scikit-learn's `average_precision_score`; tied scores share a threshold).
Baselines, each scored with the same functions on the same held-out data:
- `prior`: every song gets the same scores, each country's share of the training songs that charted there;
- `chance`: the exact expectation under a uniformly random ranking of C: top-k and recall@k give
  min(k, n)/n of what is reachable; AP(c) = (H_N + (R - 1)(N - H_N)/(N - 1)) / N for N held-out songs,
  R of them positive, H_N the N-th harmonic number;
- `oracle` (sample data only): the generator's true p(country | features) as scores.
`lift_over_prior` = model / prior for each of those metrics (null where the prior scores 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from training.features import SONG_ID, TARGET

if TYPE_CHECKING:
    import pandas as pd

    from training.sample import SampleOracle

TOP_K = 3
RECALL_K = (5, 10)
#: The metrics every baseline is scored on (and the lift is computed for).
BASELINE_KEYS = ("accuracy", "top3_accuracy", *(f"recall_at_{k}" for k in RECALL_K), "mean_average_precision")
Scorer = Callable[[np.ndarray], np.ndarray]  # (n, 13) raw features -> (n, n_classes) scores


@dataclass(frozen=True)
class HeldOut:
    """The held-out data in the two shapes the metrics need."""

    rows_X: np.ndarray  # (rows, 13)
    rows_y: np.ndarray  # (rows,) true country of each chart row
    songs_X: np.ndarray  # (songs, 13), songs sorted by id
    songs_Y: np.ndarray  # (songs, n_classes) bool: song charted in that (known) country
    songs_true: np.ndarray  # (songs,) number of countries each song charted in, unknown ones included
    classes: tuple[str, ...]


def held_out(test: pd.DataFrame, classes: list[str], features: Callable[[pd.DataFrame], np.ndarray]) -> HeldOut:
    """Rows and songs of the held-out table; `features` turns a frame into its (n, 13) matrix."""
    pairs = test[[SONG_ID, TARGET]].drop_duplicates()
    songs = test.drop_duplicates(SONG_ID).sort_values(SONG_ID, kind="stable")
    song_index = {song: i for i, song in enumerate(songs[SONG_ID])}
    class_index = {label: j for j, label in enumerate(classes)}
    Y = np.zeros((len(songs), len(classes)), dtype=bool)
    for song, country in pairs.itertuples(index=False):
        if country in class_index:
            Y[song_index[song], class_index[country]] = True
    true_counts = pairs.groupby(SONG_ID).size().reindex(songs[SONG_ID]).to_numpy()
    return HeldOut(features(test), test[TARGET].to_numpy(object), features(songs), Y, true_counts, tuple(classes))


def _ranked(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def row_metrics(scores: np.ndarray, classes: tuple[str, ...] | list[str], y_true: np.ndarray) -> dict[str, float]:
    """Accuracy, macro precision/recall/F1 and top-3 accuracy of per-row `scores` (columns = `classes`)."""
    from sklearn.metrics import precision_recall_fscore_support

    classes_arr = np.asarray(classes, dtype=object)
    y_true = np.asarray(y_true, dtype=object)
    y_pred = classes_arr[scores.argmax(axis=1)]
    top_k = classes_arr[_ranked(scores, min(TOP_K, len(classes)))]
    labels = sorted(set(classes) | set(y_true.tolist()))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    return {
        "accuracy": float(np.mean(y_pred == y_true)),
        "precision_macro": float(precision),
        "recall_macro": float(recall),
        "f1_macro": float(f1),
        "top3_accuracy": float(np.mean((top_k == y_true[:, None]).any(axis=1))),
    }


def recall_at(scores: np.ndarray, Y: np.ndarray, true_counts: np.ndarray, k: int) -> float:
    """Mean over songs of |top-k ∩ T(s)| / |T(s)| (countries the model does not know are never hit)."""
    top = _ranked(scores, min(k, scores.shape[1]))
    hits = np.take_along_axis(Y, top, axis=1).sum(axis=1)
    return float(np.mean(hits / true_counts))


def mean_average_precision(scores: np.ndarray, Y: np.ndarray) -> float | None:
    """Mean over countries with at least one positive song of the AP of ranking the songs by score."""
    from sklearn.metrics import average_precision_score

    columns = [j for j in range(Y.shape[1]) if Y[:, j].any()]
    if not columns:
        return None
    return float(np.mean([average_precision_score(Y[:, j], scores[:, j]) for j in columns]))


def ranking_metrics(data: HeldOut, row_scores: np.ndarray, song_scores: np.ndarray) -> dict[str, Any]:
    """Every model metric: row metrics, recall@k per song, mean average precision over countries."""
    metrics: dict[str, Any] = row_metrics(row_scores, data.classes, data.rows_y)
    for k in RECALL_K:
        metrics[f"recall_at_{k}"] = recall_at(song_scores, data.songs_Y, data.songs_true, k)
    metrics["mean_average_precision"] = mean_average_precision(song_scores, data.songs_Y)
    return metrics


def _expected_random_ap(n: int, positives: int) -> float:
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    if n == 1:
        return 1.0
    return (harmonic + (positives - 1) * (n - harmonic) / (n - 1)) / n


def chance_metrics(data: HeldOut) -> dict[str, Any]:
    """Exact expectations of the baseline metrics under a uniformly random ranking of the countries."""
    n = len(data.classes)
    known_rows = float(np.mean(np.isin(data.rows_y, np.asarray(data.classes, dtype=object))))
    reachable = data.songs_Y.sum(axis=1) / data.songs_true
    positives = [int(p) for p in data.songs_Y.sum(axis=0) if p]
    songs = len(data.songs_X)
    metrics: dict[str, Any] = {
        "accuracy": known_rows / n,
        "top3_accuracy": min(TOP_K, n) / n * known_rows,
        **{f"recall_at_{k}": float(min(k, n) / n * np.mean(reachable)) for k in RECALL_K},
        "mean_average_precision": float(np.mean([_expected_random_ap(songs, p) for p in positives]))
        if positives
        else None,
    }
    return metrics


def song_prior(train: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Each country's share of the training songs that charted there (the prior baseline's scores)."""
    songs = train[[SONG_ID, TARGET]].drop_duplicates()
    counts = songs.groupby(TARGET).size().reindex(classes, fill_value=0).to_numpy(np.float64)
    return counts / max(1, train[SONG_ID].nunique())


def baseline_metrics(data: HeldOut, scorer: Scorer) -> dict[str, Any]:
    metrics = ranking_metrics(data, scorer(data.rows_X), scorer(data.songs_X))
    return {key: metrics[key] for key in BASELINE_KEYS}


def lift(model: dict[str, Any], prior: dict[str, Any]) -> dict[str, float | None]:
    """model / prior per baseline metric; None where either is missing or the prior is 0."""
    return {
        key: (model[key] / prior[key] if model.get(key) is not None and prior.get(key) else None)
        for key in BASELINE_KEYS
    }


def evaluate(
    scorer: Scorer,
    classes: list[str],
    test: pd.DataFrame,
    train: pd.DataFrame,
    features: Callable[[pd.DataFrame], np.ndarray],
    oracle: SampleOracle | None = None,
) -> dict[str, Any]:
    """`{"metrics", "baselines", "lift_over_prior"}` of a model (its `scorer`) on the held-out songs.

    With an `oracle` (sample data): the exact Bayes-optimal accuracy of the held-out rows and the
    model's accuracy relative to it, and the oracle's own scores as a baseline.
    """
    data = held_out(test, classes, features)
    metrics: dict[str, Any] = {
        "test_rows": len(data.rows_y),
        "test_songs": len(data.songs_X),
        **ranking_metrics(data, scorer(data.rows_X), scorer(data.songs_X)),
        "bayes_optimal_accuracy": None,
        "accuracy_vs_bayes": None,
    }
    prior_scores = song_prior(train, classes)
    baselines: dict[str, Any] = {
        "chance": chance_metrics(data),
        "prior": baseline_metrics(data, lambda X: np.tile(prior_scores, (len(X), 1))),
        "oracle": None,
    }
    if oracle is not None:
        bayes = oracle.bayes_accuracy(data.rows_X)
        metrics["bayes_optimal_accuracy"] = bayes
        metrics["accuracy_vs_bayes"] = metrics["accuracy"] / bayes if bayes > 0 else None
        baselines["oracle"] = baseline_metrics(data, _oracle_scorer(oracle, classes))
    return {"metrics": metrics, "baselines": baselines, "lift_over_prior": lift(metrics, baselines["prior"])}


def _oracle_scorer(oracle: SampleOracle, classes: list[str]) -> Scorer:
    """The oracle's p(country | x) in the model's class order (0 for a class the generator lacks)."""
    position = {country: i for i, country in enumerate(oracle.countries)}

    def score(X: np.ndarray) -> np.ndarray:
        proba = oracle.proba(X)
        return np.column_stack([proba[:, position[c]] if c in position else np.zeros(len(X)) for c in classes])

    return score


def confusion(classes: list[str], y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts, rows = true country (model classes only), columns = predicted."""
    from sklearn.metrics import confusion_matrix

    return np.asarray(confusion_matrix(y_true, y_pred, labels=classes))


def plot_confusion(matrix: np.ndarray, classes: list[str], path: str | Path, title: str) -> None:
    """Row-normalised confusion matrix as a PNG (Agg backend, deterministic layout)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    size = max(5.0, 0.32 * len(classes) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size), dpi=100)
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_xlabel("predicted country")
    ax.set_ylabel("true country")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true country's rows")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
