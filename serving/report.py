"""What `jukebox predict` shows: top-k countries as a table or JSON, and a bar chart over all countries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jukebox.errors import InputError

MAX_PLOTTED_ROWS = 12


@dataclass(frozen=True)
class Prediction:
    """The class probabilities for one input row."""

    title: str
    probabilities: np.ndarray  # [n_classes]

    def top(self, labels: list[str], k: int) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(labels[i], float(self.probabilities[i])) for i in order]


def table(predictions: list[Prediction], labels: list[str], k: int) -> str:
    """One block per row: rank, country, probability."""
    blocks = []
    for prediction in predictions:
        lines = [prediction.title, f"  {'#':>2}  {'country':<8} probability"]
        lines += [f"  {rank:>2}  {label:<8} {p:11.4f}" for rank, (label, p) in enumerate(prediction.top(labels, k), 1)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def as_json(predictions: list[Prediction], labels: list[str], k: int) -> list[dict[str, Any]]:
    """Per row: the title, the top-k and every class probability."""
    return [
        {
            "input": prediction.title,
            "top": [{"country": label, "probability": p} for label, p in prediction.top(labels, k)],
            "probabilities": dict(zip(labels, map(float, prediction.probabilities), strict=True)),
        }
        for prediction in predictions
    ]


def plot(predictions: list[Prediction], labels: list[str], path: Path) -> int:
    """A bar chart over the countries per row (at most MAX_PLOTTED_ROWS); returns how many were drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = predictions[:MAX_PLOTTED_ROWS]
    figure, axes = plt.subplots(len(shown), 1, figsize=(max(8, 0.35 * len(labels)), 3.2 * len(shown)), squeeze=False)
    for axis, prediction in zip(axes[:, 0], shown, strict=True):
        order = np.argsort(-prediction.probabilities, kind="stable")
        axis.bar([labels[i] for i in order], prediction.probabilities[order], color="tab:blue")
        axis.set_title(prediction.title)
        axis.set_ylabel("probability")
        axis.tick_params(axis="x", labelrotation=90)
    figure.tight_layout()
    try:
        figure.savefig(path)
    except (OSError, ValueError) as error:
        raise InputError(f"--plot {path}: cannot write the chart ({error})") from None
    finally:
        plt.close(figure)
    return len(shown)
