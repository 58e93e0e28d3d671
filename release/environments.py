"""A spec loaded for one of its environments: the first step of release, pin, serve and pipeline runs."""

from __future__ import annotations

from pathlib import Path

from generator.loader import load_spec
from generator.spec import Spec
from jukebox.errors import InputError


def load_for_env(spec_path: Path, environment: str) -> Spec:
    """The spec at `spec_path`; InputError when it does not define `environment`."""
    spec = load_spec(spec_path)
    if environment not in spec.environments:
        raise InputError(f"unknown environment {environment!r}; {spec_path} defines: {', '.join(spec.environments)}")
    return spec
