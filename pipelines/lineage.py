"""Which registered version a pipeline run produced: the lineage `register` recorded on its model artifact."""

from __future__ import annotations

from generator.spec import Spec
from jukebox.errors import InputError
from pipelines.steps import LINEAGE_CLASS, LINEAGE_KIND
from release.connections import Services
from release.registry import RegisteredVersion


def version_of_run(spec: Spec, services: Services, run_id: str) -> RegisteredVersion:
    """The version of `spec`'s model whose artifact names pipeline run `run_id` (newest first)."""
    for listed in reversed(services.registry.list(spec.model.name)):
        entry = services.registry.get(spec.model.name, listed.version)
        if entry is not None and entry.source is not None and _names_run(entry, run_id):
            return entry
    raise InputError(
        f"--run {run_id}: no version of {spec.model.name} in {services.registry.url} was registered by that pipeline "
        "run (did it succeed? `jukebox versions --spec FILE` lists the versions)"
    )


def _names_run(entry: RegisteredVersion, run_id: str) -> bool:
    source = entry.source
    return source is not None and (source.kind, source.source_class, source.id) == (LINEAGE_KIND, LINEAGE_CLASS, run_id)
