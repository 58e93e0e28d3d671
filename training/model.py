"""The estimator: StandardScaler + MLPClassifier in one scikit-learn Pipeline, split by song."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from jukebox.errors import InputError
from training.features import FEATURES, SONG_ID, TARGET
from training.params import TrainingParams

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline


def feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The 13 features as float64 holding float32-representable values (what ONNX clients send)."""
    return frame[list(FEATURES)].to_numpy(np.float32).astype(np.float64)


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame


def split_by_song(frame: pd.DataFrame, test_size: float, seed: int) -> Split:
    """Seeded hold-out by song: all rows of a song land on the same side."""
    songs = np.sort(frame[SONG_ID].unique())
    n_test = round(len(songs) * test_size)
    if not 1 <= n_test < len(songs):
        raise InputError(
            f"testSize {test_size} leaves {n_test} of {len(songs)} songs for testing: need at least one "
            "song on each side"
        )
    rng = np.random.default_rng(seed)
    test_songs = rng.choice(songs, size=n_test, replace=False)
    is_test = frame[SONG_ID].isin(test_songs).to_numpy()
    return Split(frame.loc[~is_test].reset_index(drop=True), frame.loc[is_test].reset_index(drop=True))


def fit_rows(train: pd.DataFrame, aggregate: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, y, sample weights. Aggregated: one row per (song, country), weight = number of chart rows."""
    if not aggregate:
        return feature_matrix(train), train[TARGET].to_numpy(str), np.ones(len(train))
    grouped = train.groupby([SONG_ID, TARGET], sort=True, observed=True)
    first = grouped.head(1).set_index([SONG_ID, TARGET]).sort_index()
    counts = grouped.size().sort_index()
    return (
        feature_matrix(first),
        first.index.get_level_values(TARGET).to_numpy(str),
        counts.to_numpy(np.float64),
    )


def fit(train: pd.DataFrame, params: TrainingParams) -> Pipeline:
    """Fit scaler + MLP on the training rows (seeded; classes_ = sorted country codes)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    X, y, weights = fit_rows(train, params.aggregate_duplicates)
    _, class_counts = np.unique(y, return_counts=True)
    early = params.early_stopping and class_counts.min() >= 2 and len(y) >= 20
    mlp = MLPClassifier(
        hidden_layer_sizes=tuple(params.hidden_layers),
        activation=params.activation,
        alpha=params.alpha,
        learning_rate_init=params.learning_rate_init,
        batch_size=min(params.batch_size, len(y)),
        max_iter=params.max_iter,
        tol=params.tol,
        n_iter_no_change=params.n_iter_no_change,
        early_stopping=early,
        validation_fraction=params.validation_fraction,
        random_state=params.seed,
    )
    pipeline = Pipeline([("scaler", StandardScaler()), ("mlp", mlp)])
    # Small matrices: one BLAS thread is faster than several (and bit-for-bit reproducible).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X, y, mlp__sample_weight=weights)
    return pipeline


def fit_info(pipeline: Pipeline) -> dict[str, object]:
    """Epochs run, whether the optimiser converged before max_iter, final training loss."""
    mlp = pipeline.named_steps["mlp"]
    return {
        "epochs": int(mlp.n_iter_),
        "converged": bool(mlp.n_iter_ < mlp.max_iter),
        "final_loss": float(mlp.loss_),
    }
