"""Credentials of a step running in a pipeline pod, read at run time, never compiled into the pipeline.

S3: the environment's connection Secret `aws-connection-<storage.connection>` (the keys an OpenShift AI
connection holds), read through the Kubernetes API with the pod's service account. The pipeline server's
runner account may get and list Secrets of its namespace (data-science-pipelines-operator's
`role_pipeline-runner.yaml.tmpl`, in rhods-operator prefetched-manifests/datasciencepipelines on rhoai-2.22,
3.3 and 3.5). This is used instead of kfp-kubernetes' `use_secret_as_env` because that writes a
`platformSpec` into the PipelineVersion, a field the rhoai-2.22 PipelineVersion CRD does not have.
Registry: the URL of the run's `registry_url` parameter and the pod's service-account token.
Outside a pod nothing is added: the usual options, variables or local services apply.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path

from generator.names import s3_connection_secret_name
from generator.spec import Spec
from jukebox.errors import InputError, ServiceError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
CONNECTION_KEYS = (
    "AWS_S3_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_BUCKET",
    "AWS_DEFAULT_REGION",
)


def in_pod(env: Mapping[str, str], account_dir: Path = SERVICE_ACCOUNT_DIR) -> bool:
    return bool(env.get("KUBERNETES_SERVICE_HOST")) and (account_dir / "namespace").is_file()


def connection_environment(
    spec: Spec, registry_url: str, env: Mapping[str, str] | None = None, account_dir: Path = SERVICE_ACCOUNT_DIR
) -> dict[str, str]:
    """`env` (default: os.environ) plus, in a pod, the S3 connection and the registry token."""
    merged = dict(os.environ if env is None else env)
    if not in_pod(merged, account_dir):
        return merged
    if not (registry_url or merged.get("JUKEBOX_REGISTRY_URL")):
        raise InputError(
            "pipeline parameter registry_url is empty: pass --registry-url (or JUKEBOX_REGISTRY_URL) to "
            "`jukebox pipeline run`, or set the spec's pipelines.registryUrl"
        )
    if not merged.get("AWS_S3_ENDPOINT"):
        namespace = (account_dir / "namespace").read_text(encoding="utf-8").strip()
        merged.update(read_secret(s3_connection_secret_name(spec), namespace, CONNECTION_KEYS))
    token = account_dir / "token"
    if token.is_file() and not merged.get("JUKEBOX_REGISTRY_TOKEN"):
        merged.setdefault("JUKEBOX_REGISTRY_TOKEN_FILE", str(token))
    service_ca = account_dir / "service-ca.crt"  # signs in-cluster https Services (OpenShift)
    if service_ca.is_file():
        merged.setdefault("JUKEBOX_REGISTRY_CA_FILE", str(service_ca))
    return merged


def read_secret(name: str, namespace: str, keys: tuple[str, ...]) -> dict[str, str]:
    """The `keys` present in Secret `namespace/name`, decoded (in-cluster configuration)."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
        secret = client.CoreV1Api().read_namespaced_secret(name, namespace)
    except Exception as error:  # the client raises ApiException, ConfigException, urllib3 errors
        reason = getattr(error, "reason", None) or str(error).splitlines()[0]
        raise ServiceError(f"reading Secret {namespace}/{name} (the S3 connection) failed: {reason}") from None
    return decode_secret_data(secret.data or {}, keys, f"{namespace}/{name}")


def decode_secret_data(data: Mapping[str, str], keys: tuple[str, ...], where: str) -> dict[str, str]:
    values = {key: base64.b64decode(data[key]).decode("utf-8") for key in keys if key in data}
    missing = [key for key in ("AWS_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if key not in values]
    if missing:
        raise InputError(f"Secret {where} has no {', '.join(missing)} (`jukebox secrets --spec FILE` lists its keys)")
    return values
