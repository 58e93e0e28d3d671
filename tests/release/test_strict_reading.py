"""Values that only look right: a sha256 with a trailing newline, JSON nested past the bound or with numbers too
long to read, and file names an S3 key cannot hold. Unit tests of the readers every side shares."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from jukebox.errors import CheckFailed, InputError
from release.manifest import FileEntry, VersionManifest, parse_manifest
from serving.contract import notes_from_path
from training.model_files import parse_model_metrics, read_model_metrics
from training.ranges import parse_ranges

SHA = "a" * 64


def _metrics(sha: str) -> dict[str, object]:
    return {
        "format_version": 2,
        "metrics": {"accuracy": 0.5},
        "data": {"fingerprint": "f"},
        "params": {},
        "model": {"sha256": sha},
    }


@pytest.mark.parametrize("sha", [SHA + "\n", SHA + "\r\n", " " + SHA, SHA.upper()])
def test_a_metrics_sha256_must_be_exactly_64_hex_digits(sha: str) -> None:
    with pytest.raises(InputError, match=r"model\.sha256 must be the 64 hex digit sha256"):
        parse_model_metrics(_metrics(sha), "metrics.json")
    assert parse_model_metrics(_metrics(SHA), "metrics.json").model_sha256 == SHA


@pytest.mark.parametrize("sha", [SHA + "\n", SHA.upper()])
def test_a_manifest_sha256_must_be_exactly_64_hex_digits(sha: str) -> None:
    body = json.dumps({"format_version": 2, "files": {"1/model.onnx": {"sha256": sha, "size": 1}}}).encode()
    with pytest.raises(CheckFailed, match=r"lists '1/model\.onnx' without a valid sha256"):
        parse_manifest(body, "s3://models/m/0.0.1/release.json")


DEEP = "[" * 300 + "]" * 300


def test_deeply_nested_metrics_json_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(_metrics(SHA)).replace('"params": {}', f'"params": {{"x": {DEEP}}}'))
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}: not valid JSON \(nested deeper than 64 levels\)$"):
        read_model_metrics(path)


def test_a_5000_digit_integer_in_metrics_json_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(_metrics(SHA)).replace('"accuracy": 0.5', '"accuracy": ' + "9" * 5000))
    with pytest.raises(
        InputError, match=rf"^{re.escape(str(path))}: not valid JSON \(a number of 5000 digits; at most 4300"
    ):
        read_model_metrics(path)


def test_deeply_nested_labels_for_serve_and_predict_name_the_option(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text(DEEP)
    with pytest.raises(
        InputError, match=rf"^--labels {re.escape(str(path))}: labels are not valid JSON \(nested deeper than 64"
    ):
        notes_from_path(path, "--labels")


def test_deeply_nested_feature_ranges_name_the_source() -> None:
    with pytest.raises(ValueError, match=r"^feature_ranges.json: not valid JSON \(nested deeper than 64 levels\)$"):
        parse_ranges('{"tempo": ' * 300 + "1" + "}" * 300, "feature_ranges.json")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"tempo": {"min": 0, "max": 1, "low": 0, "high": 1, "note": "[{" * 500}})
    assert parse_ranges(text, "feature_ranges.json")["tempo"]["max"] == 1.0


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('["a]]]]\\"[[[[", [1]]', 2),  # an escaped quote does not end the string
        ('{"a\\\\": [[1]]}', 3),  # an escaped backslash does not escape the closing quote
        ('["\\\\"]', 1),
        ('[' * 3 + '"' + '\\"' * 1000, 3),  # unclosed, full of escaped quotes (a regex scan went quadratic)
    ],
    ids=["escaped quote", "escaped backslash", "only a backslash", "unclosed string"],
)
def test_the_nesting_scan_follows_json_strings(text: str, depth: int) -> None:
    from jukebox.inputs import _json_depth

    assert _json_depth(text) == depth


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (os.fsdecode(b"\xff.txt"), r"^'\\xff\.txt': its name is not valid UTF-8"),
        ("notes\x85.md", r"^'notes\\xc2\\x85\.md': not a plain relative path"),
    ],
    ids=["not utf-8", "C1 control character"],
)
def test_a_manifest_is_never_built_with_a_name_s3_cannot_hold(name: str, message: str) -> None:
    """Before release.json is written (a name that fails there would leave the version incomplete)."""
    with pytest.raises(InputError, match=message):
        VersionManifest.of([FileEntry("1/model.onnx", SHA, 1), FileEntry(name, SHA, 1)])
