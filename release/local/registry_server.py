"""Run the local Model Registry: in-process on a thread (tests) or as a process (`jukebox local up`).

`python -m release.local.registry_server --db PATH --port N [--host 127.0.0.1] [--token-file F]`
serves until SIGTERM/SIGINT, then shuts down cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from release.local.registry_app import create_app

LOOPBACK = "127.0.0.1"


class _ThreadedServer:
    """An aiohttp server on its own event loop in a daemon thread."""

    def __init__(self, app: web.Application, host: str, port: int):
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, access_log=None)
        self._host, self._port = host, port
        self._thread = threading.Thread(target=self._loop.run_forever, name="local-registry", daemon=True)

    def start(self) -> int:
        """Start serving; returns the bound port."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        return future.result(timeout=10)

    async def _start(self) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        return int(self._runner.addresses[0][1])

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@contextmanager
def running_registry(db_path: Path, host: str = LOOPBACK, port: int = 0, token: str | None = None) -> Iterator[str]:
    """Serve the registry in this process; yields its URL (`http://127.0.0.1:PORT`), stops on exit."""
    server = _ThreadedServer(create_app(Path(db_path), token), host, port)
    bound = server.start()
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.stop()


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m release.local.registry_server")
    parser.add_argument("--db", type=Path, required=True, help="SQLite database file")
    parser.add_argument("--host", default=LOOPBACK, help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-file", type=Path, help="file holding the bearer token clients must send")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse(argv)
    token = args.token_file.read_text(encoding="utf-8").strip() if args.token_file else None
    app = create_app(args.db, token)
    print(f"local model registry on http://{args.host}:{args.port} (db {args.db})", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
