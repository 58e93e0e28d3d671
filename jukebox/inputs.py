"""Reading files people and machines hand us: bounded, UTF-8, and YAML without its traps.

Every user-supplied file goes through `read_text`: a size bound, UTF-8 with a clear error (exit 2 naming the
file), no traceback for a directory, a missing or an unreadable path. YAML goes through `parse_yaml`:
no duplicate keys (PyYAML silently keeps the last one), and no anchors or aliases: a few hundred bytes of
nested aliases ("billion laughs") expand into gigabytes once anything walks the data. Specs, pins and
secrets files never need them.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from jukebox.errors import InputError, Problem, SpecError

MAX_INPUT_BYTES = 1024 * 1024  # a spec is a few kB; a MiB is generous and still cheap to parse
SHOWN_VALUE_CHARS = 80
MAX_NESTING = 64  # a spec is 5 levels deep, metrics.json 3; far below the parsers' recursion limits

_LoaderBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_bytes(path: Path, what: str, max_bytes: int | None = None) -> bytes:
    """The file's bytes; InputError (exit 2) naming `what` and the path for anything but a readable regular
    file. At most `max_bytes` are read: a device or a FIFO (size 0 to `stat`) cannot make it read forever."""
    try:
        check_regular_file(path, what, missing_ok=True)
        with path.open("rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{what} {path}: no such file") from None
    except OSError as error:
        raise InputError(f"{what} {path}: cannot read it ({error.strerror or error})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(f"{what} {path}: more than {max_bytes} bytes; at most {max_bytes} are read")
    return data


def check_regular_file(path: Path, what: str, missing_ok: bool = False) -> None:
    """InputError naming `what` and the path unless it is a regular file (after symlinks); a missing path
    passes with `missing_ok` (opening it then says so)."""
    if path.is_dir():
        raise InputError(f"{what} {path}: is a directory, not a file")
    if not path.exists():
        if missing_ok:
            return
        raise InputError(f"{what} {path}: no such file")
    if not path.is_file():
        raise InputError(f"{what} {path}: not a regular file (a device, a FIFO or a socket)")


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
    check_regular_file(path, what)
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise InputError(f"{what} {path}: cannot read it ({error.strerror or error})") from None
    return path


def _too_many_digits(value: int) -> bool:
    limit = sys.get_int_max_str_digits()
    return bool(limit) and value.bit_length() > limit * 3.32  # log2(10) bits per decimal digit, rounded down


def shorten(value: Any, limit: int = SHOWN_VALUE_CHARS) -> str:
    """repr of a value for an error message, cut to `limit` characters."""
    if isinstance(value, int) and _too_many_digits(value):
        return f"<an integer of {value.bit_length()} bits>"
    return _cut(repr(value), limit)


def shorten_key(key: Any, limit: int = SHOWN_VALUE_CHARS) -> str:
    """A key as one segment of a dotted path in an error message, cut to about `limit` characters."""
    return _cut(str(key), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} chars)"


_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f]")


def check_http_url(value: str, where: str, example: str) -> str:
    """`value` when it is an http(s) URL with a host (and a valid port, if any); InputError naming `where`
    (the option or variable) and what is allowed otherwise."""
    allowed = f"an http:// or https:// URL with a host, e.g. {example}"
    if _UNSAFE_IN_URL.search(value):
        raise InputError(f"{where} {shorten(value)}: spaces and control characters are not allowed; {allowed}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (parses the port: ValueError when it is not a number in range)
    except ValueError as error:
        raise InputError(f"{where} {shorten(value)}: not a URL ({error}); {allowed}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{where} {shorten(value)}: {allowed}")
    return value


def dotted_path(loc: Iterable[Any]) -> str:
    """`serving.replicas.min` from a location tuple, each key cut by `shorten_key` (a 100 kB key stays short)."""
    return ".".join(shorten_key(part) for part in loc)


class _StrictLoader(_LoaderBase):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    for key, count in Counter(k for k in keys if isinstance(k, str)).items():
        if count > 1:
            mark = node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {shorten(key)} in the mapping at line {mark.line + 1}", mark
            )
    return dict(yaml.SafeLoader.construct_mapping(loader, node, deep=deep))


def _readable_scalar(tag: str) -> Any:
    """The SafeLoader constructor of `tag`, with the ValueError of a value it cannot build (an integer of
    5000 digits, the date 2024-13-45) turned into a YAML error at the value's line and column."""
    construct = yaml.SafeLoader.yaml_constructors[tag]

    def checked(loader: Any, node: yaml.ScalarNode) -> Any:
        try:
            value = construct(loader, node)
        except ValueError as error:
            reason = str(error).split(";")[0]  # not Python's advice to raise its digit limit
            problem = f"{shorten(node.value)} cannot be read ({reason})"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None
        if isinstance(value, int) and _too_many_digits(value):
            # Hex, octal and YAML 1.1 base-60 integers are built without Python's decimal digit limit.
            problem = f"{shorten(node.value)} cannot be read (an integer past {sys.get_int_max_str_digits()} digits)"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)
        return value

    return checked


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
for _tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:timestamp"):
    _StrictLoader.add_constructor(_tag, _readable_scalar(_tag))


_BLOCK_INDENT = re.compile(r"^[ \t?:-]*", re.MULTILINE)


def _could_nest_deeply(text: str) -> bool:
    """False when `text` cannot nest deeper than MAX_NESTING: each flow level needs a '[' or '{', and block
    levels need indentation (or '- ', '? ', ': ' indicators), at least one column for every two levels."""
    brackets = text.count("[") + text.count("{")
    indent = max((len(m) for m in _BLOCK_INDENT.findall(text)), default=0)
    return brackets + 2 * indent + 2 > MAX_NESTING


def _check_events(text: str, source: str) -> None:
    """Anchors, aliases and deep nesting are refused before anything is built (events only: cheap, bounded)."""
    aliases = "&" in text or "*" in text  # neither an anchor nor an alias can be written without one of these
    if not aliases and not _could_nest_deeply(text):
        return
    depth = 0
    for event in yaml.parse(text, Loader=_LoaderBase):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise SpecError(
                source, [Problem("", f"YAML anchors and aliases are not accepted{_at(event)}: write the values out")]
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise SpecError(source, [Problem("", f"nested deeper than {MAX_NESTING} levels{_at(event)}")])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _at(event: yaml.Event) -> str:
    mark = event.start_mark
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""


def parse_yaml(text: str, source: str) -> Any:
    """One YAML document: duplicate keys, anchors, aliases and deep nesting refused; errors located by line
    and column."""
    try:
        _check_events(text, source)
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError(source, [Problem("", f"YAML syntax error at {where}{error.problem or error}")]) from None
    except yaml.YAMLError as error:
        raise SpecError(source, [Problem("", f"YAML error: {error}")]) from None


def load_yaml_file(path: Path, what: str) -> Any:
    return parse_yaml(read_text(path, what), str(path))


_JSON_SPECIAL = re.compile(r'[\\"\[\]{}]')


def _json_depth(text: str) -> int:
    """How deep the arrays and objects of `text` nest (brackets inside strings do not count); one linear pass."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # the position a backslash in a string escapes
    for match in _JSON_SPECIAL.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _json_int(digits: str) -> int:
    """An integer of JSON text, with a message of our own past Python's digit limit (not its advice to raise it)."""
    count, limit = len(digits.lstrip("-")), sys.get_int_max_str_digits()
    if limit and count > limit:
        raise ValueError(f"a number of {count} digits; at most {limit} are read")
    return int(digits)


def parse_json(text: str, source: str, what: str = "") -> Any:
    """JSON text; InputError "`source`: `what` not valid JSON (why)" when it is not JSON, nests deeper than
    MAX_NESTING levels, or holds an integer too long to read."""
    if text.count("[") + text.count("{") > MAX_NESTING and _json_depth(text) > MAX_NESTING:
        raise InputError(f"{source}: {what}not valid JSON (nested deeper than {MAX_NESTING} levels)")
    try:
        return json.loads(text, parse_int=_json_int)
    except ValueError as error:  # json.JSONDecodeError is one
        raise InputError(f"{source}: {what}not valid JSON ({error})") from None
