"""The download cache, against a local http.server on 127.0.0.1 (no network)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jukebox.errors import ServiceError
from training.data import DataSource, cache_dir, download, load_data
from training.sample import make_sample


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 - shared log, reset per server

    def log_message(self, format: str, *args: object) -> None:
        QuietHandler.requests.append(self.path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www" / "99-data_prep"
    root.mkdir(parents=True)
    sample = make_sample(rows=400, countries=3, songs=80)
    sample.properties.to_parquet(root / "song_properties.parquet")
    sample.rankings.to_parquet(root / "song_rankings.parquet")
    QuietHandler.requests = []
    handler = functools.partial(QuietHandler, directory=str(tmp_path / "www"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/99-data_prep"
    httpd.shutdown()
    httpd.server_close()


def test_downloads_once_into_the_cache(server: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = download(f"{server}/song_properties.parquet", cache)
    second = download(f"{server}/song_properties.parquet", cache)
    assert first == second and first.parent == cache and first.name.endswith("-song_properties.parquet")
    assert QuietHandler.requests.count("/99-data_prep/song_properties.parquet") == 1
    assert not [p for p in cache.iterdir() if p.name.endswith(".part")]


def test_url_folder_source_loads_through_the_cache(server: str, tmp_path: Path) -> None:
    dataset = load_data(DataSource.parse(server), cache=tmp_path / "cache")
    assert not dataset.labels_synthetic
    assert dataset.stats["ranking_rows"] == 400
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_http_error_is_a_service_error_and_leaves_no_file(server: str, tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match=r"cannot download .*missing\.parquet.*--data sample"):
        download(f"{server}/missing.parquet", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JUKEBOX_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "jukebox"
    monkeypatch.setenv("JUKEBOX_CACHE_DIR", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv("JUKEBOX_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "jukebox"
