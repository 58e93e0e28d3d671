"""TrainingParams and the spec's `training:` section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from jukebox.errors import InputError, SpecError
from tests.generator.helpers import base_spec, make_repo
from training.params import TrainingParams, load_params


def test_defaults_and_camel_case_round_trip() -> None:
    params = TrainingParams()
    dumped = params.model_dump(by_alias=True)
    assert dumped["hiddenLayers"] == [64] and dumped["testSize"] == 0.2
    assert TrainingParams.model_validate(dumped) == params
    assert all(field.description for field in TrainingParams.model_fields.values())


def _spec_file(tmp_path: Path, training: dict[str, Any] | None, text: str | None = None) -> Path:
    root = tmp_path / "repo"
    spec = base_spec()
    spec.pop("training", None)
    if training is not None:
        spec["training"] = training
    make_repo(root, {"jukebox": text if text is not None else spec})
    return root / "specs" / "jukebox.yaml"


def test_spec_section_with_option_overrides(tmp_path: Path) -> None:
    spec = _spec_file(tmp_path, {"hiddenLayers": [32, 16], "seed": 5, "maxIter": 30})
    params = load_params(spec, {"seed": 9})
    assert params.hidden_layers == [32, 16] and params.max_iter == 30 and params.seed == 9
    assert load_params(_spec_file(tmp_path, None)) == TrainingParams()


def test_spec_errors_carry_camel_case_paths(tmp_path: Path) -> None:
    spec = _spec_file(tmp_path, {"hiddenLayers": [0], "learningRate": 1, "testSize": 1.5})
    with pytest.raises(SpecError) as error:
        load_params(spec)
    paths = sorted(problem.path for problem in error.value.problems)
    assert paths == ["training.hiddenLayers", "training.learningRate", "training.testSize"]
    assert error.value.exit_code == 2


def test_option_errors_name_the_option() -> None:
    with pytest.raises(SpecError, match="--max-iter: Input should be greater than or equal to 1"):
        load_params(None, {"max_iter": 0}, {"max_iter": "--max-iter"})


@pytest.mark.parametrize(
    ("training", "path", "message"),
    [
        ({"earlyStopping": "yes"}, "training.earlyStopping", "valid boolean"),  # as strict as serving.externalRoute
        ({"seed": "7"}, "training.seed", "valid integer"),
        ({"tol": float("inf")}, "training.tol", "finite number"),
    ],
)
def test_the_training_section_is_as_strict_as_the_rest_of_the_spec(
    tmp_path: Path, training: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(SpecError) as error:
        load_params(_spec_file(tmp_path, training))
    problems = {problem.path: problem.message for problem in error.value.problems}
    assert message in problems[path]


def test_train_and_render_refuse_the_same_yaml(tmp_path: Path) -> None:
    """A duplicate key, an alias: `train --spec` used to accept what `render` refused."""
    text = yaml.safe_dump(base_spec(), sort_keys=False)
    with pytest.raises(SpecError, match="duplicate key 'seed'"):
        load_params(_spec_file(tmp_path, None, text + "training:\n  seed: 1\n  seed: 2\n"))
    with pytest.raises(SpecError, match="anchors and aliases are not accepted"):
        load_params(_spec_file(tmp_path, None, text.replace("project:\n", "project: &p\n", 1)))


def test_unreadable_specs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"spec file not found: .*absent.yaml"):
        load_params(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match=r"spec file .*: is a directory"):
        load_params(tmp_path)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"# r\xe9sum\xe9\ntraining: {seed: 1}\n")
    with pytest.raises(InputError, match=r"spec file .*latin1.yaml: not UTF-8 text \(byte 0xe9 at offset 3, line 1\)"):
        load_params(latin1)
