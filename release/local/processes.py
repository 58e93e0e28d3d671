"""Background processes: free loopback ports, detached starts, pid files, liveness and clean stops."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"
# Popen objects of children started by this process: kept so they are reaped, not left as zombies.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK, avoid: Sequence[int] = ()) -> int:
    """A port nobody listens on right now (the OS picks it), not in `avoid`."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        if port not in avoid:
            return port


def port_answers(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_detached(command: Sequence[str], log_path: Path, cwd: Path, env: dict[str, str] | None = None) -> int:
    """Start `command` in its own session (survives this process), output appended to `log_path`."""
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[child.pid] = child
    return child.pid


def _own_child_alive(pid: int) -> bool | None:
    """For a child started here: whether it still runs (reaping it if not). None for other pids."""
    child = _CHILDREN.get(pid)
    if child is None:
        return None
    if child.poll() is None:
        return True
    del _CHILDREN[pid]
    return False


def _cmdline(pid: int) -> str | None:
    """The command line of a live (non-zombie) process, or None when there is no such process."""
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            if ") Z" in (proc / "stat").read_text():
                return None
            return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
    result = subprocess.run(["ps", "-o", "stat=,command=", "-p", str(pid)], capture_output=True, text=True)
    line = result.stdout.strip()
    return None if not line or line.startswith("Z") else line


def is_running(pid: int | None, marker: str) -> bool:
    """Whether `pid` is alive and is ours: its command line contains `marker` (guards pid reuse)."""
    if not pid:
        return False
    own = _own_child_alive(pid)
    if own is not None:
        return own  # authoritative, and free of /proc races right after the start
    cmdline = _cmdline(pid)
    return cmdline is not None and marker in cmdline


def find_process(marker: str) -> int | None:
    """A live process whose command line contains `marker` (Linux /proc scan; None elsewhere).

    Catches a server whose pid file was lost or overwritten, so a second one is never started on the
    same data directory.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    for entry in proc.iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            cmdline = _cmdline(int(entry.name))
            if cmdline is not None and marker in cmdline:
                return int(entry.name)
    return None


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def stop_process(pid: int, marker: str, timeout: float = 15.0) -> None:
    """SIGTERM, wait up to `timeout` seconds, then SIGKILL. Does nothing if `pid` is not ours."""
    if not is_running(pid, marker):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_for(lambda: not is_running(pid, marker), timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not is_running(pid, marker), 5.0)


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_tail(path: Path, offset: int = 0, lines: int = 15) -> str:
    """The last `lines` lines written to the log after byte `offset`."""
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(nothing logged)"
