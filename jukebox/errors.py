"""The exception hierarchy every command raises; the CLI turns them into messages and exit codes.

Exit codes: 1 = the operation failed (drift, an unreachable service, a failed check, a full disk),
2 = bad input (spec, options, files; also a path the system refuses: missing, not a directory, no
permission), 3 = a quality gate refused to pin a release,
128 + N = stopped by signal N (130 for SIGINT / Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass


class JukeboxError(Exception):
    """Base class: a failure with a message meant for the user (no traceback needed)."""

    exit_code = 1


class InputError(JukeboxError):
    """Bad input from the user: an option, a file, a value. Exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem found in an input, located by a dotted path (`serving.replicas.min`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(InputError):
    """A spec (or other YAML input) has one or more problems; all are reported together."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {len(problems)} problem(s)"]
        lines += [f"  - {problem}" for problem in problems]
        super().__init__("\n".join(lines))


class ServiceError(JukeboxError):
    """A service (S3, the model registry, a cluster, a model server) failed or is unreachable."""


class CheckFailed(JukeboxError):
    """A verification failed: drift, schema validation, parity, checksum."""


class QualityGateRefused(JukeboxError):
    """A release was registered but not pinned because it is worse than the pinned model."""

    exit_code = 3


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds like KeyboardInterrupt, so every cleanup runs.

    Not a KeyboardInterrupt subclass on purpose: libraries that swallow KeyboardInterrupt (scikit-learn's
    MLP fit does, then reports the half-trained model as done) cannot swallow it.
    """

    def __init__(self, signum: int):
        import signal

        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


# A path the user handed us that the system refuses: their input to fix (exit 2). Other OSErrors (a full
# disk, an I/O error) mean the operation failed (exit 1).
_INPUT_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG})


def os_error_exit(error: OSError) -> tuple[str, int]:
    """One line and the exit code for an OSError that reached the command line."""
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}", 2 if error.errno in _INPUT_ERRNOS else 1


def failure_exit(error: JukeboxError | OSError) -> tuple[str, int]:
    """One line and the exit code for a failure that reached a command line (no traceback)."""
    if isinstance(error, OSError):
        return os_error_exit(error)
    return str(error), error.exit_code
