"""Input that must not take the tool down: exit 2 with the file or field named, no traceback, nothing written."""

from __future__ import annotations

import errno
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import repo
from generator.loader import load_spec
from jukebox.cli import main
from jukebox.errors import SpecError
from tests.generator.helpers import base_spec, make_repo, tree_bytes

# A "billion laughs" of under 2 KB: nine levels of nine aliases, 9**9 leaves once anything walks it.
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{','.join(['*' + chr(ord('a') + i - 1)] * 9)}]"
            for i in range(1, 9)
        ),
        "apiVersion: jukebox.rhoai-mlops.io/v1alpha1",
        "kind: ModelSpec",
        "model: {name: jukebox, displayName: *i}",
    ]
)


def _jukebox(*args: str, cwd: Path | None = None, memory_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run(
        [sys.executable, "-m", "jukebox", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=cwd,
        preexec_fn=limit,
    )


def _spec_file(tmp_path: Path, spec: dict[str, Any] | str) -> Path:
    make_repo(tmp_path, {"jukebox": spec})
    return tmp_path / "specs" / "jukebox.yaml"


def test_an_alias_bomb_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    _spec_file(tmp_path, ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 2048
    result = _jukebox("render", "--root", str(tmp_path), memory_limit=2 * 1024**3)
    assert result.returncode == 2, result.stderr
    assert "YAML anchors and aliases are not accepted (line 1, column 4)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "manifests").exists()


def test_even_a_harmless_alias_is_refused_with_its_line(tmp_path: Path) -> None:
    text = yaml.safe_dump(base_spec(), sort_keys=False).replace("project:\n", "project: &project\n", 1)
    with pytest.raises(SpecError, match="anchors and aliases are not accepted"):
        load_spec(_spec_file(tmp_path, text))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"model: \xff\xfe caf\xe9\n", "spec file {path}: not UTF-8 text (byte 0xff at offset 7, line 1)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "spec file {path}: not UTF-8 text"),
        (b"# " + b"x" * (1024 * 1024), "more than 1048576 bytes; at most 1048576 are read"),
    ],
    ids=["latin-1", "binary", "too large"],
)
def test_unreadable_spec_files_are_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    path = _spec_file(tmp_path, base_spec())
    path.write_bytes(content)
    result = _jukebox("render", "--root", str(tmp_path))
    assert result.returncode == 2
    assert message.format(path=path) in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_not_read_as_a_file(device: str) -> None:
    from jukebox.errors import InputError
    from jukebox.inputs import read_text

    with pytest.raises(InputError, match=f"--token-file {device}: not a regular file"):
        read_text(Path(device), "--token-file")


def test_a_directory_named_like_a_spec_is_exit_2(tmp_path: Path) -> None:
    make_repo(tmp_path, {"jukebox": base_spec()})
    (tmp_path / "specs" / "other.yaml").mkdir()
    result = _jukebox("render", "--root", str(tmp_path))
    assert result.returncode == 2 and "is a directory, not a file" in result.stderr


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("environments.dev.namespace", "kube-system"),
        ("environments.dev.namespace", "default"),
        ("environments.test.namespace", "openshift-monitoring"),
        ("environments.prod.namespace", "openshift"),
        ("environments.prod.namespace", "redhat-ods-applications"),
        ("minio.namespace", "argocd"),
        ("registry.namespace", "kube-public"),
    ],
)
def test_reserved_namespaces_are_refused_at_their_field(tmp_path: Path, path: str, value: str) -> None:
    spec = base_spec()
    *parents, last = path.split(".")
    node = spec
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    with pytest.raises(SpecError) as raised:
        load_spec(_spec_file(tmp_path, spec))
    problems = {p.path: p.message for p in raised.value.problems}
    assert "is a platform namespace" in problems[path]


def test_a_project_namespace_cannot_be_argo_cds_or_the_registrys(tmp_path: Path) -> None:
    spec = base_spec()
    spec["gitops"]["argocdNamespace"] = "team-gitops"
    spec["environments"]["dev"]["namespace"] = "team-gitops"
    spec["minio"]["namespace"] = "rhoai-model-registries"
    with pytest.raises(SpecError) as raised:
        load_spec(_spec_file(tmp_path, spec))
    problems = {p.path: p.message for p in raised.value.problems}
    assert (
        problems["environments.dev.namespace"] == "'team-gitops' is gitops.argocdNamespace; give this its own namespace"
    )
    assert "is registry.namespace" in problems["minio.namespace"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("serving.replicas.max", 99999999999999999999, "less than or equal to 2147483647"),
        ("serving.replicas.min", 2**31, "less than or equal to 2147483647"),
        ("release.tolerance", float("inf"), "finite number"),
        ("minio.storageSize", "99999999999999999999Gi", "memory quantity"),
    ],
)
def test_numbers_beyond_what_kubernetes_accepts_are_refused_in_the_spec(
    tmp_path: Path, path: str, value: Any, message: str
) -> None:
    spec = base_spec()
    section, *rest = path.split(".")
    node = spec.setdefault(section, {})
    for key in rest[:-1]:
        node = node.setdefault(key, {})
    node[rest[-1]] = value
    with pytest.raises(SpecError) as raised:
        load_spec(_spec_file(tmp_path, spec))
    problems = {p.path: p.message for p in raised.value.problems}
    assert message in problems[path]


def test_a_long_value_is_cut_in_the_message(tmp_path: Path) -> None:
    spec = base_spec()
    spec["model"]["name"] = "X" * 100_000
    with pytest.raises(SpecError) as raised:
        load_spec(_spec_file(tmp_path, spec))
    assert len(str(raised.value)) < 400


# --- render --out ----------------------------------------------------------------------------------


@pytest.fixture
def rendered_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    make_repo(root, {"jukebox": base_spec()})
    assert main(["render", "--root", str(root)]) == 0
    return root


@pytest.mark.parametrize("where", ["manifests", "manifests/jukebox", ".", "/"])
def test_render_out_refuses_the_repositorys_tree_and_the_root(
    rendered_repo: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_bytes(rendered_repo)
    out = Path(where) if where == "/" else rendered_repo / where
    spec = rendered_repo / "specs" / "jukebox.yaml"
    assert main(["render", "--spec", str(spec), "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err
    assert tree_bytes(rendered_repo) == before


def test_render_out_never_deletes_files_it_did_not_write(rendered_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    notes = out / "manifests" / "my-notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("mine\n")
    spec = str(rendered_repo / "specs" / "jukebox.yaml")
    assert main(["render", "--spec", spec, "--out", str(out)]) == 2
    assert notes.read_text() == "mine\n"
    notes.unlink()
    assert main(["render", "--spec", spec, "--out", str(out)]) == 0
    assert main(["render", "--spec", spec, "--out", str(out)]) == 0  # its own earlier output: replaced


def test_render_out_that_is_a_file_is_exit_2(rendered_repo: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    spec = str(rendered_repo / "specs" / "jukebox.yaml")
    assert main(["render", "--spec", spec, "--out", str(blocker)]) == 2
    assert main(["render", "--spec", spec, "--out", str(blocker / "below")]) == 2  # ENOTDIR from the system


def test_generated_files_keep_the_umasks_permissions(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        make_repo(tmp_path, {"jukebox": base_spec()})
        assert main(["render", "--root", str(tmp_path)]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "manifests").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "kustomization.yaml").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "manifests/jukebox/base/servingruntime.yaml").stat().st_mode) == 0o644


def test_a_full_disk_is_one_line_and_leaves_the_old_tree(
    rendered_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_bytes(rendered_repo)
    spec = base_spec()
    spec["project"]["description"] = "changed, so the tree must be written again"
    make_repo(rendered_repo, {"jukebox": spec})

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(repo.os, "write", full)
    assert main(["render", "--root", str(rendered_repo)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: No space left on device"
    assert tree_bytes(rendered_repo) == before
    assert not [p for p in rendered_repo.iterdir() if p.name.startswith(".manifests")]


# --- pin files ---------------------------------------------------------------------------------------


@pytest.fixture
def pinned_repo(tmp_path: Path) -> Path:
    make_repo(tmp_path, {"jukebox": base_spec()}, pins={"jukebox": ["dev"]})
    return tmp_path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: b"\xff" + text.encode(), "pin file {path}: not UTF-8 text"),
        (lambda text: (text + "version: 9.9.9\n").encode(), "duplicate key 'version'"),
        (lambda text: text.replace("model: jukebox", "model: &m jukebox").encode(), "anchors and aliases"),
        (
            lambda text: text.replace("model: jukebox", "model: radio").encode(),
            "model: 'radio', but the spec's model.name",
        ),
        (lambda text: text.replace("environment: dev", "environment: prod").encode(), "environment: 'prod', but this"),
        (
            lambda text: text.replace("storagePath: jukebox/0.0.3", "storagePath: ../other/0.0.3").encode(),
            "artifact.storagePath: '../other/0.0.3' is not a version under the spec's storage.prefix",
        ),
        (
            lambda text: text.replace("formatVersion: 1", "formatVersion: 2").encode(),
            "formatVersion: 2; this jukebox reads pin format 1 (a newer jukebox wrote this file",
        ),
        (lambda text: text.replace("formatVersion: 1", "formatVersion: true").encode(), "formatVersion: True;"),
    ],
    ids=[
        "not utf-8",
        "duplicate key",
        "alias",
        "other model",
        "other environment",
        "path outside the prefix",
        "newer format",
        "boolean format",
    ],
)
def test_a_pin_file_is_read_strictly_and_must_fit_its_spec(
    pinned_repo: Path, edit: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = pinned_repo / "specs" / "jukebox.pins" / "dev.yaml"
    path.write_bytes(edit(path.read_text()))
    assert main(["render", "--root", str(pinned_repo)]) == 2
    err = capsys.readouterr().err
    assert message.format(path=path) in err and "Traceback" not in err
    assert not (pinned_repo / "manifests").exists()
