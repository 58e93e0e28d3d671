"""The CustomResourceDefinitions each platform profile's manifests are validated against.

Every profile's CRDs are listed in `crd_sources.yaml` (repository, commit, path, sha256 of the bytes).
`jukebox validate` looks for them, in this order:
1. `--crds DIR`;
2. `../shared/crds/profiles/<profile>` beside the repository (the team's reference copies);
3. the user cache, `<cache>/crds/<profile>`, filled by `jukebox crds fetch` from the upstream URLs, each file
   checked against its sha256 before it enters the cache and again when it is used.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from jukebox.errors import CheckFailed, InputError, ServiceError
from jukebox.fsutil import atomic_write_bytes, user_cache_dir
from jukebox.inputs import check_http_url

SOURCES_FILE = Path(__file__).with_name("crd_sources.yaml")
SHARED_PROFILES_DIR = Path(__file__).resolve().parents[2] / "shared" / "crds" / "profiles"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
BASE_URL_ENV = "JUKEBOX_CRDS_BASE_URL"
MAX_CRD_BYTES = 16 * 1024 * 1024  # the largest known CRD (InferenceService) is about 2 MB
Fetcher = Callable[[str], bytes]


@dataclass(frozen=True)
class CrdSource:
    """One CRD file of a profile, byte for byte from a commit of its upstream repository."""

    profile: str
    file: str
    repo: str
    commit: str
    path: str
    sha256: str

    def url(self, base_url: str = DEFAULT_BASE_URL) -> str:
        return f"{base_url.rstrip('/')}/{self.repo}/{self.commit}/{self.path}"


@cache
def all_sources() -> dict[str, tuple[CrdSource, ...]]:
    table = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    return {
        profile: tuple(CrdSource(profile, file, **entry) for file, entry in sorted(files.items()))
        for profile, files in table.items()
    }


def sources(profile: str) -> tuple[CrdSource, ...]:
    known = all_sources()
    if profile not in known:
        raise InputError(f"--profile: unknown profile {profile!r}; allowed: {', '.join(sorted(known))}")
    return known[profile]


def cache_dir(profile: str) -> Path:
    return user_cache_dir() / "crds" / profile


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def problems_in(directory: Path, profile: str) -> list[str]:
    """Files of the profile that are missing from `directory` or differ from their recorded sha256."""
    found = []
    for source in sources(profile):
        path = directory / source.file
        if not path.is_file():
            found.append(f"{path}: missing")
        elif sha256_of(path) != source.sha256:
            found.append(f"{path}: sha256 {sha256_of(path)}, expected {source.sha256} ({source.repo}@{source.commit})")
    return found


@dataclass(frozen=True)
class CrdLocation:
    directory: Path | None
    origin: str  # where it came from, for the report


def locate(profile: str, override: Path | None = None) -> CrdLocation:
    """Where `jukebox validate` finds the profile's CRDs (None: nowhere; custom resources go unchecked)."""
    if override is not None:
        if not override.is_dir():
            raise InputError(f"--crds: directory not found: {override}")
        return CrdLocation(override, f"--crds {override}")
    shared = SHARED_PROFILES_DIR / profile
    if shared.is_dir():
        return CrdLocation(shared, f"the reference copies in {shared}")
    cached = cache_dir(profile)
    if cached.is_dir():
        damaged = problems_in(cached, profile)
        if damaged:
            raise CheckFailed(
                f"the CRD cache of {profile} is incomplete or damaged; refetch with `jukebox crds fetch --profile "
                f"{profile}`:\n  " + "\n  ".join(damaged)
            )
        return CrdLocation(cached, f"the verified download cache {cached}")
    return CrdLocation(None, f"nowhere: run `jukebox crds fetch --profile {profile}` to download them")


def download(url: str, timeout: float = 60.0) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body: bytes = response.read(MAX_CRD_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise ServiceError(f"downloading {url} failed: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ServiceError(f"downloading {url} failed: {reason}") from None
    if len(body) > MAX_CRD_BYTES:
        raise CheckFailed(f"{url}: larger than {MAX_CRD_BYTES} bytes, not a CRD")
    return body


def fetch(profile: str, base_url: str = DEFAULT_BASE_URL, fetcher: Fetcher = download) -> list[str]:
    """Download the profile's CRDs into the cache; a file enters the cache only with its recorded sha256.

    Returns one line per file (fetched, or already cached)."""
    target = cache_dir(profile)
    report = []
    for source in sources(profile):
        path = target / source.file
        if path.is_file() and sha256_of(path) == source.sha256:
            report.append(f"cached    {source.file}")
            continue
        url = source.url(base_url)
        body = fetcher(url)
        actual = hashlib.sha256(body).hexdigest()
        if actual != source.sha256:
            raise CheckFailed(
                f"{url}: sha256 {actual}, expected {source.sha256}; not cached (a different file, or a proxy "
                "answered instead of the server)"
            )
        atomic_write_bytes(path, body)
        report.append(f"fetched   {source.file} ({len(body)} bytes, sha256 ok)")
    return report


def base_url_from_env() -> str:
    """A mirror of raw.githubusercontent.com for disconnected sites (`JUKEBOX_CRDS_BASE_URL`)."""
    return check_base_url(os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL, BASE_URL_ENV)


def base_url(option: str | None) -> str:
    """The mirror to fetch from: `--base-url`, else `$JUKEBOX_CRDS_BASE_URL`, else GitHub; checked."""
    return check_base_url(option, "--base-url") if option else base_url_from_env()


def check_base_url(value: str, where: str) -> str:
    """`value` when it is an http(s) URL with a host; InputError naming `where` (the option) otherwise."""
    return check_http_url(value, where, "https://mirror.example.com/github")
