"""`jukebox predict` end to end against a running server, and `jukebox serve` as a process."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from aiohttp import web
from serving_fixtures import LABELS, SCALES, build_model, lab_body, serve_process

from jukebox.cli import main
from serving.contract import FEATURES

REPO = Path(__file__).resolve().parents[2]
REAL_SONGS = REPO.parent / "shared" / "data" / "song_properties.parquet"


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    """A small song table in the upstream layout (two songs named 'Not Like Us' snapshots, one other)."""
    base = {f: float(mean) for f, (mean, _) in SCALES.items()}
    table = pd.DataFrame(
        [
            {"spotify_id": "a", "name": "Not Like Us", "artists": "Kendrick Lamar", **base, "danceability": 0.898},
            {"spotify_id": "a", "name": "Not Like Us", "artists": "Kendrick Lamar", **base, "danceability": 0.898},
            {"spotify_id": "b", "name": "Live Forever", "artists": "Oasis", **base, "energy": 0.782},
        ]
    )
    table["event_timestamp"] = pd.to_datetime(["2024-05-06", "2024-05-07", "2024-05-06"])
    path = tmp_path_factory.mktemp("songs") / "song_properties.parquet"
    table.to_parquet(path)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_song_table_and_plot(server, songs, tmp_path, capsys):
    chart = tmp_path / "out.png"
    code, out, err = run(capsys, "predict", "--url", server.url, "--song", "not like us", "--songs", str(songs),
                         "--plot", str(chart))  # fmt: skip
    assert code == 0, err
    assert out.startswith("output: probability: p(country | song)")
    assert "\n\nNot Like Us — Kendrick Lamar\n" in out  # the two snapshots of one song are one row
    assert out.count("Not Like Us") == 1 and len(out.strip().splitlines()) == 1 + 1 + 2 + 5
    assert "WARNING" not in out + err
    assert any(label in out for label in LABELS)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5000


def test_json_output_has_labels_and_probabilities(server, songs, capsys):
    code, out, _ = run(capsys, "predict", "--url", server.url, "--song", "Live Forever", "--songs", str(songs),
                       "--json", "--top", "3")  # fmt: skip
    assert code == 0
    document = json.loads(out)
    assert document["output"] == "softmax" and "sums to 1" in document["meaning"]
    [row] = document["rows"]
    assert row["input"] == "Live Forever — Oasis" and row["warnings"] == []
    assert list(row["probabilities"]) == LABELS
    assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    top = [item["probability"] for item in row["top"]]
    assert len(top) == 3 and top == sorted(top, reverse=True) and top[0] == max(row["probabilities"].values())


def test_features_give_the_same_answer_as_the_lab_body(server, capsys):
    values = {f: float(mean) for f, (mean, _) in SCALES.items()}
    code, out, _ = run(capsys, "predict", "--url", server.url, "--json", "--features",
                       *[f"{k}={v}" for k, v in values.items()])  # fmt: skip
    assert code == 0
    direct = requests.post(server.url + "/v2/models/jukebox/infer", json=lab_body(values)).json()
    assert list(json.loads(out)["rows"][0]["probabilities"].values()) == direct["outputs"][0]["data"]


def test_parquet_batch(server, songs, tmp_path, capsys):
    chart = tmp_path / "batch.png"
    code, out, _ = run(capsys, "predict", "--url", server.url, "--parquet", str(songs), "--plot", str(chart))
    assert code == 0
    assert out.count("Not Like Us") == 2 and out.count("Live Forever") == 1
    assert chart.is_file()


def test_labels_from_a_model_dir_option(server, model_dir, songs, capsys):
    code, out, _ = run(capsys, "predict", "--url", server.url, "--song", "Live Forever", "--songs", str(songs),
                       "--labels", str(model_dir), "--json")  # fmt: skip
    assert code == 0 and list(json.loads(out)["rows"][0]["probabilities"]) == LABELS


@pytest.mark.skipif(not REAL_SONGS.is_file(), reason="the shared song table is not on this machine")
def test_the_real_song_table(server, capsys):
    code, out, _ = run(capsys, "predict", "--url", server.url, "--song", "Not Like Us", "--songs", str(REAL_SONGS))
    assert code == 0 and "Kendrick Lamar" in out


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["--song", "Not Like U"], 2, ["not in the song table", "did you mean", "'Not Like Us'"]),
        (["--song", "Live Forever", "--artist", "Blur"], 2, ["--artist", "Oasis"]),
        (["--features", "tempo=120"], 2, ["missing", "is_explicit"]),
        (["--features", "bpm=120"], 2, ["--features 'bpm=120'"]),
        (["--features", "tempo=fast"], 2, ["not a number"]),
        (["--song", "Live Forever", "--top", "0"], 2, ["--top"]),
        (["--song", "Live Forever", "--model", "other"], 1, ["not found", "--model other"]),
        (["--song", "Live Forever", "--token-file", "/nonexistent/token"], 2, ["--token-file"]),
        (["--song", "Live Forever", "--token-file", "/dev/zero"], 2, ["--token-file /dev/zero: not a regular file"]),
        (["--song", "Live Forever", "--timeout", "-1"], 2, ["--timeout -1.0: must be a positive number"]),
        (["--song", "Live Forever", "--timeout", "nan"], 2, ["--timeout nan"]),
        (["--song", "Live Forever", "--model", "../../x"], 2, ["--model '../../x': must be a model name"]),
    ],
)
def test_input_errors(server, songs, capsys, argv, code, words):
    got, _, err = run(capsys, "predict", "--url", server.url, "--songs", str(songs), *argv)
    assert got == code, err
    assert err.startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in err


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.com", "http://:80", "http://host:99999"])
def test_a_url_that_is_not_an_http_endpoint_is_exit_2(songs, capsys, url):
    got, _, err = run(capsys, "predict", "--url", url, "--songs", str(songs), "--song", "Live Forever")
    assert got == 2 and f"--url {url!r}" in err and "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint(songs, capsys):
    url = f"http://127.0.0.1:{_free_port()}"
    code, _, err = run(capsys, "predict", "--url", url, "--song", "Live Forever", "--songs", str(songs))
    assert code == 1 and f"cannot reach {url}" in err


@web.middleware
async def _token_auth(request, handler):
    """Imitates the auth proxy in front of an InferenceService with token auth on."""
    header = request.headers.get("Authorization")
    if header is None:
        return web.Response(status=401, text="Unauthorized")
    if header != "Bearer s3cret":
        return web.Response(status=403, text="Forbidden")
    return await handler(request)


@pytest.fixture(scope="module")
def auth_server(engine):
    from serving.server import BackgroundServer

    with BackgroundServer(engine, middlewares=(_token_auth,)) as running:
        yield running


@pytest.mark.parametrize(
    ("auth", "code", "words"),
    [
        ([], 1, ["HTTP 401", "--token"]),
        (["--token", "wrong"], 1, ["HTTP 403", "refused"]),
        (["--token", "s3cret"], 0, []),
    ],
)
def test_token_auth(auth_server, songs, capsys, auth, code, words):
    got, _, err = run(capsys, "predict", "--url", auth_server.url, "--song", "Live Forever", "--songs", str(songs),
                      *auth)  # fmt: skip
    assert got == code
    for word in words:
        assert word in err


def test_token_file(auth_server, songs, tmp_path, capsys):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    got, _, _ = run(capsys, "predict", "--url", auth_server.url, "--song", "Live Forever", "--songs", str(songs),
                    "--token-file", str(token))  # fmt: skip
    assert got == 0


def _other_model(model_dir: Path) -> Path:
    """A model with one [-1, 13] input: valid ONNX, wrong contract."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 13])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 13])
    graph = helper.make_graph([helper.make_node("Softmax", ["features"], ["output"], axis=1)], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    (model_dir / "1").mkdir(parents=True)
    onnx.save(model, str(model_dir / "1" / "model.onnx"))
    return model_dir


def test_a_model_with_other_inputs_is_refused(songs, tmp_path, capsys):
    from serving.engine import Engine
    from serving.server import BackgroundServer

    with BackgroundServer(Engine.from_dir(_other_model(tmp_path / "other"))) as running:
        code, _, err = run(capsys, "predict", "--url", running.url, "--song", "Live Forever", "--songs", str(songs))
    assert code == 1
    assert "does not take the 13 song features" in err and "unexpected features" in err


def test_serve_process_answers_the_lab_body(tmp_path):
    """`jukebox serve --model DIR` as a real process: binds 127.0.0.1, answers the lab's exact body."""
    model = build_model(tmp_path / "jukebox", with_labels_file=False)
    with serve_process(model, REPO) as url:
        assert url.startswith("http://127.0.0.1:")
        body = {"inputs": [{"name": "danceability", "shape": [1, 1], "datatype": "FP32", "data": [0.64]}]}
        body["inputs"] += [i for i in lab_body()["inputs"] if i["name"] != "danceability"]
        answer = requests.post(url + "/v2/models/jukebox/infer", json=body, timeout=10).json()
        assert answer["model_name"] == "jukebox" and answer["outputs"][0]["shape"] == [1, len(LABELS)]
        labels = requests.get(url + "/jukebox/models/jukebox/labels", timeout=10).json()["labels"]
        assert labels == LABELS  # from the ONNX metadata when there is no labels.json
        assert np.isclose(sum(answer["outputs"][0]["data"]), 1.0, atol=1e-5)


def test_serve_refuses_a_directory_without_a_model(tmp_path, capsys):
    code, _, err = run(capsys, "serve", "--model", str(tmp_path), "--port", "0")
    assert code == 2 and "1/model.onnx" in err


def test_inputs_are_the_contract(engine):
    assert [spec.name for spec in engine.inputs] == list(FEATURES)


def test_default_song_table_from_env(server, songs, monkeypatch, capsys):
    monkeypatch.setenv("JUKEBOX_SONGS", str(songs))
    code, out, _ = run(capsys, "predict", "--url", server.url, "--song", "Live Forever")
    assert code == 0 and "Oasis" in out


def test_song_table_url_is_downloaded_once(server, songs, tmp_path, monkeypatch, capsys):
    import functools
    import http.server
    import threading

    monkeypatch.setenv("JUKEBOX_CACHE_DIR", str(tmp_path / "cache"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(songs.parent))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=files.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{files.server_address[1]}/{songs.name}"
    try:
        code, out, _ = run(capsys, "predict", "--url", server.url, "--song", "Live Forever", "--songs", url)
    finally:
        files.shutdown()
        files.server_close()
    assert code == 0 and "Oasis" in out
    assert [p.name.endswith(songs.name) for p in (tmp_path / "cache").iterdir()] == [True]
    code, out, _ = run(capsys, "predict", "--url", server.url, "--song", "Live Forever", "--songs", url)
    assert code == 0 and "Oasis" in out  # served from the cache, the file server is gone


@web.middleware
async def _no_extension_route(request, handler):
    """Imitates OVMS: the KServe v2 routes only, no `/jukebox/...` labels and ranges."""
    if request.path.startswith("/jukebox/"):
        return web.Response(status=404, text="Not Found")
    return await handler(request)


@pytest.fixture(scope="module")
def ovms_like_server(engine):
    from serving.server import BackgroundServer

    with BackgroundServer(engine, middlewares=(_no_extension_route,)) as running:
        yield running


RANGES_NOTE = "note: input ranges were not checked"


def test_a_server_without_ranges_says_inputs_were_not_checked(ovms_like_server, songs, capsys):
    code, out, err = run(capsys, "predict", "--url", ovms_like_server.url, "--song", "Live Forever",
                         "--songs", str(songs))  # fmt: skip
    assert code == 0, err
    (note,) = [line for line in err.splitlines() if line.startswith(RANGES_NOTE)]
    assert "the server publishes none" in note and "--labels MODEL_DIR" in note
    assert RANGES_NOTE not in out  # stdout stays the predictions


def test_labels_from_a_model_dir_check_the_ranges(ovms_like_server, model_dir, songs, capsys):
    code, _, err = run(capsys, "predict", "--url", ovms_like_server.url, "--song", "Live Forever",
                       "--songs", str(songs), "--labels", str(model_dir))  # fmt: skip
    assert code == 0, err
    assert RANGES_NOTE not in err


def test_labels_json_alone_does_not_check_the_ranges(ovms_like_server, model_dir, songs, capsys):
    code, _, err = run(capsys, "predict", "--url", ovms_like_server.url, "--song", "Live Forever",
                       "--songs", str(songs), "--labels", str(model_dir / "labels.json"))  # fmt: skip
    assert code == 0, err
    note = f"{RANGES_NOTE} (no training ranges: --labels {model_dir / 'labels.json'} holds none and the server"
    assert note in err


def test_labels_json_against_jukebox_serve_uses_the_servers_ranges(server, model_dir, songs, capsys):
    """The countries from a bare labels.json, the ranges from `jukebox serve`: checked, no note."""
    code, _, err = run(capsys, "predict", "--url", server.url, "--song", "Live Forever",
                       "--songs", str(songs), "--labels", str(model_dir / "labels.json"))  # fmt: skip
    assert code == 0, err
    assert RANGES_NOTE not in err


def test_jukebox_serve_publishes_ranges_so_there_is_no_note(server, songs, capsys):
    code, _, err = run(capsys, "predict", "--url", server.url, "--song", "Live Forever", "--songs", str(songs))
    assert code == 0, err
    assert RANGES_NOTE not in err
