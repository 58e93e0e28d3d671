"""NetworkPolicies: ingress denied by default in every generated namespace, then only what is needed.

Egress stays open: the storage initializer must reach S3 and pods need DNS; see docs/security.md.
"""

from __future__ import annotations

from typing import Any

from generator.environments import EnvironmentView
from generator.names import MINIO_API_PORT, MINIO_UI_PORT
from generator.objects.common import WAVE_RBAC, Manifest, wave
from generator.objects.storage import BUCKET_JOB, MINIO_LABELS
from generator.spec import Spec

# Namespace labels OpenShift sets on its router and monitoring namespaces.
OPENSHIFT_INGRESS = {"namespaceSelector": {"matchLabels": {"network.openshift.io/policy-group": "ingress"}}}
OPENSHIFT_MONITORING = {"namespaceSelector": {"matchLabels": {"network.openshift.io/policy-group": "monitoring"}}}
SERVERLESS_NAMESPACES = ("istio-system", "knative-serving", "knative-serving-ingress")


def namespaces_peer(names: list[str]) -> dict[str, Any]:
    return {
        "namespaceSelector": {
            "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(names)}]
        }
    }


def _policy(path: str, name: str, pod_selector: dict[str, Any], ingress: list[dict[str, Any]]) -> Manifest:
    return Manifest(
        path=path,
        kind="NetworkPolicy",
        name=name,
        context={"annotations": wave(WAVE_RBAC), "pod_selector": pod_selector, "ingress": ingress},
    )


def default_deny(path: str) -> Manifest:
    return _policy(path, "default-deny-ingress", {}, [])


def environment_policies(env: EnvironmentView, root: str) -> list[Manifest]:
    spec = env.spec
    if not spec.security.network_policies:
        return []
    model_pods = {"matchLabels": {"serving.kserve.io/inferenceservice": spec.model.name}}
    callers = [OPENSHIFT_INGRESS, OPENSHIFT_MONITORING] if spec.profile.openshift else []
    extra = list(spec.security.allow_from_namespaces)
    if env.serving.deployment_mode == "Serverless":
        extra += SERVERLESS_NAMESPACES
    if extra:
        callers.append(namespaces_peer(extra))
    policies = [
        default_deny(f"{root}/networkpolicy-default-deny-ingress.yaml"),
        # Workbenches and pipelines of the project talk to each other and to the model.
        _policy(
            f"{root}/networkpolicy-allow-same-namespace.yaml",
            "allow-same-namespace",
            {},
            [{"from": [{"podSelector": {}}]}],
        ),
    ]
    # An ingress rule with no peers would admit everyone: without callers there is no such policy.
    if callers:
        policies.append(
            _policy(
                f"{root}/networkpolicy-allow-model-callers.yaml", "allow-model-callers", model_pods, [{"from": callers}]
            )
        )
    return policies


def pipelines_operator_peer(spec: Spec) -> dict[str, Any] | None:
    """The Data Science Pipelines operator's pod, when the spec has a pipeline server: the operator checks the
    DSPA's object storage from its own namespace before it deploys the server (generator/profiles.py)."""
    operator = spec.profile.pipelines_operator
    if spec.pipelines is None or operator is None:
        return None
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": operator.namespace}},
        "podSelector": {"matchLabels": dict(operator.pod_labels)},
    }


def storage_policies(spec: Spec, environment_namespaces: list[str], root: str) -> list[Manifest]:
    if not spec.security.network_policies:
        return []
    minio_pods = {"matchLabels": MINIO_LABELS}
    api_port = [{"port": MINIO_API_PORT, "protocol": "TCP"}]
    ui_port = [{"port": MINIO_UI_PORT, "protocol": "TCP"}]
    bucket_job = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": BUCKET_JOB}}}
    clients = namespaces_peer([*environment_namespaces, *spec.security.allow_from_namespaces])
    # Pipeline pods (API server, persistence agent, workflow pods) run in an environment namespace: `clients`.
    api_peers = [clients, bucket_job]
    operator = pipelines_operator_peer(spec)
    if operator is not None:
        api_peers.append(operator)
    policies = [
        default_deny(f"{root}/networkpolicy-default-deny-ingress.yaml"),
        _policy(
            f"{root}/networkpolicy-allow-minio-api.yaml",
            "allow-minio-api",
            minio_pods,
            [{"from": api_peers, "ports": api_port}],
        ),
    ]
    if spec.profile.routes:
        policies.append(
            _policy(
                f"{root}/networkpolicy-allow-minio-routes.yaml",
                "allow-minio-routes",
                minio_pods,
                [{"from": [OPENSHIFT_INGRESS], "ports": api_port + ui_port}],
            )
        )
    return policies
