"""Inputs that must not get a silent answer: values far outside the training range (a client that
MinMax-scales like the lab's notebook), labels that do not fit the model, big batches, unreadable files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from serving_fixtures import LABELS, SCALES, build_model, lab_body, random_rows

from jukebox.cli import main
from jukebox.errors import InputError
from serving.contract import FEATURES, WARNING_HEADER

INFER = "/v2/models/jukebox/infer"
REAL_SONGS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "song_properties.parquet"
RAW = {f: float(mean) for f, (mean, _) in SCALES.items()}


def minmax_scaled(row: dict[str, float]) -> dict[str, float]:
    """What the lab's request notebook sends: every feature squeezed into 0..1 by its scaler.pkl."""
    lows = {"duration_ms": 30_000.0, "key": 0.0, "loudness": -40.0, "tempo": 0.0}
    highs = {"duration_ms": 900_000.0, "key": 11.0, "loudness": 3.0, "tempo": 240.0}
    return {f: (v - lows.get(f, 0.0)) / (highs.get(f, 1.0) - lows.get(f, 0.0)) for f, v in row.items()}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scaled_inputs_are_answered_with_a_warning_header_and_a_log_line(server, caplog):
    with caplog.at_level(logging.WARNING, logger="jukebox.serve"):
        scaled = requests.post(server.url + INFER, json=lab_body(minmax_scaled(RAW)), timeout=10)
    assert scaled.status_code == 200 and scaled.json()["outputs"][0]["shape"] == [1, len(LABELS)]
    warning = scaled.headers[WARNING_HEADER]
    assert "1 of 1 row(s) have values far outside the training range" in warning
    assert "duration_ms=0.195402" in warning and "tempo=0.508333" in warning and "send raw feature values" in warning
    assert any(warning in record.getMessage() for record in caplog.records)
    raw = requests.post(server.url + INFER, json=lab_body(RAW), timeout=10)
    assert WARNING_HEADER not in raw.headers


@pytest.mark.parametrize(("feature", "value"), [("duration_ms", 999.0), ("duration_ms", 1e30), ("tempo", -500.0)])
def test_one_value_far_outside_is_flagged(server, feature, value):
    response = requests.post(server.url + INFER, json=lab_body({**RAW, feature: value}), timeout=10)
    assert f"{feature}=" in response.headers[WARNING_HEADER]


def test_predict_shows_the_warning_in_its_output(server, capsys):
    args = [f"{k}={v}" for k, v in minmax_scaled(RAW).items()]
    code, out, err = run(capsys, "predict", "--url", server.url, "--features", *args)
    assert code == 0
    assert "WARNING: duration_ms=0.195402" in out and "far outside the training range" in out
    assert "warning: 1 of 1 row(s) have values far outside" in err
    code, out, _ = run(capsys, "predict", "--url", server.url, "--json", "--features", *args)
    [row] = json.loads(out)["rows"]
    assert any(w.startswith("tempo=0.508333") for w in row["warnings"])


def test_predict_checks_itself_against_a_server_without_ranges(model_dir, tmp_path, capsys):
    """OVMS publishes no ranges: with --labels MODEL_DIR predict reads them from the model and checks."""
    from serving.engine import Engine
    from serving.server import BackgroundServer

    bare = build_model(tmp_path / "bare", ranges=False)
    with BackgroundServer(Engine.from_dir(bare)) as ovms_like:
        args = ["predict", "--url", ovms_like.url, "--features", *[f"{k}={v}" for k, v in minmax_scaled(RAW).items()]]
        code, out, _ = run(capsys, *args)
        assert code == 0 and "WARNING" not in out  # nothing to check against
        code, out, err = run(capsys, *args, "--labels", str(model_dir))
    assert code == 0 and "WARNING: duration_ms=0.195402" in out and "far outside" in err


def test_a_sigmoid_model_is_presented_as_independent_scores(tmp_path, capsys):
    from serving.engine import Engine
    from serving.server import BackgroundServer

    with BackgroundServer(Engine.from_dir(build_model(tmp_path / "sig", output_op="Sigmoid"))) as running:
        args = ["predict", "--url", running.url, "--features", *[f"{k}={v}" for k, v in RAW.items()]]
        code, out, _ = run(capsys, *args)
        assert code == 0 and "P(charts)" in out and "does not sum to 1" in out
        code, out, _ = run(capsys, *args, "--json")
    document = json.loads(out)
    assert document["output"] == "sigmoid" and sum(document["rows"][0]["probabilities"].values()) > 1.5


def test_labels_that_do_not_fit_the_output_are_refused_at_start(tmp_path, capsys):
    from serving.engine import Engine

    model = build_model(tmp_path / "m")
    (model / "labels.json").write_text(json.dumps(LABELS[:-1]))
    with pytest.raises(InputError, match=r"labels.json has 19 labels but the model's output 'output' has 20 columns"):
        Engine.from_dir(model)
    code, out, err = run(capsys, "serve", "--model", str(model), "--port", "0")
    assert code == 2 and "has 19 labels" in err and "20 columns" in err and out == ""


def test_predict_batches_a_table_bigger_than_the_request_limit(server, engine, tmp_path, capsys):
    """5000 rows are ~1.3 MB of JSON in one request, over the server's 1 MiB cap: sent in batches."""
    columns = random_rows(5000, seed=11)
    table = pd.DataFrame({name: values.ravel() for name, values in columns.items()})
    table.to_parquet(tmp_path / "many.parquet")
    code, out, err = run(capsys, "predict", "--url", server.url, "--parquet", str(tmp_path / "many.parquet"),
                         "--json", "--top", "1")  # fmt: skip
    assert code == 0, err
    rows = json.loads(out)["rows"]
    expected = engine.infer(columns)["output"]
    assert len(rows) == 5000
    got = np.array([list(row["probabilities"].values()) for row in rows])
    np.testing.assert_array_equal(got.astype(np.float32), expected)  # every answer, in order


@pytest.mark.skipif(not REAL_SONGS.is_file(), reason=f"{REAL_SONGS} is absent (../shared is not beside the repo)")
def test_predict_on_the_lab_song_table(server, capsys):
    code, out, err = run(capsys, "predict", "--url", server.url, "--parquet", str(REAL_SONGS), "--top", "1")
    assert code == 0, err
    assert out.count("#  country") == 14_245


@pytest.mark.parametrize("value", ["inf", "-inf", "1e300"])
def test_features_that_are_not_finite_fp32_are_refused(server, capsys, value):
    args = [f"{k}={v}" for k, v in RAW.items() if k != "tempo"] + [f"tempo={value}"]
    code, _, err = run(capsys, "predict", "--url", server.url, "--features", *args)
    assert code == 2 and "not finite FP32" in err and "tempo" in err and "Traceback" not in err


def test_unreadable_files_are_named(server, model_dir, tmp_path, capsys):
    features = ["--features", *[f"{k}={v}" for k, v in RAW.items()]]
    latin1 = tmp_path / "labels.json"
    latin1.write_bytes(b'["Espa\xf1a"]')
    code, _, err = run(capsys, "predict", "--url", server.url, *features, "--labels", str(latin1))
    assert code == 2 and f"--labels {latin1}: not UTF-8 text" in err
    token = tmp_path / "token"
    token.write_bytes(b"\xff\xfetoken")
    code, _, err = run(capsys, "predict", "--url", server.url, *features, "--token-file", str(token))
    assert code == 2 and f"--token-file {token}: not UTF-8 text" in err
    code, _, err = run(capsys, "predict", "--url", server.url, *features, "--token-file", str(tmp_path))
    assert code == 2 and f"--token-file {tmp_path}: is a directory" in err
    code, _, err = run(capsys, "predict", "--url", server.url, "--parquet", str(tmp_path))
    assert code == 2 and f"--parquet {tmp_path}: is a directory" in err
    broken = build_model(tmp_path / "broken")
    (broken / "labels.json").write_bytes(b"\x89PNG")
    code, _, err = run(capsys, "serve", "--model", str(broken), "--port", "0")
    assert code == 2 and "labels.json: not UTF-8 text" in err and "Traceback" not in err
    assert [name for name in FEATURES if name in err] == []
