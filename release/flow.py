"""The release flow: train -> publish (S3) -> register (Model Registry) -> gate -> pin -> render.

Each step is safe to rerun: publishing and registering are idempotent for the same bytes, the pin
file is written only after both succeeded, and pin files and manifests are written atomically.
So a failure leaves the pin (and the manifests) unchanged and a rerun completes the release.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.loader import load_spec
from generator.names import artifact_uri, s3_connection_secret_name, version_storage_path
from generator.pin_file import Pin, pin_path, read_pin, remove_pin, write_pin
from generator.repo import repo_of_spec
from generator.spec import Spec
from jukebox.errors import CheckFailed, InputError, QualityGateRefused
from jukebox.output import Out
from release.admission import admit
from release.connections import NO_OPTIONS, Connection, Services, connect_or_start_local
from release.environments import load_for_env
from release.gate import quality_gate
from release.manifest import MANIFEST_FILE, DirectoryDiffers, shown_path
from release.model_dir import ModelFiles, scan_model_dir
from release.pin_changes import describe_pin_change, make_pin, ship_commands
from release.registry import RegisteredVersion, Registration, Registry
from release.s3 import PublishPlan, S3Store
from release.versions import check_version, next_patch
from training.model_files import ModelMetrics

MAX_VERSION_SKIPS = 100


# -- model directory --------------------------------------------------------------------------


def train_model(spec: Spec, data: str, out_dir: Path, progress: bool = True) -> Path:
    """Train with `training.train` into `out_dir` (OVMS layout); returns the model directory."""
    from training import train
    from training.progress import Progress

    result = train(data, out_dir, spec.training, progress=Progress(progress))
    return Path(result.out)


def git_commit(root: Path) -> str:
    """HEAD of the repo holding the spec (`-dirty` when the work tree has changes), or 'unknown'."""
    try:
        head = _git(root, "rev-parse", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


def render_manifests(root: Path, out: Out) -> list[str]:
    """Render every spec's manifests (they read the pins); return the changed paths."""
    from generator.repo import render_repo

    changed = render_repo(root)
    out(f"rendered manifests: {len(changed)} file(s) changed" + "".join(f"\n  {p}" for p in changed))
    return changed


# -- release ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseRequest:
    spec_path: Path
    environment: str = "dev"
    data: str | None = None
    model_dir: Path | None = None
    version: str | None = None
    force: bool = False
    dry_run: bool = False
    connection: Connection = NO_OPTIONS
    progress: bool = True  # training progress on stderr


@dataclass
class ReleaseOutcome:
    version: str = ""
    sha256: str = ""
    published: bool = False
    registered: bool = False
    pinned: bool = False
    rendered: list[str] | None = None
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = time.perf_counter() - start


def release(request: ReleaseRequest, out: Out = print) -> ReleaseOutcome:
    """Train if needed, publish, register, gate, pin and render; see the module docstring."""
    if (request.data is None) == (request.model_dir is None):
        raise InputError("give exactly one of --data SOURCE (train) or --model DIR (a trained model)")
    if request.version is not None:
        check_version(request.version)  # before training, before any service is started
    spec = load_for_env(request.spec_path, request.environment)
    outcome = ReleaseOutcome()
    with _model_dir(spec, request, outcome.timings, out) as model_dir:
        _release_model(spec, request, model_dir, outcome, out)
    return outcome


@contextmanager
def _model_dir(spec: Spec, request: ReleaseRequest, timings: dict[str, float], out: Out) -> Iterator[Path]:
    """--model as given, or a model trained into a temp dir (the "train" timing).

    The temp dir is removed on every exit (an interrupt during training included), except when a step after
    training fails: then the trained model is kept, and named, for a rerun with --model."""
    if request.model_dir is not None:
        timings["train"] = 0.0
        yield request.model_dir
        return
    work = Path(tempfile.mkdtemp(prefix=f"jukebox-{spec.model.name}-"))
    keep = False
    try:
        with _timed(timings, "train"):
            model_dir = _train(spec, request, work, out)
        try:
            yield model_dir
        except BaseException:
            out(f"the trained model is kept in {model_dir}; rerun with --model {model_dir} to skip training")
            keep = True
            raise
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _train(spec: Spec, request: ReleaseRequest, work: Path, out: Out) -> Path:
    assert request.data is not None
    out(f"training on {request.data} ...")
    return train_model(spec, request.data, work / "model", request.progress)


@dataclass(frozen=True)
class StagedRelease:
    """A model directory admitted and given a version: what publishing and registering will record."""

    model: ModelFiles
    metrics: ModelMetrics
    version: str
    plan: PublishPlan
    registration: Registration


def admit_model_dir(
    spec: Spec, model_dir: Path, out: Out = print, timings: dict[str, float] | None = None
) -> tuple[ModelFiles, ModelMetrics]:
    """Scan the model directory and admit it (servable, finite metrics) before anything is contacted."""
    model = scan_model_dir(model_dir)
    if model.skipped:
        out(f"note: hidden entries are not published: {', '.join(shown_path(name) for name in model.skipped)}")
    with _timed({} if timings is None else timings, "admit"):
        admitted = admit(model, spec.release.primary_metric)
    out(admitted.summary())
    return model, admitted.metrics


def stage_release(
    spec: Spec,
    admitted: tuple[ModelFiles, ModelMetrics],
    services: Services,
    *,
    version: str | None,
    repo: Path,
    out: Out = print,
) -> StagedRelease:
    """Choose the admitted model's version (reusing one with the same bytes); nothing is written yet."""
    model, metrics = admitted
    chosen, plan = _choose_version(spec, services, model, version, out)
    registration = _registration(spec, services.s3, chosen, model, metrics, plan.manifest.sha256, repo)
    return StagedRelease(model, metrics, chosen, plan, registration)


def publish_and_register(
    staged: StagedRelease, services: Services, out: Out = print, timings: dict[str, float] | None = None
) -> tuple[RegisteredVersion, bool, bool]:
    """Publish the version to S3 (immutably, verified), then register it; safe to rerun.

    Returns the registry entry, whether anything was uploaded and whether the registry entry is new."""
    registration, uploaded = publish(staged, services, out, timings)
    entry, created = register(registration, services, out, timings)
    return entry, uploaded, created


def publish(
    staged: StagedRelease, services: Services, out: Out = print, timings: dict[str, float] | None = None
) -> tuple[Registration, bool]:
    """Publish the staged version to S3 (immutably, verified) unless the registry holds it with other bytes.

    Returns what to register (with the published manifest's sha256) and whether anything was uploaded."""
    timings = {} if timings is None else timings
    registration = staged.registration
    _refuse_registered_conflict(services.registry, registration)
    out(f"publishing {services.s3.version_url(registration.storage_path)} ...")
    with _timed(timings, "publish"):
        published = services.s3.publish(staged.model, registration.storage_path)
    registration = dataclasses.replace(registration, manifest_sha256=published.manifest.sha256)
    out(_publish_message(services.s3, published.storage_path, published.unchanged, staged.model.sha256))
    if published.records_not_uploaded:
        out(_records_note(staged.version, published.records_not_uploaded))
    return registration, not published.unchanged


def register(
    registration: Registration, services: Services, out: Out = print, timings: dict[str, float] | None = None
) -> tuple[RegisteredVersion, bool]:
    """Register a published version (idempotently); returns the entry and whether it is new."""
    with _timed({} if timings is None else timings, "register"):
        entry, created = services.registry.register(registration)
    out(_register_message(entry, created, services.registry.url))
    return entry, created


def _release_model(spec: Spec, request: ReleaseRequest, model_dir: Path, outcome: ReleaseOutcome, out: Out) -> None:
    admitted = admit_model_dir(spec, model_dir, out, outcome.timings)
    services = connect_or_start_local(spec, request.connection)
    for note in services.notes:
        out(note)
    staged = stage_release(
        spec, admitted, services, version=request.version, repo=repo_of_spec(request.spec_path), out=out
    )
    outcome.version, outcome.sha256 = staged.version, staged.model.sha256
    if request.dry_run:
        _dry_run_release(spec, request, services, staged.plan, staged.registration, out)
        return
    entry, outcome.published, outcome.registered = publish_and_register(staged, services, out, outcome.timings)
    _gate_and_pin(spec, request, entry, outcome, out)


def _choose_version(
    spec: Spec, services: Services, model: ModelFiles, version: str | None, out: Out
) -> tuple[str, PublishPlan]:
    """The requested version, or: a registered version with these bytes, or the next free patch; with
    the plan of publishing `model` there (which refuses a directory that differs from that version)."""
    if version is not None:
        version = check_version(version)
        return version, services.s3.plan(model, version_storage_path(spec, version))
    registered = services.registry.list(spec.model.name)
    same = [v for v in registered if v.sha256 == model.sha256]
    if same:
        reused = same[-1].version
        out(f"this model (sha256 {model.sha256[:12]}...) is already registered as {reused}: reusing it")
        return reused, services.s3.plan(model, version_storage_path(spec, reused))
    candidate = next_patch(v.version for v in registered)
    for _ in range(MAX_VERSION_SKIPS):
        try:
            return candidate, services.s3.plan(model, version_storage_path(spec, candidate))
        except (CheckFailed, DirectoryDiffers) as taken:  # VersionTaken, or a release.json that is no manifest
            out(f"note: {candidate} is taken in S3 by another (unregistered) upload ({taken}); trying the next patch")
            candidate = next_patch([candidate])
    raise CheckFailed(f"no free version found after {MAX_VERSION_SKIPS} tries; pass --version")


def _registration(
    spec: Spec,
    s3: S3Store,
    version: str,
    model: ModelFiles,
    metrics: ModelMetrics,
    manifest_sha256: str,
    root: Path,
) -> Registration:
    storage_path = version_storage_path(spec, version)
    settings = s3.settings
    return Registration(
        model=spec.model.name,
        version=version,
        uri=artifact_uri(settings.bucket, storage_path, settings.endpoint, settings.region),
        storage_key=s3_connection_secret_name(spec),
        storage_path=storage_path,
        sha256=model.sha256,
        manifest_sha256=manifest_sha256,
        metrics=metrics.metrics,
        parameters=metrics.params or spec.training.model_dump(mode="json"),
        data_fingerprint=metrics.data_fingerprint,
        git_commit=git_commit(root),
        description=spec.model.description,
    )


def _refuse_registered_conflict(registry: Registry, reg: Registration) -> None:
    """Refuse before uploading anything when the registry holds this version with other bytes."""
    existing = registry.get(reg.model, reg.version)
    if existing is not None and existing.sha256 != reg.sha256:
        raise CheckFailed(
            f"{reg.model} {reg.version} is already registered with sha256 {existing.sha256 or 'unknown'}, "
            f"this model is {reg.sha256}; registered versions are immutable: choose another --version"
        )
    if existing is not None and existing.manifest_sha256 and existing.manifest_sha256 != reg.manifest_sha256:
        raise CheckFailed(
            f"{reg.model} {reg.version} is registered with {MANIFEST_FILE} sha256 {existing.manifest_sha256}, "
            f"but S3 holds one with sha256 {reg.manifest_sha256}: the published version changed"
        )


def _publish_message(s3: S3Store, storage_path: str, unchanged: bool, sha256: str) -> str:
    verb = "already published (same bytes)" if unchanged else "published"
    return f"{verb}: {s3.version_url(storage_path)} (model.onnx sha256 {sha256})"


def _records_note(version: str, paths: list[str]) -> str:
    return (
        f"note: this run's {', '.join(paths)} differ from what {version} was published with (run records: "
        f"timings and the like; the served files are identical), so they were not uploaded: {version} keeps "
        "the records and registry entry of its first release"
    )


def _register_message(entry: RegisteredVersion, created: bool, url: str) -> str:
    verb = "registered" if created else "already registered (same sha256), reused"
    return (
        f"{verb}: {entry.model} {entry.version} in {url} (registered model {entry.registered_model_id}, "
        f"version {entry.model_version_id}, artifact {entry.model_artifact_id})"
    )


def _gate_and_pin(
    spec: Spec, request: ReleaseRequest, entry: RegisteredVersion, outcome: ReleaseOutcome, out: Out
) -> None:
    current = read_pin(request.spec_path, request.environment)
    decision = quality_gate(spec.release, entry.metrics, current)
    if not decision.passed and not request.force:
        raise QualityGateRefused(
            f"{decision.message}. {entry.model} {entry.version} is registered (recorded) but "
            f"{request.environment} stays pinned to {current.version if current else 'nothing'}; "
            "rerun with --force to pin it anyway"
        )
    out(decision.message if decision.passed else f"--force: pinning although {decision.message}")
    outcome.pinned, outcome.rendered = _pin_and_render(
        spec, request.spec_path, request.environment, entry, out, outcome.timings
    )
    _print_ship(request.spec_path, f"release {entry.model} {entry.version} to {request.environment}", out)


def _pin_and_render(
    spec: Spec, spec_path: Path, environment: str, entry: RegisteredVersion, out: Out, timings: dict[str, float]
) -> tuple[bool, list[str] | None]:
    """Write the pin, then render; if rendering fails the old pin is put back (all or nothing)."""
    new = make_pin(spec, environment, entry)
    old = read_pin(spec_path, environment)
    out(describe_pin_change(old, new) + f" ({pin_path(spec_path, environment)})")
    with _timed(timings, "pin"):
        if old != new:
            write_pin(spec_path, new)
    try:
        with _timed(timings, "render"):
            rendered = render_manifests(repo_of_spec(spec_path), out)
    except BaseException:
        if old != new:
            _restore_pin(spec_path, environment, old)
            out(f"rendering failed: {environment} pin restored to {old.version if old else '(nothing)'}")
        raise
    return old != new, rendered


def _restore_pin(spec_path: Path, environment: str, old: Pin | None) -> None:
    if old is None:
        remove_pin(spec_path, environment)
    else:
        write_pin(spec_path, old)


def _print_ship(spec_path: Path, message: str, out: Out) -> None:
    out("to ship it:\n" + "\n".join(f"  {line}" for line in ship_commands(spec_path, message)))


def _dry_run_release(
    spec: Spec, request: ReleaseRequest, services: Services, plan: PublishPlan, reg: Registration, out: Out
) -> None:
    """Report what a release would do; reads S3 and the registry, writes nothing."""
    _refuse_registered_conflict(services.registry, reg)
    existing = services.registry.get(reg.model, reg.version)
    where = services.s3.version_url(reg.storage_path)
    if plan.state == "new":
        out(f"dry run: would publish {where} ({len(plan.upload)} files, model.onnx sha256 {reg.sha256})")
    elif plan.upload:
        out(f"dry run: would complete {where} with {', '.join(plan.upload)} (sha256 {reg.sha256})")
    else:
        out(f"dry run: already published {where} (sha256 {reg.sha256})")
    if plan.records_not_uploaded:
        out("dry run: " + _records_note(reg.version, plan.records_not_uploaded).replace("were not", "would not be"))
    out(f"dry run: would {'reuse' if existing else 'register'} {reg.model} {reg.version} in {services.registry.url}")
    current = read_pin(request.spec_path, request.environment)
    decision = quality_gate(spec.release, existing.metrics if existing else reg.metrics, current)
    forced = "" if decision.passed or not request.force else "--force: "
    out(f"dry run: {forced}{decision.message}")
    if decision.passed or request.force:
        before = current.version if current else "(nothing)"
        out(f"dry run: would pin {request.environment}: {before} -> {reg.version} and render manifests")
    out("dry run: nothing was written")
    if not (decision.passed or request.force):
        raise QualityGateRefused(f"dry run: {decision.message}; {reg.version} would be registered but not pinned")


# -- pin / promote ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PinRequest:
    spec_path: Path
    environment: str
    version: str
    dry_run: bool = False
    connection: Connection = NO_OPTIONS


def pin(request: PinRequest, out: Out = print, message: str | None = None) -> Pin:
    """Pin an environment to a registered version after checking its registry entry and S3 bytes."""
    spec = load_for_env(request.spec_path, request.environment)
    services = connect_or_start_local(spec, request.connection)
    for note in services.notes:
        out(note)
    entry = _verified_entry(spec, services, check_version(request.version), out)
    new = make_pin(spec, request.environment, entry)
    old = read_pin(request.spec_path, request.environment)
    if request.dry_run:
        out("dry run: would have " + describe_pin_change(old, new) + "; nothing was written")
        return new
    _pin_and_render(spec, request.spec_path, request.environment, entry, out, {})
    message = message or f"pin {spec.model.name} {entry.version} in {request.environment}"
    _print_ship(request.spec_path, message, out)
    return new


def _verified_entry(spec: Spec, services: Services, version: str, out: Out) -> RegisteredVersion:
    entry = services.registry.get(spec.model.name, version)
    if entry is None:
        known = [v.version for v in services.registry.list(spec.model.name)]
        raise InputError(
            f"{spec.model.name} {version} is not registered in {services.registry.url}"
            f"; registered: {', '.join(known) or 'none'}"
        )
    if not entry.model_artifact_id or not entry.storage_path:
        raise CheckFailed(f"{spec.model.name} {version} has no model artifact: rerun its release to complete it")
    if entry.state.upper() == "ARCHIVED":
        out(f"warning: {spec.model.name} {version} is ARCHIVED in the registry")
    store = services.s3.for_uri(entry.uri)
    recorded_by = f"the registry ({spec.model.name} {version})"
    manifest = store.verify_version(entry.storage_path, entry.sha256, entry.manifest_sha256 or None, recorded_by)
    out(
        f"checked: {store.version_url(entry.storage_path)} holds exactly the {len(manifest.files)} files of its "
        f"{MANIFEST_FILE}, each with its sha256; model.onnx has the registered sha256 {entry.sha256}"
    )
    return entry


def promote(
    spec_path: Path,
    source: str,
    target: str,
    dry_run: bool = False,
    connection: Connection = NO_OPTIONS,
    out: Out = print,
) -> Pin:
    """Pin `target` to the version `source` is pinned to (checked again against registry and S3)."""
    if source == target:
        raise InputError(f"--from and --to are both {source!r}: promote moves a version between two environments")
    load_for_env(spec_path, source)
    load_for_env(spec_path, target)
    pinned = read_pin(spec_path, source)
    if pinned is None:
        raise InputError(f"{source} has no pin to promote ({pin_path(spec_path, source)} does not exist)")
    out(f"promoting {pinned.model} {pinned.version} from {source} to {target}")
    request = PinRequest(spec_path, target, pinned.version, dry_run, connection)
    return pin(request, out, f"promote {pinned.model} {pinned.version} from {source} to {target}")


# -- versions ---------------------------------------------------------------------------------


def list_versions(spec_path: Path, connection: Connection = NO_OPTIONS, out: Out = print) -> list[dict[str, Any]]:
    """Registered versions of the spec's model with their metrics and where each is pinned."""
    from release.versions import version_rows

    spec = load_spec(spec_path)
    services = connect_or_start_local(spec, connection)
    for note in services.notes:
        out(note)
    pins = {env: read_pin(spec_path, env) for env in spec.environments}
    pinned = {env: p.version for env, p in pins.items() if p is not None}
    entries = services.registry.list(spec.model.name)
    return version_rows(entries, pinned, spec.release.primary_metric)
