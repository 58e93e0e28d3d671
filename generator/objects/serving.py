"""Model serving objects: the OVMS ServingRuntime (base) and the pinned InferenceService (overlay)."""

from __future__ import annotations

import json
from typing import Any

from generator.environments import EnvironmentView, serving_resources
from generator.names import exact_storage_path, s3_connection_secret_name
from generator.objects.common import (
    DASHBOARD_LABEL,
    SPEC_ANNOTATION_PREFIX,
    WAVE_INFERENCE_SERVICE,
    WAVE_SERVING_RUNTIME,
    Manifest,
    restricted_container_security,
    wave,
)
from generator.profiles import OvmsRuntime
from generator.spec import Runtime, Serving, Spec

OVMS_REST_PORT = 8888
OVMS_GRPC_PORT = 8001
F32_PLUGIN_CONFIG = json.dumps({"INFERENCE_PRECISION_HINT": "f32"}, separators=(",", ":"))


def ovms_args(runtime: Runtime, ovms: OvmsRuntime) -> list[str]:
    """The release template's args in its order, then the f32 precision hint."""
    args = [
        "--model_name={{.Name}}",  # literal: KServe substitutes the InferenceService name
        f"--port={OVMS_GRPC_PORT}",
        f"--rest_port={OVMS_REST_PORT}",
        "--model_path=/mnt/models",
        "--file_system_poll_wait_seconds=0",
        *ovms.extra_args,
        "--metrics_enable",
    ]
    if runtime.f32_precision:
        args.append(f"--plugin_config={F32_PLUGIN_CONFIG}")
    return args


def _runtime_annotations(spec: Spec, ovms: OvmsRuntime) -> dict[str, str]:
    annotations = {
        **wave(WAVE_SERVING_RUNTIME),
        "opendatahub.io/apiProtocol": "REST",
        "opendatahub.io/template-display-name": "OpenVINO Model Server",
        "opendatahub.io/template-name": "kserve-ovms",
        "openshift.io/display-name": spec.model.name,
    }
    if ovms.runtime_version:
        annotations["opendatahub.io/runtime-version"] = ovms.runtime_version
    return annotations


def _ovms_security(ovms: OvmsRuntime, fixed_uids: bool) -> dict[str, Any]:
    security = restricted_container_security()
    if fixed_uids and ovms.run_as_user is not None:
        security.update({"runAsUser": ovms.run_as_user, "runAsGroup": ovms.run_as_user})
    return security


def servingruntime_context(spec: Spec, runtime: Runtime) -> dict[str, Any]:
    profile = spec.profile
    ovms = profile.ovms
    return {
        "labels": dict(DASHBOARD_LABEL),
        "annotations": _runtime_annotations(spec, ovms),
        "pod_annotations": {
            "prometheus.io/path": "/metrics",
            "prometheus.io/port": str(OVMS_REST_PORT),
            **ovms.pod_annotations,
        },
        "protocol_versions": ["v2", "grpc-v2"],
        "model_formats": [{"name": "onnx", "version": "1"}],
        "image": runtime.image or ovms.image,
        "args": ovms_args(runtime, ovms),
        "ports": [{"containerPort": OVMS_REST_PORT, "protocol": "TCP"}],
        "container_security": _ovms_security(ovms, profile.fixed_uids),
        "volume_mounts": [{"mountPath": "/dev/shm", "name": "shm"}, {"mountPath": "/tmp", "name": "tmp"}],
        "volumes": [
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        ],
    }


def servingruntime(spec: Spec, path: str) -> Manifest:
    return Manifest(
        path=path,
        kind="ServingRuntime",
        name=spec.model.name,
        context=servingruntime_context(spec, spec.serving.runtime),
    )


def inferenceservice_labels(env: EnvironmentView) -> dict[str, str]:
    labels = dict(DASHBOARD_LABEL)
    if env.serving.deployment_mode == "RawDeployment" and env.serving.external_route:
        labels["networking.kserve.io/visibility"] = "exposed"
    if env.serving.deployment_mode == "Serverless" and not env.serving.external_route:
        labels["networking.knative.dev/visibility"] = "cluster-local"
    if env.pin is not None:
        labels["modelregistry.opendatahub.io/registered-model-id"] = env.pin.registry.registered_model_id
        labels["modelregistry.opendatahub.io/model-version-id"] = env.pin.registry.model_version_id
        labels["modelregistry.opendatahub.io/name"] = env.pin.registry.name
    return labels


def inferenceservice_annotations(env: EnvironmentView) -> dict[str, str]:
    serving: Serving = env.serving
    profile = env.spec.profile
    annotations = {
        **wave(WAVE_INFERENCE_SERVICE),
        "openshift.io/display-name": env.spec.model.display_name,
        # The value this release's KServe keeps: a value its webhook rewrites would stay OutOfSync.
        "serving.kserve.io/deploymentMode": profile.deployment_modes[serving.deployment_mode],
    }
    if serving.deployment_mode == "Serverless":
        annotations.update(
            {
                "serving.knative.openshift.io/enablePassthrough": "true",
                "sidecar.istio.io/inject": "true",
                "sidecar.istio.io/rewriteAppHTTPProbers": "true",
            }
        )
    if serving.token_auth or profile.enable_auth_always:
        # 3.x dashboards write 'false' as well; writing it keeps Argo CD and the dashboard in agreement.
        annotations["security.opendatahub.io/enable-auth"] = "true" if serving.token_auth else "false"
    if env.pin is not None:
        annotations[f"{SPEC_ANNOTATION_PREFIX}/model-version"] = env.pin.version
        annotations[f"{SPEC_ANNOTATION_PREFIX}/model-sha256"] = env.pin.artifact.sha256
    return annotations


def inferenceservice(env: EnvironmentView, path: str) -> Manifest | None:
    """The pinned model's InferenceService; None while nothing is pinned (see README)."""
    if env.pin is None:
        return None
    return Manifest(
        path=path,
        kind="InferenceService",
        name=env.spec.model.name,
        context={
            "labels": inferenceservice_labels(env),
            "annotations": inferenceservice_annotations(env),
            "min_replicas": env.serving.replicas.min,
            "max_replicas": env.serving.replicas.max,
            "runtime": env.spec.model.name,
            "storage_key": s3_connection_secret_name(env.spec),
            "storage_path": exact_storage_path(env.pin.artifact.storage_path),
            "resources": serving_resources(env.serving),
        },
    )
