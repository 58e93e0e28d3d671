"""Benchmark training: speed on `sample` data, and model quality on real charts.

    .venv/bin/python benchmarks/train.py [--rows 100000 1100000] [--properties FILE]
    .venv/bin/python benchmarks/train.py --charts ../shared/data/charts-2023 [--seeds 42 43 44 45 46]

Speed (default): each size runs in a fresh process (`jukebox train` end to end, imports included) so
its peak RSS is its own. Targets (2 cores): 100k rows < 20 s; 1.1M rows < 180 s and < 4 GiB;
accuracy / Bayes >= 0.95.

Quality (`--charts DIR|CSV`): v1's model ("today"), the prior and chance baselines and each candidate
(training.params settings) fitted and scored with the library's own functions on the same by-song
split (the first seed), then the mean and spread over all seeds' splits. Target: the default beats
today's top-3 accuracy and recall@5. Prints its numbers; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = {100_000: 20.0, 1_100_000: 180.0}
TARGET_GIB = 4.0
TARGET_RATIO = 0.95


def run_one(rows: int, properties: str | None) -> None:
    """Child: `jukebox train --data sample:rows=N --json`, then report own peak RSS on stderr as JSON."""
    # `python benchmarks/train.py` puts benchmarks/ first on sys.path, where release.py would shadow the
    # `release` package the CLI imports.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    from jukebox.cli import main

    data = f"sample:rows={rows}" + (f",properties={properties}" if properties else "")
    with tempfile.TemporaryDirectory() as tmp:
        code = main(["train", "--data", data, "--out", str(Path(tmp) / "model"), "--json", "--quiet"])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"exit_code": code, "peak_rss_gib": usage.ru_maxrss / 2**20, "cpu_s": cpu}), file=sys.stderr)


def measure(rows: int, properties: str | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--one", str(rows)]
    if properties:
        command += ["--properties", properties]
    start = time.perf_counter()
    child = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"benchmark run with {rows} rows failed:\n{child.stderr}")
    metrics = json.loads(child.stdout)
    extra = json.loads(child.stderr.strip().splitlines()[-1])
    scores = metrics["metrics"]
    return {
        "rows": rows,
        "wall_s": wall,
        "fit_s": metrics["timing_seconds"]["fit"],
        "cpu_s": extra["cpu_s"],
        "peak_gib": extra["peak_rss_gib"],
        "accuracy": scores["accuracy"],
        "bayes": scores["bayes_optimal_accuracy"],
        "ratio": scores["accuracy_vs_bayes"],
        "epochs": metrics["fit"]["epochs"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_100_000])
    parser.add_argument("--properties", help="real song properties parquet for the sample generator")
    parser.add_argument("--charts", metavar="DIR|CSV", help="compare the candidates on this real chart data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44, 45, 46], help="split seeds (--charts)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.properties)
        return 0
    if args.charts:
        return compare_on_charts(args.charts, args.seeds)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (wall times grow with load)")
    header = ("rows", "wall s", "cpu s", "fit s", "peak GiB", "acc", "bayes", "ratio", "epochs")
    print(" ".join(f"{name:>{w}}" for name, w in zip(header, (9, 7, 6, 6, 8, 6, 6, 6, 6), strict=True)), " verdict")
    for rows in args.rows:
        r = measure(rows, args.properties)
        limit = TARGET_SECONDS.get(rows)
        ok = (limit is None or r["wall_s"] < limit) and r["peak_gib"] < TARGET_GIB and r["ratio"] >= TARGET_RATIO
        print(
            f"{rows:>9} {r['wall_s']:>7.1f} {r['cpu_s']:>6.1f} {r['fit_s']:>6.1f} {r['peak_gib']:>8.2f} "
            f"{r['accuracy']:>6.3f} {r['bayes']:>6.3f} {r['ratio']:>6.3f} {r['epochs']:>6}  "
            f"{'ok' if ok else 'MISSES TARGET'}",
            flush=True,
        )
    print("labels are SYNTHETIC (sample data); targets: 100k < 20 s, 1.1M < 180 s and < 4 GiB, ratio >= 0.95")
    return 0


# -- quality on real charts -------------------------------------------------------------------------

#: v1's defaults (before issue 13): rows weighting, weak L2, stop on the training loss, no validation.
TODAY = {
    "weighting": "rows",
    "alpha": 1e-3,
    "max_iter": 200,
    "n_iter_no_change": 10,
    "early_stopping": False,
}
TODAY_NAME = "today (v1, sklearn fit)"
CANDIDATES: dict[str, dict[str, object]] = {
    "v1 settings, new loop": TODAY,
    "v1 + early stop by song": {**TODAY, "early_stopping": True, "max_iter": 300},
    "rows, alpha 1": {"weighting": "rows"},
    "songs, alpha 1": {"weighting": "songs"},
    "songDays, alpha 1 (default)": {},
    "songRank, alpha 1": {"weighting": "songRank"},
    "songDays, relu 128": {"hidden_layers": [128], "activation": "relu"},
    "songDays, tanh 64,32": {"hidden_layers": [64, 32]},
    "sigmoid head, tanh 64": {"head": "sigmoid"},
    "sigmoid head, relu 256": {"head": "sigmoid", "hidden_layers": [256], "activation": "relu"},
}
SHOWN = ("accuracy", "top3_accuracy", "recall_at_5", "recall_at_10", "mean_average_precision")
SHORT = {"accuracy": "top-1", "top3_accuracy": "top-3", "recall_at_5": "rec@5", "recall_at_10": "rec@10",
         "mean_average_precision": "mAP"}  # fmt: skip


def v1_fit(train: object, seed: int) -> object:
    """v1's training code, as it was: (song, country) rows weighted by chart rows, one `Pipeline.fit`
    (scikit-learn's own loop, stopping on the training loss), v1's defaults."""
    import warnings

    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from training.model import Model, pair_rows

    rows = pair_rows(train, "rows")  # type: ignore[arg-type]
    mlp = MLPClassifier(
        hidden_layer_sizes=(64,), activation="tanh", alpha=1e-3, learning_rate_init=2e-3,
        batch_size=min(512, len(rows.y)), max_iter=200, tol=1e-4, n_iter_no_change=10, random_state=seed,
    )  # fmt: skip
    pipeline = Pipeline([("scaler", StandardScaler()), ("mlp", mlp)])
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")
        pipeline.fit(rows.X, rows.y, mlp__sample_weight=rows.weights)
    return Model(pipeline, [str(c) for c in mlp.classes_], "softmax", {"epochs": int(mlp.n_iter_)})


def score_candidates(dataset: object, seed: int) -> dict[str, dict[str, float]]:
    """Every candidate (and the baselines) fitted and scored on the by-song split of `seed`."""
    from training.evaluate import evaluate
    from training.model import feature_matrix, fit, split_by_song
    from training.params import TrainingParams

    frame = dataset.frame  # type: ignore[attr-defined]
    split = split_by_song(frame, TrainingParams().test_size, seed)
    results: dict[str, dict[str, float]] = {}
    for name, overrides in {TODAY_NAME: None, **CANDIDATES}.items():
        started = time.process_time()
        if overrides is None:
            model = v1_fit(split.train, seed)
        else:
            model = fit(split.train, TrainingParams(**{**overrides, "seed": seed}))  # type: ignore[arg-type]
        cpu = time.process_time() - started
        evaluation = evaluate(model.scores, model.labels, split.test, split.train, feature_matrix)  # type: ignore[attr-defined]
        info = model.info  # type: ignore[attr-defined]
        results[name] = {**{k: evaluation["metrics"][k] for k in SHOWN}, "epochs": info["epochs"], "cpu": cpu}
        results.setdefault("prior (baseline)", dict(evaluation["baselines"]["prior"]))
        results.setdefault("chance (baseline)", dict(evaluation["baselines"]["chance"]))
    return results


def compare_on_charts(location: str, seeds: list[int]) -> int:
    import numpy as np

    from training.data import DataSource, load_data

    dataset = load_data(DataSource.parse(location))
    print(
        f"{dataset.source}: {dataset.stats['rows']} chart rows, {dataset.stats['songs']} songs, "
        f"{dataset.stats['countries']} countries; split by song, test share 0.2"
    )
    runs = [score_candidates(dataset, seed) for seed in seeds]
    names = list(runs[0])
    print(f"\nsplit seed {seeds[0]} (the seed `jukebox train` uses by default):")
    print(f"{'candidate':<30}" + "".join(f"{SHORT[k]:>8}" for k in SHOWN) + f"{'epochs':>8}{'fit cpu s':>10}")
    for name in names:
        r = runs[0][name]
        extra = f"{r['epochs']:>8}{r['cpu']:>10.1f}" if "epochs" in r else ""
        print(f"{name:<30}" + "".join(f"{r[k]:>8.4f}" for k in SHOWN) + extra)
    print(f"\nmean ± standard deviation over the {len(seeds)} split seeds {seeds}:")
    print(f"{'candidate':<30}" + "".join(f"{SHORT[k]:>15}" for k in SHOWN))
    for name in names:
        cells = []
        for key in SHOWN:
            values = np.array([run[name][key] for run in runs], dtype=float)
            cells.append(f"{values.mean():.4f}±{values.std():.3f}".rjust(15))
        print(f"{name:<30}" + "".join(cells))
    default, today = runs[0]["songDays, alpha 1 (default)"], runs[0][TODAY_NAME]
    beats = default["top3_accuracy"] > today["top3_accuracy"] and default["recall_at_5"] > today["recall_at_5"]
    print(f"\ntarget (seed {seeds[0]}): the default beats today's top-3 and recall@5: {'ok' if beats else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
