"""`ensure_local_services` / `stop_local_services` / `local_status` and `jukebox local`, with real processes.

The tests in this module share one state directory (the module-scoped `local_services` fixture) and run
in file order: the last ones stop everything and check that no process is left.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from jukebox.cli import main
from release.local import (
    LocalServices,
    ensure_local_services,
    local_status,
    registry_client,
    stop_local_services,
)
from release.local.processes import find_process
from release.local.s3 import s3_client

from .test_registry_client import register


def read_cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_put_and_get_an_object(local_services: LocalServices) -> None:
    client = s3_client(local_services.s3_endpoint, local_services.access_key, local_services.secret_key)
    client.put_object(Bucket="models", Key="jukebox/1/model.onnx", Body=b"onnx bytes")
    assert client.get_object(Bucket="models", Key="jukebox/1/model.onnx")["Body"].read() == b"onnx bytes"


def test_a_wrong_secret_is_refused(local_services: LocalServices) -> None:
    client = s3_client(local_services.s3_endpoint, local_services.access_key, "not-the-secret")
    with pytest.raises(ClientError) as refused:
        client.list_objects_v2(Bucket="models")
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_secrets_are_private_and_hidden(local_services: LocalServices, local_state_dir: Path) -> None:
    for secret_file in ("credentials.json", "s3/identity.json", "registry/token"):
        assert stat.S_IMODE((local_state_dir / secret_file).stat().st_mode) == 0o600
    assert local_services.secret_key not in repr(local_services)
    assert local_services.registry_token and local_services.registry_token not in repr(local_services)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads command lines from /proc")
def test_s3_runs_loopback_only_without_telemetry(local_services: LocalServices, local_state_dir: Path) -> None:
    status = local_status(local_state_dir)
    cmdline = read_cmdline(status.s3.pid or 0)
    for flag in ("-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false", "-admin.ui=false"):
        assert flag in cmdline
    assert local_services.s3_endpoint.startswith("http://127.0.0.1:")
    assert local_services.registry_url.startswith("http://127.0.0.1:")


def test_up_again_is_a_no_op(local_services: LocalServices, local_state_dir: Path) -> None:
    before = local_status(local_state_dir)
    assert before.healthy
    assert ensure_local_services(local_state_dir) == local_services
    after = local_status(local_state_dir)
    assert (after.s3.pid, after.registry.pid) == (before.s3.pid, before.registry.pid)


def test_official_client_against_the_background_registry(local_services: LocalServices) -> None:
    client = registry_client(local_services)
    register(client)
    assert client.get_model_artifact("jukebox", "0.0.1").model_format_name == "onnx"


def test_cli_status_up_down(local_services: LocalServices, local_state_dir: Path, capsys) -> None:
    state = ["--state-dir", str(local_state_dir)]
    assert main(["local", "up", *state]) == 0
    assert local_services.secret_key not in capsys.readouterr().out
    assert main(["local", "status", "--json", *state]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["healthy"] and status["s3"]["url"] == local_services.s3_endpoint
    pids = [status["s3"]["pid"], status["registry"]["pid"]]
    assert main(["local", "down", *state]) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or " Z" in Path(f"/proc/{pid}/stat").read_text()
    assert main(["local", "status", *state]) == 1
    assert "stopped" in capsys.readouterr().out


def test_data_survives_down_and_up(local_state_dir: Path) -> None:
    """Runs after the CLI's `down`: a new `up` finds the object and the registered model again."""
    try:
        services = ensure_local_services(local_state_dir)
        client = s3_client(services.s3_endpoint, services.access_key, services.secret_key)
        assert client.get_object(Bucket="models", Key="jukebox/1/model.onnx")["Body"].read() == b"onnx bytes"
        assert registry_client(services).get_model_version("jukebox", "0.0.1") is not None
    finally:
        stop_local_services(local_state_dir)
    assert not local_status(local_state_dir).s3.running


def test_stale_pid_files_are_detected(tmp_path: Path) -> None:
    (tmp_path / "s3.pid").write_text(f"{os.getpid()}\n")  # a live process, but not our server
    (tmp_path / "registry.pid").write_text("999999999\n")  # no such process
    status = local_status(tmp_path)
    assert not status.s3.running and status.s3.stale_pid_file
    assert not status.registry.running and status.registry.stale_pid_file


def test_bad_options_are_input_errors(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("")
    assert main(["local", "status", "--state-dir", str(tmp_path / "file")]) == 2
    assert main(["local", "up", "--bucket", "Not_A_Bucket", "--state-dir", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_a_server_whose_pid_file_was_lost_is_adopted_not_duplicated(tmp_path: Path) -> None:
    try:
        first = ensure_local_services(tmp_path)
        pid = local_status(tmp_path).registry.pid
        (tmp_path / "registry.pid").unlink()
        assert ensure_local_services(tmp_path).registry_url == first.registry_url
        assert local_status(tmp_path).registry.pid == pid
        (tmp_path / "s3.pid").unlink()
    finally:
        stop_local_services(tmp_path)  # finds the server without its pid file too
    status = local_status(tmp_path)
    assert not status.s3.running and not status.registry.running
    assert find_process(f"-dir={tmp_path.resolve() / 's3' / 'data'}") is None
    assert not Path(f"/proc/{pid}").exists() or " Z" in Path(f"/proc/{pid}/stat").read_text()
