"""Bad spec input: every problem reported at once with its path, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.loader import load_spec
from jukebox.errors import InputError, SpecError
from tests.generator.helpers import base_spec, make_repo, tree_bytes

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = spec
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = spec
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


CORPUS: list[tuple[str, Mutation, str, str]] = [
    ("unknown key", _set("serving.replica", 2), "serving.replica", "unknown field; allowed: deploymentMode"),
    ("wrong type", _set("serving.tokenAuth", "yes"), "serving.tokenAuth", "valid boolean"),
    ("invalid name", _set("model.name", "Juke_Box"), "model.name", "must be a Kubernetes name"),
    ("name too long", _set("model.name", "j" * 46), "model.name", "at most 45 characters"),
    ("unknown size", _set("serving.size", "Huge"), "serving.size", "'Small', 'Medium' or 'Large'"),
    ("negative replicas", _set("serving.replicas.min", -1), "serving.replicas.min", "greater than or equal to 0"),
    ("inverted replicas", _set("serving.replicas", {"min": 3, "max": 2}), "serving.replicas", "must be ≤ max"),
    ("missing field", _delete("gitops.project"), "gitops.project", "required field is missing"),
    ("missing section", _delete("model"), "model", "required field is missing"),
    (
        "duplicate namespaces",
        _set("environments.test.namespace", "jukebox-dev"),
        "environments.test.namespace",
        "already used by environments.dev",
    ),
    (
        "image without digest",
        _set("serving.runtime.image", "quay.io/x/ovms:latest"),
        "serving.runtime.image",
        "by digest",
    ),
    ("malformed image", _set("minio.image", "not an image"), "minio.image", "image reference"),
    ("bad memory", _set("minio.storageSize", "20 gigs"), "minio.storageSize", "memory quantity"),
    ("bucket not created", _set("storage.bucket", "other"), "storage.bucket", "must be one of minio.buckets"),
    ("scale to zero raw", _set("serving.replicas.min", 0), "environments.dev.serving.replicas.min", "Serverless"),
    ("bad env name", _set("environments.Dev", {"namespace": "x-dev"}), "environments.Dev", "Kubernetes name"),
    ("wrong api version", _set("apiVersion", "v2"), "apiVersion", "jukebox.rhoai-mlops.io/v1alpha1"),
    ("newline injection", _set("project.description", "a\nkind: Secret"), "project.description", "one line"),
    ("template injection", _set("model.displayName", "{{ evil }}"), "model.displayName", "one line"),
    ("very long text", _set("project.description", "x" * 2000), "project.description", "at most 1024"),
    ("bad git url", _set("gitops.repoURL", "file:///etc"), "gitops.repoURL", "git URL"),
    ("bad training", _set("training.hiddenLayers", []), "training.hiddenLayers", "at least 1"),
    (
        "unknown profile",
        _set("platform.profile", "rhoai-2.16"),
        "platform.profile",
        "unknown profile 'rhoai-2.16'; allowed: rhoai-2.22, rhoai-3.3, rhoai-3.5, upstream",
    ),
    (
        "serverless on 3.x",
        _set("serving.deploymentMode", "Serverless"),
        "serving.deploymentMode",
        "Serverless is not available with platform.profile rhoai-3.3; allowed: RawDeployment",
    ),
    (
        "serverless override on 3.x",
        _set("environments.dev.serving", {"deploymentMode": "Serverless", "replicas": {"min": 0, "max": 1}}),
        "environments.dev.serving.deploymentMode",
        "not available with platform.profile rhoai-3.3",
    ),
    (
        # platform settings were matched with .match, so a trailing newline slipped through `$`.
        "image with a newline",
        _set("platform.kind.modelRegistryImage", "ghcr.io/kubeflow/model-registry/server:v0.3.8\n"),
        "platform.kind.modelRegistryImage",
        "image reference",
    ),
    (
        "scale to zero with a model default",
        _set("environments.dev.serving", {"replicas": {"min": 0, "max": 1}}),
        "environments.dev.serving.replicas.min",
        "0 needs deploymentMode Serverless",
    ),
    (
        "route host label too long",
        _set("environments.dev.namespace", "d" * 58),
        "environments.dev.namespace",
        "Route host label",
    ),
    (
        "token auth upstream",
        _set("platform.profile", "upstream"),
        "environments.prod.serving.tokenAuth",
        "platform.profile upstream has no token authentication",
    ),
]


def _write(tmp_path: Path, spec: dict[str, Any] | str) -> Path:
    make_repo(tmp_path, {"jukebox": spec})
    return tmp_path / "specs" / "jukebox.yaml"


@pytest.mark.parametrize(("case", "mutate", "path", "message"), CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_spec_names_field_and_rule(tmp_path: Path, case: str, mutate: Mutation, path: str, message: str) -> None:
    spec = base_spec()
    mutate(spec)
    with pytest.raises(SpecError) as raised:
        load_spec(_write(tmp_path, spec))
    problems = {p.path: p.message for p in raised.value.problems}
    assert path in problems, f"{case}: expected a problem at {path}, got {problems}"
    assert message in problems[path]


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    spec = base_spec()
    spec["serving"]["size"] = "Huge"
    spec["model"]["name"] = "Bad Name"
    spec["environments"]["prod"]["namespace"] = "jukebox-dev"
    spec["extra"] = 1
    with pytest.raises(SpecError) as raised:
        load_spec(_write(tmp_path, spec))
    paths = {p.path for p in raised.value.problems}
    assert {"serving.size", "model.name", "environments.prod.namespace", "extra"} <= paths


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "top level must be a mapping, not list"),
        ("model:\n  name: [unclosed\n", "YAML syntax error at line 3, column 1"),
        ("model: {}\nmodel: {}\n", "duplicate key 'model'"),
    ],
    ids=["empty", "not a mapping", "syntax error", "duplicate key"],
)
def test_unreadable_spec_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_spec(_write(tmp_path, text))


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")


def test_cli_bad_spec_exits_2_without_traceback_and_writes_nothing(tmp_path: Path) -> None:
    make_repo(tmp_path, {"jukebox": base_spec()})
    assert _jukebox("render", "--root", str(tmp_path)).returncode == 0
    before = tree_bytes(tmp_path)
    spec = base_spec()
    spec["serving"]["replicas"] = {"min": 3, "max": 1}
    spec["serving"]["size"] = "Huge"
    make_repo(tmp_path, {"jukebox": spec})
    result = _jukebox("render", "--root", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "serving.replicas: min (3) must be ≤ max (1)" in result.stderr
    assert "serving.size: Input should be 'Small', 'Medium' or 'Large'" in result.stderr
    assert tree_bytes(tmp_path) == before


def test_cli_debug_shows_traceback(tmp_path: Path) -> None:
    make_repo(tmp_path, {"jukebox": "[1, 2]\n"})
    result = _jukebox("--debug", "render", "--root", str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def _jukebox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jukebox", *args], capture_output=True, text=True, check=False, timeout=60
    )
