"""The repository view: every spec in specs/ -> the whole manifests/ tree + the root kustomization.yaml."""

from __future__ import annotations

import difflib
import gc
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from generator.cache import RenderCache, tree_key
from generator.layout import MANIFESTS_DIR, ROOT_KUSTOMIZATION
from generator.loader import check_specs_together, load_spec
from generator.parallel import render_specs
from generator.pin_file import Pin
from generator.render import (
    GENERATED_MARK,
    SourcedSpec,
    load_pins,
    render_bootstrap,
    render_platform_files,
)
from generator.spec import Spec
from jukebox.errors import InputError, JukeboxError
from jukebox.fsutil import atomic_write_text, staging_directory, swap_directory
from jukebox.inputs import check_regular_file

SPECS_DIR = "specs"

WRITER_THREADS = 4


def repo_of_spec(spec_path: Path) -> Path:
    """The GitOps repository a spec belongs to: the parent of the `specs/` directory holding it."""
    return spec_path.resolve().parent.parent


@dataclass
class Tree:
    """Expected output: files under manifests/ and the root kustomization text."""

    files: dict[str, str] = field(default_factory=dict)
    root_kustomization: str = ""


@dataclass(frozen=True)
class Drift:
    stale: list[str]
    missing: list[str]
    extra: list[str]
    diffs: dict[str, str]

    @property
    def clean(self) -> bool:
        return not (self.stale or self.missing or self.extra)

    def changed_paths(self) -> list[str]:
        return sorted(self.stale + self.missing + self.extra)


def discover_specs(specs_dir: Path) -> list[Path]:
    if not specs_dir.is_dir():
        raise InputError(f"specs directory not found: {specs_dir}")
    misnamed = sorted(p.name for p in specs_dir.glob("*.yml"))
    if misnamed:
        raise InputError(f"{specs_dir}: spec files must end in .yaml: {', '.join(misnamed)}")
    return sorted(specs_dir.glob("*.yaml"))


def load_sourced(paths: list[Path], root: Path, cache: RenderCache | None = None) -> list[SourcedSpec]:
    """Load every spec; report the problems of all of them together."""
    loaded: list[SourcedSpec] = []
    failures: list[str] = []
    for path in paths:
        try:
            loaded.append(_load_one(path, _display(path, root), cache))
        except JukeboxError as error:
            failures.append(str(error))
    if failures:
        raise InputError("\n".join(failures))
    check_specs_together([(sourced.display_path, sourced.spec) for sourced in loaded])
    return loaded


def _load_one(path: Path, display: str, cache: RenderCache | None) -> SourcedSpec:
    check_regular_file(path, "spec file")
    key = cache.spec_key(path, display) if cache else None
    entry = cache.lookup(key) if cache and key else None
    if entry is None:
        spec = load_spec(path)
        return SourcedSpec(path, display, spec, load_pins(path, spec), cache_key=key)
    # Same bytes as when cached: skip YAML parsing and rendering, but still validate the spec model.
    spec = Spec.model_validate(entry["spec"])
    pins = {env: Pin.model_validate(data) if data else None for env, data in entry["pins"].items()}
    return SourcedSpec(path, display, spec, pins, rendered=(entry["files"], entry["argocd"]), cache_key=key)


def _cache_entry(sourced: SourcedSpec, files: dict[str, str], argocd: list[str]) -> dict[str, object]:
    return {
        "spec": sourced.spec.model_dump(mode="json", by_alias=True),
        "pins": {env: pin.model_dump(mode="json", by_alias=True) if pin else None for env, pin in sourced.pins.items()},
        "files": files,
        "argocd": argocd,
    }


def _display(path: Path, root: Path) -> str:
    if path.is_relative_to(root):  # the usual case (discovered under root/specs): no file system calls
        return path.relative_to(root).as_posix()
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def build_tree(specs: list[SourcedSpec], cache: RenderCache | None = None) -> Tree:
    tree = Tree()
    argocd_files: list[str] = []
    fresh = iter(render_specs([sourced for sourced in specs if sourced.rendered is None]))
    for sourced in specs:
        rendered = sourced.rendered
        if rendered is None:
            rendered = next(fresh)
            if cache and sourced.cache_key:
                cache.store(sourced.cache_key, _cache_entry(sourced, *rendered))
        files, spec_argocd = rendered
        tree.files.update(files)
        argocd_files += spec_argocd
    argo_kustomization, tree.root_kustomization = render_bootstrap(argocd_files)
    tree.files["argocd/kustomization.yaml"] = argo_kustomization
    tree.files.update(render_platform_files([s.spec for s in specs]))
    return tree


def compare_tree(tree: Tree, root: Path, cache: RenderCache | None = None) -> Drift:
    expected = {f"{MANIFESTS_DIR}/{path}": text for path, text in tree.files.items()}
    expected[ROOT_KUSTOMIZATION] = tree.root_kustomization
    present = _present(root)
    root_text = root.as_posix()
    missing = sorted(set(expected) - present)
    extra = sorted(present - set(expected))
    stale: list[str] = []
    diffs: dict[str, str] = {}
    for path in sorted(set(expected) & present):
        if cache and cache.unchanged_on_disk(f"{root_text}/{path}", expected[path]):
            continue
        actual = (root / path).read_text(encoding="utf-8", errors="replace")
        if actual != expected[path]:
            stale.append(path)
            diffs[path] = _short_diff(path, actual, expected[path])
        elif cache:
            cache.remember(f"{root_text}/{path}", expected[path])
    return Drift(stale, missing, extra, diffs)


def _files_under(directory: Path) -> set[str]:
    found: set[str] = set()
    pending = [("", str(directory))]
    while pending:
        prefix, current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append((f"{prefix}{entry.name}/", entry.path))
            else:
                found.add(prefix + entry.name)
    return found


def _short_diff(path: str, actual: str, expected: str, limit: int = 20) -> str:
    lines = list(
        difflib.unified_diff(
            actual.splitlines(), expected.splitlines(), f"{path} (on disk)", f"{path} (from specs)", lineterm="", n=1
        )
    )
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"... {len(lines) - limit} more diff lines")
    return "\n".join(shown)


def _write_files(directory: Path, files: dict[str, str]) -> None:
    # Plain os calls and string paths: tens of thousands of small files, where pathlib and text-mode
    # file objects cost more than the writing itself. Creating files waits on the file system, not the
    # CPU, so a few threads overlap those waits.
    base = str(directory)
    targets = [(f"{base}/{relative}", text) for relative, text in files.items()]
    for parent in sorted({target.rsplit("/", 1)[0] for target, _ in targets}):
        os.makedirs(parent, exist_ok=True)
    threads = min(WRITER_THREADS, 1 + len(targets) // 1000)
    if threads == 1:
        _create_files(targets)
        return
    shares = [targets[index::threads] for index in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        for done in [pool.submit(_create_files, share) for share in shares]:
            done.result()


def _create_files(targets: list[tuple[str, str]]) -> None:
    for target, text in targets:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)


def write_tree(tree: Tree, root: Path, cache: RenderCache | None = None) -> None:
    """Write manifests/ through a staging directory swapped over the old one; then the root file."""
    out = root / MANIFESTS_DIR
    staging = staging_directory(out)
    try:
        _write_files(staging, tree.files)
        swap_directory(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    atomic_write_text(root / ROOT_KUSTOMIZATION, tree.root_kustomization)
    if cache:
        base = out.as_posix()
        for path, text in tree.files.items():
            cache.remember(f"{base}/{path}", text)
        cache.remember((root / ROOT_KUSTOMIZATION).as_posix(), tree.root_kustomization)


@contextmanager
def _without_gc() -> Iterator[None]:
    """Rendering allocates millions of short-lived acyclic objects: cycle collection only slows it down."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render_repo(root: Path, use_cache: bool = True) -> list[str]:
    """Render every spec of the repo into manifests/; return the paths that changed (empty: no write)."""
    with _without_gc():
        return _render_repo(root, use_cache)


def _render_repo(root: Path, use_cache: bool) -> list[str]:
    cache = RenderCache.for_repo(root) if use_cache else None
    paths = discover_specs(root / SPECS_DIR)
    key = _tree_key(paths, root, cache)
    if cache and key and cache.tree_unchanged(key, root.as_posix(), _present(root)):
        return []
    if cache:
        cache.forget_tree()  # until this run has written and recorded the new tree
    specs = load_sourced(paths, root, cache)
    tree = build_tree(specs, cache)
    drift = compare_tree(tree, root, cache)
    if not drift.clean:
        write_tree(tree, root, cache)
    if cache and key:
        cache.save()
        cache.record_tree(key, root.as_posix(), _expected_paths(tree))
    return drift.changed_paths()


def _tree_key(paths: list[Path], root: Path, cache: RenderCache | None) -> str | None:
    """Key of everything the tree depends on; None when a spec cannot be read (the full path reports it,
    with the problems of every spec)."""
    if cache is None:
        return None
    try:
        return tree_key([cache.spec_key(path, _display(path, root)) for path in paths])
    except (OSError, InputError):
        return None


def _present(root: Path) -> set[str]:
    present = {f"{MANIFESTS_DIR}/{path}" for path in _files_under(root / MANIFESTS_DIR)}
    if (root / ROOT_KUSTOMIZATION).is_file():
        present.add(ROOT_KUSTOMIZATION)
    return present


def _expected_paths(tree: Tree) -> list[str]:
    return [*(f"{MANIFESTS_DIR}/{path}" for path in tree.files), ROOT_KUSTOMIZATION]


def check_repo(root: Path, use_cache: bool = True) -> Drift:
    with _without_gc():
        return _check_repo(root, use_cache)


def _check_repo(root: Path, use_cache: bool) -> Drift:
    cache = RenderCache.for_repo(root) if use_cache else None
    paths = discover_specs(root / SPECS_DIR)
    key = _tree_key(paths, root, cache)
    if cache and key and cache.tree_unchanged(key, root.as_posix(), _present(root)):
        return Drift([], [], [], {})
    specs = load_sourced(paths, root, cache)
    tree = build_tree(specs, cache)
    drift = compare_tree(tree, root, cache)
    if cache and key:
        cache.save()
        if drift.clean:
            cache.record_tree(key, root.as_posix(), _expected_paths(tree))
    return drift


def render_one(spec_path: Path, out: Path) -> list[str]:
    """Render a single spec into any directory (its own manifests/ + kustomization.yaml layout).

    `out` must not be a generated tree or a repository (see `check_render_target`), and whatever `out` already
    holds must have been written by `jukebox render`: the swap replaces `<out>/manifests` and
    `<out>/kustomization.yaml` as a whole."""
    check_render_target(out, spec_path)
    root = repo_of_spec(spec_path)
    specs = load_sourced([spec_path], root)
    tree = build_tree(specs)
    drift = compare_tree(tree, out)
    write_tree(tree, out)
    return drift.changed_paths()


def check_render_target(out: Path, spec_path: Path) -> None:
    """Refuse an --out whose render would replace what it must not, wherever the spec lives: `/`, any
    generated `manifests/` tree or a path inside one, a jukebox repository (it has `specs/`: `jukebox render`
    renders its own specs there), a file, and existing files `jukebox render` did not write."""
    target = out.resolve()
    if target == Path(target.anchor):
        raise InputError(f"--out {out}: the file system root; give a directory of its own")
    tree = _generated_tree_holding(target)
    if tree is not None:
        raise InputError(
            f"--out {out}: inside the generated tree {tree}; `jukebox render` (without --spec/--out) renders "
            "a repository's specs there. Choose a directory outside it"
        )
    if (target / SPECS_DIR).is_dir():
        raise InputError(f"--out {out}: {_repository_refusal(target, spec_path)}")
    specs = _specs_directory_holding(target, spec_path)
    if specs is not None:
        raise InputError(
            f"--out {out}: inside {specs}, where specs are kept (the render would add manifests/ and a "
            "kustomization.yaml that `jukebox render` then reads as a spec). Choose a directory outside it"
        )
    if target.exists() and not target.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    for foreign in _files_not_rendered_by_us(target):
        raise InputError(
            f"--out {out}: {foreign} was not written by `jukebox render`; the render would replace it. "
            "Choose an empty directory or one an earlier `render --out` wrote"
        )


def _generated_tree_holding(target: Path) -> Path | None:
    """The generated `manifests/` directory that is `target` or holds it: a directory named manifests beside
    `specs/` or beside a kustomization.yaml `jukebox render` wrote. None when there is none."""
    for directory in (target, *target.parents):
        if directory.name != MANIFESTS_DIR:
            continue
        parent = directory.parent
        if (parent / SPECS_DIR).is_dir() or _rendered_by_us(parent / ROOT_KUSTOMIZATION):
            return directory
    return None


def _specs_directory_holding(target: Path, spec_path: Path) -> Path | None:
    """The folder of the spec, or a repository's `specs/` (beside its manifests/ or root kustomization.yaml),
    that is `target` or holds it. None when there is none."""
    spec_folder = spec_path.resolve().parent
    for directory in (target, *target.parents):
        if directory == spec_folder:
            return directory
        if directory.name == SPECS_DIR and (
            (directory.parent / MANIFESTS_DIR).is_dir() or (directory.parent / ROOT_KUSTOMIZATION).is_file()
        ):
            return directory
    return None


def _repository_refusal(target: Path, spec_path: Path) -> str:
    if spec_path.resolve().parent == (target / SPECS_DIR).resolve():
        return (
            "the repository holding the spec; `jukebox render` (without --spec/--out) renders every spec of it "
            "into its manifests/"
        )
    return (
        f"a jukebox repository ({target / SPECS_DIR} exists), and the spec is not one of its specs: the render "
        "would replace that repository's manifests/ with another spec's tree. Choose a directory of its own"
    )


def _files_not_rendered_by_us(out: Path) -> Iterator[Path]:
    candidates = [out / ROOT_KUSTOMIZATION] if (out / ROOT_KUSTOMIZATION).is_file() else []
    if (out / MANIFESTS_DIR).exists():
        candidates += sorted(p for p in (out / MANIFESTS_DIR).rglob("*") if not p.is_dir())
    return (path for path in candidates if not _rendered_by_us(path))


def _rendered_by_us(path: Path) -> bool:
    """True when `path` is a regular file starting with the mark every rendered file starts with."""
    mark = GENERATED_MARK.encode()
    try:
        if not path.is_file():
            return False
        with path.open("rb") as handle:
            return handle.read(len(mark)) == mark
    except OSError:
        return False
