"""What each pipeline step does, in plain Python: the components' bodies call these (`pipelines.components`).

Every step calls the project's own functions: `training.load_data` and `training.train`, and the release
flow's `admit_model_dir`, `quality_gate`, `stage_release`, `publish` and `register`. Values cross step
boundaries as JSON strings (the spec, the current pin, the registration) and artifact directories.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, TypeVar

from generator.pin_file import Pin
from generator.spec import Spec
from jukebox.errors import InputError, JukeboxError, QualityGateRefused
from release.registry import ModelSource, Registration

T = TypeVar("T")
ERROR_FILE_ENV = "JUKEBOX_PIPELINE_ERROR_FILE"  # where a failing step records its error (the local runner reads it)
# The error classes a failed step is reported as (its nearest one), so the caller exits with the same code.
ERROR_KINDS = ("QualityGateRefused", "InputError", "ServiceError", "CheckFailed", "JukeboxError")
DATASET_FILE = "dataset.json"
CACHE_DIR = "cache"  # downloads of the data source, carried with the Dataset artifact
CONFUSION_PNG = "confusion_matrix.png"
LINEAGE_KIND = "kfp"
LINEAGE_CLASS = "pipelinerun"


def out(line: str) -> None:
    print(line, flush=True)


def run_step(step: Callable[..., T], *args: Any) -> T:
    """Run one step inside a component: a JukeboxError ends the process with its exit code and one line
    (no traceback), recorded in $JUKEBOX_PIPELINE_ERROR_FILE when set."""
    try:
        return step(*args)
    except JukeboxError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        error_file = os.environ.get(ERROR_FILE_ENV)
        if error_file:
            kind = next(cls.__name__ for cls in type(error).__mro__ if cls.__name__ in ERROR_KINDS)
            record = {"type": kind, "message": str(error), "exit_code": error.exit_code}
            Path(error_file).write_text(json.dumps(record), encoding="utf-8")
        raise SystemExit(error.exit_code) from None


def spec_from_json(text: str) -> Spec:
    try:
        return Spec.model_validate(json.loads(text))
    except ValueError as error:  # json.JSONDecodeError and pydantic's ValidationError
        raise InputError(f"pipeline parameter spec: not a model spec: {error}") from None


def spec_to_json(spec: Spec) -> str:
    return json.dumps(spec.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))


def pin_from_json(text: str) -> Pin | None:
    """The `current_pin` parameter: a pin file's content as JSON, or '' when nothing is pinned."""
    if not text.strip():
        return None
    try:
        return Pin.model_validate(json.loads(text))
    except ValueError as error:
        raise InputError(f"pipeline parameter current_pin: not a pin: {error}") from None


def pin_to_json(pin: Pin | None) -> str:
    return "" if pin is None else json.dumps(pin.model_dump(mode="json", by_alias=True), sort_keys=True)


# -- load data --------------------------------------------------------------------------------


def load_data_step(data: str, dataset_dir: str) -> dict[str, Any]:
    """Check the data source and load it once (downloads land in the artifact's cache/); the artifact records
    the source, so training reads exactly this data. Returns the artifact's metadata."""
    from training.data import DataSource, load_data
    from training.progress import Progress

    directory = Path(dataset_dir)
    directory.mkdir(parents=True, exist_ok=True)
    out(f"loading {data} ...")
    dataset = load_data(DataSource.parse(data), directory / CACHE_DIR, Progress(True))
    record = {
        "data": data,
        "source": dataset.source,
        "fingerprint": dataset.fingerprint,
        "labels_synthetic": dataset.labels_synthetic,
        **dataset.stats,
    }
    (directory / DATASET_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
    synthetic = " (SYNTHETIC labels)" if dataset.labels_synthetic else ""
    stats = dataset.stats
    out(f"data: {stats['rows']} rows, {stats['songs']} songs{synthetic}, fingerprint {dataset.fingerprint}")
    return record


# -- train ------------------------------------------------------------------------------------


def train_step(spec_json: str, dataset_dir: str, model_dir: str) -> dict[str, Any]:
    """`training.train` on the loaded data with the spec's training parameters, into the Model artifact."""
    from training import train
    from training.progress import Progress

    spec = spec_from_json(spec_json)
    directory = Path(dataset_dir)
    record = json.loads((directory / DATASET_FILE).read_text(encoding="utf-8"))
    result = train(record["data"], model_dir, spec.training, cache=directory / CACHE_DIR, progress=Progress(True))
    sha256 = result.metrics["model"]["sha256"]
    out(f"trained: {result.model_path} (sha256 {sha256})")
    return {"sha256": sha256, "framework": "onnx", "labels_synthetic": result.labels_synthetic}


# -- evaluate + quality gate ------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]
    gate: str  # the quality gate's verdict


def evaluate_step(spec_json: str, current_pin: str, model_dir: str, confusion_html: str) -> Evaluation:
    """Admit the model directory as a release would, and gate it against the environment's current pin.

    A refusal stops the run here: nothing is published or registered."""
    from release.flow import admit_model_dir
    from release.gate import quality_gate

    spec = spec_from_json(spec_json)
    pinned = pin_from_json(current_pin)
    _, metrics = admit_model_dir(spec, Path(model_dir), out)
    write_confusion_html(Path(model_dir), Path(confusion_html), metrics.metrics)
    decision = quality_gate(spec.release, metrics.metrics, pinned)
    out(decision.message)
    if not decision.passed:
        raise QualityGateRefused(f"{decision.message}; nothing was published or registered")
    return Evaluation(metrics.metrics, decision.message)


def write_confusion_html(model_dir: Path, target: Path, metrics: dict[str, float]) -> None:
    """The confusion matrix picture and the metrics as one self-contained HTML page (the KFP UI shows it)."""
    picture = base64.b64encode((model_dir / CONFUSION_PNG).read_bytes()).decode("ascii")
    rows = "".join(f"<tr><td>{escape(name)}</td><td>{value:.4f}</td></tr>" for name, value in sorted(metrics.items()))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>confusion matrix</title></head><body>'
        f'<img alt="held-out confusion matrix" src="data:image/png;base64,{picture}">'
        f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table></body></html>\n",
        encoding="utf-8",
    )


# -- publish + register -----------------------------------------------------------------------


def publish_step(spec_json: str, version: str, registry_url: str, repo: str, model_dir: str) -> str:
    """Admit, choose the version (reusing one with these bytes) and publish it to S3; returns the
    registration to record, as JSON."""
    from release.flow import admit_model_dir, publish, stage_release

    spec = spec_from_json(spec_json)
    services = connect(spec, registry_url)
    admitted = admit_model_dir(spec, Path(model_dir), out)
    staged = stage_release(spec, admitted, services, version=version or None, repo=Path(repo or "."), out=out)
    registration, _ = publish(staged, services, out)
    return json.dumps(dataclasses.asdict(registration), sort_keys=True)


def register_step(
    spec_json: str, registration_json: str, registry_url: str, run_id: str, run_name: str, namespace: str
) -> str:
    """Register the published version with the run's lineage; returns the registry entry as JSON."""
    from release.flow import register

    spec = spec_from_json(spec_json)
    services = connect(spec, registry_url)
    source = ModelSource(LINEAGE_KIND, LINEAGE_CLASS, group=namespace, id=run_id, name=run_name)
    registration = dataclasses.replace(registration_from_json(registration_json), source=source)
    entry, _ = register(registration, services, out)
    return json.dumps(
        {
            "model": entry.model,
            "version": entry.version,
            "sha256": entry.sha256,
            "model_version_id": entry.model_version_id,
            "registry": services.registry.url,
            "run_id": run_id,
        },
        sort_keys=True,
    )


def registration_from_json(text: str) -> Registration:
    data = json.loads(text)
    data.pop("source", None)
    return Registration(**data)


def connect(spec: Spec, registry_url: str) -> Any:
    """S3 and the registry: in a pipeline pod from the connection Secret and the pod's token
    (`pipelines.cluster`), elsewhere as every release command resolves them."""
    from pipelines.cluster import connection_environment
    from release.connections import Connection, connect_or_start_local

    env = connection_environment(spec, registry_url)
    services = connect_or_start_local(spec, Connection(registry_url=registry_url or None), env)
    for note in services.notes:
        out(note)
    return services
