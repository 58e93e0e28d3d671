"""What a predictor pod receives: KServe's own storage-initializer code (kserve-storage 0.21.0, a dev
dependency) downloads the pinned version from the embedded SeaweedFS exactly as the storage-initializer
init container would (in a process of its own, as the container is), and OpenVINO loads the result as
OVMS does.

How the pod gets there (KServe and odh-model-controller source):
- `spec.predictor.model.storage {key, path}` becomes the init container's URI `s3://<bucket>/<path>`,
  the bucket from the storage-config entry (kserve/kserve pkg/credentials/service_account_credentials.go,
  `CreateStorageSpecSecretEnvs`: `fmt.Sprintf("%s://%s/%s", stype, bucket, path)`);
- the entry `storage.key` of Secret `storage-config`, written by odh-model-controller from the S3
  connection, is JSON with type, access_key_id, secret_access_key, endpoint_url, bucket, region
  (opendatahub-io/odh-model-controller internal/controller/core/testdata/secrets/storageconfig-cert-string.yaml),
  passed as $STORAGE_CONFIG, which kserve-storage turns into AWS_* variables (`_update_with_storage_spec`);
- the entrypoint calls `Storage.download_files([uri], ["/mnt/models"])`; `_download_s3` downloads every
  object whose key starts with the path and strips the path from it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from release.flow import PinRequest, ReleaseRequest, pin, release
from release.local import LocalServices

from .conftest import Lines, s3_client

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DOWNLOAD = "import sys; from kserve_storage import Storage; Storage.download_files([sys.argv[1]], [sys.argv[2]])"


@pytest.fixture(scope="module")
def kserve_python() -> Path:
    if importlib.util.find_spec("kserve_storage") is None:
        pytest.skip("kserve-storage is not installed (a dev dependency): run ./scripts/bootstrap")
    return Path(sys.executable)


def _storage_initializer(python: Path, services: LocalServices, uri: str, out: Path) -> set[str]:
    """Run KServe's download into `out` as the init container does; returns the relative paths it wrote."""
    storage_config = {
        "type": "s3",
        "access_key_id": services.access_key,
        "secret_access_key": services.secret_key,
        "endpoint_url": services.s3_endpoint,
        "bucket": "models",
        "default_bucket": "models",
        "region": services.region,
    }
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(out.parent), "STORAGE_CONFIG": json.dumps(storage_config)}
    done = subprocess.run(
        [str(python), "-c", DOWNLOAD, uri, str(out)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def _ovms_version_dir(model_dir: Path) -> Path:
    """The directory OVMS serves: the highest numeric subdirectory."""
    return max((p for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def test_a_pod_pinned_to_0_0_1_gets_exactly_0_0_1_with_0_0_10_and_0_0_11_published(
    kserve_python: Path,
    env: LocalServices,
    spec_path: Path,
    trained_model: Path,
    make_model: Callable[..., Path],
    tmp_path: Path,
) -> None:
    import openvino as ov

    first = Path(shutil.copytree(trained_model, tmp_path / "trained"))
    for version, model in (("0.0.1", first), ("0.0.10", make_model(seed=10)), ("0.0.11", make_model(seed=11))):
        release(ReleaseRequest(spec_path, model_dir=model, version=version, force=True, progress=False), Lines())
    pin(PinRequest(spec_path, "dev", "0.0.1"), Lines())
    name = spec_path.stem
    isvc_file = spec_path.parent.parent / "manifests" / name / "overlays" / "dev" / "inferenceservice.yaml"
    storage = yaml.safe_load(isvc_file.read_text())["spec"]["predictor"]["model"]["storage"]
    assert storage == {"key": "aws-connection-models", "path": f"{name}/0.0.1/"}
    manifest = json.loads(s3_client(env).get_object(Bucket="models", Key=f"{name}/0.0.1/release.json")["Body"].read())

    pod = tmp_path / "pod" / "mnt-models"
    received = _storage_initializer(kserve_python, env, f"s3://models/{storage['path']}", pod)
    assert received == {*manifest["files"], "release.json"}  # 0.0.1's files and its manifest, nothing else
    for rel, entry in manifest["files"].items():
        assert hashlib.sha256((pod / rel).read_bytes()).hexdigest() == entry["sha256"], rel
    served = _ovms_version_dir(pod)
    assert served.name == "1"
    assert hashlib.sha256((served / "model.onnx").read_bytes()).hexdigest() == manifest["sha256"]
    assert manifest["sha256"] == hashlib.sha256((first / "1" / "model.onnx").read_bytes()).hexdigest()
    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(served / "model.onnx")), "CPU")
    labels = json.loads((pod / "labels.json").read_text())
    assert compiled.outputs[0].get_partial_shape()[1].get_length() == len(labels)

    # The same download without the trailing '/' (what the manifests said before): the other versions leak in.
    leaky = tmp_path / "pod-without-slash" / "mnt-models"
    leaked = _storage_initializer(kserve_python, env, f"s3://models/{name}/0.0.1", leaky)
    assert {"0/1/model.onnx", "1/1/model.onnx", "0/labels.json", "1/labels.json"} <= leaked  # 0.0.10 and 0.0.11
    assert leaked != received
