"""Start, stop and inspect the embedded local services (SeaweedFS S3 + the local Model Registry).

Each service is a detached background process with, in the state directory, a pid file, a log, and its
ports recorded. A pid file whose process is gone, or is not ours (pid reuse), is stale and ignored.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jukebox.errors import ServiceError
from release.local import processes, s3
from release.local.state import (
    Credentials,
    load_or_create_credentials,
    prepare_state_dir,
    read_json,
    resolve_state_dir,
    state_lock,
    write_private,
)

if TYPE_CHECKING:
    from model_registry import ModelRegistry

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class LocalServices:
    """Endpoints and credentials of the running local services (secrets are left out of repr)."""

    s3_endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str
    registry_url: str  # http://127.0.0.1:PORT
    registry_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ServiceStatus:
    """One service: whether its process runs and answers, where it listens and logs."""

    name: str
    running: bool
    healthy: bool
    pid: int | None
    url: str | None
    log: Path
    stale_pid_file: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "log": str(self.log)}


@dataclass(frozen=True)
class LocalStatus:
    """Both services' status and the state directory they belong to."""

    state_dir: Path
    s3: ServiceStatus
    registry: ServiceStatus

    @property
    def healthy(self) -> bool:
        return self.s3.healthy and self.registry.healthy

    def to_dict(self) -> dict[str, Any]:
        return {
            "state_dir": str(self.state_dir),
            "healthy": self.healthy,
            "s3": self.s3.to_dict(),
            "registry": self.registry.to_dict(),
        }


@dataclass(frozen=True)
class _Service:
    """Where one service keeps its files inside the state directory."""

    name: str
    state_dir: Path

    @property
    def home(self) -> Path:
        return self.state_dir / self.name

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    @property
    def ports_file(self) -> Path:
        return self.state_dir / f"{self.name}.ports.json"

    @property
    def marker(self) -> str:
        """A substring of the process's command line that only our process for this state dir has."""
        return f"-dir={self.home / 'data'}" if self.name == "s3" else f"--db {self.home / 'registry.db'}"

    def pid(self) -> int | None:
        return processes.read_pid(self.pid_file)

    def ports(self) -> dict[str, int] | None:
        data = read_json(self.ports_file)
        return {key: int(value) for key, value in data.items()} if data else None

    def main_port(self) -> int | None:
        ports = self.ports()
        return ports.get("s3.port" if self.name == "s3" else "port") if ports else None

    def url(self) -> str | None:
        port = self.main_port()
        return f"http://{processes.LOOPBACK}:{port}" if port else None

    def running(self) -> bool:
        return processes.is_running(self.pid(), self.marker)


def _services(state_dir: Path) -> tuple[_Service, _Service]:
    return _Service("s3", state_dir), _Service("registry", state_dir)


# ---------------------------------------------------------------- health checks


def _registry_answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _s3_answers(service: _Service, credentials: Credentials) -> bool:
    url = service.url()
    if not url or not processes.port_answers(int(service.main_port() or 0)):
        return False
    return s3.s3_answers(s3.s3_client(url, credentials.access_key, credentials.secret_key))


def _healthy(service: _Service, credentials: Credentials) -> bool:
    if service.name == "s3":
        return _s3_answers(service, credentials)
    url = service.url()
    return bool(url) and _registry_answers(str(url))


# ---------------------------------------------------------------- starting


def _launch_s3(service: _Service, credentials: Credentials) -> None:
    data_dir = service.home / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    identity = service.home / "identity.json"
    s3.write_identity(identity, credentials.access_key, credentials.secret_key)
    ports = s3.choose_ports(service.ports())
    service.ports_file.write_text(json.dumps(ports, indent=2) + "\n")
    command = s3.weed_command(data_dir, identity, ports)
    _record_pid(service, processes.start_detached(command, service.log_file, cwd=service.home))


def _launch_registry(service: _Service, credentials: Credentials) -> None:
    service.home.mkdir(parents=True, exist_ok=True)
    token_file = service.home / "token"
    write_private(token_file, credentials.registry_token + "\n")
    previous = service.main_port()
    port = previous if previous and processes.port_is_free(previous) else processes.free_port()
    service.ports_file.write_text(json.dumps({"port": port}) + "\n")
    command = [
        sys.executable, "-m", "release.local.registry_server",
        "--db", str(service.home / "registry.db"), "--port", str(port), "--token-file", str(token_file),
    ]  # fmt: skip
    source_root = str(Path(__file__).resolve().parents[2])  # the directory holding `release/`
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")]))}
    _record_pid(service, processes.start_detached(command, service.log_file, cwd=service.home, env=env))


def _record_pid(service: _Service, pid: int) -> None:
    service.pid_file.write_text(f"{pid}\n")


def _wait_healthy(service: _Service, credentials: Credentials, log_offset: int = 0) -> None:
    """Wait until the service answers; ServiceError (port, log tail) if it dies or times out."""
    pid = service.pid()

    def settled() -> bool:
        return not processes.is_running(pid, service.marker) or _healthy(service, credentials)

    processes.wait_for(settled, START_TIMEOUT, interval=0.1)
    if _healthy(service, credentials):
        return
    alive = processes.is_running(pid, service.marker)
    if alive and pid:
        processes.stop_process(pid, service.marker, STOP_TIMEOUT)
    reason = f"did not answer within {START_TIMEOUT:.0f} s" if alive else "exited during start-up"
    raise ServiceError(
        f"local {service.name} server on port {service.main_port()} {reason}; log: {service.log_file}\n"
        + processes.log_tail(service.log_file, log_offset)
    )


def _ensure(service: _Service, credentials: Credentials) -> str:
    """Start the service unless it already runs; returns its URL once it answers.

    A failed start is retried once on fresh ports (another program may have taken a chosen port).
    """
    if not service.running() and (orphan := processes.find_process(service.marker)):
        _record_pid(service, orphan)  # adopt a server of this state dir whose pid file was lost
    if service.running():
        _wait_healthy(service, credentials)
        return str(service.url())
    launch = _launch_s3 if service.name == "s3" else _launch_registry
    for attempt in (1, 2):
        _cleanup(service)
        log_offset = processes.log_size(service.log_file)
        launch(service, credentials)
        try:
            _wait_healthy(service, credentials, log_offset)
            return str(service.url())
        except ServiceError:
            if attempt == 2:
                raise
            service.ports_file.unlink(missing_ok=True)
    raise AssertionError("unreachable")


def _cleanup(service: _Service) -> None:
    """Forget a stopped service: its pid file, and the Unix sockets `weed` leaves in /tmp."""
    service.pid_file.unlink(missing_ok=True)
    ports = service.ports()
    if service.name == "s3" and ports:
        s3.remove_stale_sockets(ports)


# ---------------------------------------------------------------- public API


def default_buckets() -> tuple[str, ...]:
    """The bucket a spec uses unless it names one (the default of `storage.bucket`)."""
    from generator.spec import Storage  # here, not at the top: the registry server process does not need it

    return (Storage.model_fields["bucket"].default,)


def ensure_local_services(state_dir: Path | None = None, buckets: Sequence[str] | None = None) -> LocalServices:
    """Start the local S3 and Model Registry servers if they are not running; create `buckets`
    (default: `default_buckets()`)."""
    buckets = default_buckets() if buckets is None else buckets
    path = prepare_state_dir(resolve_state_dir(state_dir))
    s3_service, registry_service = _services(path)
    with state_lock(path):
        credentials = load_or_create_credentials(path)
        s3_url = _ensure(s3_service, credentials)
        registry_url = _ensure(registry_service, credentials)
        client = s3.s3_client(s3_url, credentials.access_key, credentials.secret_key)
        s3.ensure_buckets(client, buckets)
    return LocalServices(
        s3_endpoint=s3_url,
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        region=s3.REGION,
        registry_url=registry_url,
        registry_token=credentials.registry_token,
    )


def stop_local_services(state_dir: Path | None = None) -> None:
    """Stop both services (SIGTERM, then SIGKILL after a timeout); a no-op when nothing runs."""
    path = resolve_state_dir(state_dir)
    if not path.is_dir():
        return
    with state_lock(path):
        for service in reversed(_services(path)):
            pid = service.pid() if service.running() else processes.find_process(service.marker)
            if pid:
                processes.stop_process(pid, service.marker, STOP_TIMEOUT)
            if service.running():
                raise ServiceError(f"local {service.name} server (pid {pid}) did not stop")
            _cleanup(service)


def _status_of(service: _Service, credentials: Credentials | None) -> ServiceStatus:
    pid = service.pid()
    running = service.running()
    healthy = running and credentials is not None and _healthy(service, credentials)
    return ServiceStatus(
        name=service.name,
        running=running,
        healthy=healthy,
        pid=pid if running else None,
        url=service.url() if running else None,
        log=service.log_file,
        stale_pid_file=pid is not None and not running,
    )


def local_status(state_dir: Path | None = None) -> LocalStatus:
    """Whether each service runs and answers, with its pid, URL and log file."""
    path = resolve_state_dir(state_dir)
    credentials = load_or_create_credentials(path) if (path / "credentials.json").is_file() else None
    s3_service, registry_service = _services(path)
    return LocalStatus(path, _status_of(s3_service, credentials), _status_of(registry_service, credentials))


def registry_client(services: LocalServices, author: str = "jukebox") -> ModelRegistry:
    """The official `model_registry.ModelRegistry` client, connected to the local registry."""
    from urllib.parse import urlsplit

    from model_registry import ModelRegistry

    parts = urlsplit(services.registry_url)
    return ModelRegistry(
        f"{parts.scheme}://{parts.hostname}",
        parts.port,
        author=author,
        is_secure=False,
        user_token=services.registry_token,
    )
