"""Reading the user's files: one clear error (exit 2, the file named) for every way a read can fail."""

from __future__ import annotations

from pathlib import Path

from jukebox.errors import InputError


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise InputError(f"{what} {path}: is a directory, not a file") from None
    except FileNotFoundError:
        raise InputError(f"{what} {path}: no such file") from None
    except OSError as error:
        raise InputError(f"{what} {path}: cannot read it ({error.strerror or error})") from None


def read_text(path: str | Path, what: str) -> str:
    """The file's text, decoded as UTF-8 (a leading byte-order mark is dropped).

    `what` names the file for the user, e.g. "--labels" or "labels.json"; every failure (missing,
    a directory, no permission, not UTF-8) is an InputError naming it and the path.
    """
    path = Path(path)
    data = _read_bytes(path, what)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{what} {path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None


def require_readable_file(path: str | Path, what: str) -> Path:
    """`path` as a Path once it is known to be a regular file this process can open (binary formats)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path}: is a directory, not a file")
    if not path.is_file():
        raise InputError(f"{what} {path}: no such file")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise InputError(f"{what} {path}: cannot read it ({error.strerror or error})") from None
    return path
