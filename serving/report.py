"""What `jukebox predict` shows: top-k countries as a table or JSON, and a bar chart over all countries.

How a number reads depends on the model's head (`output_semantics`): softmax = a probability over the
countries (the row sums to 1); sigmoid = an independent P(the song charts there) per country; unknown
(a model that does not say, e.g. OVMS without --labels MODEL_DIR) = a score, said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jukebox.errors import InputError
from serving.contract import SEMANTICS

MAX_PLOTTED_ROWS = 12
COLUMN = {"softmax": "probability", "sigmoid": "P(charts)", None: "score"}
UNKNOWN = "score: the model does not say whether it is a softmax probability or a sigmoid score"


def meaning(semantics: str | None) -> str:
    return SEMANTICS.get(semantics or "", UNKNOWN)


@dataclass(frozen=True)
class Prediction:
    """The model's output row for one input row, and the warnings about that input."""

    title: str
    probabilities: np.ndarray  # [n_classes]: softmax probabilities or sigmoid scores (see `meaning`)
    warnings: list[str] = field(default_factory=list)

    def top(self, labels: list[str], k: int) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(labels[i], float(self.probabilities[i])) for i in order]


def table(predictions: list[Prediction], labels: list[str], k: int, semantics: str | None = "softmax") -> str:
    """One block per row: rank, country, value (named by the output semantics), and its warnings."""
    column = COLUMN.get(semantics, "score")
    blocks = [f"output: {meaning(semantics)}"]
    for prediction in predictions:
        lines = [prediction.title]
        lines += [f"  WARNING: {warning}" for warning in prediction.warnings]
        lines.append(f"  {'#':>2}  {'country':<8} {column:>11}")
        lines += [f"  {rank:>2}  {label:<8} {p:11.4f}" for rank, (label, p) in enumerate(prediction.top(labels, k), 1)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def as_json(
    predictions: list[Prediction], labels: list[str], k: int, semantics: str | None = "softmax"
) -> dict[str, Any]:
    """The output semantics and, per row: the title, its warnings, the top-k and every output value.

    The per-country values keep the keys `probability` / `probabilities` whatever the head; `output`
    says how to read them.
    """
    return {
        "output": semantics or "unknown",
        "meaning": meaning(semantics),
        "rows": [
            {
                "input": prediction.title,
                "warnings": prediction.warnings,
                "top": [{"country": label, "probability": p} for label, p in prediction.top(labels, k)],
                "probabilities": dict(zip(labels, map(float, prediction.probabilities), strict=True)),
            }
            for prediction in predictions
        ],
    }


def plot(predictions: list[Prediction], labels: list[str], path: Path, semantics: str | None = "softmax") -> int:
    """A bar chart over the countries per row (at most MAX_PLOTTED_ROWS); returns how many were drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = predictions[:MAX_PLOTTED_ROWS]
    figure, axes = plt.subplots(len(shown), 1, figsize=(max(8, 0.35 * len(labels)), 3.2 * len(shown)), squeeze=False)
    for axis, prediction in zip(axes[:, 0], shown, strict=True):
        order = np.argsort(-prediction.probabilities, kind="stable")
        axis.bar([labels[i] for i in order], prediction.probabilities[order], color="tab:blue")
        axis.set_title(prediction.title + ("  (WARNING: inputs out of range)" if prediction.warnings else ""))
        axis.set_ylabel(COLUMN.get(semantics, "score"))
        axis.tick_params(axis="x", labelrotation=90)
    figure.tight_layout()
    try:
        figure.savefig(path)
    except (OSError, ValueError) as error:
        raise InputError(f"--plot {path}: cannot write the chart ({error})") from None
    finally:
        plt.close(figure)
    return len(shown)
