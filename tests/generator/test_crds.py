"""`jukebox crds fetch`: a profile's CRDs downloaded over real HTTP, each checked by sha256 before it is cached;
`jukebox validate` then works with no ../shared, as on a user's machine."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from generator import crds
from generator.validate import validate_tree
from jukebox.cli import main
from jukebox.errors import CheckFailed, ServiceError
from tests.generator.golden import golden_dir


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path, shared_dir: Path) -> Iterator[tuple[str, Path]]:
    """A raw.githubusercontent.com look-alike serving the reference copies at their upstream paths."""
    root = tmp_path / "mirror"
    for sources in crds.all_sources().values():
        for source in sources:
            target = root / source.repo / source.commit / source.path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared_dir / "crds" / "profiles" / source.profile / source.file, target)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """As on a user's machine: no ../shared, an empty cache of our own."""
    monkeypatch.setattr(crds, "SHARED_PROFILES_DIR", tmp_path / "no-shared")
    cache = tmp_path / "cache"
    monkeypatch.setenv("JUKEBOX_CACHE_DIR", str(cache))
    return cache


def test_every_listed_source_is_the_reference_copy(shared_dir: Path) -> None:
    for profile in crds.all_sources():
        assert crds.problems_in(shared_dir / "crds" / "profiles" / profile, profile) == []


def test_fetch_fills_the_cache_and_validate_uses_it(mirror: tuple[str, Path], no_shared: Path) -> None:
    base_url, _ = mirror
    report = crds.fetch("rhoai-3.3", base_url)
    assert len(report) == 10 and all(line.startswith("fetched") for line in report)
    location = crds.locate("rhoai-3.3")
    assert location.directory == no_shared / "crds" / "rhoai-3.3"
    result = validate_tree(golden_dir("rhoai-3.3") / "manifests", "rhoai-3.3")
    assert result.ok, result.summary()
    assert "verified download cache" in result.notes[0]
    assert all(line.startswith("cached") for line in crds.fetch("rhoai-3.3", base_url))  # second run: no download


def test_a_file_with_other_bytes_is_refused_and_not_cached(mirror: tuple[str, Path], no_shared: Path) -> None:
    base_url, root = mirror
    (source,) = [s for s in crds.sources("upstream") if s.file == "serving.kserve.io_inferenceservices.yaml"]
    served = root / source.repo / source.commit / source.path
    served.write_bytes(served.read_bytes().replace(b"minReplicas", b"minReplica"))
    with pytest.raises(CheckFailed, match=rf"{source.path}: sha256 [0-9a-f]{{64}}, expected {source.sha256}"):
        crds.fetch("upstream", base_url)
    assert not (no_shared / "crds" / "upstream" / source.file).exists()


def test_an_unreachable_file_names_its_url(mirror: tuple[str, Path], no_shared: Path) -> None:
    base_url, root = mirror
    source = crds.sources("upstream")[0]
    (root / source.repo / source.commit / source.path).unlink()
    with pytest.raises(ServiceError, match=rf"downloading {base_url}/{source.repo}/.*HTTP 404"):
        crds.fetch("upstream", base_url)


def test_a_damaged_cache_is_refused(mirror: tuple[str, Path], no_shared: Path) -> None:
    crds.fetch("upstream", mirror[0])
    cached = no_shared / "crds" / "upstream" / "argoproj.io_applications.yaml"
    cached.write_text("kind: CustomResourceDefinition\n")
    with pytest.raises(CheckFailed, match="refetch with `jukebox crds fetch --profile upstream`"):
        crds.locate("upstream")


def test_cli_fetch_and_list(mirror: tuple[str, Path], no_shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crds", "fetch", "--profile", "upstream", "--base-url", mirror[0]]) == 0
    assert "fetched   serving.kserve.io_servingruntimes.yaml" in capsys.readouterr().out
    assert main(["crds", "list", "--profile", "upstream"]) == 0
    assert "read from the verified download cache" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://[::1", "not a URL (Invalid IPv6 URL)"),
        ("http://mirror:port", "not a URL (Port could not be cast to integer value"),
        ("ftp://mirror.example.com", "an http:// or https:// URL with a host"),
        ("mirror.example.com", "an http:// or https:// URL with a host"),
        ("https://mirror example", "spaces and control characters are not allowed"),
    ],
)
def test_a_base_url_that_is_not_an_http_url_is_exit_2_naming_the_option(
    value: str, message: str, no_shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["crds", "fetch", "--profile", "upstream", "--base-url", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --base-url {value!r}: ") and message in err, err
    assert "Traceback" not in err and not no_shared.exists()


def test_a_bad_base_url_from_the_environment_names_the_variable(
    no_shared: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUKEBOX_CRDS_BASE_URL", "http://[::1")
    assert main(["crds", "fetch", "--profile", "upstream"]) == 2
    assert "error: JUKEBOX_CRDS_BASE_URL 'http://[::1': not a URL" in capsys.readouterr().err
