"""`jukebox local up|down|status`: manage the embedded local S3 and Model Registry servers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from jukebox.errors import InputError
from release.local.services import default_buckets


def register(subparsers: Any) -> None:
    """Add the `local` command and its `up`, `down` and `status` sub-commands."""
    local = subparsers.add_parser(
        "local",
        help="run the embedded local S3 (SeaweedFS) and Model Registry servers",
        description="Local services used when no S3 or registry is configured. State: --state-dir, "
        "else $JUKEBOX_STATE_DIR, else <repo>/.jukebox/local.",
    )
    actions = local.add_subparsers(dest="local_command", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start both servers (a no-op when they already run)")
    up.add_argument(
        "--bucket",
        action="append",
        dest="buckets",
        metavar="NAME",
        help=f"another bucket to create besides {', '.join(default_buckets())} (repeatable)",
    )
    up.add_argument("--show-credentials", action="store_true", help="also print the generated secrets")
    up.set_defaults(func=handle_up)
    down = actions.add_parser("down", help="stop both servers (SIGTERM, then SIGKILL after a timeout)")
    down.set_defaults(func=handle_down)
    status = actions.add_parser("status", help="URLs, pids and health; exit code 1 unless both answer")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=handle_status)
    for parser in (up, down, status):
        parser.add_argument("--state-dir", type=Path, help="state directory (data, logs, pids, credentials)")


def _bucket_names(names: list[str] | None) -> list[str]:
    buckets = list(dict.fromkeys([*default_buckets(), *(names or [])]))
    for name in buckets:
        if not (3 <= len(name) <= 63) or not all(c.islower() or c.isdigit() or c in ".-" for c in name):
            raise InputError(f"invalid bucket name {name!r}: 3-63 characters, lower-case letters, digits, . and -")
    return buckets


def handle_up(args: argparse.Namespace) -> int:
    from release.local.services import ensure_local_services

    services = ensure_local_services(args.state_dir, _bucket_names(args.buckets))
    print(f"S3 (SeaweedFS):  {services.s3_endpoint}  region {services.region}")
    print(f"model registry:  {services.registry_url}/api/model_registry/v1alpha3")
    print(f"access key:      {services.access_key}")
    if args.show_credentials:
        print(f"secret key:      {services.secret_key}")
        print(f"registry token:  {services.registry_token}")
    else:
        print("secrets:         in the state directory's credentials.json (--show-credentials prints them)")
    return 0


def handle_down(args: argparse.Namespace) -> int:
    from release.local.services import stop_local_services

    stop_local_services(args.state_dir)
    print("local services stopped")
    return 0


def handle_status(args: argparse.Namespace) -> int:
    from release.local.services import local_status

    status = local_status(args.state_dir)
    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
        return 0 if status.healthy else 1
    print(f"state directory: {status.state_dir}")
    for service in (status.s3, status.registry):
        state = "healthy" if service.healthy else "running, not answering" if service.running else "stopped"
        stale = " (stale pid file)" if service.stale_pid_file else ""
        where = f"  {service.url}  pid {service.pid}" if service.running else ""
        print(f"{service.name:<9} {state}{stale}{where}  log {service.log}")
    return 0 if status.healthy else 1
