"""`jukebox explore`: the lab's first notebook as a self-contained report (REPORT.md + PNGs)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from training.data import Dataset, DataSource, load_data
from training.features import FEATURES, SONG_ID, TARGET
from training.model_files import write_json
from training.outdir import SYNTHETIC_WARNING, atomic_dir
from training.progress import QUIET, Progress

if TYPE_CHECKING:
    import pandas as pd

MI_ROWS = 20_000  # mutual information: at most this many songs, one random chart row each
ANOVA_ROWS = 500_000


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_distributions(songs: pd.DataFrame, path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(4, 4, figsize=(14, 11))
    for ax, name in zip(axes.flat, FEATURES, strict=False):
        ax.hist(songs[name].astype(float), bins=40, color="#4477aa")
        ax.set_title(name, fontsize=9)
    for ax in axes.flat[len(FEATURES) :]:
        ax.axis("off")
    fig.suptitle("feature distributions (one value per song)")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_correlations(songs: pd.DataFrame, path: Path) -> pd.DataFrame:
    plt = _pyplot()
    corr = songs[list(FEATURES)].astype(float).corr()
    fig, ax = plt.subplots(figsize=(9, 8))
    image = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(FEATURES)), FEATURES, rotation=90)
    ax.set_yticks(range(len(FEATURES)), FEATURES)
    fig.colorbar(image, ax=ax, label="Pearson correlation")
    ax.set_title("feature correlations (songs)")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return corr


def plot_balance(counts: pd.DataFrame, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.3 * len(counts) + 2), 4))
    ax.bar(counts.index.astype(str), counts["rows"], color="#228833")
    ax.set_ylabel("chart rows")
    ax.set_title("class balance: rows per country")
    ax.tick_params(axis="x", rotation=90)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def countries_per_song(frame: pd.DataFrame) -> dict[str, Any]:
    """How many countries each song charts in: summary numbers and a histogram in bins."""
    per_song = frame[[SONG_ID, TARGET]].drop_duplicates().groupby(SONG_ID).size()
    bins = {
        "1": (1, 1),
        "2": (2, 2),
        "3": (3, 3),
        "4-5": (4, 5),
        "6-10": (6, 10),
        "11-20": (11, 20),
        "21+": (21, 10**9),
    }
    return {
        "mean": float(per_song.mean()),
        "median": float(per_song.median()),
        "max": int(per_song.max()),
        "songs_by_countries": {name: int(per_song.between(lo, hi).sum()) for name, (lo, hi) in bins.items()},
    }


def country_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Per country, the median of each feature over the distinct songs that charted there."""
    songs = frame.drop_duplicates([SONG_ID, TARGET])
    return songs.groupby(TARGET)[list(FEATURES)].median().astype(float)


def plot_country_features(frame: pd.DataFrame, path: Path) -> None:
    """Heatmap: per country, each feature's mean over its songs, in standard deviations from all songs."""
    plt = _pyplot()
    songs = frame.drop_duplicates(SONG_ID)[list(FEATURES)].astype(float)
    means = frame.drop_duplicates([SONG_ID, TARGET]).groupby(TARGET)[list(FEATURES)].mean().astype(float)
    spread = songs.std().replace(0, 1.0)
    z = (means - songs.mean()) / spread
    fig, ax = plt.subplots(figsize=(9, max(4, 0.22 * len(z) + 1.5)))
    image = ax.imshow(z.to_numpy(), cmap="RdBu_r", vmin=-1.5, vmax=1.5, aspect="auto")
    ax.set_xticks(range(len(FEATURES)), FEATURES, rotation=90)
    ax.set_yticks(range(len(z)), z.index.astype(str), fontsize=7)
    fig.colorbar(image, ax=ax, label="country mean - mean of all songs (in standard deviations)")
    ax.set_title("feature distributions per country (songs that charted there)")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def separation(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """ANOVA F and mutual information of each feature with the country (higher separates more)."""
    import pandas as pd
    from sklearn.feature_selection import f_classif, mutual_info_classif

    rng = np.random.default_rng(seed)
    rows = frame if len(frame) <= ANOVA_ROWS else frame.iloc[np.sort(rng.choice(len(frame), ANOVA_ROWS, False))]
    X, y = rows[list(FEATURES)].to_numpy(float), rows[TARGET].to_numpy(str)
    f_values, _ = f_classif(X, y)
    # kNN mutual information is biased by repeated points: use one random chart row per song.
    one_per_song = frame.sample(frac=1.0, random_state=seed).drop_duplicates(SONG_ID).head(MI_ROWS)
    discrete = [name in ("is_explicit", "key", "mode") for name in FEATURES]
    mi = mutual_info_classif(
        one_per_song[list(FEATURES)].to_numpy(float),
        one_per_song[TARGET].to_numpy(str),
        discrete_features=discrete,
        random_state=seed,
    )
    table = pd.DataFrame({"anova_f": np.nan_to_num(f_values), "mutual_information": mi}, index=list(FEATURES))
    return table.sort_values("mutual_information", ascending=False)


def _markdown_table(frame: pd.DataFrame, digits: int = 3) -> list[str]:
    header = ["", *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    # Column by column: iterrows() would turn a row of counts and shares into floats ("300.000").
    floats = [frame[name].dtype.kind == "f" for name in frame.columns]
    for index, *values in frame.itertuples(name=None):
        cells = [f"{v:.{digits}f}" if is_float else str(v) for v, is_float in zip(values, floats, strict=True)]
        lines.append("| " + " | ".join([str(index), *cells]) + " |")
    return lines


def _report(
    dataset: Dataset,
    balance: pd.DataFrame,
    corr: pd.DataFrame,
    sep: pd.DataFrame,
    songs: pd.DataFrame,
    spread: dict[str, Any],
    by_country: pd.DataFrame,
) -> str:
    stats = dataset.stats
    pairs = [
        (a, b, corr.loc[a, b]) for i, a in enumerate(FEATURES) for b in FEATURES[i + 1 :] if abs(corr.loc[a, b]) >= 0.3
    ]
    lines = ["# Jukebox data exploration", ""]
    if dataset.labels_synthetic:
        lines += [f"> **WARNING — {SYNTHETIC_WARNING}**", ""]
    lines += [
        f"Source: `{dataset.source}`, fingerprint `{dataset.fingerprint}`.",
        "",
        "## Counts",
        "",
        f"- chart rows after cleaning: {stats['rows']} (of {stats['ranking_rows']} ranking rows)",
        f"- songs: {stats['songs']} (song table rows: {stats['song_rows']}, duplicates dropped: "
        f"{stats['duplicate_songs_dropped']})",
        f"- countries: {stats['countries']}",
        f"- rows without song properties: {stats['rows_without_song_properties']}",
        f"- rows without a country (the global chart), dropped: {stats['rows_without_country']}",
        f"- rows dropped for missing values: {stats['rows_dropped_missing_values']}",
        f"- rows outside --since/--until: {stats['rows_outside_dates']}",
        f"- (song, country) pairs: {stats['song_country_pairs']}",
        "",
        "## Countries per song",
        "",
        f"A song charts in {spread['mean']:.2f} countries on average (median {spread['median']:g}, "
        f"max {spread['max']}).",
        "",
        "| countries | songs |",
        "|---|---|",
        *[f"| {name} | {count} |" for name, count in spread["songs_by_countries"].items()],
        "",
        "## Missing values (joined table, before dropping)",
        "",
        *([f"- {name}: {count}" for name, count in dataset.missing.items() if count] or ["- none"]),
        "",
        "## Feature distributions",
        "",
        "![distributions](distributions.png)",
        "",
        *_markdown_table(songs[list(FEATURES)].astype(float).describe().T[["mean", "std", "min", "50%", "max"]]),
        "",
        "## Feature correlations",
        "",
        "![correlations](correlations.png)",
        "",
        *([f"- {a} ~ {b}: {c:+.2f}" for a, b, c in pairs] or ["- no pair with |r| >= 0.3"]),
        "",
        "## Class balance",
        "",
        "![class balance](class_balance.png)",
        "",
        "Chart rows, songs (distinct songs that charted there) and share of the rows per country:",
        "",
        *_markdown_table(balance),
        "",
        "## Feature distributions per country",
        "",
        "![features by country](features_by_country.png)",
        "",
        "Median of each feature over the songs that charted in the country:",
        "",
        *_markdown_table(by_country),
        "",
        "## Features that separate countries most",
        "",
        f"ANOVA F on up to {ANOVA_ROWS} chart rows; mutual information (nats) on one random row per song "
        f"(at most {MI_ROWS} songs).",
        "",
        *_markdown_table(sep),
        "",
    ]
    return "\n".join(lines)


def explore(
    source: DataSource | str, out: str | Path, *, cache: str | Path | None = None, progress: Progress = QUIET
) -> dict[str, Any]:
    """Write `<out>/REPORT.md`, its PNGs and `summary.json` (replaced atomically); return the summary."""
    out = Path(out).absolute()
    with atomic_dir(out, markers=("REPORT.md",)) as work:
        with progress.step("loading data"):
            dataset = load_data(source, cache, progress)
        frame = dataset.frame
        songs = frame.drop_duplicates(SONG_ID)
        with progress.step("plotting and scoring features"):
            grouped = frame.groupby(TARGET)
            balance = grouped.size().to_frame("rows").join(grouped[SONG_ID].nunique().rename("songs"))
            balance = balance.sort_values("rows", ascending=False)
            balance["share"] = balance["rows"] / balance["rows"].sum()
            plot_distributions(songs, work / "distributions.png")
            corr = plot_correlations(songs, work / "correlations.png")
            plot_balance(balance, work / "class_balance.png")
            plot_country_features(frame, work / "features_by_country.png")
            sep = separation(frame)
        spread, by_country = countries_per_song(frame), country_features(frame)
        report = _report(dataset, balance, corr, sep, songs, spread, by_country)
        (work / "REPORT.md").write_text(report, encoding="utf-8")
        summary = {
            "report": str(out / "REPORT.md"),
            "labels_synthetic": dataset.labels_synthetic,
            "data": {"source": dataset.source, "fingerprint": dataset.fingerprint, **dataset.stats},
            "missing_values": dataset.missing,
            "songs_per_country": {str(k): int(v) for k, v in balance["songs"].items()},
            "countries_per_song": spread,
            "separation": {name: row.to_dict() for name, row in sep.iterrows()},
        }
        write_json(work / "summary.json", summary)
    return summary
