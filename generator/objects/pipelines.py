"""Data Science Pipelines in the spec's `pipelines.environment`: the pipeline server, the compiled pipeline,
and (optional) the CronJob that submits runs on a schedule. docs/pipelines.md has the facts and sources.

- DataSciencePipelinesApplication `dspa` (`datasciencepipelinesapplications.opendatahub.io/v1`, the same
  fields on rhoai-2.22/3.3/3.5): `dspVersion: v2`, pipelines stored as Kubernetes objects, artifacts in the
  spec's S3 (the in-cluster MinIO Service) with the connection Secret's keys. The operator splits the
  endpoint into host/scheme/port (data-science-pipelines-operator controllers/dspipeline_params.go,
  SetupObjectParams: `Endpoint = scheme://host:port`).
- Pipeline + PipelineVersion: kfp's `kubernetes_manifest_format` output (`pipelines.compiled`), the version
  named by the hash of the compiled IR. The server's webhook refuses changes to a version's spec and needs
  its Pipeline first (kubeflow/pipelines backend/src/crd/kubernetes/v2beta1 pipelineversion webhook).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from generator.environments import EnvironmentView
from generator.objects.common import (
    WAVE_PIPELINE,
    WAVE_PIPELINE_SERVER,
    WAVE_PIPELINE_VERSION,
    WAVE_RBAC,
    Manifest,
    resources,
    restricted_container_security,
    restricted_pod_security,
    role_ref,
    wave,
)
from generator.pin_file import pin_path
from generator.spec import Spec

DSPA_NAME = "dspa"  # the name the OpenShift AI dashboard gives the project's pipeline server
# The account the operator runs pipeline steps as (rhods-operator rhoai-2.22/3.3/3.5
# prefetched-manifests/datasciencepipelines/internal/apiserver/default/sa_pipeline-runner.yaml.tmpl).
PIPELINE_RUNNER_ACCOUNT = f"pipeline-runner-{DSPA_NAME}"
S3_KEYS = {"accessKey": "AWS_ACCESS_KEY_ID", "secretKey": "AWS_SECRET_ACCESS_KEY"}  # of aws-connection-<name>
SCHEDULER = "pipeline-scheduler"
SCHEDULE_SPEC_DIR = "/etc/jukebox/specs"
TOKEN_DIR = "/var/run/secrets/jukebox"
SERVICE_CA_CONFIGMAP = "openshift-service-ca.crt"  # published into every namespace by OpenShift's service CA
SERVICE_CA_DIR = "/etc/jukebox/service-ca"


def is_pipelines_environment(env: EnvironmentView) -> bool:
    return env.spec.pipelines is not None and env.spec.pipelines.environment == env.name


def _labels(spec: Spec) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": spec.model.name, "app.kubernetes.io/component": "pipelines"}


def api_server_url(namespace: str) -> str:
    """The pipeline server's in-cluster URL: Service `ds-pipeline-<dspa>`, port 8443 (its auth proxy)."""
    return f"https://ds-pipeline-{DSPA_NAME}.{namespace}.svc.cluster.local:8443"


def external_storage(spec: Spec) -> dict[str, Any]:
    from generator.names import s3_connection_secret_name, s3_endpoint_in_cluster

    assert spec.pipelines is not None
    endpoint = urlsplit(s3_endpoint_in_cluster(spec))
    storage: dict[str, Any] = {
        "bucket": spec.pipelines.bucket,
        "host": endpoint.hostname,
        "region": spec.storage.region,
        "scheme": endpoint.scheme,
        "s3CredentialsSecret": {"secretName": s3_connection_secret_name(spec), **S3_KEYS},
    }
    if endpoint.port is not None:
        storage["port"] = str(endpoint.port)
    return storage


def pipeline_server(env: EnvironmentView, path: str) -> Manifest:
    spec = env.spec
    return Manifest(
        path=path,
        kind="DataSciencePipelinesApplication",
        name=DSPA_NAME,
        context={
            "labels": _labels(spec),
            "annotations": wave(WAVE_PIPELINE_SERVER),
            "spec": {
                "dspVersion": "v2",
                "apiServer": {"pipelineStore": "kubernetes", "enableSamplePipeline": False},
                "objectStorage": {"externalStorage": external_storage(spec)},
            },
        },
    )


def compiled_pipeline(env: EnvironmentView, root: str) -> list[Manifest]:
    """The Pipeline and its current PipelineVersion, as kfp compiles them."""
    from pipelines.compiled import compile_for_kubernetes
    from pipelines.definition import settings_for

    compiled = compile_for_kubernetes(settings_for(env.spec))
    objects = []
    for document, step in ((compiled.pipeline, WAVE_PIPELINE), (compiled.version, WAVE_PIPELINE_VERSION)):
        kind, name = document["kind"], document["metadata"]["name"]
        objects.append(
            Manifest(
                path=f"{root}/{kind.lower()}-{name}.yaml",
                kind=kind,
                name=name,
                context={"labels": _labels(env.spec), "annotations": wave(step), "spec": document["spec"]},
            )
        )
    return objects


def pipelines_objects(env: EnvironmentView, root: str) -> list[Manifest]:
    if not is_pipelines_environment(env):
        return []
    return [
        pipeline_server(env, f"{root}/datasciencepipelinesapplication.yaml"),
        *compiled_pipeline(env, root),
        *schedule_objects(env, root),
    ]


# -- the schedule: a CronJob running `jukebox pipeline run` -------------------------------------------


def schedule_objects(env: EnvironmentView, root: str) -> list[Manifest]:
    spec = env.spec
    if spec.pipelines is None or spec.pipelines.schedule is None:
        return []
    return [
        _schedule_inputs(env, f"{root}/configmap-{SCHEDULER}.yaml"),
        _scheduler_account(spec, f"{root}/serviceaccount-{SCHEDULER}.yaml"),
        _scheduler_binding(spec, f"{root}/rolebinding-{SCHEDULER}.yaml"),
        _cronjob(env, f"{root}/cronjob-{SCHEDULER}.yaml"),
    ]


def _spec_file(spec_stem: str) -> str:
    return f"{spec_stem}.yaml"


def _schedule_inputs(env: EnvironmentView, path: str) -> Manifest:
    """The spec and the environment's pin as the command reads them (the cluster has no git checkout); a new
    pin changes this ConfigMap, so the next scheduled run gates against it."""
    from pipelines.steps import spec_to_json

    data = {"spec.yaml": spec_to_json(env.spec) + "\n"}
    if env.pin is not None:
        data["pin.yaml"] = env.pin.model_dump_json(by_alias=True) + "\n"
    return Manifest(
        path=path,
        kind="ConfigMap",
        name=SCHEDULER,
        context={"labels": _labels(env.spec), "annotations": wave(WAVE_RBAC), "data": data},
    )


def _scheduler_account(spec: Spec, path: str) -> Manifest:
    return Manifest(path=path, kind="ServiceAccount", name=SCHEDULER, context={"labels": _labels(spec)})


def _scheduler_binding(spec: Spec, path: str) -> Manifest:
    """May call the pipeline server's API: the operator's `ds-pipeline-user-access-<dspa>` Role (verbs on
    `datasciencepipelinesapplications/api`, which its kube-rbac-proxy checks)."""
    return Manifest(
        path=path,
        kind="RoleBinding",
        name=SCHEDULER,
        context={
            "labels": _labels(spec),
            "annotations": wave(WAVE_PIPELINE),
            "role_ref": role_ref("Role", f"ds-pipeline-user-access-{DSPA_NAME}"),
            "subjects": [{"kind": "ServiceAccount", "name": SCHEDULER}],
        },
    )


def schedule_command(env: EnvironmentView) -> list[str]:
    spec = env.spec
    assert spec.pipelines is not None and spec.pipelines.schedule is not None
    data = spec.pipelines.schedule.data or spec.pipelines.data
    spec_path = f"{SCHEDULE_SPEC_DIR}/{_spec_file(spec.model.name)}"
    return [
        "jukebox",
        "pipeline",
        "run",
        f"--spec={spec_path}",
        f"--env={env.name}",
        f"--data={data}",
        f"--endpoint={api_server_url(env.namespace)}",
        f"--token-file={TOKEN_DIR}/token",
        f"--server-ca-file={SERVICE_CA_DIR}/service-ca.crt",
    ]


def _cronjob(env: EnvironmentView, path: str) -> Manifest:
    spec = env.spec
    assert spec.pipelines is not None and spec.pipelines.schedule is not None
    labels = {**_labels(spec), "app.kubernetes.io/name": SCHEDULER}
    # The files as `jukebox pipeline run --spec` finds them: <stem>.yaml and <stem>.pins/<env>.yaml beside it.
    spec_file = _spec_file(spec.model.name)
    items = [{"key": "spec.yaml", "path": spec_file}]
    if env.pin is not None:
        items.append({"key": "pin.yaml", "path": pin_path(Path(spec_file), env.name).as_posix()})
    return Manifest(
        path=path,
        kind="CronJob",
        name=SCHEDULER,
        context={
            "labels": labels,
            "annotations": wave(WAVE_PIPELINE_VERSION),
            "schedule": spec.pipelines.schedule.cron,
            "backoff_limit": 1,
            "pod_labels": labels,
            "service_account": SCHEDULER,
            "pod_security": restricted_pod_security(),
            "containers": [
                {
                    "name": SCHEDULER,
                    "image": spec.pipelines.image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": schedule_command(env),
                    "env": [
                        {"name": "HOME", "value": "/tmp"},
                        {"name": "JUKEBOX_REGISTRY_URL", "value": spec.pipelines.registry_url},
                    ],
                    "resources": resources("100m", "256Mi", "500m", "1Gi"),
                    "securityContext": restricted_container_security(),
                    "volumeMounts": [
                        {"name": "inputs", "mountPath": SCHEDULE_SPEC_DIR, "readOnly": True},
                        {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
                        {"name": "service-ca", "mountPath": SERVICE_CA_DIR, "readOnly": True},
                        {"name": "tmp", "mountPath": "/tmp"},
                    ],
                }
            ],
            "volumes": [
                {"name": "inputs", "configMap": {"name": SCHEDULER, "items": items}},
                # A short-lived token of the scheduler's account, for the API only (no automounted token).
                {
                    "name": "token",
                    "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]},
                },
                {"name": "service-ca", "configMap": {"name": SERVICE_CA_CONFIGMAP}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            ],
        },
    )
