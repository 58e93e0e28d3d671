"""The optional schedule: a CronJob running `jukebox pipeline run` with the spec and pin it renders."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator.loader import load_spec
from generator.pin_file import read_pin
from generator.repo import render_repo
from tests.generator.helpers import base_spec, deep_merge, load_rendered, make_repo

pytest.importorskip("kfp", reason="the pipelines extra (kfp) is not installed")
DIGEST = "quay.io/rhoai-mlops/jukebox-pipeline:0.1.0@sha256:" + "a" * 64
SCHEDULED = {
    "pipelines": {
        "image": DIGEST,
        "registryUrl": "https://jukebox-registry-rest.apps.example.com",
        "schedule": {"cron": "0 3 * * 1", "data": "sample"},
    }
}


def test_no_schedule_no_cronjob(tmp_path: Path) -> None:
    make_repo(tmp_path, {"jukebox": base_spec()})
    render_repo(tmp_path, use_cache=False)
    assert not list((tmp_path / "manifests").rglob("cronjob-*.yaml"))


def test_the_cronjob_runs_the_submit_command_on_the_rendered_spec_and_pin(tmp_path: Path) -> None:
    make_repo(tmp_path, {"jukebox": deep_merge(base_spec(), SCHEDULED)}, pins={"jukebox": ["dev"]})
    render_repo(tmp_path, use_cache=False)
    root = "jukebox/overlays/dev"
    cronjob = load_rendered(tmp_path, f"{root}/cronjob-pipeline-scheduler.yaml")
    assert cronjob["spec"]["schedule"] == "0 3 * * 1"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == DIGEST
    assert container["command"][:3] == ["jukebox", "pipeline", "run"]
    assert "--env=dev" in container["command"] and "--data=sample" in container["command"]
    assert "--endpoint=https://ds-pipeline-dspa.jukebox-dev.svc.cluster.local:8443" in container["command"]
    # The mounted files are what `--spec` reads: the spec, and its dev pin beside it.
    configmap = load_rendered(tmp_path, f"{root}/configmap-pipeline-scheduler.yaml")
    items = {v["name"]: v for v in pod["volumes"]}["inputs"]["configMap"]["items"]
    mounted = tmp_path / "mounted"
    for item in items:
        (mounted / item["path"]).parent.mkdir(parents=True, exist_ok=True)
        (mounted / item["path"]).write_text(configmap["data"][item["key"]])
    spec_path = mounted / "jukebox.yaml"
    assert load_spec(spec_path) == load_spec(tmp_path / "specs" / "jukebox.yaml")
    assert read_pin(spec_path, "dev") == read_pin(tmp_path / "specs" / "jukebox.yaml", "dev")
    binding = load_rendered(tmp_path, f"{root}/rolebinding-pipeline-scheduler.yaml")
    assert binding["roleRef"]["name"] == "ds-pipeline-user-access-dspa"
    assert yaml.safe_dump(pod["securityContext"])  # restricted pod settings present
