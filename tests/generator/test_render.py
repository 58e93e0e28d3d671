"""Rendering: determinism, drift detection, atomic replacement, the cache never serving stale output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import repo
from generator.repo import check_repo, render_repo
from jukebox.cli import main
from jukebox.errors import InputError
from tests.generator.helpers import base_spec, deep_merge, make_repo, tree_bytes


@pytest.fixture
def rendered_repo(tmp_path: Path) -> Path:
    make_repo(tmp_path, {"jukebox": base_spec()}, pins={"jukebox": ["dev"]})
    render_repo(tmp_path)
    return tmp_path


def test_two_renders_are_byte_identical(tmp_path: Path) -> None:
    first = make_repo(tmp_path / "a", {"jukebox": base_spec()}, pins={"jukebox": ["dev"]})
    second = make_repo(tmp_path / "b", {"jukebox": base_spec()}, pins={"jukebox": ["dev"]})
    render_repo(first, use_cache=False)
    render_repo(second, use_cache=True)
    assert tree_bytes(first) == tree_bytes(second)


def test_rerender_changes_nothing(rendered_repo: Path) -> None:
    before = tree_bytes(rendered_repo)
    assert render_repo(rendered_repo) == []
    assert tree_bytes(rendered_repo) == before
    assert check_repo(rendered_repo).clean


def test_check_reports_hand_edit_with_diff(rendered_repo: Path) -> None:
    target = rendered_repo / "manifests/jukebox/overlays/dev/inferenceservice.yaml"
    target.write_text(target.read_text().replace("minReplicas: 1", "minReplicas: 3"))
    drift = check_repo(rendered_repo)
    assert drift.stale == ["manifests/jukebox/overlays/dev/inferenceservice.yaml"]
    assert "-    minReplicas: 3" in drift.diffs[drift.stale[0]]
    assert "+    minReplicas: 1" in drift.diffs[drift.stale[0]]


def test_check_reports_extra_and_missing_files(rendered_repo: Path) -> None:
    (rendered_repo / "manifests/jukebox/base/extra.yaml").write_text("kind: ConfigMap\n")
    (rendered_repo / "manifests/jukebox/storage/service.yaml").unlink()
    drift = check_repo(rendered_repo)
    assert drift.extra == ["manifests/jukebox/base/extra.yaml"]
    assert drift.missing == ["manifests/jukebox/storage/service.yaml"]


def test_check_cli_exit_codes(rendered_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--check", "--root", str(rendered_repo)]) == 0
    (rendered_repo / "kustomization.yaml").write_text("resources: []\n")
    assert main(["render", "--check", "--root", str(rendered_repo)]) == 1
    err = capsys.readouterr().err
    assert "stale:   kustomization.yaml" in err
    assert "run `jukebox render`" in err


def test_same_size_edit_is_detected_despite_cache(rendered_repo: Path) -> None:
    target = rendered_repo / "manifests/jukebox/base/servingruntime.yaml"
    text = target.read_text()
    target.write_text(text.replace("--port=8001", "--port=8002"))  # same size, new mtime
    assert check_repo(rendered_repo).stale == ["manifests/jukebox/base/servingruntime.yaml"]


def test_removed_environment_disappears(rendered_repo: Path) -> None:
    spec = base_spec()
    del spec["environments"]["test"]
    make_repo(rendered_repo, {"jukebox": spec})
    changed = render_repo(rendered_repo)
    assert "manifests/jukebox/overlays/test/namespace.yaml" in changed
    assert not (rendered_repo / "manifests/jukebox/overlays/test").exists()
    assert not (rendered_repo / "manifests/argocd/jukebox/application-test.yaml").exists()


def test_cache_follows_spec_and_pin_changes(rendered_repo: Path) -> None:
    spec = base_spec()
    spec["environments"]["dev"]["serving"] = {"replicas": {"min": 2, "max": 3}}
    make_repo(rendered_repo, {"jukebox": spec})
    render_repo(rendered_repo)
    isvc = yaml.safe_load((rendered_repo / "manifests/jukebox/overlays/dev/inferenceservice.yaml").read_text())
    assert isvc["spec"]["predictor"]["maxReplicas"] == 3
    (rendered_repo / "specs/jukebox.pins/dev.yaml").unlink()
    render_repo(rendered_repo)
    assert not (rendered_repo / "manifests/jukebox/overlays/dev/inferenceservice.yaml").exists()


def test_bad_spec_leaves_old_tree_intact(rendered_repo: Path) -> None:
    before = tree_bytes(rendered_repo)
    spec = base_spec()
    spec["serving"]["size"] = "Huge"
    make_repo(rendered_repo, {"jukebox": spec})
    with pytest.raises(InputError):
        render_repo(rendered_repo)
    assert tree_bytes(rendered_repo) == before


def test_failure_while_writing_leaves_old_tree_intact(rendered_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = tree_bytes(rendered_repo)
    spec = base_spec()
    spec["project"]["description"] = "changed"
    make_repo(rendered_repo, {"jukebox": spec})

    def broken_swap(new_tree: Path, target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(repo, "swap_directory", broken_swap)
    with pytest.raises(OSError):
        render_repo(rendered_repo)
    assert tree_bytes(rendered_repo) == before
    assert not [p for p in rendered_repo.iterdir() if p.name.startswith(".manifests")]


def test_render_one_spec_into_any_directory(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo", {"jukebox": base_spec()})
    out = tmp_path / "out"
    assert main(["render", "--spec", str(tmp_path / "repo/specs/jukebox.yaml"), "--out", str(out)]) == 0
    assert (out / "manifests/jukebox/base/servingruntime.yaml").is_file()
    assert (out / "kustomization.yaml").is_file()


def test_two_specs_render_side_by_side(tmp_path: Path) -> None:
    other = base_spec()
    other["model"]["name"] = "radio"
    other["gitops"]["project"] = "radio"
    other["minio"]["namespace"] = "radio-minio"
    for env in other["environments"].values():
        env["namespace"] = env["namespace"].replace("jukebox", "radio")
    make_repo(tmp_path, {"jukebox": base_spec(), "radio": other})
    render_repo(tmp_path)
    argocd = yaml.safe_load((tmp_path / "manifests/argocd/kustomization.yaml").read_text())
    assert "radio/application-prod.yaml" in argocd["resources"]
    assert "jukebox/application-prod.yaml" in argocd["resources"]


def test_two_specs_may_not_share_a_namespace(tmp_path: Path) -> None:
    other = base_spec()
    other["model"]["name"] = "radio"
    other["gitops"]["project"] = "radio"
    other["minio"]["namespace"] = "radio-minio"
    make_repo(tmp_path, {"jukebox": base_spec(), "radio": other})
    with pytest.raises(InputError, match=r"already used by specs/jukebox\.yaml"):
        render_repo(tmp_path)


def _radio() -> dict[str, Any]:
    other = base_spec()
    other["model"]["name"] = "radio"
    other["gitops"]["project"] = "radio"
    other["minio"]["namespace"] = "radio-minio"
    for name, env in other["environments"].items():
        env["namespace"] = f"radio-{name}"
    return other


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"platform": {"profile": "rhoai-3.5"}},
            "specs/radio.yaml: 1 problem(s)\n  - platform: differs from the platform",
        ),
        ({"registry": {"namespace": "radio-registries"}}, "  - registry.namespace: 'radio-registries', but specs/"),
    ],
)
def test_specs_of_one_repository_share_one_platform(tmp_path: Path, change: dict[str, Any], problem: str) -> None:
    make_repo(tmp_path, {"jukebox": base_spec(), "radio": deep_merge(_radio(), change)})
    with pytest.raises(InputError) as raised:
        render_repo(tmp_path)
    assert problem in str(raised.value)


def test_committed_manifests_match_specs(repo_root: Path, tmp_path: Path) -> None:
    """The repo's own manifests/ is what its specs produce (what `render --check` enforces in CI)."""
    copy = tmp_path / "repo"
    shutil.copytree(repo_root / "specs", copy / "specs")
    shutil.copytree(repo_root / "manifests", copy / "manifests")
    shutil.copy(repo_root / "kustomization.yaml", copy / "kustomization.yaml")
    drift = check_repo(copy, use_cache=False)
    assert drift.clean, f"run `jukebox render`: {drift.changed_paths()}"


def test_template_values_are_checked_before_writing() -> None:
    from generator.objects.common import Manifest
    from generator.render import render_document
    from jukebox.errors import CheckFailed

    null = Manifest("x.yaml", "Namespace", "x", {"annotations": {"a": None}})
    with pytest.raises(CheckFailed, match=r"x.yaml \(from core/namespace.json.j2\): a value is null at annotations.a"):
        render_document(null)
    missing = Manifest("x.yaml", "ConfigMap", "x", {"labels": {"a": "b"}})
    with pytest.raises(CheckFailed, match="'data' is undefined"):
        render_document(missing)


def test_cache_keeps_only_entries_of_current_specs(rendered_repo: Path) -> None:
    cache_dir = rendered_repo / ".jukebox/cache/render"
    entries_before = {p.name for p in cache_dir.glob("*.json")} - {"disk-state.json", "tree-index.json"}
    assert len(entries_before) == 1
    spec = base_spec()
    spec["project"]["description"] = "a new description"
    make_repo(rendered_repo, {"jukebox": spec})
    render_repo(rendered_repo)
    entries_after = {p.name for p in cache_dir.glob("*.json")} - {"disk-state.json", "tree-index.json"}
    assert len(entries_after) == 1 and entries_after != entries_before


def _settled(root: Path) -> Path:
    """A rendered repo whose tree index is trusted: recorded well after its files were written."""
    index = root / ".jukebox/cache/render/tree-index.json"
    recorded = json.loads(index.read_text())
    recorded["recorded_at"] += 10**10  # as if recorded 10 s later: no file is racily clean any more
    index.write_text(json.dumps(recorded))
    return root


def test_a_no_change_check_loads_no_spec_and_reads_no_output(
    rendered_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.repo as repo

    _settled(rendered_repo)

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tree index should have answered")

    monkeypatch.setattr(repo, "load_sourced", no_loading)
    assert check_repo(rendered_repo).clean
    assert render_repo(rendered_repo) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("edit", "stale"),
        ("add", "extra"),
        ("delete", "missing"),
    ],
)
def test_the_tree_index_never_hides_a_change_on_disk(rendered_repo: Path, change: str, expected: str) -> None:
    _settled(rendered_repo)
    target = rendered_repo / "manifests/jukebox/base/servingruntime.yaml"
    if change == "edit":
        target.write_text(target.read_text() + "# edited\n")
    elif change == "add":
        (rendered_repo / "manifests/jukebox/base/notes.yaml").write_text("x: 1\n")
    else:
        target.unlink()
    drift = check_repo(rendered_repo)
    assert getattr(drift, expected), drift


def test_the_tree_index_follows_the_inputs(rendered_repo: Path) -> None:
    _settled(rendered_repo)
    spec = base_spec()
    spec["project"]["description"] = "new words"
    make_repo(rendered_repo, {"jukebox": spec})
    assert check_repo(rendered_repo).stale


def test_a_racily_clean_file_is_compared_not_trusted(rendered_repo: Path) -> None:
    """An edit in the same timestamp tick as the recording keeps size and mtime: only the content tells."""
    index_path = rendered_repo / ".jukebox/cache/render/tree-index.json"
    index = json.loads(index_path.read_text())
    relative = "manifests/jukebox/base/servingruntime.yaml"
    target = rendered_repo / relative
    _size, mtime_ns = index["files"][relative]
    target.write_text(target.read_text().replace("--port=8001", "--port=8002"))  # same size
    os.utime(target, ns=(mtime_ns, mtime_ns))
    index["recorded_at"] = mtime_ns + 1_000  # recorded within the tick of the edit
    index_path.write_text(json.dumps(index))
    state_path = rendered_repo / ".jukebox/cache/render/disk-state.json"
    state = json.loads(state_path.read_text())
    state["recorded_at"] = mtime_ns + 1_000
    state_path.write_text(json.dumps(state))
    assert check_repo(rendered_repo).stale == [relative]
