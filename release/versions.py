"""Model version strings: validation, ordering and the default "next patch" version."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from jukebox.errors import InputError

FIRST_VERSION = "0.0.1"
# A version is one S3 key segment and a registry name: keep it short and path-safe.
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z._+-]{0,62}")
_SEMVER = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def check_version(version: str) -> str:
    """Return `version` if it can be a key segment and a registry version name, else raise InputError."""
    if not _VERSION.fullmatch(version) or ".." in version:
        raise InputError(
            f"invalid version {version!r}: use 1-63 letters, digits, '.', '_', '+' or '-' "
            "starting with a letter or digit (e.g. 0.0.1)"
        )
    return version


def semver_key(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) for `X.Y.Z` (or `vX.Y.Z`), None for other version strings."""
    match = _SEMVER.fullmatch(version)
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


def version_rows(entries: Iterable[Any], pinned: Mapping[str, str], primary_metric: str) -> list[dict[str, Any]]:
    """One row per registered version (newest first): metrics, sha256 and the environments pinning it.

    `entries` are `release.registry.RegisteredVersion`s; `pinned` maps environment -> pinned version.
    """
    rows = []
    for entry in sorted(entries, key=lambda e: sort_key(e.version), reverse=True):
        rows.append(
            {
                "version": entry.version,
                "state": entry.state,
                "primaryMetric": primary_metric,
                "metrics": entry.metrics,
                "sha256": entry.sha256,
                "modelVersionId": entry.model_version_id,
                "created": _iso(entry.created_ms),
                "pinnedIn": sorted(env for env, version in pinned.items() if version == entry.version),
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of `version_rows`."""
    header = ["VERSION", "STATE", "METRIC", "SHA256", "CREATED", "PINNED IN"]
    lines = [header]
    for row in rows:
        value = row["metrics"].get(row["primaryMetric"])
        metric = f"{row['primaryMetric']}={value:.4f}" if value is not None else "-"
        pins = ", ".join(row["pinnedIn"]) or "-"
        lines.append([row["version"], row["state"], metric, row["sha256"][:12] or "-", row["created"], pins])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def _iso(millis: int) -> str:
    if not millis:
        return "-"
    return datetime.fromtimestamp(millis / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
