"""Installing KServe's release manifests on a fresh kind cluster, the way KServe's own installer does it.

kserve.yaml holds a ClusterStorageContainer next to its CRD, so a single apply fails on a fresh cluster;
its webhooks may also not answer right after install. A fake kubectl reproduces both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from generator.profiles import PROFILES
from jukebox.errors import ServiceError
from provisioning import upstream
from provisioning.cluster import Cluster
from provisioning.runner import CommandResult
from provisioning.steps import Context, InstallUpstream

_STACK = PROFILES["upstream"].kind_stack
assert _STACK is not None
STACK = _STACK
KSERVE = upstream.kserve(STACK)
CRDS_URL = KSERVE.crds_url
NO_CRD = 'error: resource mapping not found for name: "default": no matches for kind "ClusterStorageContainer"'


class FreshCluster:
    """kubectl on a fresh cluster: a custom resource applies only once its CRD is Established."""

    def __init__(self, webhook_failures: int = 0) -> None:
        self.crds_established = False
        self.webhook_failures = webhook_failures
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str], stdin: str | None = None, timeout: float = 300) -> CommandResult:
        self.calls.append(list(argv))
        verb, url = argv[1], argv[-1]
        if verb == "get":
            found = self.objects.get((argv[2], argv[3]))
            return CommandResult(0, json.dumps(found) if found else "")
        if verb == "wait" and url == CRDS_URL:
            self.crds_established = True
            return CommandResult(0, "condition met")
        if verb == "apply" and url == KSERVE.url:
            return self._apply_kserve()
        return CommandResult(0)

    def _apply_kserve(self) -> CommandResult:
        if not self.crds_established:
            return CommandResult(1, stderr=NO_CRD)
        if self.webhook_failures:
            self.webhook_failures -= 1
            return CommandResult(1, stderr="failed calling webhook: connection refused")
        self.objects[("clusterstoragecontainer.v1alpha1.serving.kserve.io", "default")] = {"kind": "x"}
        return CommandResult(0, "applied")

    def verbs(self) -> list[str]:
        return [f"{call[1]} {call[-1].rsplit('/', 1)[-1]}" for call in self.calls if call[1] in ("apply", "wait")]


def _run(fake: FreshCluster) -> list[float]:
    logs: list[str] = []
    naps: list[float] = []
    cluster = Cluster(fake, "kubectl", sleep=naps.append, log=logs.append)
    InstallUpstream(KSERVE).execute(Context(cluster, log=logs.append))
    return naps


def test_crds_are_established_before_kserve_yaml_is_applied() -> None:
    fake = FreshCluster()
    assert _run(fake) == []
    assert fake.verbs() == ["apply kserve-crds.yaml", "wait kserve-crds.yaml", "apply kserve.yaml"]
    crds_apply = next(call for call in fake.calls if call[-1] == CRDS_URL)
    assert "--server-side" in crds_apply and "--force-conflicts" in crds_apply


def test_a_webhook_that_is_not_ready_yet_is_retried() -> None:
    fake = FreshCluster(webhook_failures=2)
    naps = _run(fake)
    assert fake.verbs()[-3:] == ["apply kserve.yaml"] * 3
    assert naps == [upstream.APPLY_RETRY_PAUSE_SECONDS] * 2


def test_retries_end_with_the_clusters_error() -> None:
    fake = FreshCluster(webhook_failures=upstream.KSERVE_APPLY_ATTEMPTS)
    with pytest.raises(ServiceError, match="failed calling webhook"):
        _run(fake)


def test_a_half_done_install_is_not_taken_as_done() -> None:
    """The controller runs the pinned version, but the ClusterStorageContainer never made it."""
    fake = FreshCluster()
    image = f"kserve/kserve-controller:{STACK.kserve_version}"
    deployment = {"spec": {"template": {"spec": {"containers": [{"image": image}]}}}}
    fake.objects[("deployment.v1.apps", "kserve-controller-manager")] = deployment
    _run(fake)
    assert "apply kserve.yaml" in fake.verbs()
    before = len(fake.calls)
    _run(fake)
    assert fake.verbs().count("apply kserve.yaml") == 1 and len(fake.calls) > before  # only probed


def test_the_plan_shows_the_crds_step_and_every_controller_it_waits_for() -> None:
    lines = "\n".join(InstallUpstream(KSERVE).describe("kubectl"))
    assert f"kubectl wait --for=condition=Established --timeout=60s -f {CRDS_URL}" in lines
    assert f"kubectl apply --server-side -f {KSERVE.url}  # up to 3 tries" in lines
    assert set(KSERVE.wait_deployments) == {
        "kserve-controller-manager",
        "llmisvc-controller-manager",
        "kserve-localmodel-controller-manager",
    }
