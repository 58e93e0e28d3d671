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


def compile_for_kubernetes(settings: PipelineSettings) -> CompiledPipeline:
    """kfp's `kubernetes_manifest_format` output (Pipeline + PipelineVersion), the version named by content."""
    from kfp import compiler
    from kfp.compiler.compiler_utils import KubernetesManifestOptions

    name = version_name(settings, pipeline_spec(settings))
    options = KubernetesManifestOptions(
        pipeline_name=settings.name,
        pipeline_display_name=settings.name,
        pipeline_version_name=name,
        pipeline_version_display_name=name,
        include_pipeline_manifest=True,
    )
    with tempfile.TemporaryDirectory(prefix="jukebox-kfp-") as work:
        target = Path(work) / "pipeline.yaml"
        compiler.Compiler().compile(
            build(settings), str(target), kubernetes_manifest_format=True, kubernetes_manifest_options=options
        )
        documents = list(yaml.safe_load_all(target.read_text(encoding="utf-8")))
    by_kind = {document["kind"]: document for document in documents}
    return CompiledPipeline(by_kind["Pipeline"], by_kind["PipelineVersion"])
