"""Kubernetes objects as dicts: identity, the `kubectl get` resource name, redaction, and "already so?"."""

from __future__ import annotations

import base64
import copy
from typing import Any

from generator.kinds import KINDS
from generator.platform.names import MERGED_ANNOTATION

REDACTED = "<redacted>"
FIELD_MANAGER = "jukebox-provision"


def identity(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    namespace = meta.get("namespace")
    where = f"{namespace}/" if namespace else ""
    return f"{obj.get('kind')}/{where}{meta.get('name')}"


def resource_name(obj: dict[str, Any]) -> str:
    """`kind.version.group` as `kubectl get` takes it, unambiguous even when two groups share a kind."""
    return kubectl_resource(obj["apiVersion"], obj["kind"])


def kubectl_resource(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"{kind.lower()}.{version}.{group}" if group else f"{kind.lower()}.{version}"


def generated_resource(kind: str) -> str:
    """The `kubectl get` name of a kind the generator writes, from its apiVersion in generator/kinds.py."""
    api_version = KINDS[kind].api_version
    if api_version is None:
        raise ValueError(f"{kind}: its apiVersion depends on the platform profile")
    return kubectl_resource(api_version, kind)


def is_merged(obj: dict[str, Any]) -> bool:
    """Keys merged into an object an upstream install owns: applied with --force-conflicts."""
    return MERGED_ANNOTATION in obj.get("metadata", {}).get("annotations", {})


def secret_data(obj: dict[str, Any]) -> dict[str, str]:
    """A Secret's values in clear, from stringData or base64 data."""
    if obj.get("kind") != "Secret":
        return {}
    values = {k: base64.b64decode(v).decode("utf-8") for k, v in (obj.get("data") or {}).items()}
    values.update(obj.get("stringData") or {})
    return values


def normalized(obj: dict[str, Any]) -> dict[str, Any]:
    """Secrets compare by their decoded values; every other object as written."""
    if obj.get("kind") != "Secret":
        return obj
    result = {k: v for k, v in obj.items() if k not in ("data", "stringData")}
    result["data"] = secret_data(obj)
    return result


def contains(live: Any, desired: Any) -> bool:
    """True when every field of `desired` is in `live` with the same value (the server may add more)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(k in live and contains(live[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(live) == len(desired) and all(map(contains, live, desired))
    if isinstance(desired, bool) or isinstance(live, bool):
        return live is desired
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return live == desired
    return bool(live == desired)


def up_to_date(live: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    return live is not None and contains(normalized(live), normalized(desired))


def redacted(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy fit to print: every Secret value replaced (public ones too: a plan shows keys, not values)."""
    if obj.get("kind") != "Secret":
        return obj
    shown = copy.deepcopy(obj)
    for key in ("data", "stringData"):
        if key in shown:
            shown[key] = dict.fromkeys(sorted(shown[key]), REDACTED)
    return shown
