"""The project-local state directory: where the local services keep data, logs, pids, ports and secrets.

Default `<repo>/.jukebox/local` (git-ignored), overridden by `$JUKEBOX_STATE_DIR`, overridden by an
explicit option. Secrets are files with mode 0600 in a directory with mode 0700.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jukebox.errors import InputError

STATE_DIR_ENV = "JUKEBOX_STATE_DIR"
DEFAULT_RELATIVE = Path(".jukebox") / "local"
CREDENTIALS_FILE = "credentials.json"


def project_root(start: Path | None = None) -> Path:
    """The nearest directory holding `.git` or `pyproject.toml`, from `start` (cwd) upwards."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists() or (candidate / "pyproject.toml").is_file():
            return candidate
    return here


def resolve_state_dir(option: Path | str | None = None) -> Path:
    """The state directory: the option, else $JUKEBOX_STATE_DIR, else `<repo>/.jukebox/local`."""
    chosen = option or os.environ.get(STATE_DIR_ENV) or project_root() / DEFAULT_RELATIVE
    path = Path(chosen).expanduser().resolve()  # canonical: pid checks match it in command lines
    if path.exists() and not path.is_dir():
        raise InputError(f"state directory {path} exists and is not a directory")
    return path


def prepare_state_dir(path: Path) -> Path:
    """Create the state directory (mode 0700) if needed."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise InputError(f"cannot create state directory {path}: {error}") from error
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (0600), atomically (temp file + rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Credentials:
    """Secrets generated on the first `up`: the S3 key pair and the registry's bearer token."""

    access_key: str
    secret_key: str
    registry_token: str


def load_or_create_credentials(state_dir: Path) -> Credentials:
    """The state directory's credentials, generated (random, 0600) the first time."""
    path = state_dir / CREDENTIALS_FILE
    data = read_json(path)
    if data is not None:
        try:
            return Credentials(**{key: str(data[key]) for key in Credentials.__dataclass_fields__})
        except KeyError:
            pass  # an older or damaged file: regenerate below
    credentials = Credentials(
        access_key="jukebox" + secrets.token_hex(6),
        secret_key=secrets.token_urlsafe(30),
        registry_token=secrets.token_urlsafe(30),
    )
    write_private(path, json.dumps(asdict(credentials), indent=2) + "\n")
    return credentials


@contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """An exclusive lock on the state directory, so concurrent `up`/`down` calls take turns."""
    with open(state_dir / "lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
