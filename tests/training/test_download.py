"""The download cache, against a local http.server on 127.0.0.1 (no network)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jukebox.errors import ServiceError
from training.data import DataSource, cache_dir, cache_path, load_data, read_table
from training.features import PROPERTY_COLUMNS
from training.sample import make_sample


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 - shared log, reset per server

    def log_message(self, format: str, *args: object) -> None:
        QuietHandler.requests.append(self.path)


@pytest.fixture
def www(tmp_path: Path) -> Path:
    root = tmp_path / "www" / "99-data_prep"
    root.mkdir(parents=True)
    sample = make_sample(rows=400, countries=3, songs=80)
    sample.properties.to_parquet(root / "song_properties.parquet")
    sample.rankings.to_parquet(root / "song_rankings.parquet")
    (root / "garbage.parquet").write_bytes(b"<html>rate limited</html>")
    return root


@pytest.fixture
def server(www: Path) -> Iterator[str]:
    QuietHandler.requests = []
    handler = functools.partial(QuietHandler, directory=str(www.parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/99-data_prep"
    httpd.shutdown()
    httpd.server_close()


def test_downloads_once_into_the_cache(server: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"{server}/song_properties.parquet"
    first = read_table(url, "song properties", cache, columns=PROPERTY_COLUMNS)
    second = read_table(url, "song properties", cache, columns=PROPERTY_COLUMNS)
    assert first.equals(second)
    assert QuietHandler.requests.count("/99-data_prep/song_properties.parquet") == 1
    assert [p.name for p in cache.iterdir()] == [cache_path(url, cache).name]
    assert cache_path(url, cache).name.endswith("-song_properties.parquet")


def test_url_folder_source_loads_through_the_cache(server: str, tmp_path: Path) -> None:
    dataset = load_data(DataSource.parse(server), cache=tmp_path / "cache")
    assert not dataset.labels_synthetic
    assert dataset.stats["ranking_rows"] == 400
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_http_error_is_a_service_error_and_leaves_no_file(server: str, tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match=r"cannot download .*missing\.parquet.*--data sample"):
        read_table(f"{server}/missing.parquet", "song properties", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_garbage_download_is_not_cached_and_the_error_names_the_url(server: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"{server}/garbage.parquet"
    for attempt in (1, 2):
        with pytest.raises(ServiceError) as caught:
            read_table(url, "song properties", cache)
        message = str(caught.value)
        assert url in message and "cannot read it as parquet" in message and "not cached" in message
        assert str(cache) not in message
        assert list(cache.iterdir()) == []
        assert QuietHandler.requests.count("/99-data_prep/garbage.parquet") == attempt  # fetched again


def test_a_download_without_the_expected_columns_is_not_cached(server: str, tmp_path: Path) -> None:
    url = f"{server}/song_rankings.parquet"  # a parquet file, but not a song properties table
    with pytest.raises(ServiceError, match=r"song properties http://.*song_rankings\.parquet: missing column"):
        read_table(url, "song properties", tmp_path / "cache", columns=PROPERTY_COLUMNS)
    assert list((tmp_path / "cache").iterdir()) == []


def test_garbage_cached_by_an_older_version_is_replaced(server: str, www: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"{server}/song_properties.parquet"
    cached = cache_path(url, cache)
    cache.mkdir()
    cached.write_bytes(b"half a download")
    frame = read_table(url, "song properties", cache, columns=PROPERTY_COLUMNS)
    assert len(frame) == 80 and cached.read_bytes() == (www / "song_properties.parquet").read_bytes()


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
