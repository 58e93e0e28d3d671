"""Render many specs on every core the process may use.

Specs render independently, so a large repo is cut into contiguous shares: forked workers render all but
the last share, this process renders the last, and the results are put back in spec order (the output is
byte-identical to a serial render). Small repos, platforms without `fork`, and `JUKEBOX_RENDER_JOBS=1`
render serially. A share whose worker fails for any reason is rendered again here, so an error reads
exactly as in a serial render.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor

from generator.render import SourcedSpec, render_spec_files
from jukebox.errors import InputError

SPECS_PER_WORKER_MIN = 25  # below this a fork costs more than it saves
JOBS_VARIABLE = "JUKEBOX_RENDER_JOBS"

Rendered = tuple[dict[str, str], list[str]]

_shared: list[SourcedSpec] = []  # what forked workers render, inherited rather than pickled


def render_specs(specs: list[SourcedSpec]) -> list[Rendered]:
    """render_spec_files of every spec, in order."""
    shares = _shares(len(specs), worker_count(len(specs)))
    if len(shares) < 2:
        return [render_spec_files(sourced) for sourced in specs]
    global _shared
    _shared = specs
    try:
        with ProcessPoolExecutor(len(shares) - 1, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_render_share, start, stop) for start, stop in shares[:-1]]
            last = _render_share(*shares[-1])
            earlier = [_collect(future, share) for future, share in zip(futures, shares[:-1], strict=True)]
            return [item for rendered in earlier for item in rendered] + last
    finally:
        _shared = []


def worker_count(spec_count: int) -> int:
    """How many processes render `spec_count` specs: the usable cores, at most one per 25 specs."""
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return 1  # fork is the only start method that shares the loaded specs for free
    return max(1, min(_jobs(), spec_count // SPECS_PER_WORKER_MIN))


def _jobs() -> int:
    configured = os.environ.get(JOBS_VARIABLE, "").strip()
    if not configured:
        return len(os.sched_getaffinity(0))
    if not configured.isdigit() or int(configured) < 1:
        raise InputError(f"{JOBS_VARIABLE}={configured!r}: must be a whole number of processes, 1 or more")
    return int(configured)


def _shares(count: int, workers: int) -> list[tuple[int, int]]:
    bounds = [count * index // workers for index in range(workers + 1)]
    return [(start, stop) for start, stop in itertools.pairwise(bounds) if stop > start]


def _render_share(start: int, stop: int) -> list[Rendered]:
    return [render_spec_files(sourced) for sourced in _shared[start:stop]]


def _collect(future: Future[list[Rendered]], share: tuple[int, int]) -> list[Rendered]:
    try:
        return future.result()
    except Exception:  # a dead worker, an error that does not pickle, ...: redo the share here
        return _render_share(*share)
