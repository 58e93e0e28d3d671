"""The `jukebox` command: a thin argparse shell over the packages that do the work.

Each package contributes its sub-commands through a `register(subparsers)` function in its
`cli` module; the handlers import their heavy dependencies lazily so `jukebox --help` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from jukebox import __version__
from jukebox.errors import Interrupted, JukeboxError, failure_exit

# Packages whose `cli.register(subparsers)` adds sub-commands, in help order.
COMMAND_MODULES = (
    "generator.cli",
    "training.cli",
    "release.cli",
    "release.local.cli",
    "serving.cli",
    "pipelines.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jukebox",
        description="Model spec -> ONNX model -> S3 + Model Registry -> Kustomize manifests for Argo CD.",
    )
    parser.add_argument("--version", action="version", version=f"jukebox {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks instead of short error messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            # Packages still being built are skipped; a missing dependency inside one is a real error.
            if missing.name is None or not module_name.startswith(missing.name):
                raise
            continue
        module.register(subparsers)
    return parser


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted` for the command's duration (main thread only)."""
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.getsignal(signum) for signum in handled}
    for signum in handled:
        signal.signal(signum, _raise_interrupted)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_command(command: Callable[[], int], debug: bool, prefix: str = "error") -> int:
    """Run a command-line command: signals as `Interrupted` (exit 128+N), failures as one line and their
    exit code (a traceback only with `debug`), a closed output pipe as success. Shared by every command
    line of the project (`jukebox`, `scripts/provision`)."""
    try:
        with _signals_interrupt():
            return int(command() or 0)
    except Interrupted as interrupted:
        print(str(interrupted), file=sys.stderr)
        return interrupted.exit_code
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours.
        sys.stderr.close()
        return 0
    except (JukeboxError, OSError) as error:
        if debug:
            raise
        message, code = failure_exit(error)
        print(f"{prefix}: {message}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(lambda: args.func(args), args.debug)


if __name__ == "__main__":
    sys.exit(main())
