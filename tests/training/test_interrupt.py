"""Ctrl-C and SIGTERM during the MLP fit: a real process gets the signal while it is fitting.

scikit-learn's fit catches KeyboardInterrupt and returns the half-trained model; training must instead
stop, write nothing, leave no temp dir, and (through the CLI) exit 130 / 143.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.generator.helpers import base_spec

REPO = Path(__file__).resolve().parents[2]
# A fit that takes minutes unless interrupted: a wide network, many epochs, and a stopping rule that
# needs 1000 epochs in a row without any improvement of the training loss.
SLOW = "sample:rows=20000,countries=10,songs=4000"
SLOW_TRAINING = {"hiddenLayers": [256, 256], "maxIter": 5000, "tol": 0.0, "nIterNoChange": 1000, "earlyStopping": False}
LIBRARY = f"""
import sys
from training import train, load_params
from training.progress import Progress
train({SLOW!r}, sys.argv[1], load_params(sys.argv[2]), progress=Progress())
"""


def start(command: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupt_mid_fit(process: subprocess.Popen[str], signum: int) -> str:
    """Wait for the fit to start, let it run a moment, send `signum`; returns stderr."""
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("fitting the MLP"):
            break
    else:
        raise AssertionError(f"the fit never started: {''.join(seen)}")
    time.sleep(1.5)  # epochs are running now
    process.send_signal(signum)
    try:
        _, rest = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("still running 60 s after the signal: the interrupt was swallowed") from None
    return "".join(seen) + rest


def assert_nothing_written(tmp_path: Path) -> None:
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "spec.yaml")
    assert leftovers == [], f"left behind: {leftovers}"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**base_spec(), "training": SLOW_TRAINING}, sort_keys=False))
    return path


@pytest.mark.slow
def test_library_callers_get_a_keyboard_interrupt_not_a_half_trained_model(tmp_path: Path, spec: Path) -> None:
    process = start([sys.executable, "-c", LIBRARY, str(tmp_path / "model"), str(spec)], tmp_path)
    stderr = interrupt_mid_fit(process, signal.SIGINT)
    assert process.returncode != 0, "train() returned normally after Ctrl-C"
    assert "KeyboardInterrupt" in stderr
    assert_nothing_written(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_jukebox_train_stops_on_a_signal_writes_nothing_and_exits_128_plus_n(
    tmp_path: Path, spec: Path, signum: int, code: int, name: str
) -> None:
    jukebox = [sys.executable, "-m", "jukebox", "train", "--data", SLOW, "--out", str(tmp_path / "model")]
    process = start([*jukebox, "--spec", str(spec)], tmp_path)
    stderr = interrupt_mid_fit(process, signum)
    assert process.returncode == code, stderr
    assert f"interrupted by {name}" in stderr and "Traceback" not in stderr
    assert_nothing_written(tmp_path)


def test_converged_says_whether_the_stopping_rule_ended_the_fit(tmp_path: Path) -> None:
    from training.params import TrainingParams
    from training.pipeline import train

    source = "sample:rows=3000,countries=5,songs=600,seed=3"
    capped = train(source, tmp_path / "capped", TrainingParams(hidden_layers=[8], max_iter=3)).metrics["fit"]
    assert capped["epochs"] == 3 and capped["converged"] is False and capped["stopped_by"] == "maxIter"
    stopped = train(source, tmp_path / "stopped", TrainingParams(hidden_layers=[8], n_iter_no_change=2)).metrics
    assert stopped["fit"]["converged"] is True and stopped["fit"]["stopped_by"] == "validation loss"
    assert stopped["fit"]["epochs"] == stopped["fit"]["best_epoch"] + 2 < 300
