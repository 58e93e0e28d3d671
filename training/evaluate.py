"""Held-out metrics and the confusion-matrix picture."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from training.sample import SampleOracle

TOP_K = 3


def evaluate(
    proba: np.ndarray,
    classes: list[str],
    y_true: np.ndarray,
    X: np.ndarray | None = None,
    oracle: SampleOracle | None = None,
) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1, top-3 accuracy of `proba` (columns = `classes`).

    Rows whose country the model never saw count as wrong. With an `oracle` (sample data) also the
    Bayes-optimal accuracy on the same rows and the model's accuracy relative to it.
    """
    from sklearn.metrics import precision_recall_fscore_support

    classes_arr = np.asarray(classes, dtype=object)
    y_true = np.asarray(y_true, dtype=object)
    y_pred = classes_arr[proba.argmax(axis=1)]
    k = min(TOP_K, len(classes))
    top_k = classes_arr[np.argsort(-proba, axis=1, kind="stable")[:, :k]]
    labels = sorted(set(classes) | set(y_true.tolist()))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    metrics: dict[str, Any] = {
        "test_rows": len(y_true),
        "accuracy": float(np.mean(y_pred == y_true)),
        "precision_macro": float(precision),
        "recall_macro": float(recall),
        "f1_macro": float(f1),
        "top3_accuracy": float(np.mean((top_k == y_true[:, None]).any(axis=1))),
        "bayes_optimal_accuracy": None,
        "accuracy_vs_bayes": None,
    }
    if oracle is not None and X is not None:
        bayes = oracle.bayes_accuracy(X)
        metrics["bayes_optimal_accuracy"] = bayes
        metrics["accuracy_vs_bayes"] = metrics["accuracy"] / bayes if bayes > 0 else None
    return metrics


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
