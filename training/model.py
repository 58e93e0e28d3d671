"""The estimator: StandardScaler + MLPClassifier in one scikit-learn Pipeline, fitted epoch by epoch.

Two output heads (`head`):
- `softmax`: one output distribution over the countries, fitted on (song, country) rows with the
  weights `weighting` chooses; the output is p(country | song) and sums to 1;
- `sigmoid`: one independent logistic output per country (multi-label), fitted on one row per song with
  the set of countries it charted in; output c is P(the song charts in c), the outputs do not sum to 1.

The loop calls `partial_fit` once per epoch so that it can (a) stop early on a validation split BY SONG
(scikit-learn's own early stopping splits rows, which would put a song on both sides), keeping the best
epoch's weights, (b) report `converged` from what actually happened, and (c) re-raise a Ctrl-C that
scikit-learn's fit swallows (it catches KeyboardInterrupt, warns and returns a half-trained model).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from jukebox.errors import InputError
from training.charts import RANK
from training.features import FEATURES, SONG_ID, TARGET
from training.params import TrainingParams

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline

SKLEARN_INTERRUPT_WARNING = "Training interrupted by user."
CHART_SIZE = 50  # a daily chart's length: rank r weighs (CHART_SIZE + 1 - r) / CHART_SIZE


def feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The 13 features as float64 holding float32-representable values (what ONNX clients send)."""
    return frame[list(FEATURES)].to_numpy(np.float32).astype(np.float64)


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame


def split_by_song(frame: pd.DataFrame, test_size: float, seed: int, name: str = "testSize") -> Split:
    """Seeded hold-out by song: all rows of a song land on the same side."""
    songs = np.sort(frame[SONG_ID].unique())
    n_test = round(len(songs) * test_size)
    if not 1 <= n_test < len(songs):
        raise InputError(
            f"{name} {test_size} leaves {n_test} of {len(songs)} songs for that side: need at least one "
            "song on each side"
        )
    rng = np.random.default_rng(seed)
    test_songs = rng.choice(songs, size=n_test, replace=False)
    is_test = frame[SONG_ID].isin(test_songs).to_numpy()
    return Split(frame.loc[~is_test].reset_index(drop=True), frame.loc[is_test].reset_index(drop=True))


@dataclass(frozen=True)
class FitRows:
    """What the MLP is fitted on: features, targets (labels, or a 0/1 matrix for sigmoid), weights."""

    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray


def _row_weights(frame: pd.DataFrame, weighting: str) -> pd.Series:
    if weighting == "songRank":
        if RANK not in frame.columns:
            raise InputError("training.weighting songRank needs a daily_rank column in the chart rows")
        # a row without a rank weighs like an average one (ranks 1..50 average 0.51)
        rank = frame[RANK].clip(1, CHART_SIZE).fillna((CHART_SIZE + 1) / 2)
        return ((CHART_SIZE + 1 - rank) / CHART_SIZE).astype(float)
    import pandas as pd

    return pd.Series(1.0, index=frame.index)


def pair_rows(frame: pd.DataFrame, weighting: str) -> FitRows:
    """One row per (song, country), sorted. Weight by `weighting`:

    rows: its number of chart rows (days on that chart) — the log-loss of fitting every chart row;
    songs: 1 / number of countries the song charted in — every song counts once, split evenly;
    songDays: its days on that chart / the song's days on all charts — every song counts once;
    songRank: like songDays with each chart row weighted by its rank, (51 - rank) / 50.
    """
    weights = frame.assign(_w=_row_weights(frame, weighting)).groupby([SONG_ID, TARGET], sort=True)["_w"].sum()
    first = frame.groupby([SONG_ID, TARGET], sort=True).head(1).set_index([SONG_ID, TARGET]).sort_index()
    if weighting == "songs":
        values = 1.0 / weights.groupby(level=SONG_ID).transform("size").to_numpy(np.float64)
    elif weighting in ("songDays", "songRank"):
        values = (weights / weights.groupby(level=SONG_ID).transform("sum")).to_numpy(np.float64)
    else:
        values = weights.to_numpy(np.float64)
    return FitRows(feature_matrix(first), first.index.get_level_values(TARGET).to_numpy(str), values)


def encoded(rows: FitRows, labels: list[str]) -> FitRows:
    """The softmax head's string targets as column numbers of the sorted `labels` (faster to fit)."""
    if rows.y.ndim == 2:
        return rows
    return FitRows(rows.X, np.searchsorted(np.asarray(labels), rows.y), rows.weights)


def song_rows(frame: pd.DataFrame, labels: list[str]) -> FitRows:
    """One row per song (sorted by id): its 0/1 vector over `labels` of the countries it charted in."""
    songs = frame.drop_duplicates(SONG_ID).sort_values(SONG_ID, kind="stable")
    index = {song: i for i, song in enumerate(songs[SONG_ID])}
    column = {label: j for j, label in enumerate(labels)}
    Y = np.zeros((len(songs), len(labels)), dtype=np.int64)
    for song, country in frame[[SONG_ID, TARGET]].drop_duplicates().itertuples(index=False):
        if country in column:
            Y[index[song], column[country]] = 1
    return FitRows(feature_matrix(songs), Y, np.ones(len(songs)))


def fit_rows(frame: pd.DataFrame, params: TrainingParams, labels: list[str]) -> FitRows:
    """The head's training rows, targets as column numbers of `labels` (a 0/1 matrix for sigmoid)."""
    rows = song_rows(frame, labels) if params.head == "sigmoid" else pair_rows(frame, params.weighting)
    return encoded(rows, labels)


@dataclass(frozen=True)
class Model:
    """A fitted model: the pipeline, the countries in output order and how the outputs read."""

    pipeline: Pipeline
    labels: list[str]
    head: str  # "softmax" or "sigmoid"
    info: dict[str, Any]

    @property
    def mlp(self) -> MLPClassifier:
        return self.pipeline.named_steps["mlp"]

    def scores(self, X: np.ndarray) -> np.ndarray:
        """(n, n_countries): softmax probabilities or independent sigmoid scores, columns = labels."""
        return np.asarray(self.pipeline.predict_proba(X), dtype=np.float64)


def _scaled(rows: FitRows, scaler: Any) -> FitRows:
    return FitRows(scaler.transform(rows.X), rows.y, rows.weights)


def _loss(mlp: MLPClassifier, rows: FitRows) -> float:
    """The weighted log-loss of (scaled) `rows`, no L2 term: what early stopping watches on validation songs."""
    proba = np.clip(mlp.predict_proba(rows.X), 1e-12, 1 - 1e-12)
    if rows.y.ndim == 2:
        per_row = -(rows.y * np.log(proba) + (1 - rows.y) * np.log(1 - proba)).sum(axis=1)
    else:
        per_row = -np.log(proba[np.arange(len(proba)), rows.y])
    return float(np.average(per_row, weights=rows.weights))


def _epoch(mlp: MLPClassifier, rows: FitRows, classes: np.ndarray) -> None:
    """One pass of partial_fit over (scaled) `rows`; a KeyboardInterrupt scikit-learn swallowed is raised again."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mlp.partial_fit(rows.X, rows.y, sample_weight=rows.weights, classes=classes)
    for warning in caught:
        if str(warning.message) == SKLEARN_INTERRUPT_WARNING:
            raise KeyboardInterrupt("training interrupted during the MLP fit")


def _estimator(params: TrainingParams, n_rows: int) -> MLPClassifier:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=tuple(params.hidden_layers),
        activation=params.activation,
        alpha=params.alpha,
        learning_rate_init=params.learning_rate_init,
        batch_size=min(params.batch_size, n_rows),
        max_iter=1,  # one epoch per partial_fit call; the loop below counts epochs
        # A RandomState object (not an int) so every epoch draws a new shuffle, reproducibly.
        random_state=np.random.RandomState(params.seed),
    )


@dataclass
class _Watch:
    """The stopping rule: the best watched loss so far (its epoch, and its weights when restoring them)
    and the epochs since it last improved by more than `tol`."""

    tol: float
    patience: int
    keep_weights: bool
    best_loss: float = np.inf
    best_epoch: int = 0
    best_weights: tuple[list[np.ndarray], list[np.ndarray]] | None = None
    stalled: int = 0

    def should_stop(self, loss: float, epoch: int, mlp: MLPClassifier) -> bool:
        if loss < self.best_loss - self.tol:
            self.best_loss, self.best_epoch, self.stalled = loss, epoch, 0
            if self.keep_weights:
                self.best_weights = (copy.deepcopy(mlp.coefs_), copy.deepcopy(mlp.intercepts_))
        else:
            self.stalled += 1
        return self.stalled >= self.patience


def fit(train: pd.DataFrame, params: TrainingParams) -> Model:
    """Fit scaler + MLP on the training songs (seeded; labels = sorted country codes).

    With early stopping, `validationFraction` of the training songs are held out; the loop stops when
    their loss has not improved by `tol` for `nIterNoChange` epochs and keeps the best epoch's weights.
    Without, it stops on the training loss the same way. `info["converged"]` is True only when the
    rule stopped it before `maxIter` epochs.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    labels = sorted(str(c) for c in train[TARGET].unique())
    fit_part, validation = _validation_split(train, params)
    raw = fit_rows(fit_part, params, labels)
    scaler = StandardScaler().fit(raw.X)
    rows = FitRows(scaler.transform(raw.X), raw.y, raw.weights)
    held = _scaled(fit_rows(validation, params, labels), scaler) if validation is not None else None
    mlp = _estimator(params, len(rows.y))
    watch = _Watch(params.tol, params.n_iter_no_change, keep_weights=held is not None)
    epoch, converged = 0, False
    # Small matrices: one BLAS thread is faster than several (and bit-for-bit reproducible).
    with threadpool_limits(limits=1, user_api="blas"):
        while epoch < params.max_iter and not converged:
            epoch += 1
            _epoch(mlp, rows, np.arange(len(labels)))
            loss = _loss(mlp, held) if held is not None else float(mlp.loss_)
            converged = watch.should_stop(loss, epoch, mlp)
    if watch.best_weights is not None:
        mlp.coefs_, mlp.intercepts_ = watch.best_weights
    info = {
        "epochs": epoch,
        "best_epoch": watch.best_epoch if held is not None else epoch,
        "converged": converged,
        "stopped_by": ("validation loss" if held is not None else "training loss") if converged else "maxIter",
        "final_training_loss": float(mlp.loss_),
        "validation_loss": watch.best_loss if held is not None else None,
        "validation_songs": int(validation[SONG_ID].nunique()) if validation is not None else 0,
    }
    return Model(Pipeline([("scaler", scaler), ("mlp", mlp)]), labels, params.head, info)


def _validation_split(train: pd.DataFrame, params: TrainingParams) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(fit rows, validation rows) split by song when early stopping is on and there are enough songs."""
    if not params.early_stopping or train[SONG_ID].nunique() < 20:
        return train, None
    split = split_by_song(train, params.validation_fraction, params.seed + 1, "validationFraction")
    if split.train[TARGET].nunique() < train[TARGET].nunique():
        # a country only the validation songs have would be unknown to the model: keep them all for fitting
        kept = (
            split.train[SONG_ID].unique().tolist()
            + split.test.loc[~split.test[TARGET].isin(split.train[TARGET].unique()), SONG_ID].unique().tolist()
        )
        is_fit = train[SONG_ID].isin(kept).to_numpy()
        if is_fit.all():
            return train, None
        return train.loc[is_fit].reset_index(drop=True), train.loc[~is_fit].reset_index(drop=True)
    return split.train, split.test
