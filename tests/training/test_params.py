"""TrainingParams and the spec's `training:` section."""

from __future__ import annotations

from pathlib import Path

import pytest

from jukebox.errors import InputError, SpecError
from training.params import TrainingParams, load_params


def test_defaults_and_camel_case_round_trip() -> None:
    params = TrainingParams()
    dumped = params.model_dump(by_alias=True)
    assert dumped["hiddenLayers"] == [64] and dumped["testSize"] == 0.2
    assert TrainingParams.model_validate(dumped) == params
    assert all(field.description for field in TrainingParams.model_fields.values())


def test_spec_section_with_option_overrides(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: jukebox\ntraining:\n  hiddenLayers: [32, 16]\n  seed: 5\n  maxIter: 30\n")
    params = load_params(spec, {"seed": 9})
    assert params.hidden_layers == [32, 16] and params.max_iter == 30 and params.seed == 9
    spec.write_text("name: jukebox\n")
    assert load_params(spec) == TrainingParams()


def test_spec_errors_carry_camel_case_paths(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("training:\n  hiddenLayers: [0]\n  learningRate: 1\n  testSize: 1.5\n")
    with pytest.raises(SpecError) as error:
        load_params(spec)
    paths = sorted(problem.path for problem in error.value.problems)
    assert paths == ["training.hiddenLayers", "training.learningRate", "training.testSize"]
    assert error.value.exit_code == 2


def test_option_errors_name_the_option() -> None:
    with pytest.raises(SpecError, match="--max-iter: Input should be greater than or equal to 1"):
        load_params(None, {"max_iter": 0}, {"max_iter": "--max-iter"})


def test_unreadable_or_malformed_specs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--spec .*absent.yaml: no such file"):
        load_params(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match=r"--spec .*: is a directory"):
        load_params(tmp_path)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"# r\xe9sum\xe9\ntraining: {seed: 1}\n")
    with pytest.raises(InputError, match=r"--spec .*latin1.yaml: not UTF-8 text \(byte 0xe9 at offset 3\)"):
        load_params(latin1)
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: [1, 2]\n")
    with pytest.raises(SpecError, match="training: must be a mapping"):
        load_params(bad)
    bad.write_text("training: {a: [}\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_params(bad)
