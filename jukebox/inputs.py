"""Reading files people and machines hand us: bounded, UTF-8, and YAML without its traps.

Every user-supplied file goes through `read_text`: a size bound, UTF-8 with a clear error (exit 2 naming the
file), no traceback for a directory, a missing or an unreadable path. YAML goes through `parse_yaml`:
no duplicate keys (PyYAML silently keeps the last one), and no anchors or aliases: a few hundred bytes of
nested aliases ("billion laughs") expand into gigabytes once anything walks the data. Specs, pins and
secrets files never need them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from jukebox.errors import InputError, Problem, SpecError

MAX_INPUT_BYTES = 1024 * 1024  # a spec is a few kB; a MiB is generous and still cheap to parse
SHOWN_VALUE_CHARS = 80

_LoaderBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_bytes(path: Path, what: str, max_bytes: int | None = None) -> bytes:
    """The file's bytes; InputError (exit 2) naming `what` and the path for anything but a readable regular
    file. At most `max_bytes` are read: a device or a FIFO (size 0 to `stat`) cannot make it read forever."""
    try:
        if path.is_dir():
            raise InputError(f"{what} {path}: is a directory, not a file")
        if path.exists() and not path.is_file():
            raise InputError(f"{what} {path}: not a regular file (a device, a FIFO or a socket)")
        with path.open("rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{what} {path}: no such file") from None
    except OSError as error:
        raise InputError(f"{what} {path}: cannot read it ({error.strerror or error})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(f"{what} {path}: more than {max_bytes} bytes; at most {max_bytes} are read")
    return data


def read_text(path: str | Path, what: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The file's text as UTF-8 (a leading byte-order mark dropped); InputError naming `what` otherwise.

    `what` names the file for the user, e.g. "spec file", "--labels" or "labels.json"."""
    path = Path(path)
    data = read_bytes(path, what, max_bytes)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(
            f"{what} {path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}, line {line})"
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


def shorten(value: Any, limit: int = SHOWN_VALUE_CHARS) -> str:
    """repr of a value for an error message, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} chars)"


class _StrictLoader(_LoaderBase):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    for key, count in Counter(k for k in keys if isinstance(k, str)).items():
        if count > 1:
            mark = node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} in the mapping at line {mark.line + 1}", mark
            )
    return dict(yaml.SafeLoader.construct_mapping(loader, node, deep=deep))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _refuse_aliases(text: str, source: str) -> None:
    """Anchors and aliases are refused before anything is built from them (events only: cheap, bounded)."""
    if "&" not in text and "*" not in text:
        return  # neither an anchor nor an alias can be written without one of these
    for event in yaml.parse(text, Loader=_LoaderBase):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            problem = f"YAML anchors and aliases are not accepted{where}: write the values out"
            raise SpecError(source, [Problem("", problem)])


def parse_yaml(text: str, source: str) -> Any:
    """One YAML document: duplicate keys, anchors and aliases refused; errors located by line and column."""
    try:
        _refuse_aliases(text, source)
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError(source, [Problem("", f"YAML syntax error at {where}{error.problem or error}")]) from None
    except yaml.YAMLError as error:
        raise SpecError(source, [Problem("", f"YAML error: {error}")]) from None


def load_yaml_file(path: Path, what: str) -> Any:
    return parse_yaml(read_text(path, what), str(path))
