"""End to end on kind: provision, release into the in-cluster MinIO + registry, serve, query, roll back.

Opt in with `--e2e`; skipped (never failed) without a Docker engine. Not run on this project's CI machines
(no Docker engine there); see docs/provisioning.md for what was run for real.

The cluster syncs from an in-cluster git server (smart HTTP over TLS, self-signed; Argo CD's repository
is registered with `--git-insecure`) holding a copy of this repo, so pins committed here reach Argo CD.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.generator.golden import PROFILE_SPECS
from tests.generator.helpers import deep_merge
from training.features import FEATURES as TRAINING_FEATURES

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
GIT_NS = "jukebox-e2e-git"
GIT_URL = f"https://git-server.{GIT_NS}.svc.cluster.local/git/jukebox.git"
FEATURES = list(TRAINING_FEATURES)
SONG = [0, 210000, 0.64, 0.7, 5, -6.0, 1, 0.05, 0.1, 0.0, 0.12, 0.5, 120.0]
# OpenVINO Model Server for kind: the upstream profile's image by default; override with one pinned by digest,
# e.g. JUKEBOX_E2E_OVMS_IMAGE=docker.io/openvino/model_server:2026.1@sha256:<digest>.
OVMS_IMAGE = os.environ.get("JUKEBOX_E2E_OVMS_IMAGE")
ARGOCD_NS = PROFILE_SPECS["upstream"]["gitops"]["argocdNamespace"]

# A tiny smart-HTTP git server: Python's CGI handler running `git http-backend`, behind TLS.
GIT_SERVER = """
import http.server, os, ssl
os.environ.update(GIT_PROJECT_ROOT="/srv/git", GIT_HTTP_EXPORT_ALL="1")
class H(http.server.CGIHTTPRequestHandler):
    cgi_directories = ["/git"]
    def is_cgi(self):
        if not self.path.startswith("/git/"):
            return False
        self.cgi_info = ("/git", "backend" + self.path[len("/git"):])
        return True
os.makedirs("/srv/cgi/git", exist_ok=True)
if not os.path.exists("/srv/cgi/git/backend"):
    os.symlink("/usr/libexec/git-core/git-http-backend", "/srv/cgi/git/backend")
os.chdir("/srv/cgi")
server = http.server.ThreadingHTTPServer(("0.0.0.0", 8443), H)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("/tls/tls.crt", "/tls/tls.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


def run(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 1800) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def port_forward(kubeconfig: Path, namespace: str, target: str, port: int) -> Iterator[int]:
    local = free_port()
    process = subprocess.Popen(
        [
            shutil.which("kubectl") or str(REPO / ".venv/bin/kubectl"),
            "--kubeconfig",
            str(kubeconfig),
            "-n",
            namespace,
            "port-forward",
            target,
            f"{local}:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), timeout=1):
                break
            time.sleep(0.5)
        yield local
    finally:
        process.terminate()
        process.wait(timeout=10)


def kubectl(cluster: Any, *args: str, stdin: str | None = None) -> str:
    return str(cluster.kubectl(*args, input=stdin) if stdin is not None else cluster.kubectl(*args))


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key, crt = tmp / "tls.key", tmp / "tls.crt"
    run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=git-server",
        "-addext",
        f"subjectAltName=DNS:git-server.{GIT_NS}.svc.cluster.local",
        "-keyout",
        str(key),
        "-out",
        str(crt),
    )
    return key, crt


def start_git_server(cluster: Any, tmp: Path) -> None:
    key, crt = self_signed(tmp)
    kubectl(cluster, "create", "namespace", GIT_NS)
    kubectl(cluster, "-n", GIT_NS, "create", "secret", "tls", "git-tls", f"--cert={crt}", f"--key={key}")
    kubectl(cluster, "-n", GIT_NS, "create", "configmap", "git-server", f"--from-literal=server.py={GIT_SERVER}")
    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "git-server", "namespace": GIT_NS},
                "spec": {
                    "selector": {"matchLabels": {"app": "git-server"}},
                    "template": {
                        "metadata": {"labels": {"app": "git-server"}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "git",
                                    "image": "python:3.11-alpine",
                                    "command": [
                                        "sh",
                                        "-c",
                                        "apk add --no-cache git >/dev/null && mkdir -p /srv/git && "
                                        "python /app/server.py",
                                    ],
                                    "ports": [{"containerPort": 8443}],
                                    "volumeMounts": [
                                        {"name": "app", "mountPath": "/app"},
                                        {"name": "tls", "mountPath": "/tls"},
                                    ],
                                }
                            ],
                            "volumes": [
                                {"name": "app", "configMap": {"name": "git-server"}},
                                {"name": "tls", "secret": {"secretName": "git-tls"}},
                            ],
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "git-server", "namespace": GIT_NS},
                "spec": {"selector": {"app": "git-server"}, "ports": [{"port": 443, "targetPort": 8443}]},
            },
        ],
    }
    kubectl(cluster, "apply", "-f", "-", stdin=json.dumps(manifest))
    kubectl(cluster, "-n", GIT_NS, "rollout", "status", "deployment/git-server", "--timeout=300s")


def publish(cluster: Any, work: Path) -> None:
    """Copy the work repo as a bare repository into the git server (what `git push` would do)."""
    bare = work.parent / "jukebox.git"
    shutil.rmtree(bare, ignore_errors=True)
    run("git", "clone", "--bare", "--quiet", str(work), str(bare))
    run("git", "--git-dir", str(bare), "update-server-info")
    pod = kubectl(cluster, "-n", GIT_NS, "get", "pods", "-l", "app=git-server", "-o", "name").split()[0]
    kubectl(cluster, "-n", GIT_NS, "exec", pod, "--", "rm", "-rf", "/srv/git/jukebox.git")
    kubectl(cluster, "-n", GIT_NS, "cp", str(bare), f"{pod.split('/')[1]}:/srv/git/jukebox.git")


def work_repo(tmp: Path, seed: int) -> Path:
    work = tmp / "work"
    run("git", "clone", "--quiet", str(REPO), str(work))
    spec_path = work / "specs" / "jukebox.yaml"
    # The kind target needs the upstream profile (KServe v0.20.0, Argo CD v3.5.1).
    spec = deep_merge(yaml.safe_load(spec_path.read_text()), PROFILE_SPECS["upstream"])
    spec["gitops"]["repoURL"] = GIT_URL
    spec.setdefault("training", {})["seed"] = seed
    if OVMS_IMAGE:
        spec["serving"]["runtime"]["image"] = OVMS_IMAGE  # the documented digest override
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    for other in (work / "specs").glob("*.yaml"):
        if other != spec_path:
            other.unlink()
    env = {**os.environ, "PATH": f"{REPO / '.venv/bin'}:{os.environ['PATH']}"}
    run(str(REPO / ".venv/bin/jukebox"), "render", "--root", str(work), env=env)
    commit(work, "e2e: spec for kind")
    return work


def commit(work: Path, message: str) -> None:
    run("git", "-C", str(work), "add", "-A")
    run(
        "git",
        "-C",
        str(work),
        "-c",
        "user.name=e2e",
        "-c",
        "user.email=e2e@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        message,
    )


def refresh(cluster: Any, app: str) -> None:
    kubectl(
        cluster,
        "-n",
        ARGOCD_NS,
        "annotate",
        "--overwrite",
        f"application/{app}",
        "argocd.argoproj.io/refresh=hard",
    )


def wait_ready(cluster: Any, namespace: str, version: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = kubectl(
            cluster, "-n", namespace, "get", "inferenceservice", "jukebox", "-o", "json", "--ignore-not-found"
        )
        isvc = json.loads(raw) if raw.strip() else {}
        pinned = isvc.get("metadata", {}).get("annotations", {}).get("jukebox.rhoai-mlops.io/model-version")
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in isvc.get("status", {}).get("conditions", [])
        )
        if pinned == version and ready:
            kubectl(cluster, "-n", namespace, "rollout", "status", "deployment/jukebox-predictor", "--timeout=300s")
            return
        time.sleep(10)
    pytest.fail(
        f"InferenceService {namespace}/jukebox not Ready on {version} within {timeout:.0f}s:\n"
        + kubectl(cluster, "-n", namespace, "get", "events", "--sort-by=.lastTimestamp")
    )


def predict(cluster: Any) -> list[float]:
    body = {
        "inputs": [
            {"name": n, "shape": [1, 1], "datatype": "FP32", "data": [float(v)]}
            for n, v in zip(FEATURES, SONG, strict=True)
        ]
    }
    with port_forward(cluster.kubeconfig_path, "jukebox-dev", "service/jukebox-predictor", 80) as port:
        response = requests.post(f"http://127.0.0.1:{port}/v2/models/jukebox/infer", json=body, timeout=30)
    response.raise_for_status()
    answer = response.json()
    assert answer["model_name"] == "jukebox"
    output = answer["outputs"][0]
    assert output["datatype"] == "FP32" and output["shape"][0] == 1
    return [float(x) for x in output["data"]]


@contextlib.contextmanager
def services(cluster: Any, secrets: dict[str, str]) -> Iterator[tuple[dict[str, str], list[str]]]:
    """Port-forwards to the in-cluster MinIO and registry; the env and options `jukebox release|pin` need."""
    with (
        port_forward(cluster.kubeconfig_path, "jukebox-minio", "service/minio", 9000) as s3,
        port_forward(cluster.kubeconfig_path, "rhoai-model-registries", "service/jukebox-registry", 8080) as mr,
    ):
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": secrets["MINIO_ROOT_USER"],
            "AWS_SECRET_ACCESS_KEY": secrets["MINIO_ROOT_PASSWORD"],
            "PATH": f"{REPO / '.venv/bin'}:{os.environ['PATH']}",
        }
        yield env, ["--s3-endpoint", f"http://127.0.0.1:{s3}", "--registry-url", f"http://127.0.0.1:{mr}"]


def release(cluster: Any, work: Path, version: str, seed: int, secrets: dict[str, str]) -> None:
    spec_path = work / "specs" / "jukebox.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["training"]["seed"] = seed
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    with services(cluster, secrets) as (env, options):
        run(
            str(REPO / ".venv/bin/jukebox"),
            "release",
            "--spec",
            str(spec_path),
            "--data",
            "sample",
            "--version",
            version,
            "--env",
            "dev",
            "--force",
            *options,
            env=env,
            cwd=work,
        )
    commit(work, f"release jukebox {version} to dev")


def pin(cluster: Any, work: Path, version: str, secrets: dict[str, str]) -> None:
    with services(cluster, secrets) as (env, options):
        run(
            str(REPO / ".venv/bin/jukebox"),
            "pin",
            "--spec",
            str(work / "specs/jukebox.yaml"),
            "--env",
            "dev",
            "--version",
            version,
            *options,
            env=env,
            cwd=work,
        )
    commit(work, f"pin dev to {version}")


def test_provision_release_serve_and_roll_back(kind_cluster: Any, tmp_path: Path) -> None:
    cluster = kind_cluster
    start_git_server(cluster, tmp_path)
    work = work_repo(tmp_path, seed=1)
    publish(cluster, work)
    secrets_file = tmp_path / "secrets.yaml"
    credentials = {"MINIO_ROOT_USER": "jukebox-e2e", "MINIO_ROOT_PASSWORD": os.urandom(12).hex()}
    secrets_file.write_text(yaml.safe_dump({"minio-root": credentials}))
    provision = [
        sys.executable,
        str(REPO / "scripts/provision"),
        "--target",
        "kind",
        "--spec",
        str(work / "specs/jukebox.yaml"),
        "--cluster-name",
        "jukebox-e2e",
        "--secrets-file",
        str(secrets_file),
        "--git-insecure",
        "--timeout",
        "1200",
    ]
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig_path)}
    run(*provision, env=env)
    # Idempotent: the second run applies nothing.
    second = run(*provision, env=env)
    assert "applied:" not in second, second

    release(cluster, work, "0.0.1", seed=1, secrets=credentials)
    release(cluster, work, "0.0.2", seed=7, secrets=credentials)
    publish(cluster, work)
    refresh(cluster, "jukebox-dev")
    wait_ready(cluster, "jukebox-dev", "0.0.2")
    newer = predict(cluster)

    run(
        str(REPO / ".venv/bin/jukebox"),
        "pin",
        "--spec",
        str(work / "specs/jukebox.yaml"),
        "--env",
        "dev",
        "--version",
        "0.0.1",
        cwd=work,
        env={**os.environ, "JUKEBOX_REGISTRY_URL": "unused-for-pin-checks"},
    )
    commit(work, "pin dev to 0.0.1")
    publish(cluster, work)
    refresh(cluster, "jukebox-dev")
    wait_ready(cluster, "jukebox-dev", "0.0.1")
    older = predict(cluster)
    assert older != newer, "pinning the earlier version did not change the answer"
