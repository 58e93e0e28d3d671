"""`jukebox train` / `jukebox explore`: exit codes, messages, stdout discipline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jukebox.cli import main
from tests.generator.helpers import base_spec, make_repo
from training.features import FEATURES

from .conftest import SMALL_SOURCE

FAST = ["--hidden-layers", "8", "--max-iter", "5"]


def test_train_prints_summary_and_warns_about_synthetic_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--data", SMALL_SOURCE, "--out", str(tmp_path / "m"), *FAST]) == 0
    out, err = capsys.readouterr()
    assert "accuracy_vs_bayes" in out and "SYNTHETIC (sample data)" in out
    for column in ("model", "prior", "chance", "lift vs prior", "oracle", "recall_at_5", "mean_average_precision"):
        assert column in out
    assert "*** WARNING: SYNTHETIC LABELS" in err and "fitting the MLP" in err
    assert (tmp_path / "m" / "1" / "model.onnx").is_file()


def _spec(tmp_path: Path, training: dict[str, object]) -> Path:
    """specs/jukebox.yaml with this training section (`train --spec` reads a whole, valid spec)."""
    spec = base_spec()
    spec["training"] = training
    make_repo(tmp_path / "repo", {"jukebox": spec})
    return tmp_path / "repo" / "specs" / "jukebox.yaml"


def test_train_json_is_the_only_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _spec(tmp_path, {"seed": 3, "hiddenLayers": [4]})
    args = ["--spec", str(spec), "--seed", "11", "--max-iter", "5", "--json"]
    code = main(["train", "--data", SMALL_SOURCE, "--out", str(tmp_path / "m"), *args])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["params"]["seed"] == 11 and document["params"]["hiddenLayers"] == [4]
    assert document["labels_synthetic"] is True and document["out"] == str(tmp_path / "m")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "sample:rows=x"], "--data sample: rows must be an integer"),
        (["--data", "/nonexistent/dir"], "--data /nonexistent/dir: not a directory"),
        (["--data", "sample", "--alpha", "-1"], "--alpha: Input should be greater than or equal to 0"),
        (["--data", "sample:countries=1"], "countries must be between 2 and 40"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["train", "--out", str(tmp_path / "m"), *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "m").exists()


def test_console_script_reports_a_bad_spec(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {"maxIter": "lots"})
    jukebox = Path(sys.executable).with_name("jukebox")
    result = subprocess.run(
        [str(jukebox), "train", "--data", "sample", "--out", str(tmp_path / "m"), "--spec", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "training.maxIter: Input should be a valid integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_explore_writes_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    assert main(["explore", "--data", SMALL_SOURCE, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["labels_synthetic"] is True
    assert sorted(p.name for p in out.iterdir()) == [
        "REPORT.md", "class_balance.png", "correlations.png", "distributions.png", "features_by_country.png",
        "summary.json",
    ]  # fmt: skip
    report = (out / "REPORT.md").read_text()
    for heading in ("## Counts", "## Missing values", "## Feature correlations", "## Class balance",
                    "## Countries per song", "## Feature distributions per country"):  # fmt: skip
        assert heading in report
    spread = summary["countries_per_song"]
    assert sum(spread["songs_by_countries"].values()) == summary["data"]["songs"]
    assert set(summary["songs_per_country"]) == {"US", "GB", "DE", "BR", "MX"}
    assert "SYNTHETIC LABELS" in report
    assert set(summary["separation"]) == set(FEATURES)
