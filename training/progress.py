"""Progress lines on stderr (stdout stays clean for `--json`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Prints `step...` then `done in N s` for each long step; `enabled=False` silences it."""

    def __init__(self, enabled: bool = True, stream: TextIO | None = None):
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr

    def note(self, message: str) -> None:
        if self.enabled:
            print(message, file=self.stream, flush=True)

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        start = time.perf_counter()
        self.note(f"{message}...")
        yield
        self.note(f"  done in {time.perf_counter() - start:.1f} s")


QUIET = Progress(enabled=False)
