"""`jukebox pipeline run` against a cluster: submit a run of the committed PipelineVersion through `kfp.Client`.

What runs is what git holds: the PipelineVersion Argo CD synced from manifests/ (its name is the hash of
the compiled pipeline, `pipelines.compiled`). The command compiles the spec the same way to know that name,
refuses when the server does not have it yet, and passes the run-time parameters: the data source, the
environment's current pin (read here: the cluster has no git checkout) and the registry URL.
"""

from __future__ import annotations

import datetime
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.loader import load_spec
from generator.pin_file import read_pin
from generator.spec import Spec
from jukebox.errors import CheckFailed, InputError, JukeboxError, ServiceError
from jukebox.output import Out
from pipelines.compiled import compile_for_kubernetes
from pipelines.definition import require_kfp, settings_for
from pipelines.steps import pin_to_json
from release.environments import load_for_env
from release.registry import read_token_file

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED")
POLL_SECONDS = 10.0


@dataclass(frozen=True)
class ServerOptions:
    endpoint: str | None = None
    token_file: str | None = None
    ca_file: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class PipelineServer:
    url: str
    token: str | None
    ca_file: str | None
    insecure: bool


def pipeline_server(options: ServerOptions, env: Mapping[str, str] | None = None) -> PipelineServer:
    """The pipeline server from the options, then JUKEBOX_PIPELINES_*; InputError naming what is missing."""
    env = os.environ if env is None else env
    url = options.endpoint or env.get("JUKEBOX_PIPELINES_URL")
    if not url:
        raise InputError(
            "--endpoint (or JUKEBOX_PIPELINES_URL) is required: the pipeline server's URL (on OpenShift the "
            "Route of the DataSciencePipelinesApplication: `oc get route ds-pipeline-dspa -n NAMESPACE`)"
        )
    if not url.startswith(("http://", "https://")):
        raise InputError(f"--endpoint {url!r}: must be an http(s) URL")
    if options.token_file:
        token: str | None = read_token_file(options.token_file, "--token-file")
    elif env.get("JUKEBOX_PIPELINES_TOKEN_FILE"):
        token = read_token_file(env["JUKEBOX_PIPELINES_TOKEN_FILE"], "JUKEBOX_PIPELINES_TOKEN_FILE")
    else:
        token = env.get("JUKEBOX_PIPELINES_TOKEN") or None
    if url.startswith("https://") and not token:
        raise InputError(
            f"the pipeline server {url} needs a token: --token-file, JUKEBOX_PIPELINES_TOKEN_FILE or "
            "JUKEBOX_PIPELINES_TOKEN (on OpenShift: `oc whoami -t`)"
        )
    ca_file = options.ca_file or env.get("JUKEBOX_PIPELINES_CA_FILE") or None
    insecure = options.insecure or env.get("JUKEBOX_PIPELINES_INSECURE", "").lower() in ("1", "true", "yes")
    return PipelineServer(url.rstrip("/"), token, ca_file, insecure)


def cluster_data(data: str) -> str:
    """A data source a pipeline pod can read: `upstream`, `sample[:...]` or http(s) URLs (not local paths)."""
    from training.data import DataSource

    source = DataSource.parse(data)
    local = [
        value
        for value in (source.properties, source.rankings, source.charts)
        if value and not value.startswith(("http://", "https://"))
    ]
    if local:
        raise InputError(
            f"--data {data}: {', '.join(local)} is a path on this machine, which a pipeline pod cannot read; "
            "use upstream, sample[:...] or http(s) URLs (or run it here with --local)"
        )
    return data


@dataclass(frozen=True)
class Submission:
    spec: Spec
    environment: str
    version_name: str
    parameters: dict[str, str]


def prepare(
    spec_path: Path, environment: str | None, data: str | None, version: str | None, registry_url: str | None
) -> Submission:
    """Everything a cluster run needs, checked before any server is contacted."""
    spec = load_for_env(spec_path, environment) if environment else load_spec(spec_path)
    section = spec.pipelines
    if section is None:
        raise InputError(
            f"{spec_path}: no `pipelines` section, so the cluster has no pipeline of this model; add one "
            "(docs/pipelines.md) or run it here with --local"
        )
    environment = environment or section.environment
    if environment != section.environment:
        raise InputError(
            f"--env {environment}: the pipeline runs in pipelines.environment ({section.environment}), whose pin its "
            "quality gate compares with"
        )
    registry = registry_url or os.environ.get("JUKEBOX_REGISTRY_URL") or section.registry_url
    if not registry:
        raise InputError(
            "--registry-url (or JUKEBOX_REGISTRY_URL, or the spec's pipelines.registryUrl) is required: the pipeline "
            "registers the model there"
        )
    settings = settings_for(spec)
    parameters = {
        "data": cluster_data(data or section.data),
        "current_pin": pin_to_json(read_pin(spec_path, environment)),
        "version": version or "",
        "registry_url": registry,
    }
    return Submission(spec, environment, compile_for_kubernetes(settings).version_name, parameters)


@contextmanager
def server_errors(server: PipelineServer, doing: str) -> Iterator[None]:
    try:
        yield
    except JukeboxError:
        raise
    except Exception as error:  # kfp_server_api raises ApiException, urllib3 errors, ValueError
        reason = getattr(error, "reason", None) or str(error).strip().splitlines()[0] or type(error).__name__
        raise ServiceError(f"pipeline server {server.url}: {doing} failed: {reason}") from None


def client_for(server: PipelineServer) -> Any:
    require_kfp()
    import kfp

    with server_errors(server, "connecting"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "This client only works with Kubeflow Pipeline v2.0.0-beta.2 and later"
        return kfp.Client(
            host=server.url,
            existing_token=server.token,
            ssl_ca_cert=server.ca_file,
            verify_ssl=not server.insecure,
        )


def find_version(client: Any, server: PipelineServer, pipeline: str, version_name: str) -> tuple[str, str]:
    """(pipeline id, version id) of the committed PipelineVersion; CheckFailed when the server lacks it."""
    with server_errors(server, f"looking up pipeline {pipeline}"):
        pipeline_id = client.get_pipeline_id(pipeline)
        if pipeline_id is None:
            raise CheckFailed(_not_synced(server, f"pipeline {pipeline}"))
        token = ""
        while True:
            page = client.list_pipeline_versions(pipeline_id, page_token=token, page_size=100)
            for found in page.pipeline_versions or []:
                if version_name in (found.name, found.display_name):
                    return pipeline_id, found.pipeline_version_id
            token = page.next_page_token or ""
            if not token:
                raise CheckFailed(_not_synced(server, f"pipeline version {version_name}"))


def _not_synced(server: PipelineServer, what: str) -> str:
    return (
        f"{what} is not on the pipeline server {server.url}: it is what `jukebox render` compiles from this spec; "
        "commit and push manifests/, and let Argo CD sync it (a pipeline changed locally runs with --local)"
    )


def submit(
    submission: Submission,
    server: PipelineServer,
    *,
    dry_run: bool = False,
    wait: bool = False,
    timeout: float = 3600.0,
    out: Out = print,
) -> str | None:
    """Submit a run of the committed version (`dry_run`: look it up, submit nothing); returns the run id."""
    spec = submission.spec
    pipeline = settings_for(spec).name
    client = client_for(server)
    pipeline_id, version_id = find_version(client, server, pipeline, submission.version_name)
    shown = {k: (v if k != "current_pin" else _pin_summary(v)) for k, v in submission.parameters.items()}
    if dry_run:
        out(f"dry run: would run {submission.version_name} ({version_id}) on {server.url} with {json.dumps(shown)}")
        out("dry run: nothing was submitted")
        return None
    experiment = f"{spec.model.name}-{submission.environment}"
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    with server_errors(server, "submitting the run"):
        experiment_id = _experiment_id(client, experiment)
        run = client.run_pipeline(
            experiment_id,
            f"{pipeline}-{stamp}",
            params=submission.parameters,
            pipeline_id=pipeline_id,
            version_id=version_id,
            enable_caching=False,
        )
    out(f"submitted run {run.run_id} of {submission.version_name} with {json.dumps(shown)}")
    out(f"run: {server.url}/apis/v2beta1/runs/{run.run_id} (the OpenShift AI dashboard lists it under {experiment})")
    if wait:
        follow(lambda: client.get_run(run.run_id), server, timeout, out)
    out(
        f"when it succeeded, pin what it registered: jukebox pipeline pin --spec FILE --env {submission.environment} "
        f"--run {run.run_id}"
    )
    return str(run.run_id)


def _pin_summary(current_pin: str) -> str:
    return f"pin {json.loads(current_pin)['version']}" if current_pin else "(nothing pinned)"


def _experiment_id(client: Any, name: str) -> str:
    try:
        return str(client.get_experiment(experiment_name=name).experiment_id)
    except ValueError:  # kfp: "No experiment is found with name ..."
        return str(client.create_experiment(name).experiment_id)


def follow(get_run: Callable[[], Any], server: PipelineServer, timeout: float, out: Out) -> None:
    """Print each state change of the run and of its tasks until it ends; CheckFailed unless it succeeded."""
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    while True:
        with server_errors(server, "reading the run"):
            run = get_run()
        for name, state in [("run", str(run.state)), *_task_states(run)]:
            if seen.get(name) != state:
                out(f"{name}: {state}")
                seen[name] = state
        if str(run.state) in TERMINAL_STATES:
            break
        if time.monotonic() > deadline:
            raise CheckFailed(f"run {run.run_id} still {run.state} after {timeout:.0f} s (--timeout); it goes on")
        time.sleep(POLL_SECONDS)
    if str(run.state) != "SUCCEEDED":
        raise CheckFailed(f"run {run.run_id} ended {run.state}: read its step logs in the OpenShift AI dashboard")


def _task_states(run: Any) -> list[tuple[str, str]]:
    details = getattr(run, "run_details", None)
    tasks = getattr(details, "task_details", None) or []
    return sorted((str(task.display_name), str(task.state)) for task in tasks if task.display_name)
