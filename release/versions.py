"""Model version strings: validation, ordering and the default "next patch" version."""

from __future__ import annotations

import re
from collections.abc import Iterable

from jukebox.errors import InputError

FIRST_VERSION = "0.0.1"
# A version is one S3 key segment and a registry name: keep it short and path-safe.
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,62}$")
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


def check_version(version: str) -> str:
    """Return `version` if it can be a key segment and a registry version name, else raise InputError."""
    if not _VERSION.match(version) or ".." in version:
        raise InputError(
            f"invalid version {version!r}: use 1-63 letters, digits, '.', '_', '+' or '-' "
            "starting with a letter or digit (e.g. 0.0.1)"
        )
    return version


def semver_key(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) for `X.Y.Z` (or `vX.Y.Z`), None for other version strings."""
    match = _SEMVER.match(version)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def sort_key(version: str) -> tuple[int, tuple[int, int, int], str]:
    """Semantic versions in numeric order first, then the others by name."""
    key = semver_key(version)
    return (0, key, version) if key else (1, (0, 0, 0), version)


def latest(versions: Iterable[str]) -> str | None:
    """The highest semantic version, or None when there is none."""
    semantic = [v for v in versions if semver_key(v)]
    return max(semantic, key=sort_key) if semantic else None


def next_patch(versions: Iterable[str]) -> str:
    """The patch after the latest semantic version; FIRST_VERSION when nothing is registered."""
    top = latest(versions)
    if top is None:
        return FIRST_VERSION
    major, minor, patch = semver_key(top) or (0, 0, 0)
    return f"{major}.{minor}.{patch + 1}"
