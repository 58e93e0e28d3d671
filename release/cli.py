"""`jukebox release`, `jukebox pin`, `jukebox promote` and `jukebox versions`."""

from __future__ import annotations

import argparse
from pathlib import Path

from release.connections import add_connection_options, connection_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    _release_parser(subparsers)
    _pin_parser(subparsers)
    _promote_parser(subparsers)
    _versions_parser(subparsers)


def _common(parser: argparse.ArgumentParser, dry_run: bool = True) -> None:
    parser.add_argument("--spec", type=Path, required=True, help="model spec (specs/<name>.yaml)")
    if dry_run:
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would happen; write nothing to S3, registry or files"
        )
    add_connection_options(parser)


def _release_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "release",
        help="train (or take) a model, publish it to S3, register it, pin it and render the manifests",
        description="Train if needed -> publish to s3://<bucket>/<prefix>/<version>/ -> register in the Model "
        "Registry -> quality gate -> pin the environment -> render manifests. Exit 3 when the gate refuses.",
    )
    _common(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="training data source (e.g. `sample`, see `jukebox train --help`)")
    source.add_argument("--model", type=Path, help="an already trained model directory (<dir>/1/model.onnx)")
    parser.add_argument("--version", help="version to release (default: next patch of the latest registered)")
    parser.add_argument("--env", default="dev", help="environment to pin (default: dev)")
    parser.add_argument("--force", action="store_true", help="pin even if the quality gate refuses")
    parser.set_defaults(func=run_release)


def _pin_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pin",
        help="pin an environment to any registered version (rollback / roll-forward)",
        description="Checks the registry entry and the sha256 of the S3 object, then writes the pin and renders.",
    )
    _common(parser)
    parser.add_argument("--env", required=True, help="environment to pin")
    parser.add_argument("--version", required=True, help="registered version")
    parser.set_defaults(func=run_pin)


def _promote_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "promote",
        help="pin an environment to the version another one is pinned to",
        description="Reads the --from pin, checks the registry entry and the S3 object, pins --to and renders.",
    )
    _common(parser)
    parser.add_argument("--from", dest="source", required=True, help="environment to promote from (e.g. dev)")
    parser.add_argument("--to", dest="target", required=True, help="environment to promote to (e.g. prod)")
    parser.set_defaults(func=run_promote)


def _versions_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("versions", help="registered versions, their metrics and where each is pinned")
    _common(parser, dry_run=False)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run_versions)


def run_release(args: argparse.Namespace) -> int:
    from release.flow import ReleaseRequest, release

    request = ReleaseRequest(
        spec_path=args.spec,
        environment=args.env,
        data=args.data,
        model_dir=args.model,
        version=args.version,
        force=args.force,
        dry_run=args.dry_run,
        connection=connection_from_args(args),
    )
    release(request)
    return 0


def run_pin(args: argparse.Namespace) -> int:
    from release.flow import PinRequest, pin

    pin(PinRequest(args.spec, args.env, args.version, args.dry_run, connection_from_args(args)))
    return 0


def run_promote(args: argparse.Namespace) -> int:
    from release.flow import promote

    promote(args.spec, args.source, args.target, args.dry_run, connection_from_args(args))
    return 0


def run_versions(args: argparse.Namespace) -> int:
    import json
    import sys

    from release.flow import list_versions
    from release.versions import format_table

    notes = sys.stderr if args.json else sys.stdout
    rows = list_versions(args.spec, connection_from_args(args), out=lambda line: print(line, file=notes))
    print(json.dumps(rows, indent=2) if args.json else format_table(rows) if rows else "no registered versions")
    return 0
