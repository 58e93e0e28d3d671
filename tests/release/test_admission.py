"""Admission: a dry run (and so a release) refuses every model directory that cannot be served, with exit 2
naming the file, before anything reaches S3 or the registry (real local servers configured)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from jukebox.cli import main
from release.local import LocalServices
from tests.release.models import FEATURES, LABELS, write_metrics

from .conftest import registry, s3_client

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _save_onnx(model_dir: Path, nodes: list, inputs: list, outputs: list, inits: list) -> None:
    """Replace `1/model.onnx` with this graph and keep metrics.json's model.sha256 in step with it."""
    import onnx
    from onnx import helper

    graph = helper.make_graph(nodes, "admission-test", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(model_dir / "1" / "model.onnx"))
    write_metrics(model_dir, {"accuracy": 0.5})


def _one_matrix_input(model_dir: Path) -> None:
    """Loads everywhere, but one input `x` [N, 13] instead of 13 named [N, 1] columns."""
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((len(FEATURES), len(LABELS)), np.float32), "W")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["z"]), helper.make_node("Softmax", ["z"], ["output"], axis=1)]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", len(FEATURES)])]
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", len(LABELS)])
    _save_onnx(model_dir, nodes, inputs, [output], [weights])


def _int64_inputs(model_dir: Path) -> None:
    """The 13 names, but INT64 columns (a request with FP32 data would be refused by OVMS)."""
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((len(FEATURES), len(LABELS)), np.float32), "W")
    nodes = [
        helper.make_node("Concat", list(FEATURES), ["x64"], axis=1),
        helper.make_node("Cast", ["x64"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["x", "W"], ["z"]),
        helper.make_node("Softmax", ["z"], ["output"], axis=1),
    ]
    inputs = [helper.make_tensor_value_info(f, TensorProto.INT64, ["N", 1]) for f in FEATURES]
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", len(LABELS)])
    _save_onnx(model_dir, nodes, inputs, [output], [weights])


def _truncate(model_dir: Path) -> None:
    onnx_path = model_dir / "1" / "model.onnx"
    onnx_path.write_bytes(onnx_path.read_bytes()[: onnx_path.stat().st_size // 2])
    write_metrics(model_dir, {"accuracy": 0.5})


def _random_bytes(model_dir: Path) -> None:
    (model_dir / "1" / "model.onnx").write_bytes(np.random.default_rng(0).bytes(4096))
    write_metrics(model_dir, {"accuracy": 0.5})


def _symlink_outside(model_dir: Path) -> None:
    outside = model_dir.parent / "outside.onnx"
    shutil.move(model_dir / "1" / "model.onnx", outside)
    (model_dir / "1" / "model.onnx").symlink_to(outside)


def _extra_version(model_dir: Path) -> None:
    (model_dir / "2").mkdir()
    shutil.copy(model_dir / "1" / "model.onnx", model_dir / "2" / "model.onnx")


def _write(rel: str, content: bytes) -> Callable[[Path], None]:
    def mutate(model_dir: Path) -> None:
        (model_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (model_dir / rel).write_bytes(content)

    return mutate


def _metrics(values: dict[str, object]) -> Callable[[Path], None]:
    return lambda model_dir: write_metrics(model_dir, values) and None


def _other_sha(model_dir: Path) -> None:
    path = model_dir / "metrics.json"
    document = json.loads(path.read_text())
    document["model"]["sha256"] = "0" * 64
    path.write_text(json.dumps(document))


def _metrics_text(edit: Callable[[str], str]) -> Callable[[Path], None]:
    """metrics.json (with the right model.sha256) edited as text: what json.dumps cannot write."""

    def mutate(model_dir: Path) -> None:
        path = write_metrics(model_dir, {"accuracy": 0.5})
        path.write_text(edit(path.read_text()))

    return mutate


_DEEP = "[" * 300 + "]" * 300


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated onnx": (_truncate, r"1/model\.onnx: onnxruntime cannot load it"),
    "random bytes": (_random_bytes, r"1/model\.onnx: onnxruntime cannot load it"),
    "one x[N,13] input": (_one_matrix_input, r"1/model\.onnx: inputs x\[N, 13\]; expected 13 FP32 inputs"),
    "int64 inputs": (_int64_inputs, r"1/model\.onnx: input is_explicit is tensor\(int64\)\[N, 1\]; expected"),
    "labels not json": (_write("labels.json", b"[US, GB"), r"labels\.json: labels are not valid JSON"),
    "labels not utf-8": (_write("labels.json", b'["\xff\xfe"]'), r"labels\.json: not UTF-8 text"),
    "labels repeated": (_write("labels.json", b'["US", "US", "DE", "FR"]'), r"labels\.json: labels must be unique"),
    "labels too few": (_write("labels.json", b'["US", "GB"]'), r"labels\.json: 2 labels, but .* has 4 columns"),
    "ranges not json": (_write("feature_ranges.json", b"{not json"), r"feature_ranges\.json: not valid JSON"),
    "symlink outside": (_symlink_outside, r"1/model\.onnx is a symlink \(to .*outside\.onnx\)"),
    "extra 2/model.onnx": (_extra_version, r": 2/: a version directory other than 1/: OVMS serves the highest"),
    "extra file in 1/": (_write("1/notes.txt", b"x"), r"1/notes\.txt: 1/ may hold only model\.onnx"),
    "reserved release.json": (_write("release.json", b"{}"), r"release\.json: release\.json is reserved"),
    "empty file": (_write("notes.md", b""), r"notes\.md is empty; KServe's storage initializer skips"),
    "nan metric": (_metrics({"accuracy": float("nan")}), r"metrics\.json: metrics\.accuracy is nan"),
    "inf metric": (_metrics({"accuracy": 0.5, "loss": float("inf")}), r"metrics\.json: metrics\.loss is inf"),
    "no primary metric": (_metrics({"f1": 0.5}), r"metrics\.json: no metrics\.accuracy, the spec's release"),
    "sha mismatch": (_other_sha, r"metrics\.json: model\.sha256 is 0{64}, but .*1/model\.onnx has sha256"),
    "metrics format 3": (_write("metrics.json", b'{"format_version": 3}'), r"format_version 3; this jukebox reads"),
    "file name not utf-8": (_write(os.fsdecode(b"\xff.txt"), b"x"), r": '\\xff\.txt': its name is not valid UTF-8"),
    "control character in a name": (_write("notes\x1b.md", b"x"), r"'notes\\x1b\.md': not a plain relative path"),
    "labels nested deeply": (_write("labels.json", _DEEP.encode()), r"labels\.json: .*nested deeper than 64 levels"),
    "ranges nested deeply": (_write("feature_ranges.json", _DEEP.encode()), r"feature_ranges\.json: .*nested deeper"),
    "metrics nested deeply": (
        _metrics_text(lambda text: text.replace('"params": {', f'"params": {{"deep": {_DEEP}, ', 1)),
        r"metrics\.json: not valid JSON \(nested deeper than 64 levels\)",
    ),
    "metrics 5000-digit integer": (
        _metrics_text(lambda text: text.replace('"seed": 0', '"seed": ' + "9" * 5000, 1)),
        r"metrics\.json: not valid JSON \(a number of 5000 digits; at most 4300 are read\)",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_dry_run_refuses_a_broken_model_directory_with_exit_2(
    case: str,
    env: LocalServices,
    spec_path: Path,
    make_model: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    mutate, expected = BROKEN[case]
    model = make_model(seed=1)
    mutate(model)
    code = main(["release", "--spec", str(spec_path), "--model", str(model), "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "would publish" not in out
    assert err.startswith("error: ") and "Traceback" not in err
    assert re.search(expected, err), err
    assert s3_client(env).list_objects_v2(Bucket="models", Prefix=f"{spec_path.stem}/").get("KeyCount") == 0
    assert registry(env).list(spec_path.stem) == []


def test_a_real_release_refuses_too_and_the_process_prints_no_traceback(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    """The `jukebox` process itself: exit 2, one line naming the file, nothing published."""
    model = make_model(seed=1)
    _truncate(model)
    command = [sys.executable, "-m", "jukebox", "release", "--spec", str(spec_path), "--model", str(model)]
    done = subprocess.run(command, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and f"{model}/1/model.onnx: onnxruntime cannot load it" in done.stderr
    assert "publishing" not in done.stdout
    assert s3_client(env).list_objects_v2(Bucket="models", Prefix=f"{spec_path.stem}/").get("KeyCount") == 0


def test_hidden_entries_are_skipped_and_said_so(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model(seed=1)
    (model / ".ipynb_checkpoints").mkdir()
    (model / ".ipynb_checkpoints" / "link").symlink_to("/etc/passwd")  # never followed: not published
    assert main(["release", "--spec", str(spec_path), "--model", str(model)]) == 0
    assert "hidden entries are not published: .ipynb_checkpoints" in capsys.readouterr().out
    listing = s3_client(env).list_objects_v2(Bucket="models", Prefix=f"{spec_path.stem}/0.0.1/")["Contents"]
    assert not any(".ipynb" in o["Key"] for o in listing)


def test_a_hidden_entry_whose_name_is_not_utf8_is_named_safely(
    env: LocalServices, spec_path: Path, make_model: Callable[..., Path]
) -> None:
    """The note names it by its bytes' repr: a strict UTF-8 stdout would otherwise raise mid-release."""
    model = make_model(seed=1)
    (model / os.fsdecode(b".\xff-notes")).write_text("x")
    command = [sys.executable, "-m", "jukebox", "release", "--spec", str(spec_path), "--model", str(model)]
    strict = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    done = subprocess.run([*command, "--dry-run"], cwd=ROOT, env=strict, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hidden entries are not published: '.\\xff-notes'" in done.stdout


def test_a_trained_model_is_admitted(trained_model: Path, env: LocalServices, spec_path: Path) -> None:
    """What `jukebox train` writes passes admission as is (real ONNX export, real metrics.json)."""
    from release.admission import admit
    from release.model_dir import scan_model_dir

    admitted = admit(scan_model_dir(trained_model), "accuracy")
    assert admitted.labels == json.loads((trained_model / "labels.json").read_text())
    assert 0.0 <= admitted.metrics.metrics["accuracy"] <= 1.0
