"""Running the cluster tools: one small interface, so the plan logic is testable with a recording fake."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from jukebox.errors import ServiceError

INSTALL_HINTS = {
    "oc": "install the OpenShift CLI (https://mirror.openshift.com/pub/openshift-v4/clients/ocp/stable/) "
    "and log in with `oc login`",
    "kubectl": "run ./scripts/bootstrap (it puts a pinned kubectl into .venv/bin) or install kubectl",
    "kind": "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    "docker": "install Docker (the engine, not only the client) and start it",
}


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class CommandRunner(Protocol):
    def run(self, argv: Sequence[str], stdin: str | None = None, timeout: float = 300) -> CommandResult: ...


def find_binary(name: str, search_path: str | None = None) -> str:
    """The tool's path, or a ServiceError saying how to get it. kubectl: the pinned one in .venv first."""
    if name == "kubectl" and search_path is None:
        from generator.validate import kubectl_binary

        try:
            return kubectl_binary()
        except ServiceError:
            pass
    found = shutil.which(name, path=search_path)
    if not found:
        raise ServiceError(f"{name} not found on PATH: {INSTALL_HINTS.get(name, 'install it')}")
    return found


class SystemRunner:
    """Real commands. `oc` goes through openshift-client (its `invoke`), everything else through subprocess."""

    def __init__(self, binaries: dict[str, str]):
        self.binaries = binaries

    def _path(self, name: str) -> str:
        if name not in self.binaries:
            self.binaries[name] = find_binary(name)
        return self.binaries[name]

    def run(self, argv: Sequence[str], stdin: str | None = None, timeout: float = 300) -> CommandResult:
        tool, *args = argv
        if tool == "oc":
            return self._run_oc(args, stdin, timeout)
        try:
            done = subprocess.run(
                [self._path(tool), *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return CommandResult(124, "", f"{tool} {' '.join(args[:3])}: timed out after {timeout:.0f}s")
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def _run_oc(self, args: list[str], stdin: str | None, timeout: float) -> CommandResult:
        import openshift_client as oc

        path = self._path("oc")
        try:
            with oc.client_path(path), oc.timeout(int(timeout)):
                result = oc.invoke(args[0], args[1:], stdin_str=stdin, no_namespace=True, auto_raise=False)
        except oc.OpenShiftPythonException as error:
            return CommandResult(1, "", str(error))
        return CommandResult(result.status(), result.out(), result.err())


@dataclass
class RecordingRunner:
    """A fake runner for tests: records every call and answers from `responses` (argv prefix -> result)."""

    responses: dict[tuple[str, ...], CommandResult] = field(default_factory=dict)
    default: CommandResult = field(default_factory=lambda: CommandResult(0))
    calls: list[tuple[list[str], str | None]] = field(default_factory=list)

    def run(self, argv: Sequence[str], stdin: str | None = None, timeout: float = 300) -> CommandResult:
        self.calls.append((list(argv), stdin))
        best: tuple[str, ...] | None = None
        for prefix in self.responses:
            if tuple(argv[: len(prefix)]) == prefix and (best is None or len(prefix) > len(best)):
                best = prefix
        return self.responses[best] if best is not None else self.default
