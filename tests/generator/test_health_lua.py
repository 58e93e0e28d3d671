"""Our Argo CD InferenceService health check, run in a real Lua 5.1 interpreter (Argo CD's gopher-lua
speaks 5.1) against status objects shaped like the ones KServe writes, as each Argo CD receives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.platform import health
from tests.generator.golden import golden_dir

lua51 = pytest.importorskip("lupa.lua51", reason="lupa (a real Lua interpreter) is not installed")

STOPPED_FALSE = {"type": "Stopped", "status": "False", "severity": "Info"}


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({key: _to_lua(runtime, item) for key, item in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, item) for item in value])
    return value


def run_check(script: str, isvc: dict[str, Any]) -> dict[str, str]:
    """Argo CD's contract: the object is the global `obj`; the script returns {status, message}."""
    runtime = lua51.LuaRuntime()
    runtime.globals().obj = _to_lua(runtime, isvc)
    result = runtime.execute(script)
    return {"status": result["status"], "message": result["message"]}


def isvc(status: dict[str, Any] | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "jukebox", "namespace": "jukebox-dev"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "onnx"}}}},
    }
    if status is not None:
        document["status"] = status
    return document


def condition(kind: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    found = {"type": kind, "status": status, "lastTransitionTime": "2026-11-30T10:00:00Z"}
    if reason:
        found["reason"] = reason
    if message:
        found["message"] = message
    return found


# RawDeployment as kserve v0.20.0 PropagateRawStatus writes it: the predictor Deployment's conditions copied.
READY = {
    "conditions": [
        condition("IngressReady", "True"),
        condition("PredictorReady", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        condition("Ready", "True"),
        STOPPED_FALSE,
    ],
    "modelStatus": {
        "transitionStatus": "UpToDate",
        "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
        "copies": {"failedCopies": 0, "totalCopies": 1},
    },
    "url": "http://jukebox-jukebox-dev.apps.example.com",
}
STOPPED = {
    "conditions": [
        condition("PredictorReady", "False", "Stopped"),
        condition("Ready", "False", "Stopped"),
        {"type": "Stopped", "status": "True", "severity": "Info"},
    ]
}
# Pods not (yet) available: the same conditions while the model loads and once its load has failed.
UNAVAILABLE = [
    condition("IngressReady", "True"),
    condition(
        "PredictorReady", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
    ),
    condition("Ready", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
    STOPPED_FALSE,
]
LOADING = {
    "conditions": UNAVAILABLE,
    "modelStatus": {
        "transitionStatus": "InProgress",
        "states": {"activeModelState": "Pending", "targetModelState": "Loading"},
    },
}
FAILED_LOAD = {
    "conditions": UNAVAILABLE,
    "modelStatus": {
        "transitionStatus": "BlockedByFailedLoad",
        "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
        "lastFailureInfo": {
            "location": "jukebox-predictor-7c9d8b6f5-x2x7q",
            "reason": "ModelLoadFailed",
            "message": "Error: model /mnt/models/1/model.onnx: Unsupported operator TreeEnsembleClassifier",
            "exitCode": 1,
        },
    },
}
DEADLINE = {
    "conditions": [
        condition(
            "PredictorReady",
            "False",
            "ProgressDeadlineExceeded",
            'ReplicaSet "jukebox-predictor-7c9d" has timed out progressing.',
        ),
        condition("Ready", "False", "ProgressDeadlineExceeded"),
        STOPPED_FALSE,
    ]
}


@pytest.fixture(scope="module")
def script() -> str:
    return health.inferenceservice_check()


def test_a_serving_model_is_healthy_although_stopped_is_false(script: str) -> None:
    assert run_check(script, isvc(READY)) == {"status": "Healthy", "message": "InferenceService is ready"}


def test_a_stopped_model_is_suspended(script: str) -> None:
    assert run_check(script, isvc(STOPPED))["status"] == "Suspended"


def test_a_failed_model_load_is_degraded_with_kserves_message(script: str) -> None:
    result = run_check(script, isvc(FAILED_LOAD))
    assert result["status"] == "Degraded"
    assert "ModelLoadFailed" in result["message"] and "TreeEnsembleClassifier" in result["message"]


def test_a_model_state_failed_to_load_is_degraded(script: str) -> None:
    failed = {
        "conditions": UNAVAILABLE,
        "modelStatus": {
            "transitionStatus": "InProgress",
            "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
        },
    }
    result = run_check(script, isvc(failed))
    assert result == {"status": "Degraded", "message": "model FailedToLoad"}


def test_a_rollout_past_its_deadline_is_degraded(script: str) -> None:
    result = run_check(script, isvc(DEADLINE))
    assert result["status"] == "Degraded"
    assert "ProgressDeadlineExceeded" in result["message"]


def test_a_loading_model_is_progressing_not_degraded(script: str) -> None:
    result = run_check(script, isvc(LOADING))
    assert result["status"] == "Progressing"
    assert "MinimumReplicasUnavailable" in result["message"]


@pytest.mark.parametrize("status", [None, {}, {"conditions": []}, {"modelStatus": {"transitionStatus": "InProgress"}}])
def test_no_status_yet_is_progressing(script: str, status: dict[str, Any] | None) -> None:
    assert run_check(script, isvc(status))["status"] == "Progressing"


def test_a_knative_revision_failure_is_degraded(script: str) -> None:
    failed = {
        "conditions": [
            condition(
                "PredictorConfigurationReady", "False", "RevisionFailed", 'Revision "jukebox-predictor-00002" failed'
            ),
            condition("PredictorReady", "False", "RevisionFailed", 'Revision "jukebox-predictor-00002" failed'),
            condition("Ready", "False", "RevisionFailed"),
        ]
    }
    assert run_check(script, isvc(failed))["status"] == "Degraded"


def _delivered(path: Path, key: str) -> str:
    document = yaml.safe_load(path.read_text())
    if key == "argocd-cm":
        return str(document["data"][health.ARGOCD_CM_KEY])
    (check,) = [c for c in document["spec"]["resourceHealthChecks"] if c["kind"] == "InferenceService"]
    assert check["group"] == "serving.kserve.io"
    return str(check["check"])


@pytest.mark.parametrize(
    ("profile", "relative", "where"),
    [
        ("upstream", "platform/kind/argocd/configmap-argocd-cm-argocd.yaml", "argocd-cm"),
        ("rhoai-2.22", "platform/openshift/gitops/argocd-openshift-gitops.yaml", "ArgoCD CR"),
        ("rhoai-3.3", "platform/openshift/gitops/argocd-openshift-gitops.yaml", "ArgoCD CR"),
        ("rhoai-3.5", "platform/openshift/gitops/argocd-openshift-gitops.yaml", "ArgoCD CR"),
    ],
)
def test_each_argo_cd_receives_the_check_where_it_reads_it(profile: str, relative: str, where: str) -> None:
    delivered = _delivered(golden_dir(profile) / "manifests" / relative, where)
    assert run_check(delivered, isvc(READY))["status"] == "Healthy"
    assert run_check(delivered, isvc(FAILED_LOAD))["status"] == "Degraded"
