"""`jukebox pipeline run` (on the cluster, or `--local`) and `jukebox pipeline pin --run ID`."""

from __future__ import annotations

import argparse
from pathlib import Path

from jukebox.errors import InputError
from release.connections import add_connection_options, connection_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="train on the cluster with Data Science Pipelines (KFP v2), or run the same pipeline locally",
        description="The spec's training pipeline: load data -> train -> evaluate + quality gate -> publish -> "
        "register (docs/pipelines.md). It never writes to git: pin what it registered with `pipeline pin`.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    _run_parser(verbs)
    _pin_parser(verbs)


def _run_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "run",
        help="submit a run of the committed pipeline version (or run it here with --local)",
        description="Submits a run through kfp.Client: the PipelineVersion `jukebox render` compiled from the spec "
        "(committed and synced by Argo CD), with the environment's current pin for the quality gate. --local runs "
        "the same pipeline in-process (kfp SubprocessRunner, no containers) against S3 and the registry "
        "(the embedded local services when nothing is configured); the connection options other than --registry-url "
        "are for --local runs only (a cluster run's pods read the connection Secret). "
        "Exit 3 when the quality gate refuses.",
    )
    parser.add_argument("--spec", type=Path, required=True, help="model spec (specs/<name>.yaml)")
    parser.add_argument("--env", help="environment (default: the spec's pipelines.environment; dev with --local)")
    parser.add_argument("--data", help="training data source (default: the spec's pipelines.data, else upstream)")
    parser.add_argument("--version", help="version to register (default: next patch, or the one with these bytes)")
    parser.add_argument("--local", action="store_true", help="run here, in-process, instead of on the cluster")
    parser.add_argument("--wait", action="store_true", help="follow the cluster run until it ends")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds --wait follows a run (default 3600)")
    parser.add_argument("--dry-run", action="store_true", help="look up what would run; submit nothing")
    server = parser.add_argument_group(
        "pipeline server",
        "The cluster's pipeline server: options, else JUKEBOX_PIPELINES_URL, JUKEBOX_PIPELINES_TOKEN(_FILE), "
        "JUKEBOX_PIPELINES_CA_FILE, JUKEBOX_PIPELINES_INSECURE.",
    )
    server.add_argument("--endpoint", help="pipeline server URL (JUKEBOX_PIPELINES_URL)")
    server.add_argument("--token-file", help="file holding the bearer token (JUKEBOX_PIPELINES_TOKEN_FILE / _TOKEN)")
    server.add_argument("--server-ca-file", help="CA bundle of the server's certificate (JUKEBOX_PIPELINES_CA_FILE)")
    server.add_argument(
        "--server-insecure",
        action="store_true",
        help="do not verify the server's certificate (JUKEBOX_PIPELINES_INSECURE)",
    )
    add_connection_options(parser)
    parser.set_defaults(func=run_pipeline)


def _pin_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "pin",
        help="pin an environment to the version a pipeline run registered",
        description="Finds the version whose registry lineage names the run (model_source_id), then pins it as "
        "`jukebox pin` does (registry entry and S3 bytes checked, manifests rendered).",
    )
    parser.add_argument("--spec", type=Path, required=True, help="model spec (specs/<name>.yaml)")
    parser.add_argument("--env", required=True, help="environment to pin")
    parser.add_argument("--run", required=True, help="the pipeline run id (`jukebox pipeline run` prints it)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be pinned; write nothing")
    add_connection_options(parser)
    parser.set_defaults(func=run_pin)


# Options that mean something for one kind of run only: dest -> the flag, to name it when it is refused.
CLUSTER_ONLY = {
    "wait": "--wait",
    "endpoint": "--endpoint",
    "token_file": "--token-file",
    "server_ca_file": "--server-ca-file",
    "server_insecure": "--server-insecure",
}
S3_OPTIONS = {"s3_endpoint": "--s3-endpoint", "s3_bucket": "--s3-bucket", "s3_region": "--s3-region"}
REGISTRY_CLIENT_OPTIONS = {
    "registry_token_file": "--registry-token-file",
    "ca_file": "--ca-file",
    "insecure": "--insecure",
}


def given(args: argparse.Namespace, options: dict[str, str]) -> str:
    """The flags of `options` given on the command line, comma-separated ('' when none)."""
    return ", ".join(flag for dest, flag in options.items() if getattr(args, dest, None))


def run_pipeline(args: argparse.Namespace) -> int:
    if args.local:
        return _run_local(args)
    _refuse_local_only_options(args)
    from pipelines.submit import ServerOptions, pipeline_server, prepare, submit

    submission = prepare(args.spec, args.env, args.data, args.version, args.registry_url)
    options = ServerOptions(args.endpoint, args.token_file, args.server_ca_file, args.server_insecure)
    submit(submission, pipeline_server(options), dry_run=args.dry_run, wait=args.wait, timeout=args.timeout)
    return 0


def _run_local(args: argparse.Namespace) -> int:
    from pipelines.local import run_local

    if args.dry_run:
        raise InputError(
            "--dry-run: a --local run changes no cluster; `jukebox release --dry-run` shows what it would write"
        )
    if flags := given(args, CLUSTER_ONLY):
        raise InputError(f"{flags}: for cluster runs (the pipeline server), not --local")
    run = run_local(args.spec, args.env or "dev", args.data, args.version, connection_from_args(args))
    print(f"pipeline run {run.run_id} registered {run.model} {run.version} (sha256 {run.sha256}) in {run.registry}")
    print(f"pin it: jukebox pipeline pin --spec {args.spec} --env {args.env or 'dev'} --run {run.run_id}")
    return 0


def _refuse_local_only_options(args: argparse.Namespace) -> None:
    """A cluster run's steps connect from their pods; options for this machine's connections would be ignored."""
    if flags := given(args, S3_OPTIONS):
        raise InputError(
            f"{flags}: a cluster run reads S3 from the DSPA's connection Secret aws-connection-<storage.connection> "
            "in its namespace, not from options; they apply to --local runs"
        )
    if flags := given(args, REGISTRY_CLIENT_OPTIONS):
        raise InputError(
            f"{flags}: a cluster run reaches the registry from its pods (with their service-account token); "
            "only --registry-url is passed to it. Options for the pipeline server are --token-file, "
            "--server-ca-file and --server-insecure"
        )


def run_pin(args: argparse.Namespace) -> int:
    from pipelines.lineage import version_of_run
    from release.connections import connect_or_start_local
    from release.environments import load_for_env
    from release.flow import PinRequest, pin

    connection = connection_from_args(args)
    spec = load_for_env(args.spec, args.env)
    entry = version_of_run(spec, connect_or_start_local(spec, connection), args.run)
    print(f"pipeline run {args.run} registered {entry.model} {entry.version}")
    pin(PinRequest(args.spec, args.env, entry.version, args.dry_run, connection))
    return 0
