"""The compiled pipeline: a valid IR, deterministic bytes, immutable version names, the generated objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.loader import load_spec
from generator.repo import check_repo, render_repo
from generator.validate import validate_document
from jukebox.errors import SpecError
from pipelines.compiled import compile_for_kubernetes, pipeline_spec
from pipelines.definition import settings_for
from tests.generator.helpers import base_spec, deep_merge, load_rendered, make_repo

pytest.importorskip("kfp", reason="the pipelines extra (kfp) is not installed")
PROFILES_WITH_PIPELINES = ("rhoai-2.22", "rhoai-3.3", "rhoai-3.5")
DSPA = "jukebox/overlays/dev/datasciencepipelinesapplication.yaml"
WAVE = "argocd.argoproj.io/sync-wave"


def _spec(tmp_path: Path, changes: dict[str, Any] | None = None) -> Any:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(deep_merge(base_spec(), changes or {})))
    return load_spec(path)


def test_ir_parses_as_a_pipeline_spec_with_the_five_steps_in_order(tmp_path: Path) -> None:
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    ir = pipeline_spec(settings_for(_spec(tmp_path)))
    parsed = json_format.ParseDict(ir, pipeline_spec_pb2.PipelineSpec())
    tasks = parsed.root.dag.tasks
    assert set(tasks) == {"load-data", "train", "evaluate", "publish", "register"}
    assert list(tasks["train"].dependent_tasks) == ["load-data"]
    assert set(tasks["publish"].dependent_tasks) == {"evaluate", "train"}  # never publishes before the gate
    assert list(tasks["register"].dependent_tasks) == ["publish"]
    assert set(parsed.root.input_definitions.parameters) >= {"data", "current_pin", "registry_url", "spec"}


def test_steps_run_the_spec_image_and_install_nothing(tmp_path: Path) -> None:
    ir = pipeline_spec(settings_for(_spec(tmp_path)))
    for name, executor in ir["deploymentSpec"]["executors"].items():
        container = executor["container"]
        assert container["image"] == "quay.io/rhoai-mlops/jukebox-pipeline:0.1.0", name
        assert "pip install" not in json.dumps(container), name  # install_kfp_package=False: no index at run time


def test_compiling_twice_gives_the_same_bytes_and_a_change_a_new_version(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    first, second = compile_for_kubernetes(settings_for(spec)), compile_for_kubernetes(settings_for(spec))
    assert yaml.safe_dump(first.version) == yaml.safe_dump(second.version)
    other = compile_for_kubernetes(settings_for(_spec(tmp_path, {"pipelines": {"image": "quay.io/x/y:2"}})))
    assert other.version_name != first.version_name
    assert other.pipeline == first.pipeline  # one Pipeline, many immutable versions


def test_the_version_carries_no_platform_spec(tmp_path: Path) -> None:
    """rhoai-2.22's PipelineVersion CRD has no platformSpec: the API server would drop it silently."""
    compiled = compile_for_kubernetes(settings_for(_spec(tmp_path)))
    assert set(compiled.version["spec"]) == {"description", "displayName", "pipelineName", "pipelineSpec"}


@pytest.mark.parametrize("profile", PROFILES_WITH_PIPELINES)
def test_generated_pipeline_objects_validate_against_the_profile_crds(
    tmp_path: Path, shared_dir: Path, profile: str
) -> None:
    make_repo(tmp_path, {"jukebox": deep_merge(base_spec(), {"platform": {"profile": profile}})})
    render_repo(tmp_path, use_cache=False)
    crds = shared_dir / "crds" / "profiles" / profile
    overlay = tmp_path / "manifests" / "jukebox" / "overlays" / "dev"
    documents = [yaml.safe_load(p.read_text()) for p in sorted(overlay.glob("*.yaml"))]
    pipeline_kinds = [
        d for d in documents if d["kind"] in ("DataSciencePipelinesApplication", "Pipeline", "PipelineVersion")
    ]
    assert sorted(d["kind"] for d in pipeline_kinds) == [
        "DataSciencePipelinesApplication",
        "Pipeline",
        "PipelineVersion",
    ]
    for document in pipeline_kinds:
        assert validate_document(document, crds, "1.33") == [], document["kind"]
    dspa = load_rendered(tmp_path, DSPA)
    dspa["spec"]["apiServer"]["pipelineStore"] = "git"  # the schema check can fail
    assert validate_document(dspa, crds, "1.33")


def test_dspa_points_at_the_spec_minio_and_connection(tmp_path: Path) -> None:
    make_repo(tmp_path, {"jukebox": base_spec()})
    render_repo(tmp_path, use_cache=False)
    spec = load_rendered(tmp_path, DSPA)["spec"]
    assert spec["dspVersion"] == "v2" and spec["apiServer"]["pipelineStore"] == "kubernetes"
    assert spec["objectStorage"]["externalStorage"] == {
        "bucket": "pipeline",
        "host": "minio.jukebox-minio.svc.cluster.local",
        "port": "9000",
        "region": "us-east-1",
        "scheme": "http",
        "s3CredentialsSecret": {
            "secretName": "aws-connection-models",
            "accessKey": "AWS_ACCESS_KEY_ID",
            "secretKey": "AWS_SECRET_ACCESS_KEY",
        },
    }
    waves = {
        name: int(load_rendered(tmp_path, f"jukebox/overlays/dev/{name}")["metadata"]["annotations"][WAVE])
        for name in ("datasciencepipelinesapplication.yaml", "pipeline-jukebox-training.yaml")
    }
    assert waves["datasciencepipelinesapplication.yaml"] > 3  # after MinIO (2) and its bucket Job (3)
    assert waves["pipeline-jukebox-training.yaml"] > waves["datasciencepipelinesapplication.yaml"]
    assert not list((tmp_path / "manifests/jukebox/overlays/prod").glob("*pipeline*"))  # only pipelines.environment


def test_render_check_catches_a_pipeline_edited_by_hand(tmp_path: Path) -> None:
    make_repo(tmp_path, {"jukebox": base_spec()})
    render_repo(tmp_path)
    [version] = (tmp_path / "manifests/jukebox/overlays/dev").glob("pipelineversion-*.yaml")
    version.write_text(version.read_text().replace("maxIter", "maxIterations", 1))
    drift = check_repo(tmp_path)
    assert not drift.clean
    assert drift.stale == [f"manifests/jukebox/overlays/dev/{version.name}"]


@pytest.mark.parametrize(
    ("profile", "component"), [("rhoai-2.22", "datasciencepipelines"), ("rhoai-3.3", "aipipelines")]
)
def test_the_datasciencecluster_manages_the_profiles_pipelines_component(
    tmp_path: Path, profile: str, component: str
) -> None:
    spec = deep_merge(base_spec(), {"platform": {"profile": profile}})
    make_repo(tmp_path / "on", {"jukebox": spec})
    render_repo(tmp_path / "on", use_cache=False)
    dsc = "platform/openshift/openshift-ai/datasciencecluster.yaml"
    assert load_rendered(tmp_path / "on", dsc)["spec"]["components"][component] == {"managementState": "Managed"}
    spec.pop("pipelines")
    make_repo(tmp_path / "off", {"jukebox": spec})
    render_repo(tmp_path / "off", use_cache=False)
    assert load_rendered(tmp_path / "off", dsc)["spec"]["components"][component] == {"managementState": "Removed"}


def _problems(tmp_path: Path, changes: dict[str, Any], drop_image: bool = False) -> str:
    spec = deep_merge(base_spec(), changes)
    if drop_image:
        del spec["pipelines"]["image"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert raised.value.exit_code == 2
    return str(raised.value)


def test_bad_pipelines_sections_name_the_field(tmp_path: Path) -> None:
    assert "pipelines.image: required field is missing" in _problems(tmp_path, {}, drop_image=True)
    assert "pipelines.environment: 'staging' is not an environment" in _problems(
        tmp_path, {"pipelines": {"environment": "staging"}}
    )
    assert "pipelines.bucket: 'artifacts' must be one of minio.buckets" in _problems(
        tmp_path, {"pipelines": {"bucket": "artifacts"}}
    )
    upstream = {"platform": {"profile": "upstream"}, "environments": {"prod": {"serving": {"tokenAuth": False}}}}
    assert "pipelines: platform.profile upstream has no Data Science Pipelines" in _problems(tmp_path, upstream)
    scheduled = _problems(tmp_path, {"pipelines": {"schedule": {"cron": "0 3 * * 1"}}})
    assert "pipelines.image: must be pinned by digest" in scheduled
    assert "pipelines.registryUrl: required with pipelines.schedule" in scheduled
    assert "pipelines.schedule.cron: must be a cron schedule" in _problems(
        tmp_path, {"pipelines": {"schedule": {"cron": "weekly"}}}
    )
