"""`jukebox pipeline run --local`: the same pipeline in-process with kfp's local runner.

`kfp.local.SubprocessRunner(use_venv=False)` runs each step as a subprocess of this interpreter (no Docker,
no package index: the default `use_venv=True` would pip-install kfp into a fresh venv). The steps reach S3
and the registry through the variables a pipeline pod would have, set here from the resolved connection
(the embedded local services when nothing is configured), so they never start services of their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.pin_file import read_pin
from generator.repo import repo_of_spec
from jukebox.errors import CheckFailed, InputError, JukeboxError, QualityGateRefused, ServiceError
from jukebox.output import Out
from pipelines.definition import build, require_kfp, settings_for
from pipelines.steps import ERROR_FILE_ENV, pin_to_json
from release.connections import NO_OPTIONS, Connection, Services, connect_or_start_local
from release.environments import load_for_env

ERRORS: dict[str, type[JukeboxError]] = {
    cls.__name__: cls for cls in (InputError, CheckFailed, ServiceError, QualityGateRefused, JukeboxError)
}


@dataclass(frozen=True)
class LocalRun:
    model: str
    version: str
    sha256: str
    run_id: str
    registry: str


def run_local(
    spec_path: Path,
    environment: str,
    data: str | None = None,
    version: str | None = None,
    connection: Connection = NO_OPTIONS,
    out: Out = print,
) -> LocalRun:
    """Run the pipeline of `spec_path` for `environment` locally; returns what it registered."""
    from training.data import DataSource

    spec = load_for_env(spec_path, environment)
    require_kfp()
    from kfp import local

    settings = settings_for(spec, local=True)
    DataSource.parse(data or settings.data)  # a bad --data exits 2 here, before services or steps start

    services = connect_or_start_local(spec, connection)
    for note in services.notes:
        out(note)
    arguments = {
        "data": data or settings.data,
        "current_pin": pin_to_json(read_pin(spec_path, environment)),
        "version": version or "",
        "registry_url": services.registry.url,
        "repo": str(repo_of_spec(spec_path)),
    }
    out(f"running {settings.name} locally (kfp SubprocessRunner, no containers) on {arguments['data']} ...")
    with tempfile.TemporaryDirectory(prefix="jukebox-pipeline-") as work:
        error_file = Path(work) / "error.json"
        with _step_environment(_connection_variables(services) | {ERROR_FILE_ENV: str(error_file)}):
            local.init(
                runner=local.SubprocessRunner(use_venv=False),
                pipeline_root=str(Path(work) / "outputs"),
                workspace_root=str(Path(work) / "workspace"),
            )
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # "non-Python base image": never pulled here
                    warnings.filterwarnings("ignore", "Task .* have no effect in the current local runner")
                    task = build(settings)(**arguments)
            except RuntimeError as failure:
                raise _step_error(error_file, failure) from None
        result: dict[str, Any] = json.loads(task.output)
    return LocalRun(result["model"], result["version"], result["sha256"], result["run_id"], result["registry"])


def _connection_variables(services: Services) -> dict[str, str]:
    """What an OpenShift AI connection injects into a pod, for the steps (subprocesses inherit them)."""
    s3, registry = services.s3.settings, services.registry.settings
    variables = {
        "AWS_S3_ENDPOINT": s3.endpoint,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_S3_BUCKET": s3.bucket,
        "AWS_DEFAULT_REGION": s3.region,
        "JUKEBOX_REGISTRY_URL": registry.url,
        "JUKEBOX_REGISTRY_AUTHOR": registry.author,
        "JUKEBOX_REGISTRY_INSECURE": "1" if registry.insecure else "",
    }
    if registry.token:
        variables["JUKEBOX_REGISTRY_TOKEN"] = registry.token
    if registry.ca_file:
        variables["JUKEBOX_REGISTRY_CA_FILE"] = registry.ca_file
    return variables


@contextlib.contextmanager
def _step_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set `variables` for the step subprocesses; the previous environment is restored after."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _step_error(error_file: Path, failure: RuntimeError) -> JukeboxError:
    """The error a failed step recorded (same class and exit code), else kfp's own message."""
    if error_file.is_file():
        record = json.loads(error_file.read_text(encoding="utf-8"))
        return ERRORS.get(record["type"], JukeboxError)(f"pipeline step failed: {record['message']}")
    return CheckFailed(f"pipeline failed: {str(failure).strip().splitlines()[0]}")
