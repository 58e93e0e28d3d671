"""Apply-if-different, secret value resolution and waits against a fake cluster (a recording runner)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.loader import load_spec
from generator.platform import PlatformSettings
from generator.platform import names as platform_names
from jukebox.errors import InputError, ServiceError
from provisioning import secrets
from provisioning.cluster import Cluster
from provisioning.objects import contains, redacted, up_to_date
from provisioning.runner import CommandResult
from provisioning.steps import Context, Wait, applications_healthy

SPEC = Path(__file__).resolve().parents[2] / "specs" / "jukebox.yaml"


class FakeCluster:
    """A recording runner that keeps objects applied through it, so a second run sees the first's result."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.calls: list[list[str]] = []

    def run(self, argv: list[str], stdin: str | None = None, timeout: float = 300) -> CommandResult:
        self.calls.append(list(argv))
        argv = [arg for arg in argv if not arg.startswith("--context=")]
        verb = argv[1]
        if verb == "get":
            resource, name = argv[2], argv[3]
            namespace = argv[argv.index("-n") + 1] if "-n" in argv else ""
            kind = resource.split(".")[0]
            found = self.objects.get((kind, namespace, name))
            return CommandResult(0, json.dumps(found) if found else "")
        if verb == "apply":
            for doc in yaml.safe_load_all(stdin or ""):
                meta = doc["metadata"]
                live = json.loads(json.dumps(doc))
                live["metadata"]["uid"] = "server-added"
                self.objects[(doc["kind"].lower(), meta.get("namespace", ""), meta["name"])] = live
            return CommandResult(0, "applied")
        return CommandResult(0)

    def applies(self) -> list[list[str]]:
        return [call for call in self.calls if call[1] == "apply"]


def _objects() -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "a"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
        },
    ]


def test_second_apply_changes_nothing() -> None:
    fake = FakeCluster()
    cluster = Cluster(fake, "kubectl", "kind-x", log=lambda _: None)
    first = cluster.apply(_objects())
    assert first.applied == ["Namespace/a", "Deployment/a/d"] and not first.unchanged
    assert fake.applies()[0][:5] == [
        "kubectl",
        "apply",
        "--context=kind-x",
        "--server-side",
        "--field-manager=jukebox-provision",
    ]
    second = cluster.apply(_objects())
    assert second.unchanged == ["Namespace/a", "Deployment/a/d"] and not second.applied
    assert len(fake.applies()) == 1


def test_only_the_changed_object_is_applied_and_merged_keys_force() -> None:
    fake = FakeCluster()
    cluster = Cluster(fake, "kubectl", log=lambda _: None)
    cluster.apply(_objects())
    changed = _objects()
    changed[1]["spec"]["replicas"] = 2
    merged = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "a", "annotations": {"jukebox.rhoai-mlops.io/merged-into": "x"}},
        "data": {"k": "v"},
    }
    report = cluster.apply([*changed, merged])
    assert report.applied == ["Deployment/a/d", "ConfigMap/a/cm"] and report.unchanged == ["Namespace/a"]
    plain, forced = fake.applies()[1:]
    assert "--force-conflicts" not in plain and "--force-conflicts" in forced


def test_contains_semantics() -> None:
    assert contains({"a": 1, "b": {"c": [1, {"d": 2, "e": 3}]}}, {"b": {"c": [1, {"d": 2}]}})
    assert not contains({"a": [1, 2]}, {"a": [1]})
    assert not contains({"a": True}, {"a": 1})
    secret = {"kind": "Secret", "data": {"K": "dg=="}}  # "v"
    assert up_to_date(secret, {"kind": "Secret", "stringData": {"K": "v"}})
    assert not up_to_date(secret, {"kind": "Secret", "stringData": {"K": "w"}})
    assert redacted({"kind": "Secret", "stringData": {"K": "v"}})["stringData"] == {"K": "<redacted>"}


def test_secret_values_supplied_kept_derived_generated() -> None:
    spec = load_spec(SPEC)
    counter = iter(range(100))

    def generate(keys: tuple[str, ...]) -> dict[str, str]:
        return {k: f"gen-{next(counter)}" for k in keys}

    kept = "kept-" + "fake"  # an obviously fake value, built here
    existing = {("jukebox-registry-db", "rhoai-model-registries"): {platform_names.DB_PASSWORD_KEY: kept}}
    resolved = secrets.resolve(
        spec,
        PlatformSettings(),
        {"minio-root": {"MINIO_ROOT_USER": "u", "MINIO_ROOT_PASSWORD": "p"}},
        lambda name, ns: existing.get((name, ns)),
        generate,
    )
    by = {(r.obj["metadata"]["namespace"], r.obj["metadata"]["name"]): r for r in resolved}
    assert by[("jukebox-minio", "minio-root")].source.startswith("supplied")
    dev = by[("jukebox-dev", "aws-connection-models")]
    assert dev.obj["stringData"]["AWS_ACCESS_KEY_ID"] == "u" and dev.obj["stringData"]["AWS_SECRET_ACCESS_KEY"] == "p"
    assert dev.obj["stringData"]["AWS_S3_ENDPOINT"] == "http://minio.jukebox-minio.svc.cluster.local:9000"
    db = by[("rhoai-model-registries", "jukebox-registry-db")]
    assert db.source == "kept from the cluster" and db.obj["stringData"][platform_names.DB_PASSWORD_KEY] == kept
    config = json.loads(secrets.storage_config(spec, dev.obj)["stringData"]["aws-connection-models"])
    assert config == {
        "type": "s3",
        "access_key_id": "u",
        "secret_access_key": "p",
        "endpoint_url": "http://minio.jukebox-minio.svc.cluster.local:9000",
        "bucket": "models",
        "region": "us-east-1",
    }


def test_external_s3_without_values_is_bad_input() -> None:
    spec = load_spec(SPEC)
    external = spec.model_copy(
        update={"storage": spec.storage.model_copy(update={"endpoint": "https://s3.example.com"})}
    )
    with pytest.raises(InputError, match="supply them with --secrets-file"):
        secrets.resolve(external, PlatformSettings(), {}, lambda n, ns: None)


def test_wait_times_out_with_diagnostics() -> None:
    fake = FakeCluster()
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    cluster = Cluster(fake, "kubectl", sleep=sleep, clock=lambda: now[0], log=lambda _: None)
    wait = Wait(
        "apps",
        ["x"],
        applications_healthy("argocd", ("app",)),
        namespaces=["ns"],
        timeout=30,
        failure="the Applications did not become Synced/Healthy in time",
    )
    with pytest.raises(ServiceError, match="did not become Synced/Healthy") as error:
        wait.execute(Context(cluster, log=lambda _: None))
    assert "--- events in ns" in str(error.value)
    assert any("events" in call for call in fake.calls)


def test_resource_names_come_from_the_generators_kind_table() -> None:
    """What provisioning watches is what render writes: one apiVersion per kind (generator/kinds.py)."""
    from generator.kinds import KINDS
    from provisioning.objects import generated_resource

    assert generated_resource("Deployment") == "deployment.v1.apps"
    assert generated_resource("ModelRegistry") == "modelregistry.v1beta1.modelregistry.opendatahub.io"
    assert generated_resource("Namespace") == "namespace.v1"
    for kind, entry in KINDS.items():
        if entry.api_version is None:
            with pytest.raises(ValueError, match="platform profile"):
                generated_resource(kind)
