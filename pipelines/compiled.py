"""The compiled pipeline: the IR (a `PipelineSpec`) and kfp's Kubernetes-native Pipeline/PipelineVersion.

The PipelineVersion's name ends with a hash of the compiled IR, so a changed pipeline (code, image, spec,
kfp's version: all in the IR) is a new version and a version never changes: the pipeline server's webhook
refuses updates of a PipelineVersion's spec. kfp 2.17.3 compiles deterministically (same input, same
bytes; checked by tests/pipelines/test_compile.py); its version is pinned because it is in the IR
(`sdkVersion`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.definition import PipelineSettings, build

HASH_LENGTH = 12


@dataclass(frozen=True)
class CompiledPipeline:
    pipeline: dict[str, Any]  # kind Pipeline
    version: dict[str, Any]  # kind PipelineVersion (spec.pipelineSpec: the IR)

    @property
    def version_name(self) -> str:
        return str(self.version["metadata"]["name"])


def pipeline_spec(settings: PipelineSettings) -> dict[str, Any]:
    """The IR (kfp_pipeline_spec `PipelineSpec`) as a dict."""
    from kfp import compiler

    with tempfile.TemporaryDirectory(prefix="jukebox-kfp-") as work:
        target = Path(work) / "pipeline.yaml"
        compiler.Compiler().compile(build(settings), str(target))
        document: dict[str, Any] = yaml.safe_load(target.read_text(encoding="utf-8"))
    return document


def content_hash(ir: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ir, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:HASH_LENGTH]


def version_name(settings: PipelineSettings, ir: dict[str, Any]) -> str:
    return f"{settings.name}-{content_hash(ir)}"


_PENDING_NAME = "jukebox-pending-version-name"  # replaced by the content-derived name once the IR is known


def compile_for_kubernetes(settings: PipelineSettings) -> CompiledPipeline:
    """kfp's `kubernetes_manifest_format` output (Pipeline + PipelineVersion), the version named by content.

    One compile: the version's name is derived from the IR it embeds, so it is compiled under a placeholder
    name that is then replaced (kfp puts the name in metadata.name and spec.displayName only: checked)."""
    from kfp import compiler
    from kfp.compiler.compiler_utils import KubernetesManifestOptions

    options = KubernetesManifestOptions(
        pipeline_name=settings.name,
        pipeline_display_name=settings.name,
        pipeline_version_name=_PENDING_NAME,
        pipeline_version_display_name=_PENDING_NAME,
        include_pipeline_manifest=True,
    )
    with tempfile.TemporaryDirectory(prefix="jukebox-kfp-") as work:
        target = Path(work) / "pipeline.yaml"
        compiler.Compiler().compile(
            build(settings), str(target), kubernetes_manifest_format=True, kubernetes_manifest_options=options
        )
        documents = list(yaml.safe_load_all(target.read_text(encoding="utf-8")))
    by_kind = {document["kind"]: document for document in documents}
    version = by_kind["PipelineVersion"]
    name = version_name(settings, version["spec"]["pipelineSpec"])
    version["metadata"]["name"] = version["spec"]["displayName"] = name
    if _PENDING_NAME in json.dumps(documents):
        raise RuntimeError(f"kfp wrote the version name in another place of {settings.name}'s manifests")
    return CompiledPipeline(by_kind["Pipeline"], version)
