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
        ("environments.dev.namespace", "opendatahub-operators"),
        ("environments.dev.namespace", "knative-eventing"),
        ("environments.test.namespace", "redhat-ods-applications-auth-provider"),
        ("environments.test.namespace", "rhods-notebooks"),
        ("environments.prod.namespace", "kserve"),
        ("environments.prod.namespace", "kserve-localmodel-jobs"),
        ("environments.prod.namespace", "cert-manager-operator"),
        ("minio.namespace", "argocd-apps"),
        ("minio.namespace", "local-path-storage"),
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


@pytest.mark.parametrize(
    "value", ["jukebox-dev", "team-kserve", "kserve-test", "knative", "istio-demo", "operators-team", "odh-lab"]
)
def test_namespaces_that_only_resemble_reserved_ones_are_accepted(tmp_path: Path, value: str) -> None:
    spec = base_spec()
    spec["environments"]["dev"]["namespace"] = value
    assert load_spec(_spec_file(tmp_path, spec)).environments["dev"].namespace == value


def test_the_reserved_namespace_message_names_the_rule_and_the_table(tmp_path: Path) -> None:
    spec = base_spec()
    spec["environments"]["dev"]["namespace"] = "knative-eventing"
    with pytest.raises(SpecError) as raised:
        load_spec(_spec_file(tmp_path, spec))
    message = {p.path: p.message for p in raised.value.problems}["environments.dev.namespace"]
    assert message.startswith("'knative-eventing' is a platform namespace (knative-*); reserved: default, kube-*")


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


@pytest.mark.parametrize("where", ["top level", "environments"])
def test_a_long_key_is_cut_in_the_message(tmp_path: Path, where: str) -> None:
    spec = base_spec()
    key = "K" * 100_000
    if where == "environments":
        spec["environments"][key] = {"namespace": "jukebox-long"}
    else:
        spec[key] = 1
    with pytest.raises(SpecError) as raised:
        load_spec(_spec_file(tmp_path, spec))
    assert len(str(raised.value)) < 600, str(raised.value)[:300]
    assert "(100000 chars)" in str(raised.value)


def test_a_long_key_in_a_pin_file_is_cut_in_the_message(pinned_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pinned_repo / "specs" / "jukebox.pins" / "dev.yaml"
    path.write_text(path.read_text() + "? " + "K" * 100_000 + "\n: 1\n")  # an explicit key: no length limit
    assert main(["render", "--root", str(pinned_repo)]) == 2
    err = capsys.readouterr().err
    assert len(err) < 600 and "(100000 chars)" in err


# --- nesting and values YAML cannot build -------------------------------------------------------------

DEEP_FLOW = "model: " + "{a: " * 250 + "1" + "}" * 250 + "\n"
DEEP_BLOCK = "model:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(250)) + " " * 252 + "b: 1\n"


@pytest.mark.parametrize("text", [DEEP_FLOW, DEEP_BLOCK], ids=["flow", "block"])
def test_deep_nesting_in_a_spec_is_exit_2_naming_the_file(tmp_path: Path, text: str) -> None:
    path = _spec_file(tmp_path, text)
    result = _jukebox("render", "--root", str(tmp_path), "--no-cache")
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{path}: 1 problem(s)" in result.stderr and "nested deeper than 64 levels (line " in result.stderr
    assert "Traceback" not in result.stderr


def test_deep_nesting_in_a_pin_file_is_exit_2_naming_it(pinned_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pinned_repo / "specs" / "jukebox.pins" / "dev.yaml"
    path.write_text(path.read_text() + DEEP_FLOW.replace("model:", "extra:"))
    assert main(["render", "--root", str(pinned_repo)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: 1 problem(s)" in err and "nested deeper than 64 levels" in err


def test_deep_nesting_in_a_secrets_file_is_refused_naming_it(tmp_path: Path) -> None:
    from jukebox.inputs import load_yaml_file

    path = tmp_path / "secrets.yaml"
    path.write_text("[" * 300 + "]" * 300)
    with pytest.raises(SpecError, match=f"{path}: 1 problem\\(s\\)\n  - nested deeper than 64 levels"):
        load_yaml_file(path, "--secrets-file")


def test_nesting_within_the_bound_is_read(tmp_path: Path) -> None:
    from jukebox.inputs import MAX_NESTING, parse_yaml

    depth = MAX_NESTING - 1
    assert parse_yaml("a: " + "[" * depth + "1" + "]" * depth, "x")["a"] is not None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9" * 5000, "cannot be read (Exceeds the limit (4300 digits)"),
        ("0x" + "f" * 4000, "cannot be read (an integer past 4300 digits)"),
        ("1" + ":00" * 3000, "cannot be read (an integer past 4300 digits)"),  # YAML 1.1 base 60
        ("2024-13-45", "cannot be read (month must"),
    ],
    ids=["5000-digit integer", "huge hex integer", "huge base-60 integer", "impossible date"],
)
def test_a_yaml_value_python_cannot_build_is_exit_2(tmp_path: Path, value: str, message: str) -> None:
    text = yaml.safe_dump(base_spec(), sort_keys=False) + f"extra: {value}\n"
    path = _spec_file(tmp_path, text)
    result = _jukebox("render", "--root", str(tmp_path))
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{path}: 1 problem(s)" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr and "set_int_max_str_digits" not in result.stderr


# --- devices and FIFOs in specs/ -------------------------------------------------------------------


def _device_spec(root: Path) -> Path:
    (root / "specs" / "z.yaml").symlink_to("/dev/zero")
    return root / "specs" / "z.yaml"


def _fifo_spec(root: Path) -> Path:
    os.mkfifo(root / "specs" / "f.yaml")
    return root / "specs" / "f.yaml"


def _device_pin(root: Path) -> Path:
    pin = root / "specs" / "jukebox.pins" / "dev.yaml"
    pin.unlink()
    pin.symlink_to("/dev/zero")
    return pin


def _fifo_pin(root: Path) -> Path:
    pin = root / "specs" / "jukebox.pins" / "dev.yaml"
    pin.unlink()
    os.mkfifo(pin)
    return pin


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cache", "no cache"])
@pytest.mark.parametrize(
    ("make", "what"),
    [(_device_spec, "spec file"), (_fifo_spec, "spec file"), (_device_pin, "pin file"), (_fifo_pin, "pin file")],
    ids=["spec /dev/zero", "spec FIFO", "pin /dev/zero", "pin FIFO"],
)
def test_a_device_or_fifo_in_specs_is_exit_2_with_or_without_the_cache(
    pinned_repo: Path, make: Any, what: str, cache: list[str]
) -> None:
    assert _jukebox("render", "--root", str(pinned_repo)).returncode == 0  # the cache knows the repository
    path = make(pinned_repo)
    result = _jukebox("render", "--root", str(pinned_repo), *cache, memory_limit=2 * 1024**3)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{what} {path}: not a regular file (a device, a FIFO or a socket)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stray", ["large", "directory", "fifo"])
def test_a_stray_file_among_the_pins_gives_the_same_answer_with_and_without_the_cache(
    pinned_repo: Path, stray: str
) -> None:
    """Only the environments' pins are read; a file no environment names changes nothing, cached or not."""
    path = pinned_repo / "specs" / "jukebox.pins" / "old.yaml"
    if stray == "large":
        path.write_bytes(b"#" * (2 * 1024 * 1024))
    elif stray == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    for cache in ([], ["--no-cache"], []):
        result = _jukebox("render", "--root", str(pinned_repo), *cache)
        assert result.returncode == 0, result.stderr[-2000:]


# --- render --out ----------------------------------------------------------------------------------


@pytest.fixture
def rendered_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    make_repo(root, {"jukebox": base_spec()})
    assert main(["render", "--root", str(root)]) == 0
    return root


@pytest.mark.parametrize("where", ["manifests", "manifests/jukebox", ".", "/", "specs", "specs/preview"])
def test_render_out_refuses_the_repositorys_tree_and_the_root(
    rendered_repo: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_bytes(rendered_repo)
    out = Path(where) if where == "/" else rendered_repo / where
    spec = rendered_repo / "specs" / "jukebox.yaml"
    assert main(["render", "--spec", str(spec), "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err
    assert tree_bytes(rendered_repo) == before


@pytest.fixture
def outside_spec(tmp_path: Path) -> Path:
    """A spec that belongs to no repository (not in a specs/ directory), for another model."""
    spec = base_spec()
    spec["model"]["name"] = "other"
    path = tmp_path / "elsewhere" / "other.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "where", [".", "manifests", "manifests/jukebox", "manifests/new/dir", "specs/..", "specs", "specs/new"]
)
def test_render_out_refuses_any_repository_and_generated_tree_for_a_spec_outside_it(
    rendered_repo: Path, outside_spec: Path, where: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    """From the repository root, as a user would type it: the spec lives elsewhere."""
    before = tree_bytes(rendered_repo)
    monkeypatch.chdir(rendered_repo)
    assert main(["render", "--spec", str(outside_spec), "--out", where]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --out {where}: ") and "Traceback" not in err
    assert tree_bytes(rendered_repo) == before
    assert not (rendered_repo / "manifests" / "manifests").exists()


def test_render_out_refuses_the_folder_of_the_spec(outside_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A kustomization.yaml written beside the spec would be read as a spec by the next render there."""
    for out in (outside_spec.parent, outside_spec.parent / "preview"):
        assert main(["render", "--spec", str(outside_spec), "--out", str(out)]) == 2
        assert "where specs are kept" in capsys.readouterr().err
    assert sorted(p.name for p in outside_spec.parent.iterdir()) == ["other.yaml"]


def test_render_out_refuses_the_tree_an_earlier_render_out_wrote(
    rendered_repo: Path, outside_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "preview"
    assert main(["render", "--spec", str(outside_spec), "--out", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for inside in (out / "manifests", out / "manifests" / "other" / "base"):
        assert main(["render", "--spec", str(outside_spec), "--out", str(inside)]) == 2
        assert "inside the generated tree" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert main(["render", "--spec", str(outside_spec), "--out", str(out)]) == 0  # out itself: replaced


def test_render_out_names_the_other_repository(
    rendered_repo: Path, outside_spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "--spec", str(outside_spec), "--out", str(rendered_repo)]) == 2
    err = capsys.readouterr().err
    assert f"a jukebox repository ({rendered_repo / 'specs'} exists), and the spec is not one of its specs" in err


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
