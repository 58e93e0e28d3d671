"""`jukebox train` and `jukebox explore`. Heavy imports stay inside the handlers."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.data import DataSource

DATA_HELP = (
    "'upstream' (default: the lab's parquet files, downloaded once into the cache); the Kaggle chart CSV "
    "universal_top_spotify_songs.csv (a path, a directory holding it, or a URL); a directory with "
    "song_properties.parquet and song_rankings.parquet, or an http(s) folder URL with them; or "
    "'sample[:rows=N,countries=K,seed=S,songs=M,properties=FILE]' (SYNTHETIC labels, offline)"
)
# option dest -> TrainingParams field
OVERRIDES = {
    "seed": "--seed",
    "max_iter": "--max-iter",
    "hidden_layers": "--hidden-layers",
    "alpha": "--alpha",
    "test_size": "--test-size",
}


def _layers(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 64,32, got {text!r}") from None


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="SOURCE", help=DATA_HELP)
    parser.add_argument(
        "--properties",
        metavar="PATH|URL",
        help="song properties parquet (overrides --data's table, or the chart CSV's own feature values)",
    )
    parser.add_argument("--rankings", metavar="PATH|URL", help="song rankings parquet (overrides --data)")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="keep chart rows with snapshot_date on/after this day")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="keep chart rows with snapshot_date on/before this day")
    parser.add_argument(
        "--cache-dir", metavar="DIR", help="download cache (default $XDG_CACHE_HOME/jukebox or ~/.cache/jukebox)"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout only")
    parser.add_argument("--quiet", action="store_true", help="no progress output on stderr")


def register(subparsers: Any) -> None:
    train = subparsers.add_parser(
        "train",
        help="train the country classifier and export ONNX for OpenVINO Model Server",
        description="Song data -> scikit-learn MLP -> <out>/1/model.onnx (+ labels, metrics, model card), "
        "verified against onnxruntime and OpenVINO. <out> is replaced atomically.",
    )
    _data_options(train)
    train.add_argument("--out", required=True, metavar="DIR", help="model directory (OVMS layout)")
    train.add_argument("--spec", metavar="FILE", help="model spec YAML; its `training:` section sets parameters")
    train.add_argument("--seed", type=int, help="seed of the split and the MLP (overrides the spec)")
    train.add_argument("--max-iter", type=int, help="maximum epochs (overrides the spec)")
    train.add_argument("--hidden-layers", type=_layers, metavar="N[,N...]", help="hidden layer sizes")
    train.add_argument("--alpha", type=float, help="L2 regularisation (overrides the spec)")
    train.add_argument("--test-size", type=float, help="share of songs held out (overrides the spec)")
    train.set_defaults(func=train_command)
    explore = subparsers.add_parser(
        "explore",
        help="write a data exploration report (Markdown + PNGs)",
        description="Counts, missing values, distributions, correlations, class balance and the features "
        "that separate countries most, as <out>/REPORT.md with PNGs beside it.",
    )
    _data_options(explore)
    explore.add_argument("--out", required=True, metavar="DIR", help="report directory")
    explore.set_defaults(func=explore_command)


def _source(args: argparse.Namespace) -> DataSource:
    from training.data import DataSource

    return DataSource.parse(args.data, args.properties, args.rankings, args.since, args.until)


def train_command(args: argparse.Namespace) -> int:
    from training.outdir import SYNTHETIC_WARNING
    from training.params import load_params
    from training.pipeline import train
    from training.progress import Progress

    overrides = {name: getattr(args, name) for name in OVERRIDES if getattr(args, name) is not None}
    params = load_params(args.spec, overrides, OVERRIDES)
    source = _source(args)
    result = train(source, args.out, params, cache=args.cache_dir, progress=Progress(not args.quiet))
    if result.labels_synthetic:
        print(f"\n*** WARNING: {SYNTHETIC_WARNING} ***\n", file=sys.stderr)
    if args.json:
        print(json.dumps({"out": str(result.out), **result.metrics}, indent=2, sort_keys=True))
    else:
        print(summary_table(result.metrics, str(result.out)))
    return 0


def data_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    """What the data came to and every drop: printed by `train` and `explore` alike."""
    return [
        ("rows / songs / countries", f"{data['rows']} / {data['songs']} / {data['countries']}"),
        ("rows dropped: no country (global)", str(data["rows_without_country"])),
        ("rows dropped: missing values", str(data["rows_dropped_missing_values"])),
        ("rows dropped: outside dates", str(data["rows_outside_dates"])),
    ]


def aligned(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(name) for name, _ in rows)
    return [f"{name:<{width}}  {value}" for name, value in rows]


def summary_table(metrics: dict[str, Any], out: str) -> str:
    from training.outdir import OTHER_METRIC_KEYS, comparison_rows, fmt

    scores, data, fit = metrics["metrics"], metrics["data"], metrics["fit"]
    rows = [
        ("model", f"{out}/{metrics['model']['path']}"),
        ("labels", "SYNTHETIC (sample data)" if metrics["labels_synthetic"] else "real"),
        ("output", metrics["model"]["output_meaning"]),
        *data_rows(data),
        ("test rows / songs", f"{metrics['split']['test_rows']} / {metrics['split']['test_songs']}"),
        *[(key, fmt(scores[key])) for key in OTHER_METRIC_KEYS],
        ("parity onnxruntime vs sklearn", f"{metrics['parity']['onnxruntime_vs_sklearn']:.2e}"),
        ("parity OpenVINO vs onnxruntime", f"{metrics['parity']['openvino_vs_onnxruntime']:.2e}"),
        ("epochs (best) / converged", f"{fit['epochs']} ({fit['best_epoch']}) / {fit['converged']}"),
        ("fit time", f"{metrics['timing_seconds']['fit']:.1f} s"),
    ]
    lines = aligned(rows)
    table = comparison_rows(metrics)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines += ["", "held-out metrics vs baselines (prior: same scores for every song; chance: random ranking)"]
    lines += [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    return "\n".join(lines)


def explore_command(args: argparse.Namespace) -> int:
    from training.explore import explore
    from training.outdir import SYNTHETIC_WARNING
    from training.progress import Progress

    report = explore(_source(args), args.out, cache=args.cache_dir, progress=Progress(not args.quiet))
    if report["labels_synthetic"]:
        print(f"\n*** WARNING: {SYNTHETIC_WARNING} ***\n", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print("\n".join(aligned([("report", report["report"]), *data_rows(report["data"])])))
    return 0
